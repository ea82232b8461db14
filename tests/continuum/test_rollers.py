"""Displacement conditions on some components (``continuum.boundary[i].components``):
rollers on the lateral faces of a 3D bar make a longitudinal packet a uniaxial-strain wave
(the bar of examples/cu_wave_3d). Checked through ``mscouple run`` on one rank:

* the lateral displacement stays below 2e-3 of u_x (a uniform-in-(y, z) field u_x(x) is
  uniaxial strain, σ_yy = C12 ε_xx carried by the rollers; measured 3.7e-4, where the
  rollers meet the free end), where free faces let the bar contract (27 % of u_x);
* the packet's energy centroid moves at the lumped-P1 group velocity of a 1D bar of
  modulus C11 (ω = (2/dt) asin((c dt/h) sin(kh/2)), c = √(C11/ρ)), to 1 % (measured
  0.8 % slower); with free faces it is much slower (a dispersive bar wave: 0.58 of it). The
  packet's initial velocity −c f′ uses this c (it used the largest wave speed of the
  material, √((C11 + 2 C12)/ρ), and split the packet: the rollers' run measured 0.95).
* the one-line refusals of bad ``components``.
"""
from __future__ import annotations

import math

import h5py
import numpy as np
import pytest
import tomli_w

from mscouple.cli.main import main

C11, C12, C44, RHO = 3.0, 1.5, 1.0, 1.0
L, W, NX, NYZ = 240.0, 8.0, 120, 2
LAMBDA, WIDTH, DT, STEPS = 40.0, 12.0, 0.2, 250
ROLLERS = [{"where": s, "kind": "displacement", "value": [0.0], "components": [k]}
           for s, k in (("ymin", 1), ("ymax", 1), ("zmin", 2), ("zmax", 2))]


def bar(tmp_path, name: str, boundary: list) -> tuple[str, str]:
    out = str(tmp_path / name)
    table = {
        "units": "lj",
        "layout": {"continuum": 1},
        "continuum": {"dim": 3, "physics": "elastodynamics",
                      "mesh": {"kind": "box", "lo": [0.0, 0.0, 0.0], "hi": [L, W, W], "cells": [NX, NYZ, NYZ]},
                      "material": {"model": "cubic", "c11": C11, "c12": C12, "c44": C44, "density": RHO},
                      "boundary": boundary,
                      "initial": {"kind": "wave_packet", "field": "displacement", "center": 60.0, "width": WIDTH,
                                  "amplitude": 0.01, "wavelength": LAMBDA, "direction": 1}},
        "run": {"dt": DT, "steps": STEPS},
        "output": {"directory": out, "every": 50, "fields_every": STEPS},
    }
    path = tmp_path / f"{name}.toml"
    path.write_bytes(tomli_w.dumps(table).encode())
    return str(path), out


def fields(out: str):
    with h5py.File(f"{out}/continuum.h5", "r", locking=False) as f:
        X = f["mesh/geometry"][...]
        steps = sorted(f["fields/displacement"].keys(), key=int)
        u = [f[f"fields/displacement/{s}"][...] for s in steps]
        v = [f[f"fields/velocity/{s}"][...] for s in steps]
        t = f["fields/time"][...]
    return X, u, v, t


def centroid_speed(out: str) -> float:
    X, _, v, t = fields(out)
    away = X[:, 0] > 2 * WIDTH  # away from the free end x = 0 (the packet starts at 5 widths)
    c = [float(np.sum(X[away, 0] * np.sum(w[away] ** 2, axis=1)) / np.sum(w[away] ** 2)) for w in v]
    return (c[-1] - c[0]) / (t[-1] - t[0])


def test_rollers_make_a_uniaxial_strain_wave(tmp_path):
    path, out = bar(tmp_path, "rollers", ROLLERS)
    assert main(["run", path]) == 0
    X, u, _, _ = fields(out)
    ux = max(float(np.abs(w[:, 0]).max()) for w in u)
    lateral = max(float(np.abs(w[:, 1:]).max()) for w in u)
    # a P1 artefact where the rollers meet the free end x = 0: measured 3.7e-4 of u_x
    assert ux > 1e-3 and lateral < 2e-3 * ux
    c, h, k = math.sqrt(C11 / RHO), L / NX, 2 * math.pi / LAMBDA
    omega = lambda q: 2 / DT * math.asin(c * DT / h * math.sin(q * h / 2))  # noqa: E731
    vg = (omega(k * (1 + 1e-6)) - omega(k * (1 - 1e-6))) / (2e-6 * k)
    print("SPEED", centroid_speed(out) / vg)
    assert centroid_speed(out) == pytest.approx(vg, rel=0.01)
    # free lateral faces: the bar contracts and the packet is slower
    path, free = bar(tmp_path, "free", [])
    assert main(["run", path]) == 0
    _, uf, _, _ = fields(free)
    print("FREE", max(float(np.abs(w[:, 1:]).max()) for w in uf) / ux, centroid_speed(free) / vg)
    assert max(float(np.abs(w[:, 1:]).max()) for w in uf) > 0.1 * ux
    assert centroid_speed(free) < 0.8 * vg


@pytest.mark.parametrize("change, expected", [
    ({"components": [3]}, "continuum.boundary[0].components = [3]: expected distinct components in 0..2"),
    ({"components": [1, 1], "value": [0.0, 0.0]}, "continuum.boundary[0].components = [1, 1]"),
    ({"components": [1, 2]}, "continuum.boundary[0].value = [0.0]: expected 2 value(s)"),
    ({"kind": "traction", "value": [0.0], "components": [1]}, "continuum.boundary[0].components = [1]: "
                                                                "expected no components for kind 'traction'"),
])
def test_bad_components_are_one_line(tmp_path, capsys, change, expected):
    path, out = bar(tmp_path, "bad", [{**ROLLERS[0], **change}])
    assert main(["check", path]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and expected in err[0], err
