"""Dislocation-density plasticity as the continuum around an atomistic patch (Schwarz statics).

:class:`PlasticSchwarzContinuum` gives :class:`~mscouple.coupling.schwarz.SchwarzStatics`
the continuum it expects (``space``, ``comm``, ``bcs``, ``add_dirichlet``, ``setup``,
``reaction``) with the nonlinear hook ``solve_prescribed(u)``: each Schwarz iteration solves
the *current load increment* of a :class:`~.solver.PlasticityProblem` — from the committed
plastic state to the load factor ``t_target``, warm-started from the previous iterate — with
the core nodes prescribed at the values the driver fitted to the atoms (absolute, not scaled
by the load factor). Nothing is committed during the iteration, so every Schwarz iterate of
an increment starts from the same history; :meth:`PlasticSchwarzContinuum.commit` makes the
converged increment the new state. :func:`schwarz_load_steps` runs a proportional loading
as a sequence of such increments, each a converged Schwarz solve (the atoms relax from their
previous positions: an elastic crystal carries no history).

The material points of the cells entirely inside the core (all nodes prescribed from the
atoms) are made elastic (``PointState.elastic``): there the atoms are the material, a
perfect lattice stores no dislocations, and those cells take part in equilibrium of no free
node — only in the nodal recovery of ε̄ᵖ, where they stand for the atoms' zero plastic strain.

Below yield every increment is linear elastic, and the coupled answer equals the one with
:class:`~mscouple.continuum.ElasticStatics` of the same moduli (tests/plasticity/test_coupled.py).

From a case file (``continuum.material.model = "dislocation_density"`` with a patch and a
``[handshake]`` in ``run.mode = "statics"``): :mod:`mscouple.run.plastic` builds this
continuum and runs :func:`schwarz_load_steps` (examples/plastic_patch,
tests/run/test_plastic_patch.py). This module imports the solver (petsc4py) lazily:
:func:`schwarz_load_steps` also runs on patch ranks.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from mscouple.errors import ConvergenceError

# the solver (petsc4py) only where a continuum is built: schwarz_load_steps also runs on
# patch ranks, which never import PETSc (tests/test_imports.py)


class PlasticSchwarzContinuum:
    """The continuum half of Schwarz statics with J2 + dislocation-density plasticity.

    ``problem``: a :class:`PlasticityProblem` with its outer loads and (proportional)
    Dirichlet conditions, on P1 simplices, not yet solved. ``core_elastic``: make the points
    of cells entirely inside the core elastic (module docstring).
    """

    def __init__(self, problem, core_elastic: bool = True):
        self.problem = problem
        self.space, self.comm = problem.space, problem.comm
        self.solver = None  # the Schwarz driver checks that nothing is set up yet
        self.rtol = problem.rtol
        self.t_target = problem.t
        self.core_elastic = bool(core_elastic)
        self._pending: Optional[tuple] = None
        self.failure: Optional[str] = None  # the message of the last failed solve (the driver hides it)
        self.records: list = []  # StepRecord per solve

    @property
    def bcs(self):
        return self.problem.bcs

    def add_dirichlet(self, where, value=0.0, components=None):
        """The driver's core condition: absolute values (set by the driver per iteration)."""
        bc = self.problem.add_dirichlet(where, value, components, proportional=False)
        if self.core_elastic:
            mesh = self.problem.mesh
            v = self.problem.scalar.create_vec()
            self.problem.scalar.owned(v)[bc.nodes, 0] = 1.0
            inside = self.problem.scalar.to_local(v)[:, 0] > 0.5  # ghosts included
            v.destroy()
            cells = inside[mesh.cells].all(axis=1)
            self.problem.state.elastic = np.repeat(cells, self.problem.nq)
        return bc

    def setup(self) -> None:
        pass

    def solve_prescribed(self, u) -> None:
        """The hook of :class:`SchwarzStatics`: solve the increment to ``t_target`` with the
        current Dirichlet values; the displacement goes into ``u`` (collective)."""
        from .solver import StepRecord

        pb = self.problem
        rec = StepRecord(self.t_target)
        res = pb.newton_step(self.t_target, rec)
        if res is None:
            self.failure = (f"plastic continuum: Newton did not converge at load factor {self.t_target:g} in a "
                            "Schwarz iteration; use more load steps")
            raise ConvergenceError(self.failure)
        self._pending = (res, rec)
        self.records.append(rec)
        pb.u.copy(u)

    def reaction(self, u):
        """Residual f_int(σ) − t F of the last solve (zero on free dofs at convergence)."""
        pb = self.problem
        stress = self._pending[0][0] if self._pending is not None else pb.stress
        r = pb._internal_force(stress)
        r.axpy(-self.t_target, pb.f_ref)
        return r

    def commit(self) -> None:
        """Make the converged increment the plastic state (collective)."""
        if self._pending is None:
            raise ConvergenceError("commit() before a converged solve_prescribed()")
        res, rec = self._pending
        self.problem.commit(res, rec)
        self._pending = None


def schwarz_load_steps(schwarz, continuum: Optional[PlasticSchwarzContinuum], n_steps: int,
                       callback=None) -> list:
    """Proportional loading to t = 1 in ``n_steps`` increments, one converged Schwarz solve
    each (collective over both groups: continuum ranks pass their
    :class:`PlasticSchwarzContinuum`, patch ranks None). Returns the Schwarz results;
    ``callback(k)`` after increment k."""
    t0 = continuum.problem.t if continuum is not None else 0.0
    out = []
    for k in range(1, int(n_steps) + 1):
        if continuum is not None:
            continuum.t_target = t0 + (1.0 - t0) * k / n_steps
        out.append(schwarz.solve())
        if continuum is not None:
            continuum.commit()
        if callback is not None:
            callback(k)
    return out
