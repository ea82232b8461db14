"""EAM potentials from case files (issue 12, item 1): setfl and funcfl tables found
relative to the case file, species per lattice site, masses from the file, one-line
refusals of missing and corrupt files, and NVE energy conservation through `mscouple run`.

The potential is the analytic Cu EAM of Zhou, Johnson and Wadley (PRB 69, 144113 (2004)),
tabulated by tests/data/make_cu_zhou_setfl.py into tests/data/Cu_zhou04.eam.alloy.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess

import numpy as np
import pytest
import tomli_w
from helpers.mpi_launch import MSCOUPLE, ROOT, clean_env

from mscouple.atomistic.eam import EAM, HARTREE_BOHR
from mscouple.builders import make_potential, patch_lattice, site_species
from mscouple.cli.main import main
from mscouple.config import load_case
from mscouple.errors import ConfigError

CU = os.path.join(ROOT, "tests", "data", "Cu_zhou04.eam.alloy")


def cu_case(tmp_path, *, file="../potentials/Cu.eam.alloy", dt=0.002, steps=100, cells=4, extra=None):
    """A pure-MD Cu fcc case in tmp_path/case/ whose potential lies in tmp_path/potentials/."""
    (tmp_path / "potentials").mkdir(exist_ok=True)
    if not (tmp_path / "potentials" / "Cu.eam.alloy").exists():
        shutil.copy(CU, tmp_path / "potentials" / "Cu.eam.alloy")
    (tmp_path / "case").mkdir(exist_ok=True)
    L = cells * 3.615
    table = {
        "units": "metal",
        "layout": {"continuum": 0, "patches": {"crystal": 1}},
        "patches": {"crystal": {
            "region": {"lo": [0.0, 0.0, 0.0], "hi": [L, L, L]},
            "lattice": {"kind": "fcc", "constant": 3.615},
            "potential": {"kind": "eam", "file": file, **(extra or {})},
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


def test_file_relative_to_the_case_and_masses_from_the_file(tmp_path):
    path, _ = cu_case(tmp_path)
    case = load_case(path)
    p = case.patch("crystal")
    assert p.potential.file == str(tmp_path / "potentials" / "Cu.eam.alloy")
    pot = make_potential(p.potential)
    x, _box = patch_lattice(p, 3)
    types, masses = site_species(p, pot, x)
    assert len(x) == 4 * 4 ** 3 and np.all(types == 0)
    assert np.all(masses == 63.546)  # g/mol, the file's


def test_missing_and_corrupt_files_are_one_line(tmp_path, capsys):
    path, out = cu_case(tmp_path, file="../potentials/nope.eam.alloy")
    line = one_line_refusal(["check", path], capsys)
    assert "potential.file" in line and "nope.eam.alloy" in line and str(tmp_path / "potentials") in line
    # a truncated table: refused by check (and by run, before anything is written)
    lines = open(CU).read().splitlines()
    (tmp_path / "potentials" / "cut.eam.alloy").write_text("\n".join(lines[:40]) + "\n")
    path, out = cu_case(tmp_path, file="../potentials/cut.eam.alloy")
    line = one_line_refusal(["check", path], capsys)
    assert "cut.eam.alloy" in line and "not a valid setfl" in line
    assert one_line_refusal(["run", path], capsys) == line
    assert not os.path.exists(out)
    # an element the file does not have
    path, _ = cu_case(tmp_path, extra={"elements": ["Ni"]})
    line = one_line_refusal(["check", path], capsys)
    assert "'Ni' is not in this EAM file (it has Cu)" in line
    # EAM tables are in metal units
    path, _ = cu_case(tmp_path)
    text = open(path).read().replace('units = "metal"', 'units = "lj"')
    open(path, "w").write(text)
    with pytest.raises(ConfigError, match="units.*'metal' for the EAM potential"):
        load_case(path)


def test_alloy_species_per_basis_site(tmp_path):
    """L1_2 ordering from ``elements = ["Al", "Ni", "Ni", "Ni"]``: a quarter of the sites
    are Al, every Al has 12 Ni nearest neighbours, masses per species from the file."""
    cu = EAM.from_file(CU)
    F = np.stack([cu.F_values[0]] * 2)
    rho = np.stack([cu.rho_values[0]] * 2)
    z = np.stack([np.stack([cu.z_values[0, 0]] * 2)] * 2)
    EAM(["Ni", "Al"], F, cu.drho, rho, z, cu.dr, cu.cutoff, [58.69, 26.98]).write_setfl(
        str(tmp_path / "potentials.eam.alloy"))
    os.makedirs(tmp_path / "potentials", exist_ok=True)
    shutil.move(tmp_path / "potentials.eam.alloy", tmp_path / "potentials" / "Cu.eam.alloy")
    path, _ = cu_case(tmp_path, extra={"elements": ["Al", "Ni", "Ni", "Ni"]})
    p = load_case(path).patch("crystal")
    pot = make_potential(p.potential)
    x, box = patch_lattice(p, 3)
    types, masses = site_species(p, pot, x)
    al = types == 1
    assert al.sum() * 4 == len(x)
    assert np.all(masses[al] == 26.98) and np.all(masses[~al] == 58.69)
    L = np.asarray(box.hi) - np.asarray(box.lo)
    d = x[al][:, None, :] - x[None, :, :]
    d -= L * np.round(d / L)
    r = np.linalg.norm(d, axis=2)
    nn = (r > 0.1) & (r < 3.615 / np.sqrt(2) + 0.1)
    assert np.all(nn.sum(axis=1) == 12)
    assert not np.any(al[np.nonzero(nn)[1]])  # no Al-Al nearest neighbours
    with pytest.raises(ConfigError, match=r"expected 1 name or 4"):
        site_species(type(p)(**{**p.__dict__, "potential": type(p.potential)(
            **{**p.potential.__dict__, "elements": ("Al", "Ni")})}), pot, x)


def test_funcfl_by_extension(tmp_path):
    """A funcfl (``*.eam``) table: pair energy 27.2·0.529·Z(r)²/r (LAMMPS' convention)."""
    cu = EAM.from_file(CU)
    nr, dr = cu.rho_values.shape[1], cu.dr
    r = np.arange(nr) * dr
    Z = 0.5 * np.exp(-r) * (1 - r / cu.cutoff) ** 2
    rows = lambda a: "\n".join(" ".join(f"{v:.16e}" for v in a[k:k + 5]) for k in range(0, len(a), 5))  # noqa: E731
    text = (f"test funcfl\n29 63.546 3.615 fcc\n{len(cu.F_values[0])} {cu.drho!r} {nr} {dr!r} {cu.cutoff!r}\n"
            f"{rows(cu.F_values[0])}\n{rows(Z)}\n{rows(cu.rho_values[0])}\n")
    (tmp_path / "potentials").mkdir()
    (tmp_path / "potentials" / "Cu.eam").write_text(text)
    path, _ = cu_case(tmp_path, file="../potentials/Cu.eam", extra={"elements": ["Cu"]})
    pot = make_potential(load_case(path).patch("crystal").potential)
    assert pot.elements == ["Cu"] and pot.masses[0] == 63.546
    rs = np.array([2.0, 2.5, 3.3])
    k = np.rint(rs / dr).astype(int)
    assert np.allclose(pot.radial("phi", 0, 0, k * dr)[0], HARTREE_BOHR * Z[k] ** 2 / (k * dr), rtol=1e-12)


def _energy_error(tmp_path, dt: float, steps: int) -> tuple[float, float]:
    path, out = cu_case(tmp_path, dt=dt, steps=steps)
    res = subprocess.run(MSCOUPLE + ["run", path], capture_output=True, text=True, env=clean_env(),
                         cwd=str(tmp_path), timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    d = np.genfromtxt(os.path.join(out, "run.csv"), delimiter=",", names=True)
    assert json.load(open(os.path.join(out, "summary.json")))["status"] == "ok"
    e = d["E_total"]
    return float(np.abs(e - e[0]).max()), float(d["E_kin_crystal"][0])


def test_eam_nve_through_mscouple_run_conserves_energy(tmp_path):
    """256 Cu atoms at 100 K for 0.2 ps: velocity Verlet's energy error is second order,
    so halving dt divides the largest |E(t) − E(0)| by 4 (3.5–4.5 allowed), and at
    dt = 2 fs it stays below 2e-3 of the initial kinetic energy (measured 1.05e-3)."""
    err1, ke = _energy_error(tmp_path, 0.002, 100)
    err2, _ = _energy_error(tmp_path, 0.001, 200)
    assert err1 < 2e-3 * ke
    assert 3.5 < err1 / err2 < 4.5
