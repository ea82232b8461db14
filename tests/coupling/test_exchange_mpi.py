"""Interface exchange over an intercommunicator (continuum ranks ⇄ patch ranks)."""
import numpy as np
import pytest

from mscouple.coupling.exchange import InterfaceExchange

from .meshes import p1_mesh


def _split(comm):
    size, rank = comm.Get_size(), comm.Get_rank()
    nc = max(1, size // 2)
    color = 0 if rank < nc else 1
    local = comm.Split(color, rank)
    remote_leader = nc if color == 0 else 0
    inter = local.Create_intercomm(0, comm, remote_leader, tag=11)
    return color, local, inter, nc


def _atoms():
    a = 0.5
    g = np.arange(2.0 + a / 4, 6.0, a)
    X = np.stack(np.meshgrid(g, np.arange(a / 4, 4.0, a), indexing="ij"), -1).reshape(-1, 2)
    return np.arange(len(X), dtype=np.int64) * 3 + 5, X


def _linear(x):
    return np.stack([0.3 * x[:, 0] - 1.1 * x[:, 1] + 0.2, 1.7 * x[:, 0] + 0.4 * x[:, 1] - 2.0], axis=1)


@pytest.mark.mpi(min_size=2)
def test_exchange_pattern_interpolation_and_work(comm):
    color, local, inter, nc = _split(comm)
    ids_all, X_all = _atoms()
    nodes, cells = p1_mesh((8, 4), h=1.0)
    if color == 0:
        cx = nodes[cells].mean(axis=1)[:, 0]
        mine = cells[(np.floor(cx / 8.0 * local.Get_size()).astype(int)) == local.Get_rank()]
        ex = InterfaceExchange.setup(inter, "continuum", nodes=nodes, cells=mine, kind="P1", dim=2)
        # every atom assigned to exactly one continuum rank
        got = np.concatenate(local.allgather(ex.atom_ids))
        assert np.array_equal(np.sort(got), np.sort(ids_all))
        # patch → continuum carries the right rows
        recv = ex.to_continuum(None, ncomp=3)
        np.testing.assert_array_equal(recv[:, 0], ex.atom_ids.astype(float))
        np.testing.assert_array_equal(recv[:, 1:], ex.reference)
        # continuum → patch: interpolated linear field
        U = _linear(nodes)
        ex.to_patch(ex.transfer.interpolate(U), ncomp=2)
        # forces back, restricted to nodes; work on the continuum side
        f = ex.to_continuum(None, ncomp=2)
        F = ex.transfer.restrict(f)
        w = float(np.sum(F * U))
        assert ex.n_assigned == recv.shape[0]
    else:
        sel = np.arange(len(ids_all)) % local.Get_size() == local.Get_rank()
        ids, X = ids_all[sel], X_all[sel]
        ex = InterfaceExchange.setup(inter, "patch", ids=ids, reference=X, dim=2)
        assert ex.to_continuum(np.column_stack([ids.astype(float), X]), ncomp=3) is None
        u = ex.to_patch(None, ncomp=2)
        np.testing.assert_allclose(u, _linear(X), atol=1e-12)
        f = np.stack([np.sin(ids * 0.37), np.cos(ids * 1.3)], axis=1)
        ex.to_continuum(f, ncomp=2)
        w = float(np.sum(f * u))
        assert set(ex.peers) <= set(range(nc))
    w_cont = comm.allreduce(w if color == 0 else 0.0)
    w_atoms = comm.allreduce(w if color == 1 else 0.0)
    assert w_cont == pytest.approx(w_atoms, rel=1e-12)
    inter.Free()
    local.Free()


def test_local_exchange_is_identity_and_builds_transfer():
    ids, X = _atoms()
    nodes, cells = p1_mesh((8, 4), h=1.0)
    ex = InterfaceExchange.local(ids, X, nodes, cells, "P1")
    v = np.random.default_rng(0).normal(size=(len(ids), 2))
    np.testing.assert_array_equal(ex.to_continuum(v, 2), v)
    np.testing.assert_array_equal(ex.to_patch(v, 2), v)
    np.testing.assert_allclose(ex.transfer.interpolate(_linear(nodes)), _linear(X), atol=1e-12)
