"""`mscouple check` refuses every case `mscouple run` would refuse (issue 11, item 2).

Each row takes an example case, changes a few keys, and expects exit 2 with exactly one
stderr line naming the key and its value — from `check`, and from `run` before the split,
before PETSc and before the run folder exists. The commands run in-process through
``mscouple.cli.main.main`` (serial: one rank; `run` checks before it needs its layout);
two subprocess tests confirm the real command's exit code and single line.
"""
from __future__ import annotations

import copy
import os
import subprocess
import sys
import tomllib

import pytest
import tomli_w

from helpers.cases import all_examples
from helpers.mpi_launch import MSCOUPLE, ROOT, clean_env
from mscouple.check import check
from mscouple.cli.main import main
from mscouple.config import load_case
from mscouple.layout import RankPlan

EXAMPLES = os.path.join(ROOT, "examples")


def _set(table: dict, path: str, value) -> None:
    keys = path.split(".")
    for k in keys[:-1]:
        table = table.setdefault(k, {})
    table[keys[-1]] = value


def write_case(tmp_path, example: str, changes: dict) -> tuple[str, str]:
    """The example's case with *changes* ({"a.b.c": value}, None deletes) and its output
    folder under tmp_path; returns (case path, output folder)."""
    with open(os.path.join(EXAMPLES, example, "case.toml"), "rb") as fh:
        table = tomllib.load(fh)
    table = copy.deepcopy(table)
    out = str(tmp_path / "out")
    _set(table, "output.directory", out)
    for path, value in changes.items():
        if value is None:
            keys = path.split(".")
            t = table
            for k in keys[:-1]:
                t = t[k]
            t.pop(keys[-1])
        else:
            _set(table, path, value)
    path = tmp_path / "case.toml"
    path.write_bytes(tomli_w.dumps(table).encode())
    return str(path), out


# (id, example, changes, text that the one line must contain: the key and the value)
REFUSALS = [
    # -- former run-time refusals of the run layer (run/build.py, coupling/*.py) ----------
    ("statics_physics_mismatch", "statics_patch", {"run.mode": "dynamics"}, "run.mode = 'dynamics'"),
    ("thermal_flag_without_heat", "wave_transit", {"handshake.thermal": True}, "handshake.thermal = True"),
    ("heat_without_thermal_flag", "heat_bar", {"handshake.thermal": False}, "handshake.thermal = False"),
    ("schwarz_two_patches_indented", "nanoindentation",
     {"patches.tip2": {"region": {"lo": [5.0, 5.0, 5.0], "hi": [45.0, 45.0, 45.0]},
                       "lattice": {"kind": "fcc", "constant": 3.61496},
                       "potential": {"kind": "lj", "cutoff": 2.5, "mode": "smooth"}},
      "layout.patches.tip2": 1, "handshake.statics": "schwarz", "handshake.width": 5.0,
      "patches.tip.potential.file": os.path.join(EXAMPLES, "nanoindentation", "Cu_zhou04_rc6.eam.alloy")},
     "patches = ['tip', 'tip2']"),
    ("heat_with_damping", "heat_bar", {"handshake.damping": 0.5}, "handshake.damping = 0.5"),
    ("thermal_steps_not_multiple", "heat_bar", {"run.steps": 80005}, "run.steps = 80005"),
    ("thermal_chain_lattice", "heat_bar", {"patches.bar.lattice": {"kind": "chain", "constant": 1.0}},
     "patches.bar.lattice.kind = 'chain'"),
    ("thermal_periodic_everywhere", "heat_pulse_3d", {"patches.block.periodic": [1, 1, 1]},
     "patches.block.periodic = [1, 1, 1]"),
    ("thermomechanics_without_damping", "flagship", {"handshake.damping": 0.0, "handshake.damping_width": 0.0},
     "handshake.damping = 0"),
    ("highpass_at_temperature", "coarse_absorber", {"patches.chain.temperature": 0.1},
     "handshake.highpass_damping = 1"),
    ("atoms_beyond_band_edge", "two_patches", {"patches.left.region.hi": [40.2958, 20.0]},
     "patches.left.region = {lo = [24.0, 4.0], hi = [40.2958, 20.0]}"),
    ("q1_zero_dynamical_mass", "two_patches", {"continuum.mesh.simplex": False, "handshake.width": 3.0},
     "handshake.width = 3"),
    ("node_multipliers_singular", "wave_transit",
     {"continuum.mesh.cells": [3000], "handshake.multipliers": "nodes", "run.dt": 0.05},
     "handshake.multipliers = 'nodes'"),
    ("thermal_band_edge_off_nodes", "heat_bar", {"handshake.width": 4.0}, "handshake.width = 4"),
    ("thermal_reservoir_on_core", "heat_pulse_3d",
     {"patches.block.periodic": [0, 1, 1],
      "continuum.boundary": [{"where": "ymin", "kind": "temperature", "value": [0.3]}]},
     "continuum.boundary[0].where = 'ymin'"),
    ("gmsh_highpass_needs_cutoff", "coarse_absorber", {"continuum.mesh": {"kind": "gmsh", "file": "bar1200.msh"}},
     "handshake.highpass_cutoff = 0"),
    ("band_outside_gmsh_mesh", "coarse_absorber",
     {"continuum.mesh": {"kind": "gmsh", "file": "bar500.msh"}, "handshake.highpass_damping": 0.0},
     "patches.chain.region = {lo = [400.0], hi = [800.0]}"),
    ("schwarz_on_q1", "statics_patch", {"continuum.mesh.simplex": False}, "continuum.mesh.simplex = False"),
    ("cfl", "continuum_wave", {"run.dt": 1.0}, "run.dt = 1"),
    ("cfl_coupled", "wave_transit", {"run.dt": 0.95}, "run.dt = 0.95"),
    ("wave_packet_on_fcc", "md_lj",
     {"patches.crystal.initial": {"kind": "wave_packet", "center": 3.0, "amplitude": 0.01}},
     "patches.crystal.initial.kind = 'wave_packet'"),
    ("from_patch_needs_triangular", "two_patches",
     {"patches.left.lattice.kind": "sc", "patches.right.lattice.kind": "sc"},
     "continuum.material.model = 'from_patch'"),
    ("patch_ranks_too_many", "md_lj", {"layout.patches.crystal": 64}, "layout.patches.crystal = 64"),
    # -- keys accepted but not read by this case ------------------------------------------
    ("ghost_force_correction", "wave_transit", {"handshake.ghost_force_correction": True},
     "handshake.ghost_force_correction = True"),
    ("mechanical_boundary_on_heat", "heat_rod",
     {"continuum.boundary": [{"where": "xmin", "kind": "displacement", "value": [0.0, 0.0]}]},
     "continuum.boundary[0].kind = 'displacement'"),
    ("thermal_boundary_on_elastic", "continuum_wave",
     {"continuum.boundary": [{"where": "xmin", "kind": "temperature", "value": [1.0]}]},
     "continuum.boundary[0].kind = 'temperature'"),
    ("unknown_boundary_name", "heat_rod",
     {"continuum.boundary": [{"where": "inlet", "kind": "temperature", "value": [0.0]}]},
     "continuum.boundary[0].where = 'inlet'"),
    ("initial_field_not_in_physics", "continuum_wave", {"continuum.initial.field": "temperature"},
     "continuum.initial.field = 'temperature'"),
    # -- sanity checks --------------------------------------------------------------------
    ("memory_above_machine", "md_lj", {"patches.crystal.region.hi": [3000.0, 3000.0, 3000.0]},
     "patches.crystal.region = {lo = [0.0, 0.0, 0.0], hi = [3000.0, 3000.0, 3000.0]}"),
    ("cutoff_far_beyond_box", "md_lj", {"patches.crystal.potential.cutoff": 50.0},
     "patches.crystal.potential.cutoff = 50"),
    ("packet_outside_continuum", "continuum_wave", {"continuum.initial.center": 500.0},
     "continuum.initial.center = 500"),
    ("packet_outside_patch", "flagship", {"patches.chain.initial.center": 100.0},
     "patches.chain.initial.center = 100"),
    ("prestressed_harmonic_chain", "wave_transit", {"patches.chain.lattice.constant": 1.05},
     "patches.chain.lattice.constant = 1.05"),
    ("harmonic_fcc_second_neighbours", "md_lj",
     {"patches.crystal.potential": {"kind": "harmonic", "r0": 1.6796 / 2 ** 0.5}},
     "patches.crystal.potential.cutoff = 2.5"),
    ("harmonic_fcc_no_bonds", "md_lj",
     {"patches.crystal.potential": {"kind": "harmonic", "r0": 1.6796 / 2 ** 0.5, "cutoff": 1.1}},
     "patches.crystal.potential.cutoff = 1.1: expected a cutoff above the first-neighbour distance 1.18766 "),
]


def write_gmsh_bar(path, length: float, h: float = 4.0) -> None:
    """A 1D Gmsh mesh of [0, length] with elements of size h (linear lines)."""
    import meshio
    import numpy as np

    n = int(round(length / h))
    x = np.linspace(0.0, length, n + 1)
    cells = np.column_stack([np.arange(n), np.arange(1, n + 1)])
    tags = [np.ones(n, dtype=int)]
    mesh = meshio.Mesh(np.column_stack([x, 0 * x, 0 * x]), [("line", cells)],
                       cell_data={"gmsh:physical": tags, "gmsh:geometrical": tags})
    meshio.write(str(path), mesh, file_format="gmsh22", binary=False)


def _run_cli(argv, capsys):
    rc = main(argv)
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


@pytest.mark.parametrize("example, changes, expected", [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS])
def test_check_and_run_refuse(tmp_path, capsys, example, changes, expected):
    """check: exit 2, one line naming key and value; run: the same line, nothing written."""
    mesh = changes.get("continuum.mesh", {})
    if mesh.get("kind") == "gmsh":
        write_gmsh_bar(tmp_path / mesh["file"], float(mesh["file"][3:-4]))
    path, out = write_case(tmp_path, example, changes)
    rc, stdout, stderr = _run_cli(["check", path], capsys)
    lines = stderr.strip().splitlines()
    assert rc == 2, stdout + stderr
    assert len(lines) == 1, stderr
    assert lines[0].startswith(f"error: {path}: {expected}"), lines[0]
    assert not os.path.exists(out)
    rc, stdout, stderr = _run_cli(["run", path], capsys)
    assert rc == 2, stdout + stderr
    assert stderr.strip().splitlines() == lines
    assert not os.path.exists(out)


def test_refusal_messages_say_what_was_expected(tmp_path):
    """The one line gives the number the user needs: the CFL limit, the zero-stress
    constant, the largest first-neighbour cutoff, the memory estimate and the limit."""
    from mscouple.errors import ConfigError

    def message(example, changes):
        path, _ = write_case(tmp_path, example, changes)
        case = load_case(path)
        with pytest.raises(ConfigError) as exc:
            check(case, RankPlan.from_counts(case.layout.continuum, case.layout.patches))
        return str(exc.value)

    # 1D bar, E = rho = 1, h = 1: dt_max = 0.9 h / c = 0.9 (safety 0.9 of the element bound 2/omega)
    assert "stability limit 0.9 " in message("continuum_wave", {"run.dt": 1.0})
    # chain springs r0 = 1: the zero-stress lattice constant is r0 itself
    assert "zero-stress constant 1 " in message("wave_transit", {"patches.chain.lattice.constant": 1.05})
    # fcc, a = 1.6796: first neighbours at a/sqrt2 = 1.18767, second at a; midpoint 1.43363
    msg = message("md_lj", {"patches.crystal.potential": {"kind": "harmonic", "r0": 1.6796 / 2 ** 0.5}})
    assert "second-neighbour distance 1.6796 " in msg and "cutoff = 1.43363" in msg
    msg = message("md_lj", {"patches.crystal.region.hi": [3000.0, 3000.0, 3000.0]})
    assert "estimate" in msg and "TiB" in msg and "node(s) of" in msg


@pytest.mark.parametrize("case_file", [os.path.join(EXAMPLES, n, "case.toml") for n in all_examples()],
                         ids=lambda p: os.path.basename(os.path.dirname(p)))
def test_every_example_passes_check(case_file):
    """No example is refused; explicit dynamics report a CFL limit above their dt."""
    case = load_case(case_file)
    report = check(case, RankPlan.from_counts(case.layout.continuum, case.layout.patches))
    if case.continuum is not None and case.continuum.physics in ("elastodynamics", "thermomechanics"):
        (note,) = [n for n in report.notes if "CFL" in n]
        limit = float(note.split("dt <= ")[1].split()[0])
        assert case.run.dt < limit


@pytest.mark.parametrize("command", ["check", "run"])
def test_command_line_exit_code_and_one_line(tmp_path, command):
    """The installed command (fresh interpreter, one rank): exit 2, one stderr line, no folder."""
    path, out = write_case(tmp_path, "continuum_wave", {"run.dt": 1.0})
    r = subprocess.run(MSCOUPLE + [command, path], capture_output=True, text=True, env=clean_env(),
                       cwd=str(tmp_path), timeout=120)
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stderr.strip().splitlines() == [
        f"error: {path}: run.dt = 1: expected at most the explicit stability limit 0.9 of this mesh (CFL)"]
    assert not os.path.exists(out)


def test_check_does_not_import_petsc():
    """`run` checks on every rank before the split: the check must not initialise PETSc
    (patch ranks never import it). One case per coupler kind, in a fresh interpreter."""
    code = (
        "import sys\n"
        "from mscouple.check import check\nfrom mscouple.config import load_case\n"
        "from mscouple.layout import RankPlan\n"
        "for ex in ('flagship', 'statics_patch', 'heat_bar', 'two_patches', 'nanoindentation'):\n"
        "    c = load_case(f'examples/{ex}/case.toml')\n"
        "    check(c, RankPlan.from_counts(c.layout.continuum, c.layout.patches))\n"
        "    check(c, RankPlan.from_counts(2, c.layout.patches))  # reads petscconf.h for MUMPS\n"
        "print(int('petsc4py' in sys.modules))\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=clean_env(), cwd=ROOT,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "0"


def test_check_refuses_a_parallel_direct_solve_without_mumps(tmp_path, monkeypatch):
    """The nanoindentation case (its loading path's statics factor the continuum once) on two
    continuum ranks: refused by ``check`` — before any rank computes — when the PETSc found
    through PETSC_DIR has no MUMPS (a petscconf.h without PETSC_HAVE_MUMPS), naming
    layout.continuum; accepted with MUMPS, and on one continuum rank without it."""
    from mscouple.errors import ConfigError

    case = load_case(os.path.join(EXAMPLES, "nanoindentation", "case.toml"))
    two, one = (RankPlan.from_counts(n, case.layout.patches) for n in (2, 1))
    inc = tmp_path / "include"
    inc.mkdir()
    monkeypatch.setenv("PETSC_DIR", str(tmp_path))
    monkeypatch.setenv("PETSC_ARCH", "")
    (inc / "petscconf.h").write_text("#define PETSC_HAVE_SUPERLU_DIST 1\n")
    with pytest.raises(ConfigError) as e:
        check(case, two)
    assert "layout.continuum = 2" in str(e.value) and "MUMPS" in str(e.value)
    check(case, one)
    (inc / "petscconf.h").write_text("#define PETSC_HAVE_MUMPS 1\n")
    check(case, two)
