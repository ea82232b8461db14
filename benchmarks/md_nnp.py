"""The price of the learned potential: NNP vs our EAM vs LAMMPS EAM on the same Cu state.

System (metal units): fcc Cu, a = 3.615 Å, ``--cells``^3 cubic cells (default 5^3 = 500
atoms), periodic, T = 600 K (velocities drawn by mscouple, identical for every code),
dt = 2 fs, NVE, skin 1.0 Å, lists checked every 5 steps (as ``benchmarks/md_eam.py``).
Potentials: the shipped NNP ``examples/nnp_cu/cu_nnp.npz`` (r_c = 5.2 Å, 33 symmetry
functions: 21 radial, 12 angular; 20-20 tanh network) and the EAM it was trained on,
``tests/data/Cu_zhou04.eam.alloy`` (r_c = 9.04 Å), ours and LAMMPS ``eam/alloy``.

Prints one JSON line: atom-steps/s of each (loop only, set-up excluded; best of
``--repeat``), the ratios EAM/NNP and LAMMPS/NNP measured in this run, and the NVE energy
error of the NNP and of our EAM over ``--nve-steps`` steps at 300 K (max |E(t) − E(0)| per
atom) with their ratio.

    .venv/bin/python benchmarks/md_nnp.py [--cells 5] [--steps 20] [--repeat 2] [--no-lammps]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
sys.path.insert(0, HERE)

MODEL = os.path.join(ROOT, "examples", "nnp_cu", "cu_nnp.npz")
A0, DT, SKIN, EVERY = 3.615, 0.002, 1.0, 5


def build(pot, cells: int, T: float, seed: int = 87287):
    from mpi4py import MPI

    from mscouple.atomistic.lattice import fcc
    from mscouple.atomistic.system import MDSystem

    x, box = fcc(A0, cells)
    s = MDSystem(MPI.COMM_SELF, box, x, pot, masses=63.546, units="metal", dt=DT, skin=SKIN,
                 neigh_every=EVERY, neigh_check=True, sort_every=1)
    s.set_velocities(T, seed=seed)
    return s


def speed(pot, cells: int, steps: int, repeat: int) -> float:
    best = np.inf
    for _ in range(repeat):
        s = build(pot, cells, 600.0)
        s.potential_energy()
        t = time.perf_counter()
        s.run(steps)
        best = min(best, time.perf_counter() - t)
    return s.natoms * steps / best


def nve_error(pot, cells: int, steps: int) -> float:
    """max |E(t) − E(0)| per atom (eV) over ``steps`` NVE steps from 300 K (sampled every 5)."""
    s = build(pot, cells, 300.0, seed=11)
    e0 = s.total_energy()
    err = 0.0
    for _ in range(steps // 5):
        s.run(5)
        err = max(err, abs(s.total_energy() - e0))
    return err / s.natoms


def main() -> int:
    from mscouple.atomistic.eam import EAM
    from mscouple.atomistic.nnp import NNP

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cells", type=int, default=5)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--nve-steps", type=int, default=500)
    ap.add_argument("--nve-cells", type=int, default=3)
    ap.add_argument("--no-lammps", action="store_true")
    ap.add_argument("--lammps-venv", default=os.path.join(ROOT, ".venv-lammps"))
    a = ap.parse_args()
    nnp = NNP(MODEL)
    eam = EAM.from_file(os.path.join(ROOT, "tests", "data", "Cu_zhou04.eam.alloy"))
    natoms = 4 * a.cells ** 3
    res = {"benchmark": "md_nnp", "natoms": natoms, "dt_ps": DT, "T0": 600.0,
           "nnp_atom_steps_per_s": speed(nnp, a.cells, a.steps, a.repeat),
           "eam_atom_steps_per_s": speed(eam, a.cells, 5 * a.steps, a.repeat)}
    res["eam_over_nnp"] = res["eam_atom_steps_per_s"] / res["nnp_atom_steps_per_s"]
    if not a.no_lammps:
        import md_eam

        md_eam.NSTEPS = 5 * a.steps
        with tempfile.TemporaryDirectory() as tmp:
            data = os.path.join(tmp, "cu.data")
            md_eam.write_lammps_data(data, build(eam, a.cells, 600.0))
            lam = md_eam.run_lammps(a.lammps_venv, data, 1, a.repeat, natoms)
        if lam is not None:
            res["lammps_eam_atom_steps_per_s"] = natoms * md_eam.NSTEPS / lam[0]
            res["lammps_over_nnp"] = res["lammps_eam_atom_steps_per_s"] / res["nnp_atom_steps_per_s"]
    if a.nve_steps > 0:
        en, ee = nve_error(nnp, a.nve_cells, a.nve_steps), nve_error(eam, a.nve_cells, a.nve_steps)
        res.update({"nve_steps": a.nve_steps, "nve_T0": 300.0, "nve_natoms": 4 * a.nve_cells ** 3,
                    "nve_err_nnp_eV_atom": en, "nve_err_eam_eV_atom": ee, "nve_err_ratio_nnp_eam": en / ee})
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
