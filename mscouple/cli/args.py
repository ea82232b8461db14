"""Command-line parsing that fails in one line: strict options, PETSc pass-through.

``mscouple``'s own options are parsed by :class:`OneLineParser` (an ``argparse`` parser
whose errors are one line on stderr and exit code 2, printed by rank 0 only: the parse runs
before MPI is initialised, so the rank comes from the launcher's environment).

PETSc options pass through to the options database only when they are unmistakably
PETSc's, so a typo of an mscouple option is never swallowed silently:

* any argument after a lone ``--`` (``mscouple run case.toml -- -any_petsc_option 1``);
* before it, a single-dash option with a known prefix (:data:`PETSC_PREFIXES`: the
  prefixes mscouple's solvers set — ``-fe_`` elasticity, ``-fe_heat_`` heat, ``-rve_``
  homogenization — and PETSc's own object and logging families), followed by its values.

Anything else that looks like an option is refused with the nearest mscouple option
(``--restrat=ck.h5`` → "did you mean --restart?").
"""
from __future__ import annotations

import argparse
import difflib
import os
import sys
from typing import Sequence

__all__ = ["OneLineParser", "PETSC_PREFIXES", "parse_command_line", "launcher_rank"]

#: single-dash prefixes that go to PETSc's options database
PETSC_PREFIXES: tuple[str, ...] = (
    "-fe_", "-rve_", "-mscouple_",                      # prefixes mscouple sets on its objects
    "-ksp_", "-pc_", "-mat_", "-vec_", "-snes_", "-ts_", "-dm_", "-sf_", "-is_",  # object families
    "-log_", "-options_", "-malloc", "-info", "-on_error_", "-petsc", "-memory_view", "-help",
    "-history", "-mpi_", "-viewer_", "-draw_", "-check_",
)

EXIT_USAGE = 2


def launcher_rank() -> int:
    """This process's world rank from the launcher's environment (0 when unknown)."""
    for key in ("OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK", "SLURM_PROCID"):
        v = os.environ.get(key, "")
        if v.isdigit():
            return int(v)
    return 0


def _one_line(prog: str, message: str) -> None:
    if launcher_rank() == 0:
        sys.stderr.write(f"{prog}: error: {' '.join(message.split())}\n")
        sys.stderr.flush()
    raise SystemExit(EXIT_USAGE)


class OneLineParser(argparse.ArgumentParser):
    """``argparse`` with one-line errors (exit 2, rank 0 prints) and no abbreviations
    (``--out`` is not silently ``--output``)."""

    def __init__(self, *a, **kw) -> None:
        kw.setdefault("allow_abbrev", False)
        super().__init__(*a, **kw)

    def error(self, message: str) -> None:  # type: ignore[override]
        hint = ""
        if "the following arguments are required" in message or "invalid choice" in message:
            hint = f" (see '{self.prog} --help')"
        _one_line(self.prog, message + hint)


def _is_value(tok: str) -> bool:
    """A token that is an option's value (not an option): no leading dash, or a number."""
    if not tok.startswith("-"):
        return True
    try:
        float(tok)
        return True
    except ValueError:
        return False


def _subparser(parser: argparse.ArgumentParser, command: str | None) -> argparse.ArgumentParser:
    for action in parser._actions:  # noqa: SLF001 - argparse has no public accessor
        if isinstance(action, argparse._SubParsersAction) and command in action.choices:  # noqa: SLF001
            return action.choices[command]
    return parser


def _suggest(parser: argparse.ArgumentParser, command: str | None, tok: str) -> str:
    sub = _subparser(parser, command)
    names = [s for a in sub._actions for s in a.option_strings if s.startswith("--")]  # noqa: SLF001
    names += [s for a in parser._actions for s in a.option_strings if s.startswith("--")]  # noqa: SLF001
    name = tok.split("=", 1)[0]
    close = difflib.get_close_matches(name if name.startswith("--") else "-" + name, names, n=1, cutoff=0.6)
    return f": did you mean {close[0]}?" if close else ""


def parse_command_line(parser: argparse.ArgumentParser,
                       argv: Sequence[str] | None = None) -> tuple[argparse.Namespace, list[str]]:
    """Parse *argv* (default ``sys.argv[1:]``): ``(args, petsc_options)``.

    Refuses (one line, exit 2) an option that is neither mscouple's nor a PETSc option with
    a known prefix, and a stray positional argument.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    after: list[str] = []
    if "--" in argv:
        k = argv.index("--")
        argv, after = argv[:k], argv[k + 1:]
    args, extra = parser.parse_known_args(argv)
    prog = f"{parser.prog} {args.command}" if getattr(args, "command", None) else parser.prog
    petsc: list[str] = []
    i = 0
    while i < len(extra):
        tok = extra[i]
        if tok.startswith("-") and not tok.startswith("--") and tok.startswith(PETSC_PREFIXES):
            petsc.append(tok)
            i += 1
            while i < len(extra) and _is_value(extra[i]):
                petsc.append(extra[i])
                i += 1
            continue
        if tok.startswith("-") and not _is_value(tok):
            _one_line(prog, f"unrecognized option {tok}{_suggest(parser, getattr(args, 'command', None), tok)}"
                            f" (PETSc options need a known prefix such as -fe_, -ksp_, -pc_, -log_view,"
                            f" or go after a lone --)")
        _one_line(prog, f"unexpected argument {tok!r} (see '{prog} --help')")
    return args, petsc + after
