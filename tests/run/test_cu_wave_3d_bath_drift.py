"""E_total with the bath on (examples/cu_wave_3d at dt = 1 fs: +2.8e-3 eV over 2 ps for seed
11, −2.5e-3 eV for seed 12) moves by velocity Verlet's shadow energy, not by the bath's
booking (examples/cu_wave_3d/bath_shadow.py; README "The rise of E_total with the bath on").
Here the part of it that is systematic: the shadow offset (h²/8) Σ|f|²/m grows with the heat
the bath feeds in. (The example's excursions are the other part, the bath's noise acting on
(h²/12) vᵀ∂²U v: a random walk, not asserted.)

A periodic 4³-cell block of the example's Cu EAM (256 atoms), the atoms with x < L/3 in the
engine's Langevin bath (DampingBand: exact OU step over dt after the second half kick, the
coupler's order), start at rest on the lattice sites, bath 300 K at 10/ps, 0.5 ps; the bath
feeds Q ≈ 12 eV of heat. Asserted:

* the booking: E_total = KE + PE + E_removed does not change across a bath step (round-off,
  < 1e-10 eV; measured 2e-14);
* E_total rises by (h²⟨ω²⟩/8) Q — the change of velocity Verlet's shadow offset
  (h²/8) Σ|f|²/m with the heat content — with ⟨ω²⟩ = tr(M⁻¹∂²U)/(3N) = 1,195 (rad/ps)² of the
  perfect lattice: ΔE_total / (Q h²) within 15 % of ⟨ω²⟩/8 at h = 2 fs and 4 fs (measured
  −7 % and +2 %; the heat is not yet equipartitioned over the modes, hence the tolerance).
  At 1 fs this is 1.5e-4 of the heat fed in, 4× less at 0.5 fs; it is also the example's
  start offset (0.11 / 0.028 / 0.007 eV at 2 / 1 / 0.5 fs, predicted 0.119 / 0.030 / 0.0074);
* E_mod = E_total − (h²/8) Σ|f|²/m is flat: |ΔE_mod| < 10 % of ΔE_total (measured 1 %);
* a BAOAB splitting (the bath between two half drifts) does not remove it: the rise becomes a
  fall of the same size (ΔE_total / (Q h²) < −0.8 ⟨ω²⟩/8 at 4 fs; measured −0.95).
"""
from __future__ import annotations

import os

import pytest
from helpers.cases import EXAMPLES, example_module

CASE = os.path.join(EXAMPLES, "cu_wave_3d", "case.toml")


@pytest.fixture(scope="module")
def bs():
    return example_module("cu_wave_3d", "bath_shadow.py")


def test_e_total_rise_is_verlets_shadow_offset_times_the_heat(bs):
    w2 = bs.mean_omega2(CASE, cells=4)
    assert abs(w2 / 1195.0 - 1) < 1e-3
    for dt in (0.002, 0.004):
        r = bs.run(CASE, dt, 0.5, cells=4)
        assert r["o_step_max"] < 1e-10
        assert r["Q"] > 5.0  # the bath warmed the block
        ratio = r["dE_total"] / (r["Q"] * dt * dt)
        print(f"dt {dt}: Q {r['Q']:.2f} eV, dE_total {r['dE_total']:.3e}, ratio {ratio:.1f} "
              f"(<w^2>/8 = {w2 / 8:.1f}), dE_mod {r['dE_mod']:.2e}")
        assert abs(ratio / (w2 / 8) - 1) < 0.15
        assert abs(r["dE_mod"]) < 0.10 * r["dE_total"]


def test_baoab_splitting_does_not_remove_it(bs):
    w2 = bs.mean_omega2(CASE, cells=4)
    dt = 0.004
    r = bs.run(CASE, dt, 0.5, cells=4, order="BAOAB")
    assert r["o_step_max"] < 1e-10
    ratio = r["dE_total"] / (r["Q"] * dt * dt)
    print(f"BAOAB dt {dt}: ratio {ratio:.1f}, dE_mod {r['dE_mod']:.2e}")
    assert ratio < -0.8 * w2 / 8
    assert abs(r["dE_mod"]) < 0.10 * abs(r["dE_total"])
