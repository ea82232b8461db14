"""Steady heat conduction through an atomistic LJ bar between two continuum bars.

After LAMMPS AtC's ``bar1d`` example. LJ units. An fcc LJ bar (periodic in y, z, free
surfaces in x) sits between two 1D continuum heat bars whose outer ends are held at
T_hot and T_cold. On each side one continuum node lies inside the atoms; its temperature is
the atoms' projected, time-filtered kinetic temperature, and the power the continuum passes
into it is handed to the atoms by the power-matched thermostat (``ThermalCoupler``).

Outputs next to this file: ``profile.csv`` / ``profile.png`` (time-averaged temperature of
continuum nodes and atomic planes), ``summary.txt`` (fluxes, measured conductivity,
energy balance).

Run: ``python examples/heat_bar/heat_bar.py [kappa_continuum]``.
"""
from __future__ import annotations

import os
import sys
import time

import numpy as np
from mpi4py import MPI

from mscouple.atomistic.lattice import fcc
from mscouple.atomistic.potentials import LennardJones
from mscouple.atomistic.system import MDSystem
from mscouple.atomistic.box import Box
from mscouple.coupling.exchange import InterfaceExchange
from mscouple.coupling.models1d import Heat1D
from mscouple.coupling.thermal import ThermalCoupler


def run(kappa: float = 8.0, a: float = 1.56, cells=(16, 3, 3), L_cont: float = 10.0, T_hot: float = 0.35,
        T_cold: float = 0.25, dt: float = 0.005, every: int = 10, t_equil: float = 250.0,
        t_avg: float = 150.0, tau_filter: float = 1.0, seed: int = 7, verbose: bool = True) -> dict:
    """Run the coupled bar; return time-averaged profiles, fluxes and the energy balance."""
    x, cbox = fcc(a, cells)
    Lx = cells[0] * a
    box = Box(np.array([-Lx, 0.0, 0.0]), np.array([2 * Lx, cbox.hi[1], cbox.hi[2]]), (False, True, True))
    md = MDSystem(MPI.COMM_SELF, box, x, LennardJones(cutoff=2.5, mode="shift"), units="lj", dt=dt,
                  skin=0.3, sort_every=0)
    md.set_velocities(0.5 * (T_hot + T_cold) * 2.0, seed=seed)  # ~equipartition to the mean
    area = cbox.hi[1] * cbox.hi[2]
    n_per_len = len(x) / Lx
    x_max = x[:, 0].max()
    h = 2 * a  # interface cell: [surface, surface + 2a]
    # continuum nodes: left bar [-L_cont, 0] + interface node at h; right mirrored
    nl = int(round(L_cont / a))
    left = np.concatenate([np.linspace(-L_cont, 0.0, nl + 1), [h]])
    right = np.concatenate([[x_max - h], np.linspace(x_max, x_max + L_cont, nl + 1)])
    nodes = np.concatenate([left, right])
    cl = np.stack([np.arange(left.size - 1), np.arange(1, left.size)], 1)
    cr = left.size + np.stack([np.arange(right.size - 1), np.arange(1, right.size)], 1)
    cells_h = np.concatenate([cl, cr])
    heat = Heat1D(nodes, cells_h, conductivity=kappa * area, rho_c=3.0 * n_per_len)  # Dulong–Petit
    heat.T[:] = 0.5 * (T_hot + T_cold)
    i_left, i_right = left.size - 1, left.size  # interface nodes
    # thermostatted atoms: strictly inside the interface cells' supports
    th = np.flatnonzero(((x[:, 0] > 1e-9) & (x[:, 0] <= h + 1e-9)) |
                        ((x[:, 0] < x_max - 1e-9) & (x[:, 0] >= x_max - h - 1e-9)))
    ids = md.ids
    order = np.argsort(ids)
    th_local = order[np.searchsorted(ids, th, sorter=order)]
    ex = InterfaceExchange.local(th, md.x0[th_local, :1], nodes[:, None], cells_h, "P1")
    cp = ThermalCoupler(ex, heat=heat, patch=md, thermo_atoms=th_local,
                        interface_nodes=np.array([i_left, i_right]),
                        boundary_nodes=np.array([0, nodes.size - 1]), boundary_values=np.array([T_hot, T_cold]),
                        filter_time=tau_filter, boltzmann=1.0, mvv2e=1.0, dof_per_atom=3)
    dt_c = every * dt
    n_eq = int(round(t_equil / dt_c))
    n_av = int(round(t_avg / dt_c))
    t0 = time.time()
    md.run(every)  # the MD energy measure settles after the first steps from a perfect lattice
    led = cp.energies()
    e0 = led.balance
    for k in range(n_eq):
        md.run(every)
        cp.couple(dt_c)
        if verbose and k % max(1, n_eq // 10) == 0:
            led = cp.energies()
            print(f"t={k * dt_c:7.1f}  T_if={cp.T_filtered}  P_if={cp.last_power}  "
                  f"balance drift={(led.balance - e0):.3e}  ({time.time() - t0:.0f}s)", flush=True)
    # averaging
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
    # conductivity from the middle half of the atomistic bar
    mid = (xp > 0.25 * x_max) & (xp < 0.75 * x_max)
    slope = np.polyfit(xp[mid], T_planes[mid], 1)[0]
    flux = 0.5 * (P[0] - P[1])  # power in at the hot side = power out at the cold side (steady)
    kappa_md = -flux / (area * slope)
    # continuum flux in each bar from its (linear) steady profile
    gl = np.polyfit(nodes[1:nl], T_nodes[1:nl], 1)[0]
    gr = np.polyfit(nodes[left.size + 2:-1], T_nodes[left.size + 2:-1], 1)[0]
    out = dict(x_nodes=nodes, T_nodes=T_nodes, x_planes=xp, T_planes=T_planes, P=P, flux=flux,
               kappa_md=kappa_md, kappa=kappa, area=area, q_cont_left=-kappa * area * gl,
               q_cont_right=-kappa * area * gr, balance_drift=led.balance - e0,
               balance_scale=abs(led.thermostat_work) + abs(led.boundary_heat),
               thermostat_work=led.thermostat_work, thermostat_requested=led.thermostat_requested,
               heat_in_avg=(led.boundary_heat - b_start) / t_avg, work_avg=(led.thermostat_work - w_start) / t_avg,
               x_max=x_max, wall=time.time() - t0)
    return out


def main(kappa: float = 8.0, outdir: str | None = None) -> None:  # pragma: no cover - the study
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    outdir = outdir or os.path.dirname(os.path.abspath(__file__))
    r = run(kappa)
    with open(os.path.join(outdir, "profile.csv"), "w") as fh:
        fh.write("kind,x,T\n")
        for x, T in zip(r["x_nodes"], r["T_nodes"]):
            fh.write(f"node,{x:.6f},{T:.6f}\n")
        for x, T in zip(r["x_planes"], r["T_planes"]):
            fh.write(f"plane,{x:.6f},{T:.6f}\n")
    lines = [
        f"continuum conductivity kappa = {r['kappa']:.4g}; measured MD conductivity = {r['kappa_md']:.4g} (LJ units)",
        f"interface powers (hot side in, cold side out), time-averaged: {r['P'][0]:.5g}, {r['P'][1]:.5g}",
        f"continuum flux from bar profiles: left {r['q_cont_left']:.5g}, right {r['q_cont_right']:.5g}",
        f"thermostat work {r['thermostat_work']:.6g} vs requested {r['thermostat_requested']:.6g} "
        f"(difference {r['thermostat_work'] - r['thermostat_requested']:.3e})",
        f"energy balance drift (continuum thermal + MD total - boundary heat): {r['balance_drift']:.4g} "
        f"relative to the energy exchanged {r['balance_drift'] / r['balance_scale']:.3e}",
        f"wall time {r['wall']:.0f} s",
    ]
    print("\n".join(lines))
    with open(os.path.join(outdir, "summary.txt"), "w") as fh:
        fh.write("\n".join(lines) + "\n")
    fig, ax = plt.subplots(figsize=(8, 4))
    nn = len(r["x_nodes"]) // 2
    ax.plot(r["x_nodes"][:nn], r["T_nodes"][:nn], "o-", c="C0", label="continuum nodes")
    ax.plot(r["x_nodes"][nn:], r["T_nodes"][nn:], "o-", c="C0")
    ax.plot(r["x_planes"], r["T_planes"], ".", c="C3", label="atomic planes")
    ax.axvspan(0, r["x_max"], color="0.9", label="atoms")
    ax.set_xlabel("x (σ)"); ax.set_ylabel("T (ε/k_B)"); ax.legend()
    ax.set_title(f"heat_bar: κ_cont={r['kappa']:.3g}, κ_MD={r['kappa_md']:.3g}")
    fig.tight_layout()
    fig.savefig(os.path.join(outdir, "profile.png"), dpi=120)


if __name__ == "__main__":  # pragma: no cover
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 8.0)
