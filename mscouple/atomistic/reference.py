"""Small, slow NumPy references of the kernels (all pairs, all periodic images), for tests.

Nothing here is used by the engine; each function mirrors one kernel with the most direct
formula, O(N^2 K^3) for K images per direction.
"""
from __future__ import annotations

import itertools

import numpy as np

from .box import Box


def pair_phi(pot, r: np.ndarray, a: int = 0, b: int = 0):
    """(phi, F = -dphi/dr) of a potential object, evaluated from its documented formula."""
    from .potentials import HarmonicSprings, LennardJones, Morse

    rc = pot.rc[a, b]
    inside = r < rc
    if isinstance(pot, LennardJones):
        e, s = pot.epsilon[a, b], pot.sigma[a, b]

        def phi(r):
            return 4 * e * ((s / r) ** 12 - (s / r) ** 6)

        def F(r):
            return 24 * e * (2 * (s / r) ** 12 - (s / r) ** 6) / r
    elif isinstance(pot, Morse):
        D, al, r0 = pot.D0[a, b], pot.alpha[a, b], pot.r0[a, b]

        def phi(r):
            return D * (np.exp(-2 * al * (r - r0)) - 2 * np.exp(-al * (r - r0)))

        def F(r):
            return 2 * al * D * (np.exp(-2 * al * (r - r0)) - np.exp(-al * (r - r0)))
    elif isinstance(pot, HarmonicSprings):
        k, r0 = pot.k[a, b], pot.r0[a, b]
        return (np.where(inside, 0.5 * k * (r - r0) ** 2, 0.0),
                np.where(inside, -k * (r - r0), 0.0))
    else:
        raise TypeError(pot)
    mode = pot.mode
    E = phi(r)
    Fr = F(r)
    if mode in ("shift", "smooth"):
        E = E - phi(rc)
    if mode == "smooth":
        E = E + (r - rc) * F(rc)
        Fr = Fr - F(rc)
    return np.where(inside, E, 0.0), np.where(inside, Fr, 0.0)


def pair_reference(pot, box: Box, x: np.ndarray, types=None, weight=None):
    """Energy, forces [N,3], virial [6], per-atom energy [N] of a pair potential.

    Sums every pair (i < j, or i-image of j) over all periodic images within the cutoff.
    """
    x = np.asarray(x, float)
    N = len(x)
    types = np.zeros(N, int) if types is None else np.asarray(types)
    w = np.ones(N) if weight is None else np.asarray(weight, float)
    rcmax = pot.cutoff
    ks = [range(-int(np.ceil(rcmax / L)) - 1, int(np.ceil(rcmax / L)) + 2) if p else range(1)
          for L, p in zip(box.lengths, box.periodic)]
    E = 0.0
    f = np.zeros((N, 3))
    vir = np.zeros(6)
    ea = np.zeros(N)
    for shift in itertools.product(*ks):
        S = np.array(shift) * box.lengths
        d = x[:, None, :] - (x[None, :, :] + S)  # r_i - r_j - S
        r = np.linalg.norm(d, axis=2)
        for a in range(pot.ntypes):
            for b in range(pot.ntypes):
                m = (types[:, None] == a) & (types[None, :] == b) & (r > 0)
                if not m.any():
                    continue
                phi, F = pair_phi(pot, np.where(m, r, 1.0), a, b)
                s = 0.5 * (w[:, None] + w[None, :])
                phi = np.where(m, phi, 0.0) * s
                fr = np.where(m, F / np.where(m, r, 1.0), 0.0) * s
                # every ordered pair counted: halve
                E += 0.5 * phi.sum()
                ea += 0.5 * phi.sum(axis=1)
                f += np.einsum("ij,ijk->ik", fr, d)
                for c, (p, q) in enumerate(((0, 0), (1, 1), (2, 2), (0, 1), (0, 2), (1, 2))):
                    vir[c] += 0.5 * np.sum(fr * d[:, :, p] * d[:, :, q])
    return E, f, vir, ea


def eam_reference(pot, box: Box, x: np.ndarray, types=None, weight=None):
    """Energy, forces [N,3], virial [6], per-atom energy [N] and host densities [N] of an
    :class:`~mscouple.atomistic.eam.EAM` potential, every ordered pair (i, image of j) of
    every periodic image within the cutoff, through the same interpolated tables
    (``pot.radial``) as the compiled passes, so the two agree to round-off.

    E = sum_i w_i F_i(rho_i) + 1/2 sum_{i,j,S} s_ij phi_ij(r),  rho_i = sum_{j,S} rho_tj(r),
    f_i = -sum_{j,S} [w_i F_i' rho_tj'(r) + w_j F_j' rho_ti'(r) + s_ij phi_ij'(r)] d / r,
    d = x_i - x_j - S, s_ij = (w_i + w_j)/2 (Daw & Baskes, PRB 29, 6443 (1984)).
    """
    x = np.asarray(x, float)
    N = len(x)
    types = np.zeros(N, int) if types is None else np.asarray(types)
    w = np.ones(N) if weight is None else np.asarray(weight, float)
    rc = pot.cutoff
    ks = [range(-int(np.ceil(rc / L)) - 1, int(np.ceil(rc / L)) + 2) if p else range(1)
          for L, p in zip(box.lengths, box.periodic)]
    shifts = [np.array(s) * box.lengths for s in itertools.product(*ks)]

    def pairs():
        for S in shifts:
            d = x[:, None, :] - (x[None, :, :] + S)
            r = np.linalg.norm(d, axis=2)
            m = (r > 0) & (r * r < rc * rc)
            yield d, np.where(m, r, 1.0), m

    rho = np.zeros(N)
    for _, r, m in pairs():
        for b in range(pot.ntypes):
            mb = m & (types[None, :] == b)
            rho += np.where(mb, pot.radial("rho", b, r=r)[0], 0.0).sum(axis=1)
    Fv, Fd = np.zeros(N), np.zeros(N)
    for a in range(pot.ntypes):
        sel = types == a
        Fv[sel], Fd[sel] = pot.radial("F", a, r=rho[sel])[:2]
    fp = w * Fd
    ea = w * Fv
    f = np.zeros((N, 3))
    vir = np.zeros(6)
    s = 0.5 * (w[:, None] + w[None, :])
    for d, r, m in pairs():
        rd_j = np.zeros_like(r)  # rho'_tj(r): density j gives i
        rd_i = np.zeros_like(r)  # rho'_ti(r): density i gives j
        phi = np.zeros_like(r)
        dphi = np.zeros_like(r)
        for a in range(pot.ntypes):
            for b in range(pot.ntypes):
                mab = m & (types[:, None] == a) & (types[None, :] == b)
                if not mab.any():
                    continue
                rd_j = np.where(mab, pot.radial("rho", b, r=r)[1], rd_j)
                rd_i = np.where(mab, pot.radial("rho", a, r=r)[1], rd_i)
                p0, p1, _ = pot.radial("phi", a, b, r)
                phi = np.where(mab, p0, phi)
                dphi = np.where(mab, p1, dphi)
        fr = np.where(m, -(fp[:, None] * rd_j + fp[None, :] * rd_i + s * dphi) / r, 0.0)
        ea += 0.5 * np.where(m, s * phi, 0.0).sum(axis=1)
        f += np.einsum("ij,ijk->ik", fr, d)
        for c, (p, q) in enumerate(((0, 0), (1, 1), (2, 2), (0, 1), (0, 2), (1, 2))):
            vir[c] += 0.5 * np.sum(fr * d[:, :, p] * d[:, :, q])
    return float(ea.sum()), f, vir, ea, rho
