"""Stop cleanly on SIGTERM / SIGUSR1: finish the step, checkpoint, exit on every rank.

Slurm sends SIGTERM at the time limit (after ``KillWait`` seconds comes SIGKILL), and
``#SBATCH --signal=B:USR1@120`` sends USR1 to the batch shell 120 s before it, which
forwards it to ``srun`` (see ``jobscripts/``). A signal may reach only some ranks, or
reach them in different steps; :meth:`SignalGuard.should_stop` therefore combines the
flags with an allreduce, so every rank stops after the same step.

Usage (the run loop)::

    with SignalGuard() as guard:
        for step in range(first, last):
            advance(step)
            if guard.should_stop(comm):        # collective: every rank, same steps
                write_checkpoint(...); break
"""
from __future__ import annotations

import os
import shlex
import shutil
import signal
import sys
import threading
from types import FrameType
from typing import Any, Sequence

__all__ = ["SignalGuard", "STOP_SIGNALS", "EXIT_STOPPED", "restart_command"]

STOP_SIGNALS: tuple[int, ...] = (signal.SIGTERM, signal.SIGUSR1)

#: Exit code of a run stopped by a signal after writing its checkpoint
#: (``EX_TEMPFAIL``: "try again"); the job scripts requeue on it.
EXIT_STOPPED = 75


class SignalGuard:
    """Turn stop signals into a flag while active (a context manager).

    The handlers are installed on ``__enter__`` (main thread only; elsewhere the guard
    is inert) and the previous ones restored on ``__exit__``. ``received`` holds the
    number of the first signal caught, or ``None``.
    """

    def __init__(self, signals: Sequence[int] = STOP_SIGNALS) -> None:
        self.signals = tuple(signals)
        self.received: int | None = None
        self._old: dict[int, Any] = {}

    def _handler(self, signum: int, frame: FrameType | None) -> None:
        if self.received is None:
            self.received = signum

    def __enter__(self) -> "SignalGuard":
        if threading.current_thread() is threading.main_thread():
            for s in self.signals:
                self._old[s] = signal.signal(s, self._handler)
        return self

    def __exit__(self, *exc: Any) -> None:
        for s, old in self._old.items():
            signal.signal(s, old)
        self._old.clear()

    @property
    def signal_name(self) -> str | None:
        """Name of the signal received (``"SIGTERM"``), or ``None``."""
        return signal.Signals(self.received).name if self.received is not None else None

    def should_stop(self, comm: Any) -> bool:
        """True on every rank if any rank of ``comm`` caught a stop signal (collective)."""
        from mpi4py import MPI

        flag = 0 if self.received is None else int(self.received)
        got = comm.allreduce(flag, op=MPI.MAX)
        if got and self.received is None:
            self.received = got
        return bool(got)

    def restart_hint(self, checkpoint: str, case: str, *, size: int | None = None,
                     argv: Sequence[str] | None = None) -> str:
        """The message printed on a signal stop: the complete command that continues the
        run (see :func:`restart_command`)."""
        cmd = restart_command(checkpoint, case, size=size, argv=argv)
        return f"stopped by {self.signal_name or 'signal'} after writing {checkpoint}; continue with: {cmd}"


#: options of ``mscouple run`` that the restart command replaces (with their value?)
_REPLACED = {"--restart": True, "--output": True, "--overwrite": False}


def _launch_size() -> int | None:
    """World size from the launcher's environment (Open MPI, MPICH/PMI, Slurm)."""
    for key in ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "SLURM_NTASKS"):
        v = os.environ.get(key, "")
        if v.isdigit():
            return int(v)
    return None


def restart_command(checkpoint: str, case: str, *, size: int | None = None,
                    argv: Sequence[str] | None = None) -> str:
    """A copy-pasteable shell command that continues a run from *checkpoint*.

    It repeats this process's command line (``argv``, default ``sys.argv``: the case,
    every ``--set`` override, PETSc options) with ``--restart``/``--output``/``--overwrite``
    replaced by ``--output <the checkpoint's folder> --restart <checkpoint>``, prefixed by the
    launcher: ``srun -n N`` inside a Slurm job step, ``mpirun -n N`` when *size* (default:
    from the launcher's environment) is > 1. Paths are made absolute, so the command works
    from any folder.
    """
    argv = list(sys.argv if argv is None else argv)
    ckpt = os.path.abspath(checkpoint)
    out = os.path.dirname(ckpt)
    prog = argv[0] if argv else "mscouple"
    if os.path.basename(prog) in ("__main__.py", "main.py", "-c", ""):
        head = [sys.executable, "-m", "mscouple.cli.main"]
    elif os.path.basename(prog) == "mscouple" and shutil.which("mscouple") and \
            os.path.realpath(shutil.which("mscouple")) == os.path.realpath(prog):
        head = ["mscouple"]  # the one on PATH
    else:
        head = [os.path.abspath(prog) if os.path.exists(prog) else prog]
    rest, i = [], 1
    while i < len(argv):
        a = argv[i]
        name = a.split("=", 1)[0]
        if name in _REPLACED:
            i += 2 if (_REPLACED[name] and "=" not in a) else 1
            continue
        rest.append(os.path.abspath(a) if a == case and os.path.exists(a) else a)
        i += 1
    if not rest:  # no command line to repeat (called from a script): the plain form
        rest = ["run", os.path.abspath(case) if os.path.exists(case) else case]
    # the PETSc options given after "--" must stay after it
    tail: list[str] = []
    if "--" in rest:
        k = rest.index("--")
        rest, tail = rest[:k], rest[k:]
    cmd = head + rest + ["--output", out, "--restart", ckpt] + tail
    n = size if size is not None else _launch_size()
    if os.environ.get("SLURM_STEP_ID") is not None and os.environ.get("SLURM_JOB_ID"):
        cmd = ["srun", "-n", str(n or 1)] + cmd
    elif n is not None and n > 1:
        cmd = ["mpirun", "-n", str(n)] + cmd
    return " ".join(shlex.quote(c) for c in cmd)
