"""The overlapped patch step against the phase-by-phase one, in one MPI job (1 + P ranks).

The coupled case of ``coupled_3d.py`` (fcc LJ block of ``--atoms`` atoms in P1 tets, band two
lattice constants wide, atom multipliers, ``--subcycle`` k) is built twice in one job: once
with ``BridgingPatch.overlap = False`` (every step: kick → projection round trip → drift →
forces → kick) and once with the overlapped step (``mscouple.coupling.overlap``: band pairs
→ band kicks → band velocities sent → interior pairs while the continuum projects →
corrections; the continuum half then sleeps ``--idle-sleep`` seconds between tests while
it waits for the patch, ``BridgingContinuum.idle_sleep``), and once more overlapped with the
continuum busy-waiting in MPI (``overlapped_busy_wait``). The
same block as pure MD is stepped on the patch rank by the fused compiled loop twice: while
the continuum rank sleeps (``pure_md``: the other core idle, as in ``coupled_3d.py``'s pure
MD run) and while it spins in ``MPI_Barrier`` (``pure_md_beside_spin``: the other core busy,
what a coupled patch has beside it). All are advanced in alternating rounds of ``--steps``
steps (order reversed every round), so a shared machine's load falls on all of them alike.

Prints one JSON object: per variant the wall ms per step of each round, their medians, the
ratios overlapped / phase-by-phase and coupled / pure MD (medians), and each coupled
variant's ms per step per phase and role.

    mpirun -n 1+P .venv/bin/python benchmarks/overlap_ab.py [--atoms 32000] [--steps 50]
        [--rounds 6] [--subcycle 1 [10 ...]] [--idle-sleep 2e-5] [--potential lj|eam]
        [--patch-ranks P]

``--patch-ranks P`` (default 1): the patch on P ranks (the multi-rank overlapped step);
pure MD then runs on the same P ranks with the same decomposition.

``--potential eam``: a Cu EAM block (Zhou 2004 table, 300 K, ``eam_case_text``) instead of
the LJ block; the overlapped step then runs the EAM passes (densities, embedding, band
pairs, interior pairs in chunks).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from mpi4py import MPI

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

import coupled_3d as B  # noqa: E402

from mscouple.config import parse_case  # noqa: E402
from mscouple.layout import Layout  # noqa: E402
from mscouple.run.build import build  # noqa: E402


CU_EAM = os.path.join(os.path.dirname(HERE), "tests", "data", "Cu_zhou04.eam.alloy")
A_CU = 3.614960129  # Å: the 0 K zero-stress fcc constant of that table (examples/cu_wave_3d)

EAM_CASE = """units = "metal"
title = "benchmark: 3D fcc Cu EAM block coupled ({mult} multipliers, subcycle {k})"
[layout]
continuum = 1
patches = {{ block = 1 }}
[continuum]
dim = 3
physics = "elastodynamics"
mesh = {{ kind = "box", lo = [{mlo}, {mlo}, {mlo}], hi = [{mhi}, {mhi}, {mhi}], cells = [{nm}, {nm}, {nm}] }}
material = {{ model = "from_patch", patch = "block" }}
[patches.block]
region = {{ lo = [{lo}, {lo}, {lo}], hi = [{hi}, {hi}, {hi}] }}
lattice = {{ kind = "fcc", constant = {a} }}
potential = {{ kind = "eam", file = "{eam}" }}
temperature = {temperature}
seed = 11
skin = 1.0
periodic = [0, 0, 0]
[handshake]
width = {width}
multipliers = "{mult}"
damping = {damping}
{sub}
[run]
dt = 0.001
steps = {steps}
[output]
directory = "out"
every = {steps}
"""


def eam_case_text(n: int, steps: int, multipliers: str = "atoms", k: int = 1,
                  damping: float = 0.0, temperature: float = 300.0) -> str:
    """Cu EAM (Zhou 2004 table) n×n×n-cell block (4 n³ atoms, free surfaces, ``temperature``
    K) inside P1 tets of 2a (``from_patch``: Cauchy–Born constants of the same table), band
    2a wide, 1 fs steps; ``damping`` > 0: the band is a Langevin bath at ``temperature``
    (1/ps, as in examples/cu_wave_3d). Metal units (Å, ps, eV)."""
    lo, hi = -0.25 * A_CU, (n - 0.25) * A_CU
    h, margin = 2.0 * A_CU, 4
    nm = int(round((hi - lo) / h)) + 2 * margin
    mlo = lo - margin * h
    return EAM_CASE.format(mult=multipliers, k=k, mlo=mlo, mhi=mlo + nm * h, nm=nm, lo=lo, hi=hi,
                           a=A_CU, eam=CU_EAM, temperature=temperature, width=2 * A_CU,
                           damping=damping, sub=f"subcycle = {k}" if k > 1 else "", steps=steps)


_PETSC: list = []  # PETSc initialised on the continuum rank (once per process)


def measure(a, world, k: int) -> dict | None:
    """One subcycle ``k``: the variants built, advanced in alternating rounds; the JSON
    object on rank 0 (None elsewhere)."""
    total = a.steps * a.rounds + 5
    n = max(3, round((a.atoms / 4) ** (1 / 3)))
    if a.potential == "eam":
        text = eam_case_text(n, total, "atoms", k)
    else:
        text = B.case_text(n, total, True, "atoms", k)
    case = parse_case(text.replace("patches = { block = 1 }", f"patches = {{ block = {a.patch_ranks} }}"))
    layout = Layout.build(world, case.layout.continuum, case.layout.patches)
    if layout.is_continuum and not _PETSC:
        from mscouple.cli.main import init_petsc

        init_petsc([], layout.comm)
        _PETSC.append(True)
    tmp = Path(tempfile.mkdtemp(prefix="mscouple-overlap-ab-"))
    variants = {}
    for name in ("phase_by_phase", "overlapped", "overlapped_busy_wait"):
        model, couplers = build(case, layout, tmp / name)
        half = couplers[0]
        half.overlap = name != "phase_by_phase"  # read by the patch half only
        half.idle_sleep = a.idle_sleep if name == "overlapped" else 0.0  # the continuum half's
        half.advance(5)  # set-up effects (first projection, first lists) out of the rounds
        variants[name] = (model, half)
    md = None
    if not layout.is_continuum:
        from mscouple.builders import build_patch

        # on the patch ranks (their own comm): the same decomposition as the coupled patch
        md = build_patch(layout.comm, case.patch("block"), units=case.units, dt=case.run.dt, dim=3)
        md.run(5)
    order = [*variants, "pure_md", "pure_md_beside_spin"]
    walls = {name: [] for name in order}
    for r in range(a.rounds):
        for name in (order if r % 2 == 0 else order[::-1]):
            world.Barrier()
            t0 = time.perf_counter()
            if name.startswith("pure_md"):
                if md is not None:
                    md.run(a.steps)
                if name == "pure_md":
                    req = world.Ibarrier()  # the continuum rank sleeps meanwhile
                    while not req.Test():
                        time.sleep(1e-3 if md is None else 0.0)
                else:
                    world.Barrier()  # busy wait (Open MPI polls)
            else:
                variants[name][1].advance(a.steps)
            dt = world.allreduce(time.perf_counter() - t0, op=MPI.MAX)
            walls[name].append(1e3 * dt / a.steps)
    phases = {}
    for name, (model, half) in variants.items():
        sec = dict(half.timers.seconds)
        if not layout.is_continuum:
            sec.update(model.phase_seconds())
        phases[name] = {key: 1e3 * v / total for key, v in sorted(sec.items())}
    used = {name: getattr(h, "_overlapped", None) is not None for name, (_, h) in variants.items()}
    got = world.gather((layout.role, phases, used), root=0)
    if world.Get_rank() != 0:
        return None
    med = {key: float(np.median(v)) for key, v in walls.items()}
    return {"potential": a.potential, "atoms": 4 * n ** 3, "patch_ranks": a.patch_ranks,
            # which variants the patch ranks stepped overlapped (all ranks agree)
            "overlapped_step": got[-1][2], "steps_per_round": a.steps,
            "rounds": a.rounds, "subcycle": k,
            "ms_per_step": {key: [round(x, 3) for x in v] for key, v in walls.items()},
            "median_ms_per_step": med,
            "ratio_overlapped_to_phase_by_phase": med["overlapped"] / med["phase_by_phase"],
            "ratio_to_pure_md": {key: med[key] / med["pure_md"] for key in (*variants, "pure_md_beside_spin")},
            "phases_ms_per_step": {role: ph for role, ph, _ in got}}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--atoms", type=int, default=32_000)
    p.add_argument("--potential", choices=("lj", "eam"), default="lj",
                   help="lj: coupled_3d.py's LJ block; eam: a Cu EAM block at 300 K (eam_case_text)")
    p.add_argument("--steps", type=int, default=50, help="steps per round")
    p.add_argument("--rounds", type=int, default=6)
    p.add_argument("--subcycle", type=int, nargs="+", default=[1],
                   help="one or several k, measured one after the other in this invocation")
    p.add_argument("--patch-ranks", type=int, default=1,
                   help="patch ranks P (run on 1 + P ranks): P > 1 measures the multi-rank overlapped step")
    p.add_argument("--idle-sleep", type=float, default=2e-5,
                   help="the overlapped variant's BridgingContinuum.idle_sleep (s)")
    a = p.parse_args(argv)
    world = MPI.COMM_WORLD
    if world.Get_size() != 1 + a.patch_ranks:
        raise SystemExit(f"overlap_ab.py: run it on 1 + {a.patch_ranks} ranks (mpirun -n {1 + a.patch_ranks})")
    out = [measure(a, world, k) for k in a.subcycle]
    if world.Get_rank() == 0:
        print(json.dumps(out[0] if len(out) == 1 else out, indent=1))


if __name__ == "__main__":
    main()
