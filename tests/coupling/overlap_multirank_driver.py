"""Runs a coupled block on 1 continuum + P patch ranks three times in one MPI job: phase by
phase on 1 + P (``BridgingPatch.overlap = False``), overlapped on 1 + P
(mscouple.coupling.overlap on a multi-rank patch), and overlapped on 1 + 1 (world ranks 0
and 1; the others wait), in uneven advances. Writes ``OUT/result.json`` (world rank 1, the
patch root of every run): the largest differences of the overlapped multi-rank run from the
other two (patch positions and velocities by atom id, the continuum's displacements and
velocities, every ledger term), their scales, the atoms that changed patch rank and the
routed band atoms.

    mpirun -n 1+P python overlap_multirank_driver.py lj|eam N P K MULT DAMPING TEMP DRIFT OUT

``lj``: benchmarks/coupled_3d.py's LJ block (4 N³ atoms) at temperature TEMP (ε/k_B);
``eam``: benchmarks/overlap_ab.py's Cu EAM block at TEMP (K); K: handshake.subcycle;
DAMPING > 0: the band is a Langevin bath (every end projection runs, next first projections
chained). DRIFT: a z velocity given to every atom and continuum node before the first
step (a rigid translation of the coupled system, the constraint unchanged) that carries
atoms across the faces of the patch's z slabs, so they migrate between patch ranks.
Used by test_overlapped_multirank.py."""
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
import overlap_ab as E  # noqa: E402
from pathlib import Path  # noqa: E402

from mscouple.config import parse_case  # noqa: E402
from mscouple.coupling import exchange as EX  # noqa: E402
from mscouple.layout import Layout  # noqa: E402
from mscouple.run import couplers as C  # noqa: E402
from mscouple.run.build import build  # noqa: E402

# uneven advances: end projections at each advance's last step, merged (or chained) between
CHUNKS = (7, 1, 12, 20, 60, 100)


def case_for(pot: str, n: int, ranks: int, k: int, mult: str, damping: float, temp: float):
    """The benchmark's case text of the block on ``ranks`` patch ranks at ``temp``."""
    if pot == "lj":
        text = B.case_text(n, sum(CHUNKS), True, mult, k).replace("temperature = 0.05",
                                                                   f"temperature = {temp}")
    else:
        text = E.eam_case_text(n, sum(CHUNKS), mult, k, damping, temperature=temp)
    return parse_case(text.replace("patches = { block = 1 }", f"patches = {{ block = {ranks} }}"))


# the round trip's progress test waits for the reply: in these small blocks on a loaded
# machine the continuum's answer otherwise never comes in before pass B ends, and the chain
# of an end projection's next first projection *during* pass B (on several ranks: while no
# band atom is away from home; after pass B while some are) would go untested. Only the
# timing changes (pass B's chunks are the same bits in any order of arrival).
def _progress_waits(trip) -> bool:
    MPI.Request.Waitall(trip[2])
    return True


EX.InterfaceExchange.progress = staticmethod(_progress_waits)


def one(case, comm, outdir, overlap: bool, drift: float) -> dict:
    """One run on ``comm``; returns the patch root's arrays by id (or the continuum's)."""
    layout = Layout.build(comm, case.layout.continuum, case.layout.patches)
    C.BridgingPatch.overlap = overlap
    model, couplers = build(case, layout, outdir)
    half = couplers[0]
    if drift:  # the whole coupled system translated along z (the constraint unchanged)
        if layout.is_continuum:
            half.side.v[:, 2] += drift
        else:
            model.system.v[:, 2] += drift
    left = 0  # atoms that left this rank between advances (patch)
    if not layout.is_continuum:
        md = model.system
        ids0 = np.asarray(md.ids).copy()
    for c in CHUNKS:
        half.advance(c)
        if not layout.is_continuum:
            ids1 = np.asarray(md.ids).copy()
            left += np.setdiff1d(ids0, ids1).size
            ids0 = ids1
    terms = {t.name: float(t.value) for t in model.ledger_terms() + half.ledger_terms()}
    if layout.is_continuum:
        side = half.side
        return {"u": np.array(side.u, float).copy(), "v": np.array(side.v, float).copy(), "terms": terms}
    pc = md.comm
    # atoms that changed rank (by id, seen between advances) and band atoms routed away
    moved = int(pc.allreduce(left))
    parts = pc.gather((np.asarray(md.ids).copy(), md.x.copy(), md.v.copy()), root=0)
    ov = half._overlapped
    out = {"terms": terms, "used": pc.allreduce(int(ov is not None), op=MPI.MIN) == 1,
           "migrated": moved, "routed_max": half.summary()[f"routed_atoms_max_{model.name}"],
           "chained": ov.chained if ov else 0,
           "chained_in_pass_b": pc.allgather(ov.chained_in_pass_b if ov else 0),
           "grid": list(md.decomp.grid),
           "rebuilds": int(md.rebuild_count), "multi": bool(ov.multi) if ov else False}
    if pc.Get_rank() == 0:
        ids = np.concatenate([p[0] for p in parts])
        order = np.argsort(ids)
        out["x"] = np.concatenate([p[1] for p in parts])[order]
        out["v"] = np.concatenate([p[2] for p in parts])[order]
    return out


def diff(a: dict, b: dict, keys) -> dict:
    res = {}
    for key in keys:
        res[f"d{key}"] = float(np.abs(a[key] - b[key]).max())
        res[f"{key}_scale"] = float(np.abs(a[key]).max())
    res["terms_a"], res["terms_b"] = a["terms"], b["terms"]
    return res


def main(argv) -> None:
    pot, n, p, k, mult = argv[0], int(argv[1]), int(argv[2]), int(argv[3]), argv[4]
    damping, temp, drift, out = float(argv[5]), float(argv[6]), float(argv[7]), argv[8]
    world = MPI.COMM_WORLD
    if world.Get_size() != 1 + p:
        raise SystemExit(f"run on {1 + p} ranks")
    if damping > 0:
        from mscouple.coupling import damping as D

        D.EXACT_LIMIT = 0  # the split bath update (the exact one's dense set-up is slow here)
    rank = world.Get_rank()
    if rank == 0:
        from mscouple.cli.main import init_petsc

        init_petsc([], MPI.COMM_SELF)
    many = case_for(pot, n, p, k, mult, damping, temp)
    single = case_for(pot, n, 1, k, mult, damping, temp)
    ref = one(many, world, Path(out) / "phase", False, drift)
    ov = one(many, world, Path(out) / "over", True, drift)
    sub = world.Split(0 if rank < 2 else MPI.UNDEFINED, rank)
    one_rank = one(single, sub, Path(out) / "one", True, drift) if rank < 2 else None
    # the continuum's arrays to the patch root (world rank 1), which writes the result
    if rank == 0:
        world.send({"same_layout": diff(ov, ref, ("u", "v")), "one_rank": diff(ov, one_rank, ("u", "v"))},
                   dest=1, tag=3)
    elif rank == 1:
        cont = world.recv(source=0, tag=3)
        res = {"patch": {"same_layout": diff(ov, ref, ("x", "v")), "one_rank": diff(ov, one_rank, ("x", "v"))},
               "continuum": cont,
               "used": {"phase": ref["used"], "over": ov["used"], "one": one_rank["used"]},
               "migrated": ov["migrated"], "routed_max": ov["routed_max"], "chained": ov["chained"],
               "chained_in_pass_b": ov["chained_in_pass_b"], "grid": ov["grid"], "rebuilds": ov["rebuilds"],
               "multi": ov["multi"],
               "chained_one_rank": one_rank["chained"], "chained_in_pass_b_one_rank": one_rank["chained_in_pass_b"]}
        with open(os.path.join(out, "result.json"), "w") as fh:
            json.dump(res, fh)


if __name__ == "__main__":
    main(sys.argv[1:])
