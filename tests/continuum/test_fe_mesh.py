"""Meshes: measures, boundary tags, grading, Gmsh import, numbering and point location."""
from __future__ import annotations

import numpy as np
import pytest

from mscouple.continuum import FunctionSpace, Mesh, boundary_load, grading_map
from mscouple.errors import ConfigError

CASES = [((5,), True), ((4, 3), True), ((4, 3), False), ((3, 2, 2), True), ((3, 2, 2), False)]


@pytest.mark.parametrize("n,simplex", CASES)
def test_box_volume_and_boundary_measures(serial_comm, n, simplex):
    lower = [-1.0, 0.5, 2.0][: len(n)]
    upper = [2.0, 1.5, 2.5][: len(n)]
    m = Mesh.box(serial_comm, n, lower, upper, simplex=simplex)
    L = np.subtract(upper, lower)
    assert m.cell_volumes().sum() == pytest.approx(np.prod(L), rel=1e-12)
    assert (m.cell_volumes() > 0).all()
    V = FunctionSpace(m, 1)
    for k in range(len(n)):
        face = np.prod(np.delete(L, k)) if len(n) > 1 else 1.0
        for side in ("min", "max"):
            name = "xyz"[k] + side
            total = boundary_load(V, name, 1.0).sum()
            assert total == pytest.approx(face, rel=1e-12), name
    assert np.array_equal(m.node_global, np.arange(m.n_nodes))
    assert m.owned.all() and m.n_owned == m.n_global_nodes == np.prod(np.add(n, 1))


@pytest.mark.parametrize("n,simplex", CASES)
def test_locate_reproduces_coordinates(serial_comm, n, simplex):
    """Shape functions at located points interpolate x exactly and sum to one."""
    d = len(n)
    mapping = (lambda X: X + 0.05 * np.sin(np.pi * X)) if d > 1 and simplex else None
    m = Mesh.box(serial_comm, n, simplex=simplex, mapping=mapping)
    pts = np.random.default_rng(1).uniform(0.02, 0.98, (200, d))
    cells, N = m.locate(pts)
    assert (cells >= 0).all()
    assert np.allclose(N.sum(axis=1), 1.0, atol=1e-12)
    assert (N > -1e-9).all()
    x = np.einsum("pa,pad->pd", N, m.coordinates[m.cells[cells]])
    assert np.abs(x - pts).max() < 1e-10
    outside, Nout = m.locate(np.full((3, d), 1.5))
    assert (outside == -1).all() and (Nout == 0).all()


def test_locate_on_nonaffine_quads(serial_comm):
    """Newton inverse map on distorted (non-parallelogram) Q1 cells."""
    m = Mesh.box(serial_comm, (4, 4), simplex=False,
                 mapping=lambda X: np.stack([X[:, 0] + 0.1 * X[:, 0] * X[:, 1], X[:, 1] * (1 + 0.2 * X[:, 0])], 1))
    pts = np.random.default_rng(2).uniform(0.05, 0.95, (100, 2))
    pts = np.stack([pts[:, 0] + 0.1 * pts[:, 0] * pts[:, 1], pts[:, 1] * (1 + 0.2 * pts[:, 0])], 1)
    cells, N = m.locate(pts)
    assert (cells >= 0).all()
    x = np.einsum("pa,pad->pd", N, m.coordinates[m.cells[cells]])
    assert np.abs(x - pts).max() < 1e-10


def test_graded_mesh_is_fine_in_the_region(serial_comm):
    m = Mesh.graded_box(serial_comm, (60, 4), (0.0, 0.0), (10.0, 1.0), (4.0, 0.0), (6.0, 1.0), ratio=8.0,
                        transition=0.5)
    x = np.unique(np.round(m.coordinates[:, 0], 12))
    h = np.diff(x)
    assert (h > 0).all() and x[0] == pytest.approx(0.0) and x[-1] == pytest.approx(10.0)
    mid = 0.5 * (x[1:] + x[:-1])
    fine = h[(mid > 4.2) & (mid < 5.8)]
    coarse = h[(mid < 1.0) | (mid > 9.0)]
    assert coarse.min() / fine.max() == pytest.approx(8.0, rel=0.05)
    assert m.cell_volumes().sum() == pytest.approx(10.0, rel=1e-12)
    with pytest.raises(ConfigError):
        grading_map(0.0, 1.0, 0.5, 0.2, 2.0)


MSH = """$MeshFormat
2.2 0 8
$EndMeshFormat
$PhysicalNames
4
1 1 "left"
1 2 "right"
1 3 "walls"
2 10 "domain"
$EndPhysicalNames
$Nodes
6
1 0 0 0
2 2 0 0
3 2 1 0
4 0 1 0
5 1 0.5 0
6 7 7 0
$EndNodes
$Elements
8
1 1 2 3 1 1 2
2 1 2 2 2 2 3
3 1 2 3 3 3 4
4 1 2 1 4 4 1
5 2 2 10 1 1 2 5
6 2 2 10 1 2 3 5
7 2 2 10 1 3 4 5
8 2 2 10 1 4 1 5
$EndElements
"""


def test_gmsh_import_with_physical_groups(serial_comm, tmp_path):
    path = tmp_path / "square.msh"
    path.write_text(MSH)
    m = Mesh.from_gmsh(serial_comm, str(path), dim=2)
    assert m.cell_type == "triangle" and m.n_cells == 4 and m.n_nodes == 5  # unused node 6 dropped
    assert set(m.boundary_names) == {"left", "right", "walls"}
    assert m.cell_names == {"domain": 10} and (m.cell_tags == 10).all()
    V = FunctionSpace(m, 1)
    assert boundary_load(V, "left", 1.0).sum() == pytest.approx(1.0)
    assert boundary_load(V, "right", 1.0).sum() == pytest.approx(1.0)
    assert boundary_load(V, "walls", 1.0).sum() == pytest.approx(4.0)
    assert m.cell_volumes().sum() == pytest.approx(2.0)
    with pytest.raises(ConfigError, match="no boundary called"):
        m.boundary_facets("top")
    with pytest.raises(ConfigError):
        Mesh.from_gmsh(serial_comm, str(tmp_path / "missing.msh"))


def test_output_topology_and_scatter(serial_comm):
    m = Mesh.box(serial_comm, (3, 2))
    V = FunctionSpace(m, 2)
    u = V.from_function(lambda X: np.stack([X[:, 0], 2 * X[:, 1]], 1))
    out = V.output(u, "u")
    assert out["cells"].shape == (12, 3) and out["coordinates"].shape == (12, 2)
    assert np.allclose(out["fields"]["u"][:, 1], 2 * out["coordinates"][:, 1])
    # add_local of the local field counts each node once per call
    v = V.add_local(V.to_local(u))
    assert np.allclose(V.owned(v), V.owned(u))
