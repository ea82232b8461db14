"""Runs the benchmark's coupled 3D fcc LJ block (benchmarks/coupled_3d.py, small) on 1 + 1
ranks twice in one MPI job: phase by phase (``BridgingPatch.overlap = False``) and with the
overlapped patch step (mscouple.coupling.overlap), in uneven chunks. Writes
``OUT/result_<role>.json`` per rank: the largest differences of the two runs (patch positions and velocities
by atom id, continuum displacements and velocities, W_constraint) and their scales.
Used by test_overlapped_step.py: ``mpirun -n 2 python overlap_driver.py N K MULT OUT [FEXT]``
(FEXT: a uniform external force along x on every patch atom, in both runs)."""
from __future__ import annotations

import json
import os
import sys

import numpy as np
from mpi4py import MPI

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

import coupled_3d as B  # noqa: E402
from pathlib import Path  # noqa: E402

from mscouple.config import parse_case  # noqa: E402
from mscouple.layout import Layout  # noqa: E402
from mscouple.run import couplers as C  # noqa: E402
from mscouple.run.build import build  # noqa: E402

CHUNKS = (7, 1, 12, 20)  # uneven advances: end projections at each chunk's last step


def one(case, layout, outdir, overlap: bool, fext: float = 0.0):
    C.BridgingPatch.overlap = overlap
    model, couplers = build(case, layout, outdir)
    half = couplers[0]
    if fext and not layout.is_continuum:
        model.system.external_force[:, 0] = fext
    for c in CHUNKS:
        half.advance(c)
    terms = {t.name: t.value for t in half.ledger_terms()}
    if layout.is_continuum:
        side = half.side
        return {"u": np.array(side.u, float).copy(), "v": np.array(side.v, float).copy(),
                "W": terms["W_constraint"]}
    md = model.system
    order = np.argsort(md.ids)
    used = half._overlapped is not None
    return {"x": md.x[order].copy(), "v": md.v[order].copy(), "used": used,
            "pairs": list(half._overlapped.pairs) if used else None,
            "rebuilds": int(md.rebuild_count),
            "chained": int(half._overlapped.chained) if used else 0,
            # the round trips' fixed pattern: persistent requests set up once and restarted
            "persistent": half.cp.ex._plan is not None if used else None}


def main(argv) -> None:
    n, k, mult, out = int(argv[0]), int(argv[1]), argv[2], argv[3]
    fext = float(argv[4]) if len(argv) > 4 else 0.0
    world = MPI.COMM_WORLD
    case = parse_case(B.case_text(n, sum(CHUNKS), True, mult, k))
    layout = Layout.build(world, case.layout.continuum, case.layout.patches)
    if layout.is_continuum:
        from mscouple.cli.main import init_petsc

        init_petsc([], layout.comm)
    a = one(case, layout, Path(out) / "a", False, fext)
    b = one(case, layout, Path(out) / "b", True, fext)
    if layout.is_continuum:
        res = {"role": "continuum",
               "du": float(np.abs(a["u"] - b["u"]).max()), "u_scale": float(np.abs(a["u"]).max()),
               "dv": float(np.abs(a["v"] - b["v"]).max()), "v_scale": float(np.abs(a["v"]).max()),
               "W_a": a["W"], "W_b": b["W"]}
    else:
        res = {"role": "patch", "used_a": a["used"], "used_b": b["used"], "pairs": b["pairs"],
               "rebuilds": b["rebuilds"], "chained": b["chained"], "persistent": b["persistent"],
               "dx": float(np.abs(a["x"] - b["x"]).max()), "x_scale": float(np.abs(a["x"]).max()),
               "dv": float(np.abs(a["v"] - b["v"]).max()), "v_scale": float(np.abs(a["v"]).max()),
               "moved": float(np.abs(b["v"]).max())}
    with open(os.path.join(out, f"result_{res['role']}.json"), "w") as fh:
        json.dump(res, fh)


if __name__ == "__main__":
    main(sys.argv[1:])
