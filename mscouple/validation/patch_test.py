"""Consistent cell weighting: the bridging-domain patch test for nearest-neighbour bonds.

An analysis tool for the tests and the validation levels (a case cannot select it: the run
layer uses the centroid rule of :func:`mscouple.coupling.band.continuum_weight`).

Under a homogeneous strain the blended energy is stationary over the constrained motions
(band atoms slaved to the P1 interpolation, u_α = Σ_I N_I(X_α) u_I) iff, in every cell c,

    w_c |c|  +  Σ_b β_b |b ∩ c|  =  |c|,          β_b = (a_i + a_j)/2,  a = 1 − w(X_atom),

i.e. the cell's continuum weight plus the bond-length measure of the atomistic pair weights
inside it is the same as in the unblended model (Xiao & Belytschko, CMAME 193 (2004) 1645,
eq. for the blended energy; Badia, Parks, Bochev, Gunzburger & Lehoucq, SIAM MMS 7 (2008)
381, the patch-test condition of blended models). :func:`consistent_cell_weights` returns
``w_c = 1 − Σ_b β_b |b ∩ c| / |c|`` (1D). With the ramp piecewise linear on the mesh (band
edges on nodes, :func:`nodal_ramp`) and cells covered by bonds this is the exact cell mean
of w, ``(w_I + w_J)/2``; a cell that the chain does not cover (beyond its last atom) gets 1
(no pad atom with zero mass is needed). The constrained atoms must then be every atom in the
closure of a cell with ``w_c > 0`` (:func:`band_atoms_of_cells`), including the atoms on
the atomistic edge whose own weight is 1 (else a node with mass is left unconstrained).
Layout condition: the atomistic edge must lie on an atom and on a node (no bond may join a
free atom to a constrained one across a weighted cell); per-atom multipliers (coarse-node
multipliers are exact only where every atom sits on a node, e.g. h = a).
The centroid rule of :func:`~mscouple.coupling.band.continuum_weight` with edges at element centroids violates the
condition in the cells that hold a band edge: ghost forces ∝ ε/(band width).

In 2D/3D (slab band with unit normal n) only the stress *across* the band has to balance, so
the bond measure is the bond's extent along n (:func:`consistent_cell_weights_nd`)::

    w_c = 1 − Σ_b β_b |n·(b ∩ c)| / Σ_b |n·(b ∩ c)|

over the bonds of the lattice continued over the mesh (β = 0 for bonds to sites without
atoms). Bonds parallel to the band drop out; on a triangular lattice meshed by its own
triangles (h = a) this gives w = 1 − β of the inclined bonds of the cell's row strip — not the
P1 mean of the nodal ramp, which leaves ghost forces ≈ 0.16 of a bond force at width 4a.
"""
from __future__ import annotations

import numpy as np

from ..coupling.band import SlabBand
from ..errors import ConfigError

__all__ = ["nodal_ramp", "consistent_cell_weights", "consistent_cell_weights_nd", "band_atoms_of_cells"]


def nodal_ramp(band: SlabBand, nodes: np.ndarray, x: np.ndarray, tol: float = 1e-9) -> np.ndarray:
    """Atomistic weights ``1 − w_h(x)`` [m] with w_h the P1 interpolant of the nodal ramp (1D).

    ``nodes`` [n] or [n, 1] node coordinates of a 1D mesh, ``x`` [m] positions. Both band edges
    must lie on nodes (then w_h is the exact ramp and cell means are nodal means); raises
    :class:`ConfigError` otherwise. Positions outside the mesh take the band's own w.
    """
    X = np.asarray(nodes, float).reshape(-1)
    for edge in (band.continuum_edge, band.atomistic_edge):
        if np.min(np.abs(X - edge), initial=np.inf) > tol * max(1.0, abs(edge)):
            raise ConfigError(f"band edge {edge:g} is not on a mesh node: put both band edges on nodes "
                              "for the consistent (nodal) weighting")
    xs = np.asarray(x, float).reshape(-1)
    wn = band.continuum_weight(X[:, None])
    order = np.argsort(X)
    w = np.interp(xs, X[order], wn[order])
    out = (xs < X.min()) | (xs > X.max())
    w[out] = band.continuum_weight(xs[out, None])
    return 1.0 - w


def consistent_cell_weights(nodes: np.ndarray, cells: np.ndarray, x_atoms: np.ndarray,
                            atom_weight: np.ndarray) -> np.ndarray:
    """Per-cell continuum weights [nc] consistent with nearest-neighbour pair weights (1D).

    ``w_c = 1 − Σ_b β_b |b ∩ c| / |c|`` over the bonds b = (i, i+1) of the sorted chain
    ``x_atoms`` [m] with pair weights ``β_b = (a_i + a_{i+1})/2`` (``atom_weight`` [m] = a =
    1 − w). Clipped to [0, 1]. See the module docstring for why this passes the patch test.
    """
    X = np.asarray(nodes, float).reshape(-1)
    c = np.asarray(cells, np.int64)
    xa = np.asarray(x_atoms, float).reshape(-1)
    a = np.asarray(atom_weight, float).reshape(-1)
    if xa.shape != a.shape:
        raise ConfigError(f"x_atoms {xa.shape} and atom_weight {a.shape} must have the same length")
    o = np.argsort(xa)
    xa, a = xa[o], a[o]
    lo = np.minimum(X[c[:, 0]], X[c[:, 1]])
    hi = np.maximum(X[c[:, 0]], X[c[:, 1]])
    blo, bhi, beta = xa[:-1], xa[1:], 0.5 * (a[:-1] + a[1:])
    overlap = np.clip(np.minimum(hi[:, None], bhi[None, :]) - np.maximum(lo[:, None], blo[None, :]), 0.0, None)
    w = 1.0 - (overlap @ beta) / (hi - lo)
    return np.clip(w, 0.0, 1.0)


def band_atoms_of_cells(nodes: np.ndarray, cells: np.ndarray, cell_weight: np.ndarray,
                        x_atoms: np.ndarray, tol: float = 1e-9) -> np.ndarray:
    """Indices of the atoms in the closure of a cell with ``cell_weight > 0`` (1D), sorted.

    These are the atoms to constrain: every node with mass is then in the support of a
    constrained atom, and the atoms on the atomistic edge (weight 1) are tied to the mesh.
    """
    X = np.asarray(nodes, float).reshape(-1)
    c = np.asarray(cells, np.int64)[np.asarray(cell_weight) > 0]
    xa = np.asarray(x_atoms, float).reshape(-1)
    lo = np.minimum(X[c[:, 0]], X[c[:, 1]]) - tol
    hi = np.maximum(X[c[:, 0]], X[c[:, 1]]) + tol
    inside = np.any((xa[:, None] >= lo[None, :]) & (xa[:, None] <= hi[None, :]), axis=1)
    return np.flatnonzero(inside)


def consistent_cell_weights_nd(nodes: np.ndarray, cells: np.ndarray, bond_start: np.ndarray,
                               bond_end: np.ndarray, beta: np.ndarray, normal: np.ndarray,
                               tol: float = 1e-9) -> np.ndarray:
    """Per-cell continuum weights [nc] of simplex cells consistent with pair weights (any dim).

    ``w_c = 1 − Σ_b β_b m_bc / Σ_b m_bc`` with ``m_bc = |n · (b ∩ c)|`` the extent along the
    band normal ``normal`` [dim] of bond b clipped to cell c (a bond on a face shared by
    several cells is split equally between them). ``bond_start``, ``bond_end`` [nb, dim]
    are the bonds of the lattice *continued over the mesh* and ``beta`` [nb] their pair
    weights (a_i + a_j)/2, 0 for a bond to a site without an atom. Cells crossed by no bond
    with extent along n get w = 1. ``nodes`` [n, dim], ``cells`` [nc, dim+1] (P1 simplices).
    Reduces to :func:`consistent_cell_weights` in 1D. O(nb · nearby cells) with a k-d tree.
    """
    from scipy.spatial import cKDTree

    X = np.asarray(nodes, float)
    X = X[:, None] if X.ndim == 1 else X
    dim = X.shape[1]
    c = np.asarray(cells, np.int64)
    if c.shape[1] != dim + 1:
        raise ConfigError(f"consistent_cell_weights_nd needs P1 simplices ({dim + 1} nodes per cell), got {c.shape[1]}")
    P = np.asarray(bond_start, float).reshape(-1, dim)
    Q = np.asarray(bond_end, float).reshape(-1, dim)
    beta = np.asarray(beta, float).reshape(-1)
    n = np.asarray(normal, float).reshape(dim)
    n = n / np.linalg.norm(n)
    V = X[c]  # [nc, dim+1, dim]
    T = np.transpose(V[:, :dim] - V[:, dim:], (0, 2, 1))  # columns v_k − v_dim
    Tinv = np.linalg.inv(T)
    centre = V.mean(axis=1)
    rad = np.linalg.norm(V - centre[:, None], axis=2).max()
    mid = 0.5 * (P + Q)
    half = 0.5 * np.linalg.norm(Q - P, axis=1).max(initial=0.0)
    pairs = cKDTree(centre).query_ball_point(mid, rad + half + tol)
    bi = np.repeat(np.arange(len(P)), [len(p) for p in pairs])
    ci = np.fromiter((j for p in pairs for j in p), dtype=np.int64, count=bi.size)

    def bary(x, cc):
        lam = np.einsum("mij,mj->mi", Tinv[cc], x - V[cc, dim])
        return np.concatenate([lam, 1.0 - lam.sum(axis=1, keepdims=True)], axis=1)

    l0, l1 = bary(P[bi], ci), bary(Q[bi], ci)
    d = l1 - l0
    t_lo, t_hi = np.zeros(bi.size), np.ones(bi.size)
    par = np.abs(d) <= tol  # bond parallel to that face: inside iff on its inner side
    with np.errstate(divide="ignore", invalid="ignore"):
        t = -l0 / d  # λ_k(t) = l0 + t d ≥ 0
        t_lo = np.maximum(t_lo, np.where(~par & (d > 0), t, -np.inf).max(axis=1))
        t_hi = np.minimum(t_hi, np.where(~par & (d < 0), t, np.inf).min(axis=1))
    outside = np.any(par & (l0 < -tol), axis=1)
    seg = np.where(outside, 0.0, np.clip(t_hi - t_lo, 0.0, None))
    ext = np.abs((Q - P) @ n)
    m = seg * ext[bi]
    tot = np.bincount(bi, m, len(P))
    scale = np.where(tot > ext * (1 + 1e-9), ext / np.where(tot > 0, tot, 1.0), 1.0)  # shared faces
    m = m * scale[bi]
    num = np.bincount(ci, m * beta[bi], len(c))
    den = np.bincount(ci, m, len(c))
    w = np.where(den > tol, 1.0 - num / np.where(den > tol, den, 1.0), 1.0)
    return np.clip(w, 0.0, 1.0)
