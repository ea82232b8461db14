"""1D wave packet through a bridging-domain handshake: chain between two FE bars.

Geometry (lattice spacing a = 1, LJ-like units m = k = 1)::

    FE bar | band (w: 1→0) | atoms only (interior) | band (w: 0→1) | FE bar

A right-moving wave packet of wavelength λ is launched in the middle of the interior,
crosses the right band into the right bar; the energy left in the interior once the packet
has gone is the reflected energy, R = E_interior(t_end) / E_interior(0).

The packet is built spectrally from the exact chain dispersion (only k > 0 modes), so it
moves right without a spurious left-moving part. Element size h = r a; the FE bar has
EA = k a, ρA = m / a (same long-wave speed); with lumped masses its dispersion is
ω = (2/h) sin(qh/2), the chain's ω = 2 sin(qa/2).

The scenario itself (geometry, packet, reflection, energy drift) is
:mod:`mscouple.validation.wave1d`; this script runs the full study over wavelengths and
writes the figures. Run ``python examples/wave_1d/wave1d.py`` (PNG + CSV next to this
file); ``tests/coupling/test_wave_1d.py`` runs a fast subset.
"""
from __future__ import annotations

import os
import sys

import numpy as np

from mscouple.validation.models1d import chain_dispersion, lumped_p1_dispersion
from mscouple.validation.wave1d import energy_drift, reflection


def main(outdir: str | None = None) -> None:  # pragma: no cover - the full study
    outdir = outdir or os.path.dirname(os.path.abspath(__file__))
    rows = []
    fine = [4, 6, 8, 12, 16, 24, 32]
    for lam in fine:
        rows.append(("h=a", lam, reflection(lam, 1, 8)))
        print(rows[-1], flush=True)
    coarse = [3, 4, 5, 6, 7, 8, 10, 12, 16, 24, 40, 60, 80]
    for lam in coarse:
        rows.append(("h=4a", lam, reflection(lam, 4, 8)))
        print(rows[-1], flush=True)
        rows.append(("h=4a nodes+damping", lam, reflection(lam, 4, 8, "nodes", damping=0.5)))
        print(rows[-1], flush=True)
        rows.append(("h=4a nodes+damping 16-el band", lam, reflection(lam, 4, 16, "nodes", damping=0.5)))
        print(rows[-1], flush=True)
        rows.append(("h=4a nodes+damping+high-pass 16-el band", lam,
                     reflection(lam, 4, 16, "nodes", damping=0.5, highpass=1.0)))
        print(rows[-1], flush=True)
    with open(os.path.join(outdir, "reflection.csv"), "w") as fh:
        fh.write("case,wavelength,R\n")
        for c, lam, r in rows:
            fh.write(f"{c},{lam},{r:.6e}\n")
    plot(rows, outdir)
    with open(os.path.join(outdir, "energy.txt"), "w") as fh:
        for ratio, mult in ((1, "atoms"), (4, "atoms"), (4, "nodes")):
            drift, _ = energy_drift(10_000, 0.1, ratio, mult)
            line = f"h={ratio}a multipliers={mult}: NVE max relative energy deviation over 1e4 steps = {drift:.3e}"
            print(line, flush=True)
            fh.write(line + "\n")


def plot(rows: list, outdir: str) -> None:  # pragma: no cover - the full study
    """``reflection.png`` from rows ``(case, λ, R)`` (``python wave1d.py --plot`` re-plots the CSV)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.5))
    for case in dict.fromkeys(c for c, _, _ in rows):
        lam = np.array([l for c, l, _ in rows if c == case])
        R = np.array([r for c, _, r in rows if c == case])
        ax1.loglog(2 * np.pi / lam, np.maximum(R, 1e-16), "o-", label=case)
    ax1.set_xlabel("wavenumber q a"); ax1.set_ylabel("energy reflection R"); ax1.legend(loc="upper left", fontsize=8)
    ax1.axvline(np.pi / 4, ls=":", c="k")  # λ = 2h (h = 4a)
    ax1.axvline(2 * np.arcsin(0.25), ls="--", c="grey")  # chain ω = 2c/h (the 4a mesh's cut-off)
    ax1.axhline(0.05, ls=":", c="r"); ax1.axhline(1e-2, ls=":", c="m")
    ax1.set_title("reflection vs wavenumber (dotted: λ = 2h; dashed: ω = 2c/h)")
    q = np.linspace(0, np.pi, 200)
    ax2.plot(q, chain_dispersion(q), label="chain")
    for h in (1, 4):
        qq = q[q <= np.pi / h]
        ax2.plot(qq, lumped_p1_dispersion(qq, h=h), "--", label=f"lumped P1, h={h}a")
    ax2.set_xlabel("q a"); ax2.set_ylabel("ω"); ax2.legend(); ax2.set_title("dispersion")
    fig.tight_layout()
    fig.savefig(os.path.join(outdir, "reflection.png"), dpi=120)


if __name__ == "__main__":  # pragma: no cover
    if "--plot" in sys.argv:
        here = os.path.dirname(os.path.abspath(__file__))
        with open(os.path.join(here, "reflection.csv")) as fh:
            rows = [(c, int(l), float(r)) for c, l, r in (ln.strip().split(",") for ln in list(fh)[1:])]
        plot(rows, here)
    else:
        main(sys.argv[1] if len(sys.argv) > 1 else None)
