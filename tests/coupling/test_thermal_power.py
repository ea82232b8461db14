"""Power bookkeeping of the power-matched thermostat, step by step and over a run."""
import numpy as np
import pytest

from .test_thermal import _setup


def test_power_leaving_continuum_equals_thermostat_power_every_step():
    heat, patch, cp = _setup(0.5)
    dt = 0.05
    residuals, exchanged = [], 0.0
    for _ in range(200):
        cp.couple(dt)
        # at the λ-solve: Σ_α N_Iα f_α·v_α with f = −λ(X) m v equals the nodal power P_I
        residuals.append(cp.last_power_residual)
        np.testing.assert_allclose(cp.last_injected_power, cp.last_power, rtol=1e-12,
                                   atol=1e-12 * np.abs(cp.last_power).max())
        exchanged += dt * cp.last_power.sum()
        patch.shuffle()
    led = cp.energies()
    assert max(residuals) <= 1e-12
    assert np.abs(cp.last_power).max() > 0  # heat does flow
    # over the run: energy the continuum recorded as leaving = energy the atoms received
    scale = abs(led.thermostat_requested)
    assert exchanged == pytest.approx(led.thermostat_requested, rel=1e-12)
    assert abs(cp.power_integral - led.thermostat_requested) <= 1e-12 * scale
    assert abs(led.thermostat_work - led.thermostat_requested) <= 1e-12 * scale
    print(f"exchanged {scale:.6g}; work - requested = {led.thermostat_work - led.thermostat_requested:.3g}; "
          f"max residual {max(residuals):.2g}")
