"""Bridging-domain velocity constraints (Xiao & Belytschko, CMAME 193 (2004) 1645).

In the handshake band atoms and nodes are tied by the constraint

    g_α = v_α − Σ_I N_I(X_α) v_I = 0                (per-atom multipliers, C = I)
    Σ_α N_J(X_α) g_α = 0  for every band node J      (coarse-node multipliers, C = N)

The constraint is linear, so RATTLE reduces to an M-orthogonal projection of the velocities
after each half kick (Andersen, J. Comput. Phys. 52 (1983) 24):

    Δv_atoms = m⁻¹ C μ,   Δv_nodes = −M⁻¹ Nᵀ C μ,
    A μ = −Cᵀ g*,         A = Cᵀ (m⁻¹ + N M⁻¹ Nᵀ) C        (SPD)

where ``m`` are the atoms' dynamical (weight-scaled, (1−w) m) masses, ``M`` the nodes'
weighted lumped masses and ``g*`` the gap of the predicted velocities. ``μ`` is the
constraint impulse; over a half step ``h`` the constraint force is ``μ/h`` on the atoms and
``−Nᵀ μ/h`` on the nodes. Projecting after both half kicks of velocity Verlet keeps the
displacements on the constraint too (the drift uses projected half-step velocities) and
the scheme symplectic on the constraint manifold, so the coupled NVE energy does not drift.

``A`` is built and factorised once (it depends on masses and reference positions only);
rebuild the object when atoms migrate.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg as la
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from ..errors import ConfigError

__all__ = ["BridgingDomain", "ProjectionResult"]

_DENSE_LIMIT = 3000


@dataclass
class ProjectionResult:
    """Outcome of one projection.

    impulse : [p, k] multipliers μ (momentum units).
    dv_atoms : [m_band, k] velocity corrections of the band atoms.
    dv_nodes : [n_band, k] velocity corrections of the band nodes (``BridgingDomain.nodes`` order).
    work : kinetic energy added by the constraint (both sides; ≤ 0 for a projection).
    gap_before : max |gap| before the projection (velocity units).
    """

    impulse: np.ndarray
    dv_atoms: np.ndarray
    dv_nodes: np.ndarray
    work: float
    gap_before: float


class BridgingDomain:
    """The constraint system of one handshake band.

    Parameters
    ----------
    transfer : CSR [m_band, n_nodes] interpolation matrix of the band atoms (rows) over the
        continuum's local nodes (:class:`~mscouple.coupling.transfer.TransferOperator.matrix`).
    atom_mass : [m_band] dynamical masses of the band atoms, already scaled by (1 − w).
    node_mass : [n_nodes] dynamical (weighted, lumped) nodal masses; only band nodes are read.
    multipliers : ``"atoms"`` (one multiplier per atom and component, the strong constraint)
        or ``"nodes"`` (one per band node: the weak, cheaper constraint that lets fine-scale
        motion the mesh cannot carry live in the band, where a damping band can absorb it).
    mvv2e : energy conversion of m v² (``mscouple.units``), for the reported work only.
    """

    def __init__(self, transfer: sp.spmatrix, atom_mass: np.ndarray, node_mass: np.ndarray,
                 multipliers: str = "atoms", mvv2e: float = 1.0) -> None:
        if multipliers not in ("atoms", "nodes"):
            raise ConfigError(f"multipliers = {multipliers!r}: expected 'atoms' or 'nodes'")
        n_full = sp.csr_matrix(transfer)
        n_full.eliminate_zeros()
        self.multipliers = multipliers
        self.mvv2e = float(mvv2e)
        self.nodes = np.unique(n_full.indices)  # band nodes, local numbering
        self.N = n_full[:, self.nodes].tocsr()  # [m_band, n_band]
        self.m = np.asarray(atom_mass, dtype=float).copy()
        self.M = np.asarray(node_mass, dtype=float)[self.nodes].copy()
        if self.m.shape != (self.N.shape[0],):
            raise ConfigError(f"atom_mass has shape {self.m.shape}; the band has {self.N.shape[0]} atoms")
        if np.any(self.m <= 0) or np.any(self.M <= 0):
            raise ConfigError(
                "a band atom or node has zero dynamical mass (its weight is 0 or 1 at the band edge): "
                "put the band edges between atoms/nodes, or drop atoms outside the band")
        self.C = sp.identity(self.N.shape[0], format="csr") if multipliers == "atoms" else self.N
        minv = sp.diags(1.0 / self.m)
        Minv = sp.diags(1.0 / self.M)
        K = minv + self.N @ Minv @ self.N.T
        A = (self.C.T @ K @ self.C).tocsc()
        self.size = A.shape[0]
        if multipliers == "nodes":
            rank_ok = np.asarray(abs(self.N).sum(axis=0)).ravel() > 0
            if not np.all(rank_ok):
                raise ConfigError("a band node has no atom in its support: the mesh is too fine for "
                                  "coarse-node multipliers; use multipliers = 'atoms'")
        if self.size <= _DENSE_LIMIT:
            try:
                self._chol = la.cho_factor(A.toarray(), lower=True, check_finite=True)
            except la.LinAlgError:
                raise ConfigError("the bridging-domain constraint matrix is singular: every band node "
                                  "needs atoms in its support (refine the atoms or coarsen the mesh)") from None
            self._solve = lambda b: la.cho_solve(self._chol, b, check_finite=False)
        else:
            lu = spla.splu(A)
            self._solve = lu.solve

    @property
    def n_atoms(self) -> int:
        return self.N.shape[0]

    def gap(self, v_atoms: np.ndarray, v_nodes_band: np.ndarray) -> np.ndarray:
        """Constraint residual ``v_α − Σ_I N_I v_I`` per band atom, [m_band, k]."""
        return np.asarray(v_atoms) - self.N @ np.asarray(v_nodes_band)

    def solve(self, v_atoms: np.ndarray, v_nodes_band: np.ndarray) -> ProjectionResult:
        """Corrections that put ``(v_atoms [m_band,k], v_nodes_band [n_band,k])`` on the constraint."""
        va = np.asarray(v_atoms, dtype=float)
        vn = np.asarray(v_nodes_band, dtype=float)
        squeeze = va.ndim == 1
        if squeeze:
            va, vn = va[:, None], vn[:, None]
        g = va - self.N @ vn
        mu = self._solve(-(self.C.T @ g))
        cmu = self.C @ mu
        dva = cmu / self.m[:, None]
        dvn = -(self.N.T @ cmu) / self.M[:, None]
        work = 0.5 * self.mvv2e * (np.sum(self.m[:, None] * ((va + dva) ** 2 - va ** 2))
                                   + np.sum(self.M[:, None] * ((vn + dvn) ** 2 - vn ** 2)))
        gmax = float(np.max(np.abs(g), initial=0.0))
        if squeeze:
            mu, dva, dvn = mu[:, 0], dva[:, 0], dvn[:, 0]
        return ProjectionResult(mu, dva, dvn, float(work), gmax)

    def project(self, v_atoms: np.ndarray, v_nodes: np.ndarray, atom_index: np.ndarray | None = None) -> ProjectionResult:
        """Project in place: ``v_atoms`` [m_total, k] (band rows ``atom_index``, default all) and
        ``v_nodes`` [n_nodes, k] (rows ``self.nodes``)."""
        ia = slice(None) if atom_index is None else atom_index
        res = self.solve(v_atoms[ia], v_nodes[self.nodes])
        v_atoms[ia] += res.dv_atoms
        v_nodes[self.nodes] += res.dv_nodes
        return res

    def constrained_accelerations(self, f_atoms: np.ndarray, f_nodes_band: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Accelerations ``P M⁻¹ f`` the constrained system would feel under forces
        ``f_atoms [m_band,k]``, ``f_nodes_band [n_band,k]``: the ghost-force measure at rest."""
        fa = np.asarray(f_atoms, dtype=float)
        fn = np.asarray(f_nodes_band, dtype=float)
        aa = fa / self.m.reshape((-1,) + (1,) * (fa.ndim - 1))
        an = fn / self.M.reshape((-1,) + (1,) * (fn.ndim - 1))
        res = self.solve(aa, an)
        return aa + res.dv_atoms, an + res.dv_nodes
