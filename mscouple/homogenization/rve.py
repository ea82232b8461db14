"""Effective conductivity and stiffness of a periodic representative volume element by FE.

The RVE is a box ``[0, L_0] x ... x [0, L_{d-1}]`` (d = 1, 2, 3) divided into a structured
grid of ``shape`` cubes; each cube carries one phase and is split into d! P1 simplices
(Kuhn triangulation, conforming). Nodes are periodic (the last plane wraps onto the first).

Conductivity cell problem, for each unit macroscopic gradient e_j::

    find chi_j periodic:  int grad(v) . A (e_j + grad chi_j) = 0   for all periodic v
    A*_ij = <e_i . A (e_j + grad chi_j)>

Elasticity is the same with strains (Mandel notation, see :mod:`.bounds`): for each unit
macroscopic Mandel strain E^n find the periodic fluctuation w^n, then
``C*_mn = <C>_mn + (1/|Y|) b^m . w^n`` with ``b^m = int B^T C E^m`` and ``K w^n = -b^n``.
The constant null space (rigid translations) is removed by pinning node 0.

Parallel: the matrix and vectors live on ``comm`` (PETSc AIJ/MPI, CG with the options
prefix ``rve_``, so ``-rve_ksp_type``/``-rve_pc_type`` pass through). The structured grid is
known on every rank (it is cheap); each rank assembles only the rows it owns, from the
elements that touch them. Results are identical on every rank.

Because elements never straddle a phase boundary and P1 represents the exact (piecewise
linear) cell solution of a laminate aligned with the grid, laminates come out exact to the
solver tolerance (tested: Voigt along, Reuss across layers, to 1e-10).
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ..errors import ConfigError, ConvergenceError
from .bounds import mandel_pairs, mandel_size

_SQ2 = math.sqrt(2.0)


@dataclass
class RVEResult:
    """Effective tensor ``[m, m]`` (Mandel stiffness) or ``[d, d]`` (conductivity),
    the phase volume fractions ``[n_phases]`` and the KSP iteration counts per load case."""

    tensor: np.ndarray
    fractions: np.ndarray
    iterations: list[int]


class PeriodicRVE:
    """A periodic structured P1 mesh of a phase map.

    Parameters
    ----------
    comm : MPI communicator (mpi4py) that the PETSc objects live on.
    phase : int array of shape ``[n_0, ..., n_{d-1}]``, the phase index of each cube (>= 0).
    lengths : box edge lengths ``[d]`` (default 1 each).
    """

    def __init__(self, comm, phase: np.ndarray, lengths=None):
        phase = np.asarray(phase)
        if phase.ndim not in (1, 2, 3) or not np.issubdtype(phase.dtype, np.integer):
            raise ConfigError("phase must be an integer array with 1, 2 or 3 axes (one entry per cube)")
        if phase.min() < 0:
            raise ConfigError("phase indices must be >= 0")
        if min(phase.shape) < 2:
            raise ConfigError(f"phase grid {phase.shape}: need at least 2 cubes per direction")
        self.comm = comm
        self.dim = d = phase.ndim
        self.shape = tuple(int(n) for n in phase.shape)
        self.lengths = np.ones(d) if lengths is None else np.asarray(lengths, dtype=float).reshape(d)
        if np.any(self.lengths <= 0):
            raise ConfigError(f"lengths {self.lengths.tolist()} must be > 0")
        self.h = self.lengths / np.array(self.shape)
        self.n_nodes = int(np.prod(self.shape))
        self.volume = float(np.prod(self.lengths))
        self.n_phases = int(phase.max()) + 1

        cubes = np.indices(self.shape).reshape(d, -1).T  # [n_cubes, d]
        cube_phase = phase.reshape(-1)
        perms = list(itertools.permutations(range(d)))
        conn, grads, eph = [], [], []
        for perm in perms:
            offs = [np.zeros(d, dtype=int)]
            for ax in perm:
                nxt = offs[-1].copy()
                nxt[ax] = 1
                offs.append(nxt)
            offs = np.array(offs)  # [d+1, d]
            X = offs * self.h
            J = (X[1:] - X[0]).T  # columns = edge vectors
            Ginv = np.linalg.inv(J)  # rows: grad of barycentric 1..d
            G = np.vstack([-Ginv.sum(axis=0), Ginv])  # [d+1, d]
            nodes = np.stack([np.ravel_multi_index((cubes + o).T, self.shape, mode="wrap") for o in offs], axis=1)
            conn.append(nodes)
            grads.append(np.broadcast_to(G, (len(cubes), d + 1, d)))
            eph.append(cube_phase)
        self.conn = np.concatenate(conn)  # [n_el, d+1]
        self.grad = np.concatenate(grads)  # [n_el, d+1, d]
        self.el_phase = np.concatenate(eph)  # [n_el]
        self.el_volume = float(np.prod(self.h)) / math.factorial(d)
        self.fractions = np.bincount(cube_phase, minlength=self.n_phases) / cube_phase.size

    # ------------------------------------------------------------------ public solves
    def conductivity(self, k_phases) -> RVEResult:
        """Effective conductivity ``[d, d]`` for per-phase conductivities: scalars
        ``[n_phases]`` (isotropic) or tensors ``[n_phases, d, d]``."""
        K = self._phase_tensors(k_phases, self.dim)
        B = self.grad  # [n_el, d+1, d]: grad of the nodal basis
        return self._solve(K, B, ncomp=1)

    def stiffness(self, C_phases) -> RVEResult:
        """Effective Mandel stiffness ``[m, m]`` for per-phase Mandel stiffnesses
        ``[n_phases, m, m]`` (see :func:`.bounds.isotropic_stiffness`)."""
        d = self.dim
        m = mandel_size(d)
        C = self._phase_tensors(C_phases, m)
        ne = len(self.conn)
        Bm = np.zeros((ne, d + 1, d, m))  # strain component k from dof (a, i)
        for k, (p, q) in enumerate(mandel_pairs(d)):
            if p == q:
                Bm[:, :, p, k] = self.grad[:, :, p]
            else:
                Bm[:, :, p, k] += self.grad[:, :, q] / _SQ2
                Bm[:, :, q, k] += self.grad[:, :, p] / _SQ2
        return self._solve(C, Bm.reshape(ne, (d + 1) * d, m), ncomp=d)

    # ------------------------------------------------------------------ internals
    def _phase_tensors(self, vals, m: int) -> np.ndarray:
        v = np.asarray(vals, dtype=float)
        if v.ndim == 1:
            v = v[:, None, None] * np.eye(m)
        if v.shape[1:] != (m, m) or v.shape[0] < self.n_phases:
            raise ConfigError(f"phase properties of shape {v.shape}: expected [{self.n_phases}] or [{self.n_phases}, {m}, {m}]")
        if not np.allclose(v, np.swapaxes(v, 1, 2)) or np.any(np.linalg.eigvalsh(v) <= 0):
            raise ConfigError("every phase tensor must be symmetric positive definite")
        return v

    def _solve(self, D: np.ndarray, B: np.ndarray, ncomp: int) -> RVEResult:
        from petsc4py import PETSc

        comm = self.comm
        size, rank = comm.Get_size(), comm.Get_rank()
        De = D[self.el_phase]  # [n_el, m, m]
        vol = self.el_volume
        DB = np.einsum("eij,eaj->eai", De, B)  # [n_el, nde, m] = B^T D (per dof row)
        # global dofs of each element, node-major: dof = node * ncomp + c
        dofs = (self.conn[:, :, None] * ncomp + np.arange(ncomp)).reshape(len(self.conn), -1)
        N = self.n_nodes * ncomp
        # ownership: contiguous blocks of whole nodes
        nn = self.n_nodes
        node_lo = rank * (nn // size) + min(rank, nn % size)
        node_hi = node_lo + nn // size + (1 if rank < nn % size else 0)
        r0, r1 = node_lo * ncomp, node_hi * ncomp
        nloc = r1 - r0
        touch = np.any((dofs >= r0) & (dofs < r1), axis=1)
        dl, Bl, DBl = dofs[touch], B[touch], DB[touch]
        Ke = vol * np.einsum("eai,ebi->eab", DBl, Bl)  # [n, nde, nde]
        rows = np.broadcast_to(dl[:, :, None], Ke.shape).ravel()
        cols = np.broadcast_to(dl[:, None, :], Ke.shape).ravel()
        keep = (rows >= r0) & (rows < r1)
        A = sp.coo_matrix((Ke.ravel()[keep], (rows[keep] - r0, cols[keep])), shape=(nloc, N)).tocsr()
        A.sum_duplicates()
        pinned = np.arange(ncomp)  # node 0's dofs
        colmask = np.isin(A.indices, pinned)
        A.data[colmask] = 0.0
        loc_pin = pinned[(pinned >= r0) & (pinned < r1)] - r0
        for r in loc_pin:
            A.data[A.indptr[r]:A.indptr[r + 1]] = 0.0
        A = (A + sp.csr_matrix((np.ones(len(loc_pin)), (loc_pin, loc_pin + r0)), shape=(nloc, N))).tocsr()
        A.sort_indices()
        # right-hand sides b^n = int B^T D E^n (one column per load case)
        be = vol * DBl  # [n, nde, m]
        nload = be.shape[2]
        rhs = np.zeros((nloc, nload))
        keep_r = (dl >= r0) & (dl < r1)
        for n in range(nload):
            rhs[:, n] = np.bincount(dl[keep_r] - r0, weights=be[:, :, n][keep_r], minlength=nloc)
        rhs[loc_pin, :] = 0.0

        pint = PETSc.IntType
        mat = PETSc.Mat().createAIJ(size=((nloc, N), (nloc, N)),
                                    csr=(A.indptr.astype(pint), A.indices.astype(pint), A.data), comm=comm)
        mat.assemble()
        mat.setOption(PETSc.Mat.Option.SYMMETRIC, True)
        ksp = PETSc.KSP().create(comm=comm)
        ksp.setOptionsPrefix("rve_")
        ksp.setOperators(mat)
        ksp.setType("cg")
        ksp.setTolerances(rtol=1e-13, atol=1e-300, max_it=20000)
        ksp.setFromOptions()
        b = mat.createVecRight()
        w = mat.createVecRight()
        bvecs, sols, its = [], [], []
        try:
            for n in range(nload):
                b.setArray(-rhs[:, n])
                w.set(0.0)
                ksp.solve(b, w)
                reason = ksp.getConvergedReason()
                if reason <= 0:
                    raise ConvergenceError(f"RVE cell problem {n} did not converge (KSP reason {reason}); "
                                           "try -rve_pc_type gamg or a finer/less contrasted microstructure")
                its.append(ksp.getIterationNumber())
                sols.append(w.getArray().copy())
            # C*_mn = <D>_mn + (1/|Y|) b^m . w^n  (b^m = -(the rhs we solved with))
            local = np.einsum("im,in->mn", rhs, np.array(sols).T) if nloc else np.zeros((nload, nload))
            corr = comm.allreduce(local)
        finally:
            for obj in (ksp, mat, b, w):
                obj.destroy()
        Dbar = np.einsum("e,eij->ij", np.full(len(self.el_phase), vol), De) / self.volume
        eff = Dbar + corr / self.volume
        return RVEResult(0.5 * (eff + eff.T), self.fractions.copy(), its)


# ------------------------------------------------------------------ microstructures
def laminate_phases(shape, n_layers_phase1: int, period_cubes: int | None = None) -> np.ndarray:
    """Phase map ``shape`` of layers normal to axis 0: in every period of ``period_cubes``
    cubes (default: the whole RVE) the first ``n_layers_phase1`` cube layers are phase 1."""
    shape = tuple(shape)
    p = period_cubes or shape[0]
    if shape[0] % p or not 0 < n_layers_phase1 < p:
        raise ConfigError("need 0 < n_layers_phase1 < period_cubes and period_cubes dividing shape[0]")
    i = np.arange(shape[0]) % p
    col = (i < n_layers_phase1).astype(int)
    return np.broadcast_to(col.reshape((-1,) + (1,) * (len(shape) - 1)), shape).copy()


def random_phases(shape, fraction: float, seed: int = 0, square_symmetric: bool = False) -> np.ndarray:
    """Random two-phase map with about ``fraction`` of cubes in phase 1.

    ``square_symmetric=True`` (2D, square grid) makes the map invariant under the 8
    symmetries of the square, so the effective conductivity tensor is isotropic and the
    Hashin–Shtrikman bounds apply to it.
    """
    rng = np.random.default_rng(seed)
    shape = tuple(shape)
    r = rng.random(shape)
    if square_symmetric:
        if len(shape) != 2 or shape[0] != shape[1]:
            raise ConfigError("square_symmetric needs a square 2D grid")
        n = shape[0]
        i, j = np.indices(shape)
        a, b = np.minimum(i, n - 1 - i), np.minimum(j, n - 1 - j)
        r = r[np.minimum(a, b), np.maximum(a, b)]
    thr = np.quantile(r, fraction)
    return (r < thr).astype(int) if fraction > 0 else np.zeros(shape, dtype=int)


def inclusion_phases(shape, radius: float) -> np.ndarray:
    """A centred circular (2D) or spherical (3D) inclusion (phase 1) of radius ``radius``
    (in units of the unit box) on the cube grid, by cube centres."""
    shape = tuple(shape)
    c = [(np.arange(n) + 0.5) / n - 0.5 for n in shape]
    g = np.meshgrid(*c, indexing="ij")
    return (sum(x**2 for x in g) < radius**2).astype(int)
