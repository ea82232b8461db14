"""The coupled driver on the real engines (MDSystem + ExplicitElastodynamics) reproduces the
NumPy reference models of the same chain and bars."""

import numpy as np
import pytest
from petsc4py import PETSc  # noqa: F401  (mandatory: a broken build fails here)

import mscouple._kernels.pair  # noqa: F401  (mandatory: a broken build fails here)
from mscouple.validation import engines1d as E
from mscouple.validation import wave1d as W


@pytest.mark.parametrize("ratio,multipliers", [(1, "atoms"), (4, "nodes")])
def test_engines_match_reference(ratio, multipliers):
    n_int, nb, bars = 120, 4, 20
    md, fe, cp, interior, band = E.build_engines(n_int, ratio, nb, bars, multipliers)
    s = W.build(n_int, ratio, nb, bars, multipliers)
    assert np.array_equal(interior, s.interior)
    W.launch(s.chain, 2 * np.pi / 16, 8.0, s.chain.x0[s.interior[0], 0] + 40)
    md.x[:, 0] = md.x0[:, 0] + s.chain.u[:, 0]
    md.v[:, 0] = s.chain.v[:, 0]
    md.compute_forces()
    e0 = cp.energies().mechanical
    assert e0 == pytest.approx(s.coupler.energies().mechanical, rel=1e-12)
    cp.step(0.1, 800)
    s.coupler.step(0.1, 800)
    u_ref = s.chain.u[:, 0]
    assert np.abs(s.bar.u).max() > 0.1 * np.abs(u_ref).max()  # the packet is crossing the band
    np.testing.assert_allclose(md.displacements()[:, 0], u_ref, rtol=0, atol=1e-8 * np.abs(u_ref).max())
    assert cp.energies().mechanical == pytest.approx(e0, rel=1e-3)


def _packet(n_int, ratio, nb):
    s = W.build(n_int, ratio, nb, 4)
    W.launch(s.chain, 2 * np.pi / 16, 8.0, s.chain.x0[s.interior[0], 0] + 40)
    return s.chain.u[:, 0].copy(), s.chain.v[:, 0].copy()


@pytest.mark.mpi(min_size=2)
@pytest.mark.parametrize("multipliers", ["atoms", "nodes"])
def test_layouts_give_the_single_rank_answer(comm, multipliers):
    """Continuum on 1 or 2 ranks, chain on 1 or 2 ranks: same trajectory as one rank."""
    from mscouple.coupling.dynamics import BridgingDomainCoupler
    from mscouple.coupling.exchange import InterfaceExchange

    n_int, ratio, nb, bars, nsteps = 120, 2, 4, 20, 600
    u0, v0 = _packet(n_int, ratio, nb)
    # single-rank reference (every rank computes it)
    md, fe, cp, interior, band = E.build_engines(n_int, ratio, nb, bars, multipliers)
    md.x[:, 0] = md.x0[:, 0] + u0[md.ids]
    md.v[:, 0] = v0[md.ids]
    md.compute_forces()
    cp.step(0.1, nsteps)
    u_ref = md.displacements()[np.argsort(md.ids), 0]
    e_ref = cp.energies().mechanical
    # distributed
    size, rank = comm.Get_size(), comm.Get_rank()
    nc = 1 if size == 2 else 2
    color = 0 if rank < nc else 1
    local = comm.Split(color, rank)
    inter = local.Create_intercomm(0, comm, nc if color == 0 else 0, tag=41)
    if color == 0:
        fe = E.make_continuum(local, n_int, ratio, nb, bars)
        ex = InterfaceExchange.setup(inter, "continuum", nodes=fe.nodes, cells=fe.cells, kind="P1", dim=1)
        cp = BridgingDomainCoupler(ex, continuum=fe, multipliers=multipliers, local_comm=local)
    else:
        md, band = E.make_patch(local, n_int, ratio, nb)
        md.x[:, 0] = md.x0[:, 0] + u0[md.ids]
        md.v[:, 0] = v0[md.ids]
        md.compute_forces()
        ex = InterfaceExchange.setup(inter, "patch", ids=md.ids[band], reference=md.x0[band, :1], dim=1)
        cp = BridgingDomainCoupler(ex, patch=md, band_atoms=band, multipliers=multipliers, local_comm=local)
    cp.step(0.1, nsteps)
    e = cp.energies().mechanical
    assert e == pytest.approx(e_ref, rel=1e-10)
    if color == 1:
        ids, u = md.ids, md.displacements()[:, 0]
        np.testing.assert_allclose(u, u_ref[ids], rtol=0, atol=1e-9 * np.abs(u_ref).max())
    inter.Free()
    local.Free()
