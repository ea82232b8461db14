"""`mscouple check` flags a lattice constant away from the potential's zero-stress constant
exactly once (issue 12): on the estimates row of the zero-stress constant, for pair
potentials and EAM alike, naming the constant the user should set (a0 from the
Cauchy–Born lattice sums of :mod:`mscouple.atomistic.elastic`).
"""
from __future__ import annotations

import os

import pytest
import tomli_w
from helpers.mpi_launch import ROOT

from mscouple.builders import patch_constants
from mscouple.cli.main import main
from mscouple.config import load_case

CU = os.path.join(ROOT, "tests", "data", "Cu_zhou04.eam.alloy")


def _case(tmp_path, potential: dict, a: float, units: str) -> str:
    n = 3
    table = {
        "units": units,
        "layout": {"continuum": 0, "patches": {"crystal": 1}},
        "patches": {"crystal": {"region": {"lo": [0.0, 0.0, 0.0], "hi": [n * a] * 3},
                                "lattice": {"kind": "fcc", "constant": a}, "potential": potential}},
        "run": {"dt": 0.001, "steps": 10},
        "output": {"directory": str(tmp_path / "out")},
    }
    path = tmp_path / "case.toml"
    path.write_bytes(tomli_w.dumps(table).encode())
    return str(path)


@pytest.mark.parametrize("potential, a, units", [
    ({"kind": "lj", "cutoff": 2.5, "mode": "cut"}, 1.60, "lj"),           # stretched by 3 %
    ({"kind": "morse", "depth": 1.0, "alpha": 3.0, "r0": 1.0, "cutoff": 2.0}, 1.50, "lj"),
    ({"kind": "eam", "file": CU}, 3.65, "metal"),                         # stretched by 1 %
], ids=["lj", "morse", "eam"])
def test_off_zero_stress_is_flagged_once(tmp_path, capsys, potential, a, units):
    path = _case(tmp_path, potential, a, units)
    a0 = patch_constants(load_case(path).patch("crystal")).a0
    assert abs(a - a0) > 1e-3 * a0  # the case is off zero stress by more than round-off
    assert main(["check", path]) == 0
    out = capsys.readouterr().out
    flagged = [line for line in out.splitlines() if "zero stress" in line or "zero-stress constant" in line]
    assert len(flagged) == 1, flagged
    assert f"{a0:.10g}" in flagged[0] and "stretched" in flagged[0]
    assert not os.path.exists(tmp_path / "out")


def test_at_zero_stress_nothing_is_flagged(tmp_path, capsys):
    path = _case(tmp_path, {"kind": "eam", "file": CU}, 3.615, "metal")
    a0 = patch_constants(load_case(path).patch("crystal")).a0
    path = _case(tmp_path, {"kind": "eam", "file": CU}, a0, "metal")
    assert main(["check", path]) == 0
    out = capsys.readouterr().out
    assert "zero stress" not in out and "WARNING: lattice.constant" not in out
