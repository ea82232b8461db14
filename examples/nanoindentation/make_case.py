"""Case files of the EAM Cu(001) nanoindentation at any size (lengths in Å, metal units).

Geometry (a = 3.61496 Å, the zero-stress lattice constant of the potential; sizes in cubic
cells): the block has ``block = (Nx, Ny, Nz)`` cells, bottom (z = 0) fixed, sides
traction-free (coupled) or free surfaces (atoms), top free; the atomistic patch has
``patch = (nx, ny, nz)`` cells centred under the tip and reaching the top. The patch's
atoms sit at ``region.lo + (i + ¼) a`` + the fcc basis (the coupled lattice inset), so the
patch region starts ¼ a below a lattice plane: the fully atomistic block (:func:`md_case`)
puts its atoms on exactly the same sites, and the continuum's top face is the patch
region's top, ¼ a above the top atomic layer. The sphere's apex starts on the top-layer
atom nearest the patch centre.

Potential: Zhou, Johnson & Wadley, PRB 69, 144113 (2004), Cu, re-tabulated to a 6 Å cutoff
(``Cu_zhou04_rc6.eam.alloy``, written by :func:`write_potential`; its functions are below
4e-7 eV there: C11, C12, C44 change by < 1e-5 against the 9.04 Å table of tests/data).

``python make_case.py coupled -o case.toml`` (the defaults: a 14 x 14 x 9 patch in a 140 x 140 x 90
block, 1 + 3 ranks, R = 8 Å, depths every 0.5 Å to 3 Å, then every 0.25 Å to 6 Å) and
``python make_case.py md --block 24 24 16 --depths none -o md_block.toml`` write the files (see --help).
"""
from __future__ import annotations

import argparse
import importlib.util
import os

A0 = 3.61496  # Å, zero-stress fcc constant of the Zhou Cu EAM
HERE = os.path.dirname(os.path.abspath(__file__))
POTENTIAL = "Cu_zhou04_rc6.eam.alloy"


def write_potential(path: str = os.path.join(HERE, POTENTIAL), cutoff: float = 6.0) -> None:
    """Tabulate the Zhou Cu EAM with *cutoff* (Å) by tests/data/make_cu_zhou_setfl.py."""
    spec = importlib.util.spec_from_file_location(
        "zhou", os.path.join(HERE, "..", "..", "tests", "data", "make_cu_zhou_setfl.py"))
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    m.CUTOFF = float(cutoff)
    m.NR = int(round(cutoff / 0.005)) + 1  # dr ≈ 0.005 Å as in the 9.04 Å table
    m.write(path)


def _f(v) -> str:
    return "[" + ", ".join(f"{x:.5f}" for x in v) + "]"


def geometry(patch, block):
    """(patch lo [3], patch hi [3], block hi [3], apex [3]) in Å for sizes in cells."""
    a = A0
    nx, ny, nz = patch
    Nx, Ny, Nz = block
    ox, oy = (Nx - nx) // 2, (Ny - ny) // 2
    top = (Nz - 0.25) * a
    lo = [ox * a, oy * a, top - nz * a]
    hi = [lo[0] + nx * a, lo[1] + ny * a, top]
    # top-layer sites (basis (½, 0, ½)): x = lo + (i + ¾) a, y = lo + (j + ¼) a, z = top − ¼ a
    i, j = nx // 2 - 1, ny // 2
    apex = [lo[0] + (i + 0.75) * a, lo[1] + (j + 0.25) * a, top - 0.25 * a]
    return lo, hi, [Nx * a, Ny * a, top], apex


def depth_schedule(coarse: float, fine: float, switch: float, final: float) -> list[float]:
    """Depths (Å) every *coarse* up to *switch*, then every *fine* up to *final* (both included):
    the elastic branch coarse, the pop-in resolved finely."""
    n1 = int(round(switch / coarse))
    n2 = int(round((final - switch) / fine))
    return [round(coarse * k, 6) for k in range(1, n1 + 1)] + [round(switch + fine * k, 6) for k in range(1, n2 + 1)]


def _loading(increment, depths) -> str:
    if depths:
        return f"depths = [{', '.join(f'{d:g}' for d in depths)}]   # Å, one per increment"
    return f"depth_increment = {increment}   # Å per increment"


def _indenter_and_run(apex, radius, stiffness, increment, steps, tolerance, out, atoms_every, extra_run="",
                      zero="contact", depths=None):
    if depths:
        steps = len(depths)
    return f"""
[indenter]
kind = "sphere"
radius = {radius}          # Å
stiffness = {stiffness}       # eV/Å³ (LAMMPS fix indent K)
position = {_f(apex)}   # apex on a top-layer site
zero = "{zero}"         # depth from first contact with the surface relaxed at depth 0
thickness = {apex[2]:.5f}   # Å from the apex to the fixed bottom: the Hertz curve on a bonded layer too
{_loading(increment, depths)}

[run]
mode = "statics"
dt = 0.002            # ps, FIRE's initial step
steps = {steps}             # increments
tolerance = {tolerance}      # eV/Å (FIRE max|f|) and Å (the coupled iteration's step: overlap data)
max_iterations = 200{extra_run}

[output]
directory = "{out}"
every = 1
atoms_every = {atoms_every}
"""


def default_width(statics: str) -> float:
    """The overlap (Å) each statics is measured best with (README, "Blended statics"): Schwarz
    5 Å; blended 1 Å, about one layer of partially weighted atoms (its overlap atoms follow the
    continuum: with the 12 x 12 x 7 patch P within 1.44 % of the 27,648-atom block, 2.61 % with
    2.5 Å)."""
    return 1.0 if statics == "blended" else 5.0


def coupled_case(patch=(12, 12, 8), block=(120, 120, 80), *, cells=(28, 28, 18), coarsening=16.0,
                 radius=10.0, stiffness=100.0, increment=0.25, steps=12, tolerance=1e-3, width=6.0,
                 ranks=(1, 1), out="runs/nanoindentation", atoms_every=1, fields_every=1,
                 potential=POTENTIAL, depths=None, statics="schwarz") -> str:
    """Atoms under the tip (Schwarz statics, or ``statics = "blended"``: the blended energy of
    both scales minimised, mscouple/coupling/blended_statics.py), graded P1 tets (finest over
    the patch) around."""
    lo, hi, bhi, apex = geometry(patch, block)
    how, name = (("one alternating-Schwarz solve", "Schwarz statics") if statics == "schwarz" else
                 ("the blended energy of both scales minimised", "blended statics"))
    return f"""# Sphere into EAM Cu(001): atoms under the tip ({patch[0]} x {patch[1]} x {patch[2]} cells), graded P1 tets
# around ({block[0]} x {block[1]} x {block[2]} cells of block; bottom fixed, sides traction-free), quasi-static at
# 0 K: {how} (FIRE for the atoms) per depth increment.
# Potential: Zhou, Johnson & Wadley, PRB 69, 144113 (2004), Cu (6 Å re-tabulation).
# FE constants: Cauchy-Born of the same potential (from_patch).  Written by make_case.py.
units = "metal"
title = "sphere into EAM Cu(001): atoms under the tip, graded P1 tets around ({name})"

[layout]
continuum = {ranks[0]}
patches = {{ tip = {ranks[1]} }}

[continuum]
dim = 3
physics = "elastostatics"
mesh = {{ kind = "graded", lo = [0.0, 0.0, 0.0], hi = {_f(bhi)}, cells = {list(cells)}, fine_lo = {_f(lo)}, fine_hi = {_f(hi)}, coarsening = {coarsening} }}
material = {{ model = "from_patch", patch = "tip" }}
boundary = [ {{ where = "zmin", kind = "displacement", value = [0.0, 0.0, 0.0] }} ]

[patches.tip]
region = {{ lo = {_f(lo)}, hi = {_f(hi)} }}
lattice = {{ kind = "fcc", constant = {A0} }}
potential = {{ kind = "eam", file = "{potential}", cutoff = 6.0 }}   # cutoff: sets the pad (cutoff + skin)
skin = 0.5

[handshake]
width = {width}          # Å, overlap of the two models
""" + ("" if statics == "schwarz" else f'statics = "{statics}"   # coupled statics (default "schwarz")\n') + _indenter_and_run(apex, radius, stiffness, increment, steps, tolerance, out, atoms_every,
                        depths=depths) + f"fields_every = {fields_every}\n"


def md_case(block=(24, 24, 16), *, radius=10.0, stiffness=100.0, increment=0.25, steps=12, tolerance=1e-3,
            ranks=1, out="runs/nanoindentation_md", atoms_every=1, potential=POTENTIAL, depths=None) -> str:
    """The fully atomistic block: the same sites as :func:`coupled_case` with ``patch = block``
    would have, bottom layer (z = 0) fixed, free sides and top."""
    a = A0
    Nx, Ny, Nz = block
    lo = [0.25 * a, 0.25 * a, 0.0]
    hi = [(Nx + 0.25) * a, (Ny + 0.25) * a, Nz * a]
    _, _, _, apex = geometry(block, block)
    return f"""# Sphere into EAM Cu(001), fully atomistic: {Nx} x {Ny} x {Nz} cubic cells ({4 * Nx * Ny * Nz} atoms), bottom layer
# fixed, free sides and top, quasi-static at 0 K (one FIRE relaxation per depth increment).
# The same lattice sites, indenter and increments as the coupled case of the same block
# (make_case.py). Potential: Zhou, Johnson & Wadley, PRB 69, 144113 (2004), Cu.
units = "metal"
title = "sphere into EAM Cu(001), fully atomistic (statics)"

[layout]
continuum = 0
patches = {{ block = {ranks} }}

[patches.block]
region = {{ lo = {_f(lo)}, hi = {_f(hi)} }}
lattice = {{ kind = "fcc", constant = {A0} }}
potential = {{ kind = "eam", file = "{potential}" }}
skin = 0.5
periodic = [0, 0, 0]
fixed = {{ lo = [-1.0, -1.0, -1.0], hi = [{hi[0] + 1:.3f}, {hi[1] + 1:.3f}, 0.5] }}
""" + _indenter_and_run(apex, radius, stiffness, increment, steps, tolerance, out, atoms_every, depths=depths)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("kind", choices=("coupled", "md", "potential"))
    # defaults: the example's case.toml (mpirun -n 4: 1 continuum + 3 patch ranks)
    ap.add_argument("--patch", type=int, nargs=3, default=(14, 14, 9))
    ap.add_argument("--block", type=int, nargs=3, default=None, help="block cells (default: 10x the patch)")
    ap.add_argument("--cells", type=int, nargs=3, default=(22, 22, 14), help="FE cells per axis (graded)")
    ap.add_argument("--coarsening", type=float, default=25.0, help="mesh spacing far away / over the patch")
    ap.add_argument("--width", type=float, default=None,
                    help="overlap of the two models (Å; default 5 with Schwarz, 1 with blended statics: "
                         "its overlap atoms follow the continuum, a narrow blend keeps more of the patch free)")
    ap.add_argument("--ranks", type=int, nargs=2, default=(1, 3), help="continuum ranks, patch ranks")
    ap.add_argument("--steps", type=int, default=12, help="increments (with --increment 0 ... see --depths)")
    ap.add_argument("--increment", type=float, default=0.25, help="constant depth increment (Å), with --depths none")
    ap.add_argument("--depths", type=str, nargs="+", default=["0.5", "0.25", "3", "4.75"],
                    metavar="COARSE FINE SWITCH FINAL",
                    help="depth schedule: every COARSE Å to SWITCH, then every FINE Å to FINAL; 'none': "
                         "--increment x --steps")
    ap.add_argument("--radius", type=float, default=8.0)
    ap.add_argument("--tolerance", type=float, default=1e-3, help="run.tolerance (FIRE max|f| eV/Å, Schwarz Å)")
    ap.add_argument("--statics", default="blended", choices=("schwarz", "blended"),
                    help="coupled statics: the blended energy minimised (the example's) or alternating Schwarz")
    ap.add_argument("--out", default=None, help="output directory written into the case")
    ap.add_argument("-o", "--output", default="-", help="case file to write (- : stdout)")
    args = ap.parse_args(argv)
    if args.kind == "potential":
        write_potential(args.output if args.output != "-" else os.path.join(HERE, POTENTIAL))
        return
    depths = None
    if args.depths and args.depths[0] != "none":
        if len(args.depths) != 4:
            ap.error(f"--depths: 4 numbers (COARSE FINE SWITCH FINAL) or 'none', got {args.depths}")
        depths = depth_schedule(*map(float, args.depths))
    common = dict(radius=args.radius, increment=args.increment, steps=args.steps, depths=depths,
                  tolerance=args.tolerance)
    if args.kind == "coupled":
        if args.width is None:
            args.width = default_width(args.statics)
        block = args.block or [10 * n for n in args.patch]
        text = coupled_case(args.patch, block, cells=args.cells, ranks=args.ranks, coarsening=args.coarsening,
                            width=args.width, out=args.out or "runs/nanoindentation", statics=args.statics,
                            **common)
    else:
        text = md_case(args.block or (24, 24, 16), ranks=args.ranks[1], out=args.out or "runs/nanoindentation_md",
                       **common)
    if args.output == "-":
        print(text, end="")
    else:
        with open(args.output, "w") as fh:
            fh.write(text)


if __name__ == "__main__":
    main()
