"""Bridging-domain dynamics at finite temperature (issue 6, "equilibrium"): a coupled chain +
bars system started in equilibrium at T0, with the band's Langevin bath at T0, stays at T0 —
the handshake band neither heats nor cools (|ΔT| < 2 %).

Harmonic chain (k = m = a = 1; 16 interior atoms) between P1 bars (h = 2a, 8 elements each
side outside 8-element bands), node multipliers, stadium damping γ ≤ 0.5 on the fine scale
``v_α − Σ N_I v_I`` (``damping_reference="continuum"``), dt = 0.05. The models are linear and
the coupler treats every velocity component alike, so the R = 1024 columns of ``v`` are
independent replicas (each column has its own noise stream): an ensemble in one run. Every
degree of freedom (spring elongations, velocities) is drawn from the canonical distribution
at T0, velocities projected onto the constraint (the M-orthogonal projection of a canonical
draw is canonical on the constraint subspace S), so every average below has the canonical
value at every time if the bath is right.

Measured: ⟨m v²⟩ per group — interior atoms, band atoms, band nodes, outer bar nodes —
averaged over replicas and over 0–50 τ and 50–100 τ, divided by its canonical value on S
(k_B T0 away from the band; k_B T0 · m_i (P M_b⁻¹)_ii for band atoms and nodes, P the
constraint projector, computed here from ``BridgingDomain.solve``). Noise: standard deviation
over seeds 1–5 of each ratio ≤ 0.5 % (band and outer nodes), ≤ 0.15 % (atoms); all ratios of
seeds 1–5 lie in 0.990–1.009, so 2 % is ≥ 4σ. The former bath (OU friction on
v_α − Σ N v_I and noise on the atoms only, then re-projection) gives, seed 1: band nodes
1.36 → 1.94, outer bar 1.21 → 1.86, interior 1.15 → 1.39.
"""

import numpy as np
import scipy.sparse as sp

from mscouple.coupling.dynamics import BridgingDomainCoupler
from mscouple.coupling.exchange import InterfaceExchange

from mscouple.validation import wave1d as W

T0 = 1.0


class _LinearSide:
    """``R`` replicas of a linear mechanical side: mass [n], stiffness K [n, n] (sparse)."""

    def __init__(self, mass, K, R):
        self.mass = np.asarray(mass, dtype=float)
        self.K = sp.csr_matrix(K)
        n = self.mass.size
        self.u, self.v, self.f = np.zeros((n, R)), np.zeros((n, R)), np.zeros((n, R))

    def compute_forces(self):
        self.f[:] = -(self.K @ self.u)

    def kick(self, h):
        self.v += h * self.f / self.mass[:, None]

    def drift(self, dt):
        self.u += dt * self.v

    def kinetic_energy(self):
        return 0.5 * float(np.sum(self.mass[:, None] * self.v ** 2))

    def potential_energy(self):
        return 0.5 * float(np.sum(self.u * (self.K @ self.u)))


def _springs(i, j, k, n):
    """Assembled stiffness [n, n] of springs ``k`` [b] joining nodes ``i`` [b] and ``j`` [b]."""
    b = np.arange(i.size)
    D = sp.csr_matrix((np.r_[-np.ones(b.size), np.ones(b.size)], (np.r_[b, b], np.r_[i, j])), shape=(b.size, n))
    return D.T @ sp.diags(k) @ D


def _canonical_draw(side, i, j, k, x, rng):
    """Canonical state at T0 of a set of open chains of springs (cells ``i → j`` [b], node
    positions ``x``): independent elongations N(0, T0/k) and velocities N(0, T0/m)."""
    R = side.u.shape[1]
    d = rng.normal(size=(k.size, R)) * np.sqrt(T0 / k)[:, None]
    side.u[:] = 0.0
    for c in np.argsort(x[i]):  # left to right: every chain starts at u = 0
        side.u[j[c]] = side.u[i[c]] + d[c]
    side.v[:] = rng.normal(size=side.v.shape) * np.sqrt(T0 / side.mass)[:, None]


def _run(replicas=1024, nsteps=2000, dt=0.05, seed=1, n_interior=16, bar_elements=8, damping=0.5):
    g = W.geometry(n_interior, ratio=2, band_elements=8, bar_elements=bar_elements, damping=damping)
    ch, bar = g.chain, g.bar
    n = ch.mass.size
    ia, ja, ka = np.arange(n - 1), np.arange(1, n), ch.k * 0.5 * (ch.weight[1:] + ch.weight[:-1])
    ib, jb = bar.cells[:, 0], bar.cells[:, 1]
    chain = _LinearSide(ch.mass, _springs(ia, ja, ka, n), replicas)
    cont = _LinearSide(bar.mass, _springs(ib, jb, bar.ke, bar.mass.size), replicas)
    rng = np.random.default_rng(seed)
    _canonical_draw(chain, ia, ja, ka, ch.x0[:, 0], rng)
    _canonical_draw(cont, ib, jb, bar.ke, bar.x0[:, 0], rng)
    ex = InterfaceExchange.local(g.band_atoms, ch.x0[g.band_atoms], g.nodes[:, None], g.cells, "P1")
    cp = BridgingDomainCoupler(ex, patch=chain, continuum=cont, band_atoms=g.band_atoms, components=replicas,
                               multipliers="nodes", damping=g.gamma, temperature=T0, seed=seed,
                               damping_reference="continuum")
    chain.compute_forces()
    cont.compute_forces()
    cp.project()
    # canonical ⟨m v²⟩ on S: k_B T0 · m_i (P M_b⁻¹)_ii, P from the projection itself
    bdm = cp.bdm
    ma = bdm.m.size
    Minv = np.diag(np.r_[1.0 / bdm.m, 1.0 / bdm.M])
    res = bdm.solve(Minv[:ma], Minv[ma:])
    PMinv = Minv + np.vstack([res.dv_atoms, res.dv_nodes])
    can = T0 * np.r_[bdm.m, bdm.M] * np.diag(PMinv)
    band, inner = g.band_atoms, g.interior
    bn = bdm.nodes
    outer = np.setdiff1d(np.arange(cont.mass.size), bn)
    groups = [(chain, inner, np.full(inner.size, T0)), (chain, band, can[:ma]),
              (cont, bn, can[ma:]), (cont, outer, np.full(outer.size, T0))]
    every = 5
    rec = np.empty((nsteps // every, len(groups)))
    for s in range(rec.shape[0]):
        cp.step(dt, every)
        for c, (side, idx, ref) in enumerate(groups):
            rec[s, c] = np.sum(side.mass[idx, None] * side.v[idx] ** 2) / (replicas * ref.sum())
    half = rec.shape[0] // 2
    return rec[:half].mean(axis=0), rec[half:].mean(axis=0)


def test_fine_scale_bath_keeps_every_group_at_T0():
    early, late = _run()
    # interior atoms, band atoms, band nodes, outer bar nodes: ⟨m v²⟩ / canonical value
    np.testing.assert_allclose(early, 1.0, atol=0.02)
    np.testing.assert_allclose(late, 1.0, atol=0.02)
    np.testing.assert_allclose(late - early, 0.0, atol=0.02)  # no heating or cooling trend
