"""Handshake-band geometry and the bridging-domain energy weight.

The handshake (overlap) band Ω_h is where both models exist. The *continuum* weight
``w(X)`` is 1 where only the continuum exists, 0 where only atoms exist, and ramps
linearly across the band; atoms carry ``1 − w`` (Xiao & Belytschko, CMAME 193 (2004) 1645).

Two shapes:

* :class:`SlabBand` — a slab normal to one axis, ``w = 1`` on the ``continuum_edge`` side.
  Use two slabs for a patch between two continuum regions (a chain between two bars).
* :class:`BoxShellBand` — a patch that is a box inside the continuum: ``w = 0`` inside the
  inner box, ``w = 1`` outside the inner box grown by ``width`` (∞-norm distance).

Several bands combine by taking the largest continuum weight (:func:`continuum_weight`).
:func:`validate_band` checks, with :class:`ConfigError`, that the band lies inside both
models and that the mesh resolves it.

Consistent weighting (exact patch test for nearest-neighbour bonds)
-------------------------------------------------------------------
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
The centroid rule of :func:`continuum_weight` with edges at element centroids violates the
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

from dataclasses import dataclass
from typing import Sequence, Union

import numpy as np

from ..errors import ConfigError

__all__ = ["SlabBand", "BoxShellBand", "continuum_weight", "validate_band", "nodal_ramp",
           "consistent_cell_weights", "consistent_cell_weights_nd", "band_atoms_of_cells"]


def _as_points(x: np.ndarray, dim: int) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    if x.shape[1] < dim:
        raise ConfigError(f"positions have {x.shape[1]} components; the band is {dim}D")
    return x


@dataclass(frozen=True)
class SlabBand:
    """Slab band ``min(c, a) ≤ X[axis] ≤ max(c, a)`` with w(c) = 1, w(a) = 0.

    Parameters
    ----------
    axis : 0, 1 or 2.
    continuum_edge : coordinate where the continuum weight reaches 1 (length units).
    atomistic_edge : coordinate where it reaches 0.
    """

    axis: int
    continuum_edge: float
    atomistic_edge: float

    def __post_init__(self) -> None:
        if self.axis not in (0, 1, 2):
            raise ConfigError(f"band axis = {self.axis!r}: expected 0, 1 or 2")
        if not np.isfinite(self.continuum_edge) or not np.isfinite(self.atomistic_edge):
            raise ConfigError("band edges must be finite numbers")
        if self.continuum_edge == self.atomistic_edge:
            raise ConfigError(
                f"handshake band has zero width (both edges at {self.continuum_edge}); "
                "give it a width of a few lattice spacings and at least one element")

    @property
    def width(self) -> float:
        return abs(self.continuum_edge - self.atomistic_edge)

    @property
    def bounds(self) -> tuple[float, float]:
        return (min(self.continuum_edge, self.atomistic_edge), max(self.continuum_edge, self.atomistic_edge))

    def continuum_weight(self, x: np.ndarray) -> np.ndarray:
        """w(X) ∈ [0, 1] for positions ``x[m, ≥axis+1]`` → [m]."""
        s = _as_points(x, self.axis + 1)[:, self.axis]
        return np.clip((s - self.atomistic_edge) / (self.continuum_edge - self.atomistic_edge), 0.0, 1.0)

    def contains(self, x: np.ndarray, tol: float = 0.0) -> np.ndarray:
        """Mask [m] of positions inside the closed band (widened by ``tol``)."""
        s = _as_points(x, self.axis + 1)[:, self.axis]
        lo, hi = self.bounds
        return (s >= lo - tol) & (s <= hi + tol)

    def normal_coordinate(self, x: np.ndarray) -> np.ndarray:
        """Distance into the band from its atomistic edge towards the continuum, [m]."""
        return self.continuum_weight(x) * self.width


@dataclass(frozen=True)
class BoxShellBand:
    """Shell band around an atomistic box ``lo ≤ X ≤ hi``, of thickness ``width``.

    w = 0 inside the box, ramps with the ∞-norm distance d(X) to the box, w = 1 for
    d ≥ width.
    """

    lo: tuple
    hi: tuple
    width: float

    def __post_init__(self) -> None:
        if len(self.lo) != len(self.hi) or len(self.lo) not in (1, 2, 3):
            raise ConfigError("box band: lo and hi need the same length, 1 to 3")
        if any(h <= l for l, h in zip(self.lo, self.hi)):
            raise ConfigError(f"box band: need lo < hi in every direction, got lo={self.lo}, hi={self.hi}")
        if not self.width > 0:
            raise ConfigError(f"box band width = {self.width}: expected a positive length")

    @property
    def dim(self) -> int:
        return len(self.lo)

    def distance(self, x: np.ndarray) -> np.ndarray:
        x = _as_points(x, self.dim)[:, : self.dim]
        lo, hi = np.asarray(self.lo, float), np.asarray(self.hi, float)
        d = np.maximum(lo - x, x - hi)
        return np.maximum(d.max(axis=1), 0.0)

    def continuum_weight(self, x: np.ndarray) -> np.ndarray:
        return np.clip(self.distance(x) / self.width, 0.0, 1.0)

    def contains(self, x: np.ndarray, tol: float = 0.0) -> np.ndarray:
        x = _as_points(x, self.dim)[:, : self.dim]
        lo, hi = np.asarray(self.lo, float), np.asarray(self.hi, float)
        inside_outer = np.all((x >= lo - self.width - tol) & (x <= hi + self.width + tol), axis=1)
        inside_inner = np.all((x > lo + tol) & (x < hi - tol), axis=1)
        return inside_outer & ~inside_inner


Band = Union[SlabBand, BoxShellBand]


def continuum_weight(bands: Sequence[Band], x: np.ndarray) -> np.ndarray:
    """Combined continuum weight of several bands: the largest one, [m]."""
    if not bands:
        raise ConfigError("a coupled case needs at least one handshake band")
    w = bands[0].continuum_weight(x)
    for b in bands[1:]:
        w = np.maximum(w, b.continuum_weight(x))
    return w


def validate_band(band: Band, atom_positions: np.ndarray, nodes: np.ndarray, cells: np.ndarray,
                  spacing: float | None = None, min_elements: float = 1.0) -> None:
    """Check that ``band`` is covered by both models and resolved by the mesh.

    Parameters
    ----------
    atom_positions : [m, dim] reference positions of the patch's atoms (all of them).
    nodes, cells : the continuum mesh near the band ([n, dim], [n_cells, npc]).
    spacing : typical interatomic spacing; estimated from nearest neighbours if omitted.
        The atoms must reach each edge of the band within one spacing.
    min_elements : the band must be at least this many element sizes wide (the element
        size is the largest extent of the cells that meet the band).

    Raises
    ------
    ConfigError naming the failed condition and the fix.
    """
    x = np.asarray(atom_positions, dtype=float)
    nodes = np.asarray(nodes, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    if nodes.ndim == 1:
        nodes = nodes[:, None]
    dim = nodes.shape[1]
    x = x[:, :dim]
    in_band = band.contains(x)
    if not np.any(in_band):
        raise ConfigError("no atom lies in the handshake band: move the band into the atomistic patch "
                          "or enlarge the patch")
    if spacing is None:
        from scipy.spatial import cKDTree
        d, _ = cKDTree(x).query(x, k=2)
        spacing = float(np.median(d[:, 1])) if x.shape[0] > 1 else band_width(band)
    # band inside the atomistic model: atoms reach both edges
    if isinstance(band, SlabBand):
        ax = band.axis
        lo, hi = band.bounds
        s = x[:, ax]
        if s.min() > lo + spacing or s.max() < hi - spacing:
            raise ConfigError(
                f"handshake band [{lo}, {hi}] along axis {ax} is not inside the atomistic patch "
                f"(atoms span [{s.min():.6g}, {s.max():.6g}]): extend the patch or move the band")
        ns = nodes[:, ax]
        if ns.min() > lo + 1e-9 * max(1.0, abs(lo)) or ns.max() < hi - 1e-9 * max(1.0, abs(hi)):
            raise ConfigError(
                f"handshake band [{lo}, {hi}] along axis {ax} is not inside the continuum mesh "
                f"(nodes span [{ns.min():.6g}, {ns.max():.6g}]): extend the mesh or move the band")
        w = band.width
    else:
        d = band.distance(x)
        if d.max() < band.width - spacing:
            raise ConfigError("the atomistic patch does not reach the outer edge of the handshake band: "
                              "enlarge the patch or thin the band")
        w = band.width
    # mesh resolution in the band
    cells = np.asarray(cells, dtype=np.int64)
    xc = nodes[cells]
    centre = xc.mean(axis=1)
    extent = (xc.max(axis=1) - xc.min(axis=1)).max(axis=1)
    meets = band.contains(centre, tol=0.5 * extent.max()) if extent.size else np.zeros(0, bool)
    if not np.any(meets):
        raise ConfigError("no continuum element meets the handshake band: the mesh must overlap the patch")
    h = float(extent[meets].max())
    if h * min_elements > w * (1.0 + 1e-9):
        raise ConfigError(
            f"mesh too coarse in the handshake band: element size {h:.6g} but the band is {w:.6g} wide "
            f"(need at least {min_elements:g} element(s) across); refine the mesh there or widen the band")


def band_width(band: Band) -> float:
    return float(band.width)


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
