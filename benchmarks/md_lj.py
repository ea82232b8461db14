"""LAMMPS ``bench/in.lj`` on mscouple's MD engine, optionally against LAMMPS itself.

System: 32,000 atoms, fcc at reduced density 0.8442 (20^3 cells), T = 1.44 (Gaussian
velocities, zero momentum, exact T with 3N-3 degrees of freedom), LJ cut at 2.5, skin 0.3,
neighbour lists rebuilt every 20 steps without displacement check, dt = 0.005, NVE,
100 steps. Prints one JSON line: atom-steps/s of the 100-step loop (set-up excluded, as
LAMMPS' "Loop time"), and, when LAMMPS is found (``--lammps-venv``, default
``.venv-lammps`` next to this repository's ``.venv``), LAMMPS' speed on the identical
initial state (written to a data file), the ratio, and the differences of total energy
per atom and temperature at step 100.

    .venv/bin/python benchmarks/md_lj.py [--repeat 2] [--ranks 2] [--no-lammps]

``--ranks k`` also times both codes on k MPI ranks (ours under Open MPI's mpirun, LAMMPS
under its own MPICH ``mpirun``) and reports the parallel efficiency.
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

NCELL = 20
RHO = 0.8442
T0 = 1.44
NSTEPS = 100


def build(comm):
    from mscouple.atomistic.lattice import fcc
    from mscouple.atomistic.potentials import LennardJones
    from mscouple.atomistic.system import MDSystem

    a = (4.0 / RHO) ** (1.0 / 3.0)
    x, box = fcc(a, NCELL)
    s = MDSystem(comm, box, x, LennardJones(1.0, 1.0, 2.5, mode="cut"), dt=0.005, skin=0.3,
                 neigh_every=20, neigh_check=False, sort_every=1)
    s.set_velocities(T0, seed=87287)
    return s


def run_ours(comm, repeat: int):
    """Best-of-``repeat`` loop time; returns (seconds, etot/atom, T) at step 100."""
    best = np.inf
    out = None
    for _ in range(repeat):
        s = build(comm)
        s.compute_forces(energy=False, virial=False)
        comm.Barrier()
        t = time.perf_counter()
        s.run(NSTEPS)
        comm.Barrier()
        dt = time.perf_counter() - t
        best = min(best, comm.allreduce(dt, op=_mpi().MAX))
        out = (s.total_energy() / s.natoms, s.temperature())
    return best, out[0], out[1]


def _mpi():
    from mpi4py import MPI

    return MPI


def write_lammps_data(path: str, s) -> None:
    x = s.gather("x")
    v = s.gather("v")
    box = s.box
    with open(path, "w") as fh:
        fh.write("in.lj state written by mscouple benchmarks/md_lj.py\n\n")
        fh.write(f"{s.natoms} atoms\n1 atom types\n\n")
        for d, name in enumerate("xyz"):
            fh.write(f"{box.lo[d]:.17g} {box.hi[d]:.17g} {name}lo {name}hi\n")
        fh.write("\nMasses\n\n1 1.0\n\nAtoms # atomic\n\n")
        for i in range(len(x)):
            fh.write(f"{i + 1} 1 {x[i, 0]:.17g} {x[i, 1]:.17g} {x[i, 2]:.17g}\n")
        fh.write("\nVelocities\n\n")
        for i in range(len(v)):
            fh.write(f"{i + 1} {v[i, 0]:.17g} {v[i, 1]:.17g} {v[i, 2]:.17g}\n")


LAMMPS_INPUT = """units lj
atom_style atomic
read_data {data}
mass 1 1.0
pair_style lj/cut 2.5
pair_coeff 1 1 1.0 1.0 2.5
neighbor 0.3 bin
neigh_modify delay 0 every 20 check no
fix 1 all nve
thermo_style custom step temp etotal pe
thermo_modify format float %.16g
thermo 100
run 100
"""


def run_lammps(venv: str, data: str, ranks: int, suffix: str | None, repeat: int):
    """Best loop time and step-100 (etot/atom, T) from LAMMPS' log, or None."""
    lmp = os.path.join(venv, "bin", "lmp")
    if not os.path.exists(lmp):
        return None
    env = dict(os.environ)
    lib = os.path.join(venv, "lib")
    env["LD_LIBRARY_PATH"] = lib + os.pathsep + env.get("LD_LIBRARY_PATH", "")
    for k in list(env):
        if k.startswith(("OMPI_", "PMIX_", "OPAL_")):
            env.pop(k)
    env["OMP_NUM_THREADS"] = "1"
    with tempfile.TemporaryDirectory() as tmp:
        inp = os.path.join(tmp, "in.lj")
        with open(inp, "w") as fh:
            fh.write(LAMMPS_INPUT.format(data=data))
        cmd = [lmp, "-in", inp, "-log", "none"]
        if suffix:
            cmd += ["-sf", suffix]
        if ranks > 1:
            cmd = [os.path.join(venv, "bin", "mpirun"), "-n", str(ranks)] + cmd
        best, state = np.inf, None
        for _ in range(repeat):
            p = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmp)
            if p.returncode != 0:
                sys.stderr.write(p.stdout[-2000:] + p.stderr[-2000:])
                return None
            m = re.search(r"Loop time of ([0-9.eE+-]+) on", p.stdout)
            rows = re.findall(r"^\s*100\s+(\S+)\s+(\S+)\s+(\S+)\s*$", p.stdout, re.M)
            if not m or not rows:
                sys.stderr.write(p.stdout[-2000:])
                return None
            best = min(best, float(m.group(1)))
            state = (float(rows[-1][1]), float(rows[-1][0]))
    return best, state[0], state[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--ranks", type=int, default=1)
    ap.add_argument("--no-lammps", action="store_true")
    ap.add_argument("--lammps-venv", default=os.path.join(ROOT, ".venv-lammps"))
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    MPI = _mpi()
    comm = MPI.COMM_WORLD
    if args.worker:
        t, e, T = run_ours(comm, args.repeat)
        if comm.rank == 0:
            print(json.dumps({"seconds": t, "etot": e, "temp": T}))
        return
    natoms = 4 * NCELL ** 3
    t1, e1, T1 = run_ours(MPI.COMM_SELF, args.repeat)
    res = {"benchmark": "md_lj", "natoms": natoms, "steps": NSTEPS, "ranks": 1,
           "atom_steps_per_s": natoms * NSTEPS / t1, "loop_s": t1,
           "etot_per_atom_100": e1, "temp_100": T1}
    lam = None
    if not args.no_lammps:
        with tempfile.TemporaryDirectory() as tmp:
            data = os.path.join(tmp, "lj.data")
            write_lammps_data(data, build(MPI.COMM_SELF))
            lam = run_lammps(args.lammps_venv, data, 1, None, args.repeat)
            lam_opt = run_lammps(args.lammps_venv, data, 1, "opt", args.repeat)
            lam_k = (run_lammps(args.lammps_venv, data, args.ranks, None, args.repeat)
                     if args.ranks > 1 else None)
    if lam is not None:
        res.update({"lammps_atom_steps_per_s": natoms * NSTEPS / lam[0],
                    "ratio_vs_lammps": lam[0] / t1,
                    "lammps_etot_per_atom_100": lam[1], "lammps_temp_100": lam[2],
                    "d_etot_per_atom": e1 - lam[1], "d_temp": T1 - lam[2]})
        if lam_opt is not None:
            res["ratio_vs_lammps_opt"] = lam_opt[0] / t1
    if args.ranks > 1:
        env = dict(os.environ, OMP_NUM_THREADS="1")
        p = subprocess.run(["mpirun", "-n", str(args.ranks), sys.executable, __file__,
                            "--worker", "--repeat", str(args.repeat)],
                           capture_output=True, text=True, env=env)
        line = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
        if line:
            w = json.loads(line[-1])
            res.update({"ranks": args.ranks, f"atom_steps_per_s_{args.ranks}ranks":
                        natoms * NSTEPS / w["seconds"],
                        "parallel_efficiency": t1 / (args.ranks * w["seconds"]),
                        f"d_etot_per_atom_{args.ranks}ranks_vs_1": w["etot"] - e1})
        else:
            sys.stderr.write(p.stdout[-2000:] + p.stderr[-2000:])
        if lam is not None and lam_k is not None:
            res["lammps_parallel_efficiency"] = lam[0] / (args.ranks * lam_k[0])
    print(json.dumps(res))


if __name__ == "__main__":
    main()
