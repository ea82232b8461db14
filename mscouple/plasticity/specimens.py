"""Serial meshes of the plasticity test specimens (NumPy :class:`~mscouple.continuum.meshgen.MeshData`).

* :func:`notched_plate` — a plane-strain plate [0, W] × [0, H] with a rectangular edge slot
  [0, a] × [y₀, y₁] cut from the side x = 0; the slot's corners lie on grid lines of every
  refinement ``n = n₀ · 2^k`` so that the geometry is the same on every mesh (the mesh
  convergence study). Box boundary names (``ymin``, ``ymax``, ...) are kept; the slot faces
  are untagged (traction-free).
* :func:`round_bar` — a circular cylinder of radius a and length L (hexahedra), the square
  grid mapped onto the disk by x' = x √(1 − y²/2), y' = y √(1 − x²/2); faces ``zmin``/``zmax``.

Units: those of the lengths given.
"""
from __future__ import annotations

import numpy as np

from mscouple.continuum import meshgen
from mscouple.continuum.meshgen import MeshData
from mscouple.errors import ConfigError


def notched_plate(n: int, width: float = 20.0, height: float = 20.0, depth: float = 5.0,
                  slot: tuple[float, float] = (7.5, 12.5), simplex: bool = False) -> MeshData:
    """A box mesh of n × n cells with the cells inside the slot removed."""
    data = meshgen.box([n, n], [0.0, 0.0], [width, height], simplex=simplex)
    hx, hy = width / n, height / n
    for v, h in ((depth, hx), (slot[0], hy), (slot[1], hy)):
        if abs(v / h - round(v / h)) > 1e-9:
            raise ConfigError(f"notched plate: slot edge {v:g} is not on the grid of spacing {h:g} (n = {n})")
    c = data.coordinates[data.cells].mean(axis=1)
    keep = ~((c[:, 0] < depth) & (c[:, 1] > slot[0]) & (c[:, 1] < slot[1]))
    cells = data.cells[keep]
    used = np.unique(cells)
    renum = -np.ones(len(data.coordinates), dtype=np.int64)
    renum[used] = np.arange(len(used))
    fkeep = (renum[data.facets] >= 0).all(axis=1)
    return MeshData(data.cell_type, data.coordinates[used], renum[cells], renum[data.facets[fkeep]],
                    data.facet_tags[fkeep], dict(data.boundary_names))


def round_bar(n: int, layers: int, radius: float, length: float) -> MeshData:
    """Hexahedral mesh of a round bar: n × n cells over the cross-section, ``layers`` along z."""
    data = meshgen.box([n, n, layers], [-1.0, -1.0, 0.0], [1.0, 1.0, length], simplex=False)
    x, y = data.coordinates[:, 0].copy(), data.coordinates[:, 1].copy()
    data.coordinates[:, 0] = radius * x * np.sqrt(1 - y * y / 2)
    data.coordinates[:, 1] = radius * y * np.sqrt(1 - x * x / 2)
    return data
