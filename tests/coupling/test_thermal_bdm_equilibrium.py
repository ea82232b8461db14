"""Bridging-domain dynamics at finite temperature (issue 6, "equilibrium"): a chain + bars
system started in equilibrium at T0, with the band's Langevin bath at T0, must stay at T0.

Harmonic chain (k = m = a = 1) between P1 bars (h = 2a, 8-element bands, node multipliers),
every degree of freedom (atoms, bar nodes, bonds, elements) drawn from the canonical
distribution at T0. Noise: the chain is integrable, so the interior's energy keeps the
canonical scatter of its initial draw, ≈ 1/sqrt(200) = 7 % (measured over seeds: 0.86–1.05 T0
with the whole-velocity bath); a 2 % check needs ensembles not affordable here. What *is* clear
beyond the noise is the runaway heating of the fine-scale bath (×1.3 after 300 τ, ×1.7 after
800 τ): recorded as a strict xfail until dynamics.py couples its friction/noise to the nodes.
"""
import os
import sys

import numpy as np
import pytest

from mscouple.coupling.dynamics import BridgingDomainCoupler
from mscouple.coupling.exchange import InterfaceExchange

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "examples", "wave_1d"))
import wave1d as W  # noqa: E402

T0 = 1.0


def _run(reference, nsteps=6000, dt=0.05, seed=3):
    g = W.geometry(200, ratio=2, band_elements=8, bar_elements=40, damping=0.5)
    ch, bar = g.chain, g.bar
    ex = InterfaceExchange.local(g.band_atoms, ch.x0[g.band_atoms], g.nodes[:, None], g.cells, "P1")
    cp = BridgingDomainCoupler(ex, patch=ch, continuum=bar, band_atoms=g.band_atoms, components=1,
                               multipliers="nodes", damping=g.gamma, temperature=T0, seed=seed,
                               damping_reference=reference)
    rng = np.random.default_rng(seed)
    wb = 0.5 * (ch.weight[1:] + ch.weight[:-1])  # bond stiffness weights: independent Gaussians
    ch.u[1:, 0] = np.cumsum(rng.normal(size=wb.size) * np.sqrt(T0 / (ch.k * wb)))
    ch.v[:, 0] = rng.normal(size=ch.mass.size) * np.sqrt(T0 / ch.mass)
    i, j = bar.cells[:, 0], bar.cells[:, 1]
    d = rng.normal(size=i.size) * np.sqrt(T0 / bar.ke)
    u = np.zeros(bar.mass.size)
    for c in np.argsort(bar.x0[i, 0]):
        u[j[c]] = u[i[c]] + d[c]
    bar.u[:, 0] = u - u.mean()
    bar.v[:, 0] = rng.normal(size=bar.mass.size) * np.sqrt(T0 / bar.mass)
    ch.compute_forces()
    bar.compute_forces()
    cp.project()
    T = np.empty(nsteps)
    for k in range(nsteps):
        cp.step(dt, 1)
        T[k] = np.mean(ch.mass[g.interior] * ch.v[g.interior, 0] ** 2)
    w = nsteps // 3
    return T[:w].mean(), T[-w:].mean()


@pytest.mark.xfail(strict=True, reason="fine-scale Langevin (damping_reference='continuum') at T > 0 acts on "
                   "v_a - N v_I but only on the atoms: friction and noise violate fluctuation-dissipation and "
                   "the patch heats up (measured x1.7 in 800 tau) - dynamics.py")
def test_fine_scale_bath_keeps_interior_at_T0():
    early, late = _run("continuum")
    assert late == pytest.approx(T0, rel=0.15)  # 2x the canonical scatter
