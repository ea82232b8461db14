"""Parallel HDF5 base: rank-count independence of file content (run under mpirun)."""
from __future__ import annotations

import h5py
import numpy as np
import pytest

from mscouple.io.hdf5 import h5py_is_parallel, open_h5


def _scattered(comm, n):
    """A deterministic random distribution of ids 0..n-1 over the ranks of comm."""
    rng = np.random.default_rng(42)
    owner = rng.integers(0, comm.Get_size(), n)
    ids = rng.permutation(n)[owner[np.arange(n)] == comm.Get_rank()]
    return ids


@pytest.mark.mpi(min_size=2)
@pytest.mark.parametrize("parallel", [None, False])
def test_parallel_write_matches_serial(comm, shared_tmp, parallel):
    n = 37
    ids = _scattered(comm, n) + 5
    data = np.stack([np.sin(ids), np.cos(ids), ids * 0.5], axis=1)
    blocks = np.arange(comm.Get_rank() * 10, comm.Get_rank() * 10 + 3 + comm.Get_rank(), dtype=np.int32)
    path = shared_tmp / f"par_{parallel}.h5"
    with open_h5(comm, path, parallel=parallel) as f:
        assert f.parallel == (parallel is None and h5py_is_parallel())
        f.write_by_id("x", ids, data, ids_name="ids")
        f.write_blocks("b", blocks)
        f.write_replicated("s", np.array([1.5, 2.5]))
    all_blocks = np.concatenate(comm.allgather(blocks))
    comm.Barrier()
    if comm.Get_rank() == 0:
        from mpi4py import MPI

        ref = shared_tmp / f"ser_{parallel}.h5"
        all_ids = np.arange(5, n + 5)
        with open_h5(MPI.COMM_SELF, ref) as f:
            f.write_by_id("x", all_ids[::-1], np.stack([np.sin(all_ids), np.cos(all_ids), all_ids * 0.5], axis=1)[::-1], ids_name="ids")
            f.write_blocks("b", all_blocks)
            f.write_replicated("s", np.array([1.5, 2.5]))
        with h5py.File(path, "r") as a, h5py.File(ref, "r") as b:
            for name in ("x", "ids", "b", "s"):
                assert a[name].dtype == b[name].dtype
                np.testing.assert_array_equal(a[name][...], b[name][...])
    comm.Barrier()


@pytest.mark.mpi(min_size=2)
def test_parallel_mode_under_mpirun(comm):
    # Debian's h5py loads its MPI build under mpirun: the mpio path must really be exercised.
    assert h5py_is_parallel()


@pytest.mark.mpi(min_size=2)
def test_failure_on_all_ranks_keeps_original(comm, shared_tmp):
    path = shared_tmp / "keep.h5"
    with open_h5(comm, path) as f:
        f.write_blocks("x", np.full(2, comm.Get_rank(), dtype=float))
    with pytest.raises(RuntimeError):
        with open_h5(comm, path) as f:
            f.write_blocks("x", np.zeros(1))
            raise RuntimeError("collective failure")
    comm.Barrier()
    with h5py.File(path, "r", driver=None) if comm.Get_rank() == 0 else _null() as h:
        if h is not None:
            np.testing.assert_array_equal(h["x"][...], np.repeat(np.arange(comm.Get_size()), 2))
            assert not list(shared_tmp.glob(".*.tmp"))
    comm.Barrier()


class _null:
    def __enter__(self):
        return None

    def __exit__(self, *a):
        return False


@pytest.mark.mpi(min_size=2)
@pytest.mark.parametrize("parallel", [None, False])
def test_write_blocks_at_given_offsets(comm, shared_tmp, parallel):
    # ranks own blocks in reverse rank order: rank r holds rows [off_r, off_r + r + 2)
    size, rank = comm.Get_size(), comm.Get_rank()
    counts = [r + 2 for r in range(size)]
    offs = {r: sum(counts[q] for q in range(r + 1, size)) for r in range(size)}
    total = sum(counts)
    rows = np.arange(offs[rank], offs[rank] + counts[rank], dtype=np.float64) ** 2
    path = shared_tmp / "blocks.h5"
    with open_h5(comm, path, parallel=parallel) as f:
        n = f.write_blocks("y", rows, offset=offs[rank], n_global=total)
        with pytest.raises(ValueError, match="do not tile"):
            f.write_blocks("z", rows, offset=0)
    assert n == total
    if comm.Get_rank() == 0:
        with h5py.File(path, "r") as h:
            np.testing.assert_array_equal(h["y"][...], np.arange(total, dtype=float) ** 2)
    comm.Barrier()
