"""Displacement-damage estimators: NRT-dpa and arc-dpa (Nordlund et al., Nat. Commun. 9
(2018) 1084, eqs. 1 and 4).

Units: energies in eV.

    N_NRT(T_d)  = 0 (T_d < E_d), 1 (E_d <= T_d < 2 E_d/0.8), 0.8 T_d / (2 E_d) above
    N_arc(T_d)  = N_NRT(T_d) · ξ(T_d),  ξ = (1 − c)/(2 E_d/0.8)^b · T_d^b + c  above 2 E_d/0.8

with T_d the damage energy (PKA energy minus the electronic losses). Cu parameters
(``CU_ARC``): E_d = 33 eV, b = −0.68, c = 0.16 (Nordlund et al. 2018, Table 1). Checked
(session 5) against an independent implementation that cites the paper (doi
10.1038/s41467-018-03415-5) for them: irradiapy, ``irradiapy/materials/cu.py`` (github.com/
acgc99/irradiapy): ed_avr = 33, b_arc = −0.68, c_arc = 0.16, with the same efficiency
ξ = (1 − c)/(2.5 E_d)^b · T_d^b + c. The paper's table itself could not be read through our
document search (only its opening pages are stored); the agreement is of two readings.
"""
from __future__ import annotations

import numpy as np

#: (E_d [eV], b, c) for Cu
CU_ARC = (33.0, -0.68, 0.16)


def nrt(td, ed: float = CU_ARC[0]):
    """NRT number of Frenkel pairs for damage energy ``td`` (scalar or array)."""
    td = np.asarray(td, dtype=float)
    return np.where(td < ed, 0.0, np.where(td < 2 * ed / 0.8, 1.0, 0.8 * td / (2 * ed)))


def arc_efficiency(td, ed: float = CU_ARC[0], b: float = CU_ARC[1], c: float = CU_ARC[2]):
    """ξ(T_d): 1 up to 2 E_d/0.8, then (1 − c)(T_d/(2 E_d/0.8))^b + c."""
    td = np.asarray(td, dtype=float)
    t0 = 2 * ed / 0.8
    return np.where(td < t0, 1.0, (1 - c) * (np.maximum(td, t0) / t0) ** b + c)


def arc_dpa(td, ed: float = CU_ARC[0], b: float = CU_ARC[1], c: float = CU_ARC[2]):
    """arc-dpa number of Frenkel pairs N_NRT · ξ."""
    return nrt(td, ed) * arc_efficiency(td, ed, b, c)
