"""The run folder: one run at a time, no silent overwrite, bounded checkpoints.

:func:`prepare_run_dir` is called once, collectively, before anything is computed or
written. Rank 0 decides and broadcasts the outcome; a refusal is a :class:`ConfigError`
raised on every rank (``mscouple run`` prints one line and exits 2). The rules:

* the output path must be a folder we can create and write into (a path that is a file,
  a name longer than the file system allows, or an unwritable parent is refused);
* a folder that already holds a run's outputs (:data:`RUN_FILE_PATTERNS`: series, fields,
  atom frames, checkpoints, summary, plots, temporaries) is refused unless the user says
  what to do with them: ``--restart CKPT`` continues the run that is there,
  ``--overwrite`` deletes those outputs first (stale checkpoints included). Other files
  (the case file, job logs, a study's ``case.toml``) neither count nor are ever deleted;
* a lock file (:data:`LOCK_NAME`, holding host, pid and the pid's start time) refuses a
  second run into the same folder. A lock left by a process that no longer exists *on
  this host*, or by an earlier run of the same requeued Slurm job (same ``SLURM_JOB_ID``,
  another ``SLURM_RESTART_COUNT``, any node), is stale and taken over. :meth:`RunDir.release` removes it; it is also
  removed on interpreter exit, on SIGTERM/SIGHUP outside the run loop, and by
  :func:`release_all` (called by the CLI just before ``MPI_Abort``). A SIGKILL leaves the
  lock behind; the next run finds its pid dead and takes it over.

:func:`prune_checkpoints` applies the retention rule after each committed checkpoint:
keep the newest ``keep`` checkpoints by step plus every pinned step, delete the rest.
"""
from __future__ import annotations

import atexit
import errno
import fnmatch
import json
import os
import re
import shutil
import signal
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from ..errors import ConfigError

__all__ = ["RunDir", "prepare_run_dir", "prune_checkpoints", "release_all", "LOCK_NAME",
           "RUN_FILE_PATTERNS", "checkpoint_steps"]

LOCK_NAME = ".mscouple.lock"

#: Names of the files (and folders) a run writes: the series (``run.h5``/``run.csv``),
#: ``summary.json``, fields (``continuum.h5`` + ``*.xdmf``), atom frames, checkpoints,
#: plots, logs, dot-prefixed temporaries, and mscouple's own bookkeeping (``.mscouple*``).
RUN_FILE_PATTERNS: tuple[str, ...] = (
    "*.h5", "*.csv", "*.json", "*.xdmf", "*.xyz", "*.dump", "*.h5md", "*.png", ".*.tmp",
)
_HEARTBEAT = ".mscouple-heartbeat"  # the watchdog's folder (mscouple.io.watchdog)

_CKPT = re.compile(r"^checkpoint_(\d+)\.h5$")


def _is_run_file(name: str) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in RUN_FILE_PATTERNS)


def checkpoint_steps(folder: str | os.PathLike) -> dict[int, Path]:
    """``{step: path}`` of the ``checkpoint_<step>.h5`` files in *folder* (local, no MPI)."""
    out: dict[int, Path] = {}
    try:
        names = os.listdir(folder)
    except OSError:
        return out
    for name in names:
        m = _CKPT.match(name)
        if m:
            out[int(m.group(1))] = Path(folder) / name
    return out


# --- the lock ---------------------------------------------------------------------------
def _start_time(pid: int) -> str | None:
    """Start time of *pid* in clock ticks since boot (``/proc/<pid>/stat`` field 22), so a
    recycled pid is not mistaken for the lock's owner; ``None`` where /proc is missing."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read().decode(errors="replace")
        return stat.rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _alive(pid: int, started: str | None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, another user's
    if started is not None:
        now = _start_time(pid)
        if now is not None and now != started:
            return False  # the pid was recycled by another process
    return True


def _read_lock(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}  # unreadable or half-written: treated as held (never taken over blindly)


def _owner_text(info: dict[str, Any]) -> str:
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(info.get("since", 0)))
    return f"pid {info.get('pid', '?')} on {info.get('host', '?')}, started {when}"


def _slurm() -> dict[str, str]:
    """The Slurm job id and restart count (a requeued job keeps its id, on any node)."""
    return {k: os.environ[v] for k, v in (("slurm_job", "SLURM_JOB_ID"), ("slurm_restart", "SLURM_RESTART_COUNT"))
            if v in os.environ}


def _stale(info: dict[str, Any]) -> bool:
    """True if the lock's owner is known dead: its pid is gone on this host, or it was an
    earlier run of this same (requeued) Slurm job, on whichever node."""
    me = _slurm()
    if info.get("slurm_job") and info.get("slurm_job") == me.get("slurm_job") \
            and info.get("slurm_restart", "0") != me.get("slurm_restart", "0"):
        return True
    return (info.get("host") == socket.gethostname() and isinstance(info.get("pid"), int)
            and not _alive(info["pid"], info.get("started")))


def _try_lock(path: Path) -> bool:
    """Create the lock file exclusively; False if it exists."""
    me = {"host": socket.gethostname(), "pid": os.getpid(), "started": _start_time(os.getpid()),
          "since": time.time(), **_slurm()}
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(me, fh)
        fh.flush()
        os.fsync(fh.fileno())
    return True


def _acquire(path: Path, folder: Path) -> None:
    """Take the run lock at *path* or raise ``ConfigError`` naming its live owner."""
    for _ in range(3):
        if _try_lock(path):
            return
        info = _read_lock(path)
        if info is None:
            continue  # released in between: try again
        if info and _stale(info):
            # stale: its process is gone. Remove it and race for a fresh one.
            try:
                path.unlink()
            except FileNotFoundError:
                pass
            continue
        owner = _owner_text(info) if info else "unknown owner (unreadable lock file)"
        raise ConfigError(
            f"output folder {folder} is in use by another run ({owner}): wait for it to end, "
            f"or choose another --output (if that run is dead on another host, delete {path})")
    raise ConfigError(f"output folder {folder}: could not take the lock {path} (contended): try again")


# every lock this process holds, released on exit/abort
_HELD: list["RunDir"] = []
_HOOKED = False


def release_all() -> None:
    """Release every run lock this process holds (before ``MPI_Abort``, at exit)."""
    for rd in list(_HELD):
        rd.release()


def _on_signal(signum: int, frame: Any) -> None:
    release_all()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _install_hooks() -> None:
    global _HOOKED
    if _HOOKED:
        return
    _HOOKED = True
    atexit.register(release_all)
    if threading.current_thread() is threading.main_thread():
        for s in (signal.SIGTERM, signal.SIGHUP):
            if signal.getsignal(s) in (signal.SIG_DFL, None):
                signal.signal(s, _on_signal)


@dataclass
class RunDir:
    """A prepared run folder (every rank holds one; rank 0 holds the lock).

    Attributes:
        path: the folder (absolute).
        restart: True for a ``--restart`` into it.
        removed: names removed by ``--overwrite`` (rank 0; empty elsewhere).
    """

    path: Path
    restart: bool = False
    removed: list[str] = field(default_factory=list)
    lock: Path | None = None  # rank 0 only, while held

    def release(self) -> None:
        """Remove the lock if this process holds it (idempotent, never raises)."""
        lock, self.lock = self.lock, None
        if self in _HELD:
            _HELD.remove(self)
        if lock is None:
            return
        info = _read_lock(lock)
        if info and info.get("pid") == os.getpid() and info.get("host") == socket.gethostname():
            try:
                lock.unlink()
            except OSError:
                pass

    def __enter__(self) -> "RunDir":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()


def _describe(names: list[str], n: int = 4) -> str:
    shown = ", ".join(sorted(names)[:n])
    return shown + (f" and {len(names) - n} more" if len(names) > n else "")


def _decide(path: Path, restart: bool, overwrite: bool) -> RunDir:
    """Rank 0's part of :func:`prepare_run_dir` (raises ``ConfigError``)."""
    if restart and overwrite:
        raise ConfigError("--restart and --overwrite exclude each other: --restart continues the run "
                          "in the folder, --overwrite deletes it")
    if path.exists() and not path.is_dir():
        raise ConfigError(f"output path {path} is a file, not a folder: remove it or choose another --output")
    created = not path.exists()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(_os_message(path, exc)) from None
    lock = path / LOCK_NAME
    try:
        _acquire(lock, path)
    except (OSError, ConfigError) as exc:
        if created:  # leave nothing behind
            _rmdir_quiet(path)
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(_os_message(path, exc)) from None
    rd = RunDir(path=path, restart=restart, lock=lock)
    _HELD.append(rd)
    try:
        entries = [n for n in os.listdir(path) if _is_run_file(n) and (path / n).is_file()]
        if entries and not restart:
            if not overwrite:
                raise ConfigError(
                    f"output folder {path} already holds a run ({_describe(entries)}): continue it with "
                    f"--restart {path}/checkpoint_<step>.h5, replace it with --overwrite, or choose another --output")
            for n in entries:
                (path / n).unlink(missing_ok=True)
            shutil.rmtree(path / _HEARTBEAT, ignore_errors=True)
            rd.removed = sorted(entries)
        probe = path / f".mscouple-probe.{os.getpid()}.tmp"
        try:
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise ConfigError(_os_message(path, exc)) from None
    except BaseException:
        rd.release()
        if created:
            _rmdir_quiet(path)
        raise
    return rd


def _rmdir_quiet(path: Path) -> None:
    try:
        path.rmdir()
    except OSError:
        pass


def _os_message(path: Path, exc: OSError) -> str:
    why = {errno.ENAMETOOLONG: "a name is too long for the file system",
           errno.EACCES: "permission denied", errno.EPERM: "permission denied",
           errno.EROFS: "the file system is read-only", errno.ENOTDIR: "a part of the path is a file",
           errno.ENOSPC: "no space left on the device", errno.EDQUOT: "disk quota exceeded",
           errno.ENOENT: "a part of the path does not exist"}.get(exc.errno, exc.strerror or str(exc))
    return f"output folder {path}: cannot create or write it ({why}): choose another --output"


def prepare_run_dir(comm: Any, path: str | os.PathLike, *, restart: bool = False,
                    overwrite: bool = False) -> RunDir:
    """Create, check and lock the run folder *path* (collective over *comm*).

    Rank 0 applies the rules of the module docstring; every rank receives the outcome.
    Returns a :class:`RunDir` on every rank (only rank 0's holds the lock: call
    :meth:`RunDir.release` on every rank when the run ends; it is a no-op elsewhere).

    Raises:
        ConfigError: on every rank, with one line saying what to do.
    """
    p = Path(os.path.abspath(os.fspath(path)))
    rd, err = None, None
    if comm.Get_rank() == 0:
        try:
            rd = _decide(p, restart, overwrite)
        except ConfigError as exc:
            err = str(exc)
        except OSError as exc:  # stat of an over-long name, a vanished parent, ...
            err = _os_message(p, exc)
    if comm.Get_size() > 1:
        err = comm.bcast(err, root=0)
    if err is not None:
        raise ConfigError(err)
    if rd is None:
        rd = RunDir(path=p, restart=restart)
    else:
        _install_hooks()
    return rd


def prune_checkpoints(comm: Any, folder: str | os.PathLike, keep: int,
                      pinned: Iterable[int] = ()) -> list[Path]:
    """Delete old checkpoints: keep the newest *keep* by step plus the *pinned* steps
    (collective over *comm*: rank 0 deletes, every rank gets the deleted paths).

    ``keep = 0`` keeps every checkpoint. Call after a checkpoint is committed (renamed
    into place), never before, so the newest good checkpoint always survives. Temporary
    files of a failed checkpoint write are not touched here.
    """
    removed: list[Path] = []
    if comm.Get_rank() == 0 and keep > 0:
        steps = checkpoint_steps(folder)
        keep_set = set(sorted(steps)[-keep:]) | {int(s) for s in pinned}
        for s, p in sorted(steps.items()):
            if s not in keep_set:
                try:
                    p.unlink()
                    removed.append(p)
                except FileNotFoundError:
                    pass
    if comm.Get_size() > 1:
        removed = comm.bcast(removed, root=0)
    return removed
