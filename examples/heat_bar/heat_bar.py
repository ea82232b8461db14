"""Steady heat conduction through an atomistic LJ bar between two continuum bars.

After LAMMPS AtC's ``bar1d`` example. LJ units. An fcc LJ bar (periodic in y, z, free
surfaces in x) sits between two 1D continuum heat bars whose outer ends are held at
T_hot and T_cold. On each side one continuum node lies inside the atoms; its temperature is
the atoms' projected, time-filtered kinetic temperature, and the power the continuum passes
into it is handed to the atoms by the power-matched thermostat (``ThermalCoupler``).

Outputs next to this file: ``profile.csv`` / ``profile.png`` (time-averaged temperature of
continuum nodes and atomic planes), ``summary.txt`` (fluxes, measured conductivity,
energy balance).

The geometry and the run are :func:`mscouple.validation.heat_bar.steady_conductivity` (one
builder, :func:`~mscouple.validation.heat_bar.build_heat_bar`, shared with
``examples/heat_pulse`` and ``mscouple validate``); this script writes the outputs.

Run: ``python examples/heat_bar/heat_bar.py [kappa_continuum]``.
"""
from __future__ import annotations

import os
import sys

from mscouple.validation.heat_bar import steady_conductivity as run


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
