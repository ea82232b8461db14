"""Coupled step against the MD step: one 3D fcc LJ patch run as pure MD and coupled.

System: an fcc LJ block of ``4 n^3`` atoms (``--atoms``, default 32,000: n = 20) at
a = 1.56 σ (shifted LJ, cut-off 2.5 σ), T = 0.05 ε/k_B, free surfaces. Coupled: the same
block inside a P1 tetrahedral mesh (cubic elastic, the LJ crystal's constants
rounded: c11 = 82, c12 = c44 = 47 ε/σ³, density 4/a³) with a margin
of four elements on every side, a bridging-domain band two lattice constants wide,
1 continuum + 1 patch rank. Pure MD: the same block alone on one rank. Both launched with
``mpirun`` by this script, ``--steps`` steps each (set-up excluded: the loop's wall).

Prints one JSON object: per run the wall ms per step of the loop and, per role, the ms per
step of every phase (``summary.json``'s ``timing_ms_per_step``); then the ratios coupled /
pure MD. The issue's goal is ≤ 1.10 (k = 1) and ≤ 1.05 (k = 10) at 32,000 atoms. Run it
on a quiet machine with a core per rank: on a loaded one the two roles are descheduled in
turn and the exchange books the wait (``critical_path_ratio_to_md`` then estimates the
ratio from the compute phases alone: max(patch compute + band solve, continuum compute)).

    .venv/bin/python benchmarks/coupled_3d.py [--atoms 32000] [--steps 200]
        [--multipliers atoms nodes] [--subcycle 1 10] [--repeat 3]

The speed of this 2-core machine drifts by tens of per cent between minutes (pure MD at
32,000 atoms: 8.2 and 12.4 ms per step in two invocations minutes apart), so ``--repeat R``
measures pure MD and the coupled runs R times in turn and prints the per-repeat ratios and
their median.

``md_beside_fe`` (``--beside-fe``, on by default): pure MD again, this time while the pure
continuum of the same mesh (elastodynamics, one K u per step, no patch) runs on the other
core, started first and stopped once MD is done. It measures what sharing the machine's
memory system with a busy continuum rank costs the MD rank, without any coupling:
``ratio_md_beside_fe_to_md`` per repeat and its median. The coupled runs' ``ratio_to_md``
stays the issue's figure (against MD alone).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
A = 1.56  # lattice constant (σ): close to the shifted LJ fcc equilibrium at T ≈ 0

CASE = """units = "lj"
title = "benchmark: 3D fcc LJ block {what}"
[layout]
continuum = {nc}
patches = {{ block = 1 }}
{continuum}
[patches.block]
region = {{ lo = [{lo}, {lo}, {lo}], hi = [{hi}, {hi}, {hi}] }}
lattice = {{ kind = "fcc", constant = {a} }}
potential = {{ kind = "lj", epsilon = 1.0, sigma = 1.0, cutoff = 2.5, mode = "shift" }}
temperature = 0.05
seed = 11
periodic = [0, 0, 0]
{handshake}
[run]
dt = 0.005
steps = {steps}
[output]
directory = "out"
every = {steps}
"""

CONTINUUM = """[continuum]
dim = 3
physics = "elastodynamics"
mesh = {{ kind = "box", lo = [{mlo}, {mlo}, {mlo}], hi = [{mhi}, {mhi}, {mhi}], cells = [{nm}, {nm}, {nm}] }}
material = {{ model = "cubic", c11 = 82.0, c12 = 47.0, c44 = 47.0, density = {rho:.6f} }}
"""

HANDSHAKE = """[handshake]
width = {width}
multipliers = "{mult}"
{sub}"""


FE_ONLY = """units = "lj"
title = "benchmark: the continuum of the coupled 3D block alone (K u every step)"
[layout]
continuum = 1
{continuum}
[run]
dt = 0.005
steps = {steps}
[output]
directory = "out"
every = 100
"""


def mesh_of(n: int) -> dict:
    """The continuum mesh of the coupled case around an n×n×n-cell block."""
    lo, hi = -0.25 * A, (n - 0.25) * A
    h = 2.0 * A  # element size: the mesh resolves the band (two lattice constants wide)
    margin = 4
    nm = int(round((hi - lo) / h)) + 2 * margin
    mlo = lo - margin * h
    return {"mlo": mlo, "mhi": mlo + nm * h, "nm": nm, "rho": 4.0 / A ** 3}


def fe_only_text(n: int, steps: int) -> str:
    """The coupled case's continuum alone (the same mesh and material, no patch)."""
    return FE_ONLY.format(continuum=CONTINUUM.format(**mesh_of(n)), steps=steps)


def case_text(n: int, steps: int, coupled: bool, multipliers: str = "atoms", k: int = 1) -> str:
    """The case of an n×n×n-cell block (4 n³ atoms), pure MD or coupled."""
    # region edges half a lattice constant outside the outermost atoms: no atom on the band's
    # outer edge (weight 1 there)
    lo, hi = -0.25 * A, (n - 0.25) * A
    cont = CONTINUUM.format(**mesh_of(n)) if coupled else ""
    hs = HANDSHAKE.format(width=2 * A, mult=multipliers,
                                sub=f"subcycle = {k}\n" if k > 1 else "") if coupled else ""
    what = f"coupled ({multipliers} multipliers, subcycle {k})" if coupled else "pure MD"
    return CASE.format(what=what, nc=1 if coupled else 0, continuum=cont, lo=lo, hi=hi, a=A,
                       handshake=hs, steps=steps)


def _command(text: str, nranks: int, workdir: str) -> tuple[list, dict]:
    """The mpirun command line (and its environment) of one case written into workdir."""
    os.makedirs(workdir, exist_ok=True)
    path = os.path.join(workdir, "case.toml")
    with open(path, "w") as fh:
        fh.write(text)
    env = {k: v for k, v in os.environ.items()
           if not (k.startswith("OMPI_") or k.startswith("PMIX_") or k.startswith("PMI_"))}
    env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_rmaps_base_oversubscribe="1", OMPI_MCA_btl_vader_single_copy_mechanism="none",
               OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", PYTHONPATH=ROOT)
    exe = shutil.which("mpirun") or shutil.which("mpiexec")
    # --bind-to none: two separate mpirun jobs side by side must not both bind to core 0
    cmd = [exe, "--oversubscribe", "--bind-to", "none", "-n", str(nranks), sys.executable, "-m",
           "mscouple.cli.main", "run", path, "--output", os.path.join(workdir, "out")]
    return cmd, env


def run_beside(text: str, fe_text: str, workdir: str) -> dict:
    """Run a one-rank case while the continuum-only case ``fe_text`` runs beside it (started
    first, once its loop is under way: its first progress line; stopped after). Returns
    the case's summary.json."""
    cmd, env = _command(fe_text, 1, os.path.join(workdir, "fe"))
    fe = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, env=env, cwd=os.path.join(workdir, "fe"))
    try:
        for line in fe.stdout:  # set-up done: the continuum is stepping
            if line.startswith("step "):
                break
        else:
            raise SystemExit(f"the continuum-only run ended before stepping:\n{' '.join(cmd)}")
        return run_case(text, 1, os.path.join(workdir, "md"))
    finally:
        if fe.poll() is None:
            fe.terminate()
        try:
            fe.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            fe.kill()
            fe.communicate()
        if fe.returncode == 0:  # it finished first: MD did not run beside it to the end
            raise SystemExit("the continuum-only run ended before pure MD: give it more steps")


def run_case(text: str, nranks: int, workdir: str) -> dict:
    """Run one case under mpirun; returns its summary.json."""
    cmd, env = _command(text, nranks, workdir)
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=workdir)
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
    with open(os.path.join(workdir, "out", "summary.json")) as fh:
        return json.load(fh)


def row(summary: dict) -> dict:
    steps = max(int(summary["step"]), 1)
    phases = summary.get("timing_ms_per_step", {})
    out = {"ms_per_step": 1e3 * summary["wall_seconds"] / steps,
           "phases_ms_per_step": phases,
           "energy_drift_max": summary.get("energy_drift_max")}
    if "continuum" in phases:
        # compute per role (every phase but the exchange, which is mostly waiting) and the
        # step's critical path on dedicated cores: phase by phase the patch waits for the band
        # solve once per step; the overlapped step (summary: overlapped_step_<patch> = 1)
        # computes its interior pairs meanwhile, so then each role only waits for the other's
        # whole step
        busy = {r: sum(v for k, v in ph.items() if k != "handshake.exchange") for r, ph in phases.items()}
        solve = phases["continuum"].get("handshake.solve", 0.0)
        overlapped = any(v for k, v in summary.items() if k.startswith("overlapped_step_"))
        patch = max(v for r, v in busy.items() if r != "continuum")
        out["busy_ms_per_step"] = busy
        out["overlapped"] = bool(overlapped)
        out["critical_path_ms_per_step"] = max(patch + (0.0 if overlapped else solve), busy["continuum"])
    return out


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--atoms", type=int, default=32_000, help="patch atoms (rounded to 4 n^3)")
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--multipliers", nargs="+", default=["atoms"], choices=("atoms", "nodes"))
    p.add_argument("--subcycle", nargs="+", type=int, default=[1, 10])
    p.add_argument("--keep", action="store_true", help="keep the run directories")
    p.add_argument("--repeat", type=int, default=1,
                   help="measure pure MD and the coupled runs this many times in turn; prints the median ratio")
    p.add_argument("--beside-fe", action=argparse.BooleanOptionalAction, default=True,
                   help="also time pure MD while the continuum alone runs on the other core")
    a = p.parse_args(argv)
    n = max(3, round((a.atoms / 4) ** (1 / 3)))
    tmp = tempfile.mkdtemp(prefix="mscouple-coupled3d-")
    out = {"atoms": 4 * n ** 3, "steps": a.steps, "runs": {}}
    per_repeat = []
    try:
        for rep in range(a.repeat):
            # each repeat measures pure MD and then every coupled run right after it, so a
            # ratio compares runs minutes apart, not the machine's state across the invocation
            runs = {}
            md = row(run_case(case_text(n, a.steps, False), 1, os.path.join(tmp, f"md{rep}")))
            runs["md"] = md
            for mult in a.multipliers:
                for k in a.subcycle:
                    name = f"coupled_{mult}_k{k}"
                    r = row(run_case(case_text(n, a.steps, True, mult, k), 2, os.path.join(tmp, f"{name}_{rep}")))
                    r["ratio_to_md"] = r["ms_per_step"] / md["ms_per_step"]
                    # what the ratio would be without waiting on a loaded (shared) machine
                    r["critical_path_ratio_to_md"] = r["critical_path_ms_per_step"] / md["ms_per_step"]
                    runs[name] = r
            per_repeat.append({k: v["ratio_to_md"] for k, v in runs.items() if k != "md"})
            if a.beside_fe:
                # enough continuum steps to outlast MD (K u is ~10x cheaper than the MD step)
                fe_text = fe_only_text(n, 50 * a.steps + 5000)
                runs["md_beside_fe"] = row(run_beside(case_text(n, a.steps, False), fe_text,
                                                      os.path.join(tmp, f"beside{rep}")))
                per_repeat[-1]["md_beside_fe"] = runs["md_beside_fe"]["ms_per_step"] / md["ms_per_step"]
            out["runs"] = runs
        if a.beside_fe:
            out["ratio_md_beside_fe_to_md"] = float(statistics.median(r["md_beside_fe"] for r in per_repeat))
        if a.repeat > 1:
            out["ratio_to_md_per_repeat"] = per_repeat
            out["median_ratio_to_md"] = {k: float(statistics.median(r[k] for r in per_repeat))
                                         for k in per_repeat[0]}
    finally:
        if not a.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            out["workdir"] = tmp
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
