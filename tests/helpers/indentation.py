"""Shared assertions of the reduced EAM Cu(001) indentation tests (sphere R = 8 Å, 1 Å
increments to 5 Å: the elastic branch at 1–3 Å, the load drop after 4 Å)."""
from __future__ import annotations

import numpy as np

from mscouple.atomistic.indenter import hertz_load

#: nearest-neighbour distance of the Zhou Cu EAM (a0 / √2, Å)
NN = 2.56
#: the Vlassak–Nix (001) modulus of its Cauchy–Born constants (eV/Å³)
M_001 = 0.84243


def check_elastic_branch_and_drop(d, P, a, drop: float, radius: float = 8.0) -> None:
    """Depths 0 … 5 Å; loads rising to 4 Å and P(5) < ``drop`` · P(4); at 1–3 Å the atoms'
    contact radius within one nearest-neighbour distance of Hertz's (R d)^½ and P / P_Hertz in
    [0.85, 1.25] (the atoms are stiffer than linear Hertz under this small sphere)."""
    d, P, a = (np.asarray(v, dtype=float) for v in (d, P, a))
    assert np.allclose(d, [0, 1, 2, 3, 4, 5]), d
    assert np.all(np.diff(P[:5]) > 0) and P[5] < drop * P[4], P
    el = slice(1, 4)
    assert np.all(np.abs(a[el] - np.sqrt(radius * d[el])) < NN), a
    ratio = P[el] / hertz_load(d[el], radius, M_001)
    assert np.all((ratio > 0.85) & (ratio < 1.25)), ratio
