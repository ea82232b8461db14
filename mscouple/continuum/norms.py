"""Integral norms of the error between a finite-element field and an exact solution.

Used for verification by the method of manufactured solutions: for P1/Q1 with smooth
solutions, ‖u − u_h‖_L2 = O(h²) and |u − u_h|_H1 = O(h).
"""
from __future__ import annotations

from typing import Callable

import numpy as np
from petsc4py import PETSc

from .reference import quadrature
from .space import FunctionSpace


def error_norms(space: FunctionSpace, vec: PETSc.Vec, exact: Callable[[np.ndarray], np.ndarray],
                grad_exact: Callable[[np.ndarray], np.ndarray] | None = None, degree: int = 2
                ) -> tuple[float, float]:
    """(‖u − u_h‖_L2, |u − u_h|_H1) over the whole mesh (collective).

    ``exact(X [n, dim]) -> [n, ncomp]`` and ``grad_exact(X) -> [n, ncomp, dim]``; the H1
    seminorm is NaN when ``grad_exact`` is None.
    """
    mesh = space.mesh
    nc = space.ncomp
    G, wdet = mesh.geometry(degree)
    pts, _ = quadrature(mesh.cell_type, degree)
    N = mesh.reference.shape(pts)  # [nq, npc]
    ul = space.to_local(vec)[mesh.cells]  # [ncell, npc, nc]
    xq = mesh.quadrature_points(degree)  # [ncell, nq, dim]
    flat = xq.reshape(-1, mesh.dim)
    uq = np.einsum("qa,cak->cqk", N, ul)
    ue = np.asarray(exact(flat), dtype=float).reshape(uq.shape)
    l2 = float(np.sum(wdet[..., None] * (uq - ue) ** 2))
    h1 = np.nan
    if grad_exact is not None:
        gq = np.einsum("cqad,cak->cqkd", G, ul)
        ge = np.asarray(grad_exact(flat), dtype=float).reshape(gq.shape)
        h1 = float(np.sum(wdet[..., None, None] * (gq - ge) ** 2))
    l2 = space.comm.allreduce(l2)
    h1 = space.comm.allreduce(h1) if grad_exact is not None else np.nan
    return float(np.sqrt(l2)), float(np.sqrt(h1))
