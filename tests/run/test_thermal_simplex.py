"""Thermal coupling (power-matched thermostat) on P1 simplices with a patch free in every
direction of the continuum: 3D (examples/heat_pulse_3d) and 2D (the same block idea in a
plate). Band-corner atoms whose simplex has no node on the core's boundary are not
thermostatted; for the rest the power identity holds to round-off and the ledger closes.

Numbers (4,000 steps, dt 0.005): 3D drift 1.8e-4 of the exchanged energy (pulse + atoms'
initial kinetic energy, 4449 ε), power residual 1.3e-15, thermostat work − requested 4e-13
(of 163 ε); 2D drift 1.0e-3 of 460 ε over 2,000 steps. The MD integrator's energy error at
this dt sets the drift; 5e-3 bounds it with margin, and "energy within 1 %" is the issue's bar.
"""
from __future__ import annotations

import json
import os
import sys

import pytest

from helpers.mpi_launch import ROOT, mpirun

PLATE_2D = """units = "lj"
[layout]
continuum = 1
patches = { bar = 1 }
[continuum]
dim = 2
physics = "heat"
mesh = { kind = "box", lo = [-12.48, -12.48], hi = [37.44, 24.96], cells = [16, 12] }
material = { conductivity = 20.7, density = 2.5641, heat_capacity = 3.0 }
temperature = 0.3
boundary = [
  { where = "xmin", kind = "temperature", value = [0.35] },
  { where = "xmax", kind = "temperature", value = [0.25] },
]
[patches.bar]
region = { lo = [0.0, 0.0], hi = [24.96, 12.48] }
lattice = { kind = "fcc", constant = 1.56 }
potential = { kind = "lj", epsilon = 1.0, sigma = 1.0, cutoff = 2.5, mode = "shift" }
temperature = 0.3
seed = 7
periodic = [0, 0, 1]
[handshake]
width = 3.12
thermal = true
thermal_every = 10
filter_time = 1.0
[run]
dt = 0.005
steps = 2000
[output]
directory = "runs/plate"
every = 200
"""


@pytest.mark.parametrize("which", ["3d", "2d", "3d-patch-on-2-ranks"])
def test_thermal_coupling_on_simplices(tmp_path, which):
    nranks = 2
    case = tmp_path / "case.toml"
    if which == "2d":
        case.write_text(PLATE_2D)
    else:
        text = open(os.path.join(ROOT, "examples", "heat_pulse_3d", "case.toml")).read()
        if which == "3d-patch-on-2-ranks":  # thermostatted atoms migrate between patch ranks
            text = text.replace("patches = { block = 1 }", "patches = { block = 2 }")
            nranks = 3
        case.write_text(text)
    r = mpirun([(nranks, [sys.executable, "-m", "mscouple.cli.main", "run", str(case), "--output",
                          str(tmp_path / "out")])], timeout=600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    s = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert s["thermal_power_residual_max"] < 1e-12
    assert abs(s["thermostat_work_minus_requested"]) < 1e-10 * abs(s["W_thermostat"])
    assert abs(s["energy_drift_max"]) < 5e-3
    # heat really crossed into the atoms through the interface
    assert s["W_thermostat"] > 1e-2 * s["energy_scale"]
    if which == "3d-patch-on-2-ranks":
        # some thermostatted atoms did migrate (3 at most in this run) and kept their rows
        assert s["routed_atoms_max_block"] > 0
