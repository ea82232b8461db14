"""The heat-bar scenarios: an fcc LJ bar between two 1D continuum heat bars (LJ units).

After LAMMPS AtC's ``bar1d`` example. Geometry (:func:`build_heat_bar`, the one builder
shared by ``examples/heat_bar``, ``examples/heat_pulse`` and the level-4 check of
``mscouple validate``)::

    heat bar [−L, 0] ─ node at h │ fcc atoms [0, x_max] │ node at x_max − h ─ heat bar [x_max, x_max + L]

The atoms are periodic in y, z and free in x; h = 2a. On each side one continuum node lies
inside the atoms; its temperature is the atoms' projected, time-filtered kinetic
temperature, and the power the continuum passes into it is handed to the thermostatted
atoms (strictly inside the interface cells' supports) by the power-matched thermostat
(:class:`~mscouple.coupling.thermal.ThermalCoupler`). The heat bars carry the cross-section
A of the atoms (conductivity κA) and the Dulong–Petit capacity per length ρc = 3 N / L_x.

Scenarios:

* :func:`steady_conductivity` — outer ends held at T_hot, T_cold: time-averaged profiles,
  interface powers, the MD conductivity and the energy balance (``examples/heat_bar``);
* :func:`heat_pulse` — insulated ends, a Gaussian pulse in the left bar diffuses through the
  atoms, compared with a pure-continuum run (``examples/heat_pulse``);
* :func:`heat_pulse_balance` — the short pulse of the level-4 check: total-energy change,
  thermostat work against the energy requested.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from .models1d import Heat1D

__all__ = ["HeatBar", "build_heat_bar", "steady_conductivity", "heat_pulse", "heat_pulse_balance"]


@dataclass
class HeatBar:
    """One built heat bar (everything on ``MPI.COMM_SELF``).

    md : the LJ bar (``MDSystem``), velocities drawn at the start temperature.
    heat : :class:`~mscouple.validation.models1d.Heat1D` on ``nodes`` (T = 0: set it).
    coupler : the ``ThermalCoupler`` of the two interface nodes.
    nodes : [n] heat-bar node coordinates, left bar first (``n_left`` nodes, the last of
        which is the left interface node at h), then the right bar.
    interface_nodes : [2] indices of the nodes inside the atoms.
    x_max : largest atom x; area : cross-section A; rho_c : capacity per length.
    """

    md: Any
    heat: Heat1D
    coupler: Any
    nodes: np.ndarray
    n_left: int
    interface_nodes: np.ndarray
    x_max: float
    area: float
    rho_c: float


def build_heat_bar(kappa: float, *, a: float = 1.56, cells=(16, 3, 3), L_cont: float = 10.0,
                   dt: float = 0.005, T_start: float = 0.3, seed: int = 7, filter_time: float = 1.0,
                   ends: Optional[tuple[float, float]] = None) -> HeatBar:
    """Build the coupled bar: ``cells`` fcc cells of lattice constant ``a`` (LJ 2.5σ,
    shifted), velocities drawn at 2 ``T_start`` (equipartition brings the bar to ≈ T_start),
    heat bars of length ``L_cont`` with elements of size ≈ a and conductivity ``kappa``
    (× the cross-section). ``ends = (T_left, T_right)`` holds the outer ends (Dirichlet);
    ``None`` leaves them insulated."""
    from mpi4py import MPI

    from ..atomistic.box import Box
    from ..atomistic.lattice import fcc
    from ..atomistic.potentials import LennardJones
    from ..atomistic.system import MDSystem
    from ..coupling.exchange import InterfaceExchange
    from ..coupling.thermal import ThermalCoupler

    x, cbox = fcc(a, cells)
    Lx = cells[0] * a
    box = Box(np.array([-Lx, 0.0, 0.0]), np.array([2 * Lx, cbox.hi[1], cbox.hi[2]]), (False, True, True))
    md = MDSystem(MPI.COMM_SELF, box, x, LennardJones(cutoff=2.5, mode="shift"), units="lj", dt=dt,
                  skin=0.3, sort_every=0)
    md.set_velocities(2.0 * T_start, seed=seed)
    area = float(cbox.hi[1] * cbox.hi[2])
    rho_c = 3.0 * len(x) / Lx  # per length (Dulong–Petit)
    x_max = float(x[:, 0].max())
    h = 2 * a  # interface cell: [surface, surface + 2a]
    nl = int(round(L_cont / a))
    left = np.concatenate([np.linspace(-L_cont, 0.0, nl + 1), [h]])
    right = np.concatenate([[x_max - h], np.linspace(x_max, x_max + L_cont, nl + 1)])
    nodes = np.concatenate([left, right])
    cl = np.stack([np.arange(left.size - 1), np.arange(1, left.size)], 1)
    cr = left.size + np.stack([np.arange(right.size - 1), np.arange(1, right.size)], 1)
    cells_h = np.concatenate([cl, cr])
    heat = Heat1D(nodes, cells_h, conductivity=kappa * area, rho_c=rho_c)
    interface = np.array([left.size - 1, left.size])
    # thermostatted atoms: strictly inside the interface cells' supports
    th = np.flatnonzero(((x[:, 0] > 1e-9) & (x[:, 0] <= h + 1e-9)) |
                        ((x[:, 0] < x_max - 1e-9) & (x[:, 0] >= x_max - h - 1e-9)))
    order = np.argsort(md.ids)
    th_local = order[np.searchsorted(md.ids, th, sorter=order)]
    ex = InterfaceExchange.local(th, md.x0[th_local, :1], nodes[:, None], cells_h, "P1")
    kw = {}
    if ends is not None:
        kw = dict(boundary_nodes=np.array([0, nodes.size - 1]), boundary_values=np.asarray(ends, float))
    cp = ThermalCoupler(ex, heat=heat, patch=md, thermo_atoms=th_local, interface_nodes=interface,
                        filter_time=filter_time, boltzmann=1.0, mvv2e=1.0, dof_per_atom=3, **kw)
    return HeatBar(md, heat, cp, nodes, left.size, interface, x_max, area, rho_c)


def steady_conductivity(kappa: float = 8.0, a: float = 1.56, cells=(16, 3, 3), L_cont: float = 10.0,
                        T_hot: float = 0.35, T_cold: float = 0.25, dt: float = 0.005, every: int = 10,
                        t_equil: float = 250.0, t_avg: float = 150.0, tau_filter: float = 1.0, seed: int = 7,
                        verbose: bool = True) -> dict:
    """Ends at ``T_hot``/``T_cold``: run ``t_equil``, then average over ``t_avg`` (τ).

    Returns the time-averaged node and atomic-plane temperatures (``x_nodes``, ``T_nodes``,
    ``x_planes``, ``T_planes``), interface powers ``P`` [2], the steady ``flux``, the MD
    conductivity ``kappa_md`` from the middle half of the atoms, the continuum fluxes of the
    two bars, and the energy balance (``balance_drift`` against ``balance_scale`` = |thermostat
    work| + |boundary heat|; ``thermostat_work`` vs ``thermostat_requested``)."""
    hb = build_heat_bar(kappa, a=a, cells=cells, L_cont=L_cont, dt=dt, T_start=0.5 * (T_hot + T_cold),
                        seed=seed, filter_time=tau_filter, ends=(T_hot, T_cold))
    md, heat, cp, nodes = hb.md, hb.heat, hb.coupler, hb.nodes
    heat.T[:] = 0.5 * (T_hot + T_cold)
    nl = hb.n_left - 2
    dt_c = every * dt
    n_eq = int(round(t_equil / dt_c))
    n_av = int(round(t_avg / dt_c))
    t0 = time.time()
    md.run(every)  # the MD energy measure settles after the first steps from a perfect lattice
    e0 = cp.energies().balance
    for k in range(n_eq):
        md.run(every)
        cp.couple(dt_c)
        if verbose and k % max(1, n_eq // 10) == 0:
            led = cp.energies()
            print(f"t={k * dt_c:7.1f}  T_if={cp.T_filtered}  P_if={cp.last_power}  "
                  f"balance drift={(led.balance - e0):.3e}  ({time.time() - t0:.0f}s)", flush=True)
    plane = np.round(md.x0[:, 0] / (0.5 * a)).astype(int)
    nplanes = plane.max() + 1
    T_planes = np.zeros(nplanes)
    T_nodes = np.zeros(nodes.size)
    P = np.zeros(2)
    w_start = cp.ledger.thermostat_work
    b_start = cp.ledger.boundary_heat
    for k in range(n_av):
        md.run(every)
        cp.couple(dt_c)
        e = md.mass * np.sum(md.v ** 2, axis=1)
        T_planes += np.bincount(plane, e, nplanes) / (3.0 * np.bincount(plane, None, nplanes))
        T_nodes += heat.T
        P += cp.last_power
    T_planes /= n_av
    T_nodes /= n_av
    P /= n_av
    led = cp.energies()
    xp = np.arange(nplanes) * 0.5 * a
    x_max, area = hb.x_max, hb.area
    mid = (xp > 0.25 * x_max) & (xp < 0.75 * x_max)  # conductivity from the middle half
    slope = np.polyfit(xp[mid], T_planes[mid], 1)[0]
    flux = 0.5 * (P[0] - P[1])  # power in at the hot side = power out at the cold side (steady)
    gl = np.polyfit(nodes[1:nl], T_nodes[1:nl], 1)[0]
    gr = np.polyfit(nodes[hb.n_left + 2:-1], T_nodes[hb.n_left + 2:-1], 1)[0]
    return dict(x_nodes=nodes, T_nodes=T_nodes, x_planes=xp, T_planes=T_planes, P=P, flux=flux,
                kappa_md=-flux / (area * slope), kappa=kappa, area=area, q_cont_left=-kappa * area * gl,
                q_cont_right=-kappa * area * gr, balance_drift=led.balance - e0,
                balance_scale=abs(led.thermostat_work) + abs(led.boundary_heat),
                thermostat_work=led.thermostat_work, thermostat_requested=led.thermostat_requested,
                heat_in_avg=(led.boundary_heat - b_start) / t_avg, work_avg=(led.thermostat_work - w_start) / t_avg,
                x_max=x_max, wall=time.time() - t0)


def heat_pulse(kappa: float = 17.5, a: float = 1.56, cells=(16, 4, 4), L_cont: float = 40.0, T0: float = 0.25,
               amp: float = 0.3, width: float = 6.0, centre: float = -20.0, dt: float = 0.005, every: int = 10,
               t_end: float = 200.0, n_snap: int = 6, tau_filter: float = 1.0, seed: int = 11,
               verbose: bool = True) -> dict:
    """Insulated ends; excess ``amp`` exp(−((x − centre)/width)²) over the MD temperature in the
    heat bars at t = 0, run to ``t_end`` (τ). Compared with one uniform heat bar over the
    whole domain with the same κ and ρc.

    Returns ``n_snap`` snapshots (``t``, ``T_nodes``, ``T_ref``), ``pulse_energy``,
    ``balance_change`` (continuum thermal + MD total), the space–time capacity-weighted L2 of
    the excess against the reference (``l2``), the excess energy in the right bar
    (``e_right`` vs ``e_right_ref``), thermostat work vs requested."""
    hb = build_heat_bar(kappa, a=a, cells=cells, L_cont=L_cont, dt=dt, T_start=T0, seed=seed,
                        filter_time=tau_filter)
    md, heat, cp, nodes, x_max = hb.md, hb.heat, hb.coupler, hb.nodes, hb.x_max
    md.run(int(round(20.0 / dt)))  # equipartition
    T_md = 0.0
    for _ in range(40):  # mean MD temperature over 20 τ: the continuum's background
        md.run(int(round(0.5 / dt)))
        T_md += md.temperature() / 40

    def excess(X):
        return amp * np.exp(-(((X - centre) / width) ** 2))

    heat.T[:] = T_md + excess(nodes)
    xr = np.linspace(-L_cont, x_max + L_cont, int(round((x_max + 2 * L_cont) / (0.5 * a))) + 1)
    ref = Heat1D(xr, np.stack([np.arange(xr.size - 1), np.arange(1, xr.size)], 1), kappa * hb.area, hb.rho_c)
    ref.T[:] = T_md + excess(xr)
    dt_c = every * dt
    nsteps = int(round(t_end / dt_c))
    snaps = set(np.linspace(0, nsteps, n_snap).astype(int).tolist())
    e0 = cp.energies().balance
    pulse_energy = float(np.sum(heat.capacity * excess(nodes)))
    out = {"t": [], "T_nodes": [], "T_ref": [], "nodes": nodes, "xr": xr}
    t0 = time.time()
    for k in range(nsteps + 1):
        if k in snaps:
            out["t"].append(k * dt_c)
            out["T_nodes"].append(heat.T.copy())
            out["T_ref"].append(ref.T.copy())
            if verbose:
                led = cp.energies()
                print(f"t={k * dt_c:6.1f} balance change={led.balance - e0:+.4f} "
                      f"(pulse energy {pulse_energy:.3f}) T_if={cp.T_filtered} ({time.time() - t0:.0f}s)",
                      flush=True)
        if k == nsteps:
            break
        md.run(every)
        cp.couple(dt_c)
        ref.step(dt_c, np.zeros(0, np.int64), np.zeros(0))
    led = cp.energies()
    num = den = 0.0
    for Tn, Tr in zip(out["T_nodes"][1:], out["T_ref"][1:]):  # space–time L2 of the excess
        Tr = np.interp(nodes, xr, Tr)
        num += np.sum(heat.capacity * (Tn - Tr) ** 2)
        den += np.sum(heat.capacity * (Tr - T_md) ** 2)
    Tn, Tr = out["T_nodes"][-1], np.interp(nodes, xr, out["T_ref"][-1])
    right_nodes = np.arange(hb.n_left, nodes.size)
    cap_r = heat.capacity[right_nodes]
    out.update(T_md=T_md, pulse_energy=pulse_energy, balance_change=led.balance - e0,
               l2=float(np.sqrt(num / den)), e_right=float(np.sum(cap_r * (Tn - T_md)[right_nodes])),
               e_right_ref=float(np.sum(cap_r * (Tr - T_md)[right_nodes])), thermostat_work=led.thermostat_work,
               thermostat_requested=led.thermostat_requested, wall=time.time() - t0, x_max=x_max)
    return out


def heat_pulse_balance(cells=(8, 2, 2), L_cont: float = 12.0, T0: float = 0.25, amp: float = 0.2,
                       width: float = 3.0, kappa: float = 17.5, dt: float = 0.005, every: int = 10,
                       t_end: float = 15.0, seed: int = 11) -> dict:
    """Short Gaussian pulse from the left heat bar into the atoms (insulated ends; the level-4
    check). Returns the total-energy ``change``, the ``pulse_energy``, the thermostat ``work``
    and ``requested`` energy, and the largest relative power residual of the λ-solves."""
    hb = build_heat_bar(kappa, cells=cells, L_cont=L_cont, dt=dt, T_start=T0, seed=seed)
    md, heat, cp, nodes = hb.md, hb.heat, hb.coupler, hb.nodes
    md.run(int(round(10.0 / dt)))
    excess = amp * np.exp(-(((nodes + 0.5 * L_cont) / width) ** 2))
    heat.T[:] = md.temperature() + excess
    e0 = cp.energies().balance
    for _ in range(int(round(t_end / (every * dt)))):
        md.run(every)
        cp.couple(every * dt)
    led = cp.energies()
    return {"change": led.balance - e0, "pulse_energy": float(np.sum(heat.capacity * excess)),
            "work": led.thermostat_work, "requested": led.thermostat_requested,
            "power_residual": cp.max_power_residual}
