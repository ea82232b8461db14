"""Continuum field time series: HDF5 data + an XDMF 3 index that ParaView opens.

``XdmfWriter(comm, "out/fields.h5", points=..., point_ids=..., cells=..., cell_type=...)``
writes the mesh once, then one set of node/cell fields per :meth:`XdmfWriter.write` call.
Open the ``.xdmf`` in ParaView (reader: "Xdmf3ReaderT") or with
``meshio.xdmf.TimeSeriesReader``.

Crash safety: the HDF5 file is written in place from the start and flushed after every
output; then the index ``out/fields.xdmf`` is rewritten atomically
(:func:`mscouple.io.commit.commit_text`) to list exactly the flushed outputs. A ``SIGKILL``
at any moment leaves an index whose every output is readable. Datasets only grow while a
run writes (``time``/``step`` are extended in place, nothing is deleted), so the space a
flushed output occupies is never reused before the next flush.

HDF5 layout::

    /mesh/geometry      (N, 2|3) float64   node coordinates, rows = global node id
    /mesh/topology      (M, k)   int64     cell → global node ids
    /mesh/cell_ids      (M,)     int64     global cell ids (rows in id order)
    /fields/time        (T,)     float64   simulated time of each output
    /fields/step        (T,)     int64     step of each output
    /fields/<name>/<t>  (N|M, c) float64   value of field <name> at output t

A 1D mesh is stored with ``y = 0`` (XDMF has no 1D geometry); vectors with fewer than 3
components are padded with zeros (ParaView expects 3-vectors).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping
from xml.sax.saxutils import quoteattr

import numpy as np

from . import _dist
from .commit import commit_text
from .hdf5 import open_h5

__all__ = ["XdmfWriter", "CELL_TYPES"]

#: mscouple/meshio cell type → (XDMF TopologyType, nodes per cell)
CELL_TYPES: dict[str, tuple[str, int]] = {
    "line": ("Polyline", 2),
    "triangle": ("Triangle", 3),
    "quad": ("Quadrilateral", 4),
    "tetra": ("Tetrahedron", 4),
    "hexahedron": ("Hexahedron", 8),
}


class XdmfWriter:
    """Write a continuum field time series on the ranks of ``comm`` (all calls collective).

    Parameters
    ----------
    comm: the continuum communicator.
    path: the HDF5 file (``.h5``); the index is ``path.with_suffix(".xdmf")``.
    points: (n_owned, gdim) coordinates of the nodes this rank owns, gdim in 1..3.
    point_ids: (n_owned,) their global node ids; over all ranks exactly 0..N-1.
    cells: (n_cells_local, k) this rank's cells as global node ids.
    cell_type: one of :data:`CELL_TYPES` (``"line"``, ``"triangle"``, ``"quad"``,
        ``"tetra"``, ``"hexahedron"``).
    cell_ids: (n_cells_local,) global cell ids (0..M-1 over all ranks); default: cells in
        rank order. Cell data passed to :meth:`write` follows the row order of ``cells``.
    metadata: from :func:`mscouple.io.hdf5.run_metadata`.
    resume_step: after a restart, continue the existing file: outputs with
        ``step <= resume_step`` are kept, later ones dropped (default: a new file).
    """

    def __init__(
        self,
        comm: Any,
        path: str | os.PathLike,
        *,
        points: np.ndarray,
        point_ids: np.ndarray,
        cells: np.ndarray,
        cell_type: str,
        cell_ids: np.ndarray | None = None,
        metadata: Mapping[str, str] | None = None,
        parallel: bool | None = None,
        resume_step: int | None = None,
    ) -> None:
        if cell_type not in CELL_TYPES:
            raise ValueError(f"unknown cell type {cell_type!r}: expected one of {sorted(CELL_TYPES)}")
        self.comm = comm
        self.path = Path(path)
        self.xdmf_path = self.path.with_suffix(".xdmf")
        self.cell_type = cell_type
        topo, k = CELL_TYPES[cell_type]
        points = np.asarray(points, dtype=np.float64)
        if points.ndim == 1:
            points = points[:, None]
        gdim = comm.allreduce(points.shape[1] if len(points) else 0, op=_max())
        if not 1 <= gdim <= 3:
            raise ValueError(f"points must have 1, 2 or 3 coordinates per row, got {gdim}")
        self.gdim = gdim
        geo = np.zeros((len(points), max(gdim, 2)))
        geo[:, : points.shape[1]] = points
        self._point_ids = np.asarray(point_ids, dtype=np.int64).reshape(-1)
        cells = np.asarray(cells, dtype=np.int64).reshape(-1, k)
        self._n_local_cells = len(cells)
        if cell_ids is None:
            off, _ = _dist.exscan_offset(comm, len(cells))
            cell_ids = np.arange(off, off + len(cells), dtype=np.int64)
        self._cell_ids = np.asarray(cell_ids, dtype=np.int64).reshape(-1)
        exists = comm.bcast(self.path.exists() if comm.Get_rank() == 0 else None, root=0)
        resume = resume_step is not None and exists
        self._fresh = not resume
        self._h5 = open_h5(comm, self.path, "a" if resume else "w", metadata=metadata, parallel=parallel,
                           atomic=False)
        f = self._h5
        try:
            blk = f.sort_by_id(self._point_ids, geo)
            self.n_points = blk.n_global
            bad = len(blk.ids) > 0 and (blk.ids[0] != blk.start or blk.ids[-1] != blk.start + len(blk.ids) - 1)
            lo = comm.allreduce(int(self._point_ids.min()) if len(self._point_ids) else 0, op=_min())
            if _dist.allreduce_flag(comm, bool(bad)) or lo != 0:
                raise ValueError("point_ids over all ranks must be exactly 0..N-1 (global node numbering)")
            f.write_id_block("mesh/geometry", blk)
            cblk = f.sort_by_id(self._cell_ids, cells)
            self.n_cells = cblk.n_global
            f.write_id_block("mesh/topology", cblk)
            f.write_id_block("mesh/cell_ids", _ids_block(cblk))
            f.set_attrs("mesh", cell_type=cell_type, gdim=gdim)
            self._geo_cols = geo.shape[1]
            self.times: list[float] = []
            self.steps: list[int] = []
            self._fields: list[dict[str, tuple[str, str, int]]] = []  # per output: name → (center, type, ncomp)
            if resume:
                self._resume(int(resume_step))
            else:
                self._time_datasets([], [])
            f.flush()
            self._write_index()
        except BaseException:
            f.close(commit=False, discard=not resume)
            raise

    def _time_datasets(self, times: list[float], steps: list[int]) -> None:
        """(Re)create ``fields/time`` and ``fields/step`` as resizable datasets."""
        f = self._h5
        for name, vals, dt in (("fields/time", times, np.float64), ("fields/step", steps, np.int64)):
            f.create_dataset(name, (len(vals),), dt, maxshape=(None,), chunks=(256,))
            if f.is_writer and self.comm.Get_rank() == f.root and len(vals):
                f[name][...] = np.asarray(vals, dtype=dt)

    def _resume(self, resume_step: int) -> None:
        """Keep the outputs with ``step <= resume_step`` of the existing file."""

        def info(h):
            if "fields/step" not in h:
                return None
            steps = [int(x) for x in h["fields/step"][...]]
            entries = []
            for t in range(len(steps)):
                e = {}
                for name, grp in h["fields"].items():
                    if hasattr(grp, "keys") and str(t) in grp:
                        a = grp[str(t)].attrs
                        e[name] = (str(a["center"]), str(a["kind"]), int(a["ncomp"]))
                entries.append(e)
            return {"steps": steps, "times": [float(x) for x in h["fields/time"][...]], "entries": entries}

        got = self._h5.read_on_root(info)
        if got is None:
            return
        keep = sum(1 for st in got["steps"] if st <= resume_step)
        for t in range(keep, len(got["steps"])):
            for name in got["entries"][t]:
                self._h5.delete(f"fields/{name}/{t}")
        self.steps, self.times, self._fields = got["steps"][:keep], got["times"][:keep], got["entries"][:keep]
        self._time_datasets(self.times, self.steps)

    # ------------------------------------------------------------------------------
    def write(
        self,
        time: float,
        point_data: Mapping[str, np.ndarray] | None = None,
        cell_data: Mapping[str, np.ndarray] | None = None,
        step: int | None = None,
    ) -> None:
        """Append one output (collective; same field names on every rank).

        ``point_data[name]``: (n_owned,) scalar or (n_owned, c) vector/tensor rows in the
        order of ``point_ids``; ``cell_data[name]``: rows in the order of ``cells``.
        ``time`` in the case's time unit; ``step`` defaults to the output count.
        """
        f = self._h5
        t = len(self.times)
        entry: dict[str, tuple[str, str, int]] = {}
        for center, data, ids in (
            ("Node", point_data or {}, self._point_ids),
            ("Cell", cell_data or {}, self._cell_ids),
        ):
            for name in sorted(data):
                a = np.asarray(data[name], dtype=np.float64)
                if a.shape[:1] != ids.shape:
                    raise ValueError(
                        f"{center.lower()} field {name!r} has {a.shape[0] if a.ndim else 0} rows on "
                        f"this rank, expected {len(ids)} (one per owned {'node' if center == 'Node' else 'cell'})"
                    )
                a, kind = _attribute_layout(a)
                key = f"fields/{name}/{t}"
                ncomp = 1 if a.ndim == 1 else a.shape[1]
                f.write_id_block(key, f.sort_by_id(ids, a), center=center, kind=kind, ncomp=ncomp)
                entry[name] = (center, kind, ncomp)
        step = int(step) if step is not None else t
        for name, value in (("fields/time", float(time)), ("fields/step", step)):
            f.resize(name, t + 1)
            if f.is_writer and self.comm.Get_rank() == f.root:
                f[name][t] = value
        f.flush()  # the output is complete on disk: only now does the index name it
        self._fields.append(entry)
        self.times.append(float(time))
        self.steps.append(step)
        self._write_index()

    def _write_index(self) -> None:
        """Rewrite the XDMF index atomically on rank 0 (collective: errors on every rank)."""
        err = None
        if self.comm.Get_rank() == 0:
            try:
                commit_text(self.xdmf_path, self._xml())
            except OSError as exc:
                err = OSError(f"cannot write {self.xdmf_path}: {exc}")
        _dist.raise_collective(self.comm, err, root=0)

    def close(self, commit: bool = True) -> None:
        """Close the HDF5 file (collective). The index already lists every completed
        output; they stay whatever ``commit`` says (a failed run keeps its outputs). A
        new file that failed (``commit=False``) before its first output is removed."""
        if self._h5 is None:
            return
        h5, self._h5 = self._h5, None
        discard = not commit and self._fresh and not self.times
        h5.close(commit=commit, discard=discard)
        if discard and self.comm.Get_rank() == 0:
            self.xdmf_path.unlink(missing_ok=True)

    def __enter__(self) -> "XdmfWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(commit=exc_type is None)

    # ------------------------------------------------------------------------------
    def _item(self, h5path: str, dims: tuple[int, ...], dtype: str = "Float") -> str:
        d = " ".join(str(x) for x in dims)
        return (
            f'<DataItem DataType="{dtype}" Dimensions="{d}" Format="HDF" Precision="8">'
            f"{self.path.name}:/{h5path}</DataItem>"
        )

    def _xml(self) -> str:
        topo, k = CELL_TYPES[self.cell_type]
        gtype = "XY" if self._geo_cols == 2 else "XYZ"
        npe = f' NodesPerElement="{k}"' if topo == "Polyline" else ""
        out = [
            '<?xml version="1.0"?>',
            '<Xdmf Version="3.0" xmlns:xi="http://www.w3.org/2001/XInclude">',
            "<Domain>",
            '<Grid Name="mesh" GridType="Uniform">',
            f'<Geometry GeometryType="{gtype}">{self._item("mesh/geometry", (self.n_points, self._geo_cols))}</Geometry>',
            f'<Topology TopologyType="{topo}" NumberOfElements="{self.n_cells}"{npe}>'
            f'{self._item("mesh/topology", (self.n_cells, k), "Int")}</Topology>',
            "</Grid>",
            '<Grid Name="fields" GridType="Collection" CollectionType="Temporal">',
        ]
        for t, (time, entry) in enumerate(zip(self.times, self._fields)):
            out.append(f'<Grid Name="output_{t}" GridType="Uniform">')
            out.append(
                '<xi:include xpointer="xpointer(//Grid[@Name=&quot;mesh&quot;]'
                '/*[self::Topology or self::Geometry])"/>'
            )
            out.append(f'<Time Value="{time!r}"/>')
            for name, (center, kind, ncomp) in entry.items():
                n = self.n_points if center == "Node" else self.n_cells
                dims = (n,) if ncomp == 1 else (n, ncomp)
                out.append(
                    f'<Attribute Name={quoteattr(name)} AttributeType="{kind}" Center="{center}">'
                    f"{self._item(f'fields/{name}/{t}', dims)}</Attribute>"
                )
            out.append("</Grid>")
        out += ["</Grid>", "</Domain>", "</Xdmf>", ""]
        return "\n".join(out)


def _attribute_layout(a: np.ndarray) -> tuple[np.ndarray, str]:
    """Rows → (array as stored, XDMF AttributeType)."""
    if a.ndim == 1:
        return a, "Scalar"
    if a.ndim == 2 and a.shape[1] == 1:
        return a[:, 0], "Scalar"
    if a.ndim == 2 and a.shape[1] <= 3:
        pad = np.zeros((a.shape[0], 3))
        pad[:, : a.shape[1]] = a
        return pad, "Vector"
    if a.ndim == 3 and a.shape[1:] in ((2, 2), (3, 3)):
        full = np.zeros((a.shape[0], 3, 3))
        full[:, : a.shape[1], : a.shape[2]] = a
        return full.reshape(-1, 9), "Tensor"
    if a.ndim == 2 and a.shape[1] == 9:
        return a, "Tensor"
    raise ValueError(f"field rows of shape {a.shape[1:]} are not scalar, vector (≤3) or tensor (2x2, 3x3)")


def _ids_block(blk):
    from .hdf5 import IdBlock

    return IdBlock(blk.start, blk.n_global, blk.ids, [blk.ids])


def _max():
    from mpi4py import MPI

    return MPI.MAX


def _min():
    from mpi4py import MPI

    return MPI.MIN
