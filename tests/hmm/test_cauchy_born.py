"""0 K: the oracle (which runs the MD engine on a periodic cell) reduces to Cauchy-Born, and
its small-strain stress is C:eps with C from the Born lattice sums."""
import numpy as np
import pytest

from mscouple.atomistic.potentials import LennardJones, Morse
from mscouple.hmm.cauchy_born import (BravaisLattice, cb_elastic_constants, cb_stress, equilibrium_spacing,
                                      radial_derivatives)
from mscouple.hmm.micro import CauchyBornModel, MDCellModel
from mscouple.hmm.oracle import LocalOracle

LJ = LennardJones(cutoff=2.5, mode="smooth")


def test_zero_stress_spacing_and_cauchy_relation():
    a = equilibrium_spacing(LJ, "fcc")
    d = radial_derivatives(LJ)
    lat = BravaisLattice.build("fcc", a, 1.5 * d.rc)
    assert np.abs(cb_stress(d, lat, np.eye(3))).max() < 1e-12
    C = cb_elastic_constants(d, lat)
    # pair potentials at zero stress obey the Cauchy relation C12 = C44; cubic symmetry
    assert C[0, 0, 1, 1] == pytest.approx(C[1, 2, 1, 2], rel=1e-12)
    assert C[0, 0, 0, 0] == pytest.approx(C[2, 2, 2, 2], rel=1e-12)
    # dsigma/deps by central differences of the lattice-sum stress = Born constants (O(h^2))
    h = 1e-5
    for (i, j, k, l) in [(0, 0, 0, 0), (0, 0, 1, 1), (0, 1, 0, 1)]:
        E = np.zeros((3, 3))
        E[k, l] = E[l, k] = h if k == l else h / 2  # shear: engineering strain h
        ds = (cb_stress(d, lat, np.eye(3) + E) - cb_stress(d, lat, np.eye(3) - E))[i, j] / (2 * h)
        assert ds == pytest.approx(C[i, j, k, l], rel=1e-7)


@pytest.mark.parametrize("kind,reps", [("chain", 8), ("fcc", (3, 3, 3))])
def test_md_oracle_equals_cauchy_born_at_0K(kind, reps):
    a = equilibrium_spacing(LJ, kind)
    md = LocalOracle(MDCellModel(LJ, kind, a, reps))
    cb = CauchyBornModel(LJ, kind, a)
    rng = np.random.default_rng(2)
    states = rng.uniform(-0.02, 0.03, size=(4, md.state_size))
    s_md, s_cb = md.evaluate(states), cb(states)
    assert np.abs(s_md - s_cb).max() < 1e-10 * np.abs(s_cb).max()


def test_md_small_strain_stress_is_C_eps():
    a = equilibrium_spacing(LJ, "fcc")
    d = radial_derivatives(LJ)
    C = cb_elastic_constants(d, BravaisLattice.build("fcc", a, 1.5 * d.rc))
    md = MDCellModel(LJ, "fcc", a, (3, 3, 3))
    eps = np.array([1e-4, -0.5e-4, 0.2e-4])
    sig_p, sig_m = md(eps[None]), md(-eps[None])
    lin = np.einsum("iikk,k->i", C, eps)
    # central difference: O(eps^3) remainder, relative ~ 1e-8
    assert np.abs(0.5 * (sig_p - sig_m)[0] - lin).max() < 1e-6 * np.abs(lin).max()
    # one-sided: O(eps^2), here ~1e-4 relative
    assert np.abs(sig_p[0] - lin).max() < 2e-3 * np.abs(lin).max()


def test_chain_modulus_morse():
    pot = Morse(D0=1.0, alpha=2.0, r0=1.0, cutoff=1.6, mode="cut")  # nearest neighbours only
    a = equilibrium_spacing(pot, "chain")
    assert a == pytest.approx(1.0, rel=1e-12)
    d = radial_derivatives(pot)
    C = cb_elastic_constants(d, BravaisLattice.build("chain", a, 1.5 * d.rc))[0, 0, 0, 0]
    assert C == pytest.approx(2 * 2.0**2 * 1.0 * a, rel=1e-12)  # phi''(r0) a = 2 D alpha^2 a
    md = MDCellModel(pot, "chain", a, 6)
    e = 1e-5
    assert (md([[e]]) - md([[-e]]))[0, 0] / (2 * e) == pytest.approx(C, rel=1e-8)


def test_low_temperature_average_approaches_0K():
    a = equilibrium_spacing(LJ, "fcc")
    md = MDCellModel(LJ, "fcc", a, (3, 3, 3), temperature=1e-4, n_equil=200, n_avg=400, sample_every=20)
    cb = CauchyBornModel(LJ, "fcc", a)
    eps = np.array([[0.01, 0.0, 0.0]])
    # thermal stress ~ n k_B T ~ 4e-4 << 1.4 (the 0 K stress)
    assert np.abs(md(eps) - cb(eps)).max() < 5e-3


def test_full_strain_mode_shear_and_consistency():
    a = equilibrium_spacing(LJ, "fcc")
    d = radial_derivatives(LJ)
    C = cb_elastic_constants(d, BravaisLattice.build("fcc", a, 1.5 * d.rc))
    full = CauchyBornModel(LJ, "fcc", a, mode="full")
    normal = CauchyBornModel(LJ, "fcc", a)
    e = np.array([0.01, -0.004, 0.002])
    s_full = full(np.concatenate([e, np.zeros(3)])[None])[0]
    assert np.abs(s_full[:3] - normal(e[None])[0]).max() < 1e-13
    assert np.abs(s_full[3:]).max() < 1e-13  # cubic symmetry: no shear from normal strain
    # Mandel shear strain m = sqrt(2) eps_12 -> Mandel stress sqrt(2) sigma_12 = 2 C44 m
    g = 1e-6
    m = np.zeros(6)
    m[5] = g
    s = (full(m[None]) - full(-m[None]))[0] / 2
    assert s[5] == pytest.approx(2 * C[0, 1, 0, 1] * g, rel=1e-7)
