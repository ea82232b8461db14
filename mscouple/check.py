"""Pre-flight check: every refusal of ``mscouple run``, computed from the case alone.

``check(case, plan) -> CheckReport`` runs on every rank, identically and without a
communicator (the rank plan is pure data), before the communicator is split and before any
rank imports PETSc or computes. A case ``run`` would refuse raises :class:`ConfigError`
with one line naming the file, the key path, the value and what was expected
(``mscouple check`` and ``mscouple run`` print it and exit 2, nothing written).

What is checked, in order (the first problem is reported):

1. keys accepted by the schema that this combination would not read, and combinations of
   run mode, continuum physics and coupling that no builder serves
   (:data:`mscouple.run.build.BUILDERS`), with their per-coupler limits;
2. boundaries, initial conditions and potentials against the physics that reads them;
   harmonic lattices: first neighbours only, lattice constant at the springs' rest length;
3. memory estimate (:func:`mscouple.scales.memory_estimate`) against the node's memory;
   cutoff + skin against the periodic patch box; the patch's processor grid;
4. explicit elastodynamics: ``run.dt`` below the CFL limit of the mesh (lumped P1/Q1,
   :mod:`mscouple.continuum.cfl`);
5. the handshake geometry, on the mesh nodes and lattice sites the run will build:
   bridging domain (band weights, atoms inside the mesh, zero dynamical masses, a solvable
   constraint system), power-matched thermostat (band edges on nodes, reservoirs away from
   the atoms, every interface node thermostatted), Schwarz statics (simplex mesh, core
   nodes, overlap wider than the elements, atoms inside the patch box).

Warnings (printed, not refused): neighbour lists far larger than the first shell, steps the
check skipped. A lattice constant away from the potential's zero-stress constant is flagged
once, on its row of the estimates table (:func:`mscouple.scales.lattice_estimates`).
Lengths, times and energies are in the case's units.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .config import Case, PatchSpec, _resolve
from .errors import ConfigError
from .layout import RankPlan
from .schema import Context

__all__ = ["CheckReport", "check", "node_memory"]

#: beyond this many cells or atoms the geometric checks are skipped (with a warning):
#: the check must stay cheap next to the run's own set-up
GEOMETRY_LIMIT = 4_000_000
#: neighbours per atom within cutoff + skin, in units of the first shell: warn, refuse
NEIGHBOUR_WARN, NEIGHBOUR_REFUSE = 10, 100

# first- and second-neighbour distances / lattice constant, and first-shell coordination
_SHELLS = {
    "chain": (1.0, 2.0, 2),
    "triangular": (1.0, math.sqrt(3.0), 6),
    "sc": (1.0, math.sqrt(2.0), 6),
    "bcc": (math.sqrt(3.0) / 2.0, 1.0, 8),
    "fcc": (1.0 / math.sqrt(2.0), 1.0, 12),
}
_MECHANICAL = ("displacement", "traction", "force")
_THERMAL = ("temperature", "heat_flux")


@dataclass
class CheckReport:
    """What the check found besides refusals: facts (``notes``) and ``warnings``."""

    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [f"  {n}" for n in self.notes] + [f"  WARNING: {w}" for w in self.warnings]


def node_memory() -> int:
    """Physical memory of this node in bytes (``os.sysconf``)."""
    return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))


def check(case: Case, plan: RankPlan) -> CheckReport:
    """Refuse (``ConfigError``, one line) every case ``mscouple run`` would refuse; return
    the notes and warnings for the rest. Pure: no communicator, no PETSc, no files written."""
    return _Checker(case, plan).run()


# ---------------------------------------------------------------------------------------
class _Checker:
    def __init__(self, case: Case, plan: RankPlan) -> None:
        self.case, self.plan = case, plan
        self.ctx = Context(case.source or "<case>")
        self.report = CheckReport()
        self._mesh = None

    def refuse(self, key: str, value: Any, expected: str) -> ConfigError:
        return self.ctx.error(key, value, expected)

    def run(self) -> CheckReport:
        self.keys_and_combination()
        self.physics_reads()
        self.potential_objects()
        self.resources()
        self.potentials()
        self.cfl()
        self.handshake_geometry()
        return self.report

    # -- 1. keys and combinations ------------------------------------------------------
    def keys_and_combination(self) -> None:
        from .run.build import BUILDERS, coupling_kind

        case, hs, c = self.case, self.case.handshake, self.case.continuum
        if hs is not None and hs.ghost_force_correction:
            raise self.refuse("handshake.ghost_force_correction", True,
                              "false or no key: coupled runs do not apply a ghost-force correction "
                              "(measure ghost forces with mscouple.validation.ghost; remove the key)")
        key = coupling_kind(case)
        if key not in BUILDERS:
            mode, physics, coupling = key
            supported = sorted({(m, p) for m, p, k in BUILDERS if k == coupling})
            raise self.refuse("run.mode", mode,
                              f"a mode that serves continuum.physics = {physics!r} "
                              f"{'with' if coupling != 'none' else 'without'} a [handshake]; supported "
                              f"(mode, physics): {', '.join(f'{m}/{p}' for m, p in supported)}")
        self._direct_solve_ranks(key)
        if hs is None:
            return
        mode, physics, coupling = key
        if hs.thermal and physics not in ("heat", "thermomechanics"):
            raise self.refuse("handshake.thermal", True, "false unless continuum.physics is 'heat' or "
                              f"'thermomechanics' (got {physics!r}: no heat equation receives the energy)")
        if not hs.thermal and physics == "heat":
            raise self.refuse("handshake.thermal", False, "true with continuum.physics = 'heat' (the heat "
                              "equation couples to the atoms through the power-matched thermostat)")
        if hs.statics == "blended" and coupling != "schwarz":
            raise self.refuse("handshake.statics", hs.statics, "'schwarz' (the default) unless run.mode = "
                              "'statics' with continuum.physics = 'elastostatics' (blended statics is a "
                              "quasi-static method)")
        if hs.statics == "blended" and case.continuum.material.model == "dislocation_density":
            raise self.refuse("handshake.statics", hs.statics, "'schwarz' with continuum.material.model = "
                              "'dislocation_density' (blended statics needs a linear elastic continuum)")
        if hs.statics == "blended" and len(case.patches) != 1:
            raise self.refuse("handshake.statics", hs.statics, "'schwarz' with several patches (blended statics "
                              "is built and tested for one patch)")
        if coupling == "schwarz" and len(case.patches) != 1 and case.indenter is not None:
            raise self.refuse("patches", [p.name for p in case.patches],
                              "one patch under an [indenter] (the indenter acts on one patch's atoms)")
        if coupling == "thermostat":
            if hs.damping > 0:
                raise self.refuse("handshake.damping", hs.damping, "0 with continuum.physics = 'heat' (no "
                                  "mechanics to damp; use 'thermomechanics' for a damping band)")
            if case.run.steps % hs.thermal_every:
                raise self.refuse("run.steps", case.run.steps, f"a multiple of handshake.thermal_every = "
                                  f"{hs.thermal_every} (whole coupling intervals)")
            from .coupling.geometry import free_dirs

            for p in case.patches:
                if p.lattice.kind in ("chain", "triangular"):
                    raise self.refuse(f"patches.{p.name}.lattice.kind", p.lattice.kind,
                                      "a 3D lattice (fcc, bcc, sc): the thermal coupling counts 3 degrees "
                                      "of freedom per atom")
                if not any(free_dirs(case, p.name)):
                    raise self.refuse(f"patches.{p.name}.periodic", list(p.periodic),
                                      "a patch free (0) along at least one continuum direction: the thermal "
                                      "coupling needs surfaces facing the continuum")
        if hs.subcycle > 1 and coupling != "bridging":
            raise self.refuse("handshake.subcycle", hs.subcycle,
                              "1 unless the run is bridging-domain dynamics (the continuum's force "
                              "once per k MD steps); remove the key")
        if physics == "thermomechanics" and coupling == "bridging":
            if hs.damping <= 0:
                raise self.refuse("handshake.damping", hs.damping, "a positive damping rate for a "
                                  "thermo-mechanical run (the band turns short waves into heat)")
        if hs.highpass_damping > 0:
            hot = [p.name for p in case.patches if p.temperature > 0]
            if hot:
                raise self.refuse("handshake.highpass_damping", hs.highpass_damping,
                                  f"0 with patch '{hot[0]}' at temperature > 0 (the high-pass band damper "
                                  "has no consistent noise; set patches.*.temperature = 0 or use the "
                                  "plain damping band)")
            if c.mesh.kind == "gmsh" and hs.highpass_cutoff <= 0:
                raise self.refuse("handshake.highpass_cutoff", hs.highpass_cutoff,
                                  "a corner frequency > 0 (rad/time) for a Gmsh mesh (the default 2c/h "
                                  "needs a box mesh's element size)")

    def _direct_solve_ranks(self, key: tuple) -> None:
        """A layout whose continuum needs a parallel direct solve (the Schwarz/blended statics of
        an indenter's loading path, the coupled heat steps, the dislocation-density continuum
        around a patch; :func:`mscouple.continuum.solver.direct_factor_type`) on a PETSc without
        MUMPS is refused here, as the run would refuse it, from PETSc's ``petscconf.h``
        (:mod:`mscouple.petsc_config`; PETSc is not imported). Unknown (no header): not refused."""
        from .petsc_config import petsc_has_package

        case, (_, _, coupling) = self.case, key
        n = len(self.plan.continuum)
        if n < 2 or case.continuum is None:
            return
        direct = ((coupling == "schwarz" and case.indenter is not None) or coupling == "thermostat"
                  or (case.continuum.material.model == "dislocation_density" and bool(case.patches)))
        if direct and petsc_has_package("mumps") is False:
            raise self.refuse("layout.continuum", n, "1: this PETSc has no MUMPS, and this case's continuum "
                              "solves are direct (LU), which is parallel only with MUMPS (build PETSc with "
                              "--download-mumps, or run the continuum on one rank)")

    # -- 2. what the physics reads ------------------------------------------------------
    def physics_reads(self) -> None:
        from .run.models import continuum_parts

        case, c = self.case, self.case.continuum
        if c is not None:
            parts = continuum_parts(c.physics)
            elastic = any(p.startswith("elastic") for p in parts)
            heat = "heat" in parts
            for i, bc in enumerate(c.boundary):
                if bc.kind in _MECHANICAL and not elastic:
                    raise self.refuse(f"continuum.boundary[{i}].kind", bc.kind,
                                      f"one of {', '.join(_THERMAL)} for continuum.physics = {c.physics!r}")
                if bc.kind in _THERMAL and not heat:
                    raise self.refuse(f"continuum.boundary[{i}].kind", bc.kind,
                                      f"one of {', '.join(_MECHANICAL)} for continuum.physics = {c.physics!r}")
                names = self._boundary_names()
                if names is not None and bc.where not in names:
                    raise self.refuse(f"continuum.boundary[{i}].where", bc.where,
                                      f"a boundary of this mesh ({', '.join(sorted(names))})")
            init = c.initial
            if init is not None and init.kind != "rest":
                if init.field == "displacement" and not elastic or init.field == "temperature" and not heat:
                    raise self.refuse("continuum.initial.field", init.field,
                                      f"a field of continuum.physics = {c.physics!r}")
                lo, hi = self._domain_x()
                if not lo <= init.center <= hi:
                    raise self.refuse("continuum.initial.center", init.center,
                                      f"a position inside the continuum domain along x ([{lo:g}, {hi:g}])")
        for p in case.patches:
            init = p.initial
            if init is None or init.kind == "rest":
                continue
            key = f"patches.{p.name}.initial"
            if init.kind != "wave_packet" or p.lattice.kind != "chain" or init.field != "displacement":
                raise self.refuse(f"{key}.kind", init.kind, "'wave_packet' of field 'displacement' on a "
                                  f"chain lattice (patch lattice: {p.lattice.kind!r})")
            lo, hi = p.region.lo[0], p.region.hi[0]
            if not lo <= init.center <= hi:
                raise self.refuse(f"{key}.center", init.center,
                                  f"a position inside the patch region along x ([{lo:g}, {hi:g}])")

    def _domain_x(self) -> tuple[float, float]:
        m = self.case.continuum.mesh
        if m.kind == "gmsh":
            X = self.mesh()[0]
            return float(X[:, 0].min()), float(X[:, 0].max())
        return m.lo[0], m.hi[0]

    def _boundary_names(self) -> set[str] | None:
        c = self.case.continuum
        if c.mesh.kind == "gmsh":
            return set(self.mesh()[3])
        from .continuum.meshgen import BOX_BOUNDARY_NAMES

        return {n for n, tag in BOX_BOUNDARY_NAMES.items() if tag <= 2 * c.dim}

    # -- 2b. potentials and lattices ----------------------------------------------------
    def potential_objects(self) -> None:
        """The potential of every patch, as the run makes it (EAM tables read and checked)."""
        from .builders import make_potential

        self._potentials = {}
        for p in self.case.patches:
            key = f"patches.{p.name}.potential"
            try:
                self._potentials[p.name] = make_potential(p.potential, key)
            except ConfigError as exc:
                raise self.refuse(f"{key}.kind", p.potential.kind, f"a usable potential ({exc})") from None

    def potentials(self) -> None:
        for p in self.case.patches:
            key = f"patches.{p.name}.potential"
            pot = self._potentials[p.name]
            d1f, d2f, _z = _SHELLS[p.lattice.kind]
            a = p.lattice.constant
            d1, d2 = d1f * a, d2f * a
            if p.potential.kind == "harmonic":
                rc = float(pot.cutoff)
                if p.potential.cutoff <= d1 * (1 + 1e-12):
                    # springs act on pairs closer than the cutoff: none at all in this lattice
                    raise self.refuse(f"{key}.cutoff", p.potential.cutoff,
                                      f"a cutoff above the first-neighbour distance {d1:g} of this "
                                      f"{p.lattice.kind} lattice (springs act on pairs closer than the "
                                      f"cutoff: this one bonds no atom): e.g. cutoff = {0.5 * (d1 + d2):.6g}")
                if rc >= d2 * (1 - 1e-12):
                    raise self.refuse(f"{key}.cutoff", p.potential.cutoff,
                                      f"a cutoff below the second-neighbour distance {d2:g} of this "
                                      f"{p.lattice.kind} lattice (springs act up to min(cutoff, 1.5 r0) = "
                                      f"{rc:g}): e.g. cutoff = {0.5 * (d1 + d2):.6g}")
                if abs(d1 - p.potential.r0) > 1e-9 * p.potential.r0:
                    raise self.refuse(f"patches.{p.name}.lattice.constant", a,
                                      f"the zero-stress constant {p.potential.r0 / d1f:.10g} of springs with "
                                      f"r0 = {p.potential.r0:g} (nearest neighbours at r0; else the lattice "
                                      "is prestressed)")
            if p.initial is not None and p.initial.kind == "wave_packet" and p.lattice.kind == "chain":
                h = 1e-4 * a
                _, fp = pot.energy_force([a + h])
                _, fm = pot.energy_force([a - h])
                K = -(fp[0] - fm[0]) / (2 * h)
                if not K > 0:
                    raise self.refuse(f"patches.{p.name}.lattice.constant", a,
                                      f"a spacing where the bond is stable (stiffness there is {K:g}) for a "
                                      "wave packet")
        c = self.case.continuum
        if c is not None and c.material.model == "from_patch":
            try:
                self.material()
            except ConfigError as exc:
                raise self.refuse("continuum.material.model", "from_patch", f"a patch whose constants "
                                  f"can be computed ({exc})") from None
        if c is not None and c.material.model == "dislocation_density" and c.material.patch:
            from .plasticity.case import patch_moduli

            try:
                patch_moduli(self.case.patch(c.material.patch))
            except ConfigError as exc:
                raise self.refuse("continuum.material.patch", c.material.patch, f"a patch whose K, mu and b "
                                  f"can be computed ({exc})") from None

    # -- 3. resources -------------------------------------------------------------------
    def resources(self) -> None:
        from .scales import human_bytes, memory_estimate, number_density

        case = self.case
        mem = memory_estimate(case)
        total = float(sum(mem.values()))
        nodes = _job_nodes()
        limit = node_memory() * nodes
        if total > limit:
            big = max(mem, key=mem.get)
            key, value = (("continuum.mesh.cells", list(case.continuum.mesh.cells)) if big == "continuum"
                          else (f"patches.{big}.region", _region(case.patch(big))))
            raise self.refuse(key, value,
                              f"a case that fits in memory: estimate {human_bytes(total)} "
                              f"({', '.join(f'{k} {human_bytes(v)}' for k, v in mem.items())}) > "
                              f"{human_bytes(limit)} ({nodes} node(s) of {human_bytes(node_memory())}; "
                              "SLURM_JOB_NUM_NODES sets the node count)")
        for p in case.patches:
            key = f"patches.{p.name}"
            pot_rc = self._cutoff(p)
            reach = pot_rc + p.skin
            rho, ldim = number_density(p)
            ball = {1: 2 * reach, 2: math.pi * reach ** 2, 3: 4 / 3 * math.pi * reach ** 3}[ldim]
            z = _SHELLS[p.lattice.kind][2]
            ratio = rho * ball / z
            # the cutoff the run uses: the key's for pair potentials, the file's for EAM and NNP
            rc_key, rc_value = ((f"{key}.potential.file", p.potential.file) if p.potential.kind in ("eam", "nnp")
                                else (f"{key}.potential.cutoff", p.potential.cutoff))
            if ratio > NEIGHBOUR_REFUSE:
                raise self.refuse(rc_key, rc_value,
                                  f"a cutoff with at most {NEIGHBOUR_REFUSE}x the first shell's {z} neighbours "
                                  f"per atom (cutoff + skin = {reach:g} holds about {rho * ball:.0f}: the force "
                                  f"loop would be ~{ratio:.0f}x slower than a first-shell potential)")
            if ratio > NEIGHBOUR_WARN:
                self.report.warnings.append(
                    f"{rc_key} = {rc_value}: cutoff {pot_rc:g} + skin {p.skin:g} holds about {rho * ball:.0f} "
                    f"neighbours per atom, {ratio:.0f}x the first shell ({z}): the force loop is that much slower")
            pot = p.potential
            if pot.kind == "harmonic" and p.temperature > 0:
                # springs end at the cutoff with energy k/2 (rc − r0)²: a bond that crosses it
                # jumps the energy by that much (no shift); rare only if it is ≫ k_B T
                from .units import get_units

                jump = 0.5 * pot.stiffness * (pot.cutoff - pot.r0) ** 2
                kT = get_units(self.case.units).boltzmann * p.temperature
                if jump < 10 * kT:
                    self.report.warnings.append(
                        f"{key}.potential.stiffness = {pot.stiffness:g}: at temperature {p.temperature:g} bonds "
                        f"cross the cutoff {pot.cutoff:g} (k/2 (rc - r0)^2 = {jump:.3g} = {jump / kT:.2g} k_B T, "
                        f"expected >= 10 k_B T) and each crossing jumps the energy by {jump:.3g}: the ledger "
                        "will not close; stiffen the springs or move the cutoff away from r0")
            if _atom_count(p) > GEOMETRY_LIMIT:
                continue
            box = self.lattice(p)[1]
            L = np.asarray(box.lengths, float)
            for k in range(3):
                if box.periodic[k] and reach > 0.5 * L[k] * (1 + 1e-12):
                    self.report.warnings.append(
                        f"{key}: cutoff + skin ({reach:g}) exceeds half the periodic box length {L[k]:g} "
                        f"along {'xyz'[k]}: atoms interact with periodic images of their neighbours "
                        "(correct, with multi-image ghosts), and only wave vectors of that period exist")
            nranks = len(self.plan.patches.get(p.name, ()))
            if nranks > 1:
                from .atomistic.decomposition import choose_grid

                try:
                    choose_grid(nranks, box, reach)
                except ConfigError as exc:
                    raise self.refuse(f"layout.patches.{p.name}", nranks, f"a rank count this patch can be "
                                      f"split over ({exc})") from None

    def _cutoff(self, p: PatchSpec) -> float:
        return float(self._potentials[p.name].cutoff)

    # -- 4. CFL -------------------------------------------------------------------------
    def cfl(self) -> None:
        c = self.case.continuum
        if c is None or c.physics not in ("elastodynamics", "thermomechanics"):
            return
        mesh = self.mesh()
        if mesh is None:
            return
        from .continuum.cfl import stable_dt

        X, cells, cell_type, _ = mesh
        active = None
        if self.case.handshake is not None and self.case.patches:
            active = self.elastic_weight(X[cells].mean(axis=1)) > 0
        limit = stable_dt(X[cells], cell_type, self.material(), "plane_" + c.material.plane, active=active)
        self.report.notes.append(f"explicit stability limit (CFL, lumped mass): dt <= {limit:.6g} "
                                 f"(run.dt = {self.case.run.dt:g})")
        if self.case.run.dt > limit:
            raise self.refuse("run.dt", self.case.run.dt,
                              f"at most the explicit stability limit {limit:.4g} of this mesh (CFL)")
        k = self.case.handshake.subcycle if self.case.handshake is not None else 1
        if k > 1 and k * self.case.run.dt > limit:
            raise self.refuse("handshake.subcycle", k,
                              f"at most {int(limit // self.case.run.dt)}: the continuum's impulse step "
                              f"k·dt must stay below its stability limit {limit:.4g} (CFL)")

    # -- 5. handshake geometry ----------------------------------------------------------
    def handshake_geometry(self) -> None:
        case = self.case
        if case.handshake is None:
            return
        from .run.build import coupling_kind

        coupling = coupling_kind(case)[2]
        if self.mesh() is None or sum(_atom_count(p) for p in case.patches) > GEOMETRY_LIMIT:
            self.report.warnings.append("handshake geometry not checked (mesh or patch above "
                                        f"{GEOMETRY_LIMIT} cells/atoms): the run checks it at set-up")
            return
        {"bridging": self._bridging, "thermostat": self._thermostat, "schwarz": self._schwarz}[coupling]()

    def _bridging(self) -> None:
        from .coupling.transfer import TransferOperator, locate_points

        case, hs = self.case, self.case.handshake
        X, cells, cell_type, _ = self.mesh()
        dim = case.continuum.dim
        kind = "P1" if cell_type in ("interval", "triangle", "tetrahedron") else "Q1"
        w_cell = self.elastic_weight(X[cells].mean(axis=1))
        dens = self.material().density
        vol = _cell_measures(X[cells], cell_type)
        node_mass = np.bincount(cells.ravel(), weights=np.repeat(w_cell * vol * dens, cells.shape[1]),
                                minlength=len(X))
        for p in case.patches:
            x0 = self.lattice(p)[0][:, :dim]
            w = self.elastic_weight(x0)
            if np.any(w >= 1.0):
                raise self.refuse(f"patches.{p.name}.region", _region(p),
                                  "a region whose atoms all lie inside the handshake band's outer edge "
                                  f"({int(np.sum(w >= 1.0))} atom(s) at weight 0): enlarge the region or "
                                  "the band")
            band = x0[w > 0]
            cell_of, values = locate_points(X, cells, band, kind)
            if np.any(cell_of < 0):
                first = band[np.flatnonzero(cell_of < 0)[0]]
                raise self.refuse(f"patches.{p.name}.region", _region(p),
                                  f"a region whose handshake band lies inside the continuum mesh "
                                  f"({int(np.sum(cell_of < 0))} band atom(s) outside it, first at "
                                  f"{np.round(first, 6).tolist()})")
            N = TransferOperator.from_located(cells, cell_of, values, len(X)).matrix.tocsr()
            nodes = np.unique(N.indices)
            if np.any(node_mass[nodes] <= 0):
                raise self.refuse("handshake.width", hs.width,
                                  f"a band whose nodes all carry mass: {int(np.sum(node_mass[nodes] <= 0))} "
                                  f"node(s) of patch '{p.name}''s band touch only cells of the atoms-only core "
                                  "(weight 0, zero dynamical mass; Q1 cells straddling the band edge): put "
                                  "the band edges on element boundaries")
            if hs.multipliers == "nodes":
                self._nodes_system(p, N[:, nodes])

    def _nodes_system(self, p: PatchSpec, N) -> None:
        """Coarse-node multipliers: the constraint matrix Nᵀ (m⁻¹ + N M⁻¹ Nᵀ) N is positive
        definite iff N [band atoms, band nodes] has full column rank (m, M > 0)."""
        n_atoms, n_nodes = N.shape
        if n_nodes > 4000:
            self.report.warnings.append(f"patch '{p.name}': constraint system of {n_nodes} nodes not "
                                        "checked for rank")
            return
        rank = n_atoms if n_nodes > n_atoms else int(np.linalg.matrix_rank(N.toarray()))
        if min(rank, n_atoms) < n_nodes:
            raise self.refuse("handshake.multipliers", "nodes",
                              f"'atoms' for this mesh: the coarse-node constraint system of patch "
                              f"'{p.name}' is singular ({n_nodes} band nodes, rank {min(rank, n_atoms)} from "
                              f"{n_atoms} band atoms; or coarsen the mesh)")

    def _thermostat(self) -> None:
        from .coupling.geometry import in_core, thermal_core
        from .coupling.transfer import TransferOperator, locate_points

        case, hs = self.case, self.case.handshake
        X, cells, cell_type, tags = self.mesh()
        dim = case.continuum.dim
        m = case.continuum.mesh
        tol = 1e-9 * max(1.0, float(np.max(np.abs(np.r_[m.lo, m.hi]))) if m.lo and m.hi else 1.0)
        for i, p in enumerate(case.patches):  # one heat step serves disjoint patches
            for q in case.patches[i + 1:]:
                if all(p.region.lo[k] < q.region.hi[k] and q.region.lo[k] < p.region.hi[k] for k in range(dim)):
                    raise self.refuse(f"patches.{q.name}.region", _region(q),
                                      f"a region apart from patch '{p.name}' ({_region(p)}): thermally "
                                      "coupled patches must not overlap")
        cores = [thermal_core(case, p.name) for p in case.patches]
        centroids = X[cells].mean(axis=1)
        core_cell = np.zeros(len(cells), dtype=bool)
        for lo, hi in cores:
            core_cell |= in_core(centroids, lo, hi, tol)
        t1 = np.unique(cells[~core_cell])
        t0 = np.unique(cells[core_cell])
        if_all = np.intersect1d(t1, t0)
        core_n = np.setdiff1d(t0, t1)
        atoms = np.concatenate([if_all, core_n])
        for i, bc in enumerate(case.continuum.boundary):
            if bc.kind != "temperature":
                continue
            if np.intersect1d(tags[bc.where], atoms).size:
                raise self.refuse(f"continuum.boundary[{i}].where", bc.where,
                                  "a boundary away from the patch's interface and core nodes (a "
                                  "temperature reservoir must not touch the atoms)")
        atol = 1e-6 * max(1.0, hs.width)
        kind = "P1" if cell_type in ("interval", "triangle", "tetrahedron") else "Q1"
        claimed = np.zeros(if_all.size, dtype=bool)
        for p, (lo, hi) in zip(case.patches, cores):
            Xa = X[if_all][:, :dim]
            mine = (np.all((Xa >= lo - atol) & (Xa <= hi + atol), axis=1)
                    & np.any(np.isclose(Xa, lo[None, :], atol=atol) | np.isclose(Xa, hi[None, :], atol=atol), axis=1))
            claimed |= mine
            if_n = if_all[mine]
            if if_n.size == 0:
                raise self.refuse("handshake.width", hs.width,
                                  f"a band whose inner edges (patch '{p.name}' region ± width: {lo.tolist()} .. "
                                  f"{hi.tolist()}) fall on mesh nodes; choose the mesh, region and width so "
                                  "that they do")
            x0 = self.lattice(p)[0][:, :dim]
            thermo = x0[~in_core(x0, lo, hi, tol)]
            cell_of, values = locate_points(X, cells, thermo, kind)
            if np.any(cell_of < 0):
                raise self.refuse(f"patches.{p.name}.region", _region(p),
                                  f"a region whose band atoms lie inside the continuum mesh "
                                  f"({int(np.sum(cell_of < 0))} outside it)")
            N = TransferOperator.from_located(cells, cell_of, values, len(X)).matrix.tocsc()[:, if_n]
            if np.any(np.asarray(N.sum(axis=0)).ravel() <= 0):
                raise self.refuse("handshake.width", hs.width,
                                  "a band one element wide whose atoms reach every interface node (an "
                                  f"interface node of patch '{p.name}' has no thermostatted atom in its support)")
        if if_all.size == 0 or not np.all(claimed):
            lo, hi = cores[0]
            raise self.refuse("handshake.width", hs.width,
                              f"a band whose inner edges (patch region ± width: {lo.tolist()} .. "
                              f"{hi.tolist()}) fall on mesh nodes; choose the mesh, region and width so "
                              "that they do")

    def _schwarz(self) -> None:
        from .coupling.schwarz import SchwarzRegions

        case = self.case
        p = case.patches[0]
        dim = case.continuum.dim
        X, cells, cell_type, _ = self.mesh()
        if cell_type not in ("interval", "triangle", "tetrahedron"):
            raise self.refuse("continuum.mesh.simplex", False, "true: Schwarz statics runs on P1 simplex "
                              "meshes (triangles/tetrahedra)")
        lo, hi = np.array(p.region.lo[:dim], float), np.array(p.region.hi[:dim], float)
        pad, overlap = p.potential.cutoff + p.skin, case.handshake.width
        m = case.continuum.mesh
        if getattr(case, "indenter", None) is not None and m.kind != "gmsh":
            # as run/build.py: a patch face on the continuum's outer boundary is the indented
            # free surface, so the Schwarz box reaches pad + overlap beyond it
            t = 1e-9 * max(1.0, float(np.max(np.abs(np.r_[m.lo, m.hi]))))
            lo = np.where(np.abs(lo - np.array(m.lo[:dim])) < t, lo - pad - overlap, lo)
            hi = np.where(np.abs(hi - np.array(m.hi[:dim])) < t, hi + pad + overlap, hi)
        try:
            R = SchwarzRegions(lo, hi, pad=pad, overlap=overlap)
        except ConfigError as exc:
            raise self.refuse("handshake.width", case.handshake.width, f"an overlap that fits ({exc})") from None
        tol = 1e-9 * R.scale
        if case.handshake.statics == "schwarz":
            # Schwarz's core nodes take the atoms' fit: nodes in the core, and their elements
            # inside the patch less its pad (blended statics has no fit: any mesh will do)
            inD = R.core_distance(X) <= tol
            cD = inD[cells]
            mixed = cD.any(axis=1) & ~cD.all(axis=1)
            layer = np.zeros(len(X), dtype=bool)
            layer[cells[mixed][cD[mixed]]] = True
            if not layer.any():
                raise self.refuse("continuum.mesh.cells", list(case.continuum.mesh.cells),
                                  "a mesh with nodes in the patch core (refine it inside the patch)")
            fit = cells[layer[cells].any(axis=1)]
            far = float(np.max(R.patch_distance(X[fit].reshape(-1, dim))))
            if far > -R.pad + tol:
                raise self.refuse("handshake.width", case.handshake.width,
                                  f"an overlap wider than the elements at the core boundary (they reach "
                                  f"{far + R.pad:.4g} into the pad): widen it or refine the mesh near the patch")
        cut = self._cutoff(p)
        if R.pad < cut:
            raise self.refuse(f"patches.{p.name}.skin", p.skin, f"a pad (cutoff + skin) of at least {cut:g}")
        x0 = self.lattice(p)[0][:, :dim]
        outside = int(np.count_nonzero(R.patch_distance(x0) > tol))
        if outside:
            raise self.refuse(f"patches.{p.name}.region", _region(p), f"a region that holds its lattice "
                              f"({outside} atom(s) outside it)")

    # -- shared pieces ------------------------------------------------------------------
    def mesh(self):
        """(coordinates [n, dim], cells [nc, npc], cell type, boundary name → node ids) of the
        mesh the run builds (serial, NumPy), or None above :data:`GEOMETRY_LIMIT` cells."""
        if self._mesh is not None:
            return self._mesh or None
        from .continuum import meshgen

        c = self.case.continuum
        m = c.mesh
        if m.kind != "gmsh" and math.prod(m.cells) * math.factorial(c.dim) > GEOMETRY_LIMIT:
            self._mesh = ()
            return None
        if m.kind == "box":
            data = meshgen.box(m.cells, m.lo, m.hi, simplex=m.simplex)
        elif m.kind == "graded":
            data = meshgen.graded_box(m.cells, m.lo, m.hi, m.fine_lo, m.fine_hi, m.coarsening, m.simplex)
        else:
            try:
                data = meshgen.read_gmsh(_resolve(self.case.source, m.file), c.dim)
            except ConfigError as exc:
                raise self.refuse("continuum.mesh.file", m.file, f"a readable linear Gmsh mesh ({exc})") from None
        tags = {name: np.unique(data.facets[data.facet_tags == t]) for name, t in data.boundary_names.items()}
        X = np.asarray(data.coordinates, float)[:, :c.dim]
        self._mesh = (X, np.asarray(data.cells, np.int64), data.cell_type, tags)
        return self._mesh

    def material(self):
        if not hasattr(self, "_material"):
            from .builders import elastic_material

            c = self.case.continuum
            patch = self.case.patch(c.material.patch) if c.material.model == "from_patch" else None
            self._material = elastic_material(c, patch)
        return self._material

    def elastic_weight(self, X: np.ndarray) -> np.ndarray:
        """Continuum weight w(X) of the bridging domain (0 in a patch core, 1 outside every band)."""
        from .coupling.geometry import handshake_band

        bands = [handshake_band(self.case, p.name) for p in self.case.patches]
        return np.min([b.continuum_weight(np.asarray(X)) for b in bands], axis=0)

    def lattice(self, p: PatchSpec):
        """Reference positions [N, 3] and box of a patch, as the run lays them."""
        cache = self.__dict__.setdefault("_lattices", {})
        if p.name not in cache:
            from .builders import patch_lattice

            dim = self.case.continuum.dim if self.case.continuum is not None else len(p.region.lo)
            coupled = dim if self.case.handshake is not None else 0
            cache[p.name] = patch_lattice(p, dim, coupled)
        return cache[p.name]


# ---------------------------------------------------------------------------------------
def _job_nodes() -> int:
    for var in ("SLURM_JOB_NUM_NODES", "SLURM_NNODES"):
        try:
            return max(1, int(os.environ[var]))
        except (KeyError, ValueError):
            continue
    return 1


def _atom_count(p: PatchSpec) -> int:
    from .scales import atom_estimate

    return atom_estimate(p)


def _region(p: PatchSpec) -> dict:
    return {"lo": list(p.region.lo), "hi": list(p.region.hi)}


def _cell_measures(Xc: np.ndarray, cell_type: str) -> np.ndarray:
    """[n_cells] lengths/areas/volumes (∫ 1 over each cell, by the degree-2 rule)."""
    from .continuum.reference import quadrature, reference_cell

    ref = reference_cell(cell_type)
    pts, w = quadrature(cell_type, 2)
    J = np.einsum("cad,qak->cqdk", Xc, ref.shape_grad(pts))
    return np.abs(np.linalg.det(J)) @ w
