"""Heterogeneous multiscale mode: the macro solver asks a micro model for what it needs.

- :mod:`.oracle`: ``LocalOracle(model, tol)``, ``FarmClient(inter, state_size, answer_size, tol)``
  and ``FarmServer(inter, model).serve()`` -- batched requests, a tolerance cache, a task farm
  over an intercommunicator. All expose ``evaluate(states [m, k]) -> answers [m, p]``.
- :mod:`.micro`: micro models ``MDCellModel`` (runs the MD engine on a periodic cell: stress at
  a normal strain, 0 K or thermostatted), ``CauchyBornModel`` (0 K lattice sums, any strain),
  ``ConductionCellModel`` (flux at a gradient from a periodic conduction cell problem).
- :mod:`.flux`: ``MDFluxCellModel`` (heat flux ``-kappa(T) grad T`` at a state ``[T, grad T]``,
  kappa from NEMD on a periodic LJ fcc cell, cached per temperature bin) and
  ``steady_conduction_1d`` (a 1D steady macro heat problem solved with a flux oracle).
- :mod:`.cauchy_born`: lattice sums (stress, Born elastic constants, zero-stress spacing).
- :mod:`.bar`: the 1D bar solved with oracle stresses (``solve_bar``) and fully atomistically
  (``atomistic_bar``).
- :mod:`.fastslow`: oscillating-coefficient diffusion (fine-scale and HMM solvers) and fast
  reaction / slow diffusion with projective integration, each with its homogenized answer.
"""
from __future__ import annotations

from .flux import MDFluxCellModel, steady_conduction_1d  # noqa: F401
from .oracle import FarmClient, FarmServer, LocalOracle  # noqa: F401
