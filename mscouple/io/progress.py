"""Progress reporting on rank 0: step, simulated time, atom-steps/s, time split, ETA.

Ranks time their own work with :meth:`Progress.timer` (``"md"``, ``"fe"``,
``"handshake"``, or any other name); every ``every`` steps :meth:`Progress.update` reduces
the timers over ``comm`` (the maximum over ranks: the slowest rank sets the pace) and
rank ``root`` reports: a live bar redrawn in place on a terminal, or a plain line at most
every ``interval_s`` seconds in a batch log (plus the first and the last report).
Under ``mpirun``/``srun`` plain lines are the default; ``MSCOUPLE_PROGRESS=bar`` or
``=lines`` overrides the choice.

:meth:`Progress.update` is collective on the steps where ``(step - first_step) % every ==
0`` and on the last step; every rank must call it on every step (it returns at once on
the others).
"""
from __future__ import annotations

import os
import sys
import time as _time
from contextlib import contextmanager
from typing import Any, Callable, Iterator, TextIO

import numpy as np

__all__ = ["Progress", "format_duration"]

CATEGORIES = ("md", "fe", "handshake")
_LABELS = {"md": "MD", "fe": "FE", "handshake": "handshake"}


def format_duration(seconds: float) -> str:
    """``H:MM:SS`` (``d-HH:MM:SS`` beyond a day), ``?`` if unknown."""
    if not np.isfinite(seconds) or seconds < 0:
        return "?"
    s = int(round(seconds))
    d, s = divmod(s, 86400)
    h, s = divmod(s, 3600)
    m, s = divmod(s, 60)
    return f"{d}-{h:02d}:{m:02d}:{s:02d}" if d else f"{h}:{m:02d}:{s:02d}"


_LAUNCHER_VARS = ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "SLURM_PROCID")


def _live_bar(stream: TextIO) -> bool:
    """Whether to redraw a bar in place: ``MSCOUPLE_PROGRESS=bar|lines`` decides if set;
    otherwise only on a terminal outside MPI launchers (Open MPI gives every rank a
    pseudo-terminal even when the job's output goes to a batch log)."""
    choice = os.environ.get("MSCOUPLE_PROGRESS", "").lower()
    if choice in ("bar", "lines"):
        return choice == "bar"
    if any(v in os.environ for v in _LAUNCHER_VARS):
        return False
    return bool(getattr(stream, "isatty", lambda: False)())


class Progress:
    """Rank-0 progress reporter for a run of ``total_steps`` steps.

    Parameters
    ----------
    comm: the run's communicator (all ranks).
    total_steps: steps of the whole run; ``first_step`` the step this process starts at
        (non-zero after a restart).
    dt: time step (simulated time units, ``time_unit`` for display).
    n_atoms: atoms over all patches (for atom-steps/s).
    every: reduce/report period in steps; ``interval_s`` minimum seconds between plain lines.
    stream: where to write (default ``sys.stdout``); ``tty`` forces the bar on/off.
    clock: a seconds counter (tests pass a fake one).
    """

    def __init__(
        self,
        comm: Any,
        *,
        total_steps: int,
        dt: float,
        n_atoms: int = 0,
        first_step: int = 0,
        every: int = 100,
        interval_s: float = 10.0,
        stream: TextIO | None = None,
        tty: bool | None = None,
        time_unit: str = "",
        root: int = 0,
        clock: Callable[[], float] = _time.perf_counter,
    ) -> None:
        self.comm, self.root = comm, root
        self.is_root = comm.Get_rank() == root
        self.total_steps, self.first_step = int(total_steps), int(first_step)
        self.dt, self.n_atoms, self.time_unit = float(dt), int(n_atoms), time_unit
        self.every, self.interval_s = max(int(every), 1), float(interval_s)
        self.stream = stream if stream is not None else sys.stdout
        self.tty = _live_bar(self.stream) if tty is None else bool(tty)
        self.clock = clock
        self._t0 = clock()
        self._last_print = -np.inf
        self._acc: dict[str, float] = {c: 0.0 for c in CATEGORIES}
        self._win_start_step = self.first_step
        self._win_start_time = self._t0
        self.last: dict[str, Any] = {}

    @contextmanager
    def timer(self, category: str) -> Iterator[None]:
        """Accumulate the wall time of the block under ``category`` (this rank)."""
        t = self.clock()
        try:
            yield
        finally:
            self._acc[category] = self._acc.get(category, 0.0) + self.clock() - t

    def add_time(self, category: str, seconds: float) -> None:
        """Add ``seconds`` of work to ``category`` (for times measured elsewhere)."""
        self._acc[category] = self._acc.get(category, 0.0) + float(seconds)

    def update(self, step: int, sim_time: float | None = None) -> dict[str, Any] | None:
        """Call after finishing ``step`` (every rank, every step). Returns the report dict
        on the steps it reduces (all ranks), ``None`` otherwise."""
        done = step + 1 - self.first_step
        last = step + 1 >= self.total_steps
        if done % self.every != 0 and not last:
            return None
        from mpi4py import MPI

        names = sorted(set().union(*self.comm.allgather(sorted(self._acc))))
        local = np.array([self._acc.get(n, 0.0) for n in names])
        tmax = np.empty_like(local)
        self.comm.Allreduce(local, tmax, op=MPI.MAX)
        now = self.clock()
        steps = step + 1 - self._win_start_step
        wall = now - self._win_start_time
        elapsed = now - self._t0
        remaining = self.total_steps - (step + 1)
        rep = {
            "step": step + 1,
            "total_steps": self.total_steps,
            "sim_time": (step + 1) * self.dt if sim_time is None else float(sim_time),
            "atom_steps_per_s": self.n_atoms * steps / wall if wall > 0 else float("nan"),
            "per_step_s": {n: float(v) / max(steps, 1) for n, v in zip(names, tmax)},
            "wall_per_step_s": wall / max(steps, 1),
            "eta_s": remaining * elapsed / max(done, 1),
        }
        self._acc = {c: 0.0 for c in CATEGORIES}
        self._win_start_step, self._win_start_time = step + 1, now
        self.last = rep
        if self.is_root:
            if self.tty:
                self.stream.write("\r" + self.format(rep, bar=True) + ("\n" if last else ""))
                self.stream.flush()
            elif last or now - self._last_print >= self.interval_s:
                self.stream.write(self.format(rep) + "\n")
                self.stream.flush()
                self._last_print = now
        return rep

    def format(self, rep: dict[str, Any], bar: bool = False) -> str:
        """One report line (with a 20-character bar when ``bar``)."""
        frac = rep["step"] / max(rep["total_steps"], 1)
        head = f"step {rep['step']}/{rep['total_steps']} ({100 * frac:5.1f}%)"
        if bar:
            n = int(round(20 * frac))
            head = f"[{'#' * n}{'.' * (20 - n)}] " + head
        unit = f" {self.time_unit}" if self.time_unit else ""
        per = rep["per_step_s"]
        keys = [k for k in CATEGORIES if k in per] + sorted(k for k in per if k not in CATEGORIES and per[k] > 0)
        split = ", ".join(f"{_LABELS.get(k, k)} {1e3 * per[k]:.3g} ms" for k in keys)
        return (
            f"{head} | t = {rep['sim_time']:.6g}{unit} | {rep['atom_steps_per_s']:.3g} atom-steps/s"
            f" | per step: {split} | ETA {format_duration(rep['eta_s'])}"
        )
