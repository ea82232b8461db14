"""The bridging-domain damping band (``ConstrainedDampingBand``) on its own: its stationary
distribution on the constraint subspace S is the canonical one at the bath temperature
(fluctuation–dissipation), it keeps the constraint, it damps only the fine scale, its noise
does not depend on the atoms' order (rank layout), and it books the energy it removes.

Band: P1 bar elements of size h = 2a over atoms with spacing a, the atomistic weight ramping
across 8 elements (masses (1 − w) m, nodal masses w-weighted), stadium γ ≤ 0.5 — the
``examples/wave_1d`` band. The canonical covariance of the band velocities on S is
k_B T · P M_b⁻¹ (P the M-orthogonal constraint projector, built here from
``BridgingDomain.solve``, independently of the bath's own matrices).
"""

import numpy as np
import pytest

import mscouple.coupling.damping as damping_mod
from mscouple.coupling.bdm import BridgingDomain
from mscouple.coupling.damping import ConstrainedDampingBand, DampingBand
from mscouple.coupling.exchange import InterfaceExchange

from mscouple.validation import wave1d as W

T = 1.3


def _band(multipliers="nodes", order=None):
    g = W.geometry(10, ratio=2, band_elements=8, bar_elements=4, damping=0.5)
    atoms = g.band_atoms if order is None else g.band_atoms[order]
    ex = InterfaceExchange.local(atoms, g.chain.x0[atoms], g.nodes[:, None], g.cells, "P1")
    bdm = BridgingDomain(ex.transfer.matrix, g.chain.mass[atoms], g.bar.mass, multipliers=multipliers)
    return bdm, g.gamma(g.chain.x0[atoms]), np.asarray(ex.atom_ids)


def _canonical_covariance(bdm):
    """k_B T P M_b⁻¹ [(m+n), (m+n)] from the projection itself."""
    ma = bdm.m.size
    Minv = np.diag(np.r_[1.0 / bdm.m, 1.0 / bdm.M])
    res = bdm.solve(Minv[:ma], Minv[ma:])
    C = T * (Minv + np.vstack([res.dv_atoms, res.dv_nodes]))
    return 0.5 * (C + C.T)


def _draw(bdm, C, R, seed):
    """R canonical draws [(m+n), R] on S (projected again: the square root of the round-off
    eigenvalues of C would leave ~1e-8 off S)."""
    lam, Q = np.linalg.eigh(C)
    y = (Q * np.sqrt(np.clip(lam, 0, None))) @ np.random.default_rng(seed).normal(size=(C.shape[0], R))
    ma = bdm.m.size
    res = bdm.solve(y[:ma], y[ma:])
    return np.vstack([y[:ma] + res.dv_atoms, y[ma:] + res.dv_nodes])


@pytest.mark.parametrize("reference", ["continuum", "zero"])
def test_canonical_distribution_on_the_constraint_is_stationary(reference):
    bdm, gamma, ids = _band()
    ma = bdm.m.size
    C = _canonical_covariance(bdm)
    R = 4000
    y = _draw(bdm, C, R, 0)
    bath = ConstrainedDampingBand(gamma, bdm, ids, reference, temperature=T, seed=4)
    assert bath.exact
    mb = np.r_[bdm.m, bdm.M]
    ke_can = mb * np.diag(C)  # canonical ⟨m v²⟩ per band atom / node
    va, vn = y[:ma], y[ma:]
    acc = np.zeros(mb.size)
    for s in range(60):  # 60 × 0.1 = 6 τ: ≥ 3/γ for the strongly damped half of the band
        va, vn = bath.apply_band(va, vn, 0.1, s)
        if s >= 20:
            acc += mb * np.mean(np.vstack([va, vn]) ** 2, axis=1) / 40
    # stays on the constraint to round-off
    assert np.max(np.abs(bdm.C.T @ bdm.gap(va, vn))) < 1e-12 * np.sqrt(T)
    # band atoms and band nodes keep the canonical kinetic energy (measured 0.9995 / 1.0076):
    # 32 atoms / 18 nodes × 4000 replicas, 40 correlated snapshots; the coarse modes get
    # neither friction nor noise, so the nodes keep their draw's scatter, σ ≈ 0.5 %: 2 % ≥ 4σ
    assert acc[:ma].sum() / ke_can[:ma].sum() == pytest.approx(1.0, abs=0.02)
    assert acc[ma:].sum() / ke_can[ma:].sum() == pytest.approx(1.0, abs=0.02)
    # per degree of freedom too (σ ≈ 2 % each; measured max deviation 6 % of 50)
    np.testing.assert_allclose(acc / ke_can, 1.0, atol=0.1)


def test_former_atom_only_bath_is_not_canonical():
    """The cause of the heating: OU on u = v_α − Σ N v_I acting on the atoms only (no reaction on
    the nodes, noise not shaped like the friction), then a re-projection. Measured: the band's
    kinetic energy grows to ≈ 1.6× canonical, band nodes up to 2.9×."""
    bdm, gamma, ids = _band()
    ma = bdm.m.size
    C = _canonical_covariance(bdm)
    y = _draw(bdm, C, 2000, 1)
    naive = DampingBand(gamma, bdm.m, ids, temperature=T, seed=4)
    va, vn = y[:ma], y[ma:]
    for s in range(200):
        ref = bdm.N @ vn
        u = va - ref
        naive.apply(u, 0.1, s)
        res = bdm.solve(ref + u, vn)
        va, vn = ref + u + res.dv_atoms, vn + res.dv_nodes
    ke = np.sum(np.r_[bdm.m, bdm.M][:, None] * np.vstack([va, vn]) ** 2) / 2000
    assert ke / np.sum(np.r_[bdm.m, bdm.M] * np.diag(C)) > 1.2


def test_uniform_rate_damps_exactly_the_fine_scale():
    """Equal atom masses and a uniform γ: the dashpots' reaction Nᵀ m γ u vanishes on S, so the
    exact update is u ← e^{−γh} u with the coarse motion N v_n, v_n untouched; T = 0 removes
    exactly the kinetic-energy difference."""
    g = W.geometry(10, ratio=2, band_elements=8, bar_elements=4)
    atoms = g.band_atoms
    ex = InterfaceExchange.local(atoms, g.chain.x0[atoms], g.nodes[:, None], g.cells, "P1")
    bdm = BridgingDomain(ex.transfer.matrix, np.full(atoms.size, 0.7), g.bar.mass, multipliers="nodes")
    rng = np.random.default_rng(2)
    va, vn = rng.normal(size=(atoms.size, 3)), rng.normal(size=(bdm.M.size, 3))
    res = bdm.solve(va, vn)
    va, vn = va + res.dv_atoms, vn + res.dv_nodes
    bath = ConstrainedDampingBand(np.full(atoms.size, 0.8), bdm, np.asarray(ex.atom_ids), "continuum")
    u0 = va - bdm.N @ vn
    ke0 = 0.5 * (np.sum(bdm.m[:, None] * va ** 2) + np.sum(bdm.M[:, None] * vn ** 2))
    va1, vn1 = bath.apply_band(va, vn, 0.25, 0)
    np.testing.assert_allclose(vn1, vn, atol=1e-12)
    np.testing.assert_allclose(va1 - bdm.N @ vn1, u0 * np.exp(-0.8 * 0.25), atol=1e-12)
    ke1 = 0.5 * (np.sum(bdm.m[:, None] * va1 ** 2) + np.sum(bdm.M[:, None] * vn1 ** 2))
    assert np.sum(bath.removed_per_atom) == pytest.approx(ke0 - ke1, rel=1e-10)


def test_atom_multipliers_leave_nothing_to_damp():
    """Per-atom multipliers: the fine scale is constrained away (u ≡ 0 on S), so the
    fine-scale bath is the identity — no friction, no noise — even at T > 0."""
    bdm, gamma, ids = _band("atoms")
    rng = np.random.default_rng(3)
    va, vn = rng.normal(size=(bdm.m.size, 2)), rng.normal(size=(bdm.M.size, 2))
    res = bdm.solve(va, vn)
    va, vn = va + res.dv_atoms, vn + res.dv_nodes
    bath = ConstrainedDampingBand(gamma, bdm, ids, "continuum", temperature=T, seed=1)
    va1, vn1 = bath.apply_band(va, vn, 0.1, 7)
    np.testing.assert_allclose(va1, va, atol=1e-12)
    np.testing.assert_allclose(vn1, vn, atol=1e-12)


def test_noise_does_not_depend_on_atom_order():
    """Counter-based noise keyed by atom id and matrix functions that commute with a
    permutation: the band listed in another order (another rank layout) gives the same
    velocities per atom to round-off."""
    order = np.random.default_rng(5).permutation(32)
    out = []
    for o in (None, order):
        bdm, gamma, ids = _band(order=o)
        C = _canonical_covariance(bdm)
        y = _draw(bdm, C, 1, 0) if o is None else y_ref
        if o is None:
            y_ref = y.copy()
            y_ref[:bdm.m.size] = y[:bdm.m.size][order]
        bath = ConstrainedDampingBand(gamma, bdm, ids, "continuum", temperature=T, seed=2)
        va, vn = y[:bdm.m.size], y[bdm.m.size:]
        for s in range(5):
            va, vn = bath.apply_band(va, vn, 0.1, s)
        out.append((va, vn))
    np.testing.assert_allclose(out[1][0], out[0][0][order], rtol=0, atol=1e-12)
    np.testing.assert_allclose(out[1][1], out[0][1], rtol=0, atol=1e-12)


def test_split_update_of_large_bands_is_canonical_to_order_gamma_h(monkeypatch):
    """Bands above ``EXACT_LIMIT`` use the split update (per-atom OU impulse with its reaction
    on the nodes, then the coupler's re-projection): friction and noise stay consistent; the
    splitting error is O(γh) (γh ≤ 0.05 here)."""
    monkeypatch.setattr(damping_mod, "EXACT_LIMIT", 0)
    bdm, gamma, ids = _band()
    ma = bdm.m.size
    C = _canonical_covariance(bdm)
    y = _draw(bdm, C, 4000, 0)
    bath = ConstrainedDampingBand(gamma, bdm, ids, "continuum", temperature=T, seed=4)
    assert not bath.exact
    va, vn = y[:ma], y[ma:]
    mb = np.r_[bdm.m, bdm.M]
    acc = 0.0
    for s in range(60):
        va, vn = bath.apply_band(va, vn, 0.1, s)
        res = bdm.solve(va, vn)
        va, vn = va + res.dv_atoms, vn + res.dv_nodes
        if s >= 20:
            acc += np.sum(mb[:, None] * np.vstack([va, vn]) ** 2) / 4000 / 40
    assert acc / np.sum(mb * np.diag(C)) == pytest.approx(1.0, abs=0.03)
