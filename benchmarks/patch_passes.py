"""Where a coupled patch's force work goes, in one process (no MPI traffic): process CPU time.

The block of ``coupled_3d.py`` (fcc LJ, ``--atoms``, free surfaces) with the band's energy
weights (1 − w, w linear over the band two lattice constants wide, as ``mscouple run`` sets
them) and masses (1 − w) m. Best and median of ``--repeats`` timings of ``--steps`` calls:

``fused_md_step``       pure MD (no weights): the fused compiled velocity-Verlet step, per step
                        of one ``run(--md-steps)`` (energy and virial on its last step only,
                        as in ``mscouple run``)
``forces_weighted``     the bridging patch's one-pass loop (each pair × (w_i + w_j)/2)
``forces_unweighted``   the same pairs unscaled (what the weights cost)
``pass_a_weighted``     pass A alone (the band's pairs, weighted as the step passes them)
``pass_a_unweighted``   the same pairs unscaled: the difference is what the bridging-domain
                        energy weights themselves cost per step (their arithmetic, not the
                        coupling's glue); ``band_weights_share_of_md_step`` puts it against
                        pure MD's step
``forces_split``        pass A (pairs with a band atom, weighted, the weights halved once as
                        the step passes them) + pass B (interior pairs, unweighted) in chunks
                        of 2,048 atoms: the overlapped step's passes
                        (``mscouple.coupling.overlap``)
``overlapped_step``     the one-rank overlapped step's whole per-step compute of a merged
                        step, without its messages: the band's corrections (zero here) and
                        drift, pass A, the band kicks and gather of the band rows, pass B in
                        chunks, the interior kicks with the next drift (``band_add_drift``,
                        ``lj_pass``, ``band_kick_gather``, ``kick_drift_select``); the drift
                        with dt = 0 so that, like the force-only cases, the atoms stay on
                        their lists. Against ``fused_md_step`` it is what the coupled patch's
                        own work costs over pure MD's step; ``coupled_3d.py``'s ratio adds the
                        messages, the continuum beside it and the host

Both systems are timed in a **thermal** state (``--thermalize``, default 400 steps): pure MD
runs first and the weighted system takes its positions (matched by atom id) and rebuilds its
lists. At the perfect lattice the pair loops run faster than in a run (pass A by 6–8 %):
the fifth fcc shell (2.466 σ at a = 1.56 σ) lies 0.034 σ inside the 2.5 σ cut-off, so the
cut-off test is always true there, while thermal motion makes those pairs cross it (an
unpredictable branch). Before session 13 the weighted system stayed at the lattice while
pure MD evolved, which flattered the coupled passes.

Prints one JSON object (ms per call). Run it on a quiet core; on a loaded machine read the
ratios within one invocation.

    .venv/bin/python benchmarks/patch_passes.py [--atoms 32000] [--steps 5] [--repeats 15]
        [--md-steps 50] [--thermalize 400]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np
from mpi4py import MPI

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

import coupled_3d as B  # noqa: E402

from mscouple._kernels import integrate as ki  # noqa: E402
from mscouple.builders import build_patch  # noqa: E402
from mscouple.config import parse_case  # noqa: E402


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--atoms", type=int, default=32_000)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--repeats", type=int, default=15)
    p.add_argument("--md-steps", type=int, default=50)
    p.add_argument("--thermalize", type=int, default=400,
                   help="pure MD steps before timing; the weighted system takes the positions")
    a = p.parse_args(argv)
    n = max(3, round((a.atoms / 4) ** (1 / 3)))
    case = parse_case(B.case_text(n, 10, True))
    spec = case.patch("block")

    def system(weighted: bool):
        md = build_patch(MPI.COMM_SELF, spec, units=case.units, dt=case.run.dt, dim=3,
                         coupled_dims=3 if weighted else 0)
        if weighted:
            X = np.asarray(md.x0)
            lo, hi = spec.region.lo[0], spec.region.hi[0]
            d = np.minimum(X - lo, hi - X).min(axis=1)
            w = np.clip(1.0 - d / case.handshake.width, 0.0, 1.0)
            md.energy_weight[:] = 1.0 - w
            md.mass[:] *= 1.0 - w
            md.invalidate_neighbors()
        md.compute_forces()
        return md

    pure, md = system(False), system(True)
    if a.thermalize > 0:
        pure.run(a.thermalize)
        ids_p, ids_m = np.asarray(pure.ids), np.asarray(md.ids)
        xm = np.asarray(md.x)
        xm[np.argsort(ids_m)] = np.asarray(pure.x)[np.argsort(ids_p)]
        md.invalidate_neighbors()
        md.compute_forces()
    nl = md.nlocal
    coef, x, wall, f = md.potential.coef, md._xall, md._wall, md._fall
    flag = (np.asarray(md.energy_weight) < 1.0).astype(np.uint8)
    m = int(md._nstart[nl])
    sa, la, sb, lb = (np.zeros(nl + 1, np.int32), np.zeros(m, np.int32),
                      np.zeros(nl + 1, np.int32), np.zeros(m, np.int32))
    pairs = ki.split_pairs(nl, md._nstart, md._nlist, flag, sa, la, sb, lb)

    def one(w):
        f[:nl] = 0.0
        ki.lj_pass(coef, x, w, 0, nl, md._nstart, md._nlist, f)

    hw = 0.5 * wall[:nl]  # the weights halved once: the same bits (lj_pass, half_weights)

    def split():
        f[:nl] = 0.0
        ki.lj_pass(coef, x, hw, 0, nl, sa, la, f, True)
        for i0 in range(0, nl, 2048):
            ki.lj_pass(coef, x, None, i0, min(nl, i0 + 2048), sb, lb, f)

    def pass_a(w):
        ki.lj_pass(coef, x, w, 0, nl, sa, la, f, w is not None)

    band = np.flatnonzero(flag).astype(np.int64)
    corr, buf = np.zeros((band.size, 3)), np.empty((band.size, 3))
    v, mass, fixed, xhold = md.v, md.mass, md.fixed, md._xhold
    dtf = 0.5 * case.run.dt * md.units.ftm2v

    def overlapped_step():
        ki.band_add_drift(v, corr, band, x, fixed, 0.0, xhold, f)
        ki.lj_pass(coef, x, hw, 0, nl, sa, la, f, True)
        ki.band_kick_gather(v, f, None, mass, fixed, band, dtf, 2, buf)
        for i0 in range(0, nl, 2048):
            ki.lj_pass(coef, x, None, i0, min(nl, i0 + 2048), sb, lb, f)
        ki.kick_drift_select(v, f, None, mass, fixed, flag, 0, nl, dtf, 2, x, 0.0, xhold)

    cases = {"fused_md_step": lambda: pure.run(a.md_steps), "forces_weighted": lambda: one(wall),
             "forces_unweighted": lambda: one(None), "forces_split": split,
             "pass_a_weighted": lambda: pass_a(hw), "pass_a_unweighted": lambda: pass_a(None),
             "overlapped_step": overlapped_step}
    times = {k: [] for k in cases}
    for _ in range(a.repeats):
        for k, fn in cases.items():
            reps = 1 if k == "fused_md_step" else a.steps
            t = time.process_time()
            for _ in range(reps):
                fn()
            per = a.md_steps if k == "fused_md_step" else a.steps
            times[k].append(1e3 * (time.process_time() - t) / per)
    out = {"atoms": nl, "band_atoms": int(flag.sum()), "pairs_band_interior": list(pairs),
           "thermalize_steps": a.thermalize,
           "best_ms": {k: min(v) for k, v in times.items()},
           "median_ms": {k: float(np.median(v)) for k, v in times.items()}}
    b = out["best_ms"]
    out["ratios_best"] = {"weighted/unweighted": b["forces_weighted"] / b["forces_unweighted"],
                          "split/weighted": b["forces_split"] / b["forces_weighted"],
                          "weighted/fused_md_step": b["forces_weighted"] / b["fused_md_step"],
                          "overlapped_step/fused_md_step": b["overlapped_step"] / b["fused_md_step"],
                          "pass_a weighted/unweighted": b["pass_a_weighted"] / b["pass_a_unweighted"],
                          "band_weights_share_of_md_step":
                              (b["pass_a_weighted"] - b["pass_a_unweighted"]) / b["fused_md_step"]}
    md_ = out["median_ms"]
    out["ratios_median"] = {"overlapped_step/fused_md_step": md_["overlapped_step"] / md_["fused_md_step"]}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
