"""A Gaussian heat pulse crossing an atomistic LJ patch between two continuum bars.

Same coupling as ``examples/heat_bar`` (power-matched thermostat, ``ThermalCoupler``) but
with insulated outer ends: the pulse starts in the left bar, diffuses through the atoms
into the right bar. Compared with a pure-continuum run of the whole domain with the
atomistic conductivity (``kappa``, measured by ``heat_bar``):

* total energy (continuum thermal + MD total) is conserved — no reservoirs;
* the continuum temperature profile follows the pure-continuum one (L2 of the excess);
* the energy that reaches the right bar matches (no spurious reflection at the interfaces).

Outputs: ``profiles.png``, ``summary.txt``. Run ``python examples/heat_pulse/heat_pulse.py``.
"""
from __future__ import annotations

import os
import sys
import time

import numpy as np
from mpi4py import MPI

from mscouple.atomistic.box import Box
from mscouple.atomistic.lattice import fcc
from mscouple.atomistic.potentials import LennardJones
from mscouple.atomistic.system import MDSystem
from mscouple.coupling.exchange import InterfaceExchange
from mscouple.coupling.models1d import Heat1D
from mscouple.coupling.thermal import ThermalCoupler


def run(kappa: float = 17.5, a: float = 1.56, cells=(16, 4, 4), L_cont: float = 40.0, T0: float = 0.25,
        amp: float = 0.3, width: float = 6.0, centre: float = -20.0, dt: float = 0.005, every: int = 10,
        t_end: float = 200.0, n_snap: int = 6, tau_filter: float = 1.0, seed: int = 11,
        verbose: bool = True) -> dict:
    x, cbox = fcc(a, cells)
    Lx = cells[0] * a
    box = Box(np.array([-Lx, 0.0, 0.0]), np.array([2 * Lx, cbox.hi[1], cbox.hi[2]]), (False, True, True))
    md = MDSystem(MPI.COMM_SELF, box, x, LennardJones(cutoff=2.5, mode="shift"), units="lj", dt=dt,
                  skin=0.3, sort_every=0)
    md.set_velocities(2.0 * T0, seed=seed)
    md.run(int(round(20.0 / dt)))  # equipartition
    T_md = 0.0
    for _ in range(40):  # mean MD temperature over 20 τ: the continuum's background
        md.run(int(round(0.5 / dt)))
        T_md += md.temperature() / 40
    area = cbox.hi[1] * cbox.hi[2]
    rho_c = 3.0 * len(x) / Lx  # per length (Dulong–Petit)
    x_max = x[:, 0].max()
    h = 2 * a
    nl = int(round(L_cont / a))
    left = np.concatenate([np.linspace(-L_cont, 0.0, nl + 1), [h]])
    right = np.concatenate([[x_max - h], np.linspace(x_max, x_max + L_cont, nl + 1)])
    nodes = np.concatenate([left, right])
    cl = np.stack([np.arange(left.size - 1), np.arange(1, left.size)], 1)
    cr = left.size + np.stack([np.arange(right.size - 1), np.arange(1, right.size)], 1)
    cells_h = np.concatenate([cl, cr])
    heat = Heat1D(nodes, cells_h, conductivity=kappa * area, rho_c=rho_c)
    excess = lambda X: amp * np.exp(-(((X - centre) / width) ** 2))  # noqa: E731
    heat.T[:] = T_md + excess(nodes)
    i_left, i_right = left.size - 1, left.size
    th = np.flatnonzero(((x[:, 0] > 1e-9) & (x[:, 0] <= h + 1e-9)) |
                        ((x[:, 0] < x_max - 1e-9) & (x[:, 0] >= x_max - h - 1e-9)))
    order = np.argsort(md.ids)
    th_local = order[np.searchsorted(md.ids, th, sorter=order)]
    ex = InterfaceExchange.local(th, md.x0[th_local, :1], nodes[:, None], cells_h, "P1")
    cp = ThermalCoupler(ex, heat=heat, patch=md, thermo_atoms=th_local,
                        interface_nodes=np.array([i_left, i_right]), filter_time=tau_filter)
    # pure-continuum reference: one uniform bar over the whole domain, same κ and ρc
    xr = np.linspace(-L_cont, x_max + L_cont, int(round((x_max + 2 * L_cont) / (0.5 * a))) + 1)
    ref = Heat1D(xr, np.stack([np.arange(xr.size - 1), np.arange(1, xr.size)], 1), kappa * area, rho_c)
    ref.T[:] = T_md + excess(xr)
    dt_c = every * dt
    nsteps = int(round(t_end / dt_c))
    snaps = set(np.linspace(0, nsteps, n_snap).astype(int).tolist())
    led = cp.energies()
    e0 = led.balance
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
    l2 = float(np.sqrt(num / den))
    Tn, Tr = out["T_nodes"][-1], np.interp(nodes, xr, out["T_ref"][-1])
    ex_c, ex_r = Tn - T_md, Tr - T_md
    right_nodes = np.arange(left.size, nodes.size)
    cap_r = heat.capacity[right_nodes]
    e_right = float(np.sum(cap_r * ex_c[right_nodes]))
    e_right_ref = float(np.sum(cap_r * ex_r[right_nodes]))
    out.update(T_md=T_md, pulse_energy=pulse_energy, balance_change=led.balance - e0, l2=l2,
               e_right=e_right, e_right_ref=e_right_ref, thermostat_work=led.thermostat_work,
               thermostat_requested=led.thermostat_requested, wall=time.time() - t0, x_max=x_max)
    return out


def main(outdir: str | None = None) -> None:  # pragma: no cover - the study
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    outdir = outdir or os.path.dirname(os.path.abspath(__file__))
    r = run()
    lines = [
        f"MD temperature T0 = {r['T_md']:.4f}; pulse excess energy {r['pulse_energy']:.4f}",
        f"total energy change (continuum + MD): {r['balance_change']:+.4f} = "
        f"{100 * r['balance_change'] / r['pulse_energy']:+.2f} % of the pulse energy",
        f"thermostat work {r['thermostat_work']:.6g} vs requested {r['thermostat_requested']:.6g}",
        f"L2 (capacity-weighted, over the snapshots) difference of the excess temperature vs pure continuum: "
        f"{100 * r['l2']:.1f} %",
        f"excess energy in the right bar at t_end: {r['e_right']:.4f} vs pure continuum {r['e_right_ref']:.4f} "
        f"({100 * (r['e_right'] / r['e_right_ref'] - 1):+.1f} %)",
        f"wall time {r['wall']:.0f} s",
    ]
    print("\n".join(lines))
    with open(os.path.join(outdir, "summary.txt"), "w") as fh:
        fh.write("\n".join(lines) + "\n")
    fig, ax = plt.subplots(figsize=(9, 4))
    n = r["nodes"]
    half = len(n) // 2
    for i, (t, Tn, Tr) in enumerate(zip(r["t"], r["T_nodes"], r["T_ref"])):
        c = f"C{i}"
        ax.plot(r["xr"], Tr, "--", c=c, lw=1)
        ax.plot(n[:half], Tn[:half], "-", c=c, label=f"t={t:.0f}")
        ax.plot(n[half:], Tn[half:], "-", c=c)
    ax.axvspan(0, r["x_max"], color="0.9")
    ax.set_xlabel("x (σ)"); ax.set_ylabel("T (ε/k_B)")
    ax.set_title("heat pulse: coupled (solid) vs pure continuum (dashed); grey: atoms")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(outdir, "profiles.png"), dpi=120)


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1] if len(sys.argv) > 1 else None)
