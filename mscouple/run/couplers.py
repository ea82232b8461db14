"""Couplers behind the run facade: one small contract, a continuum half and a patch half.

Every coupling method the run layer drives implements :class:`Coupler`:

``advance(n)``           n MD steps of the coupled models this coupler drives (the halves
                         exchange over their intercommunicator with a pattern fixed at set-up)
``ledger_terms()``       its ledger columns (:mod:`mscouple.run.ledger`); collective over the
                         intercommunicator on both halves, columns reported by one half only
``checkpoint_arrays()``  its restart state, keyed by name (local arrays with their ids)
``restore(ckpt)``        the inverse; collective over its own role comm only
``summary()``            numbers for ``summary.json``; collective over both halves
``timers``               its wall time per phase on this rank (:mod:`mscouple.run.timers`)

The coupling *methods* live in :mod:`mscouple.coupling` (bridging domain, Schwarz,
power-matched thermostat, damping-to-heat); this module only composes them with the models
and books their energies. A coupler reaches models through their public attributes.
"""
from __future__ import annotations

from time import perf_counter as _perf
from typing import Protocol

import numpy as np

from ..coupling.dynamics import end_projections
from ..coupling.overlap import OverlappedPatchStep
from ..coupling.subcycle import ContinuumSubcycler, cycles
from ..errors import ConfigError, SimulationError
from . import ledger as L
from .models import _reread
from .timers import PhaseTimers

__all__ = ["Coupler", "BridgingContinuum", "BridgingPatch", "SchwarzContinuum", "SchwarzPatch",
           "ThermalContinuum", "ThermalPatch"]


class Coupler(Protocol):
    drives: bool  # True: its advance() steps the model(s) of this rank
    timers: PhaseTimers  # wall time per phase on this rank (mscouple.run.timers)

    def advance(self, n: int) -> None: ...
    def ledger_terms(self) -> list[L.Term]: ...
    def checkpoint_arrays(self) -> dict: ...
    def restore(self, ckpt) -> None: ...
    def summary(self) -> dict: ...


def _root_state(comm, ckpt, key: str, n: int) -> np.ndarray | None:
    """A small state vector written by the continuum root: read back on that root (None on
    the other ranks). Collective over *comm*."""
    ckpt = _reread(ckpt, comm)
    root = comm.Get_rank() == 0
    st = ckpt.take(key, np.arange(n if root else 0, dtype=np.int64))
    return np.asarray(st) if root else None


def _root_array(comm, key: str, st: np.ndarray) -> dict:
    if comm.Get_rank() != 0:
        return {}
    st = np.asarray(st, float)
    return {key: (np.arange(st.size, dtype=np.int64), st)}


# ---------------------------------------------------------------------------------------
# bridging-domain dynamics (Xiao & Belytschko 2004), optionally with damping → heat

def merge_projections(case, couplers) -> bool:
    """Whether a step's end projection may be merged into the next step's first one (this
    half's view; :func:`_agree_merge` makes both halves of an interface agree).

    The bridging-domain projection ``P`` is linear and idempotent, and between a step's end
    projection and the next step's first one only kicks act, so ``P(P(x) + y) = P(x + y)``:
    the end projection changes nothing the next step computes. It is skipped inside an
    ``advance`` (one band solve and one round trip per MD step instead of two) and kept at
    its end, where the full-step velocities are observed (ledger, frames, checkpoints), and
    at a junction of subcycles of different lengths
    (:func:`~mscouple.coupling.dynamics.end_projections`): the state is the same to
    round-off. The merged projection books ½ of its kinetic-energy change, which is exactly
    what the two projections book (``BridgingDomainCoupler.project``'s ``work_scale``), so
    ``W_constraint`` and the drift scale do not change either. Not with a damping band (it
    acts at the end projection, on full-step velocities) nor in thermo-mechanics (the
    continuum half steps in heat intervals the patch does not see).
    """
    thermo = "thermo" in str(getattr(getattr(case, "continuum", None), "physics", ""))
    return not thermo and not any(getattr(cp, "damped", False) for cp in couplers)


def _agree_merge(cp, mine: bool) -> bool:
    """Both halves of one interface: merge only if each says so (collective over its
    intercomm; each group learns the other's minimum)."""
    ic = cp.ex.intercomm
    if ic is None:
        return bool(mine)
    from mpi4py import MPI

    # every rank of both groups takes part, whatever its own answer (a short-circuit here
    # left the patch ranks waiting when the continuum said no: damping 0 with rollers
    # crossing the band deadlocked at the first advance)
    agreed = bool(ic.allreduce(int(bool(mine)), op=MPI.MIN))
    return bool(mine) and agreed


def _agree_overlap(cp, mine: bool) -> bool:
    """Both halves of one interface, at the first advance: the patch half says whether it
    runs the overlapped step, the continuum half learns it (collective over the intercomm;
    the continuum's own answer is ignored). True without an intercomm only if ``mine``."""
    ic = cp.ex.intercomm
    if ic is None:
        return bool(mine)
    from mpi4py import MPI

    return bool(ic.allreduce(int(bool(mine)), op=MPI.MIN))


class BridgingContinuum:
    """Continuum half of a bridging-domain run with one or several patches.

    Each coupled step (velocity Verlet with a RATTLE projection after each half kick):
    continuum kick(dt/2) → for each patch, in case order, the projection exchange with that
    patch (its own intercomm and constraint system) → drift(dt), forces → kick(dt/2) → the
    projections again, with the damping bands. The patches' bands share no node, so the
    projections are independent and their order does not matter.
    Every ``heat_every`` MD steps (thermo-mechanics) the heat part takes one step with the
    energy the damping bands removed meanwhile as its nodal heat source
    (:class:`~mscouple.coupling.thermal.DampingToHeat`).

    ``interfaces``: ``[(patch name, BridgingDomainCoupler, DampingToHeat | None)]``;
    ``side``: the continuum's mechanical side (kick, drift, compute_forces).
    """

    drives = True
    _LEDGER = ("constraint_work", "damping_removed", "damping_heat")
    #: seconds between tests while this half waits for a patch that runs the overlapped step
    #: (``InterfaceExchange.idle_sleep``): the continuum then sleeps instead of spinning in
    #: MPI's wait, leaving the shared core to the patch (the critical role), and the wake-up
    #: latency hides behind the patch's interior pairs. 0: busy waiting throughout
    idle_sleep = 2e-5

    def __init__(self, interfaces: list, model, side, dt: float, *, heat_every: int = 0):
        self.interfaces, self.model, self.side, self.dt = interfaces, model, side, dt
        self.heat_every = int(heat_every)
        self._phase = 0
        self._solve_booked = 0.0
        self.timers = PhaseTimers()
        #: MD steps per continuum force evaluation (``handshake.subcycle``)
        self.subcycle = int(getattr(model.case.handshake, "subcycle", 1))
        self._mvv2e = interfaces[0][1].mvv2e if interfaces else 1.0
        self._merge: list[bool] | None = None  # per interface, agreed with its patch
        if model.heat is not None:
            model.heat.stepped_by_coupler = True

    def thermal_start(self, temperature: float, *, boltzmann: float, mvv2e: float, seed: int,
                      components: int) -> None:
        """Finite temperature: nodal velocities drawn canonical at ``temperature`` (each
        mobile node and coupled component: variance k_B T / M_I, keyed by global node id so
        any layout draws the same), then put on the constraint of every band. The
        M-orthogonal projection of a canonical draw is canonical on the constraint subspace,
        so the coupled system starts in (velocity) equilibrium. Collective with the patches
        (each calls :meth:`BridgingPatch.initial_projection`)."""
        from .._kernels import integrate as _ki

        dyn = self.side.dyn
        if temperature > 0:
            ids = np.ascontiguousarray(self.side.owned_global, dtype=np.int64)
            g = _ki.gaussians(ids, -2, int(seed))[:, :components]
            m = np.asarray(dyn.mass, float)
            sd = np.sqrt(boltzmann * temperature / mvv2e / np.where(m > 0, m, np.inf))
            dyn.velocity[:, :components] = g * sd[:, None]
            dyn.apply_dirichlet()
            dyn.v.stateIncrease()
        for _, cp, _ in self.interfaces:
            cp.project()

    def _merge_flags(self) -> list[bool]:
        """Per interface: may its projections merge (collective with that patch, once)? Not
        when a Dirichlet dof sits on a band node: its kick zeroes the velocity, which is not
        additive over the two half kicks."""
        if self._merge is None:
            dyn = getattr(self.side, "dyn", None)
            fixed = np.asarray(getattr(dyn, "_fixed", ()), dtype=np.int64)
            ncomp = np.asarray(self.side.v).reshape(len(self.side.mass), -1).shape[1]
            flags = []
            for _, cp, d2h in self.interfaces:
                ok = merge_projections(self.model.case, [cp]) and d2h is None and not self.heat_every
                rows = cp._own_rows if cp.gathered else (cp.bdm.nodes if cp.bdm is not None else ())
                clash = bool(fixed.size and np.isin(np.asarray(rows, dtype=np.int64), fixed // ncomp).any())
                if cp.gathered:
                    clash = bool(cp.local_comm.allreduce(int(clash)))
                flags.append(_agree_merge(cp, ok and not clash))
                if _agree_overlap(cp, True) and self.idle_sleep > 0:  # the patch's answer
                    cp.ex.idle_sleep = float(self.idle_sleep)
            self._merge = flags
        return self._merge

    def _steps(self, n: int) -> None:
        """``n`` MD steps; the continuum's force once per cycle of ``subcycle`` steps, as two
        impulses (:mod:`mscouple.coupling.subcycle`; ``subcycle = 1``: kick(dt/2) → drift →
        forces → kick(dt/2) every step). The patches step the same way whatever ``k``.
        Where an interface merges its projections (:func:`merge_projections`) its end
        projections run as ``end_projections`` says, and the first projection after a
        skipped one books ½ of its work."""
        dt, side, T, k = self.dt, self.side, self.timers, self.subcycle
        step0 = self.interfaces[0][1].step_count if self.interfaces else 0
        ends = [end_projections(n, k, step0, m) for m in self._merge_flags()]
        s = 0
        for j in cycles(n, k, step0):
            for i in range(j):
                if i == 0:
                    with T.phase("fe.integrate"):
                        side.kick(0.5 * j * dt)
                with T.phase("handshake.exchange"):
                    for (_, cp, _), e in zip(self.interfaces, ends):
                        cp.project(work_scale=0.5 if s and not e[s - 1] else 1.0)
                with T.phase("fe.integrate"):
                    side.drift(dt)
                if i == j - 1:
                    with T.phase("fe.forces"):
                        side.compute_forces()
                    with T.phase("fe.integrate"):
                        side.kick(0.5 * j * dt)
                with T.phase("handshake.exchange"):
                    for (_, cp, _), e in zip(self.interfaces, ends):
                        if e[s]:
                            cp.project(dt)  # damping acts on full-step velocities
                        cp.step_count += 1
                s += 1
        solve = sum(cp.solve_seconds for _, cp, _ in self.interfaces)
        T.add("handshake.solve", solve - self._solve_booked)
        T.add("handshake.exchange", -(solve - self._solve_booked))
        self._solve_booked = solve

    def advance(self, n: int) -> None:
        if not self.heat_every:
            self._steps(n)
            return
        while n > 0:
            k = min(n, self.heat_every - self._phase)
            self._steps(k)
            n -= k
            self._phase += k
            if self._phase == self.heat_every:
                self._phase = 0
                with self.timers.phase("fe.heat"):
                    for _, _, d2h in self.interfaces:
                        d2h.hand_over(self.heat_every * self.dt)
                    self.model.heat.problem.step()

    def ledger_terms(self) -> list[L.Term]:
        sums = dict.fromkeys(self._LEDGER, 0.0)
        per: list[L.Term] = []
        several = len(self.interfaces) > 1
        for name, cp, _ in self.interfaces:
            d = cp.energies().as_dict()  # collective over that patch's intercomm
            for k in sums:
                sums[k] += d[k]
            if several:
                per += [L.info(f"W_constraint_{name}", d["constraint_work"]),
                        L.info(f"E_damped_{name}", d["damping_removed"])]
            if cp.damping is not None and cp.damping.temperature > 0 and cp.bath_temperature() is not None:
                # the band's temperature on its constraint manifold (atoms and nodes)
                per.append(L.info(f"T_bath_{name}", cp.bath_temperature()))
        thermo = bool(self.heat_every)
        if self.subcycle > 1:
            # leading-order energy offset of the continuum's impulse steps (shadow Hamiltonian):
            # E_total − E_subcycle_error is what the subcycled run conserves
            sub = ContinuumSubcycler(self.side, self._mvv2e, self.model.comm)
            per += [L.info("subcycle", self.subcycle),
                    L.info("E_subcycle_error", sub.energy_error(self.subcycle, self.dt))]
        out = [L.exchanged("W_constraint", sums["constraint_work"]),
               # energy the damping bands took out of the model: added back to the total in a
               # purely mechanical run; in thermo-mechanics it is in E_thermal already
               L.flux("E_damped", sums["damping_removed"], conserved=not thermo)]
        if thermo:
            # removed but not yet handed over (less than one heat interval) is still owed
            out.append(L.flux("E_damping_pending", sums["damping_removed"] - sums["damping_heat"]))
            out.append(L.exchanged("E_damping_heat", sums["damping_heat"]))
        return out + per

    def checkpoint_arrays(self) -> dict:
        out: dict = {}
        for name, cp, d2h in self.interfaces:
            st = [getattr(cp.ledger, k) for k in self._LEDGER] + [d2h.checkpoint_state() if d2h else 0.0]
            out.update(_root_array(self.model.comm, f"coupling/{name}/state", np.array(st)))
        return out

    def restore(self, ckpt) -> None:
        if self.heat_every:
            self._phase = int(ckpt.step) % self.heat_every
        for name, cp, d2h in self.interfaces:
            cp.step_count = int(ckpt.step)
            st = _root_state(self.model.comm, ckpt, f"coupling/{name}/state", len(self._LEDGER) + 1)
            if st is not None:
                for k, v in zip(self._LEDGER, st):
                    setattr(cp.ledger, k, float(v))
                if d2h is not None:
                    d2h.restore_state(float(st[-1]))

    def summary(self) -> dict:
        return {}


class BridgingPatch:
    """Patch half of a bridging-domain run.

    Where :meth:`OverlappedPatchStep.applies <mscouple.coupling.overlap.OverlappedPatchStep.applies>`
    (one or several patch ranks, single-type LJ or EAM — one element or an alloy —, no
    thermostat, fix or indenter; a damping band is served) the step runs the band's pairs first, sends the
    band velocities and computes the interior pairs while the continuum projects
    (:mod:`mscouple.coupling.overlap`); otherwise phase by phase."""

    drives = True
    #: the overlapped step where it applies (False: always phase by phase, the reference)
    overlap = True

    def __init__(self, coupler, model, dt: float):
        self.cp, self.model, self.dt = coupler, model, dt
        self.timers = PhaseTimers()
        #: a moving indenter (``move(dt)`` before each force evaluation, ``book_step()`` after)
        self.indenter = None
        self.subcycle = int(getattr(model.case.handshake, "subcycle", 1))
        self._merge: bool | None = None  # agreed with the continuum half at the first advance
        self._overlapped: OverlappedPatchStep | None = None
        self._use_overlap = False  # decided (and told the continuum half) at the first advance

    def initial_projection(self) -> None:
        """The patch's part of :meth:`BridgingContinuum.thermal_start` (collective)."""
        self.cp.project()

    def advance(self, n: int) -> None:
        """The coupler's step, phase by phase (``cp.step``'s arithmetic; with
        :func:`merge_projections` the end projections as ``end_projections`` says — the same
        pattern as the continuum half's — and the same state to round-off)."""
        md, cp, T, h = self.model.system, self.cp, self.timers, 0.5 * self.dt
        if self._merge is None:
            self._merge = _agree_merge(cp, merge_projections(self.model.case, [cp]))
            self._use_overlap = bool(self.overlap and OverlappedPatchStep.applies(md, cp, self.indenter))
            comm = getattr(md, "comm", None)
            if comm is not None and comm.Get_size() > 1:  # every patch rank takes the same step
                from mpi4py import MPI

                self._use_overlap = bool(comm.allreduce(int(self._use_overlap), op=MPI.MIN))
            _agree_overlap(cp, self._use_overlap)  # the continuum half learns it
        ends = end_projections(n, self.subcycle, cp.step_count, self._merge)
        if self._use_overlap:
            if self._overlapped is None:
                self._overlapped = OverlappedPatchStep(md, cp)
            self._overlapped.run(n, ends, self.dt, T)
            return
        for s in range(n):
            with T.phase("md.integrate"):
                md.kick(h)
            with T.phase("handshake.exchange"):
                cp.project()
            with T.phase("md.integrate"):
                md.drift(self.dt)
            if self.indenter is not None:
                self.indenter.move(self.dt)
            # forces only (the compiled weighted loop; energy and virial are evaluated when
            # the ledger or a writer asks); booked by the MD system (md.force, .neighbor, .ghost)
            md.compute_forces(energy=False, virial=False)
            if self.indenter is not None:
                self.indenter.book_step()
            with T.phase("md.integrate"):
                md.kick(h)
            if ends[s]:
                with T.phase("handshake.exchange"):
                    cp.project(self.dt)
            cp.step_count += 1

    def ledger_terms(self) -> list[L.Term]:
        self.cp.energies()  # collective over the intercomm; the continuum half reports
        md, name = self.model.system, self.model.name
        # kinetic temperatures of the atoms-only core and of the band (dynamical masses
        # (1 − w) m: ⟨m_eff v²⟩ = k_B T per component in equilibrium), patch-wide
        w = self.model.weight_of_owned()
        ke = md.per_atom_kinetic_energy()
        core, band = w == 0, (w > 0) & (w < 1)
        part = np.array([ke[core].sum(), core.sum(), ke[band].sum(), band.sum()], float)
        tot = md.comm.allreduce(part) if md.comm.Get_size() > 1 else part
        kb, d = md.units.boltzmann, md.dimension
        out = []
        if tot[1]:
            out.append(L.info(f"T_core_{name}", 2 * tot[0] / (d * tot[1] * kb)))
        if tot[3]:
            out.append(L.info(f"T_band_{name}", 2 * tot[2] / (d * tot[3] * kb)))
        return out

    def checkpoint_arrays(self) -> dict:
        return {}

    def restore(self, ckpt) -> None:
        self.cp.step_count = int(ckpt.step)  # the damping noise streams are keyed by step

    def summary(self) -> dict:
        # the most band atoms away from their home patch rank at once (0 on one rank); whether
        # the overlapped step ran (1: the band solve was off the patch's critical path)
        r = self.cp.routing
        return {f"routed_atoms_max_{self.model.name}": r.routed_max if r is not None else 0,
                f"overlapped_step_{self.model.name}": int(self._overlapped is not None)}


# ---------------------------------------------------------------------------------------
# alternating Schwarz statics

class _SchwarzHalf:
    """``per_step``: one Schwarz solve per run step (a loading path, e.g. indenter
    increments; both halves set it); ``loading`` (patch half): an object whose
    ``begin_increment()`` / ``end_increment()`` bracket each solve (the indenter driver)."""

    drives = True

    def __init__(self, schwarz, model):
        self.sw, self.model = schwarz, model
        self.result = None
        self.timers = PhaseTimers()
        self.per_step = False
        self.loading = None

    def advance(self, n: int) -> None:
        if self.per_step:
            for _ in range(n):
                if self.loading is not None:
                    self.loading.begin_increment()
                with self.timers.phase("md.relax" if self.model.kind == "patch" else "fe.solve"):
                    self.result = self.sw.solve()
                self._solved()
                if self.loading is not None:
                    self.loading.end_increment()
            return
        if self.result is None:
            # the whole alternating iteration (solves/relaxations and their exchanges)
            with self.timers.phase("md.relax" if self.model.kind == "patch" else "fe.solve"):
                self.result = self.sw.solve()
            self._solved()

    def initial_solve(self) -> None:
        """A loading path's reference: one Schwarz solve before the first increment (both
        halves; collective), e.g. the free surface under an indenter relaxed at depth 0."""
        with self.timers.phase("md.relax" if self.model.kind == "patch" else "fe.solve"):
            self.result = self.sw.solve()
        self._solved()

    def _solved(self) -> None:
        pass

    def ledger_terms(self) -> list[L.Term]:
        if self.result is None:
            return []
        fa, fn = self.sw.residuals()
        if self.model.kind != "continuum":
            return []
        return [L.info("schwarz_iterations", self.result.iterations), L.info("residual_atoms", fa),
                L.info("residual_nodes", fn)]

    def checkpoint_arrays(self) -> dict:
        return {}

    def restore(self, ckpt) -> None:
        raise ConfigError("--restart applies to dynamics; a Schwarz statics run is one solve: rerun it")

    def summary(self) -> dict:
        if self.result is None:
            return {}
        na, nc = self.sw.dofs()
        return {"schwarz_converged": bool(self.result.converged), "schwarz_iterations": int(self.result.iterations),
                "free_dofs_atoms": int(na), "free_dofs_continuum": int(nc)}


class SchwarzContinuum(_SchwarzHalf):
    """Continuum half of alternating Schwarz statics (or of blended statics,
    :class:`~mscouple.coupling.blended_statics.BlendedStatics`, which shares this contract and
    minimises the very energy of both scales booked below): its converged field becomes the
    continuum model's solution.

    A loading path (``per_step``, e.g. indentation) measures from its first solve, the
    relaxed reference u⁰, and books two info columns over the cells whose centroid lies
    outside every patch box (the continuum the atoms do not model):
    ``E_strain_outside`` = E(u) − E(u⁰) there and ``E_strain_outside_2`` = ½ Δuᵀ K Δu, its
    second-order part (the first-order part u⁰ᵀ K Δu is the work of the reference state's
    stress σ(u⁰) through the patch box's faces).

    The stored energy of both scales, for the cut at the patch box (:mod:`mscouple.run.indentation`
    books the atoms' columns): every patch atom's energy change ``E_atoms`` plus the continuum's
    outside the box. For the free atoms in equilibrium at every relaxed increment,
    d(E_atoms + E_indenter) = P dd − Σ_pad F·dx exactly, so
    ``E_atoms + ΔE_indenter − W_indenter = −W_pad`` (to the relaxation tolerance), and the
    ledger of both scales reads ``E_atoms + E_strain_outside + ΔE_indenter − W_indenter =
    E_strain_outside − W_pad``: what the continuum stores outside the box minus what the atoms
    handed to their pad. Alternating Schwarz has no common energy functional, so the two need
    not agree. Their first-order parts are pre-stress work of the reference state (surface
    stress held by the pad: ``W_pad_ref`` = Σ F⁰·Δx; and σ(u⁰) on the continuum side), which
    a stress-free linear continuum cannot match; without them the ledger is
    ``E_atoms + W_pad_ref + E_strain_outside_2 + ΔE_indenter − W_indenter``
    = E_strain_outside_2 − (W_pad − W_pad_ref), the second-order mismatch.

    The ledger of both scales proper uses a partition of unity over the overlap instead of the
    sharp cut: ``E_continuum_w`` = Σ_c (1 − w̄_c)[E_c(u) − E_c(u⁰)] (:meth:`_weighted_energy`),
    the atoms' share in :class:`~mscouple.run.indentation.IndenterDriver`, the residual in
    :func:`~mscouple.run.indentation.both_scales_columns`."""

    _u0 = None

    def _solved(self) -> None:
        self.model.elastic.set_solution(self.sw.u)
        if self.per_step and self._u0 is None:
            el = self.model.elastic
            self._u0 = np.array(el.vspace.to_local(el.solution)).reshape(-1, el.dim)[el.mesh.cells]

    def _outside_energies(self) -> tuple[float, float]:
        """(E(u) − E(u⁰), ½ ΔuᵀKΔu) over the cells outside every patch box (collective)."""
        from ..continuum.elasticity import stiffness_blocks

        el = self.model.elastic
        p = el.problem
        C = el.mesh.cell_centroids()[:, :el.dim]
        inside = np.zeros(len(C), bool)
        for k in self.sw.links:
            inside |= np.all((C > k.regions.patch_lo) & (C < k.regions.patch_hi), axis=1)
        Kc = stiffness_blocks(el.vspace, p.materials, p.cell_material, (~inside) * p.cell_weight, p.mode)
        uc = np.array(el.vspace.to_local(el.solution)).reshape(-1, el.dim)[el.mesh.cells]
        du = uc - self._u0
        e1 = float(np.einsum("cai,cabij,cbj->", self._u0, Kc, du))
        e2 = 0.5 * float(np.einsum("cai,cabij,cbj->", du, Kc, du))
        e1, e2 = self.model.comm.allreduce(np.array([e1, e2]))
        return float(e1 + e2), float(e2)

    def _weighted_energy(self) -> float:
        """Σ_cells (1 − w̄_c) [E_c(u) − E_c(u⁰)] (collective): the continuum's share of the
        ledger of both scales, w̄_c the cell mean of the atoms' share
        (:func:`~mscouple.coupling.schwarz.cell_atom_weight`: 0 in the pad, linear across the
        overlap, 1 in the core)."""
        from ..continuum.elasticity import stiffness_blocks
        from ..coupling.schwarz import cell_atom_weight

        el = self.model.elastic
        p = el.problem
        if getattr(self, "_Kw", None) is None:
            wa = cell_atom_weight(el.mesh.cell_coordinates()[:, :, :el.dim], [k.regions for k in self.sw.links])
            self._Kw = stiffness_blocks(el.vspace, p.materials, p.cell_material, (1.0 - wa) * p.cell_weight, p.mode)
        uc = np.array(el.vspace.to_local(el.solution)).reshape(-1, el.dim)[el.mesh.cells]
        du = uc - self._u0
        e = float(np.einsum("cai,cabij,cbj->", self._u0 + 0.5 * du, self._Kw, du))
        return float(self.model.comm.allreduce(e))

    def ledger_terms(self) -> list[L.Term]:
        out = super().ledger_terms()
        if self.per_step and self._u0 is not None and self.result is not None:
            de, de2 = self._outside_energies()
            out += [L.info("E_strain_outside", de), L.info("E_strain_outside_2", de2),
                    L.info("E_continuum_w", self._weighted_energy())]
        return out


class SchwarzPatch(_SchwarzHalf):
    """Patch half of alternating Schwarz statics (FIRE relaxation of the free atoms)."""


# ---------------------------------------------------------------------------------------
# power-matched thermostat (Wagner, Jones, Templeton & Parks 2008)

class ReservoirHeatSide:
    """The heat part as the thermal coupler sees it, plus the nodes without a continuum
    (core, weight 0: held fixed, reaction 0) and the per-boundary / per-interface-side
    bookkeeping (energy = ∫ P dt of the prescribed nodes).

    ``core_rows``: owned rows of capacity-less nodes; ``labels`` [n_owned] int: −1, or the
    column index (in ``self.names``) whose energy a prescribed node's reaction adds to.
    """

    def __init__(self, side, core_rows: np.ndarray, labels: np.ndarray, names: list[str], flux_power: float):
        self.side = side
        self.local_to_global = side.local_to_global
        self.owned_global = side.owned_global
        self.core = np.asarray(core_rows, dtype=np.int64)
        self.core_values = np.array(side.T[self.core], dtype=float)
        self.labels = np.asarray(labels, dtype=np.int64)
        self.names = names
        self.sign = np.array([1.0 if n.startswith("Q_interface") else -1.0 for n in names])
        self.energy = np.zeros(len(names))  # this rank's ∫ P dt per column
        self.flux_power = float(flux_power)  # Σ F (boundary heat flux, whole continuum)
        self.flux_heat = 0.0
        self.steps = 0
        self.seconds = 0.0  # wall time of the heat steps (this rank)
        self.if_side = np.zeros(0, dtype=np.int64)

    @property
    def T(self) -> np.ndarray:
        return self.side.T

    @property
    def source(self) -> np.ndarray:
        return self.side.source

    def thermal_energy(self) -> float:
        return self.side.thermal_energy()

    def step(self, dt: float, fixed: np.ndarray, values: np.ndarray) -> np.ndarray:
        fixed = np.asarray(fixed, dtype=np.int64)
        n = fixed.size
        t0 = _perf()
        P = self.side.step(dt, np.concatenate([fixed, self.core]),
                           np.concatenate([np.asarray(values, float), self.core_values]))[:n]
        self.seconds += _perf() - t0
        lab = self.labels[fixed]
        hit = lab >= 0
        # reservoirs: heat *into* the continuum (−P); interface nodes: energy to the atoms (+P)
        self.energy += dt * np.bincount(lab[hit], P[hit] * self.sign[lab[hit]], len(self.names))
        self.flux_heat += dt * self.flux_power
        self.steps += 1
        return P


class ThermalContinuum:
    """Continuum half of the power-matched thermostat coupling.

    Every ``thermal_every`` MD steps the coupler couples: the atoms' m v² projected to the
    interface nodes and time-filtered, one heat step of length thermal_every·dt with those
    temperatures prescribed, the reaction powers back to the atoms as thermostat factors.

    Columns: ``W_thermostat`` (energy the thermostat put into the atoms) and
    ``W_thermostat_requested`` (what the continuum handed over; equal to round-off),
    ``Q_boundary`` (heat that entered through the continuum's boundaries: reservoirs + flux;
    enters E_total with sign −1), ``Q_<where>`` per temperature boundary,
    ``Q_interface_lo``/``_hi`` (energy handed to the atoms below/above the patch centre;
    with several patches ``Q_interface_<patch>`` per patch), ``T_interface_lo``/``_hi``
    (``T_interface_<patch>``: filtered interface temperatures), ``power_residual``
    (max_I |Σ_α N_Iα f_α·v_α − P_I| / max|P| over the run).
    """

    drives = True
    _SCALARS = ("thermostat_work", "thermostat_requested", "boundary_heat")

    def __init__(self, coupler, model, dt: float, every: int, heat_side: ReservoirHeatSide):
        self.tc, self.model, self.dt, self.every = coupler, model, dt, int(every)
        self.side = heat_side
        self._phase = 0
        self.timers = PhaseTimers()
        model.heat.stepped_by_coupler = True

    def advance(self, n: int) -> None:
        while n > 0:
            k = min(n, self.every - self._phase)
            n -= k
            self._phase += k
            if self._phase == self.every:
                self._phase = 0
                heat0 = self.side.seconds
                with self.timers.phase("handshake.exchange"):
                    self.tc.couple(self.every * self.dt)
                self.timers.add("fe.heat", self.side.seconds - heat0)
                self.timers.add("handshake.exchange", -(self.side.seconds - heat0))

    def _terms(self) -> list[L.Term]:
        hs, comm = self.side, self.model.comm
        e = np.asarray(comm.allreduce(hs.energy))
        led = self.tc.ledger
        out = [L.exchanged("W_thermostat", led.thermostat_work),
               L.exchanged("W_thermostat_requested", led.thermostat_requested),
               L.flux("Q_boundary", led.boundary_heat + hs.flux_heat, sign=-1.0),
               L.info("power_residual", float(self.tc.max_power_residual))]
        out += [L.exchanged(name, float(v)) for name, v in zip(hs.names, e)]
        T = self.tc.T_filtered
        if T is not None:
            for k, lab in enumerate(getattr(hs, "side_names", ("lo", "hi"))):
                sel = hs.if_side == k
                if np.any(sel):
                    out.append(L.info(f"T_interface_{lab}", float(np.mean(T[sel]))))
        return out

    def ledger_terms(self) -> list[L.Term]:
        self.tc.energies()  # collective over the intercomm
        return self._terms()

    def _state(self) -> np.ndarray:
        led, hs = self.tc.ledger, self.side
        T = self.tc.T_filtered if self.tc.T_filtered is not None else np.full(self.tc.nodes.size, np.nan)
        return np.concatenate([[getattr(led, k) for k in self._SCALARS],
                               [hs.flux_heat, self.tc.power_integral, self.tc.max_power_residual, hs.steps], T])

    def checkpoint_arrays(self) -> dict:
        """Continuum root: ``thermal/state`` (ledger fluxes, filtered interface temperatures)
        and ``thermal/columns`` (per-boundary/interface energies, summed over the continuum)."""
        comm = self.model.comm
        cols = comm.reduce(self.side.energy, root=0)
        out = _root_array(comm, "thermal/state", self._state())
        if comm.Get_rank() == 0:
            out.update(_root_array(comm, "thermal/columns", np.asarray(cols, float)))
        return out

    def restore(self, ckpt) -> None:
        self._phase = int(ckpt.step) % self.every
        comm, hs = self.model.comm, self.side
        st = _root_state(comm, ckpt, "thermal/state", 7 + self.tc.nodes.size)
        cols = _root_state(comm, ckpt, "thermal/columns", hs.energy.size)
        hs.energy[:] = 0.0
        hs.flux_heat = 0.0
        if st is not None:
            led = self.tc.ledger
            for k, v in zip(self._SCALARS, st[:3]):
                setattr(led, k, float(v))
            hs.flux_heat = float(st[3])
            self.tc.power_integral, self.tc.max_power_residual = float(st[4]), float(st[5])
            hs.steps = int(st[6])
            T = np.array(st[7:])
            self.tc.T_filtered = None if np.any(np.isnan(T)) else T
            hs.energy[:] = cols
        if self.tc.gathered:
            self.tc.T_filtered = comm.bcast(self.tc.T_filtered, root=0)

    def summary(self) -> dict:
        terms = {t.name: t.value for t in self._terms()}
        mine = {}
        if self.model.comm.Get_rank() == 0:
            led = self.tc.ledger
            mine = {"thermostat_work_minus_requested": led.thermostat_work - led.thermostat_requested,
                    "thermal_power_residual_max": float(self.tc.max_power_residual),
                    "thermal_power_integral": float(self.tc.power_integral),
                    "thermal_intervals": int(self.side.steps),
                    "interface_temperature": [float(t) for t in (self.tc.T_filtered if
                                              self.tc.T_filtered is not None else [])]}
            mine.update({k: v for k, v in terms.items() if k.startswith("Q_")})
        if self.tc.ex.intercomm is not None:
            self.tc.ex.intercomm.allgather(mine)
        return mine


class ThermalPatch:
    """Patch half of the power-matched thermostat coupling. Thermostatted atoms are found
    again by id after a re-sort; one that migrated to another rank stops the run."""

    drives = True

    def __init__(self, coupler, model, dt: float, every: int):
        from ..coupling.routing import HomeRouting

        self.tc, self.model, self.dt, self.every = coupler, model, dt, int(every)
        self._phase = 0
        md = model.system
        # thermostatted atoms keep their exchange rows wherever they migrate
        self.routing = coupler.routing = HomeRouting(md.comm, md, coupler.atoms)
        self.timers = PhaseTimers()

    def _refresh_atoms(self) -> None:
        self.routing.update()

    def advance(self, n: int) -> None:
        while n > 0:
            k = min(n, self.every - self._phase)
            self.model.system.run(k)
            n -= k
            self._phase += k
            if self._phase == self.every:
                self._phase = 0
                self._refresh_atoms()
                with self.timers.phase("handshake.exchange"):
                    self.tc.couple(self.every * self.dt)

    def ledger_terms(self) -> list[L.Term]:
        self.tc.energies()  # collective over the intercomm; the continuum half reports
        return []

    def checkpoint_arrays(self) -> dict:
        return {}

    def restore(self, ckpt) -> None:
        self._phase = int(ckpt.step) % self.every

    def summary(self) -> dict:
        got = self.tc.ex.intercomm.allgather({}) if self.tc.ex.intercomm is not None else [{}]
        # the most thermostatted atoms away from their home rank at once
        return {**got[0], f"routed_atoms_max_{self.model.name}": self.routing.routed_max}

