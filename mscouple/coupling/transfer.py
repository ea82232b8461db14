"""Transfer operators between finite-element nodes and atoms.

For atoms at reference positions ``X[m, dim]`` and a mesh (node coordinates ``nodes[n, dim]``,
connectivity ``cells[n_cells, npc]``), the interpolation matrix

    N[α, I] = N_I(X_α)                               (scipy.sparse CSR, shape [m, n])

moves nodal fields to the atoms, ``u(X_α) = Σ_I N_I(X_α) u_I``, and its exact transpose
moves atomic forces to the nodes, ``F_I = Σ_α N_I(X_α) f_α``. Because the same matrix is
used both ways, the work of exchanged forces is identical on both sides:
``Σ_α f_α·u_α = Σ_I F_I·U_I`` to round-off (DESIGN.md §4, "Maps").

Elements supported
------------------
``"P1"``  simplices: 2 nodes (1D), 3 (triangle), 4 (tetrahedron); any node order.
``"Q1"``  tensor-product cells on the reference cell [0, 1]^dim with nodes ordered
          counter-clockwise per layer (VTK/Gmsh order):
          1D ``0, 1``; 2D ``(0,0) (1,0) (1,1) (0,1)``;
          3D the 2D quad at ζ=0 then the same quad at ζ=1.
          Non-affine (distorted) cells are inverted by Newton's method.

A mesh engine that orders Q1 nodes differently (DMPlex's closure order) must permute its
connectivity columns to the order above before calling :func:`build_transfer`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from scipy.spatial import cKDTree

from ..errors import ConfigError

__all__ = ["shape_functions", "locate_points", "TransferOperator", "build_transfer"]

_Q1_CORNERS = {
    1: np.array([[0.0], [1.0]]),
    2: np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]),
    3: np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0],
                 [0, 0, 1], [1, 0, 1], [1, 1, 1], [0, 1, 1]], dtype=float),
}


def _nodes_per_cell(kind: str, dim: int) -> int:
    if kind == "P1":
        return dim + 1
    if kind == "Q1":
        return 2 ** dim
    raise ConfigError(f"element kind {kind!r}: expected 'P1' or 'Q1'")


def shape_functions(kind: str, xi: np.ndarray) -> np.ndarray:
    """Shape-function values at reference coordinates.

    Parameters
    ----------
    kind : ``"P1"`` (``xi`` are the barycentric coordinates 1..dim, node 0 gets 1 − Σξ)
        or ``"Q1"`` (``xi`` in [0, 1]^dim).
    xi : [m, dim] reference coordinates.

    Returns
    -------
    [m, npc] values; every row sums to one.
    """
    xi = np.atleast_2d(np.asarray(xi, dtype=float))
    m, dim = xi.shape
    if kind == "P1":
        return np.concatenate([1.0 - xi.sum(axis=1, keepdims=True), xi], axis=1)
    if kind == "Q1":
        c = _Q1_CORNERS[dim]  # [npc, dim]
        # N_i = prod_k (c_ik ξ_k + (1 − c_ik)(1 − ξ_k))
        f = c[None, :, :] * xi[:, None, :] + (1.0 - c[None, :, :]) * (1.0 - xi[:, None, :])
        return f.prod(axis=2)
    raise ConfigError(f"element kind {kind!r}: expected 'P1' or 'Q1'")


def _q1_gradients(xi: np.ndarray) -> np.ndarray:
    """d N_i / d ξ_k for Q1, shape [m, npc, dim]."""
    m, dim = xi.shape
    c = _Q1_CORNERS[dim]
    f = c[None] * xi[:, None, :] + (1.0 - c[None]) * (1.0 - xi[:, None, :])  # [m, npc, dim]
    df = (2.0 * c - 1.0)[None].repeat(m, axis=0)  # d f_ik / d ξ_k
    g = np.empty((m, c.shape[0], dim))
    for k in range(dim):
        others = np.delete(f, k, axis=2).prod(axis=2) if dim > 1 else 1.0
        g[:, :, k] = df[:, :, k] * others
    return g


def _reference_coords(kind: str, xc: np.ndarray, pts: np.ndarray, newton_iter: int = 30) -> np.ndarray:
    """Reference coordinates of ``pts[p, dim]`` in cells with vertex coords ``xc[p, npc, dim]``."""
    p, npc, dim = xc.shape
    if kind == "P1":
        jac = np.transpose(xc[:, 1:, :] - xc[:, :1, :], (0, 2, 1))  # [p, dim, dim]
        return np.linalg.solve(jac, (pts - xc[:, 0, :])[..., None])[..., 0]
    xi = np.full((p, dim), 0.5)
    for _ in range(newton_iter):
        n = shape_functions("Q1", xi)
        r = np.einsum("pi,pid->pd", n, xc) - pts
        jac = np.einsum("pid,pik->pdk", xc, _q1_gradients(xi))
        dxi = np.linalg.solve(jac, r[..., None])[..., 0]
        xi -= dxi
        if np.max(np.abs(dxi), initial=0.0) < 1e-15:
            break
    return xi


def _inside(kind: str, xi: np.ndarray, tol: float) -> np.ndarray:
    if kind == "P1":
        return np.all(xi >= -tol, axis=1) & (xi.sum(axis=1) <= 1.0 + tol)
    return np.all((xi >= -tol) & (xi <= 1.0 + tol), axis=1)


def _candidate_pairs(xc: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(cell, point) pairs with the point inside the cell's bounding sphere (centroid, largest
    vertex distance, enlarged by 1e-9 relative): a superset of the containing cells, since a
    convex cell lies inside that sphere. All in compiled code — two k-d trees and one
    ``sparse_distance_matrix`` per group of cells of similar size (radii within a factor 2,
    so a graded mesh does not test its small cells at its large cells' distance); no Python
    loop over cells or points. Returns two int64 arrays of equal length.
    """
    centre = xc.mean(axis=1)
    radius = np.linalg.norm(xc - centre[:, None, :], axis=2).max(axis=1)
    reach = radius * (1.0 + 1e-9) + 1e-12 * (1.0 + radius)
    ptree = cKDTree(points)
    group = np.floor(np.log2(np.maximum(reach, 1e-300))).astype(np.int64)
    cells_out, pts_out = [], []
    for g in np.unique(group):
        sel = np.flatnonzero(group == g)
        pairs = cKDTree(centre[sel]).sparse_distance_matrix(ptree, float(reach[sel].max()),
                                                            output_type="ndarray")
        c = sel[pairs["i"]]
        ok = pairs["v"] <= reach[c]
        cells_out.append(c[ok].astype(np.int64))
        pts_out.append(pairs["j"][ok].astype(np.int64))
    return np.concatenate(cells_out), np.concatenate(pts_out)


def locate_points(nodes: np.ndarray, cells: np.ndarray, points: np.ndarray, kind: str = "P1",
                  tol: float = 1e-10) -> tuple[np.ndarray, np.ndarray]:
    """Find, for each point, a cell containing it and its shape-function values there.

    Parameters
    ----------
    nodes : [n_nodes, dim] node coordinates (length units).
    cells : [n_cells, npc] local node indices.
    points : [m, dim] positions (atoms' reference positions ``X``).
    kind : ``"P1"`` or ``"Q1"``.
    tol : relative tolerance on reference coordinates (points on a face belong to the cell
        with the lowest index among those containing them).

    Returns
    -------
    cell : [m] int64, the containing cell or −1.
    values : [m, npc] shape-function values N_i(X) (zeros where ``cell == −1``).
    """
    nodes = np.asarray(nodes, dtype=float)
    if nodes.ndim == 1:
        nodes = nodes[:, None]
    dim = nodes.shape[1]
    points = np.asarray(points, dtype=float).reshape(-1, dim)
    cells = np.asarray(cells, dtype=np.int64)
    npc = _nodes_per_cell(kind, dim)
    if cells.ndim != 2 or cells.shape[1] != npc:
        raise ConfigError(f"{kind} cells in {dim}D need {npc} nodes per cell; got connectivity of shape {cells.shape}")
    m = points.shape[0]
    cell_of = np.full(m, -1, dtype=np.int64)
    values = np.zeros((m, npc))
    if m == 0 or cells.shape[0] == 0:
        return cell_of, values
    xc = nodes[cells]  # [n_cells, npc, dim]
    pair_cell, pair_pt = _candidate_pairs(xc, points)
    # cheaper second sieve: the point inside the cell's bounding box (same relative slack)
    lo, hi = xc.min(axis=1), xc.max(axis=1)
    slack = 1e-9 * (hi - lo).max(axis=1, keepdims=True) + 1e-12
    p = points[pair_pt]
    ok = np.all((p >= lo[pair_cell] - slack[pair_cell]) & (p <= hi[pair_cell] + slack[pair_cell]), axis=1)
    pair_cell, pair_pt = pair_cell[ok], pair_pt[ok]
    if pair_cell.size == 0:
        return cell_of, values
    if kind == "P1":
        # affine cells: one inverse Jacobian per cell, then a matrix-vector product per pair
        used = np.unique(pair_cell)
        jinv = np.zeros((xc.shape[0], dim, dim))
        jinv[used] = np.linalg.inv(np.transpose(xc[used, 1:, :] - xc[used, :1, :], (0, 2, 1)))
        xi = np.einsum("pij,pj->pi", jinv[pair_cell], points[pair_pt] - xc[pair_cell, 0, :])
    else:
        xi = _reference_coords(kind, xc[pair_cell], points[pair_pt])
    ok = _inside(kind, xi, tol)
    pair_cell, pair_pt, xi = pair_cell[ok], pair_pt[ok], xi[ok]
    # lowest cell index wins: sort by (point, cell), keep first per point
    order = np.lexsort((pair_cell, pair_pt))
    pair_cell, pair_pt, xi = pair_cell[order], pair_pt[order], xi[order]
    first = np.ones(pair_pt.size, dtype=bool)
    first[1:] = pair_pt[1:] != pair_pt[:-1]
    cell_of[pair_pt[first]] = pair_cell[first]
    values[pair_pt[first]] = shape_functions(kind, xi[first])
    return cell_of, values


@dataclass
class TransferOperator:
    """The pair (N, Nᵀ) between ``n_nodes`` mesh nodes and ``m`` atoms.

    Attributes
    ----------
    matrix : CSR [m, n_nodes], ``N[α, I] = N_I(X_α)``.
    transpose : CSR [n_nodes, m], the exact transpose (same stored values).
    cell : [m] the cell of each atom (−1 only if built with ``require_all=False``).
    """

    matrix: sp.csr_matrix
    cell: np.ndarray
    transpose: sp.csr_matrix = field(init=False)

    def __post_init__(self) -> None:
        self.matrix = sp.csr_matrix(self.matrix)
        self.matrix.sort_indices()
        self.transpose = self.matrix.T.tocsr()
        self.transpose.sort_indices()

    @property
    def shape(self) -> tuple[int, int]:
        return self.matrix.shape

    @property
    def nodes_touched(self) -> np.ndarray:
        """Sorted node indices carrying at least one nonzero shape value."""
        return np.unique(self.matrix.indices[self.matrix.data != 0.0])

    def interpolate(self, nodal: np.ndarray) -> np.ndarray:
        """``u_α = Σ_I N_I(X_α) u_I``; ``nodal`` is [n_nodes] or [n_nodes, k] → [m] or [m, k]."""
        return self.matrix @ np.asarray(nodal)

    def restrict(self, atomic: np.ndarray) -> np.ndarray:
        """``F_I = Σ_α N_I(X_α) f_α``; ``atomic`` is [m] or [m, k] → [n_nodes] or [n_nodes, k]."""
        return self.transpose @ np.asarray(atomic)

    @classmethod
    def from_located(cls, cells: np.ndarray, cell_of: np.ndarray, values: np.ndarray,
                     n_nodes: int) -> "TransferOperator":
        """Build from a mesh engine's own ``locate`` output (cell per atom + shape values)."""
        cells = np.asarray(cells, dtype=np.int64)
        cell_of = np.asarray(cell_of, dtype=np.int64)
        values = np.asarray(values, dtype=float)
        m, npc = values.shape
        found = cell_of >= 0
        rows = np.repeat(np.arange(m, dtype=np.int64)[found], npc)
        cols = cells[cell_of[found]].ravel()
        data = values[found].ravel()
        mat = sp.csr_matrix((data, (rows, cols)), shape=(m, n_nodes))
        mat.sum_duplicates()
        mat.eliminate_zeros()
        return cls(mat, cell_of)


def build_transfer(nodes: np.ndarray, cells: np.ndarray, points: np.ndarray, kind: str = "P1",
                   tol: float = 1e-10, require_all: bool = True) -> TransferOperator:
    """Locate ``points`` in the mesh and build the interpolation/restriction pair.

    Raises :class:`ConfigError` if ``require_all`` and a point lies outside every cell
    (an atom of the handshake band outside the continuum mesh).
    """
    nodes = np.asarray(nodes, dtype=float)
    if nodes.ndim == 1:
        nodes = nodes[:, None]
    cell_of, values = locate_points(nodes, cells, points, kind, tol)
    if require_all and np.any(cell_of < 0):
        bad = np.flatnonzero(cell_of < 0)
        p = np.asarray(points, dtype=float).reshape(-1, nodes.shape[1])[bad[0]]
        raise ConfigError(
            f"{bad.size} handshake atom(s) lie outside the continuum mesh (first at {p.tolist()}); "
            "make the mesh cover the whole handshake band, or shrink the band")
    return TransferOperator.from_located(cells, cell_of, values, nodes.shape[0])
