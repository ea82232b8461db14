"""Serial mesh generators and readers: NumPy arrays that :class:`~.mesh.Mesh` hands to DMPlex.

Everything here runs on one rank (the root of the mesh communicator) and returns a
:class:`MeshData`: vertex coordinates ``[n_vertices, dim]``, cell connectivity
``[n_cells, nodes_per_cell]`` in the orderings of :mod:`.reference`, and boundary facets
``[n_facets, nodes_per_facet]`` with integer tags and a name → tag table.

Debian's PETSc has no triangle/tetgen, so ``DMPlexCreateBoxMesh`` cannot make simplices;
the box meshes are built here instead (and quads/hexes too, so every mesh follows one path).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from mscouple.errors import ConfigError

from .reference import reference_cell

#: Boundary tags of box meshes: the face x = x_min has tag 1, x = x_max tag 2, y_min 3, ...
BOX_BOUNDARY_NAMES = {"xmin": 1, "xmax": 2, "ymin": 3, "ymax": 4, "zmin": 5, "zmax": 6,
                      "left": 1, "right": 2, "bottom": 3, "top": 4, "back": 5, "front": 6}


@dataclass
class MeshData:
    """A serial mesh: coordinates [nv, dim], cells [nc, npc], facets [nf, npf] + tags [nf]."""

    cell_type: str
    coordinates: np.ndarray
    cells: np.ndarray
    facets: np.ndarray
    facet_tags: np.ndarray
    boundary_names: dict = field(default_factory=dict)
    cell_tags: np.ndarray | None = None
    cell_names: dict = field(default_factory=dict)


def _grid(n: Sequence[int], lower: Sequence[float], upper: Sequence[float]) -> np.ndarray:
    axes = [np.linspace(lo, hi, k + 1) for k, lo, hi in zip(n, lower, upper)]
    grids = np.meshgrid(*axes, indexing="ij")
    # x fastest: vertex (i, j, k) has index i + (nx+1)*(j + (ny+1)*k)
    return np.stack([g.transpose().ravel() for g in grids], axis=-1)


def _box_facets(coords: np.ndarray, facets: np.ndarray, lower, upper) -> np.ndarray:
    """Tag boundary facets [nf, npf] by the box face they lie on (1..2*dim)."""
    dim = coords.shape[1]
    tags = np.zeros(len(facets), dtype=np.int64)
    fx = coords[facets]  # [nf, npf, dim]
    for k in range(dim):
        scale = max(abs(upper[k] - lower[k]), 1e-300)
        on_lo = np.all(np.abs(fx[..., k] - lower[k]) <= 1e-12 * scale, axis=1)
        on_hi = np.all(np.abs(fx[..., k] - upper[k]) <= 1e-12 * scale, axis=1)
        tags[(tags == 0) & on_lo] = 2 * k + 1
        tags[(tags == 0) & on_hi] = 2 * k + 2
    return tags


def box(n: Sequence[int], lower: Sequence[float] | None = None, upper: Sequence[float] | None = None,
        simplex: bool = True, diagonal: str = "right") -> MeshData:
    """A structured box mesh of ``prod(n)`` boxes, each split into simplices if ``simplex``.

    Parameters
    ----------
    n : cells per direction, length 1, 2 or 3.
    lower, upper : box corners (default the unit box).
    simplex : triangles (2 per square, diagonal from (i,j) to (i+1,j+1) for
        ``diagonal="right"``, as DOLFINx's default) or tetrahedra (6 per cube, the
        Kuhn/Freudenthal split, conforming); otherwise quadrilaterals/hexahedra. 1D: intervals.
    """
    n = [int(k) for k in n]
    dim = len(n)
    if dim not in (1, 2, 3) or min(n) < 1:
        raise ConfigError(f"box mesh needs 1-3 positive cell counts, got n={n}")
    lower = [0.0] * dim if lower is None else [float(v) for v in lower]
    upper = [1.0] * dim if upper is None else [float(v) for v in upper]
    if len(lower) != dim or len(upper) != dim or any(h <= l for l, h in zip(lower, upper)):
        raise ConfigError(f"box corners lower={lower} upper={upper} must have {dim} entries with lower < upper")
    coords = _grid(n, lower, upper)
    if dim == 1:
        i = np.arange(n[0])
        cells = np.stack([i, i + 1], axis=1)
        facets = np.array([[0], [n[0]]])
        ctype = "interval"
    elif dim == 2:
        nx, ny = n
        i, j = np.meshgrid(np.arange(nx), np.arange(ny), indexing="xy")
        v0 = (i + (nx + 1) * j).ravel()
        v1, v2, v3 = v0 + 1, v0 + nx + 1, v0 + nx + 2  # (i+1,j), (i,j+1), (i+1,j+1)
        if simplex:
            if diagonal == "right":
                t = np.stack([np.stack([v0, v1, v3], 1), np.stack([v0, v3, v2], 1)], 1)
            elif diagonal == "left":
                t = np.stack([np.stack([v0, v1, v2], 1), np.stack([v1, v3, v2], 1)], 1)
            else:
                raise ConfigError(f"diagonal must be 'right' or 'left', got {diagonal!r}")
            cells = t.reshape(-1, 3)
            ctype = "triangle"
        else:
            cells = np.stack([v0, v1, v3, v2], axis=1)
            ctype = "quadrilateral"
        bx = np.arange(nx)
        by = np.arange(ny)
        facets = np.concatenate([
            np.stack([(nx + 1) * by, (nx + 1) * (by + 1)], 1),                  # x = xmin
            np.stack([(nx + 1) * by + nx, (nx + 1) * (by + 1) + nx], 1),        # x = xmax
            np.stack([bx, bx + 1], 1),                                          # y = ymin
            np.stack([bx + (nx + 1) * ny, bx + 1 + (nx + 1) * ny], 1),          # y = ymax
        ])
    else:
        nx, ny, nz = n
        sx, sy = 1, nx + 1
        sz = (nx + 1) * (ny + 1)
        k, j, i = np.meshgrid(np.arange(nz), np.arange(ny), np.arange(nx), indexing="ij")
        b = (i * sx + j * sy + k * sz).ravel()
        c = [b, b + sx, b + sx + sy, b + sy, b + sz, b + sx + sz, b + sx + sy + sz, b + sy + sz]
        if simplex:
            # Kuhn split along the main diagonal c0 -> c6: 6 tets, one per axis permutation.
            off = {(0, 1, 2): (1, 2, 6), (0, 2, 1): (1, 5, 6), (1, 0, 2): (3, 2, 6),
                   (1, 2, 0): (3, 7, 6), (2, 0, 1): (4, 5, 6), (2, 1, 0): (4, 7, 6)}
            cells = np.stack([np.stack([c[0], c[a], c[bb], c[cc]], 1) for a, bb, cc in off.values()],
                             1).reshape(-1, 4)
            ctype = "tetrahedron"
        else:
            cells = np.stack(c, axis=1)
            ctype = "hexahedron"
        facets = _structured_boundary_3d(n, simplex)
    facets = np.asarray(facets, dtype=np.int64)
    tags = _box_facets(coords, facets, lower, upper)
    names = {k: v for k, v in BOX_BOUNDARY_NAMES.items() if v <= 2 * dim}
    return MeshData(ctype, coords, np.ascontiguousarray(cells, dtype=np.int64), facets, tags, names)


def _structured_boundary_3d(n, simplex: bool) -> np.ndarray:
    """Boundary facets of the 3D structured grid: quads, or the triangles they split into."""
    nx, ny, nz = n
    sx, sy, sz = 1, nx + 1, (nx + 1) * (ny + 1)
    out = []
    for axis in range(3):
        a1, a2 = [a for a in range(3) if a != axis]
        s = (sx, sy, sz)
        na = (nx, ny, nz)
        for side in (0, na[axis]):
            p, q = np.meshgrid(np.arange(na[a1]), np.arange(na[a2]), indexing="ij")
            b = (side * s[axis] + p * s[a1] + q * s[a2]).ravel()
            quad = np.stack([b, b + s[a1], b + s[a1] + s[a2], b + s[a2]], 1)
            out.append(quad)
    quads = np.concatenate(out)
    if not simplex:
        return quads
    # The Kuhn split cuts every boundary quad along the diagonal through its lowest-index
    # corner (c0) and highest-index corner: vertex 0 and 2 of the quad as built above.
    return np.concatenate([quads[:, [0, 1, 2]], quads[:, [0, 2, 3]]])


def grading_map(lower: float, upper: float, fine_lower: float, fine_upper: float,
                ratio: float, transition: float | None = None, samples: int = 20001
                ) -> Callable[[np.ndarray], np.ndarray]:
    """A monotone map [lower, upper] → itself that makes a uniform grid fine in [fine_lower, fine_upper].

    The mapped grid has local density ρ(x) = 1 + (ratio − 1)·exp(−(d(x)/transition)²), d the
    distance to the fine interval: spacing is ``ratio`` times smaller inside than far away,
    with a smooth (Gaussian) transition of width ``transition`` (default a tenth of the
    length). Apply per axis to the coordinates of a box mesh (:func:`graded_box`).
    """
    if not (lower <= fine_lower < fine_upper <= upper) or ratio < 1:
        raise ConfigError("grading needs lower <= fine_lower < fine_upper <= upper and ratio >= 1")
    transition = (upper - lower) / 10 if transition is None else float(transition)
    x = np.linspace(lower, upper, samples)
    d = np.maximum(0.0, np.maximum(fine_lower - x, x - fine_upper))
    rho = 1.0 + (ratio - 1.0) * np.exp(-((d / transition) ** 2))
    s = np.concatenate([[0.0], np.cumsum(0.5 * (rho[1:] + rho[:-1]) * np.diff(x))])
    s = lower + (upper - lower) * s / s[-1]

    def mapping(u: np.ndarray) -> np.ndarray:
        return np.interp(u, s, x)

    return mapping


def graded_box(n: Sequence[int], lower: Sequence[float], upper: Sequence[float],
               fine_lower: Sequence[float], fine_upper: Sequence[float], ratio: float,
               simplex: bool = True, transition: float | None = None) -> MeshData:
    """A box mesh whose spacing is ``ratio`` times finer inside the box [fine_lower, fine_upper].

    Built by mapping each coordinate of :func:`box` through :func:`grading_map`; the
    topology (and boundary tags) are those of the uniform box.
    """
    data = box(n, lower, upper, simplex=simplex)
    for k in range(len(n)):
        tr = None if transition is None else transition
        m = grading_map(lower[k], upper[k], fine_lower[k], fine_upper[k], ratio, tr)
        data.coordinates[:, k] = m(data.coordinates[:, k])
    return data


_MESHIO_TYPES = {"line": "interval", "triangle": "triangle", "quad": "quadrilateral",
                 "tetra": "tetrahedron", "hexahedron": "hexahedron"}
_FACET_OF = {"interval": "vertex", "triangle": "line", "quadrilateral": "line",
             "tetrahedron": "triangle", "hexahedron": "quad"}
_DIM = {"interval": 1, "triangle": 2, "quadrilateral": 2, "tetrahedron": 3, "hexahedron": 3}


def read_gmsh(path: str, dim: int | None = None) -> MeshData:
    """Read a Gmsh ``.msh`` file (via meshio): cells of the highest dimension, and facets
    carrying physical groups become tagged boundaries named after ``$PhysicalNames``.

    Linear cells only (P1/Q1). ``dim`` drops trailing coordinates (a 2D mesh stored with z).
    """
    import meshio  # local import: only rank 0 reads

    try:
        m = meshio.read(path, file_format="gmsh")
    except Exception as exc:  # meshio raises several types
        raise ConfigError(f"could not read Gmsh mesh {path!r}: {exc}") from exc
    blocks = [(b.type, b.data) for b in m.cells]
    types = [_MESHIO_TYPES[t] for t, _ in blocks if t in _MESHIO_TYPES]
    if not types:
        raise ConfigError(f"{path!r} holds no linear line/triangle/quad/tetra/hexahedron cells")
    tdim = max(_DIM[t] for t in types)
    ctypes = {t for t in types if _DIM[t] == tdim}
    if len(ctypes) != 1:
        raise ConfigError(f"{path!r} mixes cell types {sorted(ctypes)}; one type per mesh is supported")
    ctype = ctypes.pop()
    gdim = tdim if dim is None else int(dim)
    coords = np.ascontiguousarray(m.points[:, :gdim], dtype=float)
    phys = m.cell_data.get("gmsh:physical")
    cells, facets, ftags, ctags = [], [], [], []
    for bi, (t, data) in enumerate(blocks):
        tags = phys[bi] if phys is not None else np.zeros(len(data), dtype=np.int64)
        if _MESHIO_TYPES.get(t) == ctype:
            cells.append(data)
            ctags.append(tags)
        elif t == _FACET_OF[ctype]:
            facets.append(data)
            ftags.append(tags)
    cells = np.concatenate(cells).astype(np.int64)
    facets = np.concatenate(facets).astype(np.int64) if facets else np.zeros(
        (0, len(reference_cell(ctype).faces[0])), np.int64)
    ftags = np.concatenate(ftags).astype(np.int64) if ftags else np.zeros(0, np.int64)
    # drop unused points (Gmsh files often hold geometry points that no cell uses)
    used = np.unique(cells)
    renum = -np.ones(len(coords), dtype=np.int64)
    renum[used] = np.arange(used.size)
    keep = (renum[facets] >= 0).all(axis=1) if len(facets) else np.zeros(0, bool)
    names = {}
    cnames = {}
    for name, (tag, tdim_) in m.field_data.items():
        if int(tdim_) == tdim - 1:
            names[name] = int(tag)
        elif int(tdim_) == tdim:
            cnames[name] = int(tag)
    return MeshData(ctype, coords[used], renum[cells], renum[facets[keep]], ftags[keep], names,
                    np.concatenate(ctags).astype(np.int64), cnames)
