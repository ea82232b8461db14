"""Explicit stability limit of lumped-mass P1/Q1 elastodynamics, in plain NumPy (no PETSc).

Central differences are stable for ``dt < 2/ω_max``; ω_max² is bounded by the largest
eigenvalue over the elements of (K_e, M_e,lumped) (Irons' element bound: the global
maximum frequency does not exceed the largest element frequency; Hughes, *The Finite
Element Method*, §9.3). ``K_e`` is the element stiffness (P1: one-point quadrature, exact;
Q1: 2×2(×2) Gauss), ``M_e`` the row-sum lumped element mass ρ∫N_a.

:meth:`mscouple.continuum.elasticity.ExplicitElastodynamics.stable_dt` computes the same
number on the distributed mesh; :func:`stable_dt` here needs only the vertex coordinates,
so the pre-flight check (:mod:`mscouple.check`) can refuse an unstable ``run.dt`` on every
rank before PETSc exists. Units: lengths and times of the case, C and ρ consistent.
"""
from __future__ import annotations

import numpy as np

from .materials import ElasticMaterial
from .reference import quadrature, reference_cell

__all__ = ["element_eigenvalues", "stable_dt"]


def _classes(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Congruent-by-translation cells share their eigenvalue: (representative cells, inverse)."""
    rel = X - X[:, :1, :]
    scale = max(float(np.abs(rel).max(initial=0.0)), 1e-300)
    key = np.round(rel.reshape(len(X), -1) / scale, 12)
    _, first, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
    return X[first], inverse.reshape(-1)


def element_eigenvalues(X: np.ndarray, cell_type: str, material: ElasticMaterial,
                        mode: str = "plane_strain") -> np.ndarray:
    """Largest eigenvalue ω_e² of (K_e, M_e,lumped) per cell, [n_cells] (1/time²).

    ``X`` [n_cells, npc, dim] vertex coordinates in the orderings of :mod:`.reference`.
    """
    X = np.asarray(X, dtype=float)
    nc, npc, d = X.shape
    if nc == 0:
        return np.zeros(0)
    reps, inverse = _classes(X)
    ref = reference_cell(cell_type)
    C = material.tensor(d, mode)  # [i, k, j, l]
    # stiffness: the same quadrature as the assembly (one point on simplices)
    pts, w = quadrature(cell_type, 1 if ref.simplex else 2)
    dN = ref.shape_grad(pts)  # [nq, npc, d]
    J = np.einsum("cad,qak->cqdk", reps, dN)  # [m, nq, d, d]
    det = np.linalg.det(J)
    G = np.einsum("qak,cqkd->cqad", dN, np.linalg.inv(J))  # dN/dx [m, nq, npc, d]
    wdet = np.abs(det) * w[None, :]
    K = np.einsum("cq,ikjl,cqak,cqbl->caibj", wdet, C, G, G).reshape(len(reps), npc * d, npc * d)
    # lumped mass with the mass quadrature of the dynamics (degree 2)
    pts2, w2 = quadrature(cell_type, 2)
    J2 = np.einsum("cad,qak->cqdk", reps, ref.shape_grad(pts2))
    wdet2 = np.abs(np.linalg.det(J2)) * w2[None, :]
    me = np.einsum("cq,qa->ca", wdet2, ref.shape(pts2)) * material.inertial_density  # ρ·mvv2e
    s = 1.0 / np.sqrt(np.repeat(me, d, axis=1))
    lam = np.linalg.eigvalsh(K * s[:, :, None] * s[:, None, :])[:, -1]
    return lam[inverse]


def stable_dt(X: np.ndarray, cell_type: str, material: ElasticMaterial, mode: str = "plane_strain",
              active: np.ndarray | None = None, safety: float = 0.9) -> float:
    """``safety · 2/ω_max`` over the cells with ``active`` True (cells of weight > 0; all
    cells if None). ``inf`` when no cell is active (nothing to integrate)."""
    X = np.asarray(X, dtype=float)
    if active is not None:
        X = X[np.asarray(active, dtype=bool)]
    lam = element_eigenvalues(X, cell_type, material, mode)
    if lam.size == 0 or lam.max() <= 0:
        return float("inf")
    return float(safety * 2.0 / np.sqrt(lam.max()))
