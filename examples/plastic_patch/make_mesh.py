"""Write ``plate.msh``: the plate of tests/plasticity/test_coupled.py as a Gmsh file.

[-16, 16] × [-16, 48] (σ), 16 × 32 squares of h = 2, each split into two triangles (the
structured mesh of ``meshgen.box``), with the boundary groups the case file names:
``bottom`` (y = -16), ``top`` (y = 48) split into ``punch`` (|x| <= 4) and ``top_free``,
``left`` and ``right``. Run ``python make_mesh.py`` (writes next to this file).
"""
from __future__ import annotations

import os

import meshio
import numpy as np

from mscouple.continuum import meshgen

LO, HI, CELLS, PUNCH = (-16.0, -16.0), (16.0, 48.0), (16, 32), 4.0


def write(path: str) -> None:
    d = meshgen.box(CELLS, LO, HI, simplex=True)
    X, F = d.coordinates, d.facets
    mid = X[F].mean(axis=1)
    tol = 1e-9
    groups = {
        "bottom": np.isclose(mid[:, 1], LO[1], atol=tol),
        "punch": np.isclose(mid[:, 1], HI[1], atol=tol) & (np.abs(mid[:, 0]) < PUNCH),
        "top_free": np.isclose(mid[:, 1], HI[1], atol=tol) & (np.abs(mid[:, 0]) > PUNCH),
        "left": np.isclose(mid[:, 0], LO[0], atol=tol),
        "right": np.isclose(mid[:, 0], HI[0], atol=tol),
    }
    tags = np.zeros(len(F), dtype=int)
    field_data = {}
    for k, (name, sel) in enumerate(groups.items(), start=1):
        tags[sel & (tags == 0)] = k  # a corner facet: first group wins (no facet is in two)
        field_data[name] = np.array([k, 1])
    field_data["plate"] = np.array([len(groups) + 1, 2])
    keep = tags > 0
    pts = np.c_[X, np.zeros(len(X))]
    cells = [("line", F[keep]), ("triangle", d.cells)]
    phys = [tags[keep], np.full(len(d.cells), len(groups) + 1)]
    m = meshio.Mesh(pts, cells, cell_data={"gmsh:physical": phys, "gmsh:geometrical": phys},
                    field_data=field_data)
    meshio.write(path, m, file_format="gmsh22", binary=False)


if __name__ == "__main__":
    write(os.path.join(os.path.dirname(os.path.abspath(__file__)), "plate.msh"))
