"""The validation hierarchy behind ``mscouple validate`` (DESIGN.md sec. 7).

``run_level(level, quick, comm) -> LevelResult`` (:mod:`.levels`), ``format_table(results)``
(:mod:`.checks`), ``write_report(results, path, quick)`` (:mod:`.report`). Levels 4-6 take
checks from provider modules (``validation_checks(level, quick, comm)``, see
:data:`.levels.PROVIDERS`).
"""
from __future__ import annotations

from .checks import Check, LevelResult, format_table  # noqa: F401
