"""Coupled against fully atomistic, the same block, boundary conditions and loading, in one
invocation: P(d), the patch atoms' positions, degrees of freedom and wall time.

    python examples/nanoindentation/compare.py --block 40 40 16 --patch 12 12 7 --cells 17 17 11 \
        --coarsening 6 --width 5 --radius 8 --increment 1.0 --steps 3 --tolerance 1e-4 \
        --ranks 2 --out runs/nanoindentation_compare

writes ``coupled.toml`` and ``md.toml`` (examples/nanoindentation/make_case.py: the coupled
block is meshed with P1 tets, graded towards the patch; the atomistic block has the same
lattice sites, its bottom layer fixed where the continuum's bottom face is), runs both with
``mpirun -n RANKS`` (coupled: 1 continuum rank + the rest on the patch; atoms: every rank
on the block), and prints one JSON object (also ``compare.json``):

Depth is measured the same way in both runs, as an experimentalist does: from first contact
with the surface relaxed at depth 0 (``indenter.zero = "contact"``; the free-standing block's
top sinks by ``zero_shift_atoms`` before contact under the surface stress of its five free
faces, the patch held by the continuum by ``zero_shift_coupled``).

* ``load_rel_dev``: max |P_coupled / P_atoms − 1| over the increments up to the first load
  drop of either run (and the depth range it covers);
* ``patch_displacement_dev`` (``_median``): max (median) over the coupled patch's atoms of
  |u_coupled − u_atoms|, displacements from each run's relaxed increment 0, at the last
  common increment before a drop, in units of the tip's depth then;
  ``tip_atom_displacement_dev``: the same for the atom under the tip (the first one touched),
  whose downward displacements are ``tip_atom_displacement`` (coupled, atoms);
* ``popin_coupled``, ``popin_atoms``: [depth, load, load after the drop] of the first load
  drop of each run (None without one), and ``popin_depth_rel_dev``, ``popin_load_rel_dev``
  (coupled / atoms − 1); ``--depths COARSE FINE SWITCH FINAL`` resolves it (e.g. 0.5 0.25 3 5);
  a coupled run stopped by a defect reaching the band is analysed up to its last record;
* ``dof_atoms``, ``dof_coupled`` (3 per atom + 3 per FE node) and their ratio;
* ``wall_atoms_s``, ``wall_coupled_s`` (each ``mpirun`` from start to exit, set-up and output
  included) and their ratio; ``same_invocation`` (false once ``--only`` re-ran one side);
  ``wall_in_run_*`` (each run's own clock, set-up excluded), ``fire_steps_atoms``,
  ``schwarz_iterations`` per record.

``--tolerance`` sets ``run.tolerance`` of both cases (FIRE max|f| in eV/Å, Schwarz change in Å).
The fully atomistic block needs 1e-4: at 1e-3 FIRE stops a 65,536-atom block before its far
field has relaxed (its top sinks −0.009 Å before contact instead of 0.032 Å, and P at d = 1 Å is
7 % low: 3.395 against 3.657 eV/Å), while the coupled answer moves by 0.3 % between 1e-3 and 1e-4.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_case  # noqa: E402


def read_table(path: str) -> dict[str, np.ndarray]:
    rows = list(csv.DictReader(open(path)))
    return {k: np.array([float(r[k]) for r in rows]) for k in rows[0]}


def read_frames(path: str) -> list[dict]:
    """Frames of the indenter's extxyz file: ``{"step", "ids", "x"}`` each."""
    frames, lines, i = [], open(path).read().splitlines(), 0
    while i < len(lines):
        n = int(lines[i])
        head = lines[i + 1]
        step = int(head.split("Step=")[1].split()[0])
        body = np.array([ln.split()[1:5] for ln in lines[i + 2:i + 2 + n]], dtype=float)
        frames.append({"step": step, "x": body[:, :3], "ids": body[:, 3].astype(np.int64)})
        i += 2 + n
    return frames


def first_drop(P: np.ndarray) -> int:
    """Index of the last record before the first load drop (len − 1 without a drop)."""
    for k in range(1, len(P)):
        if P[k] < P[k - 1] * (1 - 1e-6):
            return k - 1
    return len(P) - 1


def run(cmd: list[str], env: dict, log: str | None = None) -> float:
    t0 = time.perf_counter()
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if log is not None:  # the run's own timer table is at the end of its stdout
        with open(log, "w") as fh:
            fh.write(r.stdout + r.stderr)
    if r.returncode != 0 and "defect reached the handshake band" in r.stdout + r.stderr:
        # the coupled run's defect stop after the pop-in: P(d) up to there is on disk
        print(next(ln for ln in (r.stdout + r.stderr).splitlines() if "defect reached" in ln), file=sys.stderr)
    elif r.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
    return time.perf_counter() - t0


def mesh_nodes(case_path: str) -> int:
    from mscouple.config import load_case

    m = load_case(case_path).continuum.mesh
    return int(np.prod(np.asarray(m.cells) + 1))


def compare(block, patch, *, cells, steps, increment, radius, ranks, out, coarsening=4.0, width=6.0,
            mscouple=None, mpirun="mpirun", reuse: bool = False, only: str | None = None,
            tolerance: float = 1e-4, depths=None, statics: str = "schwarz") -> dict:
    os.makedirs(out, exist_ok=True)
    pot = os.path.join(out, make_case.POTENTIAL)
    if not os.path.exists(pot):
        shutil.copy(os.path.join(HERE, make_case.POTENTIAL), pot)
    common = dict(radius=radius, increment=increment, steps=steps, atoms_every=1, tolerance=tolerance,
                  depths=depths)
    text = make_case.coupled_case(patch, block, cells=cells, ranks=(1, ranks - 1), coarsening=coarsening,
                                  width=width, out=os.path.join(out, "coupled"), fields_every=0, statics=statics,
                                  **common)
    open(os.path.join(out, "coupled.toml"), "w").write(text)
    open(os.path.join(out, "md.toml"), "w").write(
        make_case.md_case(block, ranks=ranks, out=os.path.join(out, "md"), **common))
    exe = mscouple or [sys.executable, "-m", "mscouple.cli.main"]
    env = dict(os.environ)
    walls = {}
    saved = os.path.join(out, "compare.json")
    old = json.load(open(saved)) if os.path.exists(saved) else None
    if reuse or only:
        if old is None:
            raise SystemExit(f"--reuse/--only need the {saved} of a previous invocation")
        walls = {"md": old["wall_atoms_s"], "coupled": old["wall_coupled_s"]}
    same = bool(old["same_invocation"]) if (reuse and "same_invocation" in old) else not only
    for name in ("md", "coupled"):
        if not reuse and only in (None, name):
            walls[name] = run([mpirun, "-n", str(ranks), *exe, "run", os.path.join(out, f"{name}.toml"),
                               "--overwrite"], env, log=os.path.join(out, f"{name}.log"))
    tc = read_table(os.path.join(out, "coupled", "indentation.csv"))
    tm = read_table(os.path.join(out, "md", "indentation.csv"))
    k = min(first_drop(tc["load"]), first_drop(tm["load"]), len(tc["load"]) - 1, len(tm["load"]) - 1)
    sel = slice(1, k + 1)
    dev = np.abs(tc["load"][sel] / tm["load"][sel] - 1.0)
    fc = read_frames(os.path.join(out, "coupled", "indentation_atoms.xyz"))
    fm = read_frames(os.path.join(out, "md", "indentation_atoms.xyz"))
    from scipy.spatial import cKDTree

    # match the atoms by their sites (frame 0 of both runs: relaxed at depth 0, within
    # ~0.1 Å of the lattice sites they share)
    dist, idx = cKDTree(fm[0]["x"]).query(fc[0]["x"])
    ok = dist < 0.5
    dk = tc["depth"][k]
    # displacements from each run's own relaxed increment-0 state (depth 0 = first contact)
    uc = fc[k]["x"][ok] - fc[0]["x"][ok]
    um = fm[k]["x"][idx[ok]] - fm[0]["x"][idx[ok]]
    du = np.linalg.norm(uc - um, axis=1)
    disp_dev = float(np.max(du) / dk) if k > 0 else float("nan")
    # the atom under the tip: the first one touched (nearest the axis among the top atoms)
    ax = np.array(make_case.geometry(patch, block)[3])
    x0c = fc[0]["x"][ok]
    top = x0c[:, 2] > x0c[:, 2].max() - 0.5
    lat = np.linalg.norm(x0c[:, :2] - ax[:2], axis=1)
    tip = int(np.flatnonzero(top)[np.argmin(lat[top])])
    summ = {n: (json.load(open(os.path.join(out, n, "summary.json")))
                if os.path.exists(os.path.join(out, n, "summary.json")) else {}) for n in ("coupled", "md")}
    # the pop-in: the last record before the first load drop (depth and load of the peak)
    popin = {}
    for n, t in (("coupled", tc), ("atoms", tm)):
        j = first_drop(t["load"])
        popin[n] = ([float(t["depth"][j]), float(t["load"][j]), float(t["load"][j + 1])]
                    if j < len(t["load"]) - 1 else None)
    res_pop = {"popin_coupled": popin["coupled"], "popin_atoms": popin["atoms"],
               "popin_depth_rel_dev": (popin["coupled"][0] / popin["atoms"][0] - 1.0)
               if popin["coupled"] and popin["atoms"] else None,
               "popin_load_rel_dev": (popin["coupled"][1] / popin["atoms"][1] - 1.0)
               if popin["coupled"] and popin["atoms"] else None,
               "depths_coupled": tc["depth"].tolist(), "loads_coupled_all": tc["load"].tolist(),
               "depths_atoms": tm["depth"].tolist(), "loads_atoms_all": tm["load"].tolist()}
    shifts = {n: summ[n].get("indenter_zero_shift", float("nan")) for n in ("coupled", "md")}
    res_disp = {"patch_displacement_dev": disp_dev,
                "patch_displacement_dev_median": float(np.median(du) / dk) if k > 0 else float("nan"),
                "tip_atom_displacement": [float(-uc[tip, 2]), float(-um[tip, 2])],
                "tip_atom_displacement_dev": float(du[tip] / dk) if k > 0 else float("nan"),
                "zero_shift_coupled": shifts["coupled"], "zero_shift_atoms": shifts["md"]}
    n_atoms_md, n_atoms_c = len(fm[0]["x"]), len(fc[0]["x"])
    dof_md = 3 * n_atoms_md
    dof_c = 3 * (n_atoms_c + mesh_nodes(os.path.join(out, "coupled.toml")))
    res = {"block_cells": list(block), "patch_cells": list(patch), "ranks": ranks,
           "depths": [float(tc["depth"][1]), float(tc["depth"][k])],
           "load_rel_dev": float(dev.max()) if len(dev) else float("nan"),
           "load_rel_dev_per_increment": dev.tolist(),
           "loads_coupled": tc["load"][:k + 1].tolist(), "loads_atoms": tm["load"][:k + 1].tolist(),
           "patch_atoms_matched": int(ok.sum()), **res_disp, **res_pop,
           "dof_atoms": dof_md, "dof_coupled": dof_c, "dof_ratio": dof_md / dof_c,
           "wall_atoms_s": walls["md"], "wall_coupled_s": walls["coupled"],
           "wall_ratio": walls["md"] / walls["coupled"],
           # both walls from one invocation (False after --only: one side re-run alone)
           "same_invocation": same,
           "tolerance": tolerance, "statics": statics,
           # the coupled run's ledger of both scales (E_atoms_w + E_continuum_w + dE_indenter − W)
           "ledger_residual_coupled": tc["ledger_residual"].tolist() if "ledger_residual" in tc else None,
           "W_indenter_coupled": tc["W_indenter"].tolist() if "W_indenter" in tc else None,
           # each run's own wall from its first step to its end (set-up excluded), and the work:
           # FIRE steps of the block; Schwarz iterations per record of the coupled run
           "wall_in_run_atoms_s": summ["md"].get("wall_seconds"),
           "wall_in_run_coupled_s": summ["coupled"].get("wall_seconds"),
           "fire_steps_atoms": summ["md"].get("indenter_relax_steps"),
           "schwarz_iterations": [int(v) for v in read_table(os.path.join(out, "coupled", "run.csv"))
                                  ["schwarz_iterations"][:k + 1]]}
    with open(os.path.join(out, "compare.json"), "w") as fh:
        json.dump(res, fh, indent=1)
    return res


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # defaults: run A of the README's "Savings" (DOF 12.9x, wall 8.4x, P within 2.9 % at 1-3 Å)
    ap.add_argument("--block", type=int, nargs=3, default=(40, 40, 16))
    ap.add_argument("--patch", type=int, nargs=3, default=(12, 12, 7))
    ap.add_argument("--cells", type=int, nargs=3, default=(17, 17, 11), help="graded FE cells per axis")
    ap.add_argument("--coarsening", type=float, default=6.0, help="mesh spacing far away / over the patch")
    ap.add_argument("--width", type=float, default=None,
                    help="overlap of the two models (Å; default 5 with Schwarz, 1 with blended statics: "
                         "its overlap atoms follow the continuum, a narrow blend keeps more of the patch free)")
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--increment", type=float, default=1.0)
    ap.add_argument("--radius", type=float, default=8.0)
    ap.add_argument("--ranks", type=int, default=2)
    ap.add_argument("--tolerance", type=float, default=1e-4,
                    help="run.tolerance of both cases: FIRE max|f| (eV/Å) and the Schwarz change (Å)")
    ap.add_argument("--depths", type=float, nargs=4, default=None, metavar=("COARSE", "FINE", "SWITCH", "FINAL"),
                    help="a depth schedule instead of --increment/--steps: every COARSE Å to SWITCH, then every "
                         "FINE Å to FINAL (make_case.depth_schedule), e.g. 0.5 0.25 3 5 to resolve the pop-in")
    ap.add_argument("--out", default="runs/nanoindentation_compare")
    ap.add_argument("--reuse", action="store_true", help="re-analyse the runs of a previous invocation")
    ap.add_argument("--only", choices=("md", "coupled"), default=None,
                    help="re-run one side only (exploring meshes against a saved reference; the JSON then "
                         "says same_invocation = false)")
    ap.add_argument("--statics", default="schwarz", choices=("schwarz", "blended"),
                    help="the coupled side's statics: alternating Schwarz or the blended energy minimised")
    a = ap.parse_args(argv)
    if a.width is None:
        a.width = make_case.default_width(a.statics)
    res = compare(a.block, a.patch, cells=a.cells, steps=a.steps, increment=a.increment, radius=a.radius,
                  ranks=a.ranks, out=a.out, coarsening=a.coarsening, width=a.width, reuse=a.reuse,
                  only=a.only, tolerance=a.tolerance, statics=a.statics,
                  depths=make_case.depth_schedule(*a.depths) if a.depths else None)
    print(json.dumps({k: v for k, v in res.items() if not k.endswith("per_increment")}, indent=1))


if __name__ == "__main__":
    main()
