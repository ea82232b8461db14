"""Cascade MD (EAM + ZBL, adaptive step) on mscouple against LAMMPS, same state, same run.

System (metal units): fcc Cu, a = 3.615 Å, ``--cells``^3 conventional cells (default 8^3 =
2,048 atoms), periodic, 0 K lattice; potential ``tests/data/Cu_zhou04.eam.alloy`` joined to
ZBL between 1 and 2 Å (mscouple.cascade.zbl) and written as one setfl table, which both codes
read (LAMMPS ``pair_style eam/alloy``); a PKA of ``--energy`` eV (default 500) from the
atom nearest the centre along (0.13, 0.35, 0.93); NVE with the time step reset every step
so that no atom moves more than 0.05 Å (LAMMPS ``fix dt/reset 1 NULL 0.002 0.05 units box``;
ours: ``mscouple.cascade.dynamics.adaptive_dt``), ``--steps`` steps (default 200); skin 1 Å,
lists checked every step.

Prints one JSON line: atom-steps/s of both codes (best of ``--repeat``), their ratio (wall,
and CPU time: LAMMPS' loop time x its "% CPU use", ours ``process_time``, for shared
machines), the
simulated time each reached (the adaptive steps must agree: ``times_agree`` within 1 %), and
the step-0 potential energy per atom of both (same table: to 1e-9 eV/atom).

    .venv/bin/python benchmarks/cascade_md.py [--cells 8] [--energy 500] [--steps 200]
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
sys.path.insert(0, HERE)

POTENTIAL = os.path.join(ROOT, "tests", "data", "Cu_zhou04.eam.alloy")
A0, XMAX, DT_MAX = 3.615, 0.05, 0.002
DIRECTION = np.array([0.13, 0.35, 0.93])

LAMMPS_INPUT = """units metal
atom_style atomic
read_data {data}
pair_style eam/alloy
pair_coeff * * {pot} Cu
neighbor 1.0 bin
neigh_modify every 1 delay 0 check yes
timestep 0.0001
fix 1 all nve
fix 2 all dt/reset 1 NULL {dtmax} {xmax} units box
thermo_style custom step time pe
thermo_modify format float %.16g
thermo {steps}
run {steps}
"""


def build(cells, energy, pot):
    from mpi4py import MPI

    from mscouple.atomistic.lattice import fcc
    from mscouple.atomistic.system import MDSystem

    x, box = fcc(A0, cells)
    s = MDSystem(MPI.COMM_SELF, box, x, pot, masses=pot.masses, units="metal", dt=1e-4,
                 skin=1.0, sort_every=0)
    i = int(np.argmin(np.linalg.norm(x - 0.5 * (box.lo + box.hi), axis=1)))
    n = DIRECTION / np.linalg.norm(DIRECTION)
    s.v[i] = n * np.sqrt(2 * energy / (pot.masses[0] * s.units.mvv2e))
    return s


def run_ours(cells, energy, steps, pot):
    from mscouple.cascade.dynamics import adaptive_dt

    s = build(cells, energy, pot)
    e0 = s.potential_energy() / s.natoms
    t, t0, c0 = 0.0, time.perf_counter(), time.process_time()
    for _ in range(steps):
        s.dt = adaptive_dt(s, XMAX, 1e-8, DT_MAX)
        s.run(1)
        t += s.dt
    return time.perf_counter() - t0, t, e0, s, time.process_time() - c0


def run_lammps(venv, data, table, steps, natoms):
    lmp = os.path.join(venv, "bin", "lmp")
    if not os.path.exists(lmp):
        return None
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OMPI_", "PMIX_", "OPAL_"))}
    env["LD_LIBRARY_PATH"] = os.path.join(venv, "lib") + os.pathsep + env.get("LD_LIBRARY_PATH", "")
    env["OMP_NUM_THREADS"] = "1"
    with tempfile.TemporaryDirectory() as tmp:
        inp = os.path.join(tmp, "in.cascade")
        with open(inp, "w") as fh:
            fh.write(LAMMPS_INPUT.format(data=data, pot=table, dtmax=DT_MAX, xmax=XMAX, steps=steps))
        p = subprocess.run([lmp, "-in", inp, "-log", "none"], capture_output=True, text=True,
                           env=env, cwd=tmp)
        if p.returncode != 0:
            sys.stderr.write(p.stdout[-2000:] + p.stderr[-2000:])
            return None
        loop = float(re.search(r"Loop time of ([0-9.eE+-]+) on", p.stdout).group(1))
        cpu = re.search(r"([0-9.]+)% CPU use", p.stdout)
        loop_cpu = loop * (float(cpu.group(1)) / 100 if cpu else 1.0)
        rows = dict((int(r[0]), r[1:]) for r in
                    re.findall(r"^\s*(\d+)\s+(\S+)\s+(\S+)\s*$", p.stdout, re.M))
        return loop, float(rows[steps][0]), float(rows[0][1]) / natoms, loop_cpu


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cells", type=int, default=8)
    ap.add_argument("--energy", type=float, default=500.0)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--lammps-venv", default=os.path.join(ROOT, ".venv-lammps"))
    a = ap.parse_args()
    from md_eam import write_lammps_data

    from mscouple.atomistic.eam import EAM
    from mscouple.cascade.zbl import join_zbl

    pot = join_zbl(EAM.from_file(POTENTIAL), [29], 1.0, 2.0)
    with tempfile.TemporaryDirectory() as tmp:
        table = os.path.join(tmp, "Cu_zhou04_zbl.eam.alloy")
        pot.write_setfl(table, "Cu Zhou 2004 + ZBL (1-2 Å), mscouple benchmarks/cascade_md.py")
        pot = EAM.from_file(table)  # both codes read the same file
        best = None
        for _ in range(a.repeat):
            r = run_ours(a.cells, a.energy, a.steps, pot)
            best = r if best is None or r[0] < best[0] else best
        wall, t_ours, e_ours, s, cpu = best
        data = os.path.join(tmp, "state.data")
        write_lammps_data(data, build(a.cells, a.energy, pot))
        lm = None
        for _ in range(a.repeat):
            r = run_lammps(a.lammps_venv, data, table, a.steps, s.natoms)
            lm = r if lm is None or (r and r[0] < lm[0]) else lm
    out = {"natoms": s.natoms, "steps": a.steps, "pka_eV": a.energy,
           "ours_atom_steps_per_s": s.natoms * a.steps / wall, "ours_time_ps": t_ours,
           "ours_pe0_per_atom": e_ours, "ours_cpu_atom_steps_per_s": s.natoms * a.steps / cpu}
    if lm:
        out.update({"lammps_atom_steps_per_s": s.natoms * a.steps / lm[0], "lammps_time_ps": lm[1],
                    "lammps_pe0_per_atom": lm[2],
                    "ratio_ours_over_lammps": lm[0] / wall,
                    "cpu_ratio_ours_over_lammps": lm[3] / cpu,
                    "times_agree": abs(t_ours - lm[1]) < 0.01 * lm[1],
                    "energies_agree": abs(e_ours - lm[2]) < 1e-9})
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
