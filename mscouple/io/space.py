"""Free space on the output device, checked before each write (collective).

Parallel HDF5 (MPI-IO) does not fail cleanly on a full disk: Open MPI's MPI-IO layer prints
``No space left on device`` and every rank then waits forever in ``H5Fclose``. The run
therefore checks, before it writes anything, that the device holds what the write needs
(plus a margin for HDF5's metadata) and ends every rank with one line if it does not,
while the last good checkpoint is still intact and no temporary file exists.

The check is a single ``statvfs`` on one rank and one broadcast; it is made only on steps
that write. It cannot see another process filling the disk between the check and the
write; ``run.watchdog_s`` ends a job that stalls that way.
"""
from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

from ..errors import MscoupleError

__all__ = ["DiskFullError", "free_bytes", "ensure_space", "human"]

#: HDF5 metadata, XDMF/CSV rows and extxyz headers are small but not nothing
MARGIN_BYTES = 256 * 1024
#: written bytes are estimated from array sizes; HDF5 chunking and text formats add to them
SAFETY_FACTOR = 1.5

#: exit code of a run ended by a full device (sysexits.h ``EX_IOERR``)
EXIT_NO_SPACE = 74


class DiskFullError(MscoupleError, OSError):
    """The output device has not enough free space for the next write (raised on every rank)."""

    collective = True  # every rank raises it: end cleanly, no MPI_Abort needed
    exit_code = EXIT_NO_SPACE

    def __init__(self, message: str):
        super().__init__(errno.ENOSPC, message)

    def __str__(self) -> str:
        return str(self.strerror)


def human(n: float) -> str:
    """Bytes in the unit a user reads (kB, MB, GB)."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000.0
    return f"{n} B"  # pragma: no cover


def free_bytes(folder: str | os.PathLike) -> int:
    """Bytes an unprivileged writer may still use on the device holding ``folder``."""
    st = os.statvfs(os.fspath(folder))
    return int(st.f_bavail) * int(st.f_frsize)


def ensure_space(comm: Any, folder: str | os.PathLike, nbytes_local: int, what: str, *,
                 step: int | None = None, last_good: str | None = None, root: int = 0) -> None:
    """Raise :class:`DiskFullError` on every rank of ``comm`` if ``folder``'s device cannot
    hold the next write (collective).

    ``nbytes_local``: this rank's share of the bytes about to be written (array sizes);
    the need is ``SAFETY_FACTOR × Σ nbytes + MARGIN_BYTES``. ``what`` names the write,
    ``last_good`` the newest intact checkpoint (named in the message).
    """
    total = comm.allreduce(int(nbytes_local)) if comm.Get_size() > 1 else int(nbytes_local)
    need = int(SAFETY_FACTOR * total) + MARGIN_BYTES
    msg = None
    if comm.Get_rank() == root:
        try:
            free = free_bytes(folder)
        except OSError as exc:
            msg = f"output folder {folder}: cannot stat it ({exc.strerror or exc})"
        else:
            if free < need:
                at = f"step {step}: " if step is not None else ""
                keep = f"the last good checkpoint is {last_good}" if last_good else "no checkpoint was written yet"
                msg = (f"{at}no space left for {what} in {Path(folder)} ({human(free)} free, "
                       f"~{human(need)} needed); {keep}; free space (or restart into another --output) and rerun")
    if comm.Get_size() > 1:
        msg = comm.bcast(msg, root=root)
    if msg is not None:
        raise DiskFullError(msg)
