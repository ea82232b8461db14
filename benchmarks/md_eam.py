"""EAM copper on mscouple's MD engine against LAMMPS ``pair_style eam/alloy``, same run.

System (metal units: Å, ps, eV, g/mol): fcc Cu, lattice constant 3.615 Å, ``--cells``^3
conventional cells (default 10^3 = 4,000 atoms), periodic; potential
``tests/data/Cu_zhou04.eam.alloy`` (Zhou, Johnson & Wadley, PRB 69, 144113 (2004), cutoff
9.0375 Å); mass 63.546 g/mol from the file; velocities Gaussian at T = 600 K (zero
momentum, exact T with 3N-3 degrees of freedom; drawn by mscouple, written to a LAMMPS
data file with the positions, so both codes start from the identical state); dt = 2 fs;
NVE; skin 1.0 Å; neighbour lists checked every 5 steps and rebuilt when an atom moved more
than skin/2 (LAMMPS ``neighbor 1.0 bin``, ``neigh_modify every 5 delay 0 check yes``, as
LAMMPS' own ``bench/in.eam``); 100 steps.

Prints one JSON line: atom-steps/s of the 100-step loop (set-up excluded, as LAMMPS' "Loop
time"), best of ``--repeat``, and when LAMMPS is found (``--lammps-venv``, default
``.venv-lammps`` next to this repository's ``.venv``; ``make bench`` builds it) LAMMPS'
speed on the identical state, the ratio, and the potential energy per atom of both codes at
step 0. That step-0 energy must agree to 1e-9 eV/atom (``energies_agree``; the process
exits with 1 otherwise), so the timed computation is the same in both codes.

    .venv/bin/python benchmarks/md_eam.py [--repeat 3] [--ranks 2] [--cells 12] [--no-lammps]

``--ranks k`` also times both codes on k MPI ranks (ours under Open MPI's mpirun, LAMMPS
under its own MPICH ``mpirun``; waiting ranks busy-poll in both, see ``main``).
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

POTENTIAL = os.path.join(ROOT, "tests", "data", "Cu_zhou04.eam.alloy")
A0 = 3.615      # Å
T0 = 600.0      # K
DT = 0.002      # ps
SKIN = 1.0      # Å
EVERY = 5
NSTEPS = 100
E0_TOL = 1e-9   # eV/atom: step-0 potential energies of the two codes


def build(comm, cells: int):
    from mscouple.atomistic.eam import EAM
    from mscouple.atomistic.lattice import fcc
    from mscouple.atomistic.system import MDSystem

    pot = EAM.from_file(POTENTIAL)
    x, box = fcc(A0, cells)
    s = MDSystem(comm, box, x, pot, masses=pot.masses, units="metal", dt=DT, skin=SKIN,
                 neigh_every=EVERY, neigh_check=True, sort_every=1)
    s.set_velocities(T0, seed=87287)
    return s


def run_ours(comm, repeat: int, cells: int):
    """Best-of-``repeat`` loop time; returns (wall seconds, CPU seconds of this process,
    pe/atom at step 0, etot/atom, T at step 100)."""
    MPI = _mpi()
    best, best_cpu = np.inf, np.inf
    out = None
    for _ in range(repeat):
        s = build(comm, cells)
        pe0 = s.potential_energy() / s.natoms
        comm.Barrier()
        t, c = time.perf_counter(), time.process_time()
        s.run(NSTEPS)
        c = time.process_time() - c
        comm.Barrier()
        dt = time.perf_counter() - t
        best = min(best, comm.allreduce(dt, op=MPI.MAX))
        best_cpu = min(best_cpu, c)
        out = (pe0, s.total_energy() / s.natoms, s.temperature())
    return best, best_cpu, out[0], out[1], out[2]


def _mpi():
    from mpi4py import MPI

    return MPI


def write_lammps_data(path: str, s) -> None:
    x = s.gather("x")
    v = s.gather("v")
    box = s.box
    with open(path, "w") as fh:
        fh.write("Cu state written by mscouple benchmarks/md_eam.py\n\n")
        fh.write(f"{s.natoms} atoms\n1 atom types\n\n")
        for d, name in enumerate("xyz"):
            fh.write(f"{box.lo[d]:.17g} {box.hi[d]:.17g} {name}lo {name}hi\n")
        fh.write(f"\nMasses\n\n1 {s.potential.masses[0]:.17g}\n\nAtoms # atomic\n\n")
        for i in range(len(x)):
            fh.write(f"{i + 1} 1 {x[i, 0]:.17g} {x[i, 1]:.17g} {x[i, 2]:.17g}\n")
        fh.write("\nVelocities\n\n")
        for i in range(len(v)):
            fh.write(f"{i + 1} {v[i, 0]:.17g} {v[i, 1]:.17g} {v[i, 2]:.17g}\n")


LAMMPS_INPUT = """units metal
atom_style atomic
read_data {data}
pair_style eam/alloy
pair_coeff * * {pot} Cu
neighbor {skin} bin
neigh_modify every {every} delay 0 check yes
timestep {dt}
fix 1 all nve
thermo_style custom step temp etotal pe
thermo_modify format float %.16g
thermo {nsteps}
run {nsteps}
"""


def run_lammps(venv: str, data: str, ranks: int, repeat: int, natoms: int):
    """(best loop time, best loop CPU time = loop time x LAMMPS' "% CPU use", step-0
    pe/atom, step-100 etot/atom, step-100 T) from LAMMPS, or None (LAMMPS' metal-unit
    thermo output is extensive: divided by natoms here)."""
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
        inp = os.path.join(tmp, "in.eam")
        with open(inp, "w") as fh:
            fh.write(LAMMPS_INPUT.format(data=data, pot=POTENTIAL, skin=SKIN, every=EVERY,
                                         dt=DT, nsteps=NSTEPS))
        cmd = [lmp, "-in", inp, "-log", "none"]
        if ranks > 1:
            cmd = [os.path.join(venv, "bin", "mpirun"), "-n", str(ranks)] + cmd
        best, best_cpu, state = np.inf, np.inf, None
        for _ in range(repeat):
            p = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmp)
            if p.returncode != 0:
                sys.stderr.write(p.stdout[-2000:] + p.stderr[-2000:])
                return None
            m = re.search(r"Loop time of ([0-9.eE+-]+) on", p.stdout)
            rows = dict((int(r[0]), r[1:]) for r in
                        re.findall(r"^\s*(\d+)\s+(\S+)\s+(\S+)\s+(\S+)\s*$", p.stdout, re.M))
            if not m or 0 not in rows or NSTEPS not in rows:
                sys.stderr.write(p.stdout[-2000:])
                return None
            best = min(best, float(m.group(1)))
            cpu = re.search(r"([0-9.]+)% CPU use", p.stdout)
            best_cpu = min(best_cpu, float(m.group(1)) * (float(cpu.group(1)) / 100 if cpu else 1.0))
            state = (float(rows[0][2]) / natoms, float(rows[NSTEPS][1]) / natoms,
                     float(rows[NSTEPS][0]))
    return best, best_cpu, state[0], state[1], state[2]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--ranks", type=int, default=1)
    ap.add_argument("--cells", type=int, default=10)
    ap.add_argument("--no-lammps", action="store_true")
    ap.add_argument("--lammps-venv", default=os.path.join(ROOT, ".venv-lammps"))
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    MPI = _mpi()
    comm = MPI.COMM_WORLD
    if args.worker:
        t, _, pe0, e, T = run_ours(comm, args.repeat, args.cells)
        if comm.rank == 0:
            print(json.dumps({"seconds": t, "pe0": pe0, "etot": e, "temp": T}))
        return 0
    natoms = 4 * args.cells ** 3
    t1, c1, pe0, e1, T1 = run_ours(MPI.COMM_SELF, args.repeat, args.cells)
    res = {"benchmark": "md_eam", "potential": os.path.basename(POTENTIAL), "natoms": natoms,
           "steps": NSTEPS, "dt_ps": DT, "skin": SKIN, "neigh_every": EVERY, "T0": T0,
           "ranks": 1, "atom_steps_per_s": natoms * NSTEPS / t1, "loop_s": t1, "loop_cpu_s": c1,
           "pe_per_atom_0": pe0, "etot_per_atom_100": e1, "temp_100": T1}
    ok = True
    lam = lam_k = None
    if not args.no_lammps:
        with tempfile.TemporaryDirectory() as tmp:
            data = os.path.join(tmp, "cu.data")
            write_lammps_data(data, build(MPI.COMM_SELF, args.cells))
            lam = run_lammps(args.lammps_venv, data, 1, args.repeat, natoms)
            lam_k = (run_lammps(args.lammps_venv, data, args.ranks, args.repeat, natoms)
                     if args.ranks > 1 else None)
    if lam is not None:
        d0 = pe0 - lam[2]
        ok = abs(d0) < E0_TOL
        # ratio: wall clock; ratio_cpu: CPU seconds of the loop (robust on a shared machine)
        res.update({"lammps_atom_steps_per_s": natoms * NSTEPS / lam[0], "lammps_loop_s": lam[0],
                    "lammps_loop_cpu_s": lam[1], "ratio_vs_lammps": lam[0] / t1,
                    "ratio_vs_lammps_cpu": lam[1] / c1,
                    "lammps_pe_per_atom_0": lam[2], "d_pe_per_atom_0": d0,
                    "energies_agree": ok,
                    "lammps_etot_per_atom_100": lam[3], "lammps_temp_100": lam[4],
                    "d_etot_per_atom_100": e1 - lam[3], "d_temp_100": T1 - lam[4]})
    if args.ranks > 1:
        # waiting ranks spin as MPICH's (LAMMPS') do; Open MPI's default under
        # oversubscription is to yield the core, which on a loaded machine times the
        # scheduler rather than the code
        env = dict(os.environ, OMP_NUM_THREADS="1")
        env.setdefault("OMPI_MCA_mpi_yield_when_idle", "0")
        p = subprocess.run(["mpirun", "-n", str(args.ranks), sys.executable, __file__,
                            "--worker", "--repeat", str(args.repeat), "--cells",
                            str(args.cells)], capture_output=True, text=True, env=env)
        line = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
        if line:
            w = json.loads(line[-1])
            k = args.ranks
            res.update({"ranks": k, f"atom_steps_per_s_{k}ranks": natoms * NSTEPS / w["seconds"],
                        f"loop_s_{k}ranks": w["seconds"],
                        "parallel_efficiency": t1 / (k * w["seconds"]),
                        f"d_pe_per_atom_0_{k}ranks_vs_1": w["pe0"] - pe0,
                        f"d_etot_per_atom_100_{k}ranks_vs_1": w["etot"] - e1})
            if lam_k is not None:
                res.update({f"lammps_atom_steps_per_s_{k}ranks": natoms * NSTEPS / lam_k[0],
                            f"ratio_vs_lammps_{k}ranks": lam_k[0] / w["seconds"],
                            "lammps_parallel_efficiency": lam[0] / (k * lam_k[0])})
        else:
            sys.stderr.write(p.stdout[-2000:] + p.stderr[-2000:])
    print(json.dumps(res))
    if not ok:
        sys.stderr.write(f"md_eam: step-0 potential energies differ by {res['d_pe_per_atom_0']:.3g} "
                         f"eV/atom (> {E0_TOL:g}): the two codes do not compute the same thing\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
