"""Universal ZBL screened-Coulomb repulsion joined to an EAM pair term.

Units: metal (eV, Å).

ZBL (Ziegler, Biersack & Littmark, *The Stopping and Range of Ions in Solids*, 1985)::

    phi_ZBL(r) = (Z1 Z2 e^2 / 4 pi eps0) / r * sum_k c_k exp(-d_k r / a),
    a = 0.46850 / (Z1^0.23 + Z2^0.23)  [Å]

The join replaces the EAM pair function phi_EAM by

    phi(r) = (1 - S(t)) phi_ZBL(r) + S(t) phi_EAM(r),   t = (r - r1) / (r2 - r1) in [0, 1],
    S(t) = 10 t^3 - 15 t^4 + 6 t^5  (0 below r1, 1 above r2, C2 at both ends),

tabulated as z = r phi on the EAM's own r grid, so the compiled EAM kernel uses it
unchanged (its Hermite interpolant keeps energy and force continuous everywhere). The
electron densities and the embedding function are left as they are (the common choice for
cascade potentials, e.g. Björkas & Nordlund, NIMB 259 (2007) 853).
"""
from __future__ import annotations

import numpy as np

from ..atomistic.eam import EAM, _spline
from ..errors import ConfigError

#: e^2 / (4 pi eps0) in eV Å (CODATA 2018)
COULOMB = 14.399645
_C = np.array([0.18175, 0.50986, 0.28022, 0.02817])
_D = np.array([3.19980, 0.94229, 0.40290, 0.20162])


def zbl_screening_length(z1: float, z2: float) -> float:
    """Universal screening length a [Å] of the ZBL potential."""
    return 0.46850 / (z1 ** 0.23 + z2 ** 0.23)


def zbl(r, z1: float, z2: float):
    """ZBL pair energy [eV] and its derivative [eV/Å] at distances *r* [Å] (any shape)."""
    r = np.asarray(r, dtype=float)
    a = zbl_screening_length(z1, z2)
    x = r[..., None] / a
    e = np.exp(-_D * x)
    s = np.sum(_C * e, axis=-1)
    ds = np.sum(-_C * _D / a * e, axis=-1)
    k = COULOMB * z1 * z2
    return k * s / r, k * (ds / r - s / r ** 2)


def zbl_times_r(r, z1: float, z2: float) -> np.ndarray:
    """r phi_ZBL(r) [eV Å]; finite at r = 0 (= Z1 Z2 e^2/4 pi eps0)."""
    r = np.asarray(r, dtype=float)
    a = zbl_screening_length(z1, z2)
    return COULOMB * z1 * z2 * np.sum(_C * np.exp(-_D * r[..., None] / a), axis=-1)


def switch(r, r1: float, r2: float):
    """S(t) of the module docstring and dS/dr at *r*."""
    t = np.clip((np.asarray(r, dtype=float) - r1) / (r2 - r1), 0.0, 1.0)
    s = t ** 3 * (10.0 - 15.0 * t + 6.0 * t * t)
    ds = 30.0 * t * t * (1.0 - t) ** 2 / (r2 - r1)
    return s, ds


def join_zbl(eam: EAM, atomic_numbers, r1: float = 1.0, r2: float = 2.0) -> EAM:
    """A new :class:`EAM` whose pair functions are joined to ZBL between *r1* and *r2* [Å].

    ``atomic_numbers``: one Z per element of ``eam`` (its ``elements`` order). The result
    has the same grids, densities, embedding functions and masses.
    """
    zs = np.asarray(atomic_numbers, dtype=float).reshape(-1)
    if zs.shape != (eam.ntypes,) or np.any(zs < 1):
        raise ConfigError(f"atomic_numbers = {list(zs)}: expected one Z >= 1 per element "
                          f"({', '.join(eam.elements)})")
    if not 0 < r1 < r2 < eam.cutoff:
        raise ConfigError(f"ZBL join r1 = {r1}, r2 = {r2}: expected 0 < r1 < r2 < cutoff "
                          f"({eam.cutoff} Å)")
    nr = eam.z_values.shape[2]
    r = np.arange(nr) * eam.dr
    s, _ = switch(r, r1, r2)
    z = np.array(eam.z_values, copy=True)
    for a in range(eam.ntypes):
        for b in range(eam.ntypes):
            z_eam, _, _ = _spline(eam.z_tab[a * eam.ntypes + b], 1.0 / eam.dr, r)
            z[a, b] = (1.0 - s) * zbl_times_r(r, zs[a], zs[b]) + s * z_eam
    return EAM(eam.elements, eam.F_values, eam.drho, eam.rho_values, z, eam.dr, eam.cutoff,
               masses=eam.masses)
