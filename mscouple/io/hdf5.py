"""The HDF5 output base: atomic files, run metadata, distributed writes.

``open_h5(comm, path, "w", metadata=...)`` returns an :class:`H5File`. By default it writes
to a temporary file in the same directory and renames it onto ``path`` only when it is
closed successfully (all ranks agree; :func:`mscouple.io.commit.collective_commit`), so a
reader never sees a half-written file and an existing file is left untouched when the
writer fails (checkpoints, one-off files). With ``atomic=False`` the file is written in
place (time series): the caller calls :meth:`H5File.flush` after each completed frame, so
a crash keeps every flushed frame; such a file is opened without an HDF5 file lock, so
other processes (``h5py``, ParaView, ``mscouple plot``) can read it while the run writes
(inside the writing process, open it with ``h5py.File(path, "r", locking=False)``: HDF5
refuses a second open of one file with other locking flags).
Two I/O modes, chosen once per file:

* **parallel**: ``h5py`` built against MPI and ``comm`` has more than one rank: every rank
  opens the file with ``driver="mpio"``; structure (groups, datasets, attributes) is
  created collectively, rows are written independently by their owners.
* **gathered**: otherwise (serial h5py, or one rank): rows are gathered to ``root`` which
  alone opens the file.

Debian's h5py loads its MPI build only under ``mpirun`` (``OMPI_COMM_WORLD_SIZE`` set) or
with ``H5PY_ALWAYS_USE_MPI=1``; a serial launch therefore always uses the gathered mode.

Distributed rows are passed either as contiguous blocks in rank order
(:meth:`H5File.write_blocks`) or keyed by global ids (:meth:`H5File.write_by_id`, rows
sorted by id in the file). All methods of :class:`H5File` are collective over ``comm``.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import platform
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import h5py
import numpy as np

from . import _dist
from .commit import collective_commit, collective_tmp_path

__all__ = [
    "H5File",
    "IdBlock",
    "h5py_is_parallel",
    "open_h5",
    "run_metadata",
    "case_fingerprint",
    "versions",
]


def h5py_is_parallel() -> bool:
    """True when the imported h5py was built against MPI (``driver="mpio"`` available)."""
    return bool(h5py.get_config().mpi)


def _pkg_version(name: str) -> str:
    try:
        from importlib.metadata import version

        return version(name)
    except Exception:  # noqa: BLE001 - Debian packages may lack dist-info
        try:
            mod = __import__(name)
            return str(getattr(mod, "__version__", "unknown"))
        except Exception:  # noqa: BLE001
            return "not installed"


_VERSIONS: dict[str, str] | None = None


def versions() -> dict[str, str]:
    """Versions of the software stack (cached): mscouple, python, numpy, petsc4py, ..."""
    global _VERSIONS
    if _VERSIONS is None:
        from .. import __version__

        v = {
            "mscouple": __version__,
            "python": platform.python_version(),
            "numpy": np.__version__,
            "h5py": h5py.version.version,
            "hdf5": h5py.version.hdf5_version,
            "h5py_parallel": str(h5py_is_parallel()),
        }
        for name in ("petsc4py", "mpi4py"):
            v[name] = _pkg_version(name)
        try:
            from mpi4py import MPI

            v["mpi"] = MPI.Get_library_version().replace("\0", "").splitlines()[0].strip()
        except Exception:  # noqa: BLE001
            v["mpi"] = "unknown"
        _VERSIONS = v
    return dict(_VERSIONS)


def case_fingerprint(case: str | bytes | Mapping[str, Any]) -> str:
    """SHA-256 hex digest of a case: its text (line endings normalised) or a mapping.

    A mapping is hashed through ``json.dumps(sort_keys=True)``, so key order is irrelevant.
    """
    if isinstance(case, Mapping):
        data = json.dumps(case, sort_keys=True, default=str).encode()
    elif isinstance(case, bytes):
        data = case.replace(b"\r\n", b"\n")
    else:
        data = str(case).replace("\r\n", "\n").encode()
    return hashlib.sha256(data).hexdigest()


def run_metadata(
    case_text: str = "",
    layout: str = "",
    start_time: str | None = None,
    **extra: str,
) -> dict[str, str]:
    """The attributes every mscouple HDF5 file carries at its root.

    Parameters: ``case_text`` the TOML case as read; ``layout`` a human description of the
    rank layout (e.g. ``Layout.describe()``); ``start_time`` ISO 8601 (default: now, UTC).
    Extra keyword strings are stored as well. Compute it once per run on every rank (or on
    rank 0: writers broadcast root's copy) and pass it to every writer.
    """
    meta = {
        "case_text": case_text,
        "case_sha256": case_fingerprint(case_text),
        "layout": layout,
        "start_time": start_time or _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "versions": json.dumps(versions(), sort_keys=True),
        "creator": "mscouple",
    }
    for k, v in versions().items():
        meta[f"version_{k}"] = v
    meta.update({k: str(v) for k, v in extra.items()})
    return meta


@dataclass
class IdBlock:
    """This rank's contiguous share of rows sorted by global id.

    ``start``: first global row of the block; ``n_global``: rows over all ranks;
    ``ids``: (n,) sorted ids of the block; ``arrays``: the payload rows in the same order.
    """

    start: int
    n_global: int
    ids: np.ndarray
    arrays: list[np.ndarray]


class H5File:
    """An HDF5 file shared by the ranks of ``comm``; see the module docstring.

    Attributes: ``comm``, ``path`` (final name), ``parallel`` (mpio mode), ``root``,
    ``h5`` (the ``h5py.File``; ``None`` on non-root ranks in gathered mode), ``is_writer``
    (whether this rank holds ``h5``). Use as a context manager, or call :meth:`close`.
    """

    def __init__(
        self,
        comm: Any,
        path: str | os.PathLike,
        mode: str = "w",
        *,
        metadata: Mapping[str, str] | None = None,
        parallel: bool | None = None,
        root: int = 0,
        atomic: bool = True,
    ) -> None:
        if mode not in ("w", "a", "r"):
            raise ValueError(f"open_h5 mode must be 'w', 'a' or 'r', got {mode!r}")
        self.comm = comm
        self.path = Path(path)
        self.mode = mode
        self.root = root
        self.rank = comm.Get_rank()
        want = h5py_is_parallel() and comm.Get_size() > 1
        self.parallel = want if parallel is None else (bool(parallel) and want)
        self.is_writer = self.parallel or self.rank == root
        self.h5: h5py.File | None = None
        self._closed = False
        self.atomic = bool(atomic) and mode != "r"
        self.tmp_path = collective_tmp_path(comm, self.path, root) if self.atomic else self.path

        err: BaseException | None = None
        if self.rank == root and mode != "r":
            try:
                if not self.path.parent.is_dir():
                    raise FileNotFoundError(
                        f"output directory {self.path.parent} does not exist: create it first"
                    )
                if self.atomic and mode == "a" and self.path.exists():
                    shutil.copy2(self.path, self.tmp_path)
            except OSError as exc:
                err = exc
        _dist.raise_collective(comm, err, root=root)

        h5mode = {"w": "w", "a": "a", "r": "r"}[mode]
        err = None
        # an in-place file (a time series) takes no HDF5 file lock, so that other processes
        # can read the flushed frames while the run writes (the run folder's lock keeps a
        # second writer out)
        kw = {"locking": False} if mode != "r" and not self.atomic else {}
        try:
            if self.parallel:
                self.h5 = h5py.File(self.tmp_path, h5mode, driver="mpio", comm=comm, **kw)
            elif self.is_writer:
                self.h5 = h5py.File(self.tmp_path, h5mode, **kw)
        except OSError as exc:
            err = OSError(f"cannot open {self.path} (mode {mode!r}): {exc}")
        if err is not None and self.rank == root and self.atomic:
            self.tmp_path.unlink(missing_ok=True)
        _dist.raise_collective(comm, err)

        if mode != "r":
            meta = dict(metadata) if metadata is not None else run_metadata()
            meta = comm.bcast(meta if self.rank == root else None, root=root)
            if mode == "w" or "creator" not in self.attrs_root():
                self.set_attrs("/", **meta)

    # -- context management -------------------------------------------------------
    def __enter__(self) -> "H5File":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(commit=exc_type is None)

    def close(self, commit: bool = True, *, discard: bool = False) -> None:
        """Close the file (collective).

        Atomic files: ``commit`` renames onto ``path`` if every rank passes
        ``commit=True``, otherwise the temporary file is dropped. In-place files
        (``atomic=False``): the file keeps what was flushed, whatever ``commit`` says (a
        failed run keeps its completed frames); ``discard=True`` removes it (a writer
        whose set-up failed before its first frame).
        """
        if self._closed:
            return
        self._closed = True
        if self.h5 is not None:
            try:
                self.h5.close()
            except Exception:  # noqa: BLE001 - closing must not hide the original error
                commit = False
            self.h5 = None
        if self.mode == "r":
            return
        if self.atomic:
            collective_commit(self.comm, self.tmp_path, self.path, ok=commit and not discard, root=self.root)
            return
        drop = _dist.allreduce_flag(self.comm, discard)
        err: BaseException | None = None
        if self.rank == self.root:
            try:
                if drop:
                    self.path.unlink(missing_ok=True)
                else:
                    fd = os.open(self.path, os.O_RDONLY)
                    try:
                        os.fsync(fd)
                    finally:
                        os.close(fd)
            except OSError as exc:
                err = exc
        _dist.raise_collective(self.comm, err, root=self.root)

    def flush(self) -> None:
        """Flush HDF5 buffers to the operating system (collective in mpio mode).

        For an in-place file this is the frame boundary: after ``flush`` the file on disk
        is a consistent HDF5 file holding everything written so far, readable after a
        crash of the writer.
        """
        if self.h5 is not None:
            self.h5.flush()

    # -- structure ----------------------------------------------------------------
    def attrs_root(self) -> dict[str, Any]:
        """Root attributes as seen by ``root`` (broadcast)."""
        d = None
        if self.rank == self.root:
            d = {k: _plain(v) for k, v in self.h5.attrs.items()}
        return self.comm.bcast(d, root=self.root)

    def set_attrs(self, where: str, **attrs: Any) -> None:
        """Set attributes on group/dataset ``where`` (root's values are used)."""
        attrs = self.comm.bcast(attrs if self.rank == self.root else None, root=self.root)
        if self.is_writer:
            obj = self.h5.require_group(where) if where not in self.h5 else self.h5[where]
            for k, v in attrs.items():
                obj.attrs[k] = v.replace("\0", "") if isinstance(v, str) else v

    def require_group(self, name: str) -> None:
        """Create group ``name`` (and parents) if missing."""
        if self.is_writer:
            self.h5.require_group(name)

    def create_dataset(self, name: str, shape: tuple[int, ...], dtype: Any, **kw: Any) -> None:
        """Create an empty dataset (collective; same arguments on every rank)."""
        if self.is_writer:
            if name in self.h5:
                del self.h5[name]
            self.h5.create_dataset(name, shape=shape, dtype=dtype, **kw)

    def resize(self, name: str, n: int, axis: int = 0) -> None:
        """Resize a chunked dataset along ``axis`` (collective)."""
        if self.is_writer:
            self.h5[name].resize(n, axis=axis)

    def delete(self, name: str) -> None:
        """Remove dataset/group ``name`` if present (collective)."""
        if self.is_writer and name in self.h5:
            del self.h5[name]

    def read_on_root(self, fn: Any) -> Any:
        """``fn(h5py.File)`` evaluated on ``root`` and broadcast (for small reads)."""
        res, err = None, None
        if self.rank == self.root:
            try:
                res = fn(self.h5)
            except Exception as exc:  # noqa: BLE001 - re-raised on every rank
                err = exc
        _dist.raise_collective(self.comm, err, root=self.root)
        return self.comm.bcast(res, root=self.root)

    # -- data -----------------------------------------------------------------------
    def write_replicated(self, name: str, data: Any, **attrs: Any) -> None:
        """Write ``data`` held identically on all ranks (root's copy is written)."""
        data = self.comm.bcast(np.asarray(data) if self.rank == self.root else None, root=self.root)
        if self.is_writer:
            if name in self.h5:
                del self.h5[name]
            if data.dtype.kind == "U":  # fixed-length UTF-8: parallel HDF5 cannot write VL data
                enc = np.char.encode(data, "utf-8")
                dset = self.h5.create_dataset(name, shape=enc.shape, dtype=enc.dtype)
                if self.rank == self.root:
                    dset[...] = enc
            else:
                dset = self.h5.create_dataset(name, shape=data.shape, dtype=data.dtype)
                if self.rank == self.root and data.size:
                    dset[...] = data
            for k, v in attrs.items():
                dset.attrs[k] = v

    def write_blocks(
        self, name: str, local: np.ndarray, *, offset: int | None = None, n_global: int | None = None, **attrs: Any
    ) -> int:
        """Write each rank's rows as a contiguous block; return the global row count.

        ``local``: (n_local, ...) rows owned by this rank. ``offset``: the global row of
        this rank's first row (default: blocks in rank order); ``n_global``: total rows
        (default: the sum over ranks). With explicit offsets the blocks must tile
        ``[0, n_global)`` without overlap.
        """
        dtype, tail = _dist.agree_layout(self.comm, local)
        a = _dist.conform(local, dtype, tail)
        ex_off, total = _dist.exscan_offset(self.comm, a.shape[0])
        given = self.comm.allgather(offset is not None)
        if any(given) and not all(given):
            raise ValueError("write_blocks: pass offset on every rank or on none")
        if n_global is not None and _dist.allreduce_flag(self.comm, int(n_global) != total):
            raise ValueError(f"write_blocks: the ranks hold {total} rows in all, n_global says {n_global}")
        off = ex_off if offset is None else int(offset)
        if all(given):
            spans = sorted(self.comm.allgather((off, a.shape[0])))
            tiled = spans[0][0] == 0 and all(o1 + c1 == o2 for (o1, c1), (o2, _) in zip(spans, spans[1:]))
            if not tiled:
                raise ValueError(f"write_blocks: blocks (offset, rows) {spans} do not tile [0, {total})")
        if self.parallel:
            rows, start = a, off
        else:  # place each rank's block at its offset on root
            offs = self.comm.gather(off, root=self.root)
            cnts = self.comm.gather(a.shape[0], root=self.root)
            g = _dist.gather_rows(self.comm, a, self.root)
            rows, start = None, 0
            if self.rank == self.root:
                rows = np.empty((total,) + tail, dtype=dtype)
                pos = 0
                for o, c in zip(offs, cnts):
                    rows[o : o + c] = g[pos : pos + c]
                    pos += c
        self.create_dataset(name, (total,) + tail, dtype)
        if self.is_writer and rows is not None and rows.shape[0]:
            self.h5[name][start : start + rows.shape[0]] = rows
        if attrs:
            self.set_attrs(name, **attrs)
        return total

    def sort_by_id(self, ids: np.ndarray, *arrays: np.ndarray) -> IdBlock:
        """Redistribute rows keyed by unique global ids into sorted blocks for writing.

        Parallel mode with ids forming one dense range: rank r gets the r-th balanced
        block. Otherwise everything is gathered to ``root`` (others get empty blocks).
        Raises ``ValueError`` on every rank if an id is duplicated.
        """
        return sort_by_id(self.comm, ids, *arrays, distribute=self.parallel, root=self.root)

    def write_by_id(self, name: str, ids: np.ndarray, local: np.ndarray, *, ids_name: str | None = None, **attrs: Any) -> int:
        """Write rows sorted by their global ids; optionally store the sorted ids too.

        ``ids``: (n_local,) integer global ids of this rank's rows; ``local``: (n_local, ...).
        Returns the global row count.
        """
        blk = self.sort_by_id(ids, local)
        self.write_id_block(name, blk, 0, **attrs)
        if ids_name is not None:
            self.write_id_block(ids_name, IdBlock(blk.start, blk.n_global, blk.ids, [blk.ids]), 0)
        return blk.n_global

    def write_id_block(self, name: str, blk: IdBlock, which: int = 0, **attrs: Any) -> None:
        """Create dataset ``name`` of ``blk.n_global`` rows and write payload ``which``."""
        dtype, tail = _dist.agree_layout(self.comm, blk.arrays[which])
        self.create_dataset(name, (blk.n_global,) + tail, dtype)
        a = blk.arrays[which]
        if self.is_writer and len(a):
            self.h5[name][blk.start : blk.start + len(a)] = a
        if attrs:
            self.set_attrs(name, **attrs)

    def __getitem__(self, name: str) -> Any:
        if self.h5 is None:
            raise RuntimeError("this rank does not hold the HDF5 file (gathered mode)")
        return self.h5[name]


def sort_by_id(comm: Any, ids: np.ndarray, *arrays: np.ndarray, distribute: bool = True, root: int = 0) -> IdBlock:
    """Collective: rows keyed by unique global ids → contiguous blocks in id order.

    See :meth:`H5File.sort_by_id`. ``arrays`` each have ``len(ids)`` rows on this rank.
    """
    from mpi4py import MPI

    ids = np.asarray(ids, dtype=np.int64).reshape(-1)
    arrs = []
    for a in arrays:
        dt, tail = _dist.agree_layout(comm, a)
        arrs.append(_dist.conform(a, dt, tail))
    bad = any(len(a) != len(ids) for a in arrs)
    if _dist.allreduce_flag(comm, bad):
        raise ValueError("every array passed with ids must have one row per id")
    n = comm.allreduce(len(ids), op=MPI.SUM)
    lo = comm.allreduce(int(ids.min()) if len(ids) else np.iinfo(np.int64).max, op=MPI.MIN)
    hi = comm.allreduce(int(ids.max()) if len(ids) else np.iinfo(np.int64).min, op=MPI.MAX)
    size = comm.Get_size()
    if distribute and size > 1 and n > 0 and hi - lo + 1 == n:
        pos = ids - lo
        dest = _dist.owner_of_sorted_position(pos, n, size)
        r_ids = _dist.alltoall_rows(comm, ids, dest)
        r_arrs = [_dist.alltoall_rows(comm, a, dest) for a in arrs]
        start, stop = _dist.block_range(n, size, comm.Get_rank())
        order = np.argsort(r_ids, kind="stable")
        r_ids = r_ids[order]
        r_arrs = [a[order] for a in r_arrs]
        dup = len(r_ids) != stop - start or (len(r_ids) and np.any(r_ids != np.arange(start, stop) + lo))
        if _dist.allreduce_flag(comm, bool(dup)):
            raise ValueError("global ids are not unique: every row needs its own id")
        return IdBlock(start, n, r_ids, r_arrs)
    g_ids = _dist.gather_rows(comm, ids, root)
    g_arrs = [_dist.gather_rows(comm, a, root) for a in arrs]
    dup = False
    if comm.Get_rank() == root:
        order = np.argsort(g_ids, kind="stable")
        g_ids = g_ids[order]
        g_arrs = [a[order] for a in g_arrs]
        dup = bool(len(g_ids) > 1 and np.any(g_ids[1:] == g_ids[:-1]))
    if _dist.allreduce_flag(comm, dup):
        raise ValueError("global ids are not unique: every row needs its own id")
    if comm.Get_rank() == root:
        return IdBlock(0, n, g_ids, g_arrs)
    return IdBlock(0, n, ids[:0], [a[:0] for a in arrs])


def _plain(v: Any) -> Any:
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, np.generic):
        return v.item()
    return v


def open_h5(
    comm: Any,
    path: str | os.PathLike,
    mode: str = "w",
    *,
    metadata: Mapping[str, str] | None = None,
    parallel: bool | None = None,
    root: int = 0,
    atomic: bool = True,
) -> H5File:
    """Open an mscouple HDF5 file on ``comm`` (collective). See :class:`H5File`.

    ``mode``: ``"w"`` new file (replaces ``path`` on successful close), ``"a"`` continue an
    existing file (copied to the temporary name, replaced on close), ``"r"`` read only.
    ``metadata``: from :func:`run_metadata` (default: versions and time only).
    ``parallel``: ``None`` picks mpio when available, ``False`` forces the gathered mode.
    ``atomic``: ``True`` (default) writes under a temporary name committed on close;
    ``False`` writes ``path`` in place (time series: flush after each frame).
    """
    return H5File(comm, path, mode, metadata=metadata, parallel=parallel, root=root, atomic=atomic)
