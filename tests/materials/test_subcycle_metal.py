"""``handshake.subcycle = 10`` in metal units (issue 12, item 5 of the remaining list).

The 1D bar + harmonic chain of ``test_units.py`` (argon's σ, ε, m, τ), with a mesh twice as
coarse as the chain (h = 2σ, so the slow step τ_s = 10 dt = 1.0 τ stays inside the mesh's
limit 2/ω_max = h/c = 2 τ) and a longer packet (λ = 32σ). The continuum takes impulse
r-RESPA steps of 10 MD steps; the ledger's ``E_subcycle_error`` is the shadow-Hamiltonian
offset of those steps (:mod:`mscouple.coupling.subcycle`),

    E_sub = −(τ_s² − dt²)/24 · (2 vᵀKv − fᵀM⁻¹f).

Bound: for a mesh mode of frequency ω and energy E, 2vᵀKv − fᵀM⁻¹f swings between −2ω²E
and 4ω²E, so |E_sub| ≤ (τ_s² − dt²) ω² E / 6. The packet's spectrum lies within
ω ≤ c (k + 3/width) (Gaussian envelope, 3 standard deviations), and the continuum never
holds more than the packet's energy: |E_sub| ≤ (τ_s² − dt²) c² (k + 3/w)² E_packet / 6
= 2.4 % of the packet's energy here. The metal-units run must give the same number as the
LJ one in ε (mvv2e enters E_sub once: a missing factor would be 1e4 off), and subtracting
E_sub must leave the ledger closed to the integrator's own O(dt²) level.
"""
from __future__ import annotations

import copy
import importlib.util
import math
import os

import numpy as np

# the argon case and its unit conversion, from the sibling test module (one definition)
_spec = importlib.util.spec_from_file_location("_units_case", os.path.join(os.path.dirname(__file__), "test_units.py"))
_units = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_units)
COUPLED, EPS, SIGMA = _units.COUPLED, _units.EPS, _units.SIGMA
run_mpi, series, to_metal = _units.run_mpi, _units.series, _units.to_metal

K = 10
CASE = copy.deepcopy(COUPLED)
CASE["continuum"]["mesh"]["cells"] = [150]  # h = 2
CASE["continuum"]["initial"].update(center=80.0, width=16.0, wavelength=32.0)
CASE["handshake"]["subcycle"] = K
CASE["run"]["steps"] = 800  # t = 80 τ: the packet has entered the chain
CASE["output"]["every"] = 20


def test_subcycle_10_in_metal_units(tmp_path):
    a = series(run_mpi(tmp_path, CASE, "lj"))
    b = series(run_mpi(tmp_path, to_metal(CASE, area=SIGMA ** 2), "metal"))
    packet = float(a["E_total"][0])  # the chain starts at rest: all of it is the packet
    assert np.all(a["subcycle"] == K) and np.all(b["subcycle"] == K)
    # the same physics in both unit systems, E_subcycle_error included (in ε)
    for col in ("E_subcycle_error", "E_total", "E_kin_chain", "W_constraint"):
        assert np.max(np.abs(b[col] / EPS - a[col])) < 1e-9 * packet, col
    # the bound of the module docstring (c = 1, dt = 0.1 in LJ units)
    ini = CASE["continuum"]["initial"]
    dt = CASE["run"]["dt"]
    omega = 2 * math.pi / ini["wavelength"] + 3.0 / ini["width"]
    bound = ((K * dt) ** 2 - dt ** 2) * omega ** 2 / 6.0
    err = np.abs(a["E_subcycle_error"]) / packet
    assert 0 < err.max() < bound, (err.max(), bound)
    # the packet has moved into the chain, through the subcycled band
    assert a["E_kin_chain"].max() > 0.2 * packet
    # what the subcycled run conserves: E_total − E_subcycle_error, up to the next order of
    # the outer step, (ωτ_s)⁴/24 = 9e-4, plus the MD step's own shadow offset (ω dt)²/4 =
    # 3.7e-4 (measured 6.6e-4; 4.0e-3 while the first continuum kick used a zero force)
    corrected = (a["E_total"] - a["E_subcycle_error"]) - (a["E_total"][0] - a["E_subcycle_error"][0])
    raw = a["E_total"] - a["E_total"][0]
    tau = K * dt
    assert np.max(np.abs(corrected)) < ((omega * tau) ** 4 / 24 + (omega * dt) ** 2 / 4) * packet
    print(f"max |E_sub|/E = {err.max():.3g} (bound {bound:.3g}); ledger drift {np.max(np.abs(raw)) / packet:.3g}, "
          f"with E_sub subtracted {np.max(np.abs(corrected)) / packet:.3g}")
