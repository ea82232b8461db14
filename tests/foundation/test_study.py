"""mscouple study: a base case expanded over parameter lists, run, collected (CSV + PNG)."""
from __future__ import annotations

import csv
import os
import subprocess
import sys

from helpers.mpi_launch import ROOT, clean_env

BASE = """
units = "lj"
[layout]
continuum = 1
[continuum]
dim = 1
physics = "heat"
mesh = { kind = "box", lo = [0.0], hi = [1.0], cells = [32] }
material = { conductivity = 1.0, density = 1.0, heat_capacity = 1.0 }
initial = { kind = "gaussian", field = "temperature", center = 0.5, width = 0.1, amplitude = 1.0 }
[run]
dt = 0.001
steps = 50
[output]
every = 10
"""


def test_study_six_cases_collects_csv_and_plot(tmp_path):
    (tmp_path / "base.toml").write_text(BASE)
    (tmp_path / "study.toml").write_text(
        'base = "base.toml"\noutput = "sweep"\ncollect = ["E_thermal_continuum", "energy_drift"]\n'
        'plot = { x = "continuum.material.conductivity", y = ["energy_drift"] }\n'
        "[parameters]\n"
        '"continuum.material.conductivity" = [0.5, 1.0, 2.0]\n'
        '"run.dt" = [0.001, 0.002]\n'
    )
    proc = subprocess.run([sys.executable, "-m", "mscouple.cli.main", "study", "study.toml"], cwd=tmp_path,
                          capture_output=True, text=True, env=clean_env(), timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with open(tmp_path / "sweep" / "study.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 6
    assert all(r["status"] == "ok" for r in rows)
    # physics in the table: with no-flux ends (natural BC) heat is conserved by the
    # Crank–Nicolson scheme, so the thermal energy equals its initial value ≈ A·w·sqrt(2π)
    import math

    for r in rows:
        assert abs(float(r["energy_drift"])) < 1e-10
        assert abs(float(r["E_thermal_continuum"]) - 0.1 * math.sqrt(2 * math.pi)) < 2e-3
    assert (tmp_path / "sweep" / "study.png").stat().st_size > 1000
    assert (tmp_path / "sweep" / "case_005" / "case.toml").exists()


def test_study_refuses_invalid_expanded_case(tmp_path):
    (tmp_path / "base.toml").write_text(BASE)
    (tmp_path / "study.toml").write_text('base = "base.toml"\n[parameters]\n"run.dt" = [0.001, -1.0]\n')
    proc = subprocess.run([sys.executable, "-m", "mscouple.cli.main", "study", "study.toml"], cwd=tmp_path,
                          capture_output=True, text=True, env=clean_env(), timeout=120)
    assert proc.returncode == 2
    assert "case 1" in proc.stderr and "run.dt = -1" in proc.stderr
    assert not (tmp_path / "study").exists()  # nothing written before validation passed


def test_slurm_array_script(tmp_path):
    (tmp_path / "base.toml").write_text(BASE)
    (tmp_path / "study.toml").write_text('base = "base.toml"\nranks = 2\n[parameters]\n"run.dt" = [0.001, 0.002, 0.003]\n')
    proc = subprocess.run([sys.executable, "-m", "mscouple.cli.main", "study", "study.toml", "--slurm"],
                          cwd=tmp_path, capture_output=True, text=True, env=clean_env(), timeout=120)
    assert proc.returncode == 0, proc.stderr
    text = (tmp_path / "study" / "study.sbatch").read_text()
    assert "#SBATCH --array=0-2" in text and "#SBATCH --ntasks=2" in text and "srun mscouple run" in text


def _study(tmp_path, base: str, params: str) -> None:
    (tmp_path / "base.toml").write_text(base)
    (tmp_path / "study.toml").write_text('base = "base.toml"\noutput = "sweep"\ncollect = ["energy_drift"]\n'
                                         "[parameters]\n" + params)


def _rows(tmp_path):
    with open(tmp_path / "sweep" / "study.csv") as fh:
        return list(csv.DictReader(fh))


def test_study_under_a_parent_mpi_environment(tmp_path):
    """The driver started by mpirun (-n 1) launches 2-rank cases with an inner mpirun: each
    launch gets a clean environment, so every case runs and conserves its heat."""
    import shutil

    _study(tmp_path, BASE.replace("continuum = 1", "continuum = 2"), '"run.dt" = [0.001, 0.002]\n')
    cmd = [shutil.which("mpirun"), "--oversubscribe", "-n", "1", sys.executable, "-m", "mscouple.cli.main",
           "study", "study.toml"]
    proc = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, env=clean_env(), timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = _rows(tmp_path)
    assert [r["status"] for r in rows] == ["ok", "ok"]
    assert all(abs(float(r["energy_drift"])) < 1e-10 for r in rows)


def test_study_refuses_an_unstable_case_before_launching_any(tmp_path):
    """An explicit elastodynamics case above the CFL limit is found by the pre-flight check of
    every case: exit 2, one line naming the case, nothing written."""
    wave = BASE.replace('physics = "heat"', 'physics = "elastodynamics"').replace(
        'material = { conductivity = 1.0, density = 1.0, heat_capacity = 1.0 }',
        'material = { youngs_modulus = 1.0, density = 1.0 }').replace(
        'initial = { kind = "gaussian", field = "temperature", center = 0.5, width = 0.1, amplitude = 1.0 }', "")
    _study(tmp_path, wave, '"run.dt" = [0.001, 0.5]\n')  # h = 1/32: the limit is ~0.03
    proc = subprocess.run([sys.executable, "-m", "mscouple.cli.main", "study", "study.toml"], cwd=tmp_path,
                          capture_output=True, text=True, env=clean_env(), timeout=120)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "case 1" in proc.stderr and "run.dt" in proc.stderr and "CFL" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "sweep").exists()


def test_study_never_reports_stale_rows(tmp_path):
    """A study re-run whose runs fail reports them as failed, not the previous run's "ok"."""
    _study(tmp_path, BASE, '"run.dt" = [0.001, 0.002]\n')
    run = [sys.executable, "-m", "mscouple.cli.main", "study", "study.toml"]
    first = subprocess.run(run, cwd=tmp_path, capture_output=True, text=True, env=clean_env(), timeout=600)
    assert first.returncode == 0 and [r["status"] for r in _rows(tmp_path)] == ["ok", "ok"]
    again = subprocess.run(run + ["--launcher", "false"], cwd=tmp_path, capture_output=True, text=True,
                           env=clean_env(), timeout=600)
    assert again.returncode == 1
    rows = _rows(tmp_path)
    assert [r["status"] for r in rows] == ["failed (exit 1)"] * 2
    assert all(r.get("energy_drift", "") == "" for r in rows)
