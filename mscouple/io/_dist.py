"""Small MPI helpers for distributed rows: offsets, gathers and id-keyed redistribution.

Every function is collective over ``comm`` (an ``mpi4py.MPI.Comm``) and must be called by
all its ranks with arrays of the same dtype and the same trailing shape (a rank with no
rows may pass an empty array of any shape: the layout of the first non-empty rank wins).
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

_MPI_INT_MAX = 2**31 - 1


def block_range(n_global: int, size: int, rank: int) -> tuple[int, int]:
    """Balanced contiguous block ``[start, stop)`` of ``n_global`` rows owned by ``rank``."""
    base, extra = divmod(int(n_global), int(size))
    start = rank * base + min(rank, extra)
    return start, start + base + (1 if rank < extra else 0)


def exscan_offset(comm: Any, n_local: int) -> tuple[int, int]:
    """``(offset, total)``: rows before this rank in rank order, and the global row count."""
    counts = comm.allgather(int(n_local))
    rank = comm.Get_rank()
    return int(sum(counts[:rank])), int(sum(counts))


def agree_layout(comm: Any, arr: np.ndarray) -> tuple[np.dtype, tuple[int, ...]]:
    """dtype and trailing shape agreed over ranks (from the first rank holding rows)."""
    arr = np.asarray(arr)
    info = comm.allgather((arr.shape[0] if arr.ndim else 1, arr.dtype.str, arr.shape[1:]))
    for n, dt, tail in info:
        if n > 0:
            return np.dtype(dt), tuple(tail)
    return np.dtype(info[0][1]), tuple(info[0][2])


def conform(arr: Any, dtype: np.dtype, tail: tuple[int, ...]) -> np.ndarray:
    """Return ``arr`` as a C-contiguous array of ``dtype`` with rows of shape ``tail``."""
    a = np.asarray(arr)
    if a.size == 0:
        return np.empty((0,) + tail, dtype=dtype)
    a = np.ascontiguousarray(a, dtype=dtype)
    if a.shape[1:] != tail:
        raise ValueError(
            f"distributed array rows have shape {a.shape[1:]} on this rank but {tail} on "
            "another: every rank must pass rows of the same shape"
        )
    return a


def _as_bytes(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a).reshape(-1).view(np.uint8) if a.size else np.empty(0, np.uint8)


def gather_rows(comm: Any, arr: np.ndarray, root: int = 0) -> np.ndarray | None:
    """Concatenate every rank's rows (rank order) on ``root``; ``None`` elsewhere."""
    dtype, tail = agree_layout(comm, arr)
    a = conform(arr, dtype, tail)
    rowbytes = int(np.prod(tail, dtype=np.int64)) * dtype.itemsize
    counts = comm.gather(a.shape[0], root=root)
    if comm.Get_rank() == root:
        total = int(sum(counts))
        out = np.empty((total,) + tail, dtype=dtype)
        bcounts = [c * rowbytes for c in counts]
        if sum(bcounts) > _MPI_INT_MAX:
            raise OverflowError("gather of more than 2 GiB: use the parallel (mpio) HDF5 path")
        displs = np.concatenate(([0], np.cumsum(bcounts)[:-1])).astype(int).tolist()
        recv = out.reshape(-1).view(np.uint8) if total and rowbytes else np.empty(0, np.uint8)
        comm.Gatherv(_as_bytes(a), [recv, (bcounts, displs), _byte_type()], root=root)
        return out
    comm.Gatherv(_as_bytes(a), None, root=root)
    return None


def scatter_rows(comm: Any, arr: np.ndarray | None, counts: Sequence[int], root: int = 0) -> np.ndarray:
    """Inverse of :func:`gather_rows`: rank r receives ``counts[r]`` consecutive rows."""
    rank = comm.Get_rank()
    meta = comm.bcast((arr.dtype.str, arr.shape[1:]) if rank == root else None, root=root)
    dtype, tail = np.dtype(meta[0]), tuple(meta[1])
    rowbytes = int(np.prod(tail, dtype=np.int64)) * dtype.itemsize
    out = np.empty((int(counts[rank]),) + tail, dtype=dtype)
    recv = _as_bytes(out) if out.size else np.empty(0, np.uint8)
    if rank == root:
        bcounts = [int(c) * rowbytes for c in counts]
        displs = np.concatenate(([0], np.cumsum(bcounts)[:-1])).astype(int).tolist()
        a = conform(arr, dtype, tail)
        comm.Scatterv([_as_bytes(a), (bcounts, displs), _byte_type()], recv, root=root)
    else:
        comm.Scatterv(None, recv, root=root)
    if out.size:
        out = recv.view(dtype).reshape(out.shape)
    return out


def alltoall_rows(comm: Any, arr: np.ndarray, dest: np.ndarray) -> np.ndarray:
    """Send row ``i`` of ``arr`` to rank ``dest[i]``; return the received rows.

    Received rows are ordered by source rank, and within a source by their original order.
    """
    dtype, tail = agree_layout(comm, arr)
    a = conform(arr, dtype, tail)
    size = comm.Get_size()
    dest = np.asarray(dest, dtype=np.int64)
    order = np.argsort(dest, kind="stable")
    a = a[order]
    scounts = np.bincount(dest, minlength=size).astype(np.int64)
    rcounts = np.asarray(comm.alltoall(scounts.tolist()), dtype=np.int64)
    rowbytes = int(np.prod(tail, dtype=np.int64)) * dtype.itemsize
    out = np.empty((int(rcounts.sum()),) + tail, dtype=dtype)
    if rowbytes == 0:
        return out
    sb, rb = scounts * rowbytes, rcounts * rowbytes
    if sb.sum() > _MPI_INT_MAX or rb.sum() > _MPI_INT_MAX:
        raise OverflowError("redistribution of more than 2 GiB per rank is not supported")
    sd = np.concatenate(([0], np.cumsum(sb)[:-1]))
    rd = np.concatenate(([0], np.cumsum(rb)[:-1]))
    recv = _as_bytes(out) if out.size else np.empty(0, np.uint8)
    comm.Alltoallv(
        [_as_bytes(a), (sb.tolist(), sd.tolist()), _byte_type()],
        [recv, (rb.tolist(), rd.tolist()), _byte_type()],
    )
    if out.size:
        out = recv.view(dtype).reshape(out.shape)
    return out


def _byte_type():
    from mpi4py import MPI

    return MPI.BYTE


def owner_of_sorted_position(pos: np.ndarray, n_global: int, size: int) -> np.ndarray:
    """Rank owning each global sorted row position under :func:`block_range`."""
    starts = np.array([block_range(n_global, size, r)[0] for r in range(size)], dtype=np.int64)
    return np.searchsorted(starts, np.asarray(pos, dtype=np.int64), side="right") - 1


def allreduce_flag(comm: Any, bad: bool) -> bool:
    """True on every rank if ``bad`` is true on any rank."""
    from mpi4py import MPI

    return bool(comm.allreduce(1 if bad else 0, op=MPI.MAX))


def raise_collective(comm: Any, exc: BaseException | None, root: int | None = None) -> None:
    """Raise the same error on every rank if ``exc`` is set on any rank (or on ``root``).

    With ``root`` given, only that rank's ``exc`` counts and it is broadcast; otherwise the
    first failing rank's message is re-raised everywhere with its type when possible.
    """
    if root is not None:
        payload = comm.bcast(_pack(exc) if comm.Get_rank() == root else None, root=root)
    else:
        packs = comm.allgather(_pack(exc))
        payload = next((p for p in packs if p is not None), None)
    if payload is None:
        return
    if exc is not None:
        raise exc
    cls, msg = payload
    raise cls(msg)


def _pack(exc: BaseException | None):
    if exc is None:
        return None
    cls = type(exc)
    try:  # the class must be picklable and constructible from one message
        cls(str(exc))
    except Exception:  # noqa: BLE001
        cls = RuntimeError
    return (cls, str(exc))
