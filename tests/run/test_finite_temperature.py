"""Finite temperature in 2D through `mscouple run` (examples/finite_t_2d).

A triangular LJ patch at T = 0.05 inside an elastic plate, bridging domain with node
multipliers and a damping band that is a bath at T. Atoms and nodes start at their rest
positions with velocities at 2T, so equipartition brings both scales to T; the coupled
system is then stationary: the band neither heats nor cools the patch.

Numbers (seed 7, 20,000 steps, samples every 100 steps after 2,000): T_core = 0.0490 and
0.0488 in the two halves, sample std 0.0066 (≈ 36 independent samples per half: standard
error ≈ 2.2 %), hence the 8 % bounds (> 3σ); continuum kinetic/strain energy 20.57/20.14 and
20.49/20.23 (equipartition of the harmonic mesh modes; sample std 4 %, bound 5 %).
"""
from __future__ import annotations

import csv
import json
import os
import sys

import numpy as np

from helpers.mpi_launch import ROOT, mpirun

T0 = 0.05


def test_2d_patch_holds_its_temperature_and_plane(tmp_path):
    case = os.path.join(ROOT, "examples", "finite_t_2d", "case.toml")
    r = mpirun([(2, [sys.executable, "-m", "mscouple.cli.main", "run", case, "--output", str(tmp_path)])],
               timeout=600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    rows = list(csv.DictReader(open(tmp_path / "run.csv")))
    step = np.array([int(x["step"]) for x in rows])

    def col(c):
        return np.array([float(x[c]) for x in rows])

    first, second = (step >= 2000) & (step < 11000), step >= 11000
    t_core = col("T_core_patch")
    for win in (first, second):
        assert abs(t_core[win].mean() / T0 - 1) < 0.08, t_core[win].mean()
    assert abs(t_core[first].mean() - t_core[second].mean()) < 0.08 * T0
    ke, pe = col("E_kin_continuum"), col("E_strain_continuum")
    for win in (first, second):
        assert abs(ke[win].mean() / pe[win].mean() - 1) < 0.05
    s = json.loads((tmp_path / "summary.json").read_text())
    assert abs(s["energy_drift_max"]) < 2e-3  # the bath's work is booked (E_damped)
    # the lattice stays in its plane: z of every atom in every frame is exactly the same
    # (the extxyz cell starts at the box's lower corner, so the plane is written at -box_lo_z)
    from ase.io import read

    frames = read(tmp_path / "atoms_patch.xyz", ":")
    assert len(frames) == 5
    z0 = float(frames[0].positions[0, 2])
    assert max(float(np.abs(a.positions[:, 2] - z0).max()) for a in frames) == 0.0


def test_band_atoms_migrate_between_patch_ranks(tmp_path):
    """The same example hotter (T = 0.25) with the patch on 2 ranks: band atoms cross the
    sub-domain face and keep their exchange rows (2 atoms were away from home at once in
    4,000 steps). The run matches the 1-rank patch: E_total to 3e-11 and T_core to 1.4e-8
    relative after 4,000 steps — round-off of the different force summation order, grown by
    the chaotic dynamics (the bounds leave 30× margin)."""
    text = open(os.path.join(ROOT, "examples", "finite_t_2d", "case.toml")).read()
    text = text.replace("temperature = 0.05", "temperature = 0.25").replace("steps = 20000", "steps = 4000")
    out = {}
    for n in (1, 2):
        case = tmp_path / f"case{n}.toml"
        case.write_text(text.replace("patches = { patch = 1 }", f"patches = {{ patch = {n} }}"))
        r = mpirun([(1 + n, [sys.executable, "-m", "mscouple.cli.main", "run", str(case), "--output",
                             str(tmp_path / f"out{n}")])], timeout=600)
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
        out[n] = json.loads((tmp_path / f"out{n}" / "summary.json").read_text())
    one, two = out[1], out[2]
    assert two["routed_atoms_max_patch"] > 0 and one["routed_atoms_max_patch"] == 0
    assert abs(two["energy_drift_max"]) < 2e-3
    assert abs(two["E_total"] / one["E_total"] - 1) < 1e-9
    assert abs(two["T_core_patch"] / one["T_core_patch"] - 1) < 5e-7
