"""Surviving Frenkel pairs vs NRT and arc-dpa over seeds (random PKA directions).

    python examples/cascade_kmc/nrt_study.py --energy 500 --seeds 10 --cells 8 [--duration 3]

Each seed: a 0 K Cu block (Zhou EAM + ZBL), PKA of ``--energy`` eV along a random
direction from the atom nearest the centre, border Langevin layer at 0 K, adaptive dt,
``--duration`` ps, FIRE quench, Wigner–Seitz count. Damage energy T_d = PKA energy (no
electronic stopping). Prints and writes (``--out``) a JSON with the mean survivors, their
standard error, the NRT and arc-dpa values (mscouple.cascade.nrt) and both ratios.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
from mpi4py import MPI

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))

from mscouple.atomistic.eam import EAM  # noqa: E402
from mscouple.atomistic.lattice import fcc  # noqa: E402
from mscouple.atomistic.system import MDSystem  # noqa: E402
from mscouple.cascade.nrt import CU_ARC, arc_dpa, nrt  # noqa: E402
from mscouple.cascade.run import CascadeSpec, run_cascade  # noqa: E402
from mscouple.cascade.zbl import join_zbl  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--energy", type=float, default=500.0)
ap.add_argument("--seeds", type=int, default=10)
ap.add_argument("--cells", type=int, default=8)
ap.add_argument("--duration", type=float, default=3.0)
ap.add_argument("--out", default=None)
a = ap.parse_args()
pot = join_zbl(EAM.from_file(os.path.join(HERE, "..", "..", "tests", "data", "Cu_zhou04.eam.alloy")), [29])
A = 3.615
rows = []
for seed in range(1, a.seeds + 1):
    x, box = fcc(A, (a.cells,) * 3)
    s = MDSystem(MPI.COMM_SELF, box, x, pot, masses=63.546, units="metal", dt=1e-3, skin=1.0,
                 sort_every=0)
    spec = CascadeSpec(energy=a.energy, direction=None, duration=a.duration, xmax=0.05,
                       border_width=3.0, border_temperature=0.0, frame_every=0.1,
                       cluster_cutoff=A, relax_fmax=0.01, seed=seed)
    t0 = time.perf_counter()
    r = run_cascade(s, x, spec)
    rows.append({"seed": seed, "peak": r.peak.n_frenkel, "survivors": r.final.n_frenkel,
                 "steps": r.steps, "wall_s": time.perf_counter() - t0})
    print(json.dumps(rows[-1]), flush=True)
surv = np.array([r["survivors"] for r in rows], float)
peak = np.array([r["peak"] for r in rows], float)
sem = surv.std(ddof=1) / np.sqrt(len(surv)) if len(surv) > 1 else float("nan")
n_nrt, n_arc = float(nrt(a.energy)), float(arc_dpa(a.energy))
res = {"energy_eV": a.energy, "natoms": len(x), "seeds": len(rows), "duration_ps": a.duration,
       "survivors_mean": surv.mean(), "survivors_sem": sem, "peak_mean": peak.mean(),
       "nrt": n_nrt, "arc_dpa": n_arc, "E_d": CU_ARC[0], "arc_b": CU_ARC[1], "arc_c": CU_ARC[2],
       "ratio_to_nrt": surv.mean() / n_nrt, "ratio_to_nrt_sem": sem / n_nrt,
       "ratio_to_arc": surv.mean() / n_arc, "ratio_to_arc_sem": sem / n_arc, "runs": rows}
print(json.dumps({k: v for k, v in res.items() if k != "runs"}, indent=1))
if a.out:
    with open(a.out, "w") as fh:
        json.dump(res, fh, indent=1)
