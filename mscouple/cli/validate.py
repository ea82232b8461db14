"""``mscouple validate [--quick] [--level N ...] [--report PATH | --no-report]``.

Runs the validation hierarchy (:mod:`mscouple.validation`), prints the table (level,
quantity, computed, expected, tolerance, pass) from rank 0, writes a PNG report, and exits
with 0 when every available check passes, 1 otherwise. Levels whose machinery is missing
are listed as "not available" with the reason (never counted as passed). Under ``mpirun``
levels 1-3 run on rank 0 and level 6 compares N ranks with one.

``--quick`` (CI) takes about 4 s of compute on one core (7 s with start-up); the full run
(larger cells and RVEs, Morse, 3D laminate, 400-atom bar) about the same -- both measured on
the 2-core development machine, levels 1-3.
"""
from __future__ import annotations

import argparse
import sys
from typing import Any

LEVELS = (1, 2, 3, 4, 5, 6, 7, 8)


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``validate`` sub-command on the ``mscouple`` parser's sub-parsers."""
    s = subparsers.add_parser("validate", help="run the validation hierarchy (analytic checks) and write a PNG report")
    s.add_argument("--quick", action="store_true", help="small systems (CI; < 60 s on one core)")
    s.add_argument("--level", type=int, action="extend", nargs="+", choices=LEVELS, metavar="N",
                   help="run only these levels (--level 4 5, or repeated): 1 Cauchy-Born, 2 homogenization, 3 fast/slow, "
                        "4 interface, 5 patch test, 6 parallel, 7 plasticity (SSD+GND), 8 kinetic Monte Carlo")
    s.add_argument("--report", default="mscouple-validate.png", metavar="PATH", help="PNG report path")
    s.add_argument("--no-report", action="store_true", help="do not write the PNG")
    s.set_defaults(func=cmd_validate)
    return s


def cmd_validate(args, world) -> int:
    from .main import run_guarded, say

    def go() -> int:
        from ..validation.checks import format_table
        from ..validation.levels import run_level

        levels = sorted(set(args.level)) if args.level else list(LEVELS)
        say(world, f"mscouple validate{' --quick' if args.quick else ''}: levels {', '.join(map(str, levels))} "
                   f"on {world.Get_size()} rank(s)")
        results = [run_level(lv, args.quick, world) for lv in levels]
        ok = 1
        if world.Get_rank() == 0:
            for line in format_table(results):
                print(line)
            failed = [c for r in results for c in r.checks if c.passed is False]
            missing = [r.level for r in results if not r.available]
            print(f"{sum(c.passed is True for r in results for c in r.checks)} passed, {len(failed)} failed"
                  + (f"; not available: level {', '.join(map(str, missing))}" if missing else "")
                  + f"; {sum(r.seconds for r in results):.1f} s")
            if not args.no_report:
                try:
                    import matplotlib  # noqa: F401
                except ImportError:
                    print("no PNG report: matplotlib is not installed (pip install matplotlib)")
                else:
                    from ..validation.report import write_report

                    print(f"wrote {write_report(results, args.report, args.quick)}")
            sys.stdout.flush()
            ok = int(not failed)
        ok = world.bcast(ok, root=0) if world.Get_size() > 1 else ok
        return 0 if ok else 1

    return run_guarded(world, go, debug=getattr(args, "debug", False))
