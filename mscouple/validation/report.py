"""PNG report of a validation run: one panel per available level with plots, plus a
summary panel (pass/fail/not available per level, wall time)."""
from __future__ import annotations

import os

import numpy as np

from .checks import LevelResult


def write_report(results: list[LevelResult], path: str, quick: bool) -> str:
    """Draw the report to ``path`` (PNG); returns the path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    by = {r.level: r for r in results}
    fig, axes = plt.subplots(2, 3, figsize=(16, 9.5))
    ax = axes.ravel()
    # 1: stress-strain and bar
    r1 = by.get(1)
    if r1 is not None and "stress_strain" in r1.plots:
        e, s_md, s_cb = r1.plots["stress_strain"]
        ec = np.linspace(e[0], e[-1], len(s_cb))
        ax[0].plot(ec, s_cb, "-", label="Cauchy-Born (lattice sum)")
        ax[0].plot(e, s_md, "o", label="MD cell (oracle)")
        ax[0].set(xlabel="strain", ylabel="chain force", title="1. LJ chain: MD oracle vs Cauchy-Born")
        ax[0].legend()
        x, u, xa, ua = r1.plots["bar"]
        ax[1].plot(xa, ua, "-", lw=3, alpha=0.4, label="fully atomistic chain")
        ax[1].plot(x, u, "o-", label="HMM FE (MD oracle)")
        ax[1].set(xlabel="x", ylabel="displacement", title="1. bar under load")
        ax[1].legend()
    else:
        ax[0].set_axis_off()
        ax[1].set_axis_off()
    r2 = by.get(2)
    if r2 is not None and "rve" in r2.plots:
        for i, (name, f1, k, lo, hi, reu, voi) in enumerate(r2.plots["rve"]):
            ax[2].errorbar([i], [0.5 * (lo + hi)], yerr=[[0.5 * (hi - lo)]], fmt="none", capsize=8, color="C1",
                           label="Hashin-Shtrikman" if i == 0 else None)
            ax[2].plot([i, i], [reu, voi], ":", color="gray", label="Voigt/Reuss" if i == 0 else None)
            ax[2].plot([i], [k], "o", color="C0", label="FE RVE" if i == 0 else None)
        ax[2].set_xticks(range(len(r2.plots["rve"])), [s[0] for s in r2.plots["rve"]], fontsize=8)
        ax[2].set(ylabel="effective conductivity", title="2. RVE conductivity within bounds")
        ax[2].legend()
    else:
        ax[2].set_axis_off()
    r3 = by.get(3)
    if r3 is not None and "eps" in r3.plots:
        eps, errs, ks, rerrs, Hs, herrs = r3.plots["eps"]
        eps = np.asarray(eps)
        ax[3].loglog(eps, errs, "o-", label="oscillating coefficient")
        ax[3].loglog(eps, errs[-1] * eps / eps[-1], "k--", lw=0.8, label="slope 1")
        inv = 1.0 / np.asarray(ks)
        ax[3].loglog(inv, rerrs, "s-", label="fast reaction (eps = 1/Da)")
        ax[3].set(xlabel="eps", ylabel="max |u_eps - u_0|", title="3. convergence to homogenized")
        ax[3].legend()
        H = 1.0 / np.asarray(Hs)
        ax[4].loglog(H, herrs, "o-", label="HMM with cell problems")
        ax[4].loglog(H, herrs[-1] * (H / H[-1]) ** 2, "k--", lw=0.8, label="slope 2")
        ax[4].set(xlabel="H", ylabel="max |u_HMM - u_0|", title="3. HMM macro convergence")
        ax[4].legend()
    else:
        ax[3].set_axis_off()
        ax[4].set_axis_off()
    ax[5].set_axis_off()
    lines = [f"mscouple validate {'--quick' if quick else '(full)'}", ""]
    for r in results:
        if not r.available:
            lines.append(f"level {r.level} {r.title}: not available")
            continue
        n = sum(c.passed is not None for c in r.checks)
        ok = sum(c.passed is True for c in r.checks)
        lines.append(f"level {r.level} {r.title}: {ok}/{n} pass ({r.seconds:.1f} s)")
    ax[5].text(0.0, 1.0, "\n".join(lines), va="top", family="monospace", fontsize=10)
    fig.tight_layout()
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
