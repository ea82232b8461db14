"""The run facade: one rank's part of a case, composed of stand-alone pieces.

:func:`build_simulation` checks nothing itself (``mscouple.check.check`` ran before any rank
computed) and composes, on each rank, through :func:`mscouple.run.build.build`:

* the rank's **model** (:class:`~mscouple.run.models.PatchModel` or
  :class:`~mscouple.run.models.ContinuumModel`, knowing nothing of the other role),
* its **couplers** (:mod:`mscouple.run.couplers`: one contract, a continuum and a patch half),
* the **ledger** (:mod:`mscouple.run.ledger`: the one definition of the conserved total),
* the **writers** — scalar series, atoms, fields, checkpoints — each fired by its own
  :class:`~mscouple.io.triggers.Trigger`, and the progress reporter and signal guard.

Step order of :meth:`Simulation.run`::

    restore the checkpoint (--restart)              models, then couplers; step and time
    fresh run: series row, atoms and fields frames at step 0 (a restart writes none: the
               frames of its restart step are already in the files)
    while step < steps:
        n = steps to the next event (any trigger, the signal poll)
        advance n steps:  couplers that drive their models (they exchange every step);
                          models no coupler drives: model.advance (compiled loops)
        step += n
        series trigger (or last step): finiteness check, ledger terms of every model and
                          coupler reduced per role → E_total, drift vs exchanged energy,
                          energy-jump check → one row
        atoms / fields triggers: frames on their role comms
        checkpoint trigger, or a stop signal seen by any rank: atomic checkpoint
        stopped by signal: print the restart command, exit 75
    summary.json (final row, energy scale and drift, couplers' summaries), files closed

The run communicator is ``layout.world`` (passed in, never looked up): it is used only at
output/checkpoint steps for O(1) reductions; per-step traffic stays on role comms and the
interface intercommunicators.
"""
from __future__ import annotations

import json
import os
import time as _time
from pathlib import Path

import numpy as np

from ..config import Case
from ..errors import CheckpointError, SimulationError
from ..io.triggers import AnyOf, Periodic, as_trigger
from ..layout import Layout
from ..units import get_units
from . import ledger as L
from .indentation import both_scales_columns
from .timers import format_table

__all__ = ["Simulation", "build_simulation", "EXIT_STOPPED"]

EXIT_STOPPED = 75


class Simulation:
    """One rank's part of a run (see the module docstring for the step order)."""

    def __init__(self, case: Case, layout: Layout, model, couplers: list, *, outdir: Path,
                 restart: str | None = None, poll_every: int = 50):
        self.case, self.layout, self.world = case, layout, layout.world
        self.model, self.couplers = model, list(couplers)
        self.outdir, self.restart = outdir, restart
        self.poll_every = max(1, int(poll_every))
        self.units = get_units(case.units)
        self.step, self.time = 0, 0.0
        self.scale = L.EnergyScale()
        self._driven = any(c.drives for c in self.couplers)
        # energy is a conserved quantity only in time-stepped runs (a static solve jumps
        # from the unloaded to the loaded state: no drift, no jump check)
        self.dynamic = case.run.mode == "dynamics" and (case.continuum is None or
                                                         case.continuum.physics != "elastostatics")
        out = case.output
        self.triggers = {"series": as_trigger(out.every), "atoms": as_trigger(out.atoms_every),
                         "fields": as_trigger(out.fields_every), "checkpoint": as_trigger(out.checkpoint_every)}
        self.n_atoms = self.world.allreduce(model.n_atoms if model.comm.Get_rank() == 0 else 0)

    # -- pieces of the run ---------------------------------------------------------------
    def _terms(self) -> list[L.Term]:
        """This role's ledger terms (collective over the role comm and the intercomms)."""
        terms = self.model.ledger_terms()
        for c in self.couplers:
            terms += c.ledger_terms()
        return terms

    def _ledger_row(self, first: bool = False) -> dict[str, float]:
        mine = self._terms()
        mine = mine if self.model.comm.Get_rank() == 0 else []
        terms = [t for part in self.world.allgather(mine) for t in part]
        row = L.combine(terms)
        row.update(both_scales_columns(row))  # coupled statics under an indenter; {} otherwise
        for c in self.couplers:
            if hasattr(c, "on_row"):
                c.on_row(row)
        self.scale.update(terms, row, first)
        return row

    def _drift(self, row: dict[str, float]) -> float:
        """(E_total − E_total(0)) / exchanged energy; round-off floor so a run at rest
        (no energy exchanged) reads its round-off, not 0/0."""
        floor = 1e-12 * max(abs(self._e0), 1e-300)
        return (row["E_total"] - self._e0) / max(self.scale.value, floor)

    def _check_energy(self, row: dict[str, float]) -> None:
        """Stop on an energy jump between two outputs larger than ``run.max_energy_change``
        times the exchanged energy (a blow-up detector)."""
        e = row["E_total"]
        if not np.isfinite(e):
            bad = sorted(k for k, v in row.items() if not np.isfinite(v))
            raise SimulationError(f"step {self.step}: non-finite energy ({', '.join(bad)}): reduce run.dt; "
                                  "the last good checkpoint is kept")
        limit = self.case.run.max_energy_change
        # a run at rest exchanges no energy: judge its jumps against a floor well above the
        # round-off of summing E_total over many atoms (1e-8 of |E_total|)
        scale = max(self.scale.value, 1e-8 * max(abs(self._e0), 1e-300))
        if limit > 0 and abs(e - self._e_last) > limit * scale:
            worst = max((k for k in row if k.startswith(("E_", "W_", "Q_")) and k not in ("E_total", "E_excess")),
                        key=lambda k: abs(row[k] - self._row_last.get(k, 0.0)), default="E_total")
            raise SimulationError(
                f"step {self.step}: E_total jumped by {e - self._e_last:.4g} between outputs, more than "
                f"run.max_energy_change = {limit:g} of the exchanged energy {scale:.4g}; the term that changed "
                f"most is {worst}; reduce run.dt (the last good checkpoint is kept)")
        self._e_last, self._row_last = e, row

    def _advance(self, n: int) -> None:
        try:
            for c in self.couplers:
                c.advance(n)
            if not self._driven:
                self.model.advance(n)
        except SimulationError as exc:  # say where: the steps and the role
            role = self.layout.role if self.model.kind == "patch" else "continuum"
            raise SimulationError(f"steps {self.step + 1}-{self.step + n} ({role}): {exc}") from None

    def phase_seconds(self) -> dict[str, float]:
        """Wall seconds per phase on this rank: the model's and the couplers' timers."""
        out = dict(self.model.phase_seconds())
        for c in self.couplers:
            for k, v in c.timers.seconds.items():
                out[k] = out.get(k, 0.0) + v
        return out

    def _book_progress(self, progress) -> None:
        """Hand the categories' time since the last call to the progress reporter."""
        cats: dict[str, float] = {}
        for k, v in self.phase_seconds().items():
            c = k.split(".", 1)[0]
            cats[c] = cats.get(c, 0.0) + v
        for c, v in cats.items():
            progress.add_time(c, v - self._booked.get(c, 0.0))
        self._booked = cats

    def _timing(self, wall: float) -> dict:
        """Per-role phase seconds (the slowest rank of a role sets its pace), on every rank."""
        role = self.layout.role if self.model.kind == "patch" else "continuum"
        mx: dict[str, float] = {}
        for d in self.model.comm.gather(self.phase_seconds(), root=0) or []:
            mx = {k: max(mx.get(k, 0.0), d.get(k, 0.0)) for k in set(mx) | set(d)}
        got = self.world.allgather((role, mx) if self.model.comm.Get_rank() == 0 else None)
        return {r: d for r, d in (g for g in got if g is not None)}

    def _state_arrays(self) -> dict:
        arrays = self.model.checkpoint_arrays()
        for c in self.couplers:
            arrays.update(c.checkpoint_arrays())
        return arrays

    def _checkpoint(self, path: Path) -> Path:
        from ..io.checkpoint import write_checkpoint
        from ..io.space import ensure_space

        arrays = self._state_arrays()
        if self.world.Get_rank() == 0:  # the ledger's reference: E_total(0), exchanged energy
            arrays["run/ledger"] = (np.arange(3, dtype=np.int64),
                                    np.array([self._e0, self.scale.value, self._drift_max]))
        ensure_space(self.world, path.parent, _nbytes(arrays), f"checkpoint {path.name}",
                     step=self.step, last_good=self._last_checkpoint)
        out = write_checkpoint(self.world, path, step=self.step, time=self.time,
                               case=self._fingerprint_text(), arrays=arrays, metadata=self.metadata)
        self._last_checkpoint = str(out)
        return out

    def _ensure_output_space(self) -> None:
        """Before a step that writes rows or frames: room for one state's worth of data
        (a frame holds at most the fields a checkpoint holds, plus text overhead)."""
        from ..io.space import ensure_space

        # x2: text frames (extxyz, dump) take about twice the bytes of the binary state
        ensure_space(self.world, self.outdir, 2 * self._frame_bytes, "the next output frame",
                     step=self.step, last_good=self._last_checkpoint)

    def _fingerprint_text(self) -> str:
        """The case minus what may change on restart (run length, output settings, layout)."""
        import tomllib

        t = tomllib.loads(self.case.text)
        t.get("run", {}).pop("steps", None)
        t.pop("output", None)
        t.pop("layout", None)  # a restart may use another rank count
        return json.dumps(t, sort_keys=True)

    def _restore(self) -> None:
        from ..io.checkpoint import read_checkpoint

        ck = read_checkpoint(self.world, self.restart, case=self._fingerprint_text())
        self.model.restore(ck)
        for c in self.couplers:
            c.restore(ck)
        self.step, self.time = int(ck.step), float(ck.time)
        self._ckpt_ledger = None
        if "run/ledger" in ck.names:
            root = self.world.Get_rank() == 0
            v = ck.take("run/ledger", np.arange(3 if root else 0, dtype=np.int64))
            self._ckpt_ledger = self.world.bcast(np.asarray(v) if root else None, root=0)

    def _frame_due(self, step: int) -> bool:
        """Atoms frames on patch ranks, field frames on continuum ranks."""
        return self.triggers["atoms" if self.model.kind == "patch" else "fields"](step)

    def _events(self) -> list[int]:
        out = self.case.output
        return [e for e in (out.every, out.checkpoint_every, out.atoms_every, out.fields_every, self.poll_every) if e]

    # -- the run -------------------------------------------------------------------------
    def run(self) -> int:
        from ..io.hdf5 import run_metadata
        from ..io.progress import Progress
        from ..io.series import ScalarSeries
        from ..io.signals import SignalGuard

        case, world, tr = self.case, self.world, self.triggers
        if world.Get_rank() == 0:
            self.outdir.mkdir(parents=True, exist_ok=True)
        world.Barrier()
        self.metadata = run_metadata(case.text, "; ".join(self.layout.plan.describe()))
        if self.restart:
            self._restore()
        resume = self.step if self.restart else None
        self._first_step, self._booked = self.step, {}
        self._last_checkpoint = self.restart
        self._frame_bytes = _nbytes(self._state_arrays())
        # the stop handlers go in before any output exists: a signal that arrives while the
        # step-0 outputs are written (a job script may signal as soon as run.csv exists) is
        # honoured at the first poll (checkpoint, exit 75) instead of killing the rank
        guard = SignalGuard().__enter__()
        series = ScalarSeries(world, self.outdir / "run.h5", metadata=self.metadata, resume_step=resume)
        self.model.open_output(self.metadata, resume_step=resume)
        progress = Progress(world, total_steps=case.run.steps, dt=case.run.dt, n_atoms=self.n_atoms,
                            first_step=self.step, every=max(case.output.every, 1), time_unit=self.units.time)
        last = case.run.steps
        series_due = AnyOf(tr["series"], Periodic(1, phase=last) if last else tr["series"])
        status, committed = "ok", False
        wall0 = _time.perf_counter()
        self._drift_max = 0.0
        try:
            row = self._ledger_row(first=not self.restart)
            self._e0 = self._e_last = row["E_total"]
            self._row_last = row
            if self.restart and self._ckpt_ledger is not None:
                # the reference total and the exchanged energy continue from the checkpoint
                self._e0 = float(self._ckpt_ledger[0])
                self.scale.value = max(self.scale.value, float(self._ckpt_ledger[1]))
                self._drift_max = float(self._ckpt_ledger[2])
            if not self.restart or not series.rows or series.rows[-1][0] != self.step:
                # fresh run (or a restart into a folder without the earlier table): the state
                # the run starts from; frames only for a fresh run (a restart's are on file)
                series.append(self.step, self.time, {**row, "energy_scale": self.scale.value})
            if not self.restart and self._frame_due(0):
                self.model.write_frame(0, 0.0)
            events = self._events()
            wd = None
            if case.run.watchdog_s > 0:
                from ..io.rundir import release_all
                from ..io.watchdog import Watchdog

                wd = Watchdog(world, self.outdir, case.run.watchdog_s, on_abort=release_all).start()
            while self.step < last:
                n = min(e - self.step % e for e in events) if events else last
                n = max(1, min(n, last - self.step))
                self._advance(n)
                self._book_progress(progress)
                self.step += n
                self.time = self.step * case.run.dt
                progress.update(self.step - 1, self.time)
                if series_due(self.step) or tr["atoms"](self.step) or tr["fields"](self.step):
                    self._ensure_output_space()  # collective: a full disk ends every rank here
                if series_due(self.step):
                    self.model.check_finite(self.step)
                    row = self._ledger_row()
                    if self.dynamic:
                        self._check_energy(row)
                        self._drift_max = max(self._drift_max, abs(self._drift(row)))
                    series.append(self.step, self.time, {**row, "energy_scale": self.scale.value})
                if self._frame_due(self.step):
                    self.model.write_frame(self.step, self.time)
                if wd is not None:
                    wd.beat(self.step)
                stop = guard.should_stop(world)
                if tr["checkpoint"](self.step) or stop:
                    ck = self._checkpoint(self.outdir / f"checkpoint_{self.step:08d}.h5")
                    from ..io.rundir import prune_checkpoints

                    prune_checkpoints(world, self.outdir, case.output.keep_checkpoints,
                                      case.output.pin_checkpoints)
                    if stop:
                        status = "stopped"
                        if world.Get_rank() == 0:
                            print(guard.restart_hint(str(ck), case.source, size=world.Get_size()), flush=True)
                        break
            if wd is not None:
                wd.stop()
            committed = True
        finally:
            guard.__exit__(None, None, None)
            series.close()
            self.model.close(commit=committed)
        wall = _time.perf_counter() - wall0
        timing = self._timing(wall)  # collective
        extra: dict = {}
        for c in self.couplers:
            extra.update(c.summary())  # collective
        extras = world.allgather(extra if self.model.comm.Get_rank() == 0 else {})
        if world.Get_rank() == 0:
            final = series.rows[-1][2] if series.rows else {}
            summary = {"status": status, "step": self.step, "time": self.time, "wall_seconds": wall,
                       "ranks": world.Get_size(), "atoms": self.n_atoms, **final}
            if "E_total" in final and self.dynamic:
                summary["energy_scale"] = self.scale.value
                summary["energy_drift"] = self._drift(final)
                summary["energy_drift_max"] = max(self._drift_max, abs(self._drift(final)))
            for e in extras:
                summary.update(e)
            steps_done = max(self.step - self._first_step, 1)
            summary["timing_ms_per_step"] = {r: {k: 1e3 * v / steps_done for k, v in sorted(d.items())}
                                             for r, d in timing.items()}
            for line in format_table(timing, steps_done, wall):
                print(line)
            from ..io.commit import commit_text as atomic_write_text

            atomic_write_text(str(self.outdir / "summary.json"), json.dumps(summary, indent=1, default=float))
            print(f"done: {self.step} steps, {wall:.2f} s wall, output in {self.outdir}", flush=True)
        return EXIT_STOPPED if status == "stopped" else 0


def build_simulation(case: Case, layout: Layout, *, restart: str | None = None,
                     output: str | None = None) -> Simulation:
    """The :class:`Simulation` of this rank (collective over ``layout.world``)."""
    from .build import build

    outdir = Path(output or case.output.directory)
    if not outdir.is_absolute() and case.source:
        outdir = Path(os.getcwd()) / outdir
    if restart and not os.path.isfile(restart):
        raise CheckpointError(f"--restart {restart}: no such checkpoint file")
    model, couplers = build(case, layout, outdir)
    return Simulation(case, layout, model, couplers, outdir=outdir, restart=restart)


def _nbytes(arrays: dict) -> int:
    """Bytes of this rank's rows in ``name -> (ids, values)``."""
    return int(sum(np.asarray(i).nbytes + np.asarray(v).nbytes for i, v in arrays.values()))
