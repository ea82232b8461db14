"""Behler–Parrinello atom-centred symmetry functions: the parameter table and a NumPy reference.

Units: lengths in Å, η in Å⁻², descriptors dimensionless. With r_ij = |x_j − x_i| < r_c and
the cosine cutoff f_c(r) = ½[cos(π r / r_c) + 1] (Behler, J. Chem. Phys. 134, 074106 (2011),
eqs. 4, 6, 8, 9):

* G2 (radial):   Σ_j exp(−η (r_ij − r_s)²) f_c(r_ij)
* G4 (angular):  2^{1−ζ} Σ_{j<k} (1 + λ cos θ_ijk)^ζ exp(−η (r_ij² + r_ik² + r_jk²)) f_c(r_ij) f_c(r_ik) f_c(r_jk)
* G5 (angular):  the same without the r_jk terms

Each row of the table ``sf [nsf, 8]`` is ``[kind, η, r_s, λ, ζ, e1, e2, 0]``: e1 restricts a
G2 to neighbours of element e1, e1/e2 restrict G4/G5 to the unordered neighbour pair; −1 means
any element. ζ ≥ 1, λ = ±1. The sums over j and over unordered pairs j < k do not depend on
the neighbours' order; distances and cos θ do not change under rigid motions: invariance
comes from these definitions.
"""
from __future__ import annotations

import numpy as np

from ..errors import ConfigError

NCOL = 8


def default_table(nelements: int = 1, cutoff: float = 5.2, n_radial: int = 8,
                  angular: tuple = ((0.005, 1.0), (0.005, 2.0), (0.005, 4.0), (0.02, 1.0),
                                    (0.02, 2.0), (0.05, 1.0)), radial_min: float = 2.0,
                  centred: tuple = (), eta_radial: float | None = None) -> np.ndarray:
    """A general-purpose set: ``n_radial`` shifted G2 (r_s evenly from ``radial_min`` to
    r_c − 0.5 Å, η such that neighbouring Gaussians meet at half height, or ``eta_radial``
    Å⁻² when given), a centred G2
    (r_s = 0) for each η in ``centred`` (Å⁻²), and G5 pairs λ = ±1 for each (η, ζ) in
    ``angular``; with several elements every function is repeated per neighbour element
    (G2) and per element pair (G5)."""
    if cutoff <= 2.5:
        raise ConfigError(f"cutoff = {cutoff}: expected > 2.5 Å for the default symmetry functions")
    if not 0 < radial_min < cutoff - 0.5:
        raise ConfigError(f"radial_min = {radial_min}: expected in (0, cutoff - 0.5 = {cutoff - 0.5}) Å")
    rows = []
    rs = np.linspace(radial_min, cutoff - 0.5, n_radial)
    width = rs[1] - rs[0] if n_radial > 1 else 1.0
    eta = 4.0 * np.log(2.0) / width ** 2 if eta_radial is None else float(eta_radial)  # half height
    pairs = [(a, b) for a in range(nelements) for b in range(a, nelements)]
    for e in range(nelements):
        for r in rs:
            rows.append([2, eta, r, 0, 1, e if nelements > 1 else -1, -1, 0])
        for et in centred:
            rows.append([2, float(et), 0.0, 0, 1, e if nelements > 1 else -1, -1, 0])
    for (a, b) in pairs:
        for et, z in angular:
            for lam in (1.0, -1.0):
                rows.append([5, et, 0, lam, z, a if nelements > 1 else -1,
                             b if nelements > 1 else -1, 0])
    return np.array(rows, dtype=float)


def check_table(sf: np.ndarray, nelements: int) -> np.ndarray:
    """Validate a symmetry-function table; returns it as a C-contiguous float64 array."""
    sf = np.ascontiguousarray(np.asarray(sf, dtype=float))
    if sf.ndim != 2 or sf.shape[1] != NCOL or len(sf) == 0:
        raise ConfigError(f"symmetry functions: expected a [nsf, {NCOL}] table, got shape {sf.shape}")
    kinds = sf[:, 0].astype(int)
    if not np.all(np.isin(kinds, (2, 4, 5))):
        raise ConfigError(f"symmetry functions: kinds {sorted(set(kinds.tolist()))}, expected 2, 4 or 5")
    if np.any(sf[:, 1] < 0):
        raise ConfigError("symmetry functions: eta must be >= 0")
    ang = kinds != 2
    if np.any(sf[ang, 4] < 1) or np.any(np.abs(np.abs(sf[ang, 3]) - 1) > 0):
        raise ConfigError("symmetry functions: angular rows need zeta >= 1 and lambda = +1 or -1")
    if np.any(sf[:, 5:7] >= nelements) or np.any(sf[:, 5:7] < -1):
        raise ConfigError(f"symmetry functions: element indices must lie in -1..{nelements - 1}")
    return sf


def cutoff_fn(r: np.ndarray, rc: float):
    """(f_c, df_c/dr) of the cosine cutoff; zero at and beyond rc."""
    inside = r < rc
    fc = np.where(inside, 0.5 * (np.cos(np.pi * r / rc) + 1.0), 0.0)
    dfc = np.where(inside, -0.5 * np.pi / rc * np.sin(np.pi * r / rc), 0.0)
    return fc, dfc


def _match2(e1: int, e2: int, tj, tk):
    if e1 < 0 and e2 < 0:
        return np.ones(np.broadcast(tj, tk).shape, bool)
    if e1 < 0:
        return (tj == e2) | (tk == e2)
    if e2 < 0:
        return (tj == e1) | (tk == e1)
    return ((tj == e1) & (tk == e2)) | ((tj == e2) & (tk == e1))


def atom_descriptors(rvec: np.ndarray, tn: np.ndarray, sf: np.ndarray, rc: float):
    """NumPy reference for one atom: G [nsf] and dG/dr_ij [nn, nsf, 3] from its neighbour
    vectors ``rvec [nn, 3]`` (r_ij = x_j − x_i, all j within rc) and their types ``tn [nn]``.
    Written independently of the compiled kernel (vectorised over neighbour pairs)."""
    rvec = np.asarray(rvec, float).reshape(-1, 3)
    nn, nsf = len(rvec), len(sf)
    G = np.zeros(nsf)
    dG = np.zeros((nn, nsf, 3))
    if nn == 0:
        return G, dG
    r = np.linalg.norm(rvec, axis=1)
    u = rvec / r[:, None]
    fc, dfc = cutoff_fn(r, rc)
    jj, kk = np.triu_indices(nn, 1)
    c = np.einsum("pd,pd->p", u[jj], u[kk])
    dc_j = (u[kk] - c[:, None] * u[jj]) / r[jj, None]
    dc_k = (u[jj] - c[:, None] * u[kk]) / r[kk, None]
    vjk = rvec[kk] - rvec[jj]
    rjk = np.linalg.norm(vjk, axis=1)
    fjk, dfjk = cutoff_fn(rjk, rc)
    ujk = vjk / np.where(rjk > 0, rjk, 1.0)[:, None]
    for s, (kind, eta, rs, lam, zeta, e1, e2, _) in enumerate(sf):
        kind, e1, e2 = int(kind), int(e1), int(e2)
        if kind == 2:
            m = (tn == e1) if e1 >= 0 else np.ones(nn, bool)
            g = np.exp(-eta * (r - rs) ** 2)
            G[s] = np.sum((g * fc)[m])
            d = g * (dfc - 2 * eta * (r - rs) * fc) * m
            dG[:, s, :] = d[:, None] * u
            continue
        m = _match2(e1, e2, tn[jj], tn[kk])
        base = np.maximum(1.0 + lam * c, 0.0)
        pref = 2.0 ** (1.0 - zeta)
        ang = pref * base ** zeta
        dang = pref * zeta * lam * base ** (zeta - 1.0)
        if kind == 4:
            rad = np.exp(-eta * (r[jj] ** 2 + r[kk] ** 2 + rjk ** 2))
            F = fc[jj] * fc[kk] * fjk
            t = ang * rad * F
            dt_rjk = ang * rad * fc[jj] * fc[kk] * (dfjk - 2 * eta * rjk * fjk)
        else:
            rad = np.exp(-eta * (r[jj] ** 2 + r[kk] ** 2))
            F = fc[jj] * fc[kk]
            t = ang * rad * F
            dt_rjk = np.zeros_like(t)
        fjk_k = fjk if kind == 4 else 1.0
        dt_dc = dang * rad * F
        dt_rij = ang * rad * fjk_k * fc[kk] * (dfc[jj] - 2 * eta * r[jj] * fc[jj])
        dt_rik = ang * rad * fjk_k * fc[jj] * (dfc[kk] - 2 * eta * r[kk] * fc[kk])
        m = m & (base > 0)
        G[s] = np.sum(t[m])
        gj = (dt_dc[:, None] * dc_j + dt_rij[:, None] * u[jj] - dt_rjk[:, None] * ujk) * m[:, None]
        gk = (dt_dc[:, None] * dc_k + dt_rik[:, None] * u[kk] + dt_rjk[:, None] * ujk) * m[:, None]
        np.add.at(dG[:, s, :], jj, gj)
        np.add.at(dG[:, s, :], kk, gk)
    return G, dG
