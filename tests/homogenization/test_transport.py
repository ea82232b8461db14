"""Porous-media transport: D_eff, Thiele effectiveness factors against a finite-difference
solution of the reaction-diffusion boundary-value problem, series resistances."""

import numpy as np
import pytest

from mscouple.errors import ConfigError
from mscouple.homogenization import transport as t


def test_effective_diffusivity_and_bruggeman():
    assert t.effective_diffusivity(2.0, 0.4, 2.5) == pytest.approx(0.32, rel=1e-15)
    eps = 0.36
    assert t.effective_diffusivity(1.0, eps, t.bruggeman_tortuosity(eps)) == pytest.approx(eps**1.5, rel=1e-14)
    with pytest.raises(ConfigError):
        t.effective_diffusivity(1.0, 0.4, 0.5)


def _fd_effectiveness(phi: float, geometry: str, n: int = 4000) -> float:
    """Solve c'' + (s/r) c' = phi^2 c on (0,1), c'(0)=0, c(1)=1 (r = radius / half-width,
    s = 0 slab, 1 cylinder, 2 sphere) by central differences; return the mean of c
    weighted by r^s (= mean rate / surface rate)."""
    s = {"slab": 0, "cylinder": 1, "sphere": 2}[geometry]
    r = np.linspace(0.0, 1.0, n + 1)
    h = r[1]
    A = np.zeros((n + 1, n + 1))
    rhs = np.zeros(n + 1)
    # r = 0: symmetry, c'' + s c'' = (1+s) c''  (L'Hopital)
    A[0, 0], A[0, 1] = -2 * (1 + s) / h**2 - phi**2, 2 * (1 + s) / h**2
    for i in range(1, n):
        A[i, i - 1] = 1 / h**2 - s / (2 * h * r[i])
        A[i, i] = -2 / h**2 - phi**2
        A[i, i + 1] = 1 / h**2 + s / (2 * h * r[i])
    A[n, n], rhs[n] = 1.0, 1.0
    import scipy.linalg as sl

    ab = np.zeros((3, n + 1))
    ab[0, 1:] = np.diag(A, 1)
    ab[1] = np.diag(A)
    ab[2, :-1] = np.diag(A, -1)
    c = sl.solve_banded((1, 1), ab, rhs)
    w = r**s
    return float(np.trapz(c * w, r) / np.trapz(w, r))


@pytest.mark.parametrize("geometry", ["slab", "cylinder", "sphere"])
@pytest.mark.parametrize("phi", [0.3, 2.0, 6.0])
def test_effectiveness_factor_matches_bvp(geometry, phi):
    # FD error O(h^2) ~ phi^2 * 1e-7
    assert t.effectiveness_factor(phi, geometry) == pytest.approx(_fd_effectiveness(phi, geometry), rel=2e-5)


def test_effectiveness_limits():
    assert t.effectiveness_factor(1e-6, "sphere") == pytest.approx(1.0, abs=1e-12)
    for g, n in (("slab", 1), ("cylinder", 2), ("sphere", 3)):
        assert t.effectiveness_factor(400.0, g) * 400.0 == pytest.approx(n, rel=1e-2)
    phi = t.thiele_modulus(0.5, 8.0, 2.0)
    assert phi == pytest.approx(1.0, rel=1e-15)


def test_series_resistances():
    k_s, a_v, k_m = 2.0, 300.0, 0.5
    k = t.effective_rate_constant(k_s, a_v, k_m, eta=0.8)
    assert 1 / k == pytest.approx(1 / (k_m * a_v) + 1 / (0.8 * k_s * a_v), rel=1e-15)
    assert k < min(k_m * a_v, 0.8 * k_s * a_v)  # the slower step controls
    assert t.effective_rate_constant(k_s, a_v) == pytest.approx(k_s * a_v, rel=1e-15)
    assert t.mass_transfer_coefficient(2.0, 1e-9, 1e-4) == pytest.approx(2e-5, rel=1e-15)
    with pytest.raises(ConfigError):
        t.effective_rate_constant(k_s, a_v, k_m, eta=1.5)
