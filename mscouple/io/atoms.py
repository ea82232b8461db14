"""Atom trajectories from distributed atoms: H5MD, extended XYZ and LAMMPS dump.

Every writer is collective over the patch communicator ``comm``. Each rank passes the
atoms it owns (no ghosts) with their global ids; files hold the atoms sorted by id.

* :class:`H5MDWriter` — H5MD 1.1 (https://www.nongnu.org/h5md/h5md.html): MDAnalysis and
  HDF5 pipelines. Parallel (mpio) when available, rows written by their owners.
* :class:`ExtxyzWriter` — extended XYZ: ASE (``ase.io.read(..., index=":")``) and OVITO.
* :class:`LammpsDumpWriter` — ``dump custom`` text (``id type x y z vx vy vz``): OVITO,
  ASE (``format="lammps-dump-text"``), LAMMPS ``rerun``.

The text formats are gathered to rank 0. Every writer takes ``resume_step=`` to continue
its existing file after a restart (frames after the checkpoint's step are dropped). All files are written under a temporary name and
renamed when the writer closes successfully (see :mod:`mscouple.io.hdf5`).

Shapes: ``ids`` (n,) int; ``positions``/``velocities`` (n, d) float64 with d = 2 or 3;
``types`` (n,) int (1-based, as in LAMMPS); box ``lo``/``edges`` (d,) in length units
(orthorhombic boxes only).
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from . import _dist
from .hdf5 import open_h5, sort_by_id

__all__ = ["H5MDWriter", "ExtxyzWriter", "LammpsDumpWriter", "H5MD_UNITS"]

#: H5MD unit strings (``unit`` attribute) per mscouple unit system; LJ units carry none.
H5MD_UNITS: dict[str, dict[str, str]] = {
    "metal": {"length": "Angstrom", "time": "ps", "velocity": "Angstrom ps-1"},
    "lj": {},
}


_PERIODIC = {"periodic", "p", "pp", True}
_OPEN = {"none", "free", "fixed", "f", "ff", "shrink", "s", "ss", False}


def _boundary(boundary: str | bool | Sequence[str | bool], dim: int) -> list[str]:
    """Per-dimension H5MD boundary names: ``"periodic"`` or ``"none"``.

    Accepts those, LAMMPS-style ``"p"``/``"f"``/``"s"``, ``"free"``/``"fixed"``, or booleans
    (``True`` = periodic), either once for all dimensions or one per dimension.
    """
    b = [boundary] * dim if isinstance(boundary, (str, bool, np.bool_)) else list(boundary)
    out = []
    for x in b:
        key = x.lower() if isinstance(x, str) else bool(x)
        if key in _PERIODIC:
            out.append("periodic")
        elif key in _OPEN:
            out.append("none")
        else:
            out.append("?")
    if len(out) != dim or "?" in out:
        raise ValueError(f"boundary must be 'periodic' or 'none' (or True/False) for each of {dim} dimensions, got {boundary!r}")
    return out


class H5MDWriter:
    """H5MD 1.1 trajectory of one particle group (collective over ``comm``).

    Layout (``G`` = ``group``, T frames, N atoms, D dimensions)::

        /h5md            version=[1,1]; author(name), creator(name, version)
        /particles/G/box             dimension=D, boundary=[...]
        /particles/G/box/edges       {step (T,), time (T,), value (T, D)}
        /particles/G/position        {step, time, value (T, N, D)}
        /particles/G/velocity        {step, time, value (T, N, D)}   (if velocities given)
        /particles/G/species         (N,) int32  (time-independent, the atom types)
        /particles/G/id              (N,) int64  (time-independent, sorted global ids)

    The atom set (ids) must stay the same from frame to frame. ``group`` defaults to
    ``"trajectory"``, the name MDAnalysis looks for when it builds a topology from the file.
    ``units``: ``"metal"`` writes ``unit`` attributes (Angstrom, ps); ``"lj"`` writes none
    (load with ``convert_units=False`` in MDAnalysis). ``resume_step``: after a restart,
    continue the existing file, keeping its frames with ``step <= resume_step``.
    """

    def __init__(
        self,
        comm: Any,
        path: str | os.PathLike,
        *,
        box_edges: Sequence[float],
        boundary: str | Sequence[str] = "periodic",
        group: str = "trajectory",
        units: str = "lj",
        author: str = "mscouple",
        metadata: Mapping[str, str] | None = None,
        parallel: bool | None = None,
        resume_step: int | None = None,
    ) -> None:
        from .. import __version__

        self.comm = comm
        self.dim = len(box_edges)
        if self.dim not in (2, 3):
            raise ValueError(f"box_edges must have 2 or 3 entries, got {len(box_edges)}")
        self.boundary = _boundary(boundary, self.dim)
        self.units = dict(H5MD_UNITS.get(units, {}))
        if units not in H5MD_UNITS:
            raise ValueError(f"units must be one of {sorted(H5MD_UNITS)}, got {units!r}")
        self.box_edges = np.asarray(box_edges, dtype=np.float64)
        self.g = f"particles/{group}"
        self.n_frames = 0
        self._first_ids: np.ndarray | None = None
        self._has_vel: bool | None = None
        resume = resume_step is not None and _exists(comm, path)
        self._f = open_h5(comm, path, "a" if resume else "w", metadata=metadata, parallel=parallel)
        if resume:
            try:
                self._resume(int(resume_step))
            except BaseException:
                self._f.close(commit=False)
                raise
            return
        f = self._f
        f.require_group("h5md/author")
        f.require_group("h5md/creator")
        f.set_attrs("h5md", version=np.array([1, 1], dtype=np.int32))
        f.set_attrs("h5md/author", name=author)
        f.set_attrs("h5md/creator", name="mscouple", version=__version__)
        f.require_group(f"{self.g}/box")
        f.set_attrs(
            f"{self.g}/box",
            dimension=np.int32(self.dim),
            boundary=np.array([b.encode() for b in self.boundary], dtype="S8"),
        )
        self._time_element(f"{self.g}/box/edges", (self.dim,), self.units.get("length"))

    def _resume(self, resume_step: int) -> None:
        """Keep the frames with ``step <= resume_step`` of an existing file."""
        g = self.g

        def info(h):
            if g not in h or "position" not in h[g]:
                return None
            steps = h[f"{g}/position/step"][...]
            return {
                "keep": int(np.count_nonzero(steps <= resume_step)),
                "n_atoms": int(h[f"{g}/position/value"].shape[1]),
                "dim": int(h[f"{g}/position/value"].shape[2]),
                "has_vel": "velocity" in h[g],
            }

        got = self._f.read_on_root(info)
        if got is None:  # no frame written yet: behave as a fresh file
            return
        if got["dim"] != self.dim:
            raise ValueError(f"cannot resume {self._f.path}: it holds {got['dim']}D positions, box is {self.dim}D")
        elements = ["box/edges", "position"] + (["velocity"] if got["has_vel"] else [])
        for el in elements:
            for name in ("value", "step", "time"):
                self._f.resize(f"{g}/{el}/{name}", got["keep"])
        self.n_frames = got["keep"]
        self.n_atoms, self._has_vel = got["n_atoms"], got["has_vel"]
        if self.n_frames == 0:
            for el in elements[1:]:
                self._f.delete(f"{g}/{el}")

    def _time_element(self, where: str, row_shape: tuple[int, ...], unit: str | None) -> None:
        f = self._f
        chunk = (1,) + tuple(min(s, 65536) if i == 0 else s for i, s in enumerate(row_shape))
        f.create_dataset(f"{where}/value", (0,) + row_shape, np.float64, maxshape=(None,) + row_shape, chunks=chunk)
        f.create_dataset(f"{where}/step", (0,), np.int64, maxshape=(None,), chunks=(256,))
        f.create_dataset(f"{where}/time", (0,), np.float64, maxshape=(None,), chunks=(256,))
        if unit:
            f.set_attrs(f"{where}/value", unit=unit)
        if self.units.get("time"):
            f.set_attrs(f"{where}/time", unit=self.units["time"])

    def _append(self, where: str, step: int, time: float, start: int | None, rows: np.ndarray | None) -> None:
        """Extend a time-dependent element by one frame; ``rows`` at ``start`` (or whole)."""
        f = self._f
        t = self.n_frames
        for name in ("value", "step", "time"):
            f.resize(f"{where}/{name}", t + 1)
        if f.is_writer:
            if f.comm.Get_rank() == f.root:
                f[f"{where}/step"][t] = step
                f[f"{where}/time"][t] = time
            if rows is not None and len(rows):
                if start is None:
                    f[f"{where}/value"][t] = rows
                else:
                    f[f"{where}/value"][t, start : start + len(rows)] = rows

    def write(
        self,
        step: int,
        time: float,
        ids: np.ndarray,
        positions: np.ndarray,
        velocities: np.ndarray | None = None,
        types: np.ndarray | None = None,
        box_edges: Sequence[float] | None = None,
    ) -> None:
        """Append one frame (collective). ``types`` is used on the first frame only."""
        f = self._f
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        pos = _rows(positions, len(ids))
        has_vel = not _dist.allreduce_flag(self.comm, velocities is None)
        arrays = [pos]
        if has_vel:
            arrays.append(_rows(velocities, len(ids)))
        first = self.n_frames == 0
        if first:
            t_arr = np.ones(len(ids), np.int32) if types is None else np.asarray(types, np.int32).reshape(-1)
            arrays.append(t_arr)
        blk = f.sort_by_id(ids, *arrays)
        bad = any(a.shape[1:] != (self.dim,) for a in blk.arrays[: 1 + has_vel] if len(a))
        if _dist.allreduce_flag(self.comm, bad):
            raise ValueError(f"positions/velocities must have {self.dim} columns (the box dimension)")
        if first:
            self.n_atoms = blk.n_global
            self._has_vel = has_vel
            self._first_ids = blk.ids
            self._time_element(f"{self.g}/position", (self.n_atoms, self.dim), self.units.get("length"))
            if has_vel:
                self._time_element(f"{self.g}/velocity", (self.n_atoms, self.dim), self.units.get("velocity"))
            f.write_id_block(f"{self.g}/species", blk, len(blk.arrays) - 1)
            f.write_id_block(f"{self.g}/id", type(blk)(blk.start, blk.n_global, blk.ids, [blk.ids]))
        else:
            if self._first_ids is None:  # resumed file: compare with the stored ids
                n = len(blk.ids)
                self._first_ids = f[f"{self.g}/id"][blk.start : blk.start + n] if f.is_writer and n else blk.ids[:0]
            changed = blk.n_global != self.n_atoms or not np.array_equal(blk.ids, self._first_ids)
            if _dist.allreduce_flag(self.comm, changed) or has_vel != self._has_vel:
                raise ValueError(
                    "the atom set changed between H5MD frames: every frame must hold the same "
                    "ids (and velocities in all frames or none)"
                )
        edges = self.box_edges if box_edges is None else np.asarray(box_edges, dtype=np.float64)
        self._append(f"{self.g}/box/edges", step, time, None, edges if f.comm.Get_rank() == f.root else None)
        self._append(f"{self.g}/position", step, time, blk.start, blk.arrays[0])
        if has_vel:
            self._append(f"{self.g}/velocity", step, time, blk.start, blk.arrays[1])
        self.n_frames += 1

    def flush(self) -> None:
        self._f.flush()

    def close(self, commit: bool = True) -> None:
        """Commit the file (collective)."""
        self._f.close(commit=commit)

    def __enter__(self) -> "H5MDWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(commit=exc_type is None)


def _exists(comm: Any, path: str | os.PathLike) -> bool:
    return bool(comm.bcast(Path(path).exists() if comm.Get_rank() == 0 else None, root=0))


def _extxyz_frames(lines: list[str]):
    """Yield (step, lines) per extended-XYZ frame."""
    i = 0
    while i < len(lines):
        n = int(lines[i])
        m = re.search(r"\bStep=(-?\d+)", lines[i + 1])
        yield (int(m.group(1)) if m else 0), lines[i : i + n + 2]
        i += n + 2


def _dump_frames(lines: list[str]):
    """Yield (step, lines) per LAMMPS dump frame (optionally led by ITEM: TIME)."""
    i = 0
    while i < len(lines):
        j = i + 2 if lines[i].startswith("ITEM: TIME") and not lines[i].startswith("ITEM: TIMESTEP") else i
        step = int(lines[j + 1])
        n = int(lines[j + 3])
        end = j + 4 + 4 + 1 + n  # BOX BOUNDS header + 3 lines, ATOMS header, n atoms
        yield step, lines[i:end]
        i = end


class _RootText:
    """A text file written by ``root`` only, under a temporary name until :meth:`close`.

    With ``keep`` (a frame splitter) and an existing file, the frames with
    ``step <= resume_step`` are copied into the new file first.
    """

    def __init__(self, comm: Any, path: str | os.PathLike, root: int = 0, keep: Any = None, resume_step: int | None = None) -> None:
        import secrets

        self.comm, self.root = comm, root
        self.path = Path(path)
        token = comm.bcast(secrets.token_hex(6) if comm.Get_rank() == root else None, root=root)
        self.tmp_path = self.path.with_name(f".{self.path.name}.{token}.tmp")
        self.fh = None
        err = None
        if comm.Get_rank() == root:
            try:
                self.fh = open(self.tmp_path, "w")
                if resume_step is not None and keep is not None and self.path.exists():
                    lines = self.path.read_text().splitlines()
                    for step, frame in keep(lines):
                        if step <= resume_step:
                            self.fh.write("\n".join(frame) + "\n")
            except (OSError, ValueError, IndexError) as exc:
                err = OSError(f"cannot resume {self.path}: {exc}") if not isinstance(exc, OSError) else exc
        _dist.raise_collective(comm, err, root=root)

    def close(self, commit: bool = True) -> None:
        ok = not _dist.allreduce_flag(self.comm, not commit)
        err = None
        if self.fh is not None:
            try:
                self.fh.close()
                if ok:
                    os.replace(self.tmp_path, self.path)
                else:
                    self.tmp_path.unlink(missing_ok=True)
            except OSError as exc:
                err = exc
            self.fh = None
        _dist.raise_collective(self.comm, err, root=self.root)


class _GatheredTextWriter:
    """Shared machinery: gather atoms sorted by id to rank 0, format one frame there."""

    _frames: Any = None

    def __init__(self, comm: Any, path: str | os.PathLike, box_lo: Sequence[float], box_edges: Sequence[float], boundary: str | Sequence[str], resume_step: int | None = None) -> None:
        self.comm = comm
        self.box_lo = np.asarray(box_lo, dtype=np.float64)
        self.box_edges = np.asarray(box_edges, dtype=np.float64)
        self.dim = len(self.box_edges)
        if self.dim not in (2, 3) or len(self.box_lo) != self.dim:
            raise ValueError("box_lo and box_edges must both have 2 or 3 entries")
        self.boundary = _boundary(boundary, self.dim)
        self._out = _RootText(comm, path, keep=type(self)._frames, resume_step=resume_step)
        self.n_frames = 0

    def _gather(self, ids, positions, velocities, types):
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        n = len(ids)
        pos = _pad3(_rows(positions, n))
        has_vel = not _dist.allreduce_flag(self.comm, velocities is None)
        vel = _pad3(_rows(velocities, n)) if has_vel else np.zeros((n, 3))
        typ = np.ones(n, np.int32) if types is None else np.asarray(types, np.int32).reshape(-1)
        blk = sort_by_id(self.comm, ids, pos, vel, typ, distribute=False)
        return blk, has_vel

    def close(self, commit: bool = True) -> None:
        """Commit the file (collective)."""
        self._out.close(commit=commit)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(commit=exc_type is None)


def _rows(a: Any, n: int) -> np.ndarray:
    """(n, d) float64 rows; an empty input becomes (0, 3) (the dimension of others wins)."""
    a = np.asarray(a, dtype=np.float64)
    if a.size == 0:
        return np.empty((0, 3))
    return a.reshape(n, -1)


def _pad3(a: np.ndarray) -> np.ndarray:
    if a.shape[1] == 3:
        return a
    out = np.zeros((a.shape[0], 3))
    out[:, : a.shape[1]] = a
    return out


class ExtxyzWriter(_GatheredTextWriter):
    """Extended XYZ frames (collective; the file is written by rank 0).

    Columns: ``species:S:1 pos:R:3 [vel:R:3] id:I:1 type:I:1``; the comment line carries
    ``Lattice``, ``Origin``, ``pbc``, ``Time`` and ``Step``. ``species_names[t-1]`` names
    type ``t`` (default ``"X"``, ASE's dummy element). A 2D box is written with a unit z
    edge and ``pbc`` false in z.
    """

    _frames = staticmethod(_extxyz_frames)

    def __init__(
        self,
        comm: Any,
        path: str | os.PathLike,
        *,
        box_lo: Sequence[float],
        box_edges: Sequence[float],
        boundary: str | Sequence[str] = "periodic",
        species_names: Sequence[str] | None = None,
        resume_step: int | None = None,
    ) -> None:
        super().__init__(comm, path, box_lo, box_edges, boundary, resume_step)
        self.species_names = list(species_names) if species_names else None

    def write(self, step: int, time: float, ids, positions, velocities=None, types=None) -> None:
        """Append one frame (collective)."""
        blk, has_vel = self._gather(ids, positions, velocities, types)
        fh = self._out.fh
        if fh is None:
            self.n_frames += 1
            return
        pos, vel, typ = blk.arrays
        edges = np.ones(3)
        edges[: self.dim] = self.box_edges
        lo = np.zeros(3)
        lo[: self.dim] = self.box_lo
        pbc = [b == "periodic" for b in self.boundary] + [False] * (3 - self.dim)
        lattice = " ".join(f"{v:.17g}" for v in np.diag(edges).ravel())
        props = "species:S:1:pos:R:3" + (":vel:R:3" if has_vel else "") + ":id:I:1:type:I:1"
        fh.write(f"{len(blk.ids)}\n")
        fh.write(
            f'Lattice="{lattice}" Origin="{" ".join(f"{v:.17g}" for v in lo)}" '
            f'Properties={props} Time={time:.17g} Step={int(step)} '
            f'pbc="{" ".join("T" if p else "F" for p in pbc)}"\n'
        )
        names = self.species_names
        cols = [pos] + ([vel] if has_vel else [])
        num = np.hstack(cols)
        for i in range(len(blk.ids)):
            sym = names[typ[i] - 1] if names and 0 < typ[i] <= len(names) else "X"
            fh.write(sym + " " + " ".join(f"{v:.17g}" for v in num[i]) + f" {blk.ids[i]} {typ[i]}\n")
        self.n_frames += 1


class LammpsDumpWriter(_GatheredTextWriter):
    """LAMMPS ``dump custom`` frames: ``id type x y z [vx vy vz]`` (collective; rank 0 writes).

    A 2D box gets z bounds ``[-0.5, 0.5]`` as LAMMPS writes for 2D runs.
    """

    _frames = staticmethod(_dump_frames)

    def __init__(
        self,
        comm: Any,
        path: str | os.PathLike,
        *,
        box_lo: Sequence[float],
        box_edges: Sequence[float],
        boundary: str | Sequence[str] = "periodic",
        resume_step: int | None = None,
    ) -> None:
        super().__init__(comm, path, box_lo, box_edges, boundary, resume_step)

    def write(self, step: int, time: float, ids, positions, velocities=None, types=None) -> None:
        """Append one frame (collective). ``time`` is recorded as ``ITEM: TIME``."""
        blk, has_vel = self._gather(ids, positions, velocities, types)
        fh = self._out.fh
        if fh is None:
            self.n_frames += 1
            return
        pos, vel, typ = blk.arrays
        lo, hi = np.full(3, -0.5), np.full(3, 0.5)
        lo[: self.dim] = self.box_lo
        hi[: self.dim] = self.box_lo + self.box_edges
        flags = ["pp" if b == "periodic" else "ff" for b in self.boundary] + ["pp"] * (3 - self.dim)
        fh.write(f"ITEM: TIME\n{time:.17g}\nITEM: TIMESTEP\n{int(step)}\n")
        fh.write(f"ITEM: NUMBER OF ATOMS\n{len(blk.ids)}\n")
        fh.write(f"ITEM: BOX BOUNDS {' '.join(flags)}\n")
        for a, b in zip(lo, hi):
            fh.write(f"{a:.17g} {b:.17g}\n")
        fh.write("ITEM: ATOMS id type x y z" + (" vx vy vz" if has_vel else "") + "\n")
        num = np.hstack([pos, vel]) if has_vel else pos
        for i in range(len(blk.ids)):
            fh.write(f"{blk.ids[i]} {typ[i]} " + " ".join(f"{v:.17g}" for v in num[i]) + "\n")
        self.n_frames += 1
