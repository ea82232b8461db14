"""The mscouple exception hierarchy, and the helper that ends every rank on a failure.

Errors subclass built-ins so that callers may catch either; each message says what to do.
"""
from __future__ import annotations

import sys
import traceback
from typing import Any


class MscoupleError(Exception):
    """Base class of every error mscouple raises on purpose."""


class ConfigError(MscoupleError, ValueError):
    """A case file (or keyword argument) is invalid. Raised before any compute starts."""


class LayoutError(ConfigError):
    """The requested rank layout does not fit the launched ranks."""


class ConvergenceError(MscoupleError, RuntimeError):
    """An iterative solver or the coupling iteration did not converge."""


class SimulationError(MscoupleError, RuntimeError):
    """A run became unphysical (non-finite values, atoms lost, energy jump)."""


class CheckpointError(MscoupleError, RuntimeError):
    """A checkpoint is missing, truncated or belongs to another case."""


def abort_all(comm: Any, message: str, exitcode: int = 1) -> None:
    """Print *message* from this rank and end every rank of ``comm``'s job.

    Used when an exception is raised on one rank only: the others would otherwise
    wait forever in their next collective. ``MPI.Comm.Abort`` kills the whole job.
    """
    sys.stderr.write(message.rstrip() + "\n")
    sys.stderr.flush()
    sys.stdout.flush()
    if comm is not None and comm.Get_size() > 1:
        comm.Abort(exitcode)
    raise SystemExit(exitcode)


def format_exception(exc: BaseException, rank: int | None = None, debug: bool = False) -> str:
    """One line for mscouple's own errors; the traceback for anything unexpected."""
    where = f"[rank {rank}] " if rank is not None else ""
    if isinstance(exc, MscoupleError) and not debug:
        return f"{where}error: {exc}"
    tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return f"{where}unexpected error: {exc!r}\n{tb}"
