"""Fast/slow problems converge to their homogenized analytic solutions at the expected rates."""
import numpy as np
import pytest

from mscouple.homogenization.scales import damkohler, length_ratio
from mscouple.hmm.fastslow import (FastReactionDiffusion, example_coefficient, example_homogenized,
                                   fine_scale_solution, hmm_diffusion, projective_euler)
from mscouple.hmm.micro import ConductionCellModel
from mscouple.hmm.oracle import LocalOracle


def f(x):
    return np.ones_like(x)


def _rate(errs):
    e = np.asarray(errs)
    return np.log2(e[:-1] / e[1:])


def test_oscillating_coefficient_converges_first_order_in_eps():
    errs = []
    for eps in (1 / 8, 1 / 16, 1 / 32):
        x, u = fine_scale_solution(example_coefficient, f, eps, int(64 / eps))
        errs.append(np.abs(u - example_homogenized(x)).max())
    r = _rate(errs)
    assert np.all((r > 0.8) & (r < 1.2))  # measured 0.88, 0.94
    assert errs[-1] < 0.2 * (1 / 32)  # O(eps) with a small constant


def test_hmm_with_cell_problems_matches_homogenized_second_order_in_H():
    model = ConductionCellModel(lambda x, y: example_coefficient(x[0], y[:, 0]), dim=1, cells=32)
    assert model.effective(np.array([0.0]))[0, 0] == pytest.approx(np.sqrt(0.75), rel=1e-12)  # harmonic mean
    errs = []
    for n in (4, 8, 16):
        x, u = hmm_diffusion(LocalOracle(model), f, n)
        errs.append(np.abs(u - example_homogenized(x)).max())
    r = _rate(errs)
    assert np.all(r > 1.8)  # midpoint-quadrature O(H^2); measured 1.88, 1.99
    # H = 1/16 macro elements over eps = 1/64 cells: l/H = 0.25
    assert length_ratio(1 / 64, 1 / 16) == pytest.approx(0.25)


def test_fast_reaction_converges_first_order_in_inverse_damkohler():
    errs = []
    for k in (100.0, 200.0, 400.0):
        p = FastReactionDiffusion(D=1.0, K=1.0, k=k, n=16)
        errs.append(np.abs(p.total(p.exact(0.1)) - p.homogenized(0.1)).max())
        assert p.damkohler == pytest.approx(damkohler(k, 1.0, diffusivity=1.0))
    r = _rate(errs)
    assert np.all(np.abs(r - 1.0) < 0.1)  # measured 0.97, 0.98


def test_projective_integration_tracks_resolved_and_homogenized():
    p = FastReactionDiffusion(D=1.0, K=1.0, k=1e5, n=32)
    T = 0.1
    y, st = projective_euler(p.rhs, p.initial(), T, 1.0 / p.fast_rate, 2, 4e-4)
    assert st.t == pytest.approx(T, rel=1e-12)
    c = p.total(y)
    amp = np.abs(p.homogenized(T)).max()
    # O(delta) outer error + O(1/Da) model error, both ~1e-4 relative here
    assert np.abs(c - p.total(p.exact(T))).max() < 1e-3 * amp
    assert np.abs(c - p.homogenized(T)).max() < 1e-3 * amp
    # and far fewer micro steps than resolving the reaction time over T
    assert st.inner_steps * 10 < T * p.fast_rate
    # mass conservation (no-flux ends): the mean of c is unchanged (= 0 for cos(pi x))
    assert abs(c.mean()) < 1e-12


def test_fast_reaction_with_advection_retarded_transport():
    """With advection (Pe = 10) the equilibrium front moves at U/(1+K): error O(1/Da)."""
    errs = []
    for k in (200.0, 400.0, 800.0):
        p = FastReactionDiffusion(D=0.1, K=1.0, k=k, n=32, velocity=1.0, periodic=True)
        errs.append(np.abs(p.total(p.exact(0.2)) - p.homogenized(0.2)).max())
    assert p.peclet == pytest.approx(10.0)
    r = _rate(errs)
    assert np.all(np.abs(r - 1.0) < 0.1)  # measured 0.98, 0.99
    # unretarded transport (speed U) would be far off: the phase error is O(1)
    p = FastReactionDiffusion(D=0.1, K=1.0, k=1e4, n=32, velocity=1.0, periodic=True)
    y, st = projective_euler(p.rhs, p.initial(), 0.2, 1.0 / p.fast_rate, 2, 1e-3)
    assert np.abs(p.total(y) - p.homogenized(0.2)).max() < 2e-3
    wrong = np.exp(-0.1 * p.lambda_h * 0.2 / 2) * np.cos(p.wavenumber * p.x - p.advect_h * 0.2)
    assert np.abs(p.total(y) - wrong).max() > 0.3
