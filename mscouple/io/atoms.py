"""Atom trajectories from distributed atoms: H5MD, extended XYZ and LAMMPS dump.

Every writer is collective over the patch communicator ``comm``. Each rank passes the
atoms it owns (no ghosts) with their global ids; files hold the atoms sorted by id.

* :class:`H5MDWriter` — H5MD 1.1 (https://www.nongnu.org/h5md/h5md.html): MDAnalysis and
  HDF5 pipelines. Parallel (mpio) when available, rows written by their owners.
* :class:`ExtxyzWriter` — extended XYZ: ASE (``ase.io.read(..., index=":")``) and OVITO.
* :class:`LammpsDumpWriter` — ``dump custom`` text (``id type x y z vx vy vz``, ids from
  1): OVITO, ASE (``format="lammps-dump-text"``), LAMMPS ``rerun``/``read_dump``.

The text formats are gathered to rank 0. Every writer takes ``resume_step=`` to continue
its existing file after a restart (frames after the checkpoint's step, and a torn last
frame left by a crash, are cut off).

Crash safety: every file is written in place from the first frame on. A text frame is
formatted in memory and appended with one ``write`` + ``flush``; an H5MD frame ends with
an HDF5 flush. A ``SIGKILL`` at any moment therefore leaves every completed frame
readable (at worst a torn last text frame, which a resume cuts off). :meth:`close` fsyncs.

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
    # reduced units labelled so that MDAnalysis converts by 1 (see H5MDWriter)
    "lj": {"length": "Angstrom", "time": "ps", "velocity": "Angstrom ps-1"},
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
    ``units``: ``"metal"`` writes ``unit`` attributes Angstrom, ps, Angstrom ps-1.
    ``"lj"`` writes the same strings because MDAnalysis refuses a plain
    ``Universe(path)`` without units it knows: the numbers are in σ and τ, and labelling
    them Angstrom/ps makes MDAnalysis's conversion the identity (its base units are
    Angstrom and ps), so it reports the reduced values unchanged. The group attribute
    ``mscouple_units = "lj"`` records that the labels stand for σ, τ and σ/τ.
    ``resume_step``: after a restart, continue the existing file, keeping its frames with
    ``step <= resume_step``. The file is written in place and flushed after every frame.
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
        self.unit_system = units
        if units not in H5MD_UNITS:
            raise ValueError(f"units must be one of {sorted(H5MD_UNITS)}, got {units!r}")
        self.box_edges = np.asarray(box_edges, dtype=np.float64)
        self.g = f"particles/{group}"
        self.n_frames = 0
        self._first_ids: np.ndarray | None = None
        self._has_vel: bool | None = None
        resume = resume_step is not None and _exists(comm, path)
        self._fresh = not resume
        self._f = open_h5(comm, path, "a" if resume else "w", metadata=metadata, parallel=parallel, atomic=False)
        try:
            if resume:
                self._resume(int(resume_step))
            else:
                self._create(author, __version__)
            self._f.flush()
        except BaseException:
            self._f.close(commit=False, discard=not resume)
            raise

    def _create(self, author: str, version: str) -> None:
        f = self._f
        f.require_group("h5md/author")
        f.require_group("h5md/creator")
        f.set_attrs("h5md", version=np.array([1, 1], dtype=np.int32))
        f.set_attrs("h5md/author", name=author)
        f.set_attrs("h5md/creator", name="mscouple", version=version)
        f.require_group(f"{self.g}/box")
        f.set_attrs(self.g, mscouple_units=self.unit_system)
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
        self._f.flush()  # the frame is complete on disk

    def flush(self) -> None:
        """Flush the HDF5 file (done after every frame already)."""
        self._f.flush()

    def close(self, commit: bool = True) -> None:
        """Close the file (collective); the frames written stay whatever ``commit`` says
        (a new file that failed before its first frame is removed)."""
        self._f.close(commit=commit, discard=not commit and self._fresh and self.n_frames == 0)

    def __enter__(self) -> "H5MDWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(commit=exc_type is None)


def _exists(comm: Any, path: str | os.PathLike) -> bool:
    return bool(comm.bcast(Path(path).exists() if comm.Get_rank() == 0 else None, root=0))


def _extxyz_frames(lines: list[str]):
    """Yield ``(step, n_lines)`` per complete extended-XYZ frame; stop at a torn one."""
    i = 0
    while i < len(lines):
        try:
            n = int(lines[i])
        except ValueError:
            return
        if i + n + 2 > len(lines) or not lines[i + n + 1].endswith("\n"):
            return
        m = re.search(r"\bStep=(-?\d+)", lines[i + 1])
        yield (int(m.group(1)) if m else 0), n + 2
        i += n + 2


def _dump_frames(lines: list[str]):
    """Yield ``(step, n_lines)`` per complete LAMMPS dump frame (optionally led by
    ``ITEM: TIME``); stop at a torn one."""
    i = 0
    while i < len(lines):
        try:
            j = i + 2 if lines[i].startswith("ITEM: TIME") and not lines[i].startswith("ITEM: TIMESTEP") else i
            step = int(lines[j + 1])
            n = int(lines[j + 3])
        except (ValueError, IndexError):
            return
        end = j + 4 + 4 + 1 + n  # BOX BOUNDS header + 3 lines, ATOMS header, n atoms
        if end > len(lines) or not lines[end - 1].endswith("\n"):
            return
        yield step, end - i
        i = end


class _RootText:
    """A text trajectory appended in place by ``root`` (collective open and close).

    Fresh: ``path`` is created empty. Resume (``resume_step`` and an existing file): the
    file is cut after its last complete frame with ``step <= resume_step`` (``frames``
    splits it), so later frames and a torn tail are dropped, then appended to.
    """

    def __init__(self, comm: Any, path: str | os.PathLike, root: int = 0, frames: Any = None,
                 resume_step: int | None = None) -> None:
        self.comm, self.root = comm, root
        self.path = Path(path)
        self.fh = None
        self.n_kept = 0
        self.fresh = True
        err = None
        if comm.Get_rank() == root:
            try:
                if resume_step is not None and frames is not None and self.path.exists():
                    with open(self.path, "r", newline="") as fh:
                        lines = fh.readlines()
                    nbytes, pos = 0, 0
                    for step, n in frames(lines):
                        if step > resume_step:
                            break
                        nbytes += sum(len(x.encode()) for x in lines[pos:pos + n])
                        pos += n
                        self.n_kept += 1
                    self.fresh = False
                    os.truncate(self.path, nbytes)
                    self.fh = open(self.path, "a")
                else:
                    self.fh = open(self.path, "w")
            except (OSError, UnicodeDecodeError) as exc:
                err = OSError(f"cannot write {self.path}: {exc}")
        _dist.raise_collective(comm, err, root=root)
        self.n_kept, self.fresh = comm.bcast((self.n_kept, self.fresh), root=root)

    def append(self, text: str) -> None:
        """Append one complete frame (root only): one write, then flush to the OS."""
        self.fh.write(text)
        self.fh.flush()

    def close(self, commit: bool = True, discard: bool = False) -> None:
        """fsync and close (collective); the frames written stay whatever ``commit`` says,
        ``discard`` removes the file."""
        err = None
        if self.fh is not None:
            try:
                self.fh.flush()
                os.fsync(self.fh.fileno())
                self.fh.close()
                if discard:
                    self.path.unlink(missing_ok=True)
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
        self._out = _RootText(comm, path, frames=type(self)._frames, resume_step=resume_step)
        self.n_frames = self._out.n_kept

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
        """fsync and close the file (collective); completed frames stay (a new file that
        failed before its first frame is removed)."""
        self._out.close(commit=commit, discard=not commit and self._out.fresh and self.n_frames == 0)

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


def _fmt_rows(*cols: np.ndarray) -> list[str]:
    """One string per row: the columns' values joined by spaces (floats as ``%.17g``)."""
    parts = []
    for c in cols:
        c = np.asarray(c)
        c = c[:, None] if c.ndim == 1 else c
        fmt = "%.17g" if c.dtype.kind == "f" else ("%s" if c.dtype.kind in "US" else "%d")
        parts.append([" ".join(fmt % v for v in row) for row in c.tolist()])
    return [" ".join(r) for r in zip(*parts)]


class ExtxyzWriter(_GatheredTextWriter):
    """Extended XYZ frames (collective; the file is written by rank 0).

    Columns: ``species:S:1 pos:R:3 [velo:R:3 momenta:R:3 masses:R:1] id:I:1 type:I:1``;
    the comment line carries ``Lattice``, ``pbc``, ``Time``, ``Step`` and ``box_lo``.

    Cell and origin: ASE ignores an ``Origin`` key (its cells start at 0) while OVITO
    honours it, so with ``Origin`` the two programs disagree about where the atoms lie.
    The writer therefore shifts positions by ``-box_lo`` and writes no ``Origin``: the
    cell spans ``[0, edges)`` and the atoms inside the simulation box lie inside the cell
    in every reader. ``box_lo`` in the comment line (ASE: ``atoms.info["box_lo"]``) gives
    the shift back to mscouple's coordinates: ``x_mscouple = pos + box_lo``.

    Velocities: ASE's reader knows no velocity column; it builds velocities from
    ``momenta`` and ``masses`` (``get_velocities() = momenta / masses``), and OVITO maps
    ``velo`` to its Velocity property. Both are written: ``velo = v``, ``momenta = m v``,
    ``masses = m`` (``masses`` per type, default 1 in the run's mass unit), so ASE returns
    ``m v / m`` (``v`` exactly for unit masses) and OVITO ``v``.

    ``species_names[t-1]`` names type ``t`` (default ``"X"``, ASE's dummy element). A 2D
    box is written with a unit z edge and ``pbc`` false in z. The atoms' ``id`` column
    holds mscouple's global ids (from 0).
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
        masses: Sequence[float] | None = None,
        resume_step: int | None = None,
    ) -> None:
        super().__init__(comm, path, box_lo, box_edges, boundary, resume_step)
        self.species_names = list(species_names) if species_names else None
        self.masses = None if masses is None else np.asarray(masses, dtype=np.float64).reshape(-1)

    def frame_text(self, step: int, time: float, ids: np.ndarray, pos: np.ndarray, vel: np.ndarray | None,
                   typ: np.ndarray) -> str:
        """One frame as text: ``ids`` (n,), ``pos``/``vel`` (n, 3) in mscouple's frame,
        ``typ`` (n,) 1-based types (rows already in id order)."""
        edges = np.ones(3)
        edges[: self.dim] = self.box_edges
        lo = np.zeros(3)
        lo[: self.dim] = self.box_lo
        pbc = [b == "periodic" for b in self.boundary] + [False] * (3 - self.dim)
        lattice = " ".join(f"{v:.17g}" for v in np.diag(edges).ravel())
        props = "species:S:1:pos:R:3" + (":velo:R:3:momenta:R:3:masses:R:1" if vel is not None else "") + ":id:I:1:type:I:1"
        names = self.species_names
        sym = np.array([names[t - 1] if names and 0 < t <= len(names) else "X" for t in typ.tolist()], dtype=str)
        cols = [sym, pos - lo]
        if vel is not None:
            if self.masses is None:
                m = np.ones(len(typ))
            else:
                if np.any((typ < 1) | (typ > len(self.masses))):
                    raise ValueError(f"atom types must lie in 1..{len(self.masses)} (one mass per type)")
                m = self.masses[typ - 1]
            cols += [vel, vel * m[:, None], m]
        cols += [ids, typ]
        head = (
            f"{len(ids)}\n"
            f'Lattice="{lattice}" Properties={props} Time={time:.17g} Step={int(step)} '
            f'pbc="{" ".join("T" if p else "F" for p in pbc)}" box_lo="{" ".join(f"{v:.17g}" for v in lo)}"\n'
        )
        rows = _fmt_rows(*cols)
        return head + "".join(r + "\n" for r in rows)

    def write(self, step: int, time: float, ids, positions, velocities=None, types=None) -> None:
        """Append one frame (collective)."""
        blk, has_vel = self._gather(ids, positions, velocities, types)
        err = None
        if self._out.fh is not None:
            pos, vel, typ = blk.arrays
            try:
                self._out.append(self.frame_text(step, time, blk.ids, pos, vel if has_vel else None, typ))
            except (OSError, ValueError) as exc:
                err = exc
        _dist.raise_collective(self.comm, err, root=0)
        self.n_frames += 1


class LammpsDumpWriter(_GatheredTextWriter):
    """LAMMPS ``dump custom`` frames: ``id type x y z [vx vy vz]`` (collective; rank 0 writes).

    LAMMPS numbers atoms from 1 (``read_dump``/``rerun`` match atoms by id, and id 0 is
    not a valid atom), so the dump's ``id`` is mscouple's global id + 1. A 2D box gets z
    bounds ``[-0.5, 0.5]`` as LAMMPS writes for 2D runs. Coordinates are as given
    (unwrapped when the caller passes unwrapped positions); LAMMPS remaps them into a
    periodic box when it reads them.
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

    def frame_text(self, step: int, time: float, ids: np.ndarray, pos: np.ndarray, vel: np.ndarray | None,
                   typ: np.ndarray) -> str:
        """One frame as text (rows already in id order; ``ids`` mscouple's, from 0)."""
        lo, hi = np.full(3, -0.5), np.full(3, 0.5)
        lo[: self.dim] = self.box_lo
        hi[: self.dim] = self.box_lo + self.box_edges
        flags = ["pp" if b == "periodic" else "ff" for b in self.boundary] + ["pp"] * (3 - self.dim)
        head = [f"ITEM: TIME\n{time:.17g}\nITEM: TIMESTEP\n{int(step)}\n",
                f"ITEM: NUMBER OF ATOMS\n{len(ids)}\n",
                f"ITEM: BOX BOUNDS {' '.join(flags)}\n"]
        head += [f"{a:.17g} {b:.17g}\n" for a, b in zip(lo, hi)]
        head.append("ITEM: ATOMS id type x y z" + (" vx vy vz" if vel is not None else "") + "\n")
        cols = [np.asarray(ids, np.int64) + 1, typ, pos] + ([vel] if vel is not None else [])
        return "".join(head) + "".join(r + "\n" for r in _fmt_rows(*cols))

    def write(self, step: int, time: float, ids, positions, velocities=None, types=None) -> None:
        """Append one frame (collective). ``time`` is recorded as ``ITEM: TIME``."""
        blk, has_vel = self._gather(ids, positions, velocities, types)
        err = None
        if self._out.fh is not None:
            pos, vel, typ = blk.arrays
            try:
                self._out.append(self.frame_text(step, time, blk.ids, pos, vel if has_vel else None, typ))
            except OSError as exc:
                err = exc
        _dist.raise_collective(self.comm, err, root=0)
        self.n_frames += 1
