"""Coupled runs from a case file: build the handshake for ``mscouple run``.

Geometry (one patch): the patch region R = [lo, hi] holds the atoms; the handshake band
is the outer shell of R of thickness ``[handshake].width``. The continuum weight w(X) is 0
in the atoms-only core [lo + width, hi − width] and ramps to 1 at the region boundary
(:class:`~mscouple.coupling.band.BoxShellBand`); continuum cells carry w (density and
stiffness scaled), atoms carry 1 − w (mass and bond energies scaled). The lattice is laid
half a spacing inside R, so every atom has 1 − w > 0.

Dynamics: :class:`~mscouple.coupling.dynamics.BridgingDomainCoupler` over the layout's
intercommunicator; the fine-scale (Langevin) damping acts in the outer ``damping_width``
of the band when ``[handshake].damping > 0``.

Heat (``continuum.physics = "heat"`` + ``[handshake] thermal = true``): the power-matched
thermostat coupling of Wagner et al. (2008), :class:`~mscouple.coupling.thermal.ThermalCoupler`.
The continuum exists outside the patch core [lo + width, hi − width] (along the patch's
free directions): the heat cells there have weight 1, cells in the core weight 0 (no
conduction, no capacity: the atoms carry the heat there). The band [lo, lo + width] is
both continuum and atoms. *Interface nodes* are the nodes shared by weight-1 and weight-0
cells (they must lie on the band's inner edge): their temperature is the atoms' projected,
time-filtered kinetic temperature, and the power the continuum passes into them is handed to
the *thermostatted atoms* (the atoms of the band) by the power-matched thermostat. The MD
runs ``thermal_every`` steps between heat steps (heat dt = thermal_every·dt). Temperature
boundaries of the case become the coupler's reservoirs (their reaction powers are the
boundary heat); heat-flux boundaries are booked as boundary heat too. See
:class:`ThermalRun` for the ledger columns.

This module only composes; the physics lives in the coupling modules.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..config import Case
from ..errors import ConfigError
from ..layout import CONTINUUM, Layout
from .band import BoxShellBand, continuum_weight
from .damping import stadium_profile

__all__ = ["build_coupled", "CoupledDynamics", "CoupledStatics", "ThermalRun", "handshake_band"]


def handshake_band(case: Case, name: str) -> BoxShellBand:
    """The band of patch *name*: shell of width ``handshake.width`` inside its region."""
    p = case.patch(name)
    W = case.handshake.width
    dim = case.continuum.dim
    lo = tuple(p.region.lo[k] + W for k in range(dim))
    hi = tuple(p.region.hi[k] - W for k in range(dim))
    return BoxShellBand(lo, hi, W)


class CoupledDynamics:
    """The handshake of one rank in a bridging-domain dynamics run (either side)."""

    def __init__(self, coupler, model, case: Case, damping_to_heat=None, heat_every: int = 0):
        self.cp = coupler
        self.model = model
        self.case = case
        self.dt = case.run.dt
        self.d2h = damping_to_heat  # continuum ranks of a thermo-mechanical run
        self.heat_every = int(heat_every)  # MD steps per heat step (0: no heat equation)
        self._phase = 0

    def advance(self, n: int) -> None:
        """n coupled MD steps; every ``heat_every`` steps the continuum takes one heat step
        with the energy the damping band removed meanwhile as its nodal heat source."""
        if not self.heat_every:
            self.cp.step(self.dt, n)
            return
        while n > 0:
            k = min(n, self.heat_every - self._phase)
            self.cp.step(self.dt, k)
            n -= k
            self._phase += k
            if self._phase == self.heat_every:
                self._phase = 0
                if self.model.kind == "continuum":
                    if self.d2h is not None:
                        self.d2h.hand_over(self.heat_every * self.dt)
                    self.model.heat.step()

    def ledger_terms(self) -> dict[str, float]:
        """Flux terms of the ledger (collective over the intercomm via energies())."""
        led = self.cp.energies()
        d = led.as_dict()
        out = {"E_mechanical": d["mechanical"]}
        if self.model.kind == "continuum":
            # flux terms accumulate on the continuum side (it solves the band system)
            out.update(W_constraint=d["constraint_work"], E_damped=d["damping_removed"])
            if self.heat_every:
                out["E_damping_heat"] = d["damping_heat"]
        return out

    _LEDGER = ("constraint_work", "damping_removed", "damping_heat")

    def checkpoint_arrays(self) -> dict:
        """Continuum root: ``coupling/state`` = the ledger's accumulated fluxes and the
        damping-to-heat hand-over's counter (the constraint operators are rebuilt from the
        reference positions; the damping noise is keyed by step)."""
        if self.model.kind != "continuum" or self.model.comm.Get_rank() != 0:
            return {}
        led = self.cp.ledger
        st = np.array([getattr(led, k) for k in self._LEDGER]
                      + [self.d2h._seen if self.d2h is not None else 0.0])
        return {"coupling/state": (np.arange(st.size, dtype=np.int64), st)}

    def restore(self, ckpt) -> None:
        """Step counter (damping noise streams), heat phase and, on the continuum, the ledger
        (collective over the continuum comm only)."""
        self.cp.step_count = int(ckpt.step)
        if self.heat_every:
            self._phase = int(ckpt.step) % self.heat_every
        if self.model.kind != "continuum":
            return
        comm = self.model.comm
        if ckpt.comm.Get_size() != comm.Get_size():
            from ..io.checkpoint import read_checkpoint

            ckpt = read_checkpoint(comm, ckpt.path)
        root = comm.Get_rank() == 0
        n = len(self._LEDGER) + 1
        st = ckpt.take("coupling/state", np.arange(n if root else 0, dtype=np.int64))
        if root:
            for k, v in zip(self._LEDGER, st[: len(self._LEDGER)]):
                setattr(self.cp.ledger, k, float(v))
            if self.d2h is not None:
                self.d2h._seen = float(st[-1])

    def summary(self) -> dict:
        return {}


def _mesh_cutoff(case: Case) -> float:
    """Highest frequency 2c/h the (coarsest) continuum mesh carries (lumped P1)."""
    import math

    c = case.continuum
    m = c.mesh
    if m.kind == "gmsh":
        raise ConfigError(f"{case.source}: handshake.highpass_cutoff: give it explicitly for a Gmsh mesh")
    h = max((hi - lo) / n for lo, hi, n in zip(m.lo, m.hi, m.cells))
    mat = c.material
    modulus = mat.c11 if mat.model == "cubic" else mat.youngs_modulus
    return 2.0 * math.sqrt(modulus / mat.density) / h


def build_coupled(case: Case, layout: Layout, outdir: Path):
    """``(model, coupler)`` for this rank of a coupled case (collective over the layout)."""
    from ..simulation import ContinuumModel, PatchModel
    from .adapters import ElastodynamicsSide
    from .dynamics import BridgingDomainCoupler
    from .exchange import InterfaceExchange

    hs = case.handshake
    if len(case.patches) != 1:
        raise ConfigError(f"{case.source}: patches: coupled dynamics drives one patch per continuum "
                          f"for now; got {len(case.patches)} ({', '.join(p.name for p in case.patches)})")
    if case.run.mode == "statics":
        return _build_schwarz(case, layout, outdir)
    if case.continuum.physics == "heat":
        return _build_thermal(case, layout, outdir)
    if case.continuum.physics not in ("elastodynamics", "thermomechanics"):
        raise ConfigError(f"{case.source}: continuum.physics = {case.continuum.physics!r}: expected "
                          "'elastodynamics' or 'thermomechanics' for a [handshake] case")
    thermo = case.continuum.physics == "thermomechanics"
    if hs.thermal and not thermo:
        raise ConfigError(f"{case.source}: handshake.thermal = true: expected continuum.physics = "
                          "'thermomechanics' (the heat equation that receives the energy)")
    if thermo and hs.damping <= 0:
        raise ConfigError(f"{case.source}: handshake.damping = {hs.damping:g}: expected a positive "
                          "damping rate for a thermo-mechanical run (the band turns short waves into heat)")
    if thermo and layout.plan.continuum and len(layout.plan.continuum) > 1:
        raise ConfigError(f"{case.source}: layout.continuum = {len(layout.plan.continuum)}: the "
                          "damping-to-heat hand-over runs on a one-rank continuum for now")
    heat_every = hs.thermal_every if thermo else 0
    name = case.patches[0].name
    band = handshake_band(case, name)
    dim = case.continuum.dim
    gamma_fn = None
    if hs.damping > 0:
        dw = hs.damping_width or hs.width
        # rate rises from 0 at (width - dw) inside the band to `damping` at the region edge
        gamma_fn = lambda X: stadium_profile(band.distance(X) - (hs.width - dw), dw, hs.damping)  # noqa: E731
    hp_fn, hp_cut = None, 0.0
    if hs.highpass_damping > 0:
        # dashpots on the whole band-atom velocity relative to its time-filtered slow part
        # (Wagner, Karpov & Liu 2004; To & Li 2005): rate rising linearly over the band's inner
        # half, flat beyond; corner at the mesh cut-off 2c/h unless given
        hp_fn = lambda X: hs.highpass_damping * np.clip(band.distance(X) / (0.5 * hs.width), 0.0, 1.0)  # noqa: E731
        hp_cut = hs.highpass_cutoff or _mesh_cutoff(case)
        if any(p.temperature > 0 for p in case.patches):
            raise ConfigError(f"{case.source}: handshake.highpass_damping = {hs.highpass_damping:g}: the "
                              "high-pass band damper is for temperature 0 (no consistent noise model); "
                              "set patches.*.temperature = 0 or highpass_damping = 0")
    from ..units import get_units

    units = get_units(case.units)
    if layout.is_continuum:
        model = ContinuumModel(layout.comm, case, outdir, cell_weight_fn=lambda C: continuum_weight([band], C),
                               heat_dt=heat_every * case.run.dt if thermo else None)
        mesh = model.mesh
        kind = "P1" if mesh.cell_type in ("interval", "triangle", "tetrahedron") else "Q1"
        ex = InterfaceExchange.setup(layout.intercomms[name], "continuum", nodes=mesh.coordinates,
                                     cells=np.asarray(mesh.cells, dtype=np.int64), kind=kind, dim=dim)
        cp = BridgingDomainCoupler(ex, continuum=ElastodynamicsSide(model.mech), components=dim,
                                   multipliers=hs.multipliers, damping=gamma_fn,
                                   temperature=0.0, boltzmann=units.boltzmann, mvv2e=units.mvv2e,
                                   seed=case.patches[0].seed, local_comm=layout.comm,
                                   highpass_damping=hp_fn, highpass_cutoff=hp_cut)
        d2h = None
        if thermo:
            from .adapters import HeatConductionSide
            from .thermal import DampingToHeat

            d2h = DampingToHeat(cp, HeatConductionSide(model.heat))
        return model, CoupledDynamics(cp, model, case, damping_to_heat=d2h, heat_every=heat_every)
    else:
        model = PatchModel(layout.comm, case, name, outdir, coupled=True)
        md = model.system
        w = continuum_weight([band], md.x0[:, :dim])
        if np.any(w >= 1.0):
            raise ConfigError(f"{case.source}: patches.{name}: atoms lie on the outer edge of the "
                              "handshake band (weight 0): enlarge the region or the band")
        md.energy_weight[:] = 1.0 - w
        md.mass[:] *= 1.0 - w
        md.invalidate_neighbors()
        md.compute_forces()
        idx = np.flatnonzero(w > 0)
        ex = InterfaceExchange.setup(layout.intercomms[CONTINUUM], "patch", ids=md.ids[idx],
                                     reference=md.x0[idx], dim=dim)
        cp = BridgingDomainCoupler(ex, patch=md, band_atoms=idx, components=dim,
                                   multipliers=hs.multipliers, damping=gamma_fn,
                                   temperature=0.0, boltzmann=units.boltzmann, mvv2e=units.mvv2e,
                                   seed=case.patches[0].seed, local_comm=layout.comm,
                                   highpass_damping=hp_fn, highpass_cutoff=hp_cut)
    return model, CoupledDynamics(cp, model, case, heat_every=heat_every)


class CoupledStatics:
    """Alternating Schwarz statics (one solve, iterated to tolerance) behind the run facade."""

    def __init__(self, schwarz, model, case: Case):
        self.sw = schwarz
        self.model = model
        self.case = case
        self.result = None

    def advance(self, n: int) -> None:
        if self.result is None:
            self.result = self.sw.solve()
            if self.model.kind == "continuum":
                self.model.static_done = True
                self.model.u_static = self.sw.u

    def ledger_terms(self) -> dict[str, float]:
        if self.result is None:
            return {}
        fa, fn = self.sw.residuals()
        return {"schwarz_iterations": float(self.result.iterations),
                "residual_atoms": float(fa), "residual_nodes": float(fn)}

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


def _build_schwarz(case: Case, layout: Layout, outdir: Path):
    """Schwarz statics: ElasticStatics (continuum ranks) ⇄ FIRE-relaxed patch (patch ranks)."""
    from ..simulation import ContinuumModel, PatchModel
    from .schwarz import SchwarzRegions, SchwarzStatics

    if case.continuum.physics != "elastostatics":
        raise ConfigError(f"{case.source}: continuum.physics = {case.continuum.physics!r}: expected "
                          "'elastostatics' with run.mode = 'statics'")
    p = case.patches[0]
    dim = case.continuum.dim
    regions = SchwarzRegions(np.array(p.region.lo[:dim]), np.array(p.region.hi[:dim]),
                             pad=p.potential.cutoff + p.skin, overlap=case.handshake.width)
    opts = dict(tol=case.run.tolerance, max_iter=case.run.max_iterations, fmax=case.run.tolerance)
    if layout.is_continuum:
        model = ContinuumModel(layout.comm, case, outdir)
        sw = SchwarzStatics(regions, statics=model.mech, intercomm=layout.intercomms[p.name], **opts)
    else:
        model = PatchModel(layout.comm, case, p.name, outdir, coupled=True)
        sw = SchwarzStatics(regions, system=model.system, intercomm=layout.intercomms[CONTINUUM], **opts)
    return model, CoupledStatics(sw, model, case)


# ---------------------------------------------------------------------------------------
# heat: power-matched thermostat coupling (continuum.physics = "heat", handshake.thermal)

def _free_dirs(case: Case, name: str) -> list[bool]:
    """Per continuum direction: is the patch free (non-periodic) there (builders' rule)."""
    p = case.patch(name)
    dim = case.continuum.dim
    per = [bool(f) for f in p.periodic] if p.periodic else [k >= dim for k in range(3)]
    return [not per[k] for k in range(dim)]


def _thermal_core(case: Case, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Core box [lo + width, hi − width] along the patch's free directions (±inf elsewhere)."""
    p = case.patch(name)
    W = case.handshake.width
    free = _free_dirs(case, name)
    lo = np.array([p.region.lo[k] + W if free[k] else -np.inf for k in range(len(free))])
    hi = np.array([p.region.hi[k] - W if free[k] else np.inf for k in range(len(free))])
    return lo, hi


def _in_core(X: np.ndarray, lo: np.ndarray, hi: np.ndarray, tol: float) -> np.ndarray:
    """Points strictly inside the core (by more than ``tol``) [m] bool."""
    X = np.asarray(X, float).reshape(len(X), -1)[:, :lo.size]
    return np.all((X > lo + tol) & (X < hi - tol), axis=1)


class _ReservoirHeatSide:
    """A :class:`~mscouple.coupling.adapters.HeatConductionSide` as the thermal coupler sees it,
    plus the nodes without a continuum (core, weight 0: held fixed, reaction 0) and the
    per-boundary / per-interface-side bookkeeping (energy = ∫ P dt of the prescribed nodes).

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
        P = self.side.step(dt, np.concatenate([fixed, self.core]),
                           np.concatenate([np.asarray(values, float), self.core_values]))[:n]
        lab = self.labels[fixed]
        hit = lab >= 0
        # reservoirs: heat *into* the continuum (−P); interface nodes: energy to the atoms (+P)
        self.energy += dt * np.bincount(lab[hit], P[hit] * self.sign[lab[hit]], len(self.names))
        self.flux_heat += dt * self.flux_power
        self.steps += 1
        return P


class ThermalRun:
    """The handshake of one rank in a heat-coupled run (either side), behind the run facade.

    ``advance(n)``: n MD steps; after every ``thermal_every``-th one the coupler couples
    (atoms' m v² up, heat step of length thermal_every·dt with the projected, filtered
    temperatures on the interface nodes, reaction powers down as thermostat velocity factors).

    Ledger columns (continuum root; state columns come from the models):
    ``W_thermostat`` energy the thermostat put into the atoms, ``W_thermostat_requested`` the
    energy the continuum handed over (equal to round-off), ``Q_boundary`` heat that entered
    through the continuum's boundaries (reservoirs + heat flux), ``Q_<where>`` per temperature
    boundary, ``Q_interface_lo``/``Q_interface_hi`` energy handed to the atoms through the
    interface nodes below/above the patch centre (first free direction),
    ``T_interface_lo``/``_hi`` the filtered interface temperatures (mean per side),
    ``E_balance = E_thermal_continuum + E_kin + E_pot − Q_boundary`` (conserved up to the MD
    integrator's error), ``power_residual`` max_I |Σ_α N_Iα f_α·v_α − P_I| / max|P| at the
    power-matched λ-solve over the run.
    """

    def __init__(self, coupler, model, case: Case, heat_side=None):
        self.tc = coupler
        self.model = model
        self.case = case
        self.dt = case.run.dt
        self.every = int(case.handshake.thermal_every)
        self.heat_side = heat_side  # continuum ranks
        self._phase = 0
        self._ids = None
        self._seen = None
        if coupler.is_patch:
            md = model.system
            self._ids = np.asarray(md.ids)[coupler.atoms].copy()
            self._seen = md.reorder_count

    def _refresh_atoms(self) -> None:
        md = self.model.system
        if md.reorder_count == self._seen:
            return
        ids = np.asarray(md.ids)
        ok = ids.size > 0 or self._ids.size == 0
        idx = np.zeros(0, dtype=np.int64)
        if ids.size:
            order = np.argsort(ids)
            idx = order[np.minimum(np.searchsorted(ids, self._ids, sorter=order), ids.size - 1)]
            ok = np.array_equal(ids[idx], self._ids)
        if not ok:
            from ..errors import SimulationError

            raise SimulationError("a thermostatted atom migrated to another patch rank; the thermal "
                                  "coupling needs them on their rank (use fewer patch ranks)")
        self.tc.atoms = idx
        self._seen = md.reorder_count

    def advance(self, n: int) -> None:
        while n > 0:
            k = min(n, self.every - self._phase)
            if self.model.kind == "patch":
                self.model.system.run(k)
            n -= k
            self._phase += k
            if self._phase == self.every:
                self._phase = 0
                if self.model.kind == "patch":
                    self._refresh_atoms()
                self.tc.couple(self.every * self.dt)

    def _continuum_terms(self) -> dict[str, float]:
        hs = self.heat_side
        comm = self.model.comm
        e = np.asarray(comm.allreduce(hs.energy))
        led = self.tc.ledger
        q_b = led.boundary_heat + hs.flux_heat
        out = {"W_thermostat": led.thermostat_work, "W_thermostat_requested": led.thermostat_requested,
               "Q_boundary": q_b, "power_residual": float(self.tc.max_power_residual)}
        for name, v in zip(hs.names, e):
            out[name] = float(v)
        T = self.tc.T_filtered
        if T is not None:
            for k, lab in enumerate(("lo", "hi")):
                sel = hs.if_side == k
                if np.any(sel):
                    out[f"T_interface_{lab}"] = float(np.mean(T[sel]))
        return out

    def ledger_terms(self) -> dict[str, float]:
        """Flux terms (continuum side) and the balance (collective over the intercomm)."""
        led = self.tc.energies()
        if self.model.kind != "continuum":
            return {}
        out = self._continuum_terms()
        out["E_balance"] = led.thermal_energy + led.atomic_kinetic + led.atomic_potential - out["Q_boundary"]
        return out

    # -- restart: filtered temperatures and flux accumulators (continuum root) ------------
    _SCALARS = ("thermostat_work", "thermostat_requested", "boundary_heat")

    def _state(self) -> np.ndarray:
        led, hs = self.tc.ledger, self.heat_side
        T = self.tc.T_filtered if self.tc.T_filtered is not None else np.full(self.tc.nodes.size, np.nan)
        return np.concatenate([[getattr(led, k) for k in self._SCALARS], [hs.flux_heat, self.tc.power_integral,
                               self.tc.max_power_residual], T])

    def checkpoint_arrays(self) -> dict:
        """Continuum root: ``thermal/state`` (ledger fluxes, filtered interface temperatures)
        and ``thermal/columns`` (per-boundary/interface energies, summed over the continuum)."""
        if self.model.kind != "continuum":
            return {}
        comm = self.model.comm
        cols = comm.reduce(self.heat_side.energy, root=0)
        if comm.Get_rank() != 0:
            return {}
        st = self._state()
        return {"thermal/state": (np.arange(st.size, dtype=np.int64), st),
                "thermal/columns": (np.arange(cols.size, dtype=np.int64), np.asarray(cols, float))}

    def restore(self, ckpt) -> None:
        """Collective over this role's comm only (the checkpoint is re-read on the continuum
        comm, like :meth:`PatchModel.restore` on the patch comm)."""
        self._phase = int(ckpt.step) % self.every
        if self.model.kind != "continuum":
            return
        comm = self.model.comm
        if ckpt.comm.Get_size() != comm.Get_size():
            from ..io.checkpoint import read_checkpoint

            ckpt = read_checkpoint(comm, ckpt.path)
        root = comm.Get_rank() == 0
        hs = self.heat_side
        n = 6 + self.tc.nodes.size if root else 0
        st = ckpt.take("thermal/state", np.arange(n, dtype=np.int64))
        cols = ckpt.take("thermal/columns", np.arange(hs.energy.size if root else 0, dtype=np.int64))
        hs.energy[:] = 0.0
        hs.flux_heat = 0.0
        if root:
            led = self.tc.ledger
            for k, v in zip(self._SCALARS, st[:3]):
                setattr(led, k, float(v))
            hs.flux_heat = float(st[3])
            self.tc.power_integral, self.tc.max_power_residual = float(st[4]), float(st[5])
            T = np.array(st[6:])
            self.tc.T_filtered = None if np.any(np.isnan(T)) else T
            hs.energy[:] = cols
        if self.tc.gathered:
            self.tc.T_filtered = comm.bcast(self.tc.T_filtered, root=0)

    def summary(self) -> dict:
        """Bookkeeping numbers for summary.json (collective on all ranks)."""
        mine = {}
        if self.model.kind == "continuum":
            terms = self._continuum_terms()
            if self.model.comm.Get_rank() == 0:
                led = self.tc.ledger
                mine = {"thermostat_work_minus_requested": led.thermostat_work - led.thermostat_requested,
                        "thermal_power_residual_max": float(self.tc.max_power_residual),
                        "thermal_power_integral": float(self.tc.power_integral),
                        "thermal_intervals": int(self.heat_side.steps),
                        "interface_temperature": [float(t) for t in (self.tc.T_filtered if
                                                  self.tc.T_filtered is not None else [])]}
                mine.update({k: v for k, v in terms.items() if k.startswith("Q_")})
        got = self.tc.ex.intercomm.allgather(mine) if self.tc.ex.intercomm is not None else [mine]
        if self.model.kind == "continuum":
            return mine if self.model.comm.Get_rank() == 0 else {}
        return dict(got[0])


def _build_thermal(case: Case, layout: Layout, outdir: Path):
    """Heat continuum ⇄ patch through the power-matched thermostat (see the module docstring)."""
    from ..simulation import ContinuumModel, PatchModel
    from ..units import get_units
    from .adapters import HeatConductionSide
    from .exchange import InterfaceExchange
    from .thermal import ThermalCoupler

    hs = case.handshake
    src = case.source
    if not hs.thermal:
        raise ConfigError(f"{src}: handshake.thermal = false with continuum.physics = 'heat': expected "
                          "thermal = true (the heat equation couples to the atoms through the thermostat)")
    if hs.damping > 0:
        raise ConfigError(f"{src}: handshake.damping = {hs.damping:g}: a 'heat' continuum has no mechanics "
                          "to damp; use 0 (or continuum.physics = 'thermomechanics')")
    if case.run.steps % hs.thermal_every:
        raise ConfigError(f"{src}: run.steps = {case.run.steps}: expected a multiple of "
                          f"handshake.thermal_every = {hs.thermal_every} (whole coupling intervals)")
    name = case.patches[0].name
    p = case.patch(name)
    if p.lattice.kind in ("chain", "triangular"):
        raise ConfigError(f"{src}: patches.{name}.lattice.kind = {p.lattice.kind!r}: the thermal coupling "
                          "counts 3 degrees of freedom per atom; use a 3D lattice (fcc, bcc, sc)")
    dim = case.continuum.dim
    units = get_units(case.units)
    lo, hi = _thermal_core(case, name)
    free = _free_dirs(case, name)
    if not any(free):
        raise ConfigError(f"{src}: patches.{name}.periodic: the patch is periodic along every continuum "
                          "direction; the thermal coupling needs free surfaces facing the continuum")
    m = case.continuum.mesh
    tol = 1e-9 * max(1.0, float(np.max(np.abs(np.r_[m.lo, m.hi]))) if m.lo and m.hi else 1.0)
    every = hs.thermal_every
    opts = dict(filter_time=hs.filter_time, boltzmann=units.boltzmann, mvv2e=units.mvv2e, dof_per_atom=3,
                local_comm=layout.comm)
    if layout.is_continuum:
        comm = layout.comm
        model = ContinuumModel(comm, case, outdir, heat_dt=every * case.run.dt,
                               heat_cell_weight_fn=lambda C: np.where(_in_core(C, lo, hi, tol), 0.0, 1.0))
        heat, mesh = model.heat, model.mesh
        _direct_solver(heat, comm)
        # the case's temperature boundaries become the coupler's reservoirs
        where = [bc.where for bc in case.continuum.boundary if bc.kind == "temperature"]
        bcs = list(heat.bcs)
        heat.bcs.clear()
        heat._bc_key = None
        l2g = np.asarray(mesh.node_global, dtype=np.int64)
        own = np.asarray(mesh.owned_nodes, dtype=np.int64)
        n_owned = own.size
        cells = np.asarray(mesh.cells, dtype=np.int64)
        w = np.where(_in_core(mesh.cell_centroids(), lo, hi, tol), 0.0, 1.0)
        touch1 = np.unique(l2g[cells[w > 0]]) if cells.size else np.zeros(0, np.int64)
        touch0 = np.unique(l2g[cells[w == 0]]) if cells.size else np.zeros(0, np.int64)
        t1 = np.unique(np.concatenate(comm.allgather(touch1)))
        t0 = np.unique(np.concatenate(comm.allgather(touch0)))
        if_g = np.intersect1d(t1, t0)
        core_g = np.setdiff1d(t0, t1)
        Xo = mesh.coordinates[own]
        gown = l2g[own]
        # interface nodes must lie on the core's boundary (band edges on mesh nodes)
        mine = np.isin(gown, if_g)
        Xi = Xo[mine][:, :dim]
        on_edge = np.any(np.isclose(Xi, lo[None, :], atol=1e-6 * max(1.0, case.handshake.width)) |
                         np.isclose(Xi, hi[None, :], atol=1e-6 * max(1.0, case.handshake.width)), axis=1)
        bad = comm.allreduce(int(np.count_nonzero(~on_edge)))
        if if_g.size == 0 or bad:
            raise ConfigError(f"{src}: handshake.width = {hs.width:g}: the band's inner edges "
                              f"(patch region ± width: {lo.tolist()} .. {hi.tolist()}) must fall on mesh "
                              "nodes; choose the mesh, region and width so that they do")
        # reservoir nodes (global, with values and labels), from the removed Dirichlet conditions
        b_g, b_v, b_lab = [], [], []
        for i, bc in enumerate(bcs):
            b_g.append(gown[bc.nodes])
            b_v.append(np.asarray(bc.values, float).reshape(-1))
            b_lab.append(np.full(bc.nodes.size, i))
        parts = comm.allgather((np.concatenate(b_g) if b_g else np.zeros(0, np.int64),
                                np.concatenate(b_v) if b_v else np.zeros(0),
                                np.concatenate(b_lab) if b_lab else np.zeros(0, np.int64)))
        bg = np.concatenate([q[0] for q in parts]).astype(np.int64)
        bv = np.concatenate([q[1] for q in parts])
        bl = np.concatenate([q[2] for q in parts]).astype(np.int64)
        bg, first = np.unique(bg, return_index=True)  # a corner in two boundaries: first wins
        bv, bl = bv[first], bl[first]
        if np.intersect1d(bg, np.concatenate([if_g, core_g])).size:
            raise ConfigError(f"{src}: continuum.boundary: a temperature boundary touches the patch's "
                              "interface or core nodes; keep the reservoirs away from the atoms")
        names = [f"Q_{w_}" for w_ in where]
        # interface sides: below / above the patch centre along the first free direction
        k0 = free.index(True)
        centre = 0.5 * (p.region.lo[k0] + p.region.hi[k0])
        names_all = names + ["Q_interface_lo", "Q_interface_hi"]
        labels = np.full(n_owned, -1, dtype=np.int64)
        pos_b = np.searchsorted(bg, gown)
        in_b = np.isin(gown, bg)
        labels[in_b] = bl[pos_b[in_b]]
        labels[mine] = len(names) + (Xo[mine][:, k0] > centre).astype(np.int64)
        core_rows = np.flatnonzero(np.isin(gown, core_g))
        sides = comm.allgather((gown[mine], (Xo[mine][:, k0] > centre).astype(np.int64)))
        sg = np.concatenate([q[0] for q in sides]).astype(np.int64)
        ss = np.concatenate([q[1] for q in sides]).astype(np.int64)
        if_side = ss[np.argsort(sg)][np.searchsorted(np.sort(sg), if_g)]  # 0: lo, 1: hi; if_g order
        flux_power = float(comm.allreduce(float(np.sum(heat.space.owned(heat.F)))))
        side = _ReservoirHeatSide(HeatConductionSide(heat), core_rows, labels, names_all, flux_power)
        if comm.Get_size() == 1:  # one rank: the coupler takes local node numbers
            order = np.argsort(l2g)
            loc = lambda g: order[np.searchsorted(l2g, g, sorter=order)]  # noqa: E731
            if_nodes, b_nodes = loc(if_g), loc(bg)
        else:
            if_nodes, b_nodes = if_g, bg
        kind = "P1" if mesh.cell_type in ("interval", "triangle", "tetrahedron") else "Q1"
        ex = InterfaceExchange.setup(layout.intercomms[name], "continuum", nodes=mesh.coordinates,
                                     cells=cells, kind=kind, dim=dim)
        try:
            tc = ThermalCoupler(ex, heat=side, interface_nodes=if_nodes, boundary_nodes=b_nodes,
                                boundary_values=bv, **opts)
        except ConfigError as exc:
            raise ConfigError(f"{src}: handshake.width = {hs.width:g}: {exc} (the band must be one "
                              "element wide: its atoms are the thermostatted ones)") from None
        side.if_side = if_side
        return model, ThermalRun(tc, model, case, heat_side=side)
    model = PatchModel(layout.comm, case, name, outdir, coupled=True)
    md = model.system
    if p.temperature > 0:
        # atoms start on their lattice sites: kinetic energy at 2 T equipartitions to T
        md.set_velocities(2.0 * p.temperature, seed=p.seed)
    idx = np.flatnonzero(~_in_core(md.x0[:, :dim], lo, hi, tol))
    ex = InterfaceExchange.setup(layout.intercomms[CONTINUUM], "patch", ids=md.ids[idx],
                                 reference=md.x0[idx], dim=dim)
    tc = ThermalCoupler(ex, patch=md, thermo_atoms=idx, **opts)
    return model, ThermalRun(tc, model, case)


def _direct_solver(heat, comm) -> None:
    """A direct solve for the heat steps (round-off energy bookkeeping; the meshes are small)."""
    from petsc4py import PETSc

    prefix = "mscouple_thermal_heat_"
    heat.prefix = prefix
    o = PETSc.Options()
    o[prefix + "ksp_type"] = "preonly"
    o[prefix + "pc_type"] = "lu"
    if comm.Get_size() > 1:
        o[prefix + "pc_factor_mat_solver_type"] = "mumps"
