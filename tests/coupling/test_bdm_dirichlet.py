"""Band nodes held by a Dirichlet condition (a roller face crossing the handshake band, as in
examples/cu_wave_3d) in the bridging-domain projection and its bath.

A Dirichlet dof keeps zero velocity whatever impulse acts on it; in the constraint it is a
node of infinite mass in that component. Before this was modelled, the projection gave the
dof a velocity (its share of the impulse) which the next kick zeroed again: kinetic energy
left the coupled system every step without being booked, and the dof's displacement left
its prescribed value (examples/cu_wave_3d, NVE at 300 K: E_total −1e-4 eV per step).

Band: the ``examples/wave_1d`` geometry (P1 bar elements of size 2a, weight ramp over 8
elements), two velocity components, one band node's second component fixed. Reference: the
M-orthogonal projection onto {J y = 0, y_fixed = 0} from its KKT system (dense, independent
of ``BridgingDomain``'s own algebra).
"""

import numpy as np
import pytest

from mscouple.coupling.bdm import BridgingDomain
from mscouple.coupling.damping import ConstrainedDampingBand
from mscouple.coupling.exchange import InterfaceExchange
from mscouple.validation import wave1d as W

K = 2  # velocity components


def _band(multipliers):
    g = W.geometry(10, ratio=2, band_elements=8, bar_elements=4, damping=0.5)
    atoms = g.band_atoms
    ex = InterfaceExchange.local(atoms, g.chain.x0[atoms], g.nodes[:, None], g.cells, "P1")
    N = ex.transfer.matrix
    fixed = np.zeros((len(g.bar.mass), K), dtype=bool)
    band_nodes = np.unique(N.tocsr().indices)
    fixed[band_nodes[3], 1] = True  # one band node's second component: a roller
    bdm = BridgingDomain(N, g.chain.mass[atoms], g.bar.mass, multipliers=multipliers, node_fixed=fixed)
    return bdm, g.gamma(g.chain.x0[atoms]), np.asarray(ex.atom_ids)


def _kkt_projection(bdm, va, vn):
    """min ½|Δy|²_M  s.t.  J (y + Δy) = 0 and Δy = −y on the fixed dofs, per component."""
    m, n = bdm.m.size, bdm.M.size
    N = bdm.N.toarray()
    C = np.eye(m) if bdm.multipliers == "atoms" else N
    J = C.T @ np.hstack([np.eye(m), -N])
    out = []
    for c in range(va.shape[1]):
        y = np.r_[va[:, c], vn[:, c]]
        fix = np.r_[np.zeros(m, bool), bdm.fixed[:, c]]
        E = np.eye(m + n)[fix]  # rows selecting the fixed dofs
        G = np.vstack([J, E])
        rhs = np.r_[-J @ y, -E @ y]
        Mb = np.r_[bdm.m, bdm.M]
        # Δy = M⁻¹ Gᵀ λ,  G M⁻¹ Gᵀ λ = rhs
        lam = np.linalg.lstsq((G / Mb[None, :]) @ G.T, rhs, rcond=None)[0]
        out.append((G.T @ lam) / Mb)
    d = np.stack(out, axis=1)
    return d[:m], d[m:]


@pytest.mark.parametrize("multipliers", ["atoms", "nodes"])
def test_projection_keeps_dirichlet_components(multipliers):
    bdm, _, _ = _band(multipliers)
    assert bdm.fixed is not None and bdm.fixed.sum() == 1
    rng = np.random.default_rng(5)
    va, vn = rng.normal(size=(bdm.m.size, K)), rng.normal(size=(bdm.M.size, K))
    vn[bdm.fixed] = 0.0  # the kick zeroes them
    res = bdm.solve(va, vn)
    va1, vn1 = va + res.dv_atoms, vn + res.dv_nodes
    # the Dirichlet dof keeps zero velocity exactly; the other component of that node moves
    assert np.all(vn1[bdm.fixed] == 0.0)
    assert np.max(np.abs(res.dv_nodes[~bdm.fixed])) > 1e-3
    # on the constraint, and the M-orthogonal projection (KKT reference) to round-off
    assert np.max(np.abs(bdm.C.T @ bdm.gap(va1, vn1))) < 1e-12
    ra, rn = _kkt_projection(bdm, va, vn)
    np.testing.assert_allclose(res.dv_atoms, ra, atol=1e-11)
    np.testing.assert_allclose(res.dv_nodes, rn, atol=1e-11)
    # idempotent, and the booked work is the kinetic-energy change (≤ 0)
    res2 = bdm.solve(va1, vn1)
    assert np.max(np.abs(res2.dv_atoms)) < 1e-12 and np.max(np.abs(res2.dv_nodes)) < 1e-12
    ke = lambda a, b: 0.5 * (np.sum(bdm.m[:, None] * a ** 2) + np.sum(bdm.M[:, None] * b ** 2))  # noqa: E731
    assert res.work == pytest.approx(ke(va1, vn1) - ke(va, vn), rel=1e-12)
    assert res.work < 0


def test_unfixed_components_unchanged():
    """The free component is projected exactly as without any Dirichlet mask."""
    bdm, _, _ = _band("nodes")
    free = BridgingDomain(bdm.N, bdm.m, bdm.M, multipliers="nodes")
    rng = np.random.default_rng(6)
    va, vn = rng.normal(size=(bdm.m.size, K)), rng.normal(size=(bdm.M.size, K))
    vn[bdm.fixed] = 0.0
    a, b = bdm.solve(va, vn), free.solve(va, vn)
    np.testing.assert_allclose(a.dv_atoms[:, 0], b.dv_atoms[:, 0], atol=1e-13)
    np.testing.assert_allclose(a.dv_nodes[:, 0], b.dv_nodes[:, 0], atol=1e-13)
    assert np.max(np.abs(a.dv_nodes[:, 1] - b.dv_nodes[:, 1])) > 1e-3  # the fixed one differs


@pytest.mark.parametrize("exact", [True, False])
def test_bath_keeps_dirichlet_components_and_the_constraint(exact, monkeypatch):
    """The exact (per-component operators) and the split bath (inverse mass 0 on the fixed
    dof, then the caller's re-projection) never move a Dirichlet dof, and the exact one stays
    on the constraint; its energy bookkeeping is the kinetic-energy change."""
    import mscouple.coupling.damping as damping_mod

    if not exact:
        monkeypatch.setattr(damping_mod, "EXACT_LIMIT", 0)
    bdm, gamma, ids = _band("nodes")
    rng = np.random.default_rng(7)
    va, vn = rng.normal(size=(bdm.m.size, K)), rng.normal(size=(bdm.M.size, K))
    vn[bdm.fixed] = 0.0
    r = bdm.solve(va, vn)
    va, vn = va + r.dv_atoms, vn + r.dv_nodes
    bath = ConstrainedDampingBand(gamma, bdm, ids, "continuum", temperature=1.3, seed=3)
    assert bath.exact is exact
    for s in range(20):
        va, vn = bath.apply_band(va, vn, 0.1, s)
        if not exact:
            r = bdm.solve(va, vn)
            va, vn = va + r.dv_atoms, vn + r.dv_nodes
        assert np.all(vn[bdm.fixed] == 0.0)
        assert np.max(np.abs(bdm.C.T @ bdm.gap(va, vn))) < 1e-11


def test_bath_is_canonical_on_the_reduced_constraint():
    """Stationarity of k_B T P_f M⁻¹ (P_f: the projection with the Dirichlet dof, built from
    ``solve``) under the exact bath's operators of the fixed component (replicas as
    columns; the free component is the plain band of test_damping_constrained.py).
    4,000 replicas, 40 correlated snapshots: σ ≈ 0.5 % of the band's kinetic energy,
    asserted within 2 % for atoms and nodes."""
    T, R, h = 1.3, 4000, 0.1
    bdm, gamma, ids = _band("nodes")
    ma, n = bdm.m.size, bdm.M.size
    Mb_inv = np.r_[1.0 / bdm.m, 1.0 / bdm.M]
    cols = []
    for j in range(ma + n):  # P_f M⁻¹, column by column, in component 1
        e = np.zeros((ma + n, K))
        e[j, 1] = Mb_inv[j]
        if j >= ma and bdm.fixed[j - ma, 1]:
            cols.append(np.zeros(ma + n))  # the Dirichlet dof has no mobility
            continue
        r = bdm.solve(e[:ma], e[ma:])
        cols.append(np.r_[e[:ma, 1] + r.dv_atoms[:, 1], e[ma:, 1] + r.dv_nodes[:, 1]])
    C = T * np.array(cols).T
    C = 0.5 * (C + C.T)
    lam, Q = np.linalg.eigh(C)
    y = (Q * np.sqrt(np.clip(lam, 0, None))) @ np.random.default_rng(0).normal(size=(ma + n, R))
    bath = ConstrainedDampingBand(gamma, bdm, ids, "continuum", temperature=T, seed=4)
    E, L, _ = bath._operators(h, 1)
    mb = np.r_[bdm.m, bdm.M]
    ke_can = mb * np.diag(C)
    acc = np.zeros(ma + n)
    rng = np.random.default_rng(1)
    for s in range(60):  # 6 τ: ≥ 3/γ for the strongly damped half of the band
        y = E @ y
        eta = L @ rng.normal(size=(ma, R))
        y[:ma] += eta
        y[ma:] += bath._R @ eta
        y[ma:][bdm.fixed[:, 1]] = 0.0
        if s >= 20:
            acc += mb * np.mean(y ** 2, axis=1) / 40
    assert acc[:ma].sum() / ke_can[:ma].sum() == pytest.approx(1.0, abs=0.02)
    assert acc[ma:].sum() / ke_can[ma:].sum() == pytest.approx(1.0, abs=0.02)


@pytest.mark.parametrize("multipliers", ["atoms", "nodes"])
def test_band_dof_count_is_the_canonical_trace(multipliers):
    """T_bath's degrees of freedom: on the constraint the canonical ⟨2 KE⟩ of the band
    (atoms and nodes) is k_B T tr(M_b P M_b⁻¹) = k_B T dim S. dim S from P itself (solve on
    unit impulses, both components) equals the count the coupler uses:
    k (m_band + n_band − multipliers) − Dirichlet components."""
    bdm, _, _ = _band(multipliers)
    ma, n = bdm.m.size, bdm.M.size
    Mb = np.r_[bdm.m, bdm.M]
    trace = 0.0
    for c in range(K):
        for j in range(ma + n):
            if j >= ma and bdm.fixed[j - ma, c]:
                continue  # a Dirichlet dof: not a degree of freedom
            e = np.zeros((ma + n, K))
            e[j, c] = 1.0 / Mb[j]
            r = bdm.solve(e[:ma], e[ma:])
            y = e[:, c] + np.r_[r.dv_atoms[:, c], r.dv_nodes[:, c]]
            trace += Mb[j] * y[j]
    nmult = n if multipliers == "nodes" else ma
    assert trace == pytest.approx(K * (ma + n - nmult) - int(bdm.fixed.sum()), abs=1e-8)
