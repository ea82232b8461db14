"""`mscouple validate`: the quick hierarchy passes, unavailable levels are reported as such,
a failing check gives exit code 1, and the PNG report is written."""
import os
import subprocess
import sys

import pytest

from mscouple.validation import levels
from mscouple.validation.checks import Check, LevelResult, format_table

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_check_verdicts():
    assert Check(1, "q", 1.0 + 1e-12, 1.0, 1e-10).passed is True
    assert Check(1, "q", 1.1, 1.0, 1e-10).passed is False
    assert Check(1, "q", 0.5, (0.0, 1.0), None, "between").passed is True
    assert Check(1, "q", 1.5, (0.0, 1.0), None, "between").passed is False
    assert Check(1, "q", 0.75, 1.0, 0.2, "range").passed is False
    assert Check(1, "q", float("nan"), 1.0, 0.2, "abs").passed is False
    assert Check(1, "q", 3.0, None, None, "info").passed is None
    r = LevelResult(4, "interface", available=False, reason="needs X")
    assert r.passed is None
    assert any("not available" in line for line in format_table([r]))


def test_quick_run_subprocess(tmp_path):
    png = tmp_path / "report.png"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    p = subprocess.run([sys.executable, "-m", "mscouple.cli.main", "validate", "--quick", "--report", str(png)],
                       cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)
    assert p.returncode == 0, p.stdout + p.stderr
    out = p.stdout
    assert "level  quantity" in out and " NO" not in out
    for lv in (1, 2, 3):
        assert any(line.startswith(f"{lv} ") and line.rstrip().endswith("yes") for line in out.splitlines())
    # levels without machinery are listed honestly, not counted as passed
    assert "interface: not available" in out or "\n4 " in out
    with open(png, "rb") as fh:
        assert fh.read(8) == b"\x89PNG\r\n\x1a\n"


def test_failing_check_gives_exit_code_1(monkeypatch, capsys):
    from mscouple.cli.main import main

    def bad(quick, comm):
        return LevelResult(2, "homogenization", [Check(2, "deliberately wrong", 2.0, 1.0, 1e-3)])

    monkeypatch.setitem(levels.SERIAL_LEVELS, 2, bad)
    assert main(["validate", "--quick", "--level", "2", "--no-report"]) == 1
    out = capsys.readouterr().out
    assert "deliberately wrong" in out and "1 failed" in out


@pytest.mark.mpi(min_size=2)
def test_level_6_rank_independence(comm):
    res = levels.run_level(6, True, comm)
    assert res.available and len(res.checks) >= 2
    assert all(c.passed for c in res.checks)
    # complete: the restart checks are there too (bit for bit on the same layout)
    assert not res.reason.startswith("partial"), res.reason
    assert any("restart" in c.quantity for c in res.checks)
