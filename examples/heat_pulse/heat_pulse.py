"""A Gaussian heat pulse crossing an atomistic LJ patch between two continuum bars.

Same coupling as ``examples/heat_bar`` (power-matched thermostat, ``ThermalCoupler``) but
with insulated outer ends: the pulse starts in the left bar, diffuses through the atoms
into the right bar. Compared with a pure-continuum run of the whole domain with the
atomistic conductivity (``kappa``, measured by ``heat_bar``):

* total energy (continuum thermal + MD total) is conserved — no reservoirs;
* the continuum temperature profile follows the pure-continuum one (L2 of the excess);
* the energy that reaches the right bar matches (no spurious reflection at the interfaces).

The run is :func:`mscouple.validation.heat_bar.heat_pulse` (geometry from
:func:`~mscouple.validation.heat_bar.build_heat_bar`); this script writes the outputs.

Outputs: ``profiles.png``, ``summary.txt``. Run ``python examples/heat_pulse/heat_pulse.py``.
"""
from __future__ import annotations

import os
import sys

from mscouple.validation.heat_bar import heat_pulse as run


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
