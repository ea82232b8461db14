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
    """Mechanical-side view of an ``ExplicitElastodynamics`` problem on one rank."""

    def __init__(self, dyn) -> None:
        mesh = dyn.space.mesh
        if mesh.comm.Get_size() != 1 or not np.array_equal(mesh.owned_nodes, np.arange(mesh.n_nodes)):
            raise ConfigError("the bridging-domain coupler drives a one-rank continuum for now; "
                              "give the continuum 1 rank in [layout]")
        self.dyn = dyn
        self.nodes = mesh.coordinates
        self.cells = np.asarray(mesh.cells, dtype=np.int64)

    @property
    def mass(self) -> np.ndarray:
        return self.dyn.mass

    @property
    def v(self) -> np.ndarray:
        return self.dyn.velocity

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

    def kinetic_energy(self) -> float:
        return self.dyn.kinetic_energy()

    def potential_energy(self) -> float:
        return self.dyn.strain_energy()
