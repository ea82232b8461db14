"""NNP from case files: ``potential = { kind = "nnp", file = … }`` relative to the case file,
masses from the model, one-line refusals, NVE through ``mscouple run`` and the Cauchy–Born
continuum built from the model."""
from __future__ import annotations

import json
import os
import shutil
import subprocess

import numpy as np
import pytest
import tomli_w
from helpers.mpi_launch import MSCOUPLE, ROOT, clean_env

from mscouple.atomistic.nnp import NNP
from mscouple.builders import make_potential, patch_constants, patch_lattice, site_species
from mscouple.cli.main import main
from mscouple.config import load_case
from mscouple.errors import ConfigError
from mscouple.mlip.properties import EV_A3_GPA

MODEL = os.path.join(ROOT, "examples", "nnp_cu", "cu_nnp.npz")


def cu_case(tmp_path, *, file="../potentials/cu_nnp.npz", dt=0.002, steps=60, cells=3, extra=None,
            continuum=False):
    """A Cu fcc case in tmp_path/case/ whose model lies in tmp_path/potentials/."""
    (tmp_path / "potentials").mkdir(exist_ok=True)
    if not (tmp_path / "potentials" / "cu_nnp.npz").exists():
        shutil.copy(MODEL, tmp_path / "potentials" / "cu_nnp.npz")
    (tmp_path / "case").mkdir(exist_ok=True)
    L = cells * 3.615
    table = {
        "units": "metal",
        "layout": {"continuum": 0, "patches": {"crystal": 1}},
        "patches": {"crystal": {
            "region": {"lo": [0.0, 0.0, 0.0], "hi": [L, L, L]},
            "lattice": {"kind": "fcc", "constant": 3.615},
            "potential": {"kind": "nnp", "file": file, **(extra or {})},
            "temperature": 100.0, "seed": 7, "skin": 1.0}},
        "run": {"dt": dt, "steps": steps},
        "output": {"directory": str(tmp_path / f"out_{dt}"), "every": 5},
    }
    path = tmp_path / "case" / "case.toml"
    path.write_bytes(tomli_w.dumps(table).encode())
    return str(path), str(tmp_path / f"out_{dt}")


def one_line_refusal(argv, capsys) -> str:
    rc = main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1, err
    return err[0]


def test_model_relative_to_the_case_and_masses_from_the_file(tmp_path):
    path, _ = cu_case(tmp_path)
    p = load_case(path).patch("crystal")
    assert p.potential.file == str(tmp_path / "potentials" / "cu_nnp.npz")
    pot = make_potential(p.potential)
    assert isinstance(pot, NNP) and pot.elements == ["Cu"]
    x, _box = patch_lattice(p, 3)
    types, masses = site_species(p, pot, x)
    assert len(x) == 108 and np.all(types == 0) and np.all(masses == 63.546)


def test_missing_corrupt_and_wrong_element_are_one_line(tmp_path, capsys):
    path, out = cu_case(tmp_path, file="../potentials/nope.npz")
    line = one_line_refusal(["check", path], capsys)
    assert "potential.file" in line and "nope.npz" in line and "NNP" in line
    (tmp_path / "potentials" / "bad.npz").write_text("not a model\n")
    path, out = cu_case(tmp_path, file="../potentials/bad.npz")
    line = one_line_refusal(["check", path], capsys)
    assert "bad.npz" in line and "not an NNP model file" in line
    assert one_line_refusal(["run", path], capsys) == line
    assert not os.path.exists(out)
    path, _ = cu_case(tmp_path, extra={"elements": ["Ni"]})
    line = one_line_refusal(["check", path], capsys)
    assert "'Ni' is not in this NNP model (it has Cu)" in line
    path, _ = cu_case(tmp_path)
    text = open(path).read().replace('units = "metal"', 'units = "lj"')
    open(path, "w").write(text)
    with pytest.raises(ConfigError, match="units.*'metal' for the NNP potential"):
        load_case(path)


def _energy_error(tmp_path, dt: float, steps: int) -> tuple[float, float]:
    path, out = cu_case(tmp_path, dt=dt, steps=steps)
    res = subprocess.run(MSCOUPLE + ["run", path], capture_output=True, text=True, env=clean_env(),
                         cwd=str(tmp_path), timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    d = np.genfromtxt(os.path.join(out, "run.csv"), delimiter=",", names=True)
    assert json.load(open(os.path.join(out, "summary.json")))["status"] == "ok"
    e = d["E_total"]
    return float(np.abs(e - e[0]).max()), float(d["E_kin_crystal"][0])


def test_nnp_nve_through_mscouple_run_is_second_order(tmp_path):
    """108 Cu atoms at 100 K for 0.12 ps with the shipped model: halving dt divides the
    largest |E(t) − E(0)| by about 4 (velocity Verlet on a smooth potential)."""
    err1, ke = _energy_error(tmp_path, 0.002, 60)
    err2, _ = _energy_error(tmp_path, 0.001, 120)
    assert err1 < 5e-3 * ke
    assert 3.3 < err1 / err2 < 4.7


def test_cauchy_born_continuum_from_the_model(tmp_path):
    """``material.model = "from_patch"`` with an NNP patch: constants from our engine's
    virial derivatives at the model's zero-pressure a0 (cubic symmetry, positive definite)."""
    path, _ = cu_case(tmp_path)
    cb = patch_constants(load_case(path).patch("crystal"))
    C = cb.C * EV_A3_GPA
    assert abs(cb.a0 - 3.615) < 0.01 * 3.615
    assert C[0, 0] == C[1, 1] == C[2, 2] and C[3, 3] == C[4, 4] == C[5, 5]
    assert np.linalg.eigvalsh(C).min() > 0
    assert cb.residual_stress * EV_A3_GPA < 1e-6  # GPa: a0 is the zero-pressure constant
