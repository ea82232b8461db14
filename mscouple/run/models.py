"""Models: the state of one role, built from its own spec section, knowing nothing of the
other role or of the coupling.

* :class:`PatchModel` — an atomistic patch (MD on the patch comm).
* :class:`ContinuumModel` — the continuum region on the continuum comm, *composed* of parts
  built from the case's physics: :class:`ElasticDynamicsPart` or :class:`ElasticStaticsPart`
  and/or :class:`HeatPart`. Each part owns one PETSc problem and answers the same small
  questions (advance, ledger terms, fields, checkpoint, restore, finiteness); the model adds
  nothing but iteration over its parts.

Couplers (``mscouple.run.couplers``) reach a model only through its public attributes
(``system``, ``mesh``, ``elastic.problem``, ``heat.problem``) and the methods below.
Energies are in the case's energy unit; see :mod:`mscouple.run.ledger` for the columns.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..config import Case
from ..errors import ConfigError, SimulationError
from . import ledger as L
from .timers import PhaseTimers

__all__ = ["PatchModel", "ContinuumModel", "ElasticDynamicsPart", "ElasticStaticsPart", "HeatPart",
           "continuum_parts"]

_MECHANICAL = ("displacement", "traction", "force")  # boundary kinds of the elastic part
# continuum cell names -> the XDMF writer's (meshio-style) names
_XDMF_CELL = {"interval": "line", "segment": "line", "tetrahedron": "tetra", "quadrilateral": "quad",
              "hex": "hexahedron"}


def _reread(ckpt, comm):
    """A checkpoint read on another communicator (e.g. the run's world) re-read on *comm*:
    ``take`` is collective over its comm, and the other role must not need to take part."""
    if ckpt.comm.Get_size() != comm.Get_size():
        from ..io.checkpoint import read_checkpoint

        return read_checkpoint(comm, ckpt.path)
    return ckpt


# ---------------------------------------------------------------------------------------
class PatchModel:
    """An atomistic patch stepped on its own communicator.

    ``weight_fn`` (coupled runs): X [n, dim] → continuum weight w of the handshake band; the
    atoms' masses and bond energies are scaled by 1 − w (Xiao & Belytschko 2004).
    """

    kind = "patch"

    def __init__(self, comm: Any, case: Case, name: str, outdir: Path, *, coupled: bool,
                 weight_fn: Callable[[np.ndarray], np.ndarray] | None = None,
                 energy_region: Callable[[np.ndarray], np.ndarray] | None = None):
        import dataclasses

        from ..builders import build_patch, launch_chain_packet

        self.comm, self.case, self.name, self.outdir = comm, case, name, outdir
        self.spec = spec = case.patch(name)
        dim = case.continuum.dim if case.continuum is not None else len(spec.region.lo)
        self.dim = dim
        # the lattice at rest first (thermal velocities do not move atoms): its potential
        # energy, with the band's weights, is the rest state a wave's energy is measured from
        packet = spec.initial is not None and spec.initial.kind == "wave_packet"
        self.system = md = build_patch(comm, dataclasses.replace(spec, initial=None) if packet else spec,
                                       units=case.units, dt=case.run.dt, dim=dim, coupled_dims=dim if coupled else 0)
        self.weight = None
        self._weight_fn = weight_fn
        if weight_fn is not None:
            w = np.asarray(weight_fn(np.asarray(md.x0)[:, :dim]), float)
            self.weight = w
            md.energy_weight[:] = 1.0 - w
            md.mass[:] *= 1.0 - w
            md.invalidate_neighbors()
            md.compute_forces()
        self.rest_potential = float(md.potential_energy())
        # an energy partition (Schwarz statics): only the atoms whose reference position is
        # in ``energy_region`` count; their rest energies travel with them
        self._energy_region = energy_region
        if energy_region is not None:
            md.add_per_atom("e_rest")[:] = md.per_atom_energy()
            self.rest_potential = self._region_sum(md.per_atom("e_rest"))
        if packet:
            launch_chain_packet(md, spec, md.potential)
            md.compute_forces()
        self.atoms_writer = None

    def weight_of_owned(self) -> np.ndarray:
        """Continuum weight w of the owned atoms, in their current order (0 in the core)."""
        if self._weight_fn is None:
            return np.zeros(self.system.nlocal)
        return np.asarray(self._weight_fn(np.asarray(self.system.x0)[:, :self.dim]), float)

    @property
    def n_atoms(self) -> int:
        return int(self.system.natoms)

    def advance(self, nsteps: int) -> None:
        self.system.run(nsteps)

    def phase_seconds(self) -> dict[str, float]:
        """The MD system's own phases (force, neighbor, ghost, integrate) as ``md.*``."""
        return {f"md.{k}": v for k, v in self.system.timing.items() if v > 0}

    def _region_sum(self, per_atom: np.ndarray) -> float:
        """Σ over the owned atoms inside ``energy_region`` (collective on the patch comm)."""
        inside = np.asarray(self._energy_region(np.asarray(self.system.x0)[:, :self.dim]), bool)
        return float(self.comm.allreduce(float(np.sum(np.asarray(per_atom)[inside]))))

    def ledger_terms(self) -> list[L.Term]:
        s = self.system
        epot = (s.potential_energy() if self._energy_region is None
                else self._region_sum(s.per_atom_energy()))
        return [L.state(f"E_kin_{self.name}", s.kinetic_energy()),
                L.state(f"E_pot_{self.name}", epot, rest=self.rest_potential),
                L.info(f"T_{self.name}", s.temperature())]

    def check_finite(self, step: int) -> None:
        s = self.system
        bad = not (np.all(np.isfinite(s.x)) and np.all(np.isfinite(s.v)))
        if self.comm.allreduce(int(bad)):
            raise SimulationError(f"step {step}: patch '{self.name}': non-finite atom positions or "
                                  f"velocities: reduce run.dt (or check the potential's parameters)")
        # free directions: an atom more than a box length outside has left the model
        lo, hi = np.asarray(s.box.lo, float), np.asarray(s.box.hi, float)
        L_ = hi - lo
        free = ~np.asarray(s.box.periodic, bool)
        x = np.asarray(s.x)
        out = int(np.sum(np.any(((x < lo - L_) | (x > hi + L_)) & free, axis=1))) if len(x) else 0
        out = self.comm.allreduce(out)
        if out:
            raise SimulationError(f"step {step}: patch '{self.name}': {out} atom(s) left the box "
                                  f"(more than one box length beyond a free boundary): reduce run.dt "
                                  f"or the initial amplitude/temperature")

    # -- output -----------------------------------------------------------------------
    def open_output(self, metadata: dict, resume_step: int | None) -> None:
        out = self.case.output
        if not out.atoms_every:
            return
        from ..io import atoms as A

        s = self.system
        lo = np.asarray(s.box.lo, float)
        edges = np.asarray(s.box.hi, float) - lo
        boundary = ["periodic" if p else "free" for p in s.box.periodic]
        fmt = out.atoms_format
        suffix = {"extxyz": "xyz", "lammps-dump": "dump", "h5md": "h5md"}[fmt]
        path = self.outdir / f"atoms_{self.name}.{suffix}"
        if fmt == "extxyz":
            # physical masses and element names (when the potential knows them), so that ASE's
            # momenta / masses and OVITO's velocities are the atoms' own
            pm = getattr(s.potential, "masses", None)
            masses = np.asarray(pm if pm is not None else np.atleast_1d(self.spec.mass), float)
            names = getattr(s.potential, "elements", None)
            self.atoms_writer = A.ExtxyzWriter(self.comm, path, box_lo=lo, box_edges=edges, boundary=boundary,
                                               masses=masses, species_names=list(names) if names else None,
                                               resume_step=resume_step)
        elif fmt == "lammps-dump":
            self.atoms_writer = A.LammpsDumpWriter(self.comm, path, box_lo=lo, box_edges=edges, boundary=boundary,
                                                   resume_step=resume_step)
        else:
            self.atoms_writer = A.H5MDWriter(self.comm, path, box_edges=edges, boundary=boundary,
                                             units=self.case.units, metadata=metadata, resume_step=resume_step)

    def write_frame(self, step: int, t: float) -> None:
        if self.atoms_writer is None:
            return
        s = self.system
        self.atoms_writer.write(step, t, s.ids, s.unwrapped_positions(), s.v, types=np.asarray(s.types) + 1)

    def close(self, commit: bool) -> None:
        if self.atoms_writer is not None:
            self.atoms_writer.close(commit=commit)

    # -- restart ----------------------------------------------------------------------
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
        redistributed by position on another rank count. Collective over the patch comm."""
        ckpt = _reread(ckpt, self.comm)
        self.system.restore_state(lambda name, ids: ckpt.take(f"{self.name}/{name}", ids))


# ---------------------------------------------------------------------------------------
# continuum parts

def _stress(problem, u_vec, pressure: float = 0.0) -> np.ndarray:
    """Cell stress [n_cells, dim, dim] of an elastic problem at the global vector ``u_vec``:
    C : ε(u) plus the reference state's pre-stress −``pressure`` I (the thermal pressure the
    continuum carries with ``material.prestress = "thermal"``; 0 without one)."""
    from ..continuum.elasticity import cell_stress

    sp = problem.space
    sig = cell_stress(sp, problem.materials, problem.cell_material, sp.to_local(u_vec), problem.mode)
    if pressure:
        sig = sig - pressure * np.eye(sig.shape[1])
    return sig[:, 0, 0] if sig.shape[1] == 1 else sig  # 1D: the axial stress, a scalar


class ElasticDynamicsPart:
    """Explicit elastodynamics (lumped mass, central differences) of the continuum."""

    name = "elastic"

    def __init__(self, model: "ContinuumModel", cell_weight: np.ndarray | None):
        from ..builders import elastic_material, initial_field, thermal_prestress
        from ..continuum.elasticity import ExplicitElastodynamics
        from ..continuum.factory import apply_boundaries, plane_mode

        case, c = model.case, model.case.continuum
        mat = elastic_material(c, case.patch(c.material.patch) if c.material.model == "from_patch" else None)
        self.problem = ExplicitElastodynamics(model.vspace, mat, mode=plane_mode(c.material),
                                              cell_weight=cell_weight)
        apply_boundaries(self.problem, [b for b in c.boundary if b.kind in _MECHANICAL])
        self.dt = case.run.dt
        init = initial_field(c.initial, c.dim)
        if init is not None and c.initial.field == "displacement":
            self._set_wave(model.mesh, init, c.initial, plane_mode(c.material))
        # the reference state's thermal pressure (material.temperature > 0, prestress = "thermal"):
        # constant nodal forces on the handshake band, booked as the potential −f0·u
        self.prestress = None
        P = thermal_prestress(c, case.patch(c.material.patch) if c.material.model == "from_patch" else None)
        if P != 0.0 and cell_weight is not None:
            from ..continuum.elasticity import prestress_load

            self.prestress = prestress_load(model.vspace, -P * np.eye(c.dim), cell_weight)
            self.problem.f_applied.axpy(1.0, self.prestress)
        self.pressure = P
        stable = self.problem.stable_dt()
        if self.dt > stable:  # `mscouple check` refuses this first; kept as the model's invariant
            raise ConfigError(f"{case.source}: run.dt = {self.dt:g}: expected at most the explicit "
                              f"stability limit {stable:.4g} of this mesh (CFL)")

    def _set_wave(self, mesh, init, spec, mode: str) -> None:
        """Travelling longitudinal packet: u = f(x), v = −direction · c · f′(x), c the
        longitudinal speed along x, √(C_xx/ρ) of the reduced stiffness the dynamics uses
        (1D: E; 2D: plane strain/stress; 3D: C11; as ``mscouple check`` prints it). Not the
        largest wave speed of the material (√((C11 + 2 C12)/ρ) for a cubic one in 3D), which
        splits the packet into a right- and a left-going part."""
        p = self.problem
        X = mesh.coordinates[mesh.owned_nodes]
        from ..builders import initial_gradient

        mat = p.materials[0]
        cwave = float(np.sqrt(mat.voigt(mesh.dim, mode)[0, 0] / mat.inertial_density))
        p.displacement[:, 0] = init(X)
        p.velocity[:, 0] = -spec.direction * cwave * initial_gradient(spec, mesh.dim)(X)  # exact f'(x)
        p.u.stateIncrease()
        p.v.stateIncrease()

    def advance(self, nsteps: int) -> None:
        self.problem.run(nsteps, self.dt)

    def ledger_terms(self) -> list[L.Term]:
        terms = [L.state("E_kin_continuum", self.problem.kinetic_energy()),
                 L.state("E_strain_continuum", self.problem.strain_energy())]
        if self.prestress is not None:
            # potential of the constant pre-stress load: −f0·u (its work f0·Δu leaves it)
            terms.append(L.state("E_prestress_continuum", -float(self.prestress.dot(self.problem.u))))
        return terms

    def fields(self) -> dict[str, np.ndarray]:
        return {"displacement": np.array(self.problem.displacement), "velocity": np.array(self.problem.velocity)}

    def cell_fields(self) -> dict[str, np.ndarray]:
        # the physical stress: the reference state's pre-stress −P I included where it is held
        return {"stress": _stress(self.problem, self.problem.u,
                                  self.pressure if self.prestress is not None else 0.0)}

    def finite(self) -> bool:
        p = self.problem
        return bool(np.all(np.isfinite(p.displacement)) and np.all(np.isfinite(p.velocity)))

    def restore(self, take, time: float) -> None:
        p = self.problem
        p.displacement[...] = take("displacement").reshape(p.displacement.shape)
        p.velocity[...] = take("velocity").reshape(p.velocity.shape)
        p.u.stateIncrease()
        p.v.stateIncrease()
        p.time = time
        # the next half kick uses the forces of the restored state: f = −K u + f_applied,
        # exactly what the uninterrupted run computed after its drift
        p.compute_forces()


class ElasticStaticsPart:
    """Linear elastostatics (CG + GAMG) of the continuum: one solve, or a solution set by a
    coupler (Schwarz statics owns the iteration and hands its converged field here)."""

    name = "elastic"

    def __init__(self, model: "ContinuumModel", cell_weight: np.ndarray | None,
                 energy_weight: np.ndarray | None = None):
        from ..builders import elastic_material
        from ..continuum.elasticity import ElasticStatics
        from ..continuum.factory import apply_boundaries, plane_mode

        case, c = model.case, model.case.continuum
        mat = elastic_material(c, case.patch(c.material.patch) if c.material.model == "from_patch" else None)
        self.problem = ElasticStatics(model.vspace, mat, mode=plane_mode(c.material), cell_weight=cell_weight)
        apply_boundaries(self.problem, [b for b in c.boundary if b.kind in _MECHANICAL])
        self.vspace = model.vspace
        self.n_owned = len(model.mesh.owned_nodes)
        self.dim = model.mesh.dim
        self.solution = None  # PETSc Vec once solved
        self.solved_by_coupler = False
        # per-cell weight of the booked strain energy (an energy partition with the atoms in
        # Schwarz statics: 0 in the cells the atoms account for); None: every cell counts
        self.energy_weight = energy_weight
        self.mesh = model.mesh

    def set_solution(self, u) -> None:
        """The displacement found by a coupler (Schwarz statics); no own solve then."""
        self.solution = u
        self.solved_by_coupler = True

    def advance(self, nsteps: int) -> None:
        if self.solution is None:
            self.solution = self.problem.solve()

    def ledger_terms(self) -> list[L.Term]:
        if self.solution is None:
            return []
        return [L.state("E_strain_continuum", self.strain_energy())]

    def strain_energy(self) -> float:
        """½ uᵀ K u of the solution, each cell's share scaled by ``energy_weight`` (collective)."""
        if self.energy_weight is None:
            return self.problem.strain_energy(self.solution)
        from ..continuum.elasticity import stiffness_blocks

        p = self.problem
        w = self.energy_weight * p.cell_weight
        Kc = stiffness_blocks(self.vspace, p.materials, p.cell_material, w, p.mode)  # [c, a, b, i, j]
        uc = self.vspace.to_local(self.solution).reshape(-1, self.dim)[self.mesh.cells]  # [c, a, i]
        e = 0.5 * float(np.einsum("cai,cabij,cbj->", uc, Kc, uc))
        return float(self.problem.comm.allreduce(e))

    def fields(self) -> dict[str, np.ndarray]:
        u = (self.vspace.owned(self.solution) if self.solution is not None
             else np.zeros((self.n_owned, self.dim)))
        return {"displacement": np.array(u)}

    def cell_fields(self) -> dict[str, np.ndarray]:
        if self.solution is None:
            z = np.zeros((self.mesh.n_cells, self.dim, self.dim))
            return {"stress": z[:, 0, 0] if self.dim == 1 else z}
        return {"stress": _stress(self.problem, self.solution)}

    def finite(self) -> bool:
        return self.solution is None or bool(np.all(np.isfinite(self.solution.getArray())))

    def restore(self, take, time: float) -> None:  # one solve: nothing carried over
        pass


class HeatPart:
    """Heat conduction (backward Euler / Crank–Nicolson) of the continuum.

    ``dt``: the heat step (the MD step times the coupling interval in coupled runs);
    ``cell_weight``: weight of k and ρc per cell (0 where atoms carry the heat).
    The rest state is the uniform ``continuum.temperature``.
    """

    name = "heat"

    def __init__(self, model: "ContinuumModel", dt: float, cell_weight: np.ndarray | None):
        from ..builders import initial_field
        from ..continuum.factory import apply_boundaries, thermal_material_from_spec
        from ..continuum.heat import HeatConduction
        from ..continuum.space import FunctionSpace

        c = model.case.continuum
        self.sspace = FunctionSpace(model.mesh, 1)
        self.problem = HeatConduction(self.sspace, thermal_material_from_spec(c.material), dt,
                                      cell_weight=cell_weight)
        self.problem.set_temperature(c.temperature)
        self.rest = self.problem.thermal_energy()
        init = initial_field(c.initial, c.dim)
        if init is not None and c.initial.field == "temperature":
            self.problem.set_temperature(lambda X: c.temperature + init(X))
        apply_boundaries(self.problem, [b for b in c.boundary if b.kind not in _MECHANICAL])
        self.stepped_by_coupler = False
        self.boundary_heat = 0.0  # heat in through the Dirichlet boundaries since step 0
        self.flux_power = float(model.comm.allreduce(float(np.sum(self.sspace.owned(self.problem.F)))))

    def advance(self, nsteps: int) -> None:
        if self.stepped_by_coupler:  # the coupler steps it and books the boundary heat
            return
        for _ in range(int(nsteps)):
            self.boundary_heat += self.problem.step_boundary_heat() + self.flux_power * self.problem.dt

    def ledger_terms(self) -> list[L.Term]:
        out = [L.state("E_thermal_continuum", self.problem.thermal_energy(), rest=self.rest)]
        if not self.stepped_by_coupler:
            out.append(L.flux("Q_boundary", self.boundary_heat, sign=-1.0))
        return out

    def fields(self) -> dict[str, np.ndarray]:
        return {"temperature": np.array(self.problem.temperature)}

    def finite(self) -> bool:
        return bool(np.all(np.isfinite(self.problem.temperature)))

    def restore(self, take, time: float) -> None:
        p = self.problem
        p.temperature[...] = take("temperature").reshape(p.temperature.shape)
        p.T.stateIncrease()
        p.time = time

    def checkpoint_scalars(self) -> dict[str, float]:
        return {"boundary_heat": self.boundary_heat}

    def restore_scalars(self, values: dict[str, float]) -> None:
        self.boundary_heat = float(values.get("boundary_heat", 0.0))


def continuum_parts(physics: str) -> tuple[str, ...]:
    """Which parts a continuum of this physics is made of (the one table of physics names)."""
    return {"elastodynamics": ("elastic_dynamics",), "elastostatics": ("elastic_statics",),
            "heat": ("heat",), "thermomechanics": ("elastic_dynamics", "heat")}[physics]


# ---------------------------------------------------------------------------------------
class ContinuumModel:
    """The continuum region (PETSc FE) on the continuum communicator, composed of parts.

    ``elastic_weight`` / ``heat_weight``: C [n_cells, dim] → cell weight of the elastic /
    heat part (the bridging-domain band; the atoms-only core of a thermal coupling).
    ``heat_dt``: the heat step when it differs from ``run.dt`` (coupled heat).
    """

    kind = "continuum"
    n_atoms = 0

    def __init__(self, comm: Any, case: Case, outdir: Path, *, elastic_weight=None, heat_weight=None,
                 heat_dt: float | None = None, elastic_energy_weight=None):
        from ..builders import build_mesh
        from ..continuum.space import FunctionSpace

        c = case.continuum
        self.comm, self.case, self.outdir = comm, case, outdir
        self.name = "continuum"
        self.mesh = build_mesh(comm, c, case.source)
        C = self.mesh.cell_centroids()
        self.elastic = self.heat = None
        self.parts: list = []
        for part in continuum_parts(c.physics):
            if part.startswith("elastic"):
                self.vspace = FunctionSpace(self.mesh, c.dim)
                w = None if elastic_weight is None else np.asarray(elastic_weight(C), float)
                if part == "elastic_dynamics":
                    self.elastic = ElasticDynamicsPart(self, w)
                else:
                    ew = (None if elastic_energy_weight is None
                          else np.asarray(elastic_energy_weight(C), float))
                    if c.material.model == "dislocation_density":
                        from .plastic import PlasticStaticsPart

                        self.elastic = PlasticStaticsPart(self, w, ew)
                    else:
                        self.elastic = ElasticStaticsPart(self, w, ew)
                self.parts.append(self.elastic)
            else:
                w = None if heat_weight is None else np.asarray(heat_weight(C), float)
                self.heat = HeatPart(self, heat_dt or case.run.dt, w)
                self.parts.append(self.heat)
        self.fields_writer = None
        self.timers = PhaseTimers()

    def advance(self, nsteps: int) -> None:
        for p in self.parts:
            with self.timers.phase(f"fe.{p.name}"):
                p.advance(nsteps)

    def phase_seconds(self) -> dict[str, float]:
        return dict(self.timers.seconds)

    def ledger_terms(self) -> list[L.Term]:
        return [t for p in self.parts for t in p.ledger_terms()]

    def fields(self) -> dict[str, np.ndarray]:
        f: dict[str, np.ndarray] = {}
        for p in self.parts:
            f.update(p.fields())
        return f

    def check_finite(self, step: int) -> None:
        bad = [p.name for p in self.parts if not p.finite()]
        bad = self.comm.allgather(bad)
        names = sorted({n for b in bad for n in b})
        if names:
            raise SimulationError(f"step {step}: continuum: non-finite nodal values in the {', '.join(names)} "
                                  "field: reduce run.dt (explicit dynamics: below the CFL limit "
                                  "'mscouple check' prints)")

    def open_output(self, metadata: dict, resume_step: int | None) -> None:
        if not self.case.output.fields_every:
            return
        from ..io.xdmf import XdmfWriter

        topo = self.mesh.output_topology()
        self.fields_writer = XdmfWriter(self.comm, self.outdir / "continuum.h5", points=topo["coordinates"],
                                        point_ids=topo["global_ids"], cells=topo["cells"],
                                        cell_type=_XDMF_CELL.get(topo["cell_type"], topo["cell_type"]),
                                        metadata=metadata, resume_step=resume_step)

    def cell_fields(self) -> dict[str, np.ndarray]:
        """Per-cell fields (elastic parts: the Cauchy stress, [n_cells, dim, dim])."""
        f: dict[str, np.ndarray] = {}
        for p in self.parts:
            f.update(getattr(p, "cell_fields", dict)())
        return f

    def write_frame(self, step: int, t: float) -> None:
        if self.fields_writer is not None:
            self.fields_writer.write(t, point_data=self.fields(), cell_data=self.cell_fields(), step=step)

    def close(self, commit: bool) -> None:
        if self.fields_writer is not None:
            self.fields_writer.close(commit=commit)

    def _scalars(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for p in self.parts:
            out.update(getattr(p, "checkpoint_scalars", dict)())
        return out

    def checkpoint_arrays(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        ids = self.mesh.node_global[self.mesh.owned_nodes]
        out = {f"continuum/{k}": (ids, v) for k, v in self.fields().items()}
        sc = self._scalars()
        if sc and self.comm.Get_rank() == 0:  # scalars on the continuum root
            out["continuum/scalars"] = (np.arange(len(sc), dtype=np.int64), np.array(list(sc.values())))
        return out

    def restore(self, ckpt) -> None:
        """Nodal fields by global node id (any rank count); collective over the continuum comm."""
        ckpt = _reread(ckpt, self.comm)
        ids = self.mesh.node_global[self.mesh.owned_nodes]
        for p in self.parts:
            p.restore(lambda name: ckpt.take(f"continuum/{name}", ids), float(ckpt.time))
        names = list(self._scalars())
        if names:
            root = self.comm.Get_rank() == 0
            v = ckpt.take("continuum/scalars", np.arange(len(names) if root else 0, dtype=np.int64))
            v = self.comm.bcast(np.asarray(v) if root else None, root=0)
            for p in self.parts:
                if hasattr(p, "restore_scalars"):
                    p.restore_scalars(dict(zip(names, v)))
