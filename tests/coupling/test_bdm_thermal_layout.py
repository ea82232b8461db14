"""Bridging-domain dynamics with the band's Langevin bath at T > 0 gives the single-rank
trajectory in any layout (continuum on 1 or 2 ranks, chain on the others): the band noise is
keyed by atom id and step, and the bath's operators commute with the order in which the band
atoms and nodes reach the continuum root. Real engines (MDSystem + ExplicitElastodynamics),
harmonic chain, h = 2a, node multipliers, stadium γ ≤ 0.3, T = 0.05."""

import numpy as np
import pytest
from mpi4py import MPI

from mscouple.validation import engines1d as E
from mscouple.validation import wave1d as W

T = 0.05


@pytest.mark.mpi(min_size=2)
def test_thermal_band_layouts_give_the_single_rank_answer(comm):
    from mscouple.coupling.dynamics import BridgingDomainCoupler
    from mscouple.coupling.exchange import InterfaceExchange

    n_int, ratio, nb, bars, nsteps = 40, 2, 4, 10, 300
    gamma = W.geometry(n_int, ratio, nb, bars, damping=0.3).gamma
    kw = dict(multipliers="nodes", damping=gamma, temperature=T, seed=11)
    # single-rank reference (every rank computes it)
    fe = E.make_continuum(MPI.COMM_SELF, n_int, ratio, nb, bars)
    md, band = E.make_patch(MPI.COMM_SELF, n_int, ratio, nb)
    ex = InterfaceExchange.local(md.ids[band], md.x0[band, :1], fe.nodes, fe.cells, "P1")
    cp = BridgingDomainCoupler(ex, patch=md, continuum=fe, band_atoms=band, components=1, **kw)
    cp.step(0.1, nsteps)
    u_ref = md.displacements()[np.argsort(md.ids), 0]
    e_ref = cp.energies().mechanical
    removed_ref = cp.ledger.damping_removed
    assert np.abs(u_ref).max() > 1e-3  # the bath heated the chain from rest
    # distributed
    size, rank = comm.Get_size(), comm.Get_rank()
    nc = 1 if size == 2 else 2
    color = 0 if rank < nc else 1
    local = comm.Split(color, rank)
    inter = local.Create_intercomm(0, comm, nc if color == 0 else 0, tag=43)
    if color == 0:
        fe = E.make_continuum(local, n_int, ratio, nb, bars)
        ex = InterfaceExchange.setup(inter, "continuum", nodes=fe.nodes, cells=fe.cells, kind="P1", dim=1)
        cp = BridgingDomainCoupler(ex, continuum=fe, local_comm=local, **kw)
    else:
        md, band = E.make_patch(local, n_int, ratio, nb)
        ex = InterfaceExchange.setup(inter, "patch", ids=md.ids[band], reference=md.x0[band, :1], dim=1)
        cp = BridgingDomainCoupler(ex, patch=md, band_atoms=band, local_comm=local, **kw)
    cp.step(0.1, nsteps)
    e = cp.energies().mechanical
    assert e == pytest.approx(e_ref, rel=1e-10)
    if color == 0 and local.Get_rank() == 0:
        assert cp.ledger.damping_removed == pytest.approx(removed_ref, rel=1e-9)
    if color == 1:
        ids, u = md.ids, md.displacements()[:, 0]
        np.testing.assert_allclose(u, u_ref[ids], rtol=0, atol=1e-9 * np.abs(u_ref).max())
    inter.Free()
    local.Free()
