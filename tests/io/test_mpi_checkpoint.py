"""Checkpoint round trip on several ranks, re-read on one and on a different split."""
from __future__ import annotations

import numpy as np
import pytest

from mscouple.errors import CheckpointError
from mscouple.io.checkpoint import read_checkpoint, write_checkpoint

CASE = {"units": "lj", "md": {"dt": 0.005}}
N = 41


def _global():
    rng = np.random.default_rng(11)
    ids = rng.permutation(N) * 3 + 7  # sparse, unsorted global ids
    return ids, rng.random((N, 3)), rng.normal(size=(N, 3))


def _mine(comm, parity=0):
    ids, x, v = _global()
    owner = (np.arange(N) * 7 + parity) % comm.Get_size()
    m = owner == comm.Get_rank()
    return ids[m], x[m], v[m]


@pytest.mark.mpi(min_size=2)
@pytest.mark.parametrize("parallel", [None, False])
def test_round_trip_on_n_ranks_and_on_one(comm, shared_tmp, parallel):
    from mpi4py import MPI

    ids, x, v = _mine(comm)
    gen = np.random.default_rng(100 + comm.Get_rank())
    path = shared_tmp / f"ck_{parallel}.h5"
    # the continuum array lives on rank 0 only; the others omit it
    arrays = {"patch0/x": (ids, x), "patch0/v": (ids, v)}
    if comm.Get_rank() == 0:
        arrays["continuum/T"] = (np.arange(5), np.linspace(1, 2, 5))
    write_checkpoint(comm, path, step=9, time=0.045, case=CASE, arrays=arrays,
                     rng_states={"langevin": gen}, scalars={"zeta": 0.5}, parallel=parallel)

    # same rank count, a different ownership: take() redistributes by id
    ids2, x2, v2 = _mine(comm, parity=1)
    ck = read_checkpoint(comm, path, case=CASE, parallel=parallel)
    assert ck.step == 9 and ck.time == 0.045 and ck.scalars["zeta"] == 0.5
    np.testing.assert_array_equal(ck.take("patch0/x", ids2), x2)
    np.testing.assert_array_equal(ck.take("patch0/v", ids2), v2)
    ref = np.random.default_rng(100 + comm.Get_rank()).random(4)
    g = np.random.default_rng(0)
    g.bit_generator.state = ck.rng_state("langevin")
    np.testing.assert_array_equal(g.random(4), ref)
    # balanced blocks cover every id exactly once
    bid, bx = ck.block("patch0/x")
    all_ids = np.concatenate(comm.allgather(bid))
    gids, gx, _ = _global()
    np.testing.assert_array_equal(all_ids, np.sort(gids))
    np.testing.assert_array_equal(np.concatenate(comm.allgather(bx)), gx[np.argsort(gids)])

    # re-read on one rank
    if comm.Get_rank() == 0:
        one = read_checkpoint(MPI.COMM_SELF, path, case=CASE)
        gi, gx, gv = _global()
        np.testing.assert_array_equal(one.take("patch0/v", gi), gv)
        np.testing.assert_array_equal(one.take("continuum/T", np.arange(5)), np.linspace(1, 2, 5))
        assert one.rng_state("langevin") is None  # other rank count: re-seed instead
        assert len(one.all_rng_states) == comm.Get_size()
    comm.Barrier()


@pytest.mark.mpi(min_size=2)
def test_wrong_case_refused_on_every_rank(comm, shared_tmp):
    ids, x, v = _mine(comm)
    path = shared_tmp / "ck.h5"
    write_checkpoint(comm, path, step=1, time=0.0, case=CASE, arrays={"x": (ids, x)})
    with pytest.raises(CheckpointError, match="different case"):
        read_checkpoint(comm, path, case={"units": "metal"})
    comm.Barrier()
