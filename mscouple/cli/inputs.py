"""Checks of the files named on the command line, before any work: one clear line each.

:func:`check_series_file` is what ``mscouple plot`` accepts: an existing HDF5 file that
holds a run's scalar series (``run.h5``), not a checkpoint or another HDF5 file.
"""
from __future__ import annotations

import os

from ..errors import ConfigError

__all__ = ["check_series_file"]


def check_series_file(path: str) -> None:
    """Raise ``ConfigError`` unless *path* is a run's series file (``<run folder>/run.h5``)."""
    import h5py

    want = "expected a run's series file (<run folder>/run.h5)"
    if os.path.isdir(path):
        hint = os.path.join(path, "run.h5")
        raise ConfigError(f"{path}: is a folder, {want}" + (f": try {hint}" if os.path.isfile(hint) else ""))
    if not os.path.exists(path):
        raise ConfigError(f"{path}: no such file, {want}")
    try:
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read it ({exc.strerror}), {want}") from None
    if not h5py.is_hdf5(path):
        raise ConfigError(f"{path}: is not an HDF5 file, {want}")
    try:
        with h5py.File(path, "r") as h:
            if "checkpoint_format" in h.attrs:
                raise ConfigError(f"{path}: is a checkpoint, {want} (continue a run from it with "
                                  f"'mscouple run CASE --restart {path}')")
            if "series" not in h or "columns" not in h["series"].attrs:
                raise ConfigError(f"{path}: is an HDF5 file without a 'series' table, {want}")
    except OSError as exc:
        raise ConfigError(f"{path}: unreadable HDF5 file ({exc}), {want}") from None
