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


@pytest.mark.parametrize("multipliers,k", [("atoms", 1), ("nodes", 1), ("atoms", 3)])
def test_merged_steps_book_the_same_constraint_work(multipliers, k):
    """BridgingDomainCoupler.step(merge=True) books ½ of a merged projection's work: the
    same W_constraint as two projections per step, to round-off (the unscaled merged work
    is 2×: measured 12.35 vs 6.24 on wave_3d before the factor). Steps in uneven chunks,
    so subcycles are cut short and realigned (their junctions keep both projections)."""
    a = W.build(200, 4, 4, bar_elements=60, multipliers=multipliers)
    b = W.build(200, 4, 4, bar_elements=60, multipliers=multipliers)
    for s in (a, b):
        s.coupler.subcycle = k
        W.launch(s.chain, 2 * np.pi / 20, 20.0, s.chain.x0[s.interior[-1], 0] - 30)  # into the band
    packet = W.interior_energy(a.chain, a.interior)
    for n in (7, 13, 1, 40, 5, 134, 300, 100):  # 600 steps: the packet crosses the band
        a.coupler.step(DT, n)
        b.coupler.step(DT, n, merge=True)
    wa, wb = a.coupler.ledger.constraint_work, b.coupler.ledger.constraint_work
    ea, eb = a.coupler.energies().mechanical, b.coupler.energies().mechanical
    assert wa < -1e-2 * packet  # measured -3 % (atoms) and -1.3 % (nodes) of the packet
    assert abs(wb - wa) < 1e-11 * abs(wa)  # measured <= 3e-13
    assert abs(eb - ea) < 1e-12 * ea
    # positions ~200 a carry a round-off of ~3e-14 a per step: measured |Δv| <= 6.3e-14
    amp = np.abs(a.chain.v).max()
    assert np.abs(a.chain.v - b.chain.v).max() < 1e-9 * amp


def test_end_projections_keep_the_last_step_and_cycle_junctions():
    from mscouple.coupling.dynamics import end_projections
    assert end_projections(3, 1, 0, merge=False) == [True] * 3
    assert end_projections(3, 1, 0, merge=True) == [False, False, True]
    # cycles(8, 3, phase 1) = [2, 3, 3]: the short first cycle's end (step 1) keeps it
    assert end_projections(8, 3, 1, merge=True) == [False, True, False, False, False, False, False, True]
