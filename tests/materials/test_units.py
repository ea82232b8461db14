"""Units end to end (issue 12, item 2): one physical argon case in LJ units and in metal
units gives the same dimensionless results.

Argon: σ = 3.405 Å, ε = 0.0103 eV, m = 39.948 g/mol; the LJ time unit is
τ = σ √(m mvv2e / ε) = 2.159 ps (mvv2e: amu Å²/ps² → eV, :mod:`mscouple.units`). Every
input is converted (lengths × σ, times × τ, energies × ε, moduli × ε/σ³, densities
× m/σ³, temperatures × ε/k_B) and every output is scaled back; the two runs take the same
floating-point path up to rounding, so they agree to 1e-10 (measured: pure MD 1e-13, a
coupled 1D bar + chain 1e-11; the pure continuum 9e-10, see its test). Before the continuum
used mvv2e, a metal-units packet moved 1/√mvv2e ≈ 98× too slowly.
"""
from __future__ import annotations

import copy
import math
import os
import subprocess

import h5py
import numpy as np
import pytest
import tomli_w
from helpers.mpi_launch import MSCOUPLE, clean_env, mpirun

from mscouple.units import METAL

SIGMA, EPS, MASS = 3.405, 0.0103, 39.948
TAU = SIGMA * math.sqrt(MASS * METAL.mvv2e / EPS)
KB = METAL.boltzmann

WAVE = {
    "units": "lj",
    "layout": {"continuum": 1},
    "continuum": {"dim": 1, "physics": "elastodynamics",
                  "mesh": {"kind": "box", "lo": [0.0], "hi": [200.0], "cells": [200]},
                  "material": {"youngs_modulus": 60.0, "density": 1.1},
                  "initial": {"kind": "wave_packet", "field": "displacement", "center": 60.0, "width": 8.0,
                              "amplitude": 0.01, "wavelength": 10.0, "direction": 1}},
    "run": {"dt": 0.05, "steps": 300},
    "output": {"every": 50, "fields_every": 100},
}

CRYSTAL = {
    "units": "lj",
    "layout": {"continuum": 0, "patches": {"argon": 1}},
    "patches": {"argon": {
        "region": {"lo": [0.0, 0.0, 0.0], "hi": [6.24, 6.24, 6.24]},
        "lattice": {"kind": "fcc", "constant": 1.56},
        "potential": {"kind": "lj", "epsilon": 1.0, "sigma": 1.0, "cutoff": 2.5, "mode": "smooth"},
        "mass": 1.0, "temperature": 0.3, "seed": 11, "skin": 0.3}},
    "run": {"dt": 0.004, "steps": 250},
    "output": {"every": 25},
}


def to_metal(table: dict, area: float = 1.0) -> dict:
    """The same physical case in metal units (argon's σ, ε, m, τ). *area*: the 1D bar's
    cross-section in σ² per Å² of the metal case (a coupled 1D bar has a cross-section of
    one length unit², 1 σ² in LJ units and 1 Å² in metal units: area = σ² keeps the bar's
    line density and stiffness equal to the chain's)."""
    t = copy.deepcopy(table)
    t["units"] = "metal"
    t["run"]["dt"] *= TAU
    c = t.get("continuum")
    if c:
        m = c["mesh"]
        m["lo"] = [v * SIGMA for v in m["lo"]]
        m["hi"] = [v * SIGMA for v in m["hi"]]
        c["material"]["youngs_modulus"] *= EPS / SIGMA ** 3 * area
        c["material"]["density"] *= MASS / SIGMA ** 3 * area
        for k in ("center", "width", "amplitude", "wavelength"):
            c["initial"][k] *= SIGMA
    for p in t.get("patches", {}).values():
        p["region"] = {k: [v * SIGMA for v in vals] for k, vals in p["region"].items()}
        p["lattice"]["constant"] *= SIGMA
        pot = p["potential"]
        if pot["kind"] == "harmonic":
            pot["stiffness"] *= EPS / SIGMA ** 2
            pot["r0"] *= SIGMA
        else:
            pot["epsilon"] *= EPS
            pot["sigma"] *= SIGMA
        pot["cutoff"] = pot.get("cutoff", 2.5) * SIGMA  # the default 2.5 is in the case's length unit
        p["mass"] *= MASS
        p["temperature"] = p.get("temperature", 0.0) * EPS / KB
        p["skin"] = p.get("skin", 0.3) * SIGMA
    if "handshake" in t:
        t["handshake"]["width"] *= SIGMA
    return t


def run(tmp_path, table: dict, name: str) -> str:
    table = copy.deepcopy(table)
    out = str(tmp_path / name)
    table["output"]["directory"] = out
    path = tmp_path / f"{name}.toml"
    path.write_bytes(tomli_w.dumps(table).encode())
    res = subprocess.run(MSCOUPLE + ["run", str(path)], capture_output=True, text=True, env=clean_env(),
                         cwd=str(tmp_path), timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    return out


def series(out: str) -> np.ndarray:
    return np.genfromtxt(os.path.join(out, "run.csv"), delimiter=",", names=True)


@pytest.fixture(scope="module")
def wave_runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("wave")
    return run(tmp, WAVE, "lj"), run(tmp, to_metal(WAVE), "metal")


def wave_mismatch(lj: str, metal: str) -> float:
    """Largest relative difference of the dimensionless energies and fields."""
    a, b = series(lj), series(metal)
    assert np.allclose(b["time"] / TAU, a["time"], rtol=1e-12, atol=0)
    worst = 0.0
    for col in ("E_kin_continuum", "E_strain_continuum", "E_total"):
        # a 1D bar's energies are per unit cross-section: ε/σ² in LJ units, eV/Å² in metal
        worst = max(worst, float(np.max(np.abs(b[col] / (EPS / SIGMA ** 2) / a[col] - 1))))
    with h5py.File(os.path.join(lj, "continuum.h5"), "r", locking=False) as f, \
            h5py.File(os.path.join(metal, "continuum.h5"), "r", locking=False) as g:
        steps = sorted(f["fields/displacement"].keys(), key=int)
        assert len(steps) == 4
        for s in steps:
            u, um = f[f"fields/displacement/{s}"][...], g[f"fields/displacement/{s}"][...]
            v, vm = f[f"fields/velocity/{s}"][...], g[f"fields/velocity/{s}"][...]
            worst = max(worst, np.max(np.abs(um / SIGMA - u)) / np.max(np.abs(u)),
                        np.max(np.abs(vm * TAU / SIGMA - v)) / np.max(np.abs(v)))
    return float(worst)


def test_continuum_wave_is_the_same_in_lj_and_metal_units(wave_runs):
    """Agreement to 5e-9: the initial velocity −c f′(x) is a finite difference of f at
    X ± 1e-6·width, which keeps f′ only to ulp(X)/ε ≈ 1.1e-13/2.7e-5 ≈ 4e-9 at the far end
    of the bar (measured 9e-10)."""
    assert wave_mismatch(*wave_runs) < 5e-9
    # in metal units the packet moves at the group velocity of the discrete scheme (lumped
    # P1, central differences): ω = (2/dt) asin((c dt/h) sin(kh/2)), c = √(E/(ρ mvv2e))
    # = 11.65 Å/ps, v_g = 11.15 Å/ps; over 300 steps (32.4 ps) its kinetic-energy centroid
    # moves 361 Å (measured 359.5 Å; 1/√mvv2e = 98× less before the continuum used mvv2e)
    c_w = WAVE["continuum"]
    E = c_w["material"]["youngs_modulus"] * EPS / SIGMA ** 3
    rho = c_w["material"]["density"] * MASS / SIGMA ** 3
    c = math.sqrt(E / (rho * METAL.mvv2e))
    dt, h, k = WAVE["run"]["dt"] * TAU, SIGMA, 2 * math.pi / (c_w["initial"]["wavelength"] * SIGMA)
    omega = lambda q: 2 / dt * math.asin(c * dt / h * math.sin(q * h / 2))  # noqa: E731
    vg = (omega(k * (1 + 1e-6)) - omega(k * (1 - 1e-6))) / (2e-6 * k)
    with h5py.File(os.path.join(wave_runs[1], "continuum.h5"), "r", locking=False) as f:
        steps = sorted(f["fields/displacement"].keys(), key=int)
        x = f["mesh/geometry"][:, 0]
        t = f["fields/time"][...]

        def centroid(s):
            v = f[f"fields/velocity/{s}"][...]
            return float(np.sum(x * v * v) / np.sum(v * v))

        moved = centroid(steps[-1]) - centroid(steps[0])
    assert c == pytest.approx(math.sqrt(60.0 / 1.1) * SIGMA / TAU, rel=1e-12)
    assert moved == pytest.approx(vg * (t[-1] - t[0]), rel=0.01)


def test_continuum_wave_agrees_to_1e_10(wave_runs):
    assert wave_mismatch(*wave_runs) < 1e-10


def test_md_argon_is_the_same_in_lj_and_metal_units(tmp_path):
    a = series(run(tmp_path, CRYSTAL, "lj"))
    b = series(run(tmp_path, to_metal(CRYSTAL), "metal"))
    for col in ("E_kin_argon", "E_pot_argon", "E_total"):
        assert np.allclose(b[col] / EPS, a[col], rtol=1e-10, atol=0), col
    assert np.allclose(b["T_argon"] * KB / EPS, a["T_argon"], rtol=1e-10, atol=0)


COUPLED = {
    "units": "lj",
    "layout": {"continuum": 1, "patches": {"chain": 1}},
    "continuum": {"dim": 1, "physics": "elastodynamics",
                  "mesh": {"kind": "box", "lo": [0.0], "hi": [300.0], "cells": [300]},
                  "material": {"youngs_modulus": 1.0, "density": 1.0},
                  "initial": {"kind": "wave_packet", "field": "displacement", "center": 100.0, "width": 10.0,
                              "amplitude": 0.01, "wavelength": 16.0, "direction": 1}},
    "patches": {"chain": {"region": {"lo": [130.0], "hi": [200.0]},
                          "lattice": {"kind": "chain", "constant": 1.0},
                          "potential": {"kind": "harmonic", "stiffness": 1.0, "r0": 1.0}, "mass": 1.0}},
    "handshake": {"width": 8.0, "multipliers": "atoms"},
    "run": {"dt": 0.1, "steps": 600},
    "output": {"every": 100},
}


def run_mpi(tmp_path, table: dict, name: str) -> str:
    table = copy.deepcopy(table)
    out = str(tmp_path / name)
    table["output"]["directory"] = out
    path = tmp_path / f"{name}.toml"
    path.write_bytes(tomli_w.dumps(table).encode())
    res = mpirun([(2, MSCOUPLE + ["run", str(path)])], timeout=300, cwd=str(tmp_path))
    assert res.returncode == 0, res.stdout + res.stderr
    return out


def test_coupled_1d_wave_is_the_same_in_lj_and_metal_units(tmp_path):
    """A packet moves from the bar into a harmonic chain through a bridging band (half of
    its energy is in the chain at the end): every ledger column (energies, constraint work)
    agrees in ε to 1e-10 of the packet's energy (measured 1e-11)."""
    a = series(run_mpi(tmp_path, COUPLED, "lj"))
    b = series(run_mpi(tmp_path, to_metal(COUPLED, area=SIGMA ** 2), "metal"))
    cols = [n for n in a.dtype.names if n.startswith("E_") or n.startswith("W_")]
    assert {"E_kin_chain", "E_pot_chain", "W_constraint"} <= set(cols)
    assert a["E_kin_chain"][-1] > 0.4 * a["E_total"][0]
    packet = np.max(np.abs(a["E_total"]))
    for col in cols:
        assert np.max(np.abs(b[col] / EPS - a[col])) < 1e-10 * packet, col
