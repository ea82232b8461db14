"""Cascade (MD) → survivors → object KMC, and the same KMC started from the peak damage.

    python examples/cascade_kmc/run.py [case.toml] [--kmc-only]
    mpirun -n 2 python examples/cascade_kmc/run.py      (the MD half on 2 ranks)

Writes into out/ next to the case: cascade_defects.xyz (OVITO), md_history.csv,
defects_relaxed.txt, defects_peak.txt, kmc_history.csv, kmc_history_peak.csv,
*_summary.json and defect_counts.png (counts vs log time from 1e-14 s to 1 s).
"""
import json
import os
import sys

from mpi4py import MPI

from mscouple.cascade.case import load_case
from mscouple.cascade.energetics import cluster_binding, interstitial_energetics, vacancy_energetics
from mscouple.cascade.pipeline import _mass, plot_counts, potential, run_kmc, run_md

here = os.path.dirname(os.path.abspath(__file__))
args = [a for a in sys.argv[1:] if not a.startswith("--")]
case = load_case(args[0] if args else os.path.join(here, "case.toml"))
out = os.path.join(case.folder, "out")
comm = MPI.COMM_WORLD
log = print if comm.rank == 0 else None
if "--kmc-only" not in sys.argv:
    md = run_md(comm, case, out, log=log)
    if comm.rank == 0:
        print(json.dumps(md, indent=1))
e = ei = b = None
if comm.rank == 0:
    pot = potential(case)
    e = vacancy_energetics(pot, case.material.a, mass=_mass(pot))
    ei = interstitial_energetics(pot, case.material.a, mass=_mass(pot))
    print(f"vacancy: E_f = {e.formation:.3f} eV, E_m = {e.migration:.3f} eV (NEB, "
          f"{e.natoms} sites), divacancy E_b = {e.divacancy_binding:.3f} eV; <100> dumbbell: "
          f"E_f = {ei.formation:.3f} eV, E_m = {ei.migration:.3f} eV (NEB, {ei.natoms} atoms)")
    b = cluster_binding(pot, case.material.a, mass=_mass(pot))
    print(f"tri-vacancy: third vacancy bound by {b.v_to_v2:.3f} eV (total {b.trivacancy:.3f}); "
          f"di-interstitial E_b = {b.di_interstitial:.3f} eV (relaxation, {b.natoms} sites)")
e, ei, b = comm.bcast((e, ei, b if comm.rank == 0 else None))
relaxed = run_kmc(comm, case, out, energetics=e, interstitial=ei, binding=b)
peak = run_kmc(comm, case, out, energetics=e, interstitial=ei, binding=b,
               initial="out/defects_peak.txt", handoff="peak", tag="_peak")
if comm.rank == 0:
    for name, s in (("relaxed survivors", relaxed), ("peak damage (explicit)", peak)):
        print(f"KMC from the {name}: {s['initial_defects']} defects at "
              f"{s['rows'][0][0]:.2e} s -> final {s['final']} at {s['t_end_s']:.3g} s; "
              f"{s['events']} events, {s['events_per_s']:.3g} events/s; "
              f"{s['recombined']} recombined, {s['clustered']} clustering reactions")
    plot_counts(out, os.path.join(out, "md_history.csv"),
                {"relaxed hand-off": os.path.join(out, "kmc_history.csv"),
                 "peak hand-off": os.path.join(out, "kmc_history_peak.csv")},
                os.path.join(out, "defect_counts.png"))
    print("wrote", os.path.join(out, "defect_counts.png"))
