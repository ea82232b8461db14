"""Ghost forces of the energy-blended handshake (1D chain between bars) and the dead-load fix."""

import numpy as np
import pytest

from mscouple.coupling.bdm import BridgingDomain
from mscouple.coupling.dynamics import BridgingDomainCoupler
from mscouple.coupling.exchange import InterfaceExchange
from mscouple.validation import wave1d as W
from mscouple.validation.ghost import DeadLoadCorrection, measure_ghost_forces
from mscouple.validation.models1d import Bar1D, Chain1D

SIG = ((1 + 2.0 ** -6) / (2 * (1 + 2.0 ** -12))) ** (1 / 6)  # LJ (1st+2nd neighbours) at rest for a = 1
F_BOND = abs(4 * (-12 * SIG ** 12 + 6 * SIG ** 6))  # |V'(a)|, a typical bond force


def _lj_setup(band_elements, ratio=1, multipliers="atoms"):
    g = W.geometry(40, ratio, band_elements, 10)
    chain = Chain1D(g.chain.x0[:, 0], weight=g.chain.weight, potential="lj", sigma=SIG)
    v2 = lambda r: 4 * (156 * SIG ** 12 / r ** 14 - 42 * SIG ** 6 / r ** 8)  # noqa: E731
    bar = Bar1D(g.nodes, g.cells, g.bar.cell_weight, EA=v2(1.0) + 4 * v2(2.0), rhoA=1.0)  # Cauchy–Born
    ex = InterfaceExchange.local(g.band_atoms, chain.x0[g.band_atoms], g.nodes[:, None], g.cells, "P1")
    cp = BridgingDomainCoupler(ex, patch=chain, continuum=bar, band_atoms=g.band_atoms, multipliers=multipliers)
    return g, chain, bar, cp


def _ghost(g, chain, bar, cp):
    chain.compute_forces()
    bar.compute_forces()
    return measure_ghost_forces(chain.f, bar.f, F_BOND, cp.bdm, g.band_atoms)


def test_lj_ghost_forces_exist_and_fall_as_the_band_widens():
    rel = [_ghost(*_lj_setup(nb)).relative for nb in (2, 4, 8, 16)]
    assert rel[0] > 1e-2  # energy blending of a 2nd-neighbour potential is not patch-test exact
    assert all(b < a for a, b in zip(rel, rel[1:]))
    assert rel[-1] < 0.25 * rel[0]  # roughly ∝ 1 / band width


def test_ghost_forces_are_constraint_projected_residuals():
    g, chain, bar, cp = _lj_setup(4)
    gf = _ghost(g, chain, bar, cp)
    # interior atoms (weight 1, perfect lattice) feel no force at all
    assert np.abs(gf.atoms[g.interior[5:-5]]).max() < 1e-12 * F_BOND
    assert isinstance(cp.bdm, BridgingDomain)


@pytest.mark.parametrize("multipliers", ["atoms", "nodes"])
def test_dead_load_correction_keeps_strained_coupled_system_at_rest(multipliers):
    g, chain, bar, cp = _lj_setup(4, ratio=2, multipliers=multipliers)
    eps = 0.002
    chain.u[:, 0] = eps * chain.x0[:, 0]
    bar.u[:, 0] = eps * bar.x0[:, 0]
    chain.compute_forces()
    bar.compute_forces()
    before = measure_ghost_forces(chain.f, bar.f, F_BOND).relative
    corr = DeadLoadCorrection(chain.f, bar.f)
    chain.external_force[:] = corr.atom_force
    bar.external_force[:] = corr.node_force
    chain.compute_forces()
    bar.compute_forces()
    u0c, u0b = chain.u.copy(), bar.u.copy()
    cp.step(0.05, 1000)
    moved = max(np.abs(chain.u - u0c).max(), np.abs(bar.u - u0b).max())
    assert before > 1e-3  # there was something to correct
    assert moved <= 1e-10
