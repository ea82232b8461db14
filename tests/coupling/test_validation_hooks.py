"""`mscouple validate --quick --level 4 --level 5`: the coupling layer's checks are listed and pass."""
import os
import subprocess
import sys

import pytest

from mscouple.validation.coupling_checks import validation_checks, wave_reflection

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_validate_quick_levels_4_and_5_pass():
    env = dict(os.environ, OMP_NUM_THREADS="1")
    p = subprocess.run([sys.executable, "-m", "mscouple.cli.main", "validate", "--quick", "--level", "4",
                        "--level", "5", "--no-report"], cwd=ROOT, capture_output=True, text=True, timeout=120,
                       env=env)
    assert p.returncode == 0, p.stdout + p.stderr
    lines = p.stdout.splitlines()
    assert "not available" not in p.stdout
    for lv, n in ((4, 4), (5, 4)):
        rows = [ln for ln in lines if ln.startswith(f"{lv} ")]
        assert len(rows) == n, p.stdout
        assert all(ln.rstrip().endswith("yes") for ln in rows), p.stdout
    assert any("reflection" in ln for ln in lines) and any("heat pulse" in ln for ln in lines)
    assert any("dead-load" in ln for ln in lines)


def test_reflection_check_can_fail():
    # waves shorter than the coarse mesh can carry bounce back without the damping band
    assert wave_reflection(4, ratio=4, band_elements=8, multipliers="nodes") > 0.5


def test_other_levels_get_no_checks():
    assert validation_checks(6, True, None) == []
    assert validation_checks(3, True, None) == []


@pytest.mark.mpi(min_size=2)
def test_level_6_thermal_layout_check(comm):
    checks = validation_checks(6, True, comm)
    assert len(checks) == 1 and checks[0].passed
    assert checks[0].computed <= 1e-12
