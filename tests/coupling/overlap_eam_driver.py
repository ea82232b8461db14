"""Runs a coupled Cu EAM block (benchmarks/overlap_ab.py: eam_case_text) on 1 + 1 ranks
twice in one MPI job: phase by phase (``BridgingPatch.overlap = False``) and with the
overlapped patch step (mscouple.coupling.overlap), in uneven advances. Writes
``OUT/result_<role>.json`` per rank: the largest differences of the two runs (patch
positions and velocities by atom id, continuum displacements and velocities) with their
scales, and both runs' ledger terms (the models' and the coupler's).
Used by test_overlapped_eam.py:
``mpirun -n 2 python overlap_eam_driver.py N K MULT DAMPING OUT``."""
from __future__ import annotations

import json
import os
import sys

import numpy as np
from mpi4py import MPI

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

import overlap_ab as B  # noqa: E402
from pathlib import Path  # noqa: E402

from mscouple.config import parse_case  # noqa: E402
from mscouple.layout import Layout  # noqa: E402
from mscouple.run import couplers as C  # noqa: E402
from mscouple.run.build import build  # noqa: E402

# uneven advances (end projections at each advance's last step, merged or chained ones
# between): 240 steps of 1 fs
CHUNKS = (7, 1, 12, 20, 80, 120)


def one(case, layout, outdir, overlap: bool):
    C.BridgingPatch.overlap = overlap
    model, couplers = build(case, layout, outdir)
    half = couplers[0]
    for c in CHUNKS:
        half.advance(c)
    terms = {t.name: float(t.value) for t in model.ledger_terms() + half.ledger_terms()}
    if layout.is_continuum:
        side = half.side
        return {"u": np.array(side.u, float).copy(), "v": np.array(side.v, float).copy(),
                "terms": terms}
    md = model.system
    order = np.argsort(md.ids)
    ov = half._overlapped
    return {"x": md.x[order].copy(), "v": md.v[order].copy(), "used": ov is not None,
            "pairs": list(ov.pairs) if ov else None, "chained": ov.chained if ov else 0,
            "eam": bool(ov.eam) if ov else False, "terms": terms}


def main(argv) -> None:
    n, k, mult, damping, out = int(argv[0]), int(argv[1]), argv[2], float(argv[3]), argv[4]
    world = MPI.COMM_WORLD
    if damping > 0:
        # the band's bath by its split O(γh) update: the exact one's dense (atoms + nodes)²
        # set-up takes minutes here, and the patch's messages are the same either way
        from mscouple.coupling import damping as D

        D.EXACT_LIMIT = 0
    case = parse_case(B.eam_case_text(n, sum(CHUNKS), mult, k, damping))
    layout = Layout.build(world, case.layout.continuum, case.layout.patches)
    if layout.is_continuum:
        from mscouple.cli.main import init_petsc

        init_petsc([], layout.comm)
    a = one(case, layout, Path(out) / "a", False)
    b = one(case, layout, Path(out) / "b", True)
    res = {"terms_a": a["terms"], "terms_b": b["terms"]}
    if layout.is_continuum:
        res.update(role="continuum",
                   du=float(np.abs(a["u"] - b["u"]).max()), u_scale=float(np.abs(a["u"]).max()),
                   dv=float(np.abs(a["v"] - b["v"]).max()), v_scale=float(np.abs(a["v"]).max()))
    else:
        res.update(role="patch", used_a=a["used"], used_b=b["used"], pairs=b["pairs"],
                   chained=b["chained"], eam=b["eam"],
                   dx=float(np.abs(a["x"] - b["x"]).max()), x_scale=float(np.abs(a["x"]).max()),
                   dv=float(np.abs(a["v"] - b["v"]).max()), v_scale=float(np.abs(a["v"]).max()))
    with open(os.path.join(out, f"result_{res['role']}.json"), "w") as fh:
        json.dump(res, fh)


if __name__ == "__main__":
    main(sys.argv[1:])
