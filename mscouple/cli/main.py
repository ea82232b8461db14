"""The ``mscouple`` command: ``info | check | run | plot | study | validate | train``.

Launched the same way serially or under ``mpirun``/``srun``. This module (with
:mod:`mscouple.layout`) is the only code that touches ``MPI.COMM_WORLD``.

Error handling, in two phases:
  1. *validation* (case file, layout): every rank validates the same input; the outcome is
     agreed collectively, rank 0 prints one line, every rank exits with code 2;
  2. *compute*: an exception on any rank prints its message and aborts the whole job
     (``MPI_Abort``), so no rank is left waiting in a collective.
"""
from __future__ import annotations

import argparse
import signal
import sys
from typing import Any, Callable

from .. import __version__
from ..errors import ConfigError, MscoupleError, format_exception
from .agree import agree_across_ranks
from .args import OneLineParser, parse_command_line

EXIT_CONFIG = 2


def _world():
    from mpi4py import MPI

    return MPI.COMM_WORLD


def say(comm: Any, *lines: str) -> None:
    """Print from rank 0 of *comm* only."""
    if comm.Get_rank() == 0:
        for line in lines:
            print(line)
        sys.stdout.flush()


def validated(world: Any, fn: Callable[[], Any]) -> Any:
    """Run the validation step *fn* on every rank and agree on the outcome.

    If any rank fails with a ``ConfigError``, rank 0 prints the (first) message and every
    rank raises ``SystemExit(2)``; nothing has been computed or written yet.
    """
    result, err = None, None
    try:
        result = fn()
    except ConfigError as exc:
        err = str(exc)
    errors = world.allgather(err) if world.Get_size() > 1 else [err]
    first = next((e for e in errors if e), None)
    if first is not None:
        if world.Get_rank() == 0:
            sys.stderr.write(f"error: {first}\n")
            sys.stderr.flush()
        raise SystemExit(EXIT_CONFIG)
    return result


def run_guarded(world: Any, fn: Callable[[], int | None], debug: bool = False) -> int:
    """Run *fn*; an exception on any rank ends every rank of *world* with its message."""
    try:
        rc = fn()
        return int(rc or 0)
    except SystemExit:
        raise
    except KeyboardInterrupt:
        msg = f"[rank {world.Get_rank()}] interrupted (Ctrl-C): stopping all ranks"
        _abort(world, msg, 130)
    except BaseException as exc:  # noqa: BLE001 - any failure must end every rank
        if getattr(exc, "collective", False):
            # raised on every rank at the same point (e.g. a full disk): one line, clean exit
            from ..io.rundir import release_all

            release_all()
            if world.Get_rank() == 0:
                sys.stderr.write(f"error: {exc}\n")
                sys.stderr.flush()
            raise SystemExit(getattr(exc, "exit_code", 1))
        msg = format_exception(exc, world.Get_rank() if world.Get_size() > 1 else None, debug)
        code = EXIT_CONFIG if isinstance(exc, ConfigError) else 1
        _abort(world, msg, code)
    return 1  # pragma: no cover


def _abort(world: Any, message: str, code: int) -> None:
    from ..io.rundir import release_all

    release_all()  # MPI_Abort skips every finally: the run lock goes first
    sys.stdout.flush()
    sys.stderr.write(message.rstrip() + "\n")
    sys.stderr.flush()
    if world.Get_size() > 1:
        world.Abort(code)
    raise SystemExit(code)


# ---------------------------------------------------------------------------------------
def cmd_info(args, world) -> int:
    from .info import collect_info

    lines = collect_info(world)
    say(world, *lines)
    return 0


def _cascade(args) -> bool:
    """A cascade → KMC case (a ``[cascade]`` section): mscouple.cascade.cli runs it."""
    from ..cascade.cli import is_cascade_file

    return is_cascade_file(args.case)


def cmd_check(args, world) -> int:
    if _cascade(args):
        from ..cascade.cli import cmd_check as cascade_check

        return cascade_check(args, world, say, validated)
    from ..check import check
    from ..config import load_case
    from ..layout import Layout, RankPlan
    from ..scales import estimates, human_bytes, memory_estimate

    case = validated(world, lambda: load_case(args.case, args.set))
    plan = RankPlan.from_counts(case.layout.continuum, case.layout.patches)
    report = validated(world, lambda: check(case, plan))  # every refusal of `run`, exit 2
    size = world.Get_size()
    split = size > 1 or plan.size == 1
    layout = validated(world, lambda: Layout.build(world, case.layout.continuum, case.layout.patches)) if split else None
    say(world, f"case     : {args.case}" + (f"  ({case.title})" if case.title else ""),
        f"units    : {case.units}",
        f"ranks    : {plan.size} required, {size} launched")
    if layout is not None:
        # report what each rank actually got from the split
        import socket

        mine = (world.Get_rank(), layout.role, layout.comm.Get_rank(), layout.comm.Get_size(),
                socket.gethostname(), sorted(layout.intercomms))
        rows = world.gather(mine, root=0)
        if world.Get_rank() == 0:
            print("layout   : (as split)")
            for line in plan.describe():
                print(f"  {line}")
            for r, role, lr, ls, host, ic in rows:
                print(f"  world rank {r}: {role:<10} (rank {lr} of {ls}) on {host}; intercomms to {', '.join(ic) or '-'}")
        layout.free()
    else:
        say(world, "layout   : (planned; launch with 'mpirun -n %d' to split)" % plan.size,
            *[f"  {line}" for line in plan.describe()])
    say(world, "estimates:")
    for est in estimates(case):
        v = est.value
        txt = f"{v:.4g}" if isinstance(v, float) else f"{v}"
        say(world, f"  {est.name:<46} {txt}" + (f"   WARNING: {est.note}" if est.note else ""))
    mem = memory_estimate(case)
    say(world, "memory   : " + ", ".join(f"{k} {human_bytes(v)}" for k, v in mem.items())
        + f" (total {human_bytes(sum(mem.values()))})")
    say(world, "checks   :", *report.lines())
    from ..perfmodel import advice  # which role waits, ranks per role (bridging domain)

    say(world, *advice(case, size))
    say(world, "ok: case is valid (nothing computed)")
    return 0


def cmd_run(args, world) -> int:
    if _cascade(args):
        from ..cascade.cli import cmd_run as cascade_run

        return cascade_run(args, world, say, validated, run_guarded, init_petsc)
    from ..check import check
    from ..config import load_case
    from ..layout import Layout, RankPlan

    case = validated(world, lambda: load_case(args.case, args.set))
    # the same pre-flight check as `mscouple check`, before the split and any compute
    validated(world, lambda: check(case, RankPlan.from_counts(case.layout.continuum, case.layout.patches)))
    layout = validated(world, lambda: Layout.build(world, case.layout.continuum, case.layout.patches))
    if layout.is_continuum:  # patch ranks never import PETSc (tests/test_imports.py)
        init_petsc(args.petsc_args, layout.comm)
    from ..io.rundir import prepare_run_dir
    from ..run.simulation import build_simulation

    # the run folder: created, checked (non-empty needs --restart/--overwrite) and locked
    # before anything is computed (mscouple.io.rundir); the lock goes on any exit
    rundir = validated(world, lambda: prepare_run_dir(world, _run_dir_path(args, case), restart=bool(args.restart),
                                                      overwrite=args.overwrite))

    def go():
        sim = build_simulation(case, layout, restart=args.restart, output=str(rundir.path))
        return sim.run()

    try:
        return run_guarded(world, go, debug=args.debug)
    finally:
        rundir.release()


def _run_dir_path(args, case) -> str:
    """The run folder as ``build_simulation`` resolves it (``--output`` or ``[output].directory``,
    relative to the working directory)."""
    import os

    return os.path.abspath(args.output or case.output.directory)


def cmd_plot(args, world) -> int:
    from .inputs import check_series_file

    validated(world, lambda: check_series_file(args.run))

    def go():
        from ..io.plots import plot_series

        if world.Get_rank() == 0:
            for name, path in plot_series(args.run, args.out).items():
                print(f"wrote {path} ({name})")
        return 0

    return run_guarded(world, go, debug=args.debug)


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(
        prog="mscouple",
        description="Concurrent atomistic-to-continuum simulation (PETSc FE + Cython MD on MPI).",
    )
    p.add_argument("--version", action="version", version=f"mscouple {__version__}")
    p.add_argument("--debug", action="store_true", help="show tracebacks for mscouple's own errors")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("info", help="versions, MPI/PETSc/h5py build, kernel flags, rank count")
    s.set_defaults(func=cmd_info)
    s = sub.add_parser("check", help="validate a case and print its rank layout and estimates")
    s.add_argument("case")
    add_set_option(s)
    s.set_defaults(func=cmd_check)
    s = sub.add_parser("run", help="run a case (under mpirun/srun for several ranks)")
    s.add_argument("case")
    s.add_argument("--restart", metavar="CKPT.h5", help="continue from a checkpoint")
    s.add_argument("--output", metavar="DIR", help="override [output].directory")
    s.add_argument("--overwrite", action="store_true",
                   help="replace the run in a non-empty output folder (its files and checkpoints are deleted)")
    add_set_option(s)
    s.set_defaults(func=cmd_run)
    s = sub.add_parser("plot", help="draw a run's standard figures to PNG")
    s.add_argument("run", help="the run's HDF5 file")
    s.add_argument("--out", default=None, help="folder for the PNG files")
    s.set_defaults(func=cmd_plot)
    for extra in ("study", "validate", "train"):
        mod = _optional_command(extra)
        if mod is not None:
            mod.add_parser(sub)
    return p


def add_set_option(parser: argparse.ArgumentParser) -> None:
    """``--set key=value`` (repeatable): change the case before validation
    (:mod:`mscouple.overrides`); a malformed item is refused with the case errors (exit 2)."""
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a case key, value as a TOML literal "
                             "(e.g. --set run.steps=200 --set patches.core.temperature=0.1); repeatable")


def _optional_command(name: str):
    import importlib

    try:
        return importlib.import_module(f"mscouple.cli.{name}")
    except ImportError:
        return None


def init_petsc(petsc_args: list[str], comm: Any) -> None:
    """Initialise PETSc with the PETSc options and *comm* as ``PETSC_COMM_WORLD``
    (collective over *comm*)."""
    import petsc4py

    petsc4py.init(petsc_args, comm=comm)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    # PETSc options pass through to the options database (-fe_ksp_type cg -log_view ...);
    # mscouple's own options are parsed, anything unknown that looks like an option goes to PETSc.
    # (strict: only known PETSc prefixes, or anything after a lone "--"; see cli/args.py)
    try:
        args, extra = parse_command_line(parser, argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    args.petsc_args = [sys.argv[0]] + extra
    world = _world()
    try:  # MPMD blocks must agree on the command, case and options (never hang)
        agree_across_ranks(world, args)
    except SystemExit as exc:
        return int(exc.code or 0)
    if args.func is not cmd_run:
        # PetscInitialize is collective over its communicator: commands other than `run`
        # initialise it here on every rank; `run` does it after the split, on the
        # continuum comm only (MD ranks never import PETSc).
        init_petsc(args.petsc_args, world)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return args.func(args, world)
    except SystemExit as exc:
        return int(exc.code or 0)
    except KeyboardInterrupt:
        _abort(world, "interrupted", 130)
    except MscoupleError as exc:  # an error outside run_guarded (should be rare)
        _abort(world, format_exception(exc, world.Get_rank() if world.Get_size() > 1 else None, args.debug),
               EXIT_CONFIG if isinstance(exc, ConfigError) else 1)
    return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
