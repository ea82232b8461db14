"""A primary-knock-on-atom (PKA) cascade in a periodic crystal block, Frenkel pairs vs time,
and the survivors' defect list for kinetic Monte Carlo.

Units: metal (Å, ps, eV, amu, K).

Step order of :func:`run_cascade` (collective on ``system.comm``)::

    PKA velocity += sqrt(2 E / m) n̂          (the atom nearest the box centre, or given)
    while t < duration:
        dt = adaptive_dt(xmax)                 (max displacement per step, as fix dt/reset)
        velocity-Verlet step (border Langevin layer; electronic-stopping fix if enabled)
        every frame_every [ps]: Wigner–Seitz defects, clusters → history row, extxyz frame
    quench: FIRE relaxation to fmax → the relaxed survivors (the hand-off state)

The energy balance E_kin + E_pot − (heat the Langevin layer added) + (electronic loss)
+ (heat handed to a continuum bath) is recorded with each row; without border and stopping
it is the conserved total energy.

Border (``CascadeSpec.border``): ``"langevin"`` — a Langevin layer of ``border_width`` at the
faces (0: none); ``"continuum"`` — the caller passes a :class:`~mscouple.cascade.bath.
ContinuumBath` (free block inside a heat continuum, power-matched coupling); the MD steps are
then cut so that every coupling interval ends on a step, and the bath couples there.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from ..atomistic.minimize import fire
from ..errors import ConfigError
from .defects import DefectState, analyse, extxyz_frame
from .dynamics import ElectronicStopping, adaptive_dt, thermostat_border


@dataclass(frozen=True)
class CascadeSpec:
    """Settings of one cascade (keyword-only; units in the module docstring).

    energy: PKA kinetic energy [eV]; direction: [3] (any length) or None for a random
    direction drawn from ``seed``; duration [ps]; xmax [Å]; dt_min, dt_max [ps];
    border_width [Å] (0: no border thermostat), border_temperature [K], border_damping [ps];
    stopping_gamma [1/ps] (0: no electronic stopping), stopping_cut [eV]; frame_every [ps];
    cluster_cutoff [Å]; relax_fmax [eV/Å] of the final quench (0: no quench); border:
    "langevin" (the layer above) or "continuum" (a bath passed to :func:`run_cascade`).
    """

    energy: float
    direction: tuple | None = None
    duration: float = 5.0
    xmax: float = 0.05
    dt_min: float = 1e-7
    dt_max: float = 2e-3
    border_width: float = 0.0
    border_temperature: float = 0.0
    border_damping: float = 0.1
    stopping_gamma: float = 0.0
    stopping_cut: float = 10.0
    frame_every: float = 0.05
    cluster_cutoff: float = 3.7
    relax_fmax: float = 0.01
    seed: int = 1
    border: str = "langevin"

    def __post_init__(self):
        for name in ("energy", "duration", "xmax", "dt_min", "dt_max", "frame_every", "cluster_cutoff"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and v > 0):
                raise ConfigError(f"cascade.{name} = {v!r}: expected a number > 0")
        if self.dt_min > self.dt_max:
            raise ConfigError(f"cascade.dt_min = {self.dt_min} > dt_max = {self.dt_max}: expected dt_min <= dt_max")
        if self.border not in ("langevin", "continuum"):
            raise ConfigError(f"cascade.border = {self.border!r}: expected 'langevin' or 'continuum'")
        if self.direction is not None and np.linalg.norm(self.direction) == 0:
            raise ConfigError("cascade.direction = [0, 0, 0]: expected a non-zero vector")


@dataclass
class CascadeResult:
    """History rows (one per frame) and the defects of the peak and the relaxed end state.

    history: dict of [n_frames] arrays: time [ps], dt [ps], n_vacancies, n_interstitials,
    n_frenkel, n_vac_clusters, n_int_clusters, temperature [K], e_balance [eV], bath_heat
    [eV] (heat handed to the continuum bath so far; 0 without one).
    stopping_loss, border_heat (Langevin layer: heat it put in), bath_heat (heat the atoms
    handed to a continuum bath) [eV]; extras["pka_energy_given"]: the kinetic energy the
    kick added (E plus the cross term with the PKA's thermal velocity) [eV]."""

    history: dict
    peak: DefectState
    peak_time: float
    final: DefectState
    final_time: float
    pka_id: int
    direction: np.ndarray
    steps: int
    relax_steps: int = 0
    stopping_loss: float = 0.0
    border_heat: float = 0.0
    bath_heat: float = 0.0
    extras: dict = field(default_factory=dict)


def random_direction(seed: int) -> np.ndarray:
    """A unit vector uniform on the sphere (reproducible from ``seed``)."""
    g = np.random.default_rng(seed).normal(size=3)
    return g / np.linalg.norm(g)


def run_cascade(system, sites: np.ndarray, spec: CascadeSpec, pka_id: int | None = None,
                frames_path: str | os.PathLike | None = None, log=None, bath=None) -> CascadeResult:
    """Run the cascade of the module docstring on ``system`` whose atom ids index the
    reference ``sites [N,3]`` (Å) of its perfect lattice. ``frames_path``: extxyz of the
    defect frames (written on rank 0). ``log(str)``: progress lines (rank 0). ``bath``: the
    :class:`~mscouple.cascade.bath.ContinuumBath` of ``spec.border = "continuum"``."""
    comm = system.comm
    sites = np.asarray(sites, dtype=float)
    if len(sites) != system.natoms:
        raise ConfigError(f"{len(sites)} reference sites for {system.natoms} atoms: the reference "
                          "lattice must hold one site per atom")
    box = system.box
    if pka_id is None:
        c = 0.5 * (box.lo + box.hi)
        pka_id = int(np.argmin(np.linalg.norm(sites - c, axis=1)))
    n = random_direction(spec.seed) if spec.direction is None else np.asarray(spec.direction, float)
    n = n / np.linalg.norm(n)
    stop = None
    if spec.stopping_gamma > 0:
        stop = ElectronicStopping(spec.stopping_gamma, spec.stopping_cut)
        system.fixes.append(stop)
    if (spec.border == "continuum") != (bath is not None):
        raise ConfigError(f"cascade.border = {spec.border!r}: "
                          + ("pass the continuum bath" if bath is None else
                             "a continuum bath was passed; set border = 'continuum'"))
    heat0 = system.langevin_heat()
    if spec.border == "langevin" and spec.border_width > 0:
        thermostat_border(system, spec.border_temperature, spec.border_damping,
                          spec.border_width, seed=spec.seed)
    ke_before = system.kinetic_energy()
    mine = np.flatnonzero(system.ids == pka_id)
    if len(mine):
        i = mine[0]
        speed = np.sqrt(2.0 * spec.energy / (system.mass[i] * system.units.mvv2e))
        system.v[i] += speed * n
    # the kick adds E plus m v_th·Δv to the PKA's thermal motion: the energy actually given
    pka_given = system.kinetic_energy() - ke_before
    system.compute_forces()
    if bath is not None:
        bath.reset()
    root = comm.rank == 0
    # frames go to a temporary name, renamed when the run ends well (atomic output)
    fh = open(f"{frames_path}.tmp", "w") if (frames_path is not None and root) else None
    rows = {k: [] for k in ("time", "dt", "n_vacancies", "n_interstitials", "n_frenkel",
                            "n_vac_clusters", "n_int_clusters", "temperature", "e_balance",
                            "bath_heat")}
    t, steps, dt = 0.0, 0, spec.dt_min
    peak, peak_t = None, 0.0

    def lost():
        return comm.allreduce(stop.energy_lost) if (stop and system.decomp.size > 1) else (
            stop.energy_lost if stop else 0.0)

    def frame(state_pos):
        nonlocal peak, peak_t
        st = analyse(sites, state_pos, box, spec.cluster_cutoff)
        q = bath.heat_out() if bath is not None else 0.0
        e = system.total_energy() - (system.langevin_heat() - heat0) + lost() + q
        for k, v in (("time", t), ("dt", dt), ("n_vacancies", st.n_vacancies),
                     ("n_interstitials", st.n_interstitials), ("n_frenkel", st.n_frenkel),
                     ("n_vac_clusters", len(st.cluster_sizes("V"))),
                     ("n_int_clusters", len(st.cluster_sizes("I"))),
                     ("temperature", system.temperature()), ("e_balance", e), ("bath_heat", q)):
            rows[k].append(v)
        if peak is None or st.n_frenkel > peak.n_frenkel:
            peak, peak_t = st, t
        if fh:
            fh.write(extxyz_frame(st, box, t, steps))
            fh.flush()
        return st

    try:
        frame(system.gather("x"))
        next_frame = spec.frame_every
        t_couple = bath.interval if bath is not None else np.inf
        while t < spec.duration * (1 - 1e-12):
            dt = adaptive_dt(system, spec.xmax, spec.dt_min, spec.dt_max)
            dt = min(dt, spec.duration - t) if spec.duration - t > spec.dt_min else dt
            if bath is not None and t_couple - t - dt < spec.dt_min:
                dt = t_couple - t  # the coupling interval ends on this step
            system.dt = dt
            system.run(1)
            t += dt
            steps += 1
            if bath is not None and t >= t_couple - 1e-9 * bath.interval:
                t = t_couple  # no drift of the clock against the heat steps
                bath.couple()
                t_couple += bath.interval
            if t >= next_frame * (1 - 1e-12) or t >= spec.duration * (1 - 1e-12):
                system.check_finite()
                st = frame(system.gather("x"))
                next_frame += spec.frame_every
                if log and root:
                    log(f"t = {t:8.4f} ps  dt = {dt:.2e} ps  steps = {steps:6d}  "
                        f"FP = {st.n_frenkel:4d}  T = {rows['temperature'][-1]:7.1f} K")
        relax_steps = 0
        final_t = t
        if spec.relax_fmax > 0:
            if stop:
                system.fixes.remove(stop)
            res = fire(system, fmax=spec.relax_fmax, max_steps=5000, dt=1e-3, dt_max=5e-3,
                       raise_on_failure=False)
            relax_steps = res.steps
            if stop:
                system.fixes.append(stop)
        final = analyse(sites, system.gather("x"), box, spec.cluster_cutoff)
        if fh:
            fh.write(extxyz_frame(final, box, t, steps))
            fh.close()
            os.replace(f"{frames_path}.tmp", frames_path)
    finally:
        if fh:
            fh.close()
        if stop and stop in system.fixes:
            system.fixes.remove(stop)
    hist = {k: np.asarray(v) for k, v in rows.items()}
    return CascadeResult(hist, peak, peak_t, final, final_t, pka_id, n, steps, relax_steps,
                         lost(), system.langevin_heat() - heat0,
                         bath.heat_out() if bath is not None else 0.0,
                         {"pka_energy_given": float(pka_given)})
