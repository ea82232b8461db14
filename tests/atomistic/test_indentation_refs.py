"""Elastic and structural references of the nanoindentation flagship: the Vlassak–Nix
indentation modulus of a cubic crystal (Stroh surface impedance, averaged over in-plane
directions) and the centro-symmetry parameter used to find defects."""
from __future__ import annotations

import numpy as np
import pytest

from mscouple.atomistic import lattice as L
from mscouple.atomistic.csp import DEFECT_CSP, centrosymmetry
from mscouple.atomistic.indenter import (bonded_layer_factor, contact_radius, hertz_load, indentation_modulus,
                                        vlassak_nix_modulus)
from mscouple.errors import ConfigError


def test_isotropic_limit_is_plane_strain_modulus():
    """A nearly isotropic cubic set (A = 1 + 1e-3) gives E/(1 − ν²) to O(A − 1): within
    2e-4 (measured 7e-5); exactly isotropic constants return E/(1 − ν²)."""
    E, nu = 2.0, 0.3
    G, lam = E / (2 * (1 + nu)), E * nu / ((1 + nu) * (1 - 2 * nu))
    ref = E / (1 - nu ** 2)
    assert vlassak_nix_modulus(lam + 2 * G, lam, G) == pytest.approx(ref, rel=1e-12)
    assert vlassak_nix_modulus(lam + 2 * G, lam, G * (1 + 1e-3)) == pytest.approx(
        indentation_modulus(lam + 2 * G, lam, G * (1 + 1e-3)), rel=2e-4)


def test_cubic_copper_orientations():
    """Cu (C11, C12, C44 = 168.4, 121.4, 75.4 GPa, A = 3.2): M(001) < Hill E* < M(111), the
    ordering and size Vlassak & Nix (1994) report for strongly anisotropic cubic metals
    (M(111)/M(001) = 1.13); the cube faces are equivalent and the sign of the normal does
    not matter; the quadrature (360 directions) is converged to 1e-10."""
    c = (168.4, 121.4, 75.4)
    m001 = vlassak_nix_modulus(*c)
    m111 = vlassak_nix_modulus(*c, normal=(1, 1, 1))
    hill = indentation_modulus(*c)
    assert m001 < hill < m111
    assert m111 / m001 == pytest.approx(1.131, abs=0.002)
    assert m001 == pytest.approx(134.01, rel=1e-4)
    for n in ((1, 0, 0), (0, -1, 0), (0, 0, -1)):
        assert vlassak_nix_modulus(*c, normal=n) == pytest.approx(m001, rel=1e-12)
    assert vlassak_nix_modulus(*c, samples=720) == pytest.approx(m001, rel=1e-10)


def test_hertz_contact_radius_and_load():
    """a = (R d)^½ and P = (4/3) M R^½ d^{3/2} = (4/3) M a³ / R."""
    d, R, M = np.array([0.5, 1.0, 2.0]), 15.0, 0.84
    a = contact_radius(d, R)
    assert np.allclose(a * a, R * d)
    assert np.allclose(hertz_load(d, R, M), 4 / 3 * M * a ** 3 / R)


def test_bonded_layer_factor_series():
    """The finite-thickness correction of a sphere on a layer bonded to a rigid base: 1 on a
    half-space (χ = 0), the published incompressible series 1 + 1.133 χ + 1.283 χ² + 0.769 χ³
    + 0.0975 χ⁴ for ν = 0.5 (Dimitriadis et al. 2002; its coefficients are rounded to 3–4
    digits: agreement to 1e-4 relative at χ ≤ 0.3), stiffer as the layer thins and as ν grows
    (a bonded near-incompressible layer cannot flow aside); bad input refused."""
    R, h = 8.0, 50.0
    chi = np.array([0.0, 0.05, 0.1, 0.2, 0.3])
    d = (chi * h) ** 2 / R
    f = bonded_layer_factor(d, R, h, 0.5)
    series = 1 + 1.133 * chi + 1.283 * chi ** 2 + 0.769 * chi ** 3 + 0.0975 * chi ** 4
    assert f[0] == 1.0 and np.allclose(f, series, rtol=1e-4, atol=0)
    assert np.all(np.diff(bonded_layer_factor(d, R, h, 0.42)) > 0)
    assert np.all(bonded_layer_factor(d[1:], R, h, 0.3) < bonded_layer_factor(d[1:], R, h, 0.45))
    for bad in (dict(thickness=0.0, poisson=0.3), dict(thickness=10.0, poisson=0.6)):
        with pytest.raises(ConfigError):
            bonded_layer_factor(1.0, R, **bad)


def test_centrosymmetry_perfect_affine_surface_and_fault():
    """CSP (Kelchner et al. 1998) is 0 for the perfect fcc lattice, periodic or not, and for
    any homogeneous strain of it; a free (001) surface gives ≈ a² (≫ the defect threshold
    0.1 a²); a rigid shift of half the crystal by a Shockley partial's Burgers vector
    a/6 [11-2] on a (111) plane makes the atoms next to the fault exceed the threshold."""
    a = 3.615
    x, box = L.cubic("fcc", a, (6, 6, 6), periodic=(True, True, True))
    Lb = np.subtract(box.hi, box.lo)
    assert centrosymmetry(x, 12, lo=box.lo, lengths=Lb, periodic=(1, 1, 1)).max() < 1e-20
    F = np.array([[1.03, 0.02, 0.0], [0.0, 0.98, 0.01], [0.0, 0.0, 1.01]])
    inner = np.all(np.abs(x - x.mean(axis=0)) < 1.4 * a, axis=1)
    assert centrosymmetry(x @ F.T, rows=np.flatnonzero(inner)).max() < 1e-20
    c = centrosymmetry(x, 12, lo=box.lo, lengths=Lb, periodic=(1, 1, 0))
    top = x[:, 2] > x[:, 2].max() - 0.1
    assert np.all(c[top] > 0.9 * a * a) and c[~top & (x[:, 2] > 0.6 * a)].max() < 1e-20
    # a stacking fault: shift the atoms above a (111) plane by a/6 [1 1 -2]
    n = np.array([1.0, 1.0, 1.0]) / np.sqrt(3)
    h = x @ n
    cut = np.median(h) + 0.1
    y = x.copy()
    y[h > cut] += a / 6 * np.array([1.0, 1.0, -2.0])
    rows = np.flatnonzero(inner)
    cf = centrosymmetry(y, rows=rows)
    near = np.abs(h[rows] - cut) < 0.5 * a / np.sqrt(3)
    assert near.any() and cf[near].min() > DEFECT_CSP * a * a
