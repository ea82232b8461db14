"""The validation hierarchy behind ``mscouple validate`` (DESIGN.md sec. 7).

``run_level(level, quick, comm) -> LevelResult`` (:mod:`.levels`), ``format_table(results)``
(:mod:`.checks`), ``write_report(results, path, quick)`` (:mod:`.report`). Levels 4-6 take
checks from provider modules (``validation_checks(level, quick, comm)``, see
:data:`.levels.PROVIDERS`; the coupling checks are :mod:`.coupling_checks`).

The scenarios and reference models behind the checks and the coupling tests live here too,
not in :mod:`mscouple.coupling` (which holds coupling methods only):

- :mod:`.models1d` — NumPy 1D chain, P1 bar and heat bar with the couplers' side interfaces;
- :mod:`.wave1d` — the bar | band | chain | band | bar geometry and the wave-packet scenario;
  :mod:`.engines1d` — the same on the compiled MD and PETSc FE engines;
- :mod:`.heat_bar` — the fcc LJ bar between heat bars (steady conductivity, heat pulse);
- :mod:`.crack2d` — Schwarz statics at a crack tip against full atomistics;
- :mod:`.ghost` — ghost-force measurement and dead-load correction;
  :mod:`.patch_test` — consistent cell weights (the nearest-neighbour patch test).
"""
from __future__ import annotations

from .checks import Check, LevelResult, format_table  # noqa: F401
