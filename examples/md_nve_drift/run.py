"""NVE energy conservation of the shifted-force (smooth) LJ liquid: drift per 10^4 steps.

500 atoms, fcc start at density 0.8442 melted at T = 1.44, dt = 0.005 (LJ units), 10^4
steps after 500 of equilibration. Prints one JSON line; exits non-zero if the total energy
per atom drifts by more than 1e-3 per 10^4 steps (the measured drift is ~1e-5).

    .venv/bin/python examples/md_nve_drift/run.py [--steps 10000] [--dt 0.005]
"""
import argparse
import json
import sys

import numpy as np
from mpi4py import MPI

from mscouple.atomistic import LennardJones, MDSystem, fcc


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=10000)
    ap.add_argument("--dt", type=float, default=0.005)
    args = ap.parse_args()
    x, box = fcc((4 / 0.8442) ** (1 / 3), 5)
    s = MDSystem(MPI.COMM_SELF, box, x, LennardJones(cutoff=2.5, mode="smooth"), dt=args.dt)
    s.set_velocities(1.44, seed=7)
    s.run(500)
    every = 100
    t, E = [], []
    for k in range(args.steps // every + 1):
        if k:
            s.run(every)
        t.append(s.step_count)
        E.append(s.total_energy() / s.natoms)
    t, E = np.array(t), np.array(E)
    slope = np.polyfit(t, E, 1)[0] * 1e4
    out = {"natoms": s.natoms, "dt": args.dt, "steps": args.steps, "T": s.temperature(),
           "E_per_atom": E[0], "drift_per_atom_per_1e4_steps": slope,
           "max_abs_dev_per_atom": float(np.max(np.abs(E - E[0]))), "rms_fluct_per_atom": float(np.std(E))}
    print(json.dumps(out))
    return 0 if abs(slope) < 1e-3 else 1


if __name__ == "__main__":
    sys.exit(main())
