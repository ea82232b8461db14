"""Geometrically necessary dislocations from the gradient of the equivalent plastic strain.

Lower-order mechanism-based strain-gradient plasticity (Huang, Qu, Hwang, Li & Gao,
Int. J. Plasticity 20 (2004) 753): the plastic strain gradient enters only through the
GND density in the Taylor flow stress, with Nye's geometric estimate (Ashby, Phil. Mag.
21 (1970) 399)

    ρ_G = r̄ |∇ε̄ᵖ| / b.

ε̄ᵖ lives at quadrature points (discontinuous between cells), so it is first recovered as
a continuous nodal field by the lumped L² projection

    ε̄ᵖ_I = Σ_c ∫_c N_I ε̄ᵖ dx / Σ_c ∫_c N_I dx,

(exact for a constant field, so a homogeneous deformation has ρ_G = 0 to round-off), and
its gradient at the quadrature points is ∇ε̄ᵖ = Σ_I ε̄ᵖ_I ∇N_I. Ghost nodes are summed on
their owners and scattered back, so the recovery does not depend on the partition.
"""
from __future__ import annotations

import numpy as np


def lumped_projection(space, values_q: np.ndarray, wdet: np.ndarray, N: np.ndarray) -> np.ndarray:
    """Nodal values [n_nodes] (ghosts included) of the lumped L² projection of a quadrature field.

    ``space``: a scalar or vector :class:`~mscouple.continuum.space.FunctionSpace` (its
    mesh and scatter are used; collective); ``values_q`` [n_cells, nq]; ``wdet``
    [n_cells, nq]; ``N`` [nq, npc] shape functions at the quadrature points.
    """
    mesh = space.mesh
    num = np.einsum("cq,cq,qa->ca", wdet, values_q, N)
    den = np.einsum("cq,qa->ca", wdet, N)
    idx = mesh.cells.ravel()
    loc = np.zeros((mesh.n_nodes, space.ncomp))
    loc[:, 0] = np.bincount(idx, weights=num.ravel(), minlength=mesh.n_nodes)
    if space.ncomp > 1:
        loc[:, 1] = np.bincount(idx, weights=den.ravel(), minlength=mesh.n_nodes)
        v = space.add_local(loc)
        tot = space.to_local(v)
        v.destroy()
        return tot[:, 0] / tot[:, 1]
    v = space.add_local(loc)
    numer = space.to_local(v)[:, 0]
    loc[:, 0] = np.bincount(idx, weights=den.ravel(), minlength=mesh.n_nodes)
    v.set(0.0)
    space.add_local(loc, v)
    denom = space.to_local(v)[:, 0]
    v.destroy()
    return numer / denom


def nodal_gradient_norm(nodal: np.ndarray, cells: np.ndarray, G: np.ndarray) -> np.ndarray:
    """|∇f| [n_cells, nq] of a nodal field [n_nodes] with gradients G [n_cells, nq, npc, dim]."""
    grad = np.einsum("ca,cqak->cqk", nodal[cells], G)
    return np.sqrt(np.einsum("cqk,cqk->cq", grad, grad))


def gnd_density(grad_norm: np.ndarray, b: float, rbar: float = 1.90) -> np.ndarray:
    """ρ_G = r̄ |∇ε̄ᵖ| / b (1/length² for |∇ε̄ᵖ| in 1/length, b in length)."""
    return rbar * np.asarray(grad_norm) / b
