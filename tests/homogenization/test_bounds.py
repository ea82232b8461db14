"""Voigt/Reuss/HS bounds and the exact laminate formulas: closed-form checks."""
import numpy as np
import pytest

from mscouple.errors import ConfigError
from mscouple.homogenization import bounds as b


def test_voigt_reuss_two_phase_closed_form():
    assert b.voigt([1.0, 9.0], [0.25, 0.75]) == pytest.approx(7.0, rel=1e-15)
    assert b.reuss([1.0, 9.0], [0.25, 0.75]) == pytest.approx(1.0 / (0.25 + 0.75 / 9.0), rel=1e-15)


def test_hs_bounds_ordered_and_collapse():
    f = [0.3, 0.7]
    for dim in (2, 3):
        lo, hi = b.hashin_shtrikman_conductivity([1.0, 10.0], f, dim)
        assert b.reuss([1, 10], f) < lo < hi < b.voigt([1, 10], f)
        # Maxwell-Garnett form of the lower bound (matrix = phase 0)
        mg = 1.0 + 0.7 / (1.0 / 9.0 + 0.3 / (dim * 1.0))
        assert lo == pytest.approx(mg, rel=1e-14)
    # equal phases: every bound equals the phase value
    (klo, khi), (mlo, mhi) = b.hashin_shtrikman_elastic([2.0, 2.0], [1.0, 1.0], f, 3)
    assert (klo, khi, mlo, mhi) == pytest.approx((2.0, 2.0, 1.0, 1.0), rel=1e-14)


def test_hs_bulk_3d_two_phase_textbook():
    # K_lo = K1 + f2/(1/(K2-K1) + 3 f1/(3K1+4 mu1)) with phase 1 softer in K and mu
    K, mu, f = [1.0, 5.0], [0.5, 3.0], [0.4, 0.6]
    (klo, khi), (mlo, mhi) = b.hashin_shtrikman_elastic(K, mu, f, 3)
    assert klo == pytest.approx(1.0 + 0.6 / (1 / 4.0 + 3 * 0.4 / (3 + 2.0)), rel=1e-14)
    assert khi == pytest.approx(5.0 + 0.4 / (1 / -4.0 + 3 * 0.6 / (15 + 12.0)), rel=1e-14)
    # HS shear upper (Hashin-Shtrikman 1963 eq.) with phase 2 as reference
    z = 6 * (5.0 + 2 * 3.0) * 0.6 / (5 * 3.0 * (3 * 5.0 + 4 * 3.0))
    assert mhi == pytest.approx(3.0 + 0.4 / (1 / (0.5 - 3.0) + z), rel=1e-14)
    assert b.reuss(mu, f) < mlo < mhi < b.voigt(mu, f)


def test_mandel_roundtrip_and_isotropic_energy():
    rng = np.random.default_rng(0)
    for d in (2, 3):
        e = rng.normal(size=(d, d))
        e = e + e.T
        assert np.allclose(b.from_mandel(b.to_mandel(e), d), e)
        lam, mu = 1.3, 0.7
        C = b.isotropic_stiffness(lam, mu, d)
        w = b.to_mandel(e) @ C @ b.to_mandel(e)
        assert w == pytest.approx(lam * np.trace(e) ** 2 + 2 * mu * np.sum(e * e), rel=1e-13)


def test_laminate_reduces_to_voigt_reuss_components():
    l1, m1 = b.lame_from_young(1.0, 0.3)
    l2, m2 = b.lame_from_young(10.0, 0.25)
    C = np.array([b.isotropic_stiffness(l1, m1, 2), b.isotropic_stiffness(l2, m2, 2)])
    f = [0.4, 0.6]
    L = b.laminate_stiffness(C, f, 2)
    # normal stiffness across layers = harmonic mean of P-wave moduli; shear = Reuss
    assert L[0, 0] == pytest.approx(b.reuss([l1 + 2 * m1, l2 + 2 * m2], f), rel=1e-13)
    assert L[2, 2] == pytest.approx(2 * b.reuss([m1, m2], f), rel=1e-13)
    # between the tensor bounds (quadratic forms)
    assert np.all(np.linalg.eigvalsh(b.voigt_tensor(C, f) - L) > -1e-12)
    assert np.all(np.linalg.eigvalsh(L - b.reuss_tensor(C, f)) > -1e-12)
    # same Poisson-free case: equal Lame lambda = 0 -> in-plane component is Voigt
    C0 = np.array([b.isotropic_stiffness(0.0, 1.0, 2), b.isotropic_stiffness(0.0, 4.0, 2)])
    assert b.laminate_stiffness(C0, f, 2)[1, 1] == pytest.approx(b.voigt([2.0, 8.0], f), rel=1e-13)


def test_bad_input_is_config_error():
    with pytest.raises(ConfigError):
        b.voigt([1.0, 2.0], [0.5, 0.6])
    with pytest.raises(ConfigError):
        b.reuss([1.0, -2.0], [0.5, 0.5])
    with pytest.raises(ConfigError):
        b.lame_from_young(1.0, 0.5)
