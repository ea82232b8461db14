"""The run facade: one rank's part of a case, composed of stand-alone pieces.

:func:`build_simulation` turns a validated :class:`~mscouple.config.Case` and this rank's
:class:`~mscouple.layout.Layout` into a :class:`Simulation`, which owns

* the rank's **model** (a :class:`PatchModel` around an MD system on the patch comm, or a
  :class:`ContinuumModel` around the FE problem on the continuum comm),
* for coupled cases the **coupler** (handshake over the intercommunicator),
* the **writers** (scalar series, atoms, fields, checkpoints) fired by triggers,
* the **progress** reporter and the **signal guard**.

Step order of :meth:`Simulation.run`::

    restore the checkpoint (if --restart)
    write the initial output (step 0 of a fresh run)
    while step < steps:
        n  = steps to the next event (output, checkpoint, signal poll; <= poll)
        advance n steps            (coupled: coupler.step — both scales, exchanging every step;
                                    otherwise: model.advance, compiled loops)
        step += n
        if output due:     energies reduced per role, combined on the run comm → series;
                           atoms (extxyz/dump/H5MD) and fields (XDMF) on their role comms
        check finiteness   (SimulationError names step, role and quantity)
        if checkpoint due or a stop signal arrived (agreed by allreduce): checkpoint
        if stopped by signal: print how to restart, exit 75
    final output, summary.json, close files (atomic renames)

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

from .config import Case
from .errors import CheckpointError, ConfigError, SimulationError
from .layout import Layout
from .units import get_units

EXIT_STOPPED = 75
# continuum cell names -> the XDMF writer's (meshio-style) names
_XDMF_CELL = {"interval": "line", "segment": "line", "tetrahedron": "tetra", "quadrilateral": "quad", "hex": "hexahedron"}


# ---------------------------------------------------------------------------------------
class PatchModel:
    """An atomistic patch stepped on its own communicator."""

    kind = "patch"

    def __init__(self, comm, case: Case, name: str, outdir: Path, coupled: bool):
        from .builders import build_patch

        self.comm = comm
        self.name = name
        self.spec = case.patch(name)
        self.case = case
        dim = case.continuum.dim if case.continuum is not None else len(self.spec.region.lo)
        self.system = build_patch(comm, self.spec, units=case.units, dt=case.run.dt, dim=dim,
                                  coupled_dims=dim if coupled else 0)
        self.dim = dim
        self.outdir = outdir
        self.atoms_writer = None

    @property
    def n_atoms(self) -> int:
        return int(self.system.natoms)

    def advance(self, nsteps: int) -> None:
        self.system.run(nsteps)

    def energies(self) -> dict[str, float]:
        s = self.system
        ke, pe = s.kinetic_energy(), s.potential_energy()
        return {f"E_kin_{self.name}": ke, f"E_pot_{self.name}": pe,
                f"T_{self.name}": s.temperature()}

    def check_finite(self, step: int) -> None:
        s = self.system
        bad = not (np.all(np.isfinite(s.x)) and np.all(np.isfinite(s.v)))
        if self.comm.allreduce(int(bad)):
            raise SimulationError(f"step {step}: patch '{self.name}': non-finite atom positions or "
                                  f"velocities (time step too large or potential too stiff?)")
        # free directions: an atom more than a box length outside has left the model
        lo, hi = np.asarray(s.box.lo, float), np.asarray(s.box.hi, float)
        L = hi - lo
        free = ~np.asarray(s.box.periodic, bool)
        x = np.asarray(s.x)
        out = int(np.sum(np.any(((x < lo - L) | (x > hi + L)) & free, axis=1))) if len(x) else 0
        out = self.comm.allreduce(out)
        if out:
            raise SimulationError(f"step {step}: patch '{self.name}': {out} atom(s) left the box "
                                  f"(more than one box length beyond a free boundary)")

    def open_output(self, metadata, resume_step: int | None) -> None:
        self.resume_step = resume_step
        every = self.case.output.atoms_every
        if not every:
            return
        from .io import atoms as A

        s = self.system
        lo = np.asarray(s.box.lo, float)
        edges = np.asarray(s.box.hi, float) - lo
        boundary = ["periodic" if p else "free" for p in s.box.periodic]
        fmt = self.case.output.atoms_format
        suffix = {"extxyz": "xyz", "lammps-dump": "dump", "h5md": "h5md"}[fmt]
        path = self.outdir / f"atoms_{self.name}.{suffix}"
        rs = self.resume_step
        if fmt == "extxyz":
            self.atoms_writer = A.ExtxyzWriter(self.comm, path, box_lo=lo, box_edges=edges, boundary=boundary, resume_step=rs)
        elif fmt == "lammps-dump":
            self.atoms_writer = A.LammpsDumpWriter(self.comm, path, box_lo=lo, box_edges=edges, boundary=boundary, resume_step=rs)
        else:
            self.atoms_writer = A.H5MDWriter(self.comm, path, box_edges=edges, boundary=boundary,
                                             units=self.case.units, metadata=metadata, resume_step=rs)

    def write_output(self, step: int, t: float) -> None:
        if self.atoms_writer is None or step % self.case.output.atoms_every:
            return
        s = self.system
        self.atoms_writer.write(step, t, s.ids, s.unwrapped_positions(), s.v)

    def checkpoint_arrays(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """``<patch>/x`` (unwrapped) and ``<patch>/v`` for readers, plus the MD system's full
        restart state under ``<patch>/`` (:mod:`mscouple.atomistic.state`). Local."""
        s = self.system
        ids = np.asarray(s.ids)
        out = {f"{self.name}/x": (ids, s.unwrapped_positions()), f"{self.name}/v": (ids, np.array(s.v))}
        arrays, _ = s.checkpoint_state()
        out.update({f"{self.name}/{k}": v for k, v in arrays.items()})
        return out

    def restore(self, ckpt) -> None:
        """Exact state on the checkpoint's patch layout (bit-for-bit continuation), atoms
        redistributed by position on another rank count. Collective over the patch comm
        (a checkpoint read on a larger comm, e.g. the world of a coupled run, is re-read on
        the patch comm: ``take`` is collective over its comm, and the other roles must not
        need to take part)."""
        s = self.system
        if ckpt.comm.Get_size() != self.comm.Get_size():
            from .io.checkpoint import read_checkpoint

            ckpt = read_checkpoint(self.comm, ckpt.path)
        s.restore_state(lambda name, ids: ckpt.take(f"{self.name}/{name}", ids))

    def close(self, commit: bool) -> None:
        if self.atoms_writer is not None:
            self.atoms_writer.close(commit=commit)


class ContinuumModel:
    """The continuum region (PETSc FE) on the continuum communicator."""

    kind = "continuum"

    def __init__(self, comm, case: Case, outdir: Path, cell_weight_fn=None, heat_dt: float | None = None,
                 heat_cell_weight_fn=None):
        from .builders import build_mesh, elastic_material, initial_field
        from .continuum.space import FunctionSpace

        c = case.continuum
        self.comm, self.case, self.spec, self.outdir = comm, case, c, outdir
        self.name = "continuum"
        self.mesh = build_mesh(comm, c, case.source)
        self.dt = case.run.dt
        self.physics = c.physics
        self.fields_writer = None
        self.heat = self.mech = None
        init = initial_field(c.initial, c.dim)
        if c.physics in ("elastodynamics", "elastostatics", "thermomechanics"):
            from .continuum.elasticity import ElasticStatics, ExplicitElastodynamics

            self.vspace = FunctionSpace(self.mesh, c.dim)
            mode = "plane_" + c.material.plane
            mat = elastic_material(c, case.patch(c.material.patch) if c.material.model == "from_patch" else None)
            cls = ElasticStatics if c.physics == "elastostatics" else ExplicitElastodynamics
            cw = None if cell_weight_fn is None else np.asarray(cell_weight_fn(self.mesh.cell_centroids()), float)
            self.mech = cls(self.vspace, mat, mode=mode, cell_weight=cw)
            for bc in c.boundary:
                if bc.kind == "displacement":
                    self.mech.add_dirichlet(bc.where, np.array(bc.value))
                elif bc.kind == "traction":
                    self.mech.add_traction(bc.where, np.array(bc.value))
                elif bc.kind == "force":
                    self.mech.add_nodal_force(bc.where, np.array(bc.value))
            if init is not None and c.initial.field == "displacement" and cls is ExplicitElastodynamics:
                self._set_wave(init, c.initial)
            if cls is ExplicitElastodynamics:
                stable = self.mech.stable_dt()
                if self.dt > stable:
                    raise ConfigError(f"{case.source}: run.dt = {self.dt:g}: expected at most the "
                                      f"explicit stability limit {stable:.4g} of this mesh (CFL)")
        if c.physics in ("heat", "thermomechanics"):
            from .continuum.heat import HeatConduction
            from .continuum.materials import ThermalMaterial

            self.sspace = FunctionSpace(self.mesh, 1)
            tm = ThermalMaterial(c.material.conductivity, c.material.density * c.material.heat_capacity)
            # heat_cell_weight_fn: C [n_cells, dim] -> weight [n_cells] of k and ρc (0: no
            # continuum there, e.g. inside an atomistic patch coupled thermally)
            hw = (None if heat_cell_weight_fn is None
                  else np.asarray(heat_cell_weight_fn(self.mesh.cell_centroids()), float))
            self.heat = HeatConduction(self.sspace, tm, heat_dt or self.dt, cell_weight=hw)
            self.heat.set_temperature(c.temperature)
            if init is not None and c.initial.field == "temperature":
                self.heat.set_temperature(lambda X: c.temperature + init(X))
            for bc in c.boundary:
                if bc.kind == "temperature":
                    self.heat.add_dirichlet(bc.where, bc.value[0])
                elif bc.kind == "heat_flux":
                    self.heat.add_flux(bc.where, bc.value[0])
        self.static_done = False
        self.u_static = None  # statics: the displacement solution (PETSc Vec)

    def _set_wave(self, init, spec) -> None:
        """Travelling longitudinal packet: u = f(x), v = -direction * c * f'(x)."""
        X = self.mesh.coordinates[self.mesh.owned_nodes]
        u = init(X)
        cwave = self.mech.materials[0].wave_speed(self.mesh.dim)
        eps = 1e-6 * spec.width
        dudx = (init(X + np.array([eps] + [0.0] * (X.shape[1] - 1))) -
                init(X - np.array([eps] + [0.0] * (X.shape[1] - 1)))) / (2 * eps)
        self.mech.displacement[:, 0] = u
        self.mech.velocity[:, 0] = -spec.direction * cwave * dudx
        self.mech.u.stateIncrease()
        self.mech.v.stateIncrease()

    n_atoms = 0

    def advance(self, nsteps: int) -> None:
        if self.mech is not None:
            if self.physics == "elastostatics":
                if not self.static_done:
                    self.u_static = self.mech.solve()
                    self.static_done = True
            else:
                self.mech.run(nsteps, self.dt)
        if self.heat is not None:
            self.heat.run(nsteps)

    def energies(self) -> dict[str, float]:
        out: dict[str, float] = {}
        if self.mech is not None:
            if self.physics == "elastostatics":
                if self.u_static is not None:
                    out["E_strain_continuum"] = self.mech.strain_energy(self.u_static)
            else:
                out["E_kin_continuum"] = self.mech.kinetic_energy()
                out["E_strain_continuum"] = self.mech.strain_energy()
        if self.heat is not None:
            out["E_thermal_continuum"] = self.heat.thermal_energy()
        return out

    def check_finite(self, step: int) -> None:
        bad = False
        if self.mech is not None and self.physics != "elastostatics":
            bad |= not (np.all(np.isfinite(self.mech.displacement)) and np.all(np.isfinite(self.mech.velocity)))
        if self.heat is not None:
            bad |= not np.all(np.isfinite(self.heat.temperature))
        if self.comm.allreduce(int(bad)):
            raise SimulationError(f"step {step}: continuum: non-finite nodal values (is run.dt below the stability limit?)")

    def open_output(self, metadata, resume_step: int | None) -> None:
        self.resume_step = resume_step
        if not self.case.output.fields_every:
            return
        from .io.xdmf import XdmfWriter

        topo = self.mesh.output_topology()
        self.fields_writer = XdmfWriter(self.comm, self.outdir / "continuum.h5", points=topo["coordinates"],
                                        point_ids=topo["global_ids"], cells=topo["cells"],
                                        cell_type=_XDMF_CELL.get(topo["cell_type"], topo["cell_type"]),
                                        metadata=metadata, resume_step=self.resume_step)

    def _fields(self) -> dict[str, np.ndarray]:
        f: dict[str, np.ndarray] = {}
        if self.mech is not None:
            if self.physics == "elastostatics":
                u = (self.vspace.owned(self.u_static) if self.u_static is not None
                     else np.zeros((len(self.mesh.owned_nodes), self.mesh.dim)))
            else:
                u = self.mech.displacement
            f["displacement"] = np.array(u)
            if self.physics != "elastostatics":
                f["velocity"] = np.array(self.mech.velocity)
        if self.heat is not None:
            f["temperature"] = np.array(self.heat.temperature)
        return f

    def write_output(self, step: int, t: float) -> None:
        if self.fields_writer is None or step % self.case.output.fields_every:
            return
        self.fields_writer.write(t, point_data=self._fields(), step=step)

    def checkpoint_arrays(self):
        ids = self.mesh.node_global[self.mesh.owned_nodes]
        return {f"continuum/{k}": (ids, v) for k, v in self._fields().items()}

    def restore(self, ckpt) -> None:
        """Nodal fields by global node id (any rank count). Collective over the continuum comm
        (a checkpoint read on the world of a coupled run is re-read on this comm)."""
        if ckpt.comm.Get_size() != self.comm.Get_size():
            from .io.checkpoint import read_checkpoint

            ckpt = read_checkpoint(self.comm, ckpt.path)
        ids = self.mesh.node_global[self.mesh.owned_nodes]
        if self.mech is not None and self.physics != "elastostatics":
            self.mech.displacement[...] = ckpt.take("continuum/displacement", ids).reshape(self.mech.displacement.shape)
            self.mech.velocity[...] = ckpt.take("continuum/velocity", ids).reshape(self.mech.velocity.shape)
            self.mech.u.stateIncrease()
            self.mech.v.stateIncrease()
            self.mech.time = ckpt.time
            # the next half kick uses the forces of the restored state: f = −K u + f_applied
            # (+ external), exactly what the uninterrupted run computed after its drift
            self.mech.compute_forces()
        if self.heat is not None:
            self.heat.temperature[...] = ckpt.take("continuum/temperature", ids).reshape(self.heat.temperature.shape)
            self.heat.T.stateIncrease()
            self.heat.time = ckpt.time

    def close(self, commit: bool) -> None:
        if self.fields_writer is not None:
            self.fields_writer.close(commit=commit)


# ---------------------------------------------------------------------------------------
class Simulation:
    """One rank's part of a run (see the module docstring for the step order)."""

    def __init__(self, case: Case, layout: Layout, *, outdir: Path, restart: str | None = None,
                 poll_every: int = 50):
        self.case, self.layout, self.world = case, layout, layout.world
        self.outdir = outdir
        self.restart = restart
        self.poll_every = max(1, int(poll_every))
        self.units = get_units(case.units)
        self.step = 0
        self.time = 0.0
        self.coupler = None
        coupled = case.handshake is not None
        if coupled:
            from .coupling.driver import build_coupled

            self.model, self.coupler = build_coupled(case, layout, outdir)
        elif layout.is_continuum:
            self.model = ContinuumModel(layout.comm, case, outdir)
        else:
            self.model = PatchModel(layout.comm, case, layout.role, outdir, coupled=False)
        self.n_atoms = self.world.allreduce(self.model.n_atoms if self.model.comm.Get_rank() == 0 else 0)

    # -- pieces of the run ---------------------------------------------------------------
    def _energies(self) -> dict[str, float]:
        mine = self.model.energies()
        if self.coupler is not None:
            mine.update(self.coupler.ledger_terms())
        mine = mine if self.model.comm.Get_rank() == 0 else {}
        merged: dict[str, float] = {}
        for d in self.world.allgather(mine):
            merged.update(d)
        # the conserved total: every energy column except the ledger's bookkeeping terms
        merged["E_total"] = sum(v for k, v in merged.items()
                                if k.startswith(("E_kin_", "E_pot_", "E_strain_", "E_thermal_")))
        if "E_damped" in merged and "E_damping_heat" not in merged:
            # purely mechanical run with a damping band: what it removed left the model
            merged["E_total"] += merged["E_damped"]
        return merged

    def _check_energy(self, energies: dict[str, float]) -> None:
        """Stop on an energy jump past ``run.max_energy_change`` (a blow-up detector)."""
        limit = self.case.run.max_energy_change
        e = energies.get("E_total", 0.0)
        if not np.isfinite(e):
            raise SimulationError(f"step {self.step}: total energy is not finite")
        if limit > 0 and abs(e - self._e_last) > limit * max(self._e_scale, 1e-300):
            worst = max((k for k in energies if k.startswith("E_") and k != "E_total"),
                        key=lambda k: abs(energies[k]), default="E_total")
            raise SimulationError(
                f"step {self.step}: E_total jumped from {self._e_last:.6g} to {e:.6g} "
                f"(> run.max_energy_change = {limit:g} of {self._e_scale:.4g}); largest term {worst}; "
                f"the last good checkpoint is kept")
        self._e_last = e

    def _advance(self, n: int) -> None:
        if self.coupler is not None:
            self.coupler.advance(n)
        else:
            self.model.advance(n)

    def _checkpoint(self, path: Path) -> Path:
        from .io.checkpoint import write_checkpoint

        arrays = self.model.checkpoint_arrays()
        if self.coupler is not None:
            arrays.update(self.coupler.checkpoint_arrays())
        return write_checkpoint(self.world, path, step=self.step, time=self.time,
                                case=self._fingerprint_text(), arrays=arrays,
                                metadata=self.metadata)

    def _fingerprint_text(self) -> str:
        """The case minus what may change on restart (run length, output settings)."""
        import tomllib

        t = tomllib.loads(self.case.text)
        t.get("run", {}).pop("steps", None)
        t.pop("output", None)
        t.pop("layout", None)  # a restart may use another rank count
        return json.dumps(t, sort_keys=True)

    def run(self) -> int:
        from .io.hdf5 import run_metadata
        from .io.progress import Progress
        from .io.series import ScalarSeries
        from .io.signals import SignalGuard

        case, world = self.case, self.world
        out = case.output
        if world.Get_rank() == 0:
            self.outdir.mkdir(parents=True, exist_ok=True)
        world.Barrier()
        self.metadata = run_metadata(case.text, "; ".join(self.layout.plan.describe()))
        if self.restart:
            from .io.checkpoint import read_checkpoint

            ck = read_checkpoint(world, self.restart, case=self._fingerprint_text())
            self.model.restore(ck)
            if self.coupler is not None:
                self.coupler.restore(ck)
            self.step, self.time = int(ck.step), float(ck.time)
        series = ScalarSeries(world, self.outdir / "run.h5", metadata=self.metadata,
                              flush_every=10, resume_step=self.step if self.restart else None)
        self.model.open_output(self.metadata, resume_step=self.step if self.restart else None)
        progress = Progress(world, total_steps=case.run.steps, dt=case.run.dt, n_atoms=self.n_atoms,
                            first_step=self.step, every=max(out.every, 1), time_unit=self.units.time)
        dt = case.run.dt
        status, committed = "ok", False
        wall0 = _time.perf_counter()
        try:
            energies = self._energies()
            self._e_scale = sum(abs(v) for k, v in energies.items() if k.startswith("E_") and k != "E_total")
            self._e_last = energies.get("E_total", 0.0)
            if self.step == 0 or not series.rows or series.rows[-1][0] != self.step:
                # fresh run, or a restart into a folder without the earlier table: record
                # the state the run starts from (energy continuity is visible in the table)
                series.append(self.step, self.time, energies)
                self.model.write_output(0, 0.0)
            events = [out.every, out.checkpoint_every, out.atoms_every, out.fields_every, self.poll_every]
            with SignalGuard() as guard:
                while self.step < case.run.steps:
                    n = min(_to_next(self.step, e) for e in events if e) if any(events) else case.run.steps
                    n = max(1, min(n, case.run.steps - self.step))
                    t0 = _time.perf_counter()
                    self._advance(n)
                    progress.add_time("md" if self.model.kind == "patch" else "fe", _time.perf_counter() - t0)
                    self.step += n
                    self.time = self.step * dt
                    progress.update(self.step - 1, self.time)
                    if self.step % out.every == 0 or self.step == case.run.steps:
                        self.model.check_finite(self.step)
                        energies = self._energies()
                        self._check_energy(energies)
                        series.append(self.step, self.time, energies)
                    self.model.write_output(self.step, self.time)
                    stop = guard.should_stop(world)
                    if (out.checkpoint_every and self.step % out.checkpoint_every == 0) or stop:
                        ck = self._checkpoint(self.outdir / f"checkpoint_{self.step:08d}.h5")
                        if stop:
                            status = "stopped"
                            if world.Get_rank() == 0:
                                print(guard.restart_hint(str(ck), case.source), flush=True)
                            break
            committed = True
        finally:
            series.close()
            self.model.close(commit=committed)
        wall = _time.perf_counter() - wall0
        extra = self.coupler.summary() if self.coupler is not None else {}  # collective
        if world.Get_rank() == 0:
            final = series.rows[-1][2] if series.rows else {}
            summary = {"status": status, "step": self.step, "time": self.time, "wall_seconds": wall,
                       "ranks": world.Get_size(), "atoms": self.n_atoms, **final}
            first = series.rows[0][2] if series.rows else {}
            if "E_total" in first and "E_total" in final and first["E_total"] != 0:
                summary["energy_drift"] = (final["E_total"] - first["E_total"]) / abs(first["E_total"])
            summary.update(extra)
            from .io_atomic import atomic_write_text

            atomic_write_text(str(self.outdir / "summary.json"), json.dumps(summary, indent=1, default=float))
            print(f"done: {self.step} steps, {wall:.2f} s wall, output in {self.outdir}", flush=True)
        return EXIT_STOPPED if status == "stopped" else 0


def _to_next(step: int, every: int) -> int:
    return every - (step % every)


def build_simulation(case: Case, layout: Layout, *, restart: str | None = None,
                     output: str | None = None) -> Simulation:
    """The :class:`Simulation` of this rank (collective over ``layout.world``)."""
    outdir = Path(output or case.output.directory)
    if not outdir.is_absolute() and case.source:
        outdir = Path(os.getcwd()) / outdir
    if restart and not os.path.isfile(restart):
        raise CheckpointError(f"--restart {restart}: no such checkpoint file")
    return Simulation(case, layout, outdir=outdir, restart=restart)
