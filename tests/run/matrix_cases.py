"""Case tables for tests/run/test_matrix.py: every potential × every physics × dims 1–3.

Each case is an existing example's geometry (or a small variant) with the patch's
potential swapped; lengths are scaled with the lattice constant, so an EAM case is the
same geometry in Å (metal units) as the LJ one in σ. Tiny sizes and a few steps.
"""
from __future__ import annotations

import copy
import math
import os
import tomllib

from helpers.mpi_launch import ROOT

POTENTIALS = ("lj", "morse", "eam", "harmonic")
PHYSICS = ("md", "bridging", "schwarz", "heat")
DIMS = (1, 2, 3)
CU = os.path.join(ROOT, "tests", "data", "Cu_zhou04.eam.alloy")
A_CU = 3.614960129  # zero-stress fcc constant of the Zhou Cu table (atomistic/elastic.py)
#: zero-stress lattice constants of that table per lattice (builders.patch_constants)
A_LJ_CHAIN = 1.1196108663  # zero-stress LJ chain (cut at 2.5)
A_EAM = {"chain": 2.2627756364, "triangular": 2.4479299756, "fcc": A_CU}
#: Cauchy–Born C11 of the Schwarz templates' lattices as ``mscouple check`` prints them, EAM
#: (eV/Å^(dim−1)) over LJ (ε/σ^(dim−1)): chain 11.32 / 66.32, triangular 5.177 / 83.5. The EAM
#: Schwarz cells' tractions are scaled by it so the strain is the LJ case's (0.7 % in 2D):
#: unscaled, the 2D plate's 0.5 eV/Å pulled the Cu sheet to 13.6 % strain and FIRE threw
#: 176 atoms out of the box
C11_RATIO = {"chain": 11.32 / 66.32, "triangular": 5.177 / 83.5}
# first/second-neighbour distances per lattice constant
SHELLS = {"chain": (1.0, 2.0), "triangular": (1.0, math.sqrt(3.0)), "fcc": (1 / math.sqrt(2.0), 1.0)}


def _example(name: str) -> dict:
    with open(os.path.join(ROOT, "examples", name, "case.toml"), "rb") as fh:
        return tomllib.load(fh)


PLATE_HEAT_2D = {
    "units": "lj",
    "layout": {"continuum": 1, "patches": {"bar": 1}},
    "continuum": {"dim": 2, "physics": "heat",
                  "mesh": {"kind": "box", "lo": [-12.48, -12.48], "hi": [37.44, 24.96], "cells": [16, 12]},
                  "material": {"conductivity": 20.7, "density": 2.5641, "heat_capacity": 3.0},
                  "temperature": 0.3,
                  "boundary": [{"where": "xmin", "kind": "temperature", "value": [0.35]},
                               {"where": "xmax", "kind": "temperature", "value": [0.25]}]},
    "patches": {"bar": {"region": {"lo": [0.0, 0.0], "hi": [24.96, 12.48]},
                        "lattice": {"kind": "fcc", "constant": 1.56},
                        "potential": {"kind": "lj", "cutoff": 2.5, "mode": "shift"},
                        "temperature": 0.3, "seed": 7, "periodic": [0, 0, 1]}},
    "handshake": {"width": 3.12, "thermal": True, "thermal_every": 10, "filter_time": 1.0},
    "run": {"dt": 0.005, "steps": 20},
    "output": {"every": 10},
}

MD_1D = {"units": "lj", "layout": {"continuum": 0, "patches": {"p": 1}},
         "patches": {"p": {"region": {"lo": [0.0], "hi": [40.0]}, "lattice": {"kind": "chain", "constant": 1.1},
                           "potential": {"kind": "lj", "cutoff": 2.5, "mode": "smooth"},
                           "temperature": 0.1, "seed": 3}},
         "run": {"dt": 0.005, "steps": 20}, "output": {"every": 10}}
MD_2D = {"units": "lj", "layout": {"continuum": 0, "patches": {"p": 1}},
         "patches": {"p": {"region": {"lo": [0.0, 0.0], "hi": [11.2, 11.64]},
                           "lattice": {"kind": "triangular", "constant": 1.12},
                           "potential": {"kind": "lj", "cutoff": 2.5, "mode": "smooth"},
                           "temperature": 0.1, "seed": 3}},
         "run": {"dt": 0.005, "steps": 20}, "output": {"every": 10}}
STATICS_1D = {"units": "lj", "layout": {"continuum": 1, "patches": {"core": 1}},
              "continuum": {"dim": 1, "physics": "elastostatics",
                            "mesh": {"kind": "box", "lo": [0.0], "hi": [60.0], "cells": [60]},
                            "material": {"model": "from_patch", "patch": "core"},
                            "boundary": [{"where": "xmin", "kind": "displacement", "value": [0.0]},
                                         {"where": "xmax", "kind": "traction", "value": [0.05]}]},
              "patches": {"core": {"region": {"lo": [20.0], "hi": [40.0]},
                                   "lattice": {"kind": "chain", "constant": 1.0},
                                   "potential": {"kind": "lj", "cutoff": 2.5, "mode": "cut"}}},
              "handshake": {"width": 4.0},
              "run": {"mode": "statics", "dt": 0.005, "steps": 1, "tolerance": 1e-6, "max_iterations": 400},
              "output": {"every": 1}}


def template(physics: str, dim: int) -> dict:
    """The LJ case of one (physics, dim) cell, shortened to a few steps."""
    if physics == "md":
        t = {1: MD_1D, 2: MD_2D}.get(dim) or _example("md_lj")
    elif physics == "bridging":
        t = _example({1: "wave_transit", 2: "wave_2d", 3: "wave_3d"}[dim])
    elif physics == "schwarz":
        t = STATICS_1D if dim == 1 else _example("statics_patch")
        if dim == 3:
            t = copy.deepcopy(t)
            c = t["continuum"]
            c["dim"] = 3
            c["mesh"] = {"kind": "box", "lo": [0.0] * 3, "hi": [24.0] * 3, "cells": [8, 8, 8]}
            c["boundary"] = [{"where": "xmin", "kind": "displacement", "value": [0.0, 0.0, 0.0]},
                             {"where": "xmax", "kind": "traction", "value": [0.5, 0.0, 0.0]}]
            p = t["patches"]["core"]
            p["lattice"] = {"kind": "fcc", "constant": 1.549603424}
            p["region"] = {"lo": [6.0] * 3, "hi": [6.0 + 8 * 1.549603424] * 3}
            t["handshake"]["width"] = 3.1
    else:
        t = {1: _example("heat_bar"), 2: PLATE_HEAT_2D, 3: _example("heat_pulse_3d")}[dim]
    t = copy.deepcopy(t)
    t["run"]["steps"] = 1 if physics == "schwarz" else 20
    if physics == "schwarz":
        t["run"]["tolerance"] = 1e-4  # a few alternations: what is checked is that it converges
    t.setdefault("output", {})
    t["output"] = {"every": t["run"]["steps"] if physics == "schwarz" else 10}
    return t


def _scale(t: dict, s: float) -> None:
    """Lengths × s (the EAM cases: the LJ geometry in units of the lattice constant)."""
    c = t.get("continuum")
    if c:
        c["mesh"]["lo"] = [v * s for v in c["mesh"]["lo"]]
        c["mesh"]["hi"] = [v * s for v in c["mesh"]["hi"]]
        if c.get("initial"):
            for k in ("center", "width", "wavelength"):
                if k in c["initial"]:
                    c["initial"][k] *= s
            if c["initial"].get("field") == "displacement":
                c["initial"]["amplitude"] *= s
    for p in t["patches"].values():
        p["region"] = {k: [v * s for v in vals] for k, vals in p["region"].items()}
        p["lattice"]["constant"] *= s
    if "handshake" in t:
        t["handshake"]["width"] *= s


def case(potential: str, physics: str, dim: int) -> dict:
    """The case table of one cell of the matrix (output.directory set by the caller)."""
    t = template(physics, dim)
    for p in t["patches"].values():
        kind = p["lattice"]["kind"]
        a = p["lattice"]["constant"]
        d1, d2 = (f * a for f in SHELLS[kind])
        if potential == "lj":
            if p["potential"]["kind"] != "lj":
                p["potential"] = {"kind": "lj", "cutoff": 2.5, "mode": "cut"}
        elif potential == "morse":
            p["potential"] = {"kind": "morse", "depth": 1.0, "alpha": 4.0, "r0": d1, "cutoff": 0.5 * (d2 + 2 * d1)}
        elif potential == "harmonic":
            # nearest-neighbour springs end at the cutoff with energy k/2 (rc − r0)² (not
            # shifted): a bond crossing it jumps the energy by that. In the heat cells (T = 0.3)
            # they are stiffened to k/2 (rc − r0)² = 10 k_B T (k = 115; mscouple check warns
            # below that): with k = 20 (1.7 k_B T) bonds cross within 20 steps and the ledger
            # drifts by 1.8e-2 / 2.0e-2 of the exchanged energy (1D / 2D; ΔE = −1.02 in 1D,
            # two bonds' 0.52). The pure-MD 3D cell keeps k = 20 at T = 0.5 (1.0 k_B T: bonds
            # cross, but its drift scale, the thermal energy, hides them below 5e-3)
            rc = 0.5 * (d1 + d2)
            T = float(p.get("temperature", 0.0)) if physics == "heat" else 0.0
            k = max(20.0, 20.0 * T / (rc - d1) ** 2)
            p["potential"] = {"kind": "harmonic", "stiffness": k, "r0": d1, "cutoff": rc}
        elif potential == "eam":
            p["potential"] = {"kind": "eam", "file": CU}
            p.setdefault("mass", None)
            p.pop("mass")
    lat = next(iter(t["patches"].values()))["lattice"]
    if potential == "lj" and lat["kind"] == "chain":
        _scale(t, A_LJ_CHAIN / lat["constant"])  # the templates' chains are harmonic, at r0 = 1
    if potential == "eam":
        # metal units: the same geometry in units of the lattice constant, Cu's
        lat = next(iter(t["patches"].values()))["lattice"]
        _scale(t, A_EAM[lat["kind"]] / lat["constant"])
        t["units"] = "metal"
        t["run"]["dt"] = 0.002
        for p in t["patches"].values():
            if p.get("temperature"):
                p["temperature"] = 300.0
            # Schwarz pads the patch with atoms placed from the continuum: cutoff + skin deep
            p["skin"] = 9.5 if physics == "schwarz" else 1.0
        c = t.get("continuum")
        if physics == "schwarz" and lat["kind"] in C11_RATIO:
            for b in c["boundary"]:
                if b["kind"] == "traction":
                    b["value"] = [v * C11_RATIO[lat["kind"]] for v in b["value"]]
        if c and c.get("temperature"):
            c["temperature"] = 300.0
            for b in c.get("boundary", []):
                if b["kind"] == "temperature":
                    b["value"] = [b["value"][0] * 1000.0]
            if c.get("initial", {}).get("field") == "temperature":
                c["initial"]["amplitude"] *= 1000.0
        if c and c["physics"] == "heat":
            # Cu's Dulong–Petit heat capacity 3 k_B/m (eV/(amu K)), its density (amu/Å³), and
            # a conductivity giving the LJ case's diffusivity (2.7 length²/time)
            heat_capacity = 3 * 8.617333e-5 / 63.546
            density = 63.546 * 4 / A_CU ** 3
            c["material"] = {"conductivity": 2.69 * density * heat_capacity, "density": density,
                             "heat_capacity": heat_capacity}
        if c and c["material"].get("model") != "from_patch" and "youngs_modulus" in c["material"]:
            c["material"] = {"youngs_modulus": 1.0, "density": 60.0}
    return t
