"""High-pass (time-filtered) damping of the bridging-domain band: the filter's response, the
exact constrained update with a moving reference, rigid motion left alone, T = 0 only.

Band: the ``examples/wave_1d`` band (P1 elements h = 2a over atoms a = 1, weight ramping over
8 elements, coarse-node multipliers).
"""

import numpy as np
import pytest

from mscouple.coupling.bdm import BridgingDomain
from mscouple.coupling.damping import ConstrainedDampingBand, HighPassFilter
from mscouple.coupling.exchange import InterfaceExchange
from mscouple.errors import ConfigError

from mscouple.validation import wave1d as W


def _band(multipliers="nodes"):
    g = W.geometry(10, ratio=2, band_elements=8, bar_elements=4, damping=0.5, highpass=1.0)
    atoms = g.band_atoms
    ex = InterfaceExchange.local(atoms, g.chain.x0[atoms], g.nodes[:, None], g.cells, "P1")
    bdm = BridgingDomain(ex.transfer.matrix, g.chain.mass[atoms], g.bar.mass, multipliers=multipliers)
    X = g.chain.x0[atoms]
    return bdm, g.gamma(X), g.gamma_hp(X), np.asarray(ex.atom_ids)


@pytest.mark.parametrize("omega", [0.05, 0.5, 2.0])
def test_filter_response_is_the_first_order_high_pass(omega):
    """A sampled sinusoid: the high-passed part has the discrete response
    (1−a)(1−z⁻¹)/(1−(1−a)z⁻¹), a = 1 − e^{−ω_c h}, z = e^{iωh}, to round-off after the
    transient, and approaches the continuous iω/(iω+ω_c) as h → 0 (measured error ≈ ω_c h / 2 in |H|)."""
    wc, h = 0.5, 0.02
    f = HighPassFilter(wc, 1)
    n = int(40 / (wc * h)) + int(20 * np.pi / (omega * h))
    t = h * np.arange(n)
    x = np.sin(omega * t)
    y = np.array([xi - f.reference(np.array([[xi]]), h)[0, 0] for xi in x])
    a = 1.0 - np.exp(-wc * h)
    z = np.exp(1j * omega * h)
    H = (1 - a) * (1 - 1 / z) / (1 - (1 - a) / z)
    tail = t > 40 / wc
    expected = np.imag(H * np.exp(1j * omega * t))
    np.testing.assert_allclose(y[tail], expected[tail], atol=1e-9)
    Hc = 1j * omega / (1j * omega + wc)
    assert abs(H) == pytest.approx(abs(Hc), rel=max(omega, wc) * h)


def test_constant_velocity_is_not_damped():
    """Rigid translation of band atoms and nodes (on the constraint): the filter's slow part is
    the velocity itself, so the high-pass dashpots exert no force; with the fine-scale bath
    (u = 0) the state is a fixed point, to round-off."""
    bdm, gamma, ghp, ids = _band()
    bath = ConstrainedDampingBand(gamma, bdm, ids, "continuum", highpass=ghp, cutoff=0.5)
    va, vn = np.full((bdm.m.size, 2), 0.3), np.full((bdm.M.size, 2), 0.3)
    va[:, 1], vn[:, 1] = -1.1, -1.1
    for s in range(50):
        va, vn = bath.apply_band(va, vn, 0.1, s)
    np.testing.assert_allclose(va[:, 0], 0.3, atol=1e-12)
    np.testing.assert_allclose(vn[:, 1], -1.1, atol=1e-12)


def test_exact_step_solves_the_constrained_dashpot_equation():
    """One step of length h from y on S with reference s (held over the step): the result equals
    a fine RK4 integration of y′ = −D Γ y + D diag(c_hp) s (D = P M_b⁻¹, the constrained
    dynamics of the dashpots), and stays on the constraint."""
    bdm, gamma, ghp, ids = _band()
    bath = ConstrainedDampingBand(gamma, bdm, ids, "continuum", highpass=ghp, cutoff=0.5)
    rng = np.random.default_rng(7)
    ma = bdm.m.size
    va, vn = rng.normal(size=(ma, 1)), rng.normal(size=(bdm.M.size, 1))
    res = bdm.solve(va, vn)
    va, vn = va + res.dv_atoms, vn + res.dv_nodes
    y0 = np.vstack([va, vn])
    h = 0.3
    s = bath.highpass.reference(y0, h)           # what the bath will see (filter starts at rest: s = y0)
    bath.highpass._lp = None                     # restart the filter so apply_band sees the same s
    va1, vn1 = bath.apply_band(va, vn, h, 0)
    A, F = -(bath._D @ bath._Gamma), bath._F
    y, n = y0.copy(), 2000
    dt = h / n
    rhs = lambda y: A @ y + F @ s  # noqa: E731
    for _ in range(n):
        k1 = rhs(y); k2 = rhs(y + 0.5 * dt * k1); k3 = rhs(y + 0.5 * dt * k2); k4 = rhs(y + dt * k3)
        y = y + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    np.testing.assert_allclose(np.vstack([va1, vn1]), y, atol=1e-10)
    assert np.max(np.abs(bdm.C.T @ bdm.gap(va1, vn1))) < 1e-12


def test_high_pass_damping_has_no_consistent_noise():
    bdm, gamma, ghp, ids = _band()
    with pytest.raises(ConfigError, match="temperature"):
        ConstrainedDampingBand(gamma, bdm, ids, "continuum", temperature=0.1, highpass=ghp, cutoff=0.5)
    with pytest.raises(ConfigError, match="cutoff"):
        ConstrainedDampingBand(gamma, bdm, ids, "continuum", highpass=ghp, cutoff=0.0)
