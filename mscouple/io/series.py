"""Scalar time series (energy ledger, temperatures, interface power, residuals).

One row per output step: ``step``, ``time`` and named float columns. Rank ``root`` keeps
the table and writes two files:

* ``<name>.h5`` — dataset ``/series`` (compound: step int64, time float64, one float64
  field per column; readable by pandas ``read_hdf``-free code, h5py, PyTables), with the
  attribute ``columns`` = JSON ``{name: {"kind": ..., "unit": ...}}`` and run metadata;
* ``<name>.csv`` — the same table, header ``step,time,<columns>``, ``%.17g`` values.

:meth:`ScalarSeries.append` does no communication: pass values that are already reduced
over ranks (every rank may call it; only ``root``'s values are kept). Column kinds drive
``mscouple plot``: ``energy``, ``temperature``, ``power``, ``wave`` (reflection /
transmission), ``other``; undeclared columns get a kind from their prefix (``E_`` energy,
``T_`` temperature, ``P_``/``Q_`` power, ``R_``/``Tr_`` wave).

Crash safety: each row is appended in place to both files and flushed as it is appended
(the HDF5 table is a resizable dataset, the CSV gets one line), so a ``SIGKILL`` keeps
every appended row. When the set of columns changes (a new column appears) or a restart
cuts the rows after its step, both files are rewritten atomically
(:mod:`mscouple.io.commit`) and appending continues on the new files.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from .commit import commit_text
from .hdf5 import open_h5

__all__ = ["ScalarSeries", "read_series", "KINDS", "infer_kind"]

KINDS = ("energy", "temperature", "power", "wave", "other")


def infer_kind(name: str) -> str:
    """Column kind from its name prefix (see the module docstring)."""
    for prefix, kind in (("E_", "energy"), ("T_", "temperature"), ("P_", "power"), ("Q_", "power"), ("Tr_", "wave"), ("R_", "wave")):
        if name.startswith(prefix):
            return kind
    return "other"


class ScalarSeries:
    """An append-only table of scalars written as HDF5 + CSV by ``root``.

    Parameters
    ----------
    comm: the run's communicator (only its rank number is used: no collectives).
    path: the HDF5 file; ``csv_path`` defaults to ``path.with_suffix(".csv")``.
    columns: optional ``name -> (kind, unit)`` declarations (more may be declared later
        with :meth:`declare`, or appear in :meth:`append`).
    flush_every: accepted for compatibility and ignored: every row reaches both files
        (flushed) when it is appended.
    resume_step: continue an existing table after a restart: rows with
        ``step <= resume_step`` are kept, later ones (written after the checkpoint) dropped;
        the files are cut accordingly at once.
    """

    def __init__(
        self,
        comm: Any,
        path: str | os.PathLike,
        *,
        csv_path: str | os.PathLike | None = None,
        columns: Mapping[str, tuple[str, str]] | None = None,
        metadata: Mapping[str, str] | None = None,
        flush_every: int = 1,
        resume_step: int | None = None,
        root: int = 0,
    ) -> None:
        self.comm, self.root = comm, root
        self.is_root = comm.Get_rank() == root
        self.path = Path(path)
        self.csv_path = Path(csv_path) if csv_path is not None else self.path.with_suffix(".csv")
        self.metadata = dict(metadata) if metadata is not None else None
        self.flush_every = max(int(flush_every), 1)
        self.columns: dict[str, dict[str, str]] = {}
        self.rows: list[tuple[int, float, dict[str, float]]] = []
        self._pending = 0
        self._h5 = None  # the open HDF5 table (root), appended in place
        self._csv = None  # the open CSV file (root)
        self._on_file: list[str] | None = None  # the columns the open files hold
        self._closed = False
        for name, (kind, unit) in (columns or {}).items():
            self.declare(name, kind, unit)
        if resume_step is not None and self.is_root and self.path.exists():
            old = read_series(self.path)
            for name, info in old["columns"].items():
                self.columns.setdefault(name, info)
            keep = old["step"] <= resume_step
            for i in np.flatnonzero(keep):
                self.rows.append((int(old["step"][i]), float(old["time"][i]), {c: float(old[c][i]) for c in old["columns"]}))
            self._rewrite()

    def declare(self, name: str, kind: str = "", unit: str = "") -> None:
        """Declare column ``name`` with a plot ``kind`` (one of :data:`KINDS`) and ``unit``."""
        if name in ("step", "time"):
            raise ValueError("'step' and 'time' are reserved column names")
        kind = kind or infer_kind(name)
        if kind not in KINDS:
            raise ValueError(f"column kind {kind!r} is not one of {KINDS}")
        self.columns[name] = {"kind": kind, "unit": unit}

    def append(self, step: int, time: float, values: Mapping[str, float]) -> None:
        """Record one row (no communication). New column names are declared on the fly;
        earlier rows read NaN for them."""
        if not self.is_root:
            return
        for k in values:
            if k not in self.columns:
                self.declare(k)
        self.rows.append((int(step), float(time), {k: float(v) for k, v in values.items()}))
        if self._on_file != list(self.columns):
            self._rewrite()
        else:
            self._append_last()

    def as_arrays(self) -> dict[str, np.ndarray]:
        """The table on root: ``{"step": (T,), "time": (T,), <col>: (T,)}``."""
        out = {"step": np.array([r[0] for r in self.rows], dtype=np.int64), "time": np.array([r[1] for r in self.rows])}
        for c in self.columns:
            out[c] = np.array([r[2].get(c, np.nan) for r in self.rows])
        return out

    def _table(self, rows: slice = slice(None)) -> np.ndarray:
        """The rows as a compound array ``(step, time, <columns>...)``."""
        cols = self.as_arrays()
        names = list(self.columns)
        dtype = np.dtype([("step", np.int64), ("time", np.float64)] + [(c, np.float64) for c in names])
        n = len(self.rows)
        idx = range(n)[rows]
        table = np.empty(len(idx), dtype=dtype)
        for k in dtype.names:
            table[k] = cols[k][rows]
        return table

    @staticmethod
    def _csv_lines(table: np.ndarray) -> str:
        names = table.dtype.names
        return "".join(",".join([str(int(r["step"]))] + [f"{r[c]:.17g}" for c in names[1:]]) + "\n" for r in table)

    def _close_files(self) -> None:
        if self._csv is not None:
            self._csv.flush()
            os.fsync(self._csv.fileno())
            self._csv.close()
            self._csv = None
        if self._h5 is not None:
            self._h5.close()
            self._h5 = None

    def _rewrite(self) -> None:
        """Rewrite both files atomically with every row, then reopen them for appending."""
        from mpi4py import MPI

        self._close_files()
        table = self._table()
        with open_h5(MPI.COMM_SELF, self.path, "w", metadata=self.metadata) as f:
            f.create_dataset("series", (len(table),), table.dtype, maxshape=(None,), chunks=(64,))
            if len(table):
                f["series"][...] = table
            f.set_attrs("series", columns=json.dumps(self.columns))
        commit_text(self.csv_path, ",".join(table.dtype.names) + "\n" + self._csv_lines(table))
        self._h5 = open_h5(MPI.COMM_SELF, self.path, "a", metadata=self.metadata, atomic=False)
        self._csv = open(self.csv_path, "a")
        self._on_file = list(self.columns)

    def _append_last(self) -> None:
        """Append the last row to both open files and flush them."""
        row = self._table(slice(-1, None))
        n = len(self.rows)
        self._h5.resize("series", n)
        self._h5["series"][n - 1] = row[0]
        self._h5.flush()
        self._csv.write(self._csv_lines(row))
        self._csv.flush()

    def flush(self) -> None:
        """Flush both files to the operating system (rows are written as appended)."""
        if not self.is_root:
            return
        if self._h5 is None:
            self._rewrite()
        self._h5.flush()
        self._csv.flush()

    def close(self) -> None:
        """Close the files (root creates them, with no rows, if nothing was appended)."""
        if not self.is_root or self._closed:
            return
        if self._h5 is None:
            self._rewrite()
        self._close_files()
        self._closed = True

    def __enter__(self) -> "ScalarSeries":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def read_series(path: str | os.PathLike) -> dict[str, Any]:
    """Read a series file: ``{"step", "time", <col>...: (T,) arrays, "columns": {...}}``.

    Opened without an HDF5 file lock, like the writer, so that a table still being
    written (by this process or another) can be read: it holds the rows appended so far.
    """
    import h5py

    with h5py.File(path, "r", locking=False) as h:
        table = h["series"][...]
        columns = json.loads(h["series"].attrs["columns"])
    out: dict[str, Any] = {k: np.asarray(table[k]) for k in table.dtype.names}
    out["columns"] = columns
    return out
