"""Thin adapters from the engines to the coupling's *mechanical side* interface.

The coupler (:class:`~mscouple.coupling.dynamics.BridgingDomainCoupler`) needs, per side:
``mass [n]`` (dynamical, weight-scaled), ``v [n, ≥k]`` (a writable array, rows in the
numbering the exchange's transfer matrix uses), ``kick(h)``, ``drift(dt)``,
``compute_forces()``, ``kinetic_energy()``, ``potential_energy()``.

* ``mscouple.atomistic.MDSystem`` offers all of this itself (``v`` rows = owned atoms;
  the coupler follows ``reorder_count`` and re-finds band atoms by ``ids``).
* :class:`ElastodynamicsSide` wraps ``mscouple.continuum.elasticity.ExplicitElastodynamics``:
  its arrays are in *owned-node* order; on one rank that is the local-node order the mesh's
  connectivity uses, which is what the coupler needs.
"""
from __future__ import annotations

import numpy as np

from ..errors import ConfigError

__all__ = ["ElastodynamicsSide"]


class ElastodynamicsSide:
    """Mechanical-side view of an ``ExplicitElastodynamics`` problem.

    ``v``/``mass`` rows are the rank's owned nodes; ``local_to_global`` numbers the local
    nodes (the columns of the exchange's N, built from ``nodes``/``cells``) and
    ``owned_global`` the rows. On one rank both are the identity; on several ranks pass the
    continuum comm as the coupler's ``local_comm`` (the band system is then gathered).
    """

    def __init__(self, dyn) -> None:
        mesh = dyn.space.mesh
        self.dyn = dyn
        self.comm = mesh.comm
        self.nodes = mesh.coordinates
        self.cells = np.asarray(mesh.cells, dtype=np.int64)
        self.local_to_global = np.asarray(mesh.node_global, dtype=np.int64)
        self.owned_global = self.local_to_global[mesh.owned_nodes]
        self.one_rank = mesh.comm.Get_size() == 1 and np.array_equal(mesh.owned_nodes, np.arange(mesh.n_nodes))

    @property
    def mass(self) -> np.ndarray:
        return self.dyn.mass

    @property
    def v(self) -> np.ndarray:
        return self.dyn.velocity

    @property
    def fixed_components(self) -> np.ndarray:
        """[n_owned, ncomp] bool: the dofs a Dirichlet condition holds (their velocity stays 0:
        infinite mass for the bridging-domain projection)."""
        v = np.asarray(self.dyn.velocity)
        out = np.zeros(v.shape, dtype=bool)
        out.reshape(-1)[np.asarray(self.dyn._fixed, dtype=np.int64)] = True
        return out

    @property
    def u(self) -> np.ndarray:
        return self.dyn.displacement

    @property
    def external_force(self) -> np.ndarray:
        return self.dyn.external_force

    def kick(self, h: float) -> None:
        self.dyn.kick(h)

    def drift(self, dt: float) -> None:
        self.dyn.drift(dt)

    def compute_forces(self) -> None:
        self.dyn.compute_forces()

    def ensure_forces(self) -> None:
        self.dyn.ensure_forces()

    def kinetic_energy(self) -> float:
        return self.dyn.kinetic_energy()

    def potential_energy(self) -> float:
        return self.dyn.strain_energy()


class HeatConductionSide:
    """Heat side (for :class:`~mscouple.coupling.thermal.ThermalCoupler`) over
    ``mscouple.continuum.HeatConduction`` on one or several ranks.

    Rows of ``T``, ``source`` and :meth:`step`'s ``fixed`` are the rank's *owned* nodes
    (``owned_global`` numbers them); ``local_to_global`` numbers the local nodes (incl.
    ghosts: the columns of an exchange built from ``mesh.coordinates``/``mesh.cells``). On
    several ranks every rank calls :meth:`step` (collective), each with its own owned fixed
    nodes (possibly none); use a parallel direct solver for round-off bookkeeping
    (``-<prefix>pc_factor_mat_solver_type mumps``).

    ``step(dt, fixed, values)`` prescribes ``T[fixed] = values`` through one Dirichlet
    condition (rebuilt only when the node set changes), advances one θ-step and returns the
    reaction powers of the fixed nodes,

        P = −[M (T' − T) + Δt K (θ T' + (1 − θ) T) − Δt (Q + F)]_fixed / Δt,

    so that ``Σ m_I T_I`` changes by exactly ``Δt (Σ (Q + F) − Σ P)`` — to the tolerance
    of the linear solve on the free rows (use a direct solver,
    ``-<prefix>ksp_type preonly -<prefix>pc_type lu``, for round-off bookkeeping).
    Nodes without capacity (cells of weight 0 only) must be among ``fixed``.
    """

    def __init__(self, heat) -> None:
        mesh = heat.space.mesh
        self.comm = mesh.comm
        self.local_to_global = np.asarray(mesh.node_global, dtype=np.int64)
        self.owned_global = self.local_to_global[mesh.owned_nodes]
        self.h = heat
        self._bc = None
        self._key = None
        self._perm = None
        sp_ = heat.space
        self._v1, self._v2, self._v3 = sp_.create_vec(), sp_.create_vec(), sp_.create_vec()

    @property
    def T(self) -> np.ndarray:
        return self.h.temperature

    @property
    def source(self) -> np.ndarray:
        """Writable nodal heat power [n] (energy/time) of the next steps."""
        return self.h.heat_source

    def thermal_energy(self) -> float:
        return self.h.thermal_energy()

    def step(self, dt: float, fixed: np.ndarray, values: np.ndarray) -> np.ndarray:
        h = self.h
        if abs(dt - h.dt) > 1e-12 * h.dt:
            raise ConfigError(f"coupling interval {dt} differs from the heat solver's dt = {h.dt}")
        fixed = np.asarray(fixed, dtype=np.int64)
        key = fixed.tobytes()
        changed = key != self._key
        if self.comm.Get_size() > 1:  # rebuilding the condition is collective
            changed = bool(self.comm.allreduce(int(changed)))
        if changed:
            if self._bc is not None:
                h.bcs.remove(self._bc)
            mask = np.zeros(h.space.mesh.n_owned, dtype=bool)
            mask[fixed] = True
            self._bc = h.add_dirichlet(mask, 0.0)
            h._bc_key = None
            self._perm = np.argsort(fixed)  # bc.nodes are sorted
            self._key = key
        self._bc.values = np.asarray(values, dtype=float)[self._perm]
        T_old, d, r = self._v1, self._v2, self._v3
        h.T.copy(T_old)
        h.step()
        th = h.theta
        # r = M (T' − T) + Δt K (θ T' + (1−θ) T) − Δt (Q + F)
        h.T.copy(d)
        d.axpy(-1.0, T_old)
        h.M.mult(d, r)
        d.set(0.0)
        d.axpy(th, h.T)
        d.axpy(1.0 - th, T_old)
        tmp = T_old.duplicate()
        h.K.mult(d, tmp)
        r.axpy(dt, tmp)
        r.axpy(-dt, h._Q)
        r.axpy(-dt, h.F)
        tmp.destroy()
        return -r.getArray()[fixed] / dt
