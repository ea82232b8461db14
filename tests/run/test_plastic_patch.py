"""The dislocation-density continuum around an atomistic patch from a case file, through
``mscouple run`` (examples/plastic_patch: the punched LJ plate of
tests/plasticity/test_coupled.py, 1 continuum + 1 patch rank).

Each case is run twice: as written (J2 + Taylor/Kocks–Mecking, K, μ, b from the patch's
Cauchy–Born constants) and with ``continuum.material = { model = "from_patch" }`` (the
linear-elastic Schwarz case of the same file). The punch force is read from the written
cell stresses: for the row of cells between y = 44 and 46 (P1, one stress per cell, every
node above it free except the punch's), Σ σ_yy A_c / h is exactly the punch's nodal
reaction (the virtual work of the hat function that is 1 above the row), so the check
uses only what the run wrote.
"""
from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from helpers.cases import example, run_case

CASE = example("plastic_patch")
ELASTIC = 'continuum.material={ model = "from_patch", patch = "core" }'
H = 2.0            # element size of plate.msh
CORE = 8.0 - 2.51 - 3.0  # patch half-width − pad (cutoff + skin) − overlap: the core's half-width


def _punch(D: float) -> str:
    return ('continuum.boundary=[{ where = "bottom", kind = "displacement", value = [0.0], components = [1] }, '
            f'{{ where = "punch", kind = "displacement", value = [0.0, {D}] }}]')


def _fields(run) -> tuple[dict, np.ndarray]:
    """Last frame's fields (stress as [n_cells, 2, 2], displacement [n_nodes, 2]) and the cell centres."""
    with h5py.File(run.out / "continuum.h5", "r") as h:
        last = str(len(h["fields/step"]) - 1)
        f = {k: h[f"fields/{k}/{last}"][:] for k in h["fields"] if k not in ("step", "time")}
        g, top = h["mesh/geometry"][:], h["mesh/topology"][:]
    f["stress"] = f["stress"].reshape(len(top), -1)[:, [0, 1, 3, 4]].reshape(-1, 2, 2)
    f["displacement"] = f["displacement"][:, :2]
    return f, g[top].mean(axis=1)[:, :2]


def _punch_force(f: dict, c: np.ndarray) -> float:
    row = (c[:, 1] > 44.0) & (c[:, 1] < 46.0)
    return float(f["stress"][row, 1, 1].sum() * (0.5 * H * H) / H)  # the punch pulls (u_y = +D)


def _atom_strain_yy(run) -> float:
    """ε_yy of the atoms: least-squares displacement gradient, last frame against the first."""
    lines = (run.out / "atoms_core.xyz").read_text().splitlines()
    frames, i = [], 0
    while i < len(lines):
        n = int(lines[i])
        frames.append(np.array([[float(v) for v in ln.split()[1:3]] + [int(ln.split()[-2])]
                                for ln in lines[i + 2: i + 2 + n]]))
        i += n + 2
    x0, x1 = (fr[np.argsort(fr[:, 2])][:, :2] for fr in (frames[0], frames[-1]))
    A = np.c_[np.ones(len(x0)), x0]
    coef, *_ = np.linalg.lstsq(A, x1 - x0, rcond=None)
    return float(coef[2, 1])


def _pair(tmp_path: Path, D: float, *plastic_sets: str):
    el = run_case(CASE, tmp_path / "elastic", _punch(D), ELASTIC)
    pl = run_case(CASE, tmp_path / "plastic", _punch(D), *plastic_sets)
    for r in (el, pl):
        s = r.summary
        assert s["schwarz_converged"] is True and s["residual_atoms"] < 1e-8 and s["residual_nodes"] < 1e-8
    return el, pl


@pytest.mark.parametrize("gnd", ["false", "true"], ids=["ssd", "ssd+gnd"])
def test_below_yield_equals_the_elastic_schwarz_case(tmp_path, gnd):
    """D = 0.02 (one increment), without and with the GND term (monolithic in u and the nodal
    ε̄ᵖ): no point reaches σ_y0, so the plastic Newton is linear
    elastic with the Cauchy–Born moduli and follows the elastic Schwarz iteration step for
    step (both 15 iterations): nodes, atoms and cell stresses equal to far below the Schwarz
    tolerance 1e-9 (measured 9e-14 in u and the atoms, 3e-12 in σ), the stored energy
    equals ½ uᵀKu (measured 4e-16 relative) and the punch force is the same."""
    el, pl = _pair(tmp_path, 0.02, "continuum.material.load_steps=1", f"continuum.material.gnd={gnd}")
    fe, c = _fields(el)
    fp, _ = _fields(pl)
    assert fp["ep_bar_cell"].max() == 0.0 and fp["ep_bar"].max() == 0.0
    assert pl.summary["load_increments"] == 1
    assert np.abs(fp["displacement"] - fe["displacement"]).max() < 1e-9
    assert np.abs(pl.last_atoms("core")[:, :3] - el.last_atoms("core")[:, :3]).max() < 1e-9
    assert np.abs(fp["stress"] - fe["stress"]).max() < 1e-9
    assert pl.summary["E_strain_continuum"] == pytest.approx(el.summary["E_strain_continuum"], rel=1e-10)
    assert pl.summary["E_pot_core"] == pytest.approx(el.summary["E_pot_core"], rel=1e-12)
    assert _punch_force(fp, c) == pytest.approx(_punch_force(fe, c), rel=1e-9)


def test_above_yield_flow_is_confined_and_the_punch_force_drops(tmp_path):
    """D = 0.3 in 4 increments (one converged Schwarz solve each). Yield, σ_y0 = M α μ b √ρ0 =
    0.2345 (σ units), is exceeded almost everywhere in the elastic answer (878 of 1,024
    cells), but the plastic run flows only under the punch: ε̄ᵖ up to ~2 % (measured 1.97 %),
    only in cells at y > 20 (lowest plastic centroid 24.7), each such cell on its yield
    surface (σ_eq = σ_f(ρ_S) to 1e-12; measured 2e-15) and inside the elastic answer's
    over-yield zone (measured min elastic σ_eq/σ_y0 there 1.045); every other cell outside
    the core (whose cells the atoms stand for) below its flow stress. The punch force drops
    to ~0.76 of the elastic one (measured 0.7587; the API test measured ~0.76), and the
    atoms far below feel it (Saint-Venant): their ε_yy ratio equals the force ratio within
    3 % (measured 0.7497 against 0.7587, −1.2 %: the LJ anharmonicity between the two
    strains, as in tests/plasticity/test_coupled.py)."""
    el, pl = _pair(tmp_path, 0.3)
    fe, c = _fields(el)
    fp, _ = _fields(pl)
    assert pl.summary["load_increments"] == 4
    ep, seq, sf = fp["ep_bar_cell"], fp["sigma_eq"], fp["sigma_flow"]
    sy0 = float(sf[ep == 0].min())
    plastic = ep > 0
    core = np.all(np.abs(c) < CORE, axis=1)
    assert 5e-3 < ep.max() < 0.05
    assert plastic.sum() > 10 and c[plastic, 1].min() > 20.0
    assert np.abs(seq[plastic] / sf[plastic] - 1).max() < 1e-12
    assert np.all(seq[~plastic & ~core] <= sf[~plastic & ~core] * (1 + 1e-12))
    s = fe["stress"]  # the elastic answer's von Mises stress (plane strain, ν = 1/4 for λ = μ)
    S = np.zeros((len(s), 3, 3))
    S[:, :2, :2] = s
    S[:, 2, 2] = 0.25 * (s[:, 0, 0] + s[:, 1, 1])
    dev = S - np.trace(S, axis1=1, axis2=2)[:, None, None] / 3 * np.eye(3)
    vm = np.sqrt(1.5 * np.einsum("nij,nij->n", dev, dev))
    assert np.all(vm[plastic] > sy0)
    ratio = _punch_force(fp, c) / _punch_force(fe, c)
    assert _punch_force(fe, c) > 0 and 0.5 < ratio < 0.9, ratio
    strain_ratio = _atom_strain_yy(pl) / _atom_strain_yy(el)
    assert abs(strain_ratio / ratio - 1) < 0.03, (strain_ratio, ratio)
    # the stored energy is below the elastic one (part of the work went into plastic flow)
    assert 0 < pl.summary["E_strain_continuum"] < el.summary["E_strain_continuum"]


@pytest.mark.parametrize("item, key", [
    ("run.mode=dynamics", "run.mode"),
    ("layout.continuum=2", "layout.continuum"),
    ('continuum.material.patch="nope"', "continuum.material.patch"),
])
def test_check_refuses_what_the_coupled_plastic_run_does_not_do(item, key):
    """``mscouple check`` refuses in one line (exit 2) what is not supported around a patch."""
    import os
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "mscouple.cli.main", "check", CASE, "--set", item],
                       capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=120)
    assert r.returncode == 2, r.stdout + r.stderr
    err = [ln for ln in (r.stdout + r.stderr).splitlines() if ln.startswith(("error", "Error"))]
    assert len(err) == 1 and key in err[0], r.stdout + r.stderr


def test_gnd_above_yield_loads_to_the_end_with_a_recovery_length(tmp_path):
    """``gnd = true`` with the case's recovery length ``gnd_length = 6`` (3 h;
    mscouple/plasticity/solver.py): D = 0.3 in 4 increments, each a converged Schwarz solve
    (at most 7 Newton iterations per solve, measured). Every plastic cell is on its yield
    surface σ_eq = σ_f(ρ_S, ρ_G) (measured 7e-16), ρ_G exceeds ρ_S somewhere (GND dominate at
    this scale: measured max 3.9e-4 vs 2.2e-4 σ⁻²), flow stays under the punch (lowest plastic
    centroid measured 19.3), the GND-hardened punch force lies between the SSD-only one and
    the elastic one (measured ratio to elastic 0.932; SSD-only 0.7587, test above), and the
    atoms see it by Saint-Venant as in the SSD case (ε_yy ratio = force ratio within 3 %).
    Cross-check (not a test): the continuum alone, ℓ = 6, gives the punch force 8.22371
    against 8.22354 coupled (2e-5)."""
    el, pl = _pair(tmp_path, 0.3, "continuum.material.gnd=true")
    fe, c = _fields(el)
    fp, _ = _fields(pl)
    assert pl.summary["load_increments"] == 4
    ep, seq, sf = fp["ep_bar_cell"], fp["sigma_eq"], fp["sigma_flow"]
    plastic = ep > 0
    assert plastic.sum() > 10 and 5e-3 < ep.max() < 0.05
    assert np.abs(seq[plastic] / sf[plastic] - 1).max() < 1e-12
    assert fp["rho_G"].max() > fp["rho_S"].max()
    assert c[plastic, 1].min() > 15.0
    ratio = _punch_force(fp, c) / _punch_force(fe, c)
    assert 0.8 < ratio < 1.0, ratio
    strain_ratio = _atom_strain_yy(pl) / _atom_strain_yy(el)
    assert abs(strain_ratio / ratio - 1) < 0.03, (strain_ratio, ratio)


def test_gnd_without_recovery_length_stops_with_the_continuum_newton_named(tmp_path):
    """With the GND term and ``gnd_length = 0`` (the lumped projection) this punch cannot be
    loaded to D = 0.3: the monolithic Newton cycles (points at the edge of the plastic zone
    switching between elastic and plastic, mscouple/plasticity/solver.py) and stalls at load
    factor 0.5 (4 or 12 increments), as the continuum alone does without any patch
    (PlasticityProblem.solve with cut-backs stops at t = 0.628; tests/plasticity/test_gnd_length.py).
    The run stops (exit 1) with the continuum's own message, not the generic Schwarz one."""
    import sys

    from helpers.mpi_launch import mpirun

    out = tmp_path / "run"
    argv = [sys.executable, "-m", "mscouple.cli.main", "run", CASE, "--output", str(out),
            "--set", "continuum.material.gnd=true", "--set", "continuum.material.gnd_length=0"]
    r = mpirun([(2, argv)], timeout=240)
    text = r.stdout + r.stderr
    assert r.returncode != 0
    assert "plastic continuum: Newton did not converge at load factor 0.5" in text, text[-2000:]
    assert not (out / "summary.json").exists() or '"status": "ok"' not in (out / "summary.json").read_text()
