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

import signal
import threading
from types import FrameType
from typing import Any, Sequence

__all__ = ["SignalGuard", "STOP_SIGNALS", "EXIT_STOPPED"]

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

    def restart_hint(self, checkpoint: str, case: str) -> str:
        """The message printed on a signal stop."""
        return (
            f"stopped by {self.signal_name or 'signal'} after writing {checkpoint}; continue with: "
            f"mscouple run {case} --restart {checkpoint}"
        )
