"""Checks of the coupling layer for ``mscouple validate`` (levels 4-6, docs/validation.md).

Level 4 (interface):

* energy reflection coefficient R of a wave packet crossing a bridging-domain band (1D chain
  ⇄ P1 bar, both models on this rank): R < 1e-3 for λ = 8a with h = a; full run also
  λ = 10 elements at h = 4a (R < 1e-2) and, with the fine-scale damping band, λ = 4a
  (shorter than the mesh can carry) at h = 4a (R < 5 %) — the criteria of issue 5;
* heat pulse through an LJ fcc patch between two continuum heat bars (power-matched
  thermostat, :class:`~mscouple.coupling.thermal.ThermalCoupler`): total energy (continuum
  thermal + MD) conserved to 1 % of the pulse energy, thermostat work = requested to 1e-12.

Level 5 (patch test): LJ chain (1st + 2nd neighbours) under a homogeneous strain inside a
Cauchy–Born bar: the ghost force without correction (reported, must be > 0: energy blending is
not patch-test exact), the residual with the dead-load correction (≤ 1e-10 of a bond force) and
the largest displacement of the corrected, strained system after N steps (≤ 1e-10 a).

Level 6 (layouts): heat bar on one rank and a stochastic patch on the others against the
same coupled run on one rank.

Scenarios: :mod:`.wave1d`, :mod:`.heat_bar`, :mod:`.ghost`. Levels 4 and 5 run on rank 0
of ``comm`` (the others return an empty list); the models are small NumPy / one-rank MD
systems, so ``quick`` takes a few seconds.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..coupling.exchange import InterfaceExchange
from .checks import Check
from .ghost import DeadLoadCorrection, measure_ghost_forces
from .heat_bar import heat_pulse_balance
from .wave1d import build, reflection

__all__ = ["validation_checks", "wave_reflection", "ghost_force_patch_test", "heat_pulse_balance",
           "thermal_layout_difference"]


def wave_reflection(wavelength: float, ratio: int = 1, band_elements: int = 8, multipliers: str = "atoms",
                    damping: float = 0.0, dt: float = 0.1, sigma_waves: float = 1.25) -> float:
    """Energy reflection coefficient R of a right-moving harmonic-chain packet of ``wavelength``
    (lattice spacings) through the right band (:func:`.wave1d.reflection`; a packet of
    ``sigma_waves`` wavelengths, 1.25 here against the example's 1.5, to keep the check short)."""
    return reflection(wavelength, ratio, band_elements, multipliers, damping=damping, dt=dt,
                      sigma_waves=sigma_waves)


# ------------------------------------------------------------------ ghost forces
def ghost_force_patch_test(band_elements: int = 4, ratio: int = 2, strain: float = 0.002, nsteps: int = 1000,
                           multipliers: str = "atoms") -> dict:
    """LJ chain (1st + 2nd neighbours, at rest for a = 1) in a Cauchy–Born bar.

    Returns ``rest``: the ghost force of the rest lattice (h = a, relative to |V'(a)|) for
    bands of ``band_elements`` and twice as many elements; ``after``: the residual force of the
    system under a homogeneous ``strain`` (h = ``ratio`` a) with the dead-load correction;
    ``moved``: its largest displacement over ``nsteps`` steps."""
    sig = ((1 + 2.0 ** -6) / (2 * (1 + 2.0 ** -12))) ** (1 / 6)
    f_bond = abs(4 * (-12 * sig ** 12 + 6 * sig ** 6))

    def v2(r):
        return 4 * (156 * sig ** 12 / r ** 14 - 42 * sig ** 6 / r ** 8)

    def setup(r, nb):
        s = build(40, r, nb, 10, multipliers=multipliers, potential="lj", sigma=sig, EA=v2(1.0) + 4 * v2(2.0))
        return s.chain, s.bar, s.coupler, np.flatnonzero(s.chain.weight < 1)

    rest = []
    for nb in (band_elements, 2 * band_elements):  # rest lattice, h = a: the pure ghost force
        chain, bar, cp, band = setup(1, nb)
        rest.append(measure_ghost_forces(chain.f, bar.f, f_bond, cp.bdm, band).relative)
    chain, bar, cp, band = setup(ratio, band_elements)
    chain.u[:, 0] = strain * chain.x0[:, 0]
    bar.u[:, 0] = strain * bar.x0[:, 0]
    chain.compute_forces()
    bar.compute_forces()
    corr = DeadLoadCorrection(chain.f, bar.f)
    chain.external_force[:] = corr.atom_force
    bar.external_force[:] = corr.node_force
    chain.compute_forces()
    bar.compute_forces()
    after = measure_ghost_forces(chain.f, bar.f, f_bond, cp.bdm, band).relative
    u0c, u0b = chain.u.copy(), bar.u.copy()
    cp.step(0.05, nsteps)
    moved = max(np.abs(chain.u - u0c).max(), np.abs(bar.u - u0b).max())
    return {"rest": rest, "after": after, "moved": float(moved)}


# ------------------------------------------------------------------ the hook
def _level_4(quick: bool) -> list[Check]:
    out = [Check(4, "wave reflection R, λ = 8a, h = a (8-element band)", wave_reflection(8, 1, 8), 0.0,
                 1e-3, "abs")]
    if not quick:
        out.append(Check(4, "wave reflection R, λ = 10 elements, h = 4a", wave_reflection(40, 4, 4, sigma_waves=1.0),
                         0.0, 1e-2, "abs"))
        out.append(Check(4, "wave reflection R, λ = 4a < mesh cut-off, h = 4a, damping band",
                         wave_reflection(4, 4, 8, "nodes", damping=0.5, sigma_waves=1.5), 0.0, 0.05, "abs"))
    r = heat_pulse_balance(t_end=15.0 if quick else 40.0)
    out.append(Check(4, "heat pulse through LJ patch: |ΔE_total| / E_pulse", abs(r["change"]) / r["pulse_energy"],
                     0.0, 0.01, "abs"))
    out.append(Check(4, "heat pulse: thermostat work - requested (rel.)",
                     abs(r["work"] - r["requested"]) / abs(r["requested"]), 0.0, 1e-12, "abs"))
    out.append(Check(4, "heat pulse: max |Σ N f·v - Q| / |Q| at the λ-solves", r["power_residual"], 0.0, 1e-12,
                     "abs"))
    return out


def _level_5(quick: bool) -> list[Check]:
    g = ghost_force_patch_test(nsteps=200 if quick else 1000)
    n = 200 if quick else 1000
    r4, r8 = g["rest"]
    return [
        Check(5, "LJ ghost force, rest lattice, 4-element band (/|V'(a)|)", r4, (1e-3, 1.0), None, "between",
              "energy blending is not patch-test exact for 2nd neighbours"),
        Check(5, "LJ ghost force, 8-element band / 4-element band", r8 / r4, (0.0, 0.75), None, "between",
              "falls as the band widens"),
        Check(5, "ghost force with dead-load correction (/|V'(a)|)", g["after"], 0.0, 1e-10, "abs"),
        Check(5, f"strained corrected system: max displacement over {n} steps (/a)", g["moved"], 0.0, 1e-10, "abs"),
    ]


class _LangevinGas:
    """Free atoms under an exact OU bath whose noise is keyed by (seed, id, step)."""

    def __init__(self, ids: np.ndarray, n: int, comm=None) -> None:
        from ..coupling.damping import DampingBand

        rng = np.random.default_rng(5)
        mass = rng.uniform(1.0, 2.0, n)
        v = rng.normal(size=(n, 3)) * np.sqrt(0.8 / mass)[:, None]
        self.ids = np.asarray(ids, dtype=np.int64)
        self.mass, self.v = mass[self.ids], v[self.ids].copy()
        self.bath = DampingBand(np.full(self.ids.size, 0.3), self.mass, self.ids, temperature=1.2, seed=9)
        self.comm, self.k = comm, 0

    def step(self, dt: float) -> None:
        self.bath.apply(self.v, dt, self.k)
        self.k += 1

    def kinetic_energy(self) -> float:
        e = 0.5 * float(np.sum(self.mass[:, None] * self.v ** 2))
        return e if self.comm is None else self.comm.allreduce(e)

    def potential_energy(self) -> float:
        return 0.0


def thermal_layout_difference(comm, nsteps: int = 40, dt: float = 0.05, n: int = 240) -> float:
    """Heat bar (``Heat1D``) on rank 0 and a stochastic patch on the other ranks of ``comm``
    (≥ 2) vs. the same coupled run on one rank: max relative temperature difference
    (collective; the answer on every rank)."""
    from ..coupling.thermal import ThermalCoupler
    from .models1d import Heat1D

    nodes = np.arange(0.0, 21.0)
    cells = np.stack([np.arange(20), np.arange(1, 21)], 1)
    keep = ~((cells[:, 0] >= 10) & (cells[:, 1] <= 11))
    X = np.random.default_rng(1).uniform(9.0, 12.0, size=(n, 1))
    kw = dict(interface_nodes=np.array([10, 11]), boundary_nodes=np.array([0, 20]),
              boundary_values=np.array([1.5, 0.5]), filter_time=0.5)

    def heat():
        h = Heat1D(nodes, cells[keep], conductivity=2.0, rho_c=3.0)
        h.T[:] = 1.0
        return h

    rank = comm.Get_rank()
    ref = None
    if rank == 0:
        h, gas = heat(), _LangevinGas(np.arange(n), n)
        cp = ThermalCoupler(InterfaceExchange.local(gas.ids, X, nodes[:, None], cells, "P1"), heat=h, patch=gas, **kw)
        for _ in range(nsteps):
            cp.couple(dt)
            gas.step(dt)
        ref = h.T.copy()
    color = 0 if rank == 0 else 1
    local = comm.Split(color, rank)
    inter = local.Create_intercomm(0, comm, 1 if color == 0 else 0, tag=47)
    if color == 0:
        h = heat()
        ex = InterfaceExchange.setup(inter, "continuum", nodes=nodes[:, None], cells=cells, kind="P1", dim=1)
        cp = ThermalCoupler(ex, heat=h, local_comm=local, **kw)
    else:
        mine = np.arange(n)[(np.arange(n) % local.Get_size()) == local.Get_rank()][::-1]
        gas = _LangevinGas(mine, n, local)
        ex = InterfaceExchange.setup(inter, "patch", ids=mine, reference=X[mine], dim=1)
        cp = ThermalCoupler(ex, patch=gas, local_comm=local)
    for _ in range(nsteps):
        cp.couple(dt)
        if color == 1:
            gas.step(dt)
    diff = float(np.max(np.abs(h.T - ref) / ref)) if rank == 0 else 0.0
    inter.Free()
    local.Free()
    return comm.bcast(diff, root=0)


def validation_checks(level: int, quick: bool, comm: Any) -> list[Check]:
    """Checks for ``level`` (4, 5; 6 under mpirun), computed on rank 0 of ``comm`` (level 6:
    collectively)."""
    if level == 6:
        if comm is None or comm.Get_size() < 2:
            return []
        d = thermal_layout_difference(comm)
        return [Check(6, f"thermal coupling, heat 1 + patch {comm.Get_size() - 1} ranks vs 1 rank: max dT/T", d,
                      0.0, 1e-12, "abs")]
    if level not in (4, 5):
        return []
    if comm is not None and comm.Get_rank() != 0:
        return []
    return _level_4(quick) if level == 4 else _level_5(quick)
