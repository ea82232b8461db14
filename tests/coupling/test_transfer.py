import numpy as np
import pytest

from mscouple.coupling.transfer import build_transfer, locate_points, shape_functions
from mscouple.errors import ConfigError

from .meshes import p1_mesh, q1_mesh

CASES = [("P1", (6,)), ("P1", (4, 3)), ("P1", (3, 2, 2)), ("Q1", (6,)), ("Q1", (4, 3)), ("Q1", (3, 2, 2))]


def _mesh(kind, shape, distort):
    nodes, cells = (p1_mesh if kind == "P1" else q1_mesh)(shape, h=0.7)
    if distort:
        rng = np.random.default_rng(3)
        hi = nodes.max(axis=0)
        interior = np.all((nodes > 1e-9) & (nodes < hi - 1e-9), axis=1)
        nodes = nodes.copy()
        nodes[interior] += rng.uniform(-0.12, 0.12, size=(interior.sum(), nodes.shape[1]))
    return nodes, cells


def _points(nodes, m, seed=1):
    rng = np.random.default_rng(seed)
    lo, hi = nodes.min(axis=0), nodes.max(axis=0)
    return lo + (hi - lo) * rng.uniform(0.001, 0.999, size=(m, nodes.shape[1]))


@pytest.mark.parametrize("kind,shape", CASES)
@pytest.mark.parametrize("distort", [False, True])
def test_partition_of_unity_linear_reproduction_and_work(kind, shape, distort):
    nodes, cells = _mesh(kind, shape, distort)
    pts = _points(nodes, 200)
    T = build_transfer(nodes, cells, pts, kind)
    N = T.matrix
    assert N.shape == (200, nodes.shape[0])
    np.testing.assert_allclose(np.asarray(N.sum(axis=1)).ravel(), 1.0, atol=1e-13)
    # a linear field is reproduced exactly (P1 always; Q1 too, with Newton-inverted maps)
    A = np.array([[0.3, -1.2, 0.5], [2.0, 0.1, -0.7], [0.4, 0.9, 1.1]])[: nodes.shape[1], :3]
    b = np.array([0.2, -0.4, 1.5])
    u_nodes = nodes @ A + b
    np.testing.assert_allclose(T.interpolate(u_nodes), pts @ A + b, atol=1e-12)
    # exact transpose: Σ f_α·u_α = Σ F_I·U_I
    rng = np.random.default_rng(7)
    f = rng.normal(size=(200, 3))
    U = rng.normal(size=(nodes.shape[0], 3))
    w_atoms = np.sum(f * T.interpolate(U))
    w_nodes = np.sum(T.restrict(f) * U)
    assert abs(w_atoms - w_nodes) <= 1e-13 * np.sum(np.abs(f)) * np.abs(U).max()
    assert (T.transpose != N.T).nnz == 0
    # momentum: forces restricted to nodes keep their total
    np.testing.assert_allclose(T.restrict(f).sum(axis=0), f.sum(axis=0), rtol=1e-12, atol=1e-12)


def test_shape_values_at_nodes_are_kronecker():
    for dim in (1, 2, 3):
        nodes, cells = q1_mesh((1,) * dim)
        cell, vals = locate_points(nodes, cells, nodes[cells[0]], "Q1")
        np.testing.assert_allclose(vals, np.eye(2 ** dim), atol=1e-14)
    xi = np.array([[0.2, 0.3]])
    np.testing.assert_allclose(shape_functions("P1", xi), [[0.5, 0.2, 0.3]])


def test_point_outside_mesh_is_config_error():
    nodes, cells = p1_mesh((3, 3))
    with pytest.raises(ConfigError, match="outside the continuum mesh"):
        build_transfer(nodes, cells, np.array([[1.0, 1.0], [5.0, 0.5]]), "P1")
    T = build_transfer(nodes, cells, np.array([[1.0, 1.0], [5.0, 0.5]]), "P1", require_all=False)
    assert list(T.cell >= 0) == [True, False]


def test_point_on_shared_face_gets_one_cell():
    nodes, cells = p1_mesh((4,))
    T = build_transfer(nodes, cells, np.array([[1.0], [2.5]]), "P1")
    assert T.matrix.nnz == 3  # node 1 exactly, then a half/half split
    np.testing.assert_allclose(T.matrix.toarray()[0], [0, 1, 0, 0, 0])
