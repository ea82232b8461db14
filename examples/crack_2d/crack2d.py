"""Mode-I crack tip in a 2D triangular Lennard-Jones crystal: alternating-Schwarz statics
(atomistic patch at the tip inside a graded P1 plate with Cauchy–Born constants) against a
fully atomistic run of the same domain.

Geometry (lengths in σ, tip at the origin, crack along −x in the plane y = 0 midway between
two atom rows): the crack is a slit — atoms above (type 1) and below (type 2) the plane
behind the tip do not interact with each other (ε₁₂ = 0); everything else is LJ 2.5σ with a
smoothed (shifted-force) cutoff. The continuum plate has the same slit (duplicated nodes).
Both models get the isotropic plane K-field (Cauchy–Born μ, ν) on their outer boundary:
the continuum on its boundary nodes (except the two nodes of the crack mouth), the atoms on
a boundary layer of width ``pad`` (the full atomistic run).

    .venv/bin/python examples/crack_2d/crack2d.py          # < 60 s; writes crack_2d.png, summary.txt

The scenario is :mod:`mscouple.validation.crack2d` (``run(...)``; small sizes are what
``tests/coupling/test_schwarz_crack.py`` checks); this script plots and writes the summary.
"""
from __future__ import annotations

import os
import sys

import numpy as np

from mscouple.validation.crack2d import run


def plot(out, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.tri import Triangulation

    cp, x = out["coupled"], out["x"]
    fig, ax = plt.subplots(1, 2, figsize=(12, 5.6))
    C = cp["coords"]
    lo, hi = cp["core"]
    tri = Triangulation(C[:, 0], C[:, 1], cp["cells"])
    un = np.zeros((len(C), 2))
    un[:] = np.nan
    # owned == all on one rank: node order of owned_nodes is 0..n-1
    un[:len(cp["u_nodes"])] = cp["u_nodes"]
    incore = np.all((C > lo - 1e-9) & (C < hi + 1e-9), axis=1)
    mask = incore[cp["cells"]].all(axis=1)
    tri.set_mask(mask)
    sc = 3.0
    tc = ax[0].tripcolor(tri, un[:, 1], shading="gouraud", cmap="coolwarm")
    ax[0].triplot(Triangulation(C[:, 0] + sc * un[:, 0], C[:, 1] + sc * un[:, 1], cp["cells"], mask=mask),
                  lw=0.3, color="k")
    ids = cp["ids"]
    pad = cp["fixed"] == 1
    xa = x[ids, :2] + sc * cp["u"]
    ax[0].scatter(xa[~pad, 0], xa[~pad, 1], s=2, c=cp["u"][~pad, 1], cmap="coolwarm",
                  norm=tc.norm, label="free atoms")
    ax[0].scatter(xa[pad, 0], xa[pad, 1], s=2, c="tab:orange", label="pad atoms")
    ax[0].legend(loc="lower right", fontsize=8)
    fig.colorbar(tc, ax=ax[0], label="u_y (σ)")
    ax[0].set_title(f"Schwarz: graded P1 plate + {len(ids)}-atom patch (×{sc:g})")
    ax[0].set_aspect("equal")
    err = np.linalg.norm(cp["u"] - out["u_full"][ids], axis=1) / out["delta"]
    s2 = ax[1].scatter(x[ids, 0], x[ids, 1], c=err * 100, s=10, cmap="viridis")
    fig.colorbar(s2, ax=ax[1], label="|u_Schwarz − u_full| / tip opening (%)")
    ax[1].set_title(f"vs fully atomistic ({out['natoms']} atoms): max {100 * out['err_max']:.2f} %")
    ax[1].set_aspect("equal")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    out = run()
    plot(out, os.path.join(here, "crack_2d.png"))
    na, nc = out["dof_coupled"]
    lines = [
        f"triangular LJ (smooth 2.5σ), a = {out['a']:.6f} σ; Cauchy–Born C11 = {out['C2'][0, 0]:.4f}, "
        f"C12 = {out['C2'][0, 1]:.4f}, C66 = {out['C2'][2, 2]:.4f} ε/σ²; ν = {out['nu']:.4f}",
        f"atoms in the domain {out['natoms']}, in the patch {out['npatch']}",
        f"tip opening (full atomistic) {out['delta']:.5f} σ",
        f"max |u_Schwarz − u_full| / tip opening: all patch atoms {100 * out['err_max']:.3f} %, "
        f"free atoms {100 * out['err_free']:.3f} %, rms {100 * out['err_rms']:.3f} %",
        f"Schwarz iterations {out['iterations']} (Aitken), FIRE steps per iteration "
        f"{out['relax_steps'][0]}..{out['relax_steps'][-1]}; residuals: atoms {out['residuals'][0]:.2e}, "
        f"nodes {out['residuals'][1]:.2e}",
        f"free DOFs: full atomistic {out['dof_full']}, coupled {na} atomic + {nc} nodal = {na + nc} "
        f"(reduction ×{out['dof_full'] / (na + nc):.2f})",
        f"wall time: full atomistic {out['t_full']:.2f} s ({out['steps_full']} FIRE steps), "
        f"coupled {out['t_coupled']:.2f} s (saved {100 * (1 - out['t_coupled'] / out['t_full']):.0f} %)",
    ]
    text = "\n".join(lines)
    print(text)
    with open(os.path.join(here, "summary.txt"), "w") as fh:
        fh.write(text + "\n")


if __name__ == "__main__":
    sys.exit(main())
