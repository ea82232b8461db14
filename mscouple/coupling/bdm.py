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

With per-atom multipliers the projection has a closed form on the *nodes* (the constrained
atoms are slaved to the mesh: ``v'_α = Σ N_I v'_I``), so the system solved is the band's
``n_band × n_band`` mass-weighted average instead of the ``m_band × m_band`` ``A``:

    (M + Nᵀ m N) v'_nodes = M v_nodes + Nᵀ m v_atoms,   v'_atoms = N v'_nodes,   μ = m (v'_atoms − v_atoms)

(the same minimiser of ½|Δv|²_mass on ``{v_atoms = N v_nodes}``; Woodbury's identity
turns one into the other). ``M + Nᵀ m N`` is a consistent mass matrix of the band: sparse,
SPD, as small as the band's node count (a few per cent of its atoms in 3D). It is *not*
lumped: a lumped ``diag(M + Nᵀ m 1)`` keeps momentum and the constraint but is no projection
(``B_L⁻¹ B ≠ I``), so it would filter velocities already on the constraint every half step —
numerical dissipation in the band, and the coupled step would lose its symplectic energy
behaviour.

On a continuum of several ranks the same system is assembled and solved *distributed*
(:class:`DistributedBand`): each continuum rank owns the rows of the band nodes it owns in
the mesh and contributes its own band atoms' rows of ``N``; a parallel direct factorisation
(PETSc KSP ``preonly`` + MUMPS Cholesky, computed once, reused every projection) solves for
the nodes' correction. No rank holds the whole band; the results equal the one-rank
:class:`BridgingDomain` to round-off (``tests/coupling/test_bdm_distributed.py``).
"""
from __future__ import annotations

import numpy as np
import scipy.linalg as la
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from .._kernels import bandproj as _kb
from ..errors import ConfigError

__all__ = ["BridgingDomain", "DistributedBand", "ProjectionResult"]

_DENSE_LIMIT = 100  # dense Cholesky below this order (the 1D bands), sparse LU above


class _LUSolve:
    """``SuperLU.solve`` with the triangular solves in one compiled pass each
    (``bandproj.lu_solve``; the same factors, equal to round-off): SuperLU's own solve costs
    ~0.45 ms for 3 right-hand sides of the 988-node band of a 32,000-atom block, a plain
    column sweep over its 78k factor entries a third of that."""

    def __init__(self, lu) -> None:
        self.lu = lu
        L, U = lu.L.tocsc(), lu.U.tocsc()
        L.sort_indices()
        U.sort_indices()
        n = L.shape[0]
        Ls, Us = sp.tril(L, k=-1, format="csc"), sp.triu(U, k=1, format="csc")
        self.Lp, self.Li, self.Lx = (Ls.indptr.astype(np.int64), Ls.indices.astype(np.int64),
                                     np.ascontiguousarray(Ls.data, dtype=float))
        self.Up, self.Ui, self.Ux = (Us.indptr.astype(np.int64), Us.indices.astype(np.int64),
                                     np.ascontiguousarray(Us.data, dtype=float))
        self.uinv = 1.0 / U.diagonal()
        self.pr, self.pc = lu.perm_r.astype(np.int64), lu.perm_c.astype(np.int64)
        self.n = n

    def __call__(self, b: np.ndarray) -> np.ndarray:
        b = np.asarray(b, dtype=float)
        one = b.ndim == 1
        b2 = np.ascontiguousarray(b[:, None] if one else b)
        if b2.ndim != 2 or not 0 < b2.shape[1] <= 8 or b2.shape[0] != self.n:
            return self.lu.solve(b)
        x, y = np.empty_like(b2), np.empty_like(b2)
        _kb.lu_solve(self.Lp, self.Li, self.Lx, self.Up, self.Ui, self.Ux, self.uinv, self.pr, self.pc, b2, x, y)
        return x[:, 0] if one else x


class ProjectionResult:
    """Outcome of one projection.

    impulse : [p, k] multipliers μ (momentum units; computed when first read).
    dv_atoms : [m_band, k] velocity corrections of the band atoms.
    dv_nodes : [n_band, k] velocity corrections of the band nodes (``BridgingDomain.nodes`` order).
    work : kinetic energy added by the constraint (both sides; ≤ 0 for a projection).
    gap_before : max |gap| before the projection (velocity units).
    """

    __slots__ = ("_impulse", "dv_atoms", "dv_nodes", "work", "gap_before")

    def __init__(self, impulse, dv_atoms: np.ndarray, dv_nodes: np.ndarray, work: float,
                 gap_before: float) -> None:
        self._impulse = impulse  # an array, or a callable returning it (the run never reads μ)
        self.dv_atoms, self.dv_nodes, self.work, self.gap_before = dv_atoms, dv_nodes, work, gap_before

    @property
    def impulse(self) -> np.ndarray:
        if callable(self._impulse):
            self._impulse = self._impulse()
        return self._impulse

    def __repr__(self) -> str:
        return f"ProjectionResult(work={self.work!r}, gap_before={self.gap_before!r})"


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
                 multipliers: str = "atoms", mvv2e: float = 1.0, node_fixed=None) -> None:
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
        self._NT = self.N.T.tocsr()
        # N's rows for the compiled band kernels (mscouple._kernels.bandproj)
        self._ip = self.N.indptr.astype(np.int64)
        self._ix = self.N.indices.astype(np.int64)
        self._nd = np.ascontiguousarray(self.N.data, dtype=float)
        if multipliers == "atoms":
            # the nodes' mass-weighted average (module docstring): n_band × n_band
            A = (sp.diags(self.M) + self._NT @ sp.diags(self.m) @ self.N).tocsc()
            self.size = self.N.shape[0]
        else:
            rank_ok = np.asarray(abs(self.N).sum(axis=0)).ravel() > 0
            if not np.all(rank_ok):
                raise ConfigError("a band node has no atom in its support: the mesh is too fine for "
                                  "coarse-node multipliers; use multipliers = 'atoms'")
            K = sp.diags(1.0 / self.m) + self.N @ sp.diags(1.0 / self.M) @ self._NT
            A = (self._NT @ K @ self.N).tocsc()
            self.size = A.shape[0]
        #: order of the linear system factorised once and solved twice per step
        self.system_size = A.shape[0]
        if self.system_size <= _DENSE_LIMIT:
            try:
                self._chol = la.cho_factor(A.toarray(), lower=True, check_finite=True)
            except la.LinAlgError:
                raise ConfigError("the bridging-domain constraint matrix is singular: every band node "
                                  "needs atoms in its support (refine the atoms or coarsen the mesh)") from None
            self._solve = lambda b: la.cho_solve(self._chol, b, check_finite=False)
        else:
            # sparse LU with a symmetric minimum-degree ordering: the band system is a
            # mass-matrix-like shell (≈ 10 nonzeros per row); 10× faster than a dense Cholesky
            # at 1,000 rows and the fill stays O(n^1.5) for a 2D band surface
            try:
                lu = spla.splu(A, permc_spec="MMD_AT_PLUS_A", options=dict(SymmetricMode=True))
            except RuntimeError:
                raise ConfigError("the bridging-domain constraint matrix is singular: every band node "
                                  "needs atoms in its support (refine the atoms or coarsen the mesh)") from None
            self._solve = _LUSolve(lu)
        #: [n_band, k] bool: band-node components held by a Dirichlet condition (e.g. a roller
        #: face crossing the band), or None. They have infinite mass in the projection.
        self.fixed = None
        if node_fixed is not None:
            fx = np.asarray(node_fixed, dtype=bool).reshape(len(node_mass), -1)[self.nodes]
            if fx.any():
                self.fixed = fx
                self._setup_fixed()

    def _setup_fixed(self) -> None:
        """One system per component when band nodes hold Dirichlet components.

        A Dirichlet dof keeps its velocity (zero) whatever impulse acts on it: in the
        projection it is a node of infinite mass in that component (inverse mass 0). A
        projection that ignored it would give the dof a velocity that the next kick zeroes
        again — kinetic energy taken out of the coupled system every step without being
        booked, and a displacement that leaves its prescribed value (measured on
        examples/cu_wave_3d: rollers on the lateral faces cross the band; E_total drifted
        by about −1e-4 eV per step at 300 K)."""
        self.node_inv_mass = np.where(self.fixed, 0.0, 1.0 / self.M[:, None])  # [n_band, k]
        self._fsolve = []
        for c in range(self.fixed.shape[1]):
            free = ~self.fixed[:, c]
            if self.multipliers == "atoms":
                # fixed nodes' velocities are known: eliminate them from (M + Nᵀ m N) v' = rhs
                A = (sp.diags(self.M) + self._NT @ sp.diags(self.m) @ self.N).tocsr()
                self._fsolve.append((free, A[free][:, ~free].tocsr(), _factor(A[free][:, free].tocsc())))
            else:
                K = sp.diags(1.0 / self.m) + self.N @ sp.diags(self.node_inv_mass[:, c]) @ self._NT
                self._fsolve.append((free, None, _factor((self._NT @ K @ self.N).tocsc())))

    def _solve_fixed(self, va: np.ndarray, vn: np.ndarray):
        """:meth:`solve` with Dirichlet components on band nodes (one system per component)."""
        if va.shape[1] != len(self._fsolve):
            raise ConfigError(f"velocities with {va.shape[1]} components for a band whose Dirichlet "
                              f"mask has {len(self._fsolve)}")
        g = va - self.N @ vn
        gmax = float(np.max(np.abs(g), initial=0.0))
        mu = np.zeros_like(va) if self.multipliers == "atoms" else np.zeros_like(vn)
        dva, dvn = np.zeros_like(va), np.zeros_like(vn)
        for c, (free, A_fx, solve) in enumerate(self._fsolve):
            if self.multipliers == "atoms":
                rhs = (self.M * vn[:, c] + self._NT @ (self.m * va[:, c]))[free] - A_fx @ vn[~free, c]
                vnew = vn[:, c].copy()
                vnew[free] = solve(rhs)
                dvn[:, c] = vnew - vn[:, c]
                dva[:, c] = self.N @ vnew - va[:, c]
                mu[:, c] = self.m * dva[:, c]
            else:
                mu[:, c] = solve(-(self._NT @ g[:, c]))
                cmu = self.N @ mu[:, c]
                dva[:, c] = cmu / self.m
                dvn[:, c] = -(self._NT @ cmu) * self.node_inv_mass[:, c]
        return mu, dva, dvn, gmax

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
        if self.fixed is not None:
            mu, dva, dvn, gmax = self._solve_fixed(va, vn)
            work_a = np.einsum("i,ik,ik->", self.m, 2.0 * va + dva, dva)
        elif self.multipliers == "atoms" and 0 < va.shape[1] <= 8:
            # one pass over N's rows each way (compiled): rhs = M vn + Nᵀ m va with the gap's
            # max, then Δv_atoms = N vn' − va with the atoms' Σ m (2 v + Δv)·Δv
            va, vn = np.ascontiguousarray(va), np.ascontiguousarray(vn)
            rhs = self.M[:, None] * vn
            gmax = _kb.nodal_rhs(self._ip, self._ix, self._nd, self.m, va, vn, rhs)
            vn_new = np.ascontiguousarray(self._solve(rhs))
            dvn = vn_new - vn
            dva = np.empty_like(va)
            work_a = _kb.interp_correction(self._ip, self._ix, self._nd, self.m, vn_new, va, dva)
            m_ = self.m
            mu = (lambda d=dva: m_[:, None] * d) if not squeeze else (lambda d=dva: m_ * d[:, 0])
        else:
            g = va - self.N @ vn
            gmax = float(np.max(np.abs(g), initial=0.0))
            if self.multipliers == "atoms":
                vn_new = self._solve(self.M[:, None] * vn + self._NT @ (self.m[:, None] * va))
                dvn = vn_new - vn
                dva = self.N @ vn_new - va
                mu = self.m[:, None] * dva
            else:
                mu = self._solve(-(self._NT @ g))
                cmu = self.N @ mu
                dva = cmu / self.m[:, None]
                dvn = -(self._NT @ cmu) / self.M[:, None]
            work_a = np.einsum("i,ik,ik->", self.m, 2.0 * va + dva, dva)
        # kinetic-energy change Σ m (2 v + Δv)·Δv of both sides (one fused product per side)
        work = 0.5 * self.mvv2e * (work_a + np.einsum("i,ik,ik->", self.M, 2.0 * vn + dvn, dvn))
        if squeeze:
            mu = mu if callable(mu) else mu[:, 0]
            dva, dvn = dva[:, 0], dvn[:, 0]
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
        if self.fixed is not None and fn.ndim == 2:
            an = fn * self.node_inv_mass[:, :fn.shape[1]]
        res = self.solve(aa, an)
        return aa + res.dv_atoms, an + res.dv_nodes


def _factor(A: sp.spmatrix):
    """A solver for the SPD band matrix ``A`` (dense Cholesky when small, sparse LU above)."""
    if A.shape[0] <= _DENSE_LIMIT:
        try:
            chol = la.cho_factor(A.toarray(), lower=True, check_finite=True)
        except la.LinAlgError:
            raise ConfigError("the bridging-domain constraint matrix is singular: every band node "
                              "needs atoms in its support (refine the atoms or coarsen the mesh)") from None
        return lambda b: la.cho_solve(chol, b, check_finite=False)
    try:
        return spla.splu(A, permc_spec="MMD_AT_PLUS_A", options=dict(SymmetricMode=True)).solve
    except RuntimeError:
        raise ConfigError("the bridging-domain constraint matrix is singular: every band node "
                          "needs atoms in its support (refine the atoms or coarsen the mesh)") from None


def _sum_max(inbuf, outbuf, datatype) -> None:  # noqa: ARG001 (MPI.Op signature)
    """MPI reduction of ``[sum, max]`` pairs of doubles (one collective for both)."""
    a = np.frombuffer(inbuf, dtype=float)
    b = np.frombuffer(outbuf, dtype=float)
    b[0] += a[0]
    b[1] = max(a[1], b[1])


_SUM_MAX = None


class DistributedBand:
    """The band system of :class:`BridgingDomain` distributed over the continuum ranks.

    Each continuum rank passes the rows of ``N`` of the band atoms the exchange assigned to it
    (over its local nodes, ghosts included) and the masses of the nodes it owns; nothing is
    gathered. The ``k`` velocity components are interleaved (``[n, k]`` C order), so the
    system is ``A ⊗ I_k`` with one PETSc row per node component: Dirichlet components of band
    nodes (``node_fixed``) are rows of the identity (atom multipliers) or have zero inverse
    mass (node multipliers), as in :meth:`BridgingDomain._setup_fixed`.

    The system is solved for the nodes' *correction* from the gap ``g = v_a − N v_n``:

        atoms:  (M + Nᵀ m N) Δv_n = Nᵀ m g,   Δv_a = N Δv_n − g
        nodes:  Nᵀ (m⁻¹ + N M⁻¹ Nᵀ) N μ = −Nᵀ g,   Δv_a = m⁻¹ N μ,   Δv_n = −M⁻¹ Nᵀ N μ

    (the one-rank path's right-hand side ``M v_n + Nᵀ m v_a`` minus ``A v_n``: the same
    solution). Solver: a parallel sparse Cholesky (MUMPS through PETSc) factorised once at
    set-up and reused by every projection — a direct solve, so the answer does not depend on
    the rank count beyond round-off and there is no tolerance to argue. The PETSc options
    prefix ``band_`` overrides it (e.g. ``-band_pc_factor_mat_solver_type superlu_dist``).

    Parameters
    ----------
    comm : the continuum communicator (mpi4py); every method is collective over it.
    transfer : CSR [m_r, n_local] rows of ``N`` of this rank's band atoms over its local nodes.
    local_to_global : [n_local] global number of each local node (``transfer``'s columns).
    owned_global : [n_owned] global number of each owned node (rows of ``node_mass``).
    atom_mass : [m_r] dynamical masses of this rank's band atoms (already (1 − w) m).
    node_mass : [n_owned] dynamical nodal masses of the owned nodes.
    components : k, the coupled velocity components.
    node_fixed : [n_owned, k] bool Dirichlet components, or None.

    Attributes: ``own_rows`` (owned-node rows that are band nodes, in band order),
    ``n_band`` (band nodes over all ranks), ``system_size`` (its order, ``k n_band`` for atom
    multipliers).
    """

    def __init__(self, comm, transfer: sp.spmatrix, local_to_global: np.ndarray,
                 owned_global: np.ndarray, atom_mass: np.ndarray, node_mass: np.ndarray, *,
                 components: int = 1, multipliers: str = "atoms", mvv2e: float = 1.0,
                 node_fixed=None) -> None:
        from mpi4py import MPI
        from petsc4py import PETSc

        global _SUM_MAX
        if _SUM_MAX is None:
            _SUM_MAX = MPI.Op.Create(_sum_max, commute=True)
        if multipliers not in ("atoms", "nodes"):
            raise ConfigError(f"multipliers = {multipliers!r}: expected 'atoms' or 'nodes'")
        self.comm, self.multipliers, self.mvv2e = comm, multipliers, float(mvv2e)
        k = self.k = int(components)
        pcomm = PETSc.Comm(comm)
        IT = PETSc.IntType
        N = sp.csr_matrix(transfer, dtype=float)
        N.eliminate_zeros()
        N.sort_indices()
        m_r = N.shape[0]
        self.m = np.asarray(atom_mass, dtype=float).copy()
        if self.m.shape != (m_r,):
            raise ConfigError(f"atom_mass has shape {self.m.shape}; this rank's band has {m_r} atoms")
        own_g = np.asarray(owned_global, dtype=np.int64)
        l2g = np.asarray(local_to_global, dtype=np.int64)
        node_mass = np.asarray(node_mass, dtype=float)
        if node_mass.shape[0] != own_g.size:
            raise ConfigError(f"node_mass has {node_mass.shape[0]} rows; {own_g.size} owned nodes")
        # PETSc order of the mesh nodes: each rank's owned nodes, contiguous (AO maps the
        # mesh's global numbers to it; scalable: no rank holds the whole map)
        n_own = own_g.size
        start = comm.exscan(n_own) or 0
        ao = PETSc.AO().createMemoryScalable(own_g.astype(IT), np.arange(start, start + n_own, dtype=IT),
                                             comm=pcomm)
        used = np.unique(N.indices)                       # local nodes my atoms touch
        used_p = np.asarray(ao.app2petsc(l2g[used].astype(IT)), dtype=IT)  # collective
        # 1. owners learn which of their nodes are band nodes (some rank's atom touches them)
        flag = PETSc.Vec().createMPI((n_own, None), comm=pcomm)
        flag.set(0.0)
        if used_p.size:
            flag.setValues(used_p, np.ones(used_p.size), addv=PETSc.InsertMode.ADD_VALUES)
        flag.assemble()
        is_band = flag.getArray(readonly=True) > 0
        self.own_rows = np.flatnonzero(is_band).astype(np.int64)
        nb = self.own_rows.size
        bstart = comm.exscan(nb) or 0
        self.n_band = int(comm.allreduce(nb))
        # 2. band numbers of the nodes my atoms touch (owners' numbers, scattered to me)
        bidx = flag.duplicate()
        arr = np.full(n_own, -1.0)
        arr[self.own_rows] = bstart + np.arange(nb)
        bidx.setArray(arr)
        loc = PETSc.Vec().createSeq(used.size, comm=PETSc.COMM_SELF)
        isf = PETSc.IS().createGeneral(used_p, comm=PETSc.COMM_SELF)
        sc = PETSc.Scatter().create(bidx, isf, loc, None)
        sc.scatter(bidx, loc, PETSc.InsertMode.INSERT_VALUES, PETSc.ScatterMode.FORWARD)
        col_band = np.rint(loc.getArray(readonly=True)).astype(np.int64)
        for o in (sc, isf, loc, bidx, flag, ao):
            o.destroy()
        if np.any(col_band < 0):
            raise ConfigError("distributed band: a node touched by a band atom has no band number")
        cmap = np.full(N.shape[1], -1, dtype=np.int64)
        cmap[used] = col_band
        self.M = node_mass[self.own_rows].copy()
        if np.any(self.m <= 0) or np.any(self.M <= 0):
            raise ConfigError(
                "a band atom or node has zero dynamical mass (its weight is 0 or 1 at the band edge): "
                "put the band edges between atoms/nodes, or drop atoms outside the band")
        # N ⊗ I_k: row a k + c, column J k + c (global band numbering)
        nnz_row = np.diff(N.indptr)
        ip = np.zeros(m_r * k + 1, dtype=IT)
        ip[1:] = np.cumsum(np.repeat(nnz_row, k))
        cols = cmap[N.indices]
        rows_of = np.repeat(np.arange(m_r), nnz_row)
        ix = np.empty(cols.size * k, dtype=IT)
        vx = np.empty(cols.size * k)
        # row (a, c) starts at k·indptr[a] + c·nnz[a] and holds row a's entries, columns J k + c
        seg = np.repeat(N.indptr[:-1], nnz_row)           # start of each entry's row in N
        dest = k * seg + (np.arange(cols.size) - seg)
        for c in range(k):
            at = dest + c * nnz_row[rows_of]
            ix[at] = cols * k + c
            vx[at] = N.data
        sizes_a, sizes_n = (m_r * k, None), (nb * k, None)
        self.Nk = PETSc.Mat().createAIJ(size=(sizes_a, sizes_n), csr=(ip, ix, vx), comm=pcomm)
        self.Nk.assemble()
        self.mk = np.repeat(self.m, k)
        self.Mk = np.repeat(self.M, k)
        fixed = None
        if node_fixed is not None:
            fx = np.asarray(node_fixed, dtype=bool).reshape(n_own, -1)[self.own_rows, :k]
            if bool(comm.allreduce(int(fx.any()))):
                fixed = fx.ravel()
        self.fixed = fixed
        self.node_inv_mass = 1.0 / self.Mk if fixed is None else np.where(fixed, 0.0, 1.0 / self.Mk)
        # the system
        if multipliers == "atoms":
            Nm = self.Nk.copy()
            d = self.Nk.createVecLeft()
            d.setArray(self.mk)
            Nm.diagonalScale(L=d)
            A = self.Nk.transposeMatMult(Nm)              # Nᵀ m N
            dm = A.createVecLeft()
            dm.setArray(self.Mk)
            A.setDiagonal(dm, addv=PETSc.InsertMode.ADD_VALUES)
            if fixed is not None:                          # Δv = 0 on Dirichlet components
                rows = (bstart * k + np.flatnonzero(fixed)).astype(IT)
                A.zeroRowsColumns(rows, diag=1.0)
            Nm.destroy(), d.destroy(), dm.destroy()
        else:
            Nd = self.Nk.copy()
            d = self.Nk.createVecLeft()
            d.setArray(1.0 / self.mk)
            Nd.diagonalScale(L=d)
            A = self.Nk.transposeMatMult(Nd)               # Nᵀ m⁻¹ N
            B = self.Nk.transposeMatMult(self.Nk)          # Nᵀ N
            Bs = B.copy()
            dn = B.createVecLeft()
            dn.setArray(self.node_inv_mass)
            Bs.diagonalScale(L=dn)
            A.axpy(1.0, B.matMult(Bs), structure=PETSc.Mat.Structure.DIFFERENT_NONZERO_PATTERN)
            for o in (Nd, d, B, Bs, dn):
                o.destroy()
        self.A = A
        self.system_size = A.getSize()[0]
        ksp = PETSc.KSP().create(comm=pcomm)
        ksp.setOperators(A)
        ksp.setType("preonly")
        pc = ksp.getPC()
        pc.setType("cholesky")
        pc.setFactorSolverType("mumps")
        ksp.setOptionsPrefix("band_")
        ksp.setFromOptions()
        try:
            ksp.setUp()
        except PETSc.Error:
            raise ConfigError("the bridging-domain constraint matrix is singular: every band node "
                              "needs atoms in its support (refine the atoms or coarsen the mesh)") from None
        self.ksp = ksp
        self._xa, self._ta = self.Nk.createVecLeft(), self.Nk.createVecLeft()  # atom rows
        self._xn = self.Nk.createVecRight()                                      # band-node rows
        self._b, self._y = self._xn.duplicate(), self._xn.duplicate()
        self._PETSc = PETSc

    @property
    def n_atoms(self) -> int:
        """This rank's band atoms."""
        return self.m.size

    def solve(self, v_atoms: np.ndarray, v_nodes_band: np.ndarray) -> ProjectionResult:
        """Corrections of this rank's band atoms ``v_atoms`` [m_r, k] and owned band nodes
        ``v_nodes_band`` [n_own_band, k] (rows :attr:`own_rows`); ``work`` and ``gap_before``
        are the totals over all ranks (one reduction). Collective."""
        k = self.k
        va = np.asarray(v_atoms, dtype=float).reshape(-1, k)
        vn = np.asarray(v_nodes_band, dtype=float).reshape(-1, k)
        Nk, xa, ta, xn, b, y = self.Nk, self._xa, self._ta, self._xn, self._b, self._y
        xn.setArray(vn.ravel())
        Nk.mult(xn, ta)                                    # N v_n
        g = va.ravel() - ta.getArray(readonly=True)        # gap
        gmax = float(np.max(np.abs(g), initial=0.0))
        if self.multipliers == "atoms":
            xa.setArray(self.mk * g)
            Nk.multTranspose(xa, b)                        # Nᵀ m g
            if self.fixed is not None:
                b.getArray()[self.fixed] = 0.0
            self.ksp.solve(b, y)                           # Δv_n
            Nk.mult(y, ta)
            dvn = y.getArray(readonly=True).copy()
            dva = ta.getArray(readonly=True) - g
        else:
            xa.setArray(g)
            Nk.multTranspose(xa, b)
            b.scale(-1.0)
            self.ksp.solve(b, y)                           # μ (per band node)
            Nk.mult(y, ta)
            cmu = ta.getArray(readonly=True).copy()
            dva = cmu / self.mk
            xa.setArray(cmu)
            Nk.multTranspose(xa, b)
            dvn = -b.getArray(readonly=True) * self.node_inv_mass
        vaf, vnf = va.ravel(), vn.ravel()
        work = float(np.dot(self.mk * (2.0 * vaf + dva), dva) + np.dot(self.Mk * (2.0 * vnf + dvn), dvn))
        tot = np.array([work, gmax])
        self.comm.Allreduce(np.array([work, gmax]), tot, op=_SUM_MAX)
        dva, dvn = dva.reshape(-1, k), dvn.reshape(-1, k)
        if self.multipliers == "atoms":
            m_ = self.m
            mu = lambda d=dva: m_[:, None] * d  # noqa: E731
        else:
            mu = y.getArray(readonly=True).reshape(-1, k).copy()
        return ProjectionResult(mu, dva, dvn, 0.5 * self.mvv2e * float(tot[0]), float(tot[1]))

    def destroy(self) -> None:
        """Free the PETSc objects (collective)."""
        for o in (self.ksp, self.A, self.Nk, self._xa, self._ta, self._xn, self._b, self._y):
            o.destroy()
