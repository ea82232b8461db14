"""One projection per MD step (mscouple.run.couplers.merge_projections): the bridging-domain
projection P is linear and idempotent, so P(P(x) + y) = P(x + y) — skipping a step's end
projection when only kicks follow changes nothing but round-off. Checked on the band
system of a 2D P1 mesh (both multiplier kinds) and over 400 coupled steps of the 1D packet
(atoms and nodes multipliers): the merged sequence ends within 1e-12 of the textbook one."""
import numpy as np
import pytest

from mscouple.continuum.meshgen import box
from mscouple.coupling.bdm import BridgingDomain
from mscouple.coupling.transfer import build_transfer
from mscouple.validation import wave1d as W

DT = 0.1


@pytest.mark.parametrize("multipliers", ["atoms", "nodes"])
def test_projection_is_linear_and_idempotent(multipliers):
    rng = np.random.default_rng(5)
    mesh = box([6, 6], [0.0, 0.0], [6.0, 6.0])
    X = rng.uniform(0.5, 5.5, (400, 2))  # band atoms: ~11 per cell, every band node supported
    T = build_transfer(mesh.coordinates, mesh.cells, X, "P1")
    bdm = BridgingDomain(T.matrix, rng.uniform(0.2, 1.0, len(X)), rng.uniform(0.5, 2.0, len(mesh.coordinates)),
                         multipliers=multipliers)

    def P(va, vn):
        r = bdm.solve(va, vn)
        return va + r.dv_atoms, vn + r.dv_nodes

    va, vn = rng.standard_normal((len(X), 2)), rng.standard_normal((len(bdm.nodes), 2))
    ya, yn = rng.standard_normal(va.shape), rng.standard_normal(vn.shape)
    pa, pn = P(va, vn)
    scale = max(np.abs(pa).max(), np.abs(pn).max())
    qa, qn = P(pa, pn)  # idempotent
    assert max(np.abs(qa - pa).max(), np.abs(qn - pn).max()) < 1e-13 * scale
    a1, n1 = P(pa + ya, pn + yn)  # P(P(x) + y)
    a2, n2 = P(va + ya, vn + yn)  # P(x + y)
    assert max(np.abs(a1 - a2).max(), np.abs(n1 - n2).max()) < 1e-13 * scale
    # and the projection does something: x itself is far from the constraint
    # (the constraint Cᵀ g = 0: every atom's gap, or its restriction to the nodes)
    assert np.abs(bdm.C.T @ bdm.gap(va, vn)).max() > 0.1
    assert np.abs(bdm.C.T @ bdm.gap(pa, pn)).max() < 1e-12 * scale


@pytest.mark.parametrize("multipliers", ["atoms", "nodes"])
def test_merged_steps_end_where_the_textbook_steps_end(multipliers):
    a = W.build(200, 4, 4, bar_elements=60, multipliers=multipliers)
    b = W.build(200, 4, 4, bar_elements=60, multipliers=multipliers)
    for s in (a, b):
        W.launch(s.chain, 2 * np.pi / 20, 20.0, s.chain.x0[s.interior[0], 0] + 60)
    h, n = 0.5 * DT, 400
    for s, merge in ((a, False), (b, True)):
        cp = s.coupler
        for i in range(n):
            s.chain.kick(h); s.bar.kick(h); cp.project()
            s.chain.drift(DT); s.bar.drift(DT); s.chain.compute_forces(); s.bar.compute_forces()
            s.chain.kick(h); s.bar.kick(h)
            if not merge or i == n - 1:
                cp.project(DT)
    amp = np.abs(a.chain.v).max()
    assert amp > 1e-5  # the packet is in the game
    assert np.abs(a.chain.v - b.chain.v).max() < 1e-12 * amp
    assert np.abs(a.bar.v - b.bar.v).max() < 1e-12 * amp
    assert np.abs(a.chain.u - b.chain.u).max() < 1e-12 * np.abs(a.chain.u).max()
