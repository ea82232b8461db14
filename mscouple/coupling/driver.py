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

This module only composes; the physics lives in the coupling modules.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..config import Case
from ..errors import ConfigError
from ..layout import CONTINUUM, Layout
from .band import BoxShellBand, continuum_weight
from .damping import stadium_profile

__all__ = ["build_coupled", "CoupledDynamics", "CoupledStatics", "handshake_band"]


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

    def checkpoint_arrays(self) -> dict:
        return {}

    def restore(self, ckpt) -> None:
        # Positions and velocities are restored by the models; the coupler's constraint
        # operators depend only on reference positions and masses, which are rebuilt.
        self.cp.step_count = int(ckpt.step)

    def summary(self) -> dict:
        return {}


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
    units = None
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
                                   seed=case.patches[0].seed, local_comm=layout.comm)
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
                                   seed=case.patches[0].seed, local_comm=layout.comm)
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
