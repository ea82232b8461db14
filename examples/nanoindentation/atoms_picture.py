"""The atoms under the tip before and after the pop-in, from a run's output (one PNG).

    python examples/nanoindentation/atoms_picture.py RUN_DIR [--case case.toml] [-o atoms_under_tip.png]

Reads ``RUN_DIR/indentation_atoms.xyz`` (one extxyz frame per increment: ``species pos id
c_pe csp``), ``RUN_DIR/summary.json`` (``indenter_popin_step``, ``indenter_zero_shift``) and
the case's ``[indenter]`` (position, radius, direction along −z). It draws, for the deepest
increment before the first load drop (the peak) and the increment after it:

* top: a cut through the indenter's axis — the atoms of the (010) plane nearest the apex
  (|y − y_apex| < a/4, a the lattice constant) in x–z, coloured by the centro-symmetry
  parameter (Å²; 0 in the perfect lattice, ≈ 0.5 a² ≈ 6.5 Å² on a stacking fault, more at a
  free surface), the sphere's section drawn;
* bottom left: every atom of the patch with CSP above the band check's threshold (0.1 a² =
  1.31 Å², :data:`mscouple.atomistic.csp.DEFECT_CSP`) at the peak, below the top atomic layer
  and more than 2 Å inside the patch's artificial faces, projected on x–z (coloured by y): the
  distorted core under the contact;
* bottom right: the atoms that jumped by more than 0.5 Å between the two frames (the tip
  moved 0.25 Å), projected on x–z with their jumps as arrows (coloured by |Δx|): where the
  crystal slipped at the load drop.

Units: Å, eV. Without a pop-in it draws the first and the last frame.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

DEFECT_CSP = 0.1  # × a², as mscouple.atomistic.csp.DEFECT_CSP (kept here: the script runs without mscouple)


def read_frames(path: Path) -> list[dict]:
    """Every frame of an extxyz file written by the indenter driver: {'step', 'depth', 'load',
    'id' [n], 'x' [n, 3], 'pe' [n], 'csp' [n]}."""
    frames = []
    with open(path) as fh:
        while True:
            head = fh.readline()
            if not head:
                break
            n = int(head)
            info = fh.readline()
            meta = dict(kv.split("=", 1) for kv in info.replace('"', "").split() if "=" in kv
                        and kv.split("=", 1)[0] in ("Step", "depth", "load"))
            rows = np.loadtxt([fh.readline() for _ in range(n)], usecols=(1, 2, 3, 4, 5, 6), ndmin=2)
            frames.append({"step": int(meta["Step"]), "depth": float(meta["depth"]), "load": float(meta["load"]),
                           "x": rows[:, :3], "id": rows[:, 3].astype(int), "pe": rows[:, 4], "csp": rows[:, 5]})
    return frames


def pick(frames: list[dict], summary: dict) -> tuple[dict, dict]:
    """(the peak before the first load drop, the frame after it); first/last without a pop-in."""
    k = summary.get("indenter_popin_step")
    by = {f["step"]: f for f in frames}
    if k is None or k not in by or k + 1 not in by:
        return frames[0], frames[-1]
    return by[k], by[k + 1]


def draw(run: Path, case_path: Path, out: Path) -> None:
    import tomllib

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Circle

    case = tomllib.loads(case_path.read_text())
    ind = case["indenter"]
    R = float(ind["radius"])
    a = float(case["patches"][next(iter(case["patches"]))]["lattice"]["constant"])
    lo = np.array(next(iter(case["patches"].values()))["region"]["lo"], float)
    hi = np.array(next(iter(case["patches"].values()))["region"]["hi"], float)
    summary = json.loads((run / "summary.json").read_text())
    frames = read_frames(run / "indentation_atoms.xyz")
    before, after = pick(frames, summary)
    pos0 = np.array(ind["position"], float)
    shift = float(summary.get("indenter_zero_shift", 0.0))
    ztop = float(np.max(frames[0]["x"][:, 2]))  # the relaxed surface (frame 0)

    fig, axes = plt.subplots(2, 2, figsize=(9.6, 7.6), constrained_layout=True)
    vmax = 0.5 * a * a  # a stacking fault's CSP
    for col, f in enumerate((before, after)):
        apex = pos0 - np.array([0, 0, shift + f["depth"]])
        centre = apex + np.array([0, 0, R])
        x, c = f["x"], f["csp"]
        # the cut: the (010) plane nearest the apex (planes every a/2 along y)
        y0 = x[np.argmin(np.abs(x[:, 1] - apex[1])), 1]
        s = np.abs(x[:, 1] - y0) < 0.25 * a
        ax = axes[0, col]
        sc = ax.scatter(x[s, 0], x[s, 2], c=np.clip(c[s], 0, vmax), s=9, cmap="viridis", vmin=0, vmax=vmax,
                        edgecolors="none")
        ax.add_patch(Circle((centre[0], centre[2]), R, fill=False, color="r", lw=1.2))
        ax.set_xlim(apex[0] - 20, apex[0] + 20)
        ax.set_ylim(ztop - 20, ztop + 5)
        ax.set_aspect("equal")
        ax.set_title(f"cut y = {y0:.1f} Å, increment {f['step']}: d = {f['depth']:.3g} Å, P = {f['load']:.4g} eV/Å", fontsize=9)
        ax.set_xlabel("x (Å)")
        ax.set_ylabel("z (Å)")
    # bottom left: the distorted core at the peak
    x0 = frames[0]["x"]
    inner = (np.all((x0[:, :2] > lo[:2] + 2.0) & (x0[:, :2] < hi[:2] - 2.0), axis=1) & (x0[:, 2] > lo[2] + 2.0)
             & (x0[:, 2] < ztop - 0.5 * a))
    apex = pos0 - np.array([0, 0, shift + before["depth"]])
    x, c = before["x"], before["csp"]
    d = (c > DEFECT_CSP * a * a) & inner
    ax = axes[1, 0]
    sd = ax.scatter(x[d, 0], x[d, 2], c=x[d, 1] - apex[1], s=8, cmap="coolwarm", vmin=-10, vmax=10, edgecolors="none")
    ax.add_patch(Circle((apex[0], apex[2] + R), R, fill=False, color="r", lw=1.2))
    ax.set_title(f"increment {before['step']}: {int(d.sum())} atoms with CSP > {DEFECT_CSP * a * a:.3g} Å²\n"
                 "(all y, projected)", fontsize=9)
    # bottom right: the jump at the load drop
    ia, ib = np.argsort(before["id"]), np.argsort(after["id"])
    xa, xb = before["x"][ia], after["x"][ib]
    dx = xb - xa
    n = np.linalg.norm(dx, axis=1)
    j = n > 0.5
    ax = axes[1, 1]
    q = ax.quiver(xa[j, 0], xa[j, 2], dx[j, 0], dx[j, 2], n[j], angles="xy", scale_units="xy", scale=1.0,
                  cmap="magma_r", width=0.004)
    apex = pos0 - np.array([0, 0, shift + after["depth"]])
    ax.add_patch(Circle((apex[0], apex[2] + R), R, fill=False, color="r", lw=1.2))
    ax.set_title(f"increment {before['step']} → {after['step']}: {int(j.sum())} atoms jumped > 0.5 Å\n"
                 f"(largest {n.max():.3g} Å; all y, projected)", fontsize=9)
    for ax in axes[1]:
        ax.set_xlim(apex[0] - 14, apex[0] + 14)
        ax.set_ylim(ztop - 12, ztop + 4)
        ax.set_aspect("equal")
        ax.set_xlabel("x (Å)")
        ax.set_ylabel("z (Å)")
    fig.colorbar(sc, ax=axes[0, :], label="centro-symmetry (Å²)", shrink=0.9)
    fig.colorbar(sd, ax=axes[1, 0], label="y − y_apex (Å)", shrink=0.8)
    fig.colorbar(q, ax=axes[1, 1], label="|Δx| (Å)", shrink=0.8)
    fig.savefig(out, dpi=110)
    print(f"{out}: increments {before['step']} (d = {before['depth']:.4g} Å) and {after['step']} "
          f"(d = {after['depth']:.4g} Å) of {run}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path, help="the run folder (indentation_atoms.xyz, summary.json)")
    ap.add_argument("--case", type=Path, default=Path(__file__).with_name("case.toml"))
    ap.add_argument("-o", "--output", type=Path, default=Path("atoms_under_tip.png"))
    args = ap.parse_args(argv)
    draw(args.run, args.case, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
