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
their median, and ``ratio_of_minima_to_md``: each configuration's fastest run against the
fastest pure MD (timeit's estimator: a busy host only ever adds time). Every run records
``memory_bandwidth_gbps_before`` (a 32 MB read just before it starts): this machine's
memory bandwidth drops by up to 2.5x while a neighbour is busy, and both roles are
memory-bound, so a run after a low reading is a disturbed one.

``weights_floor_model``: 1 + c_weight B/N, the floor that the band pairs' energy weights put
under coupled / pure MD whatever the coupling costs (``mscouple/perfmodel.py``; c_weight from
``patch_passes.py``; B = ``band_atoms``), and ``ratio_of_minima_over_weights_floor``: what the
coupling adds beyond it.

``--single-copy`` (default ``auto``): Open MPI's shared-memory single-copy mechanism for the
runs: ``cma`` (the receiver reads the message straight from the sender's memory, as on a
cluster node) where a probe shows it works on this machine, else ``none`` (each message
copied in and out of a shared buffer: the recipe for containers that forbid it). The JSON
says which (``single_copy``).

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
    env["OMPI_MCA_btl_vader_single_copy_mechanism"] = SINGLE_COPY[0]
    exe = shutil.which("mpirun") or shutil.which("mpiexec")
    # --bind-to none: two separate mpirun jobs side by side must not both bind to core 0
    cmd = [exe, "--oversubscribe", "--bind-to", "none", "-n", str(nranks), sys.executable, "-m",
           "mscouple.cli.main", "run", path, "--output", os.path.join(workdir, "out")]
    return cmd, env


#: Open MPI's shared-memory single-copy mechanism for the runs (``--single-copy``): "cma"
#: (the receiver copies straight out of the sender's memory, as on a cluster node) where this
#: machine allows it, else "none" (every message copied in and out of a shared buffer, the
#: recipe for containers that forbid cross-process reads: ../shared/STACK.md)
SINGLE_COPY = ["none"]

_PROBE = """
import numpy as np
from mpi4py import MPI
c = MPI.COMM_WORLD
a = np.arange(1 << 17, dtype=float) * (c.rank + 1)
b = np.empty_like(a)
c.Sendrecv(a, dest=1 - c.rank, recvbuf=b, source=1 - c.rank)
assert np.array_equal(b, np.arange(1 << 17, dtype=float) * (2 - c.rank))
print("ok")
"""


def cma_works() -> bool:
    """Whether a 1 MB message between two ranks goes through with the CMA mechanism here."""
    exe = shutil.which("mpirun") or shutil.which("mpiexec")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OMPI_", "PMIX_", "PMI_"))}
    env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_rmaps_base_oversubscribe="1", OMPI_MCA_btl_vader_single_copy_mechanism="cma")
    try:
        r = subprocess.run([exe, "--oversubscribe", "-n", "2", sys.executable, "-c", _PROBE],
                           capture_output=True, text=True, env=env, timeout=60)
    except subprocess.TimeoutExpired:
        return False
    return r.returncode == 0 and r.stdout.count("ok") == 2


def memory_bandwidth_gbps() -> float:
    """A 32 MB read (numpy sum), best of 5, in GB/s: the host's state when a run starts
    (a neighbour on the machine's memory shows as a drop; both roles are memory-bound)."""
    import time

    import numpy as np

    a = np.ones(1 << 22)
    best = float("inf")
    for _ in range(5):
        t = time.perf_counter()
        a.sum()
        best = min(best, time.perf_counter() - t)
    return a.nbytes / best / 1e9


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
    bw = memory_bandwidth_gbps()
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=workdir)
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
    with open(os.path.join(workdir, "out", "summary.json")) as fh:
        summary = json.load(fh)
    summary["memory_bandwidth_gbps_before"] = bw
    return summary


def row(summary: dict) -> dict:
    steps = max(int(summary["step"]), 1)
    phases = summary.get("timing_ms_per_step", {})
    out = {"ms_per_step": 1e3 * summary["wall_seconds"] / steps,
           "phases_ms_per_step": phases,
           "energy_drift_max": summary.get("energy_drift_max")}
    if "memory_bandwidth_gbps_before" in summary:
        out["memory_bandwidth_gbps_before"] = summary["memory_bandwidth_gbps_before"]
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


def band_atoms_of(n: int) -> int:
    """Atoms of the n×n×n-cell block in the band (energy weight below 1: closer than the band
    width, two lattice constants, to a face of the region)."""
    import numpy as np

    i = np.arange(n)
    cells = np.stack(np.meshgrid(i, i, i, indexing="ij"), -1).reshape(-1, 3)
    basis = np.array([[0.0, 0.0, 0.0], [0.5, 0.5, 0.0], [0.5, 0.0, 0.5], [0.0, 0.5, 0.5]])
    x = A * (cells[:, None, :] + basis[None]).reshape(-1, 3)
    lo, hi = -0.25 * A, (n - 0.25) * A
    return int(np.count_nonzero(np.minimum(x - lo, hi - x).min(axis=1) < 2.0 * A))


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
    p.add_argument("--single-copy", choices=("auto", "cma", "none"), default="auto",
                   help="Open MPI's shared-memory single-copy mechanism (auto: cma where it works here)")
    a = p.parse_args(argv)
    SINGLE_COPY[0] = a.single_copy if a.single_copy != "auto" else ("cma" if cma_works() else "none")
    n = max(3, round((a.atoms / 4) ** (1 / 3)))
    tmp = tempfile.mkdtemp(prefix="mscouple-coupled3d-")
    sys.path.insert(0, ROOT)
    from mscouple.perfmodel import Costs

    band = band_atoms_of(n)
    # the model's floor under coupled / pure MD: the band pairs' energy weights
    # (mscouple/perfmodel.py, c_weight from patch_passes.py), whatever the coupling costs
    floor = 1.0 + Costs().c_weight * band / (4 * n ** 3)
    out = {"atoms": 4 * n ** 3, "band_atoms": band, "weights_floor_model": floor,
           "steps": a.steps, "single_copy": SINGLE_COPY[0], "runs": {}}
    per_repeat = []
    ms = {}  # every run's ms per step, per configuration
    try:
        for rep in range(a.repeat):
            # each repeat measures pure MD and then every coupled run right after it, so a
            # ratio compares runs minutes apart, not the machine's state across the invocation
            runs = {}
            md = row(run_case(case_text(n, a.steps, False), 1, os.path.join(tmp, f"md{rep}")))
            runs["md"] = md
            ms.setdefault("md", []).append(md["ms_per_step"])
            for mult in a.multipliers:
                for k in a.subcycle:
                    name = f"coupled_{mult}_k{k}"
                    r = row(run_case(case_text(n, a.steps, True, mult, k), 2, os.path.join(tmp, f"{name}_{rep}")))
                    r["ratio_to_md"] = r["ms_per_step"] / md["ms_per_step"]
                    # what the ratio would be without waiting on a loaded (shared) machine
                    r["critical_path_ratio_to_md"] = r["critical_path_ms_per_step"] / md["ms_per_step"]
                    runs[name] = r
                    ms.setdefault(name, []).append(r["ms_per_step"])
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
            # the least disturbed run of each configuration (timeit's estimator: a busy
            # host only ever adds time), against the least disturbed pure MD
            out["ms_per_step_per_repeat"] = ms
            out["ratio_of_minima_to_md"] = {k: min(v) / min(ms["md"]) for k, v in ms.items() if k != "md"}
            # what the coupling adds beyond the method's own price (the floor above)
            out["ratio_of_minima_over_weights_floor"] = {k: r / floor for k, r in
                                                         out["ratio_of_minima_to_md"].items()}
    finally:
        if not a.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            out["workdir"] = tmp
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
