"""Reference cells: P1 simplices and Q1 tensor cells, their shape functions, quadrature
rules and local faces.

Vertex orderings (the columns of every connectivity array in this package):

- ``interval``      0 → ξ=0, 1 → ξ=1
- ``triangle``      (0,0) (1,0) (0,1)
- ``tetrahedron``   (0,0,0) (1,0,0) (0,1,0) (0,0,1)
- ``quadrilateral`` (0,0) (1,0) (1,1) (0,1)               (counter-clockwise, as Gmsh/VTK)
- ``hexahedron``    bottom (0,0,0) (1,0,0) (1,1,0) (0,1,0), then the same at ζ=1 (Gmsh/VTK)

Reference cells are [0,1]^d for Q1 and the unit simplex for P1.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_G2 = 0.5 / np.sqrt(3.0)


@dataclass(frozen=True)
class ReferenceCell:
    """A reference cell: name, topological dimension, vertices and local faces."""

    name: str
    dim: int
    vertices: np.ndarray  # [npc, dim]
    faces: tuple  # tuple of tuples of local vertex indices (cyclic order for quads)
    simplex: bool
    facet_name: str

    @property
    def n_vertices(self) -> int:
        return int(self.vertices.shape[0])

    # ------------------------------------------------------------------ shape functions
    def shape(self, xi: np.ndarray) -> np.ndarray:
        """Shape-function values N [..., npc] at reference points xi [..., dim]."""
        xi = np.asarray(xi, dtype=float)
        if self.simplex:
            return np.concatenate([1.0 - xi.sum(axis=-1, keepdims=True), xi], axis=-1)
        v = self.vertices
        out = np.ones(xi.shape[:-1] + (v.shape[0],))
        for k in range(self.dim):
            x = xi[..., k, None]
            out = out * np.where(v[:, k] > 0.5, x, 1.0 - x)
        return out

    def shape_grad(self, xi: np.ndarray) -> np.ndarray:
        """Reference gradients dN/dξ [..., npc, dim] at xi [..., dim]."""
        xi = np.asarray(xi, dtype=float)
        npc = self.n_vertices
        if self.simplex:
            g = np.zeros((npc, self.dim))
            g[0, :] = -1.0
            g[1:, :] = np.eye(self.dim)
            return np.broadcast_to(g, xi.shape[:-1] + (npc, self.dim)).copy()
        v = self.vertices
        out = np.ones(xi.shape[:-1] + (npc, self.dim))
        for k in range(self.dim):
            x = xi[..., k, None]
            f = np.where(v[:, k] > 0.5, x, 1.0 - x)  # [..., npc]
            df = np.where(v[:, k] > 0.5, 1.0, -1.0) * np.ones_like(f)
            for j in range(self.dim):
                out[..., j] *= df if j == k else f
        return out

    def contains(self, xi: np.ndarray, tol: float = 1e-10) -> np.ndarray:
        """Whether reference points xi [..., dim] lie in the cell (with tolerance)."""
        if self.simplex:
            return (xi >= -tol).all(axis=-1) & (xi.sum(axis=-1) <= 1.0 + tol)
        return ((xi >= -tol) & (xi <= 1.0 + tol)).all(axis=-1)


def _simplex_vertices(d: int) -> np.ndarray:
    return np.vstack([np.zeros(d), np.eye(d)])


REFERENCE_CELLS = {
    "point": ReferenceCell("point", 0, np.zeros((1, 0)), (), True, ""),
    "interval": ReferenceCell("interval", 1, np.array([[0.0], [1.0]]), ((0,), (1,)), True, "point"),
    "triangle": ReferenceCell("triangle", 2, _simplex_vertices(2), ((0, 1), (1, 2), (2, 0)), True,
                              "interval"),
    "tetrahedron": ReferenceCell("tetrahedron", 3, _simplex_vertices(3),
                                 ((1, 2, 3), (0, 2, 3), (0, 1, 3), (0, 1, 2)), True, "triangle"),
    "quadrilateral": ReferenceCell("quadrilateral", 2,
                                   np.array([[0, 0], [1, 0], [1, 1], [0, 1]], dtype=float),
                                   ((0, 1), (1, 2), (2, 3), (3, 0)), False, "interval"),
    "hexahedron": ReferenceCell("hexahedron", 3,
                                np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0],
                                          [0, 0, 1], [1, 0, 1], [1, 1, 1], [0, 1, 1]], dtype=float),
                                ((0, 3, 2, 1), (4, 5, 6, 7), (0, 1, 5, 4), (1, 2, 6, 5),
                                 (2, 3, 7, 6), (3, 0, 4, 7)), False, "quadrilateral"),
}


def reference_cell(name: str) -> ReferenceCell:
    """The :class:`ReferenceCell` called *name* (``interval``, ``triangle``, ...)."""
    try:
        return REFERENCE_CELLS[name]
    except KeyError:
        raise ValueError(f"unknown cell type {name!r}; use one of {sorted(REFERENCE_CELLS)}") from None


def quadrature(name: str, degree: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Quadrature points [nq, dim] and weights [nq] on the reference cell *name*.

    Exact for polynomials of total degree ``degree`` (≤ 2 on simplices, ≤ 3 per direction
    on tensor cells). Weights sum to the reference measure (1/d! for simplices).
    """
    if name == "point":
        return np.zeros((1, 0)), np.ones(1)
    if degree <= 1 and name in ("interval", "triangle", "tetrahedron"):
        d = reference_cell(name).dim
        return np.full((1, d), 1.0 / (d + 1)), np.array([1.0 / np.prod(np.arange(1, d + 1))])
    if name == "interval":
        return np.array([[0.5 - _G2], [0.5 + _G2]]), np.array([0.5, 0.5])
    if name == "triangle":
        if degree > 2:
            raise ValueError("triangle quadrature is implemented to degree 2")
        p = np.array([[1 / 6, 1 / 6], [2 / 3, 1 / 6], [1 / 6, 2 / 3]])
        return p, np.full(3, 1 / 6)
    if name == "tetrahedron":
        if degree > 2:
            raise ValueError("tetrahedron quadrature is implemented to degree 2")
        a, b = (5 + 3 * np.sqrt(5)) / 20, (5 - np.sqrt(5)) / 20
        p = np.array([[b, b, b], [a, b, b], [b, a, b], [b, b, a]])
        return p, np.full(4, 1 / 24)
    if name in ("quadrilateral", "hexahedron"):
        d = reference_cell(name).dim
        g = np.array([0.5 - _G2, 0.5 + _G2]) if degree >= 1 else np.array([0.5])
        w1 = np.full(g.size, 1.0 / g.size)
        grids = np.meshgrid(*([g] * d), indexing="ij")
        wgrids = np.meshgrid(*([w1] * d), indexing="ij")
        pts = np.stack([gr.ravel() for gr in grids], axis=-1)
        w = np.prod(np.stack([wg.ravel() for wg in wgrids], axis=-1), axis=-1)
        return pts, w
    raise ValueError(f"no quadrature for cell type {name!r}")


def cell_type_for(dim: int, n_vertices: int) -> str:
    """Cell-type name from topological dimension and vertices per cell."""
    table = {(1, 2): "interval", (2, 3): "triangle", (2, 4): "quadrilateral",
             (3, 4): "tetrahedron", (3, 8): "hexahedron"}
    try:
        return table[(dim, n_vertices)]
    except KeyError:
        raise ValueError(f"no P1/Q1 cell with dim={dim} and {n_vertices} vertices") from None
