"""Atomic commits of output files: the one temp-file-and-rename helper of mscouple.

A reader (or a restart after ``SIGKILL``) sees either the previous version of a file or
the new one, never a torn one. The recipe (POSIX, one file system):

1. write to a temporary name in the *same* folder (``.<name>.<token>.tmp``, dot-prefixed
   so globs of outputs skip it);
2. flush and ``fsync`` the temporary file (the data is on disk before it gets its name);
3. ``os.replace`` it onto the final name (atomic on POSIX);
4. ``fsync`` the folder (the rename itself survives a power cut).

On any error the temporary file is removed and the old file, if any, is left untouched.

Serial helpers (any process, no communicator): :func:`commit_text`, :func:`commit_bytes`,
:func:`atomic_path` (a context manager yielding the temporary path for code that writes
files itself, e.g. ``matplotlib.savefig``) and :func:`commit_file`.

Collective helpers (all ranks of ``comm`` call them): :func:`collective_tmp_path` gives
every rank the same temporary name; :func:`collective_commit` agrees over the ranks
whether every rank succeeded, lets ``root`` alone rename (or remove) the file, and raises
the same error on every rank if anything failed, so no rank waits in a later collective
while another has raised.

Time series (XDMF/HDF5 fields, atom trajectories, scalar tables) are *not* committed this
way: they are written in place and flushed per frame so that a crash keeps every completed
frame; only their small index files (the ``.xdmf``) and one-off rewrites go through here.
"""
from __future__ import annotations

import os
import secrets
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from . import _dist

__all__ = [
    "tmp_name",
    "fsync_dir",
    "commit_file",
    "commit_bytes",
    "commit_text",
    "atomic_path",
    "collective_tmp_path",
    "collective_commit",
]


def tmp_name(path: str | os.PathLike, token: str | None = None) -> Path:
    """The temporary name of ``path``: ``.<name>.<token>.tmp`` in the same folder."""
    p = Path(path)
    return p.with_name(f".{p.name}.{token or secrets.token_hex(6)}.tmp")


def fsync_dir(folder: str | os.PathLike) -> None:
    """``fsync`` a folder so that renames and new names in it reach the disk.

    File systems that refuse ``fsync`` on a directory (some network mounts) are skipped.
    """
    try:
        fd = os.open(str(folder), os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _fsync_path(path: Path) -> None:
    fd = os.open(str(path), os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def commit_file(tmp: str | os.PathLike, path: str | os.PathLike, *, fsync: bool = True) -> None:
    """Make the finished temporary file ``tmp`` the file ``path`` (steps 2–4 above).

    ``tmp`` must be closed by its writer and lie in the folder of ``path``. On failure
    ``tmp`` is removed and the error re-raised. ``fsync=False`` skips both fsyncs: the
    rename stays atomic for readers, only durability across a power cut is given up
    (for files rewritten every few seconds, such as heartbeats).
    """
    tmp, path = Path(tmp), Path(path)
    try:
        if fsync:
            _fsync_path(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if fsync:
        fsync_dir(path.parent)


def commit_bytes(path: str | os.PathLike, data: bytes, *, fsync: bool = True) -> None:
    """Write ``data`` to ``path`` atomically (the folder is created if missing)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path, fsync=fsync) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)


def commit_text(path: str | os.PathLike, text: str, encoding: str = "utf-8", *, fsync: bool = True) -> None:
    """Write ``text`` to ``path`` atomically (UTF-8 by default)."""
    commit_bytes(path, text.encode(encoding), fsync=fsync)


@contextmanager
def atomic_path(path: str | os.PathLike, *, fsync: bool = True) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; commit it there if the block succeeds.

    The block must create and close the file itself. If it raises (or leaves no file),
    the temporary file is removed and ``path`` is untouched::

        with atomic_path("out/energy.png") as tmp:
            fig.savefig(tmp, format="png")
    """
    path = Path(path)
    tmp = tmp_name(path)
    try:
        yield tmp
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if not tmp.exists():
        raise FileNotFoundError(f"nothing was written to the temporary file of {path}")
    commit_file(tmp, path, fsync=fsync)


def collective_tmp_path(comm: Any, path: str | os.PathLike, root: int = 0) -> Path:
    """The same temporary name of ``path`` on every rank of ``comm`` (collective)."""
    token = comm.bcast(secrets.token_hex(6) if comm.Get_rank() == root else None, root=root)
    return tmp_name(path, token)


def collective_commit(comm: Any, tmp: str | os.PathLike, path: str | os.PathLike, ok: bool = True,
                      root: int = 0) -> bool:
    """Commit ``tmp`` onto ``path`` if every rank says ``ok`` (collective over ``comm``).

    Every rank must have closed its handle on ``tmp`` first. The ranks agree (one
    allreduce) whether all succeeded; ``root`` then renames ``tmp`` onto ``path`` (with
    fsyncs) or removes it. An ``OSError`` on ``root`` (full disk, read-only folder) is
    raised on every rank with root's message. Returns whether the file was committed.
    """
    all_ok = not _dist.allreduce_flag(comm, not ok)
    err: BaseException | None = None
    if comm.Get_rank() == root:
        try:
            if all_ok:
                commit_file(tmp, path)
            else:
                Path(tmp).unlink(missing_ok=True)
        except OSError as exc:
            err = OSError(f"cannot write {path}: {exc.strerror or exc}")
    _dist.raise_collective(comm, err, root=root)
    return all_ok
