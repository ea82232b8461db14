"""The transfer operators' set-up is vectorised (k-d trees + one compiled pair search per
group of similar cells, one inverse Jacobian per P1 cell) and finds exactly the cells a
brute-force search finds: every point against every cell, the lowest containing cell wins,
points outside every cell get −1; shape values agree to round-off (1e-14) and sum to one."""
import numpy as np
import pytest

from mscouple.continuum.meshgen import box, graded_box
from mscouple.coupling.transfer import locate_points, shape_functions


def _brute(nodes, cells, pts, kind, tol=1e-10):
    """Every point in every cell: reference coordinates by a dense solve (P1) or the
    bilinear/trilinear Newton inverse (Q1) of one cell at a time."""
    from mscouple.coupling.transfer import _inside, _reference_coords

    cell_of = np.full(len(pts), -1)
    vals = np.zeros((len(pts), cells.shape[1]))
    for c in range(len(cells)):  # lowest index first: the first hit wins
        xc = np.repeat(nodes[cells[c]][None], len(pts), axis=0)
        xi = _reference_coords(kind, xc, pts)
        hit = _inside(kind, xi, tol) & (cell_of < 0)
        cell_of[hit] = c
        vals[hit] = shape_functions(kind, xi[hit])
    return cell_of, vals


def _points(mesh, rng, dim):
    X = mesh.coordinates
    inside = rng.uniform(X.min(0) - 0.05, X.max(0) + 0.05, (300, dim))  # some outside
    # nodes and edge midpoints: on faces shared by several cells (the tie-break)
    return np.concatenate([inside, X, 0.5 * (X[:-1] + X[1:])])


@pytest.mark.parametrize("dim", [2, 3])
@pytest.mark.parametrize("simplex", [True, False])
@pytest.mark.parametrize("graded", [False, True])
def test_vectorised_search_finds_the_brute_force_cells(dim, simplex, graded):
    rng = np.random.default_rng(dim + 10 * simplex + 100 * graded)
    n = [4] * dim
    if graded:  # cells of very different sizes: several radius groups
        mesh = graded_box(n, [0.0] * dim, [1.0] * dim, [0.4] * dim, [0.6] * dim, ratio=8.0,
                          simplex=simplex)
    else:
        mesh = box(n, [0.0] * dim, [1.0] * dim, simplex=simplex)
    kind = "P1" if simplex else "Q1"
    pts = _points(mesh, rng, dim)
    cell, vals = locate_points(mesh.coordinates, mesh.cells, pts, kind)
    ref_cell, ref_vals = _brute(mesh.coordinates, np.asarray(mesh.cells), pts, kind)
    assert np.array_equal(cell, ref_cell)
    assert np.any(cell < 0) and np.any(cell >= 0)
    np.testing.assert_allclose(vals, ref_vals, rtol=0, atol=1e-14)
    np.testing.assert_allclose(vals[cell >= 0].sum(axis=1), 1.0, rtol=0, atol=1e-14)
    # interpolation of a linear field is exact (P1, Q1 on affine cells)
    f = mesh.coordinates @ np.arange(1.0, dim + 1.0)
    ok = cell >= 0
    got = np.einsum("pi,pi->p", vals[ok], f[np.asarray(mesh.cells)[cell[ok]]])
    np.testing.assert_allclose(got, pts[ok] @ np.arange(1.0, dim + 1.0), rtol=0, atol=1e-12)
