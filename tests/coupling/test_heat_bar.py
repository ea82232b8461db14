"""Fast versions of examples/heat_bar and examples/heat_pulse (LJ bar on the real MD engine
between 1D heat bars; :mod:`mscouple.validation.heat_bar`)."""

import numpy as np
import pytest

import mscouple._kernels.pair  # noqa: F401  (mandatory: a broken build fails here)
from mscouple.validation import heat_bar as H


def test_heat_bar_hands_over_energy_exactly_and_heat_flows_downhill():
    r = H.steady_conductivity(8.0, cells=(8, 2, 2), L_cont=6.0, T_hot=0.45, T_cold=0.15, t_equil=15.0,
                              t_avg=10.0, verbose=False)
    # energy the continuum gave = energy the thermostat put into the atoms, to round-off
    assert abs(r["thermostat_work"] - r["thermostat_requested"]) <= 1e-12 * r["balance_scale"]
    # continuum + atoms − reservoir heat is conserved up to the MD integrator's error
    assert abs(r["balance_drift"]) < 0.05 * r["balance_scale"]
    # heat runs from the hot to the cold reservoir through both bars
    assert r["q_cont_left"] > 0 and r["q_cont_right"] > 0
    assert r["T_nodes"][0] == pytest.approx(0.45) and r["T_nodes"][-1] == pytest.approx(0.15)
    assert np.all(np.isfinite(r["T_planes"]))


def test_heat_pulse_conserves_total_energy():
    r = H.heat_pulse(17.5, cells=(8, 2, 2), L_cont=12.0, amp=0.2, width=3.0, centre=-6.0, t_end=15.0, n_snap=2,
                     verbose=False)
    assert abs(r["thermostat_work"] - r["thermostat_requested"]) <= 1e-12 * abs(r["thermostat_requested"])
    assert abs(r["thermostat_work"]) > 0.05 * r["pulse_energy"]  # the pulse reached the atoms
    assert abs(r["balance_change"]) < 0.01 * r["pulse_energy"]
