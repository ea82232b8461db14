"""Heartbeat watchdog: end the job when one rank stops answering (``run.watchdog_s``).

A rank that is stopped (SIGSTOP, a swapped-out node), stuck in a system call or in an
endless loop leaves the others spinning in their next collective, silently, until the
wall-time limit. The watchdog turns that into a one-line diagnosis and an ended job.

Design (no MPI from the thread)
-------------------------------
Each rank writes its heartbeat — a counter, its last step and the wall time — into a
small file of its own, ``<run folder>/.mscouple-heartbeat/rank_<r>``, from the run loop
(:meth:`Watchdog.beat`, called at each poll point; writes are rate-limited to one per
``timeout/8`` seconds, so a beat costs a clock read). A daemon thread on **rank 0** reads
every rank's file, and one on **rank 1** reads rank 0's (so a stalled rank 0 is caught
too). A reader remembers, on its own monotonic clock, when each file's counter last
changed, so clocks that differ between nodes do not matter. When a rank's counter has not
changed for ``timeout`` seconds, the reader prints one line naming that rank, its host,
its last step and the age of its heartbeat, releases the run lock and ends the job:
``comm.Abort`` when the MPI library is ``MPI_THREAD_MULTIPLE`` (MPI calls from a thread
are then legal), otherwise ``os._exit`` — the launcher (mpirun/srun) sees a rank exit
without finalising and kills the others.

Why files and not MPI: a thread may call MPI only at ``MPI_THREAD_MULTIPLE``, which many
cluster MPI builds do not provide or provide slowly; one-sided heartbeats (``MPI_Put`` into
a window) need asynchronous progress that a stopped target or a busy-polling origin does
not give; and a rank blocked in a collective cannot answer a message at all. A file in
the run folder (which every rank can already write, typically on the shared file
system) needs none of these. The cost is one small write per ``timeout/8`` seconds per
rank. Ranks that finish write ``done`` and are no longer watched.
"""
from __future__ import annotations

import os
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

from .commit import commit_text

__all__ = ["Watchdog", "EXIT_WATCHDOG", "HEARTBEAT_DIR"]

HEARTBEAT_DIR = ".mscouple-heartbeat"
#: exit code of a job ended by the watchdog (EX_SOFTWARE-like; not a requeue code)
EXIT_WATCHDOG = 70


def _read(path: Path) -> tuple[int, int, str, bool] | None:
    """(counter, step, host, done) from a heartbeat file, or None if absent/torn."""
    try:
        parts = path.read_text(encoding="ascii").split()
    except (OSError, UnicodeDecodeError):
        return None
    if len(parts) < 4:
        return None
    try:
        return int(parts[0]), int(parts[1]), parts[2], parts[3] == "done"
    except ValueError:
        return None


class Watchdog:
    """One rank's heartbeat writer and (on ranks 0 and 1) reader thread.

    Parameters:
        comm: the run communicator (used only for rank/size here and for ``Abort``).
        folder: the run folder (shared by all ranks).
        timeout: seconds without a heartbeat after which the job ends (> 0).
        on_abort: called before the job ends (e.g. release the run lock); optional.

    Use::

        wd = Watchdog(comm, outdir, case.run.watchdog_s).start()   # collective (barrier)
        while step < last: ...; wd.beat(step)                       # every rank
        wd.stop()                                                   # every rank
    """

    def __init__(self, comm: Any, folder: str | os.PathLike, timeout: float, *,
                 on_abort: Callable[[], None] | None = None) -> None:
        if not timeout > 0:
            raise ValueError("watchdog timeout must be > 0 seconds")
        self.comm, self.timeout = comm, float(timeout)
        self.rank, self.size = comm.Get_rank(), comm.Get_size()
        self.dir = Path(folder) / HEARTBEAT_DIR
        self.path = self.dir / f"rank_{self.rank}"
        self.host = socket.gethostname()
        self.on_abort = on_abort
        self._count, self._step, self._last_write = 0, -1, -1e300
        self._every = self.timeout / 8.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- writer (every rank) --------------------------------------------------------------
    def _write(self, done: bool = False) -> None:
        self._count += 1
        text = f"{self._count} {self._step} {self.host} {'done' if done else 'alive'} {time.time():.3f}\n"
        try:  # atomic (a reader never sees a torn file); no fsync: it is rewritten every few s
            commit_text(self.path, text, "ascii", fsync=False)
        except OSError:
            pass  # a full disk must not kill the run here; the reader then sees no beat
        self._last_write = time.monotonic()

    def beat(self, step: int) -> None:
        """Report this rank alive at *step* (cheap: writes at most every ``timeout/8`` s)."""
        self._step = int(step)
        if time.monotonic() - self._last_write >= self._every:
            self._write()

    def start(self) -> "Watchdog":
        """Write the first heartbeat and start the reader thread (collective: a barrier, so
        no rank is watched before every rank has written its file)."""
        if self.rank == 0:
            self.dir.mkdir(parents=True, exist_ok=True)
        if self.size > 1:
            self.comm.Barrier()
        self.dir.mkdir(parents=True, exist_ok=True)
        self._write()
        if self.size > 1:
            self.comm.Barrier()
        watched = list(range(1, self.size)) if self.rank == 0 else [0] if self.rank == 1 else []
        if watched:
            self._thread = threading.Thread(target=self._watch, args=(watched,), name="mscouple-watchdog",
                                            daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop watching and mark this rank done (its file then no longer counts)."""
        self._stop.set()
        self._write(done=True)
        if self._thread is not None:
            self._thread.join(timeout=1.0)
            self._thread = None

    # -- reader (ranks 0 and 1) -----------------------------------------------------------
    def _watch(self, ranks: list[int]) -> None:
        seen: dict[int, tuple[int, float]] = {}
        now = time.monotonic()
        for r in ranks:
            seen[r] = (-1, now)
        poll = min(1.0, self.timeout / 4.0)
        while not self._stop.wait(poll):
            now = time.monotonic()
            for r in ranks:
                got = _read(self.dir / f"rank_{r}")
                if got is not None and got[3]:
                    continue  # finished
                count = got[0] if got is not None else -1
                if count != seen[r][0]:
                    seen[r] = (count, now)
                elif now - seen[r][1] > self.timeout and not self._stop.is_set():
                    step = f"step {got[1]}" if got is not None and got[1] >= 0 else "set-up (no step yet)"
                    host = got[2] if got is not None else "?"
                    self._fire(f"watchdog: rank {r} (on {host}) has not answered for {now - seen[r][1]:.1f} s "
                               f"(run.watchdog_s = {self.timeout:g}); its last heartbeat was at {step}. "
                               f"Ending the job: check that node (stopped, swapping, stuck in I/O) and restart "
                               f"from the last checkpoint")
                    return

    def _fire(self, message: str) -> None:
        sys.stderr.write(message + "\n")
        sys.stderr.flush()
        if self.on_abort is not None:
            try:
                self.on_abort()
            except Exception:  # noqa: BLE001 - nothing may stop the abort
                pass
        try:
            from mpi4py import MPI

            multiple = MPI.Query_thread() == MPI.THREAD_MULTIPLE
        except Exception:  # noqa: BLE001
            multiple = False
        if multiple and self.size > 1:
            self.comm.Abort(EXIT_WATCHDOG)
        os._exit(EXIT_WATCHDOG)
