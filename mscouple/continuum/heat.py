"""Transient heat conduction ρc ∂T/∂t = ∇·(k ∇T) + s with the θ-method.

Discretised with P1/Q1 elements, consistent (or lumped) capacity matrix M (∫ρc N_a N_b)
and conductivity matrix K (∫k ∇N_a·∇N_b):

    (M + θ Δt K) Tⁿ⁺¹ = (M − (1−θ) Δt K) Tⁿ + Δt (Q + F)

θ = 1: implicit (backward) Euler, first order, L-stable; θ = ½: Crank–Nicolson, second
order. ``Q`` is the nodal heat power [n_owned] (W per node; ``heat_source``, writable, e.g.
the coupling's interface power), held constant over a step; ``F`` holds constant volume
sources and boundary fluxes. Dirichlet values may change every step
(``bc.set(value)``); they are imposed by symmetric elimination with lifting.

Thermal energy E = ∫ρc T = Σ_I m_I T_I with m = M·1. Without Dirichlet conditions
E changes by exactly Δt Σ(Q + F) per step (K has zero row sums).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from petsc4py import PETSc

from mscouple.errors import ConfigError

from .assembly import MatrixAssembler
from .loads import DirichletBC, Value, _values_at, body_load, boundary_load, merge_bcs
from .materials import ThermalMaterial
from .reference import quadrature
from .solver import LinearSolver, zero_rows_columns
from .space import FunctionSpace

METHODS = {"backward_euler": 1.0, "implicit_euler": 1.0, "crank_nicolson": 0.5}


def heat_blocks(space: FunctionSpace, materials: Sequence[ThermalMaterial], cell_material: np.ndarray,
                cell_weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Conductivity and consistent capacity element matrices, each [n_cells, npc, npc, 1, 1]."""
    mesh = space.mesh
    G, wdet = mesh.geometry(2)
    pts, _ = quadrature(mesh.cell_type, 2)
    N = mesh.reference.shape(pts)  # [nq, npc]
    k = np.array([m.conductivity for m in materials])[cell_material] * cell_weight
    rc = np.array([m.rho_c for m in materials])[cell_material] * cell_weight
    Ke = np.einsum("cq,cqad,cqbd->cab", wdet, G, G) * k[:, None, None]
    Me = np.einsum("cq,qa,qb->cab", wdet, N, N) * rc[:, None, None]
    return Ke[..., None, None], Me[..., None, None]


class HeatConduction:
    """θ-method heat conduction on a scalar space (collective).

    Parameters
    ----------
    space : scalar :class:`FunctionSpace`.
    material : :class:`ThermalMaterial` or a list with ``cell_material`` [n_cells] indices.
    dt : time step.
    method : ``backward_euler`` (θ=1), ``crank_nicolson`` (θ=½), or a float θ.
    lumped : lump the capacity matrix (row sums).
    cell_weight : optional [n_cells] multiplier of k and ρc.
    prefix : KSP options prefix (default ``fe_heat_``; CG + GAMG by default).

    State: ``T`` (global vector), ``temperature`` (writable view [n_owned]),
    ``heat_source`` (writable view [n_owned], nodal power), ``time``.
    """

    def __init__(self, space: FunctionSpace, material, dt: float, method: str | float = "crank_nicolson",
                 cell_material=None, cell_weight=None, lumped: bool = False, prefix: str = "fe_heat_",
                 rtol: float = 1e-10):
        if space.ncomp != 1:
            raise ConfigError("heat conduction needs a scalar FunctionSpace (ncomp=1)")
        if not dt > 0:
            raise ConfigError(f"time step must be positive, got dt={dt}")
        self.theta = float(METHODS[method]) if isinstance(method, str) and method in METHODS else method
        if not isinstance(self.theta, float) or not 0.0 <= self.theta <= 1.0:
            raise ConfigError(f"method must be one of {sorted(METHODS)} or θ in [0, 1], got {method!r}")
        self.space = space
        self.comm = space.comm
        self.dt = float(dt)
        self.prefix = prefix
        self.rtol = rtol
        mats = list(material) if isinstance(material, (list, tuple)) else [material]
        n = space.mesh.n_cells
        idx = np.zeros(n, np.int64) if cell_material is None else np.asarray(cell_material, np.int64)
        if idx.shape != (n,) or (n and (idx.min() < 0 or idx.max() >= len(mats))):
            raise ConfigError(f"cell_material must be [{n}] ints in [0, {len(mats)})")
        w = np.ones(n) if cell_weight is None else np.asarray(cell_weight, float)
        Ke, Me = heat_blocks(space, mats, idx, w)
        if lumped:
            Me = np.zeros_like(Me)
            Me[:, np.arange(Me.shape[1]), np.arange(Me.shape[1]), 0, 0] = \
                heat_blocks(space, mats, idx, w)[1][..., 0, 0].sum(axis=2)
        asm = MatrixAssembler(space)
        self.K = asm.assemble(Ke, layout="cell")
        self.M = asm.assemble(Me, layout="cell")
        ones = space.create_vec()
        ones.set(1.0)
        self._mvec = space.create_vec()
        self.M.mult(ones, self._mvec)
        ones.destroy()
        self.capacity = space.owned(self._mvec)[:, 0]  # m_I = Σ_J M_IJ  [n_owned]
        th, dt = self.theta, self.dt
        self.A0 = self.M.duplicate(copy=True)
        self.A0.axpy(th * dt, self.K)
        self.B = self.M.duplicate(copy=True)
        self.B.axpy(-(1.0 - th) * dt, self.K)
        self.T = space.create_vec()
        self.temperature = space.owned(self.T)[:, 0]
        self._Q = space.create_vec()
        self.heat_source = space.owned(self._Q)[:, 0]
        self.F = space.create_vec()
        self._rhs = space.create_vec()
        self._xg = space.create_vec()
        self._tmp = space.create_vec()
        self.bcs: list[DirichletBC] = []
        self._bc_key = None
        self.A = None
        self.solver: LinearSolver | None = None
        self.time = 0.0
        self.iterations = 0

    # ------------------------------------------------------------------ set-up
    def add_dirichlet(self, where, value: Value = 0.0) -> DirichletBC:
        """Prescribe T on a boundary/region; change it per step with ``bc.set(value)``."""
        bc = DirichletBC(self.space, where, value)
        self.bcs.append(bc)
        self._bc_key = None
        return bc

    def take_dirichlet(self) -> list[DirichletBC]:
        """Remove and return every Dirichlet condition (a coupler that prescribes those
        nodes itself, e.g. as heat reservoirs, takes them over)."""
        bcs, self.bcs = list(self.bcs), []
        self._bc_key = None
        return bcs

    def add_flux(self, boundary, q: Value) -> None:
        """Constant heat flux q (power per area, into the body) on a named boundary."""
        boundary_load(self.space, boundary, q, vec=self.F)

    def add_volume_source(self, s: Value) -> None:
        """Constant volumetric heat source s (power per volume), ∫ N s dx into F."""
        body_load(self.space, s, vec=self.F)

    def set_temperature(self, value: Value) -> None:
        """Set T on owned nodes from a constant or ``f(X [n, dim]) -> [n]``."""
        X = self.space.mesh.coordinates[self.space.mesh.owned_nodes]
        self.temperature[:] = _values_at(value, X, 1)[:, 0]
        self.T.stateIncrease()

    def _ensure_operator(self) -> None:
        pos, _ = merge_bcs(self.bcs)
        key = (len(self.bcs), pos.tobytes())
        if self._bc_key == key:
            return
        self._bc_key = key
        self._n_bc_global = self.comm.allreduce(len(pos))
        if self.solver is not None:
            self.solver.destroy()
            self.A.destroy()
        self.A = self.A0.duplicate(copy=True)
        zero_rows_columns(self.A, pos + self.space.dof_range[0])
        self.solver = LinearSolver(self.A, prefix=self.prefix, rtol=self.rtol)
        self.solver.setup()

    # ------------------------------------------------------------------ stepping
    def step(self) -> None:
        """Advance T by one step of size ``dt`` (collective)."""
        self._ensure_operator()
        pos, val = merge_bcs(self.bcs)
        rhs = self._rhs
        self.B.mult(self.T, rhs)
        self._Q.stateIncrease()
        rhs.axpy(self.dt, self._Q)
        rhs.axpy(self.dt, self.F)
        if self._n_bc_global:
            xg = self._xg
            xg.set(0.0)
            xg.getArray()[pos] = val
            xg.stateIncrease()
            self.A0.mult(xg, self._tmp)
            rhs.axpy(-1.0, self._tmp)
            rhs.getArray()[pos] = val
            rhs.stateIncrease()
        self.iterations = self.solver.solve(rhs, self.T)
        self.time += self.dt

    def step_boundary_heat(self) -> float:
        """One :meth:`step`, returning the heat that entered through the Dirichlet nodes
        during it (collective).

        The reaction of the discrete balance M (T⁺ − T)/dt + K T_θ = F + Q on the prescribed
        rows, summed: Σ_b r_b dt. The interior rows hold to the solver's tolerance and
        1ᵀK = 0, so Σ_I m_I ΔT_I = dt (ΣF + ΣQ) + that heat: an energy ledger built on it
        checks the solve rather than restating it.
        """
        T_old = self.T.copy()
        self.step()
        th, dt = self.theta, self.dt
        d, r = self.T.copy(), self._tmp
        d.axpy(-1.0, T_old)
        self.M.mult(d, r)
        r.scale(1.0 / dt)
        T_old.copy(d)
        d.scale(1.0 - th)
        d.axpy(th, self.T)  # T_θ = (1 − θ) T + θ T⁺
        tk = self._xg
        self.K.mult(d, tk)
        r.axpy(1.0, tk)
        r.axpy(-1.0, self.F)
        r.axpy(-1.0, self._Q)
        pos, _ = merge_bcs(self.bcs)
        q = float(np.sum(r.getArray()[pos])) * dt
        for v in (T_old, d):
            v.destroy()
        return float(self.comm.allreduce(q))

    def solve_steady(self) -> PETSc.Vec:
        """Solve the steady problem K T = Q + F with the Dirichlet conditions; T is overwritten."""
        sp = self.space
        pos, val = merge_bcs(self.bcs)
        A = self.K.duplicate(copy=True)
        b = self.F.copy()
        self._Q.stateIncrease()
        b.axpy(1.0, self._Q)
        xg = sp.create_vec()
        xg.getArray()[pos] = val
        xg.stateIncrease()
        zero_rows_columns(A, pos + sp.dof_range[0], x=xg, b=b)
        solver = LinearSolver(A, prefix=self.prefix + "steady_", rtol=self.rtol)
        self.iterations = solver.solve(b, self.T)
        for obj in (solver, A, b, xg):
            obj.destroy()
        return self.T

    def run(self, nsteps: int) -> None:
        for _ in range(int(nsteps)):
            self.step()

    def thermal_energy(self) -> float:
        """∫ ρc T dx = Σ_I m_I T_I (collective)."""
        return float(self.comm.allreduce(float(np.dot(self.capacity, self.temperature))))

    def destroy(self) -> None:
        for obj in (self.K, self.M, self.A0, self.B, self.T, self._Q, self.F, self._rhs, self._xg, self._tmp,
                    self._mvec, self.A):
            if obj is not None:
                obj.destroy()
        if self.solver is not None:
            self.solver.destroy()
        self.solver = self.A = None
