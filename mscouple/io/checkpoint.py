"""Checkpoints: distributed arrays keyed by global ids, scalars, RNG states, the step.

``write_checkpoint(comm, path, step=..., time=..., case=..., arrays={...})`` is collective
and atomic (temporary file renamed on success: an existing checkpoint at ``path`` is never
damaged by a failed write). ``read_checkpoint(comm, path, case=...)`` validates the file
and the case before anything is used, and refuses with :class:`CheckpointError` (raised on
every rank) a file that is missing, truncated, corrupted, incomplete or from another case.

Arrays are stored sorted by global id, so the reader's rank count is free: each rank
either takes a balanced block (:meth:`Checkpoint.block`, then e.g. migrate atoms to their
owners by position) or asks for exactly the ids it owns (:meth:`Checkpoint.take`).

File layout::

    /                 run metadata, checkpoint_format=1, case_fingerprint, step, time,
                      comm_size, complete=1
    /scalars/<name>   replicated values (root's copy)
    /arrays/<name>/ids     (N,) int64 sorted global ids
    /arrays/<name>/values  (N, ...) rows; attr checksum (position-weighted, see below)
    /rng              JSON list (one entry per writing rank) of RNG states

Each array carries a checksum Σ_k b_k·(2k+1) mod 2⁶⁴ over its bytes b_k in global order
(ids then values): independent of the partition, and any single changed byte changes it.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import h5py
import numpy as np

from ..errors import CheckpointError
from . import _dist
from .hdf5 import case_fingerprint, open_h5, run_metadata, sort_by_id

__all__ = ["Checkpoint", "CheckpointError", "write_checkpoint", "read_checkpoint", "checkpoint_path", "latest_checkpoint", "encode_rng_state", "decode_rng_state"]

FORMAT = 1
_MASK = (1 << 64) - 1


def checkpoint_path(directory: str | os.PathLike, step: int, prefix: str = "checkpoint") -> Path:
    """The conventional name ``<directory>/<prefix>_<step:08d>.h5``."""
    return Path(directory) / f"{prefix}_{int(step):08d}.h5"


def latest_checkpoint(directory: str | os.PathLike, prefix: str = "checkpoint") -> Path | None:
    """The checkpoint with the highest step in ``directory`` (by name), or ``None``."""
    pat = re.compile(rf"^{re.escape(prefix)}_(\d+)\.h5$")
    found = [(int(m.group(1)), p) for p in Path(directory).glob(f"{prefix}_*.h5") if (m := pat.match(p.name))]
    return max(found)[1] if found else None


# --- RNG states ---------------------------------------------------------------------
def encode_rng_state(state: Any) -> Any:
    """A JSON-able copy of an RNG state (``np.random.Generator``, its ``bit_generator``,
    a ``bit_generator.state`` dict, a legacy ``RandomState`` or its tuple)."""
    if isinstance(state, np.random.Generator):
        state = state.bit_generator.state
    elif isinstance(state, np.random.BitGenerator):
        state = state.state
    elif isinstance(state, np.random.RandomState):
        state = {"__legacy__": _enc(state.get_state(legacy=False))}
        return state
    return _enc(state)


def decode_rng_state(data: Any) -> Any:
    """Inverse of :func:`encode_rng_state`: a state for ``bit_generator.state = ...``
    (or ``RandomState.set_state``)."""
    if isinstance(data, dict) and "__legacy__" in data:
        return _dec(data["__legacy__"])
    return _dec(data)


def _enc(x: Any) -> Any:
    if isinstance(x, np.ndarray):
        return {"__ndarray__": x.tolist(), "dtype": x.dtype.str}
    if isinstance(x, dict):
        return {str(k): _enc(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_enc(v) for v in x]
    if isinstance(x, np.generic):
        return x.item()
    return x


def _dec(x: Any) -> Any:
    if isinstance(x, dict):
        if "__ndarray__" in x:
            return np.array(x["__ndarray__"], dtype=x["dtype"])
        return {k: _dec(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_dec(v) for v in x]
    return x


# --- checksums ----------------------------------------------------------------------
def _partial_checksum(a: np.ndarray, first_row: int) -> int:
    """Σ b_k (2k+1) over the bytes of rows ``a`` placed at global row ``first_row``."""
    if a.size == 0:
        return 0
    rowbytes = a.dtype.itemsize * int(np.prod(a.shape[1:], dtype=np.int64))
    b = np.ascontiguousarray(a).reshape(-1).view(np.uint8)
    k0 = first_row * rowbytes
    total = 0
    step = 1 << 22
    with np.errstate(over="ignore"):
        for s in range(0, b.size, step):
            chunk = b[s : s + step].astype(np.uint64)
            k = np.arange(k0 + s, k0 + s + chunk.size, dtype=np.uint64)
            w = k * np.uint64(2) + np.uint64(1)
            total = (total + int(np.sum(chunk * w, dtype=np.uint64))) & _MASK
    return total


def _checksum(comm: Any, ids: np.ndarray, values: np.ndarray, first_row: int) -> str:
    part = (_partial_checksum(ids, first_row) * 1_000_003 + _partial_checksum(values, first_row)) & _MASK
    return str(sum(comm.allgather(part)) & _MASK)


# --- writing ------------------------------------------------------------------------
def write_checkpoint(
    comm: Any,
    path: str | os.PathLike,
    *,
    step: int,
    time: float,
    case: str | bytes | Mapping[str, Any],
    arrays: Mapping[str, tuple[np.ndarray, np.ndarray]] | None = None,
    scalars: Mapping[str, Any] | None = None,
    rng_states: Mapping[str, Any] | None = None,
    metadata: Mapping[str, str] | None = None,
    parallel: bool | None = None,
) -> Path:
    """Write a checkpoint (collective over ``comm``, usually the world of the run).

    Parameters
    ----------
    step, time: the step just completed and its simulated time.
    case: what identifies the physics of the run (case text or a mapping); a restart with
        a different ``case`` is refused. Leave out what may change on restart (run length).
    arrays: ``name -> (ids, values)`` with this rank's rows: ids (n,) unique global ids,
        values (n, ...) any numeric dtype (e.g. ``"patch0/x"``, ``"patch0/v"``,
        ``"continuum/u"``). A rank owning no rows of an array may omit it.
    scalars: replicated values (numbers, strings, small arrays); root's copy is stored.
    rng_states: this rank's RNG states, ``name -> Generator | state dict`` (per rank).
    Returns the path written.
    """
    arrays = dict(arrays or {})
    names = sorted(set().union(*comm.allgather(sorted(arrays))))
    meta = dict(metadata) if metadata is not None else run_metadata()
    rng = {k: encode_rng_state(v) for k, v in (rng_states or {}).items()}
    all_rng = comm.gather(rng, root=0)
    path = Path(path)
    with open_h5(comm, path, "w", metadata=meta, parallel=parallel) as f:
        f.set_attrs(
            "/",
            checkpoint_format=FORMAT,
            case_fingerprint=case_fingerprint(case),
            step=int(step),
            time=float(time),
            comm_size=comm.Get_size(),
            complete=0,
        )
        for name in names:
            ids, values = arrays.get(name, (np.empty(0, np.int64), np.empty(0)))
            ids = np.asarray(ids, dtype=np.int64).reshape(-1)
            values = np.asarray(values)
            if len(values) != len(ids):
                bad = True
            else:
                bad = False
            if _dist.allreduce_flag(comm, bad):
                raise ValueError(f"checkpoint array {name!r}: ids and values differ in length on some rank")
            blk = sort_by_id(comm, ids, values, distribute=f.parallel)
            f.write_id_block(f"arrays/{name}/ids", type(blk)(blk.start, blk.n_global, blk.ids, [blk.ids]))
            f.write_id_block(f"arrays/{name}/values", blk)
            f.set_attrs(f"arrays/{name}", checksum=_checksum(comm, blk.ids, blk.arrays[0], blk.start), n=blk.n_global)
        for k, v in (scalars or {}).items():
            f.write_replicated(f"scalars/{k}", v)
        f.write_replicated("rng", np.array(json.dumps(all_rng) if comm.Get_rank() == 0 else ""))
        f.set_attrs("/", complete=1)
    return path


# --- reading ------------------------------------------------------------------------
@dataclass
class Checkpoint:
    """A checkpoint read on ``comm``. ``step``, ``time``, ``scalars``, ``metadata`` (root
    attributes), ``written_size`` (ranks that wrote it); arrays via :meth:`block` and
    :meth:`take`; RNG states via :meth:`rng_state`."""

    comm: Any
    path: Path
    step: int
    time: float
    scalars: dict[str, Any]
    metadata: dict[str, Any]
    written_size: int
    _rng: list[dict[str, Any]]
    _blocks: dict[str, tuple[np.ndarray, np.ndarray]] = field(repr=False)

    @property
    def names(self) -> list[str]:
        """Names of the stored arrays."""
        return sorted(self._blocks)

    def block(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """This rank's balanced block ``(ids, values)`` of array ``name``, sorted by id."""
        self._check(name)
        return self._blocks[name]

    def take(self, name: str, ids: np.ndarray) -> np.ndarray:
        """Values of ``name`` for the given global ids, in the order given (collective).

        Raises :class:`CheckpointError` on every rank if any requested id is not stored.
        """
        self._check(name)
        comm = self.comm
        want = np.asarray(ids, dtype=np.int64).reshape(-1)
        bids, bvals = self._blocks[name]
        firsts = comm.allgather(int(bids[0]) if len(bids) else None)
        ranks = np.array([r for r, x in enumerate(firsts) if x is not None], dtype=np.int64)
        starts = np.array([x for x in firsts if x is not None], dtype=np.int64)
        if len(starts):
            slot = np.searchsorted(starts, want, side="right") - 1
            dest = ranks[np.clip(slot, 0, None)]
        else:
            dest = np.zeros(len(want), dtype=np.int64)
        me = comm.Get_rank()
        req = np.stack([want, np.full(len(want), me, np.int64), np.arange(len(want), dtype=np.int64)], axis=1)
        got = _dist.alltoall_rows(comm, req.reshape(-1, 3), dest)
        pos = np.searchsorted(bids, got[:, 0]) if len(bids) else np.zeros(len(got), np.int64)
        pos = np.clip(pos, 0, max(len(bids) - 1, 0))
        missing = len(got) > 0 and (len(bids) == 0 or np.any(bids[pos] != got[:, 0]))
        if _dist.allreduce_flag(comm, bool(missing)):
            raise CheckpointError(
                f"checkpoint {self.path} has no entry of {name!r} for some requested ids: "
                "the restarted run's atoms/nodes do not match those of the checkpointed run"
            )
        tail_vals = bvals[pos] if len(got) else bvals[:0]
        back_idx = _dist.alltoall_rows(comm, got[:, 2], got[:, 1])
        back_val = _dist.alltoall_rows(comm, tail_vals, got[:, 1])
        out = np.empty((len(want),) + back_val.shape[1:], dtype=back_val.dtype)
        out[back_idx] = back_val
        return out

    def rng_state(self, name: str) -> Any | None:
        """This rank's RNG state ``name`` (decoded) when read on as many ranks as wrote it;
        ``None`` otherwise (re-seed deterministically from the step then)."""
        if self.written_size != self.comm.Get_size():
            return None
        entry = self._rng[self.comm.Get_rank()]
        return decode_rng_state(entry[name]) if name in entry else None

    @property
    def all_rng_states(self) -> list[dict[str, Any]]:
        """RNG states of every writing rank (decoded), in rank order."""
        return [{k: decode_rng_state(v) for k, v in e.items()} for e in self._rng]

    def _check(self, name: str) -> None:
        if name not in self._blocks:
            raise CheckpointError(f"checkpoint {self.path} has no array {name!r} (it has {self.names})")


def _validate(path: Path, fingerprint: str | None) -> dict[str, Any]:
    """Root-side validation; returns the header or raises CheckpointError."""
    if not path.exists():
        raise CheckpointError(f"checkpoint {path} does not exist: check the --restart path")
    try:
        h = h5py.File(path, "r")
    except OSError as exc:
        raise CheckpointError(
            f"checkpoint {path} cannot be read ({exc}); it is truncated or not an HDF5 file: "
            "restart from an older checkpoint"
        ) from None
    with h:
        a = h.attrs
        if "checkpoint_format" not in a:
            raise CheckpointError(f"{path} is not an mscouple checkpoint (no checkpoint_format attribute)")
        if int(a["checkpoint_format"]) != FORMAT:
            raise CheckpointError(f"checkpoint {path} has format {int(a['checkpoint_format'])}, this mscouple reads {FORMAT}")
        if int(a.get("complete", 0)) != 1:
            raise CheckpointError(f"checkpoint {path} is incomplete (its writer stopped): restart from an older one")
        stored = a["case_fingerprint"]
        stored = stored.decode() if isinstance(stored, bytes) else str(stored)
        if fingerprint is not None and stored != fingerprint:
            raise CheckpointError(
                f"checkpoint {path} belongs to a different case (fingerprint {stored[:12]}… , this "
                f"case {fingerprint[:12]}…): restart with the case file that wrote it, or run "
                "without --restart"
            )
        try:
            arrays = {}
            for name, g in _walk_arrays(h["arrays"]) if "arrays" in h else []:
                ids, vals = g["ids"], g["values"]
                if ids.shape[0] != vals.shape[0] or ids.shape[0] != int(g.attrs["n"]):
                    raise CheckpointError(f"checkpoint {path}: array {name!r} has inconsistent lengths")
                arrays[name] = (int(g.attrs["n"]), str(g.attrs["checksum"]))
            scalars = {}
            if "scalars" in h:

                def _scalar(k: str, d: Any) -> None:
                    if isinstance(d, h5py.Dataset):
                        v = d[()]
                        scalars[k] = v.decode() if isinstance(v, bytes) else v

                h["scalars"].visititems(_scalar)
            rng_txt = h["rng"][()]
            rng = json.loads(rng_txt.decode() if isinstance(rng_txt, bytes) else rng_txt)
            meta = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in a.items()}
        except CheckpointError:
            raise
        except (KeyError, OSError, ValueError) as exc:
            raise CheckpointError(f"checkpoint {path} is damaged ({exc}): restart from an older one") from None
    return {"arrays": arrays, "scalars": scalars, "rng": rng, "meta": meta}


def _walk_arrays(g: h5py.Group, prefix: str = ""):
    for k, v in g.items():
        name = f"{prefix}{k}"
        if isinstance(v, h5py.Group) and "ids" in v and "values" in v and "checksum" in v.attrs:
            yield name, v
        elif isinstance(v, h5py.Group):
            yield from _walk_arrays(v, name + "/")


def read_checkpoint(
    comm: Any,
    path: str | os.PathLike,
    *,
    case: str | bytes | Mapping[str, Any] | None = None,
    parallel: bool | None = None,
) -> Checkpoint:
    """Read and validate a checkpoint on ``comm`` (collective; any rank count).

    ``case``: the restarting run's case (as given to :func:`write_checkpoint`); a mismatch
    raises :class:`CheckpointError`. ``None`` skips that check (inspection tools only).
    """
    path = Path(path)
    header, err = None, None
    if comm.Get_rank() == 0:
        try:
            header = _validate(path, case_fingerprint(case) if case is not None else None)
        except CheckpointError as exc:
            err = exc
    _dist.raise_collective(comm, err, root=0)
    header = comm.bcast(header, root=0)
    size, rank = comm.Get_size(), comm.Get_rank()
    blocks: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    want_parallel = h5py.get_config().mpi and size > 1 and parallel is not False
    h = None
    err = None
    try:
        if want_parallel:
            h = h5py.File(path, "r", driver="mpio", comm=comm)
        elif rank == 0:
            h = h5py.File(path, "r")
    except OSError as exc:
        err = CheckpointError(f"checkpoint {path} cannot be opened for reading: {exc}")
    _dist.raise_collective(comm, err)
    try:
        for name, (n, checksum) in header["arrays"].items():
            start, stop = _dist.block_range(n, size, rank)
            err = None
            ids = vals = None
            try:
                if want_parallel:
                    ids = h[f"arrays/{name}/ids"][start:stop]
                    vals = h[f"arrays/{name}/values"][start:stop]
                else:
                    counts = [_dist.block_range(n, size, r)[1] - _dist.block_range(n, size, r)[0] for r in range(size)]
                    full_ids = h[f"arrays/{name}/ids"][...] if rank == 0 else None
                    full_vals = h[f"arrays/{name}/values"][...] if rank == 0 else None
            except OSError as exc:
                err = CheckpointError(f"checkpoint {path}: array {name!r} cannot be read ({exc})")
            _dist.raise_collective(comm, err)
            if not want_parallel:
                ids = _dist.scatter_rows(comm, full_ids, counts)
                vals = _dist.scatter_rows(comm, full_vals, counts)
            got = _checksum(comm, ids, vals, start)
            if got != checksum:
                raise CheckpointError(
                    f"checkpoint {path}: array {name!r} fails its checksum (file corrupted): "
                    "restart from an older checkpoint"
                )
            blocks[name] = (ids, vals)
    finally:
        if h is not None:
            h.close()
    meta = header["meta"]
    return Checkpoint(
        comm=comm,
        path=path,
        step=int(meta["step"]),
        time=float(meta["time"]),
        scalars=header["scalars"],
        metadata=meta,
        written_size=int(meta["comm_size"]),
        _rng=header["rng"],
        _blocks=blocks,
    )
