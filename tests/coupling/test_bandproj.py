"""Compiled band kernels (csrc/bandproj.pyx) against their NumPy expressions, and the
projection they serve (BridgingDomain.solve, atom multipliers) against the textbook
formulas: equal to round-off (1e-13 of the values), on a 3D P1 band with random masses and
velocities, for 1, 2 and 3 components and a 1D (squeezed) velocity vector."""
import numpy as np
import pytest

from mscouple._kernels import bandproj as K
from mscouple.continuum.meshgen import box
from mscouple.coupling.bdm import BridgingDomain
from mscouple.coupling.transfer import build_transfer


@pytest.fixture(scope="module")
def band():
    rng = np.random.default_rng(3)
    mesh = box([4, 4, 4], [0.0, 0.0, 0.0], [4.0, 4.0, 4.0])  # P1 tetrahedra
    X = rng.uniform(0.2, 3.8, (3000, 3))
    T = build_transfer(mesh.coordinates, mesh.cells, X, "P1")
    return rng, BridgingDomain(T.matrix, rng.uniform(0.2, 1.0, len(X)), rng.uniform(0.5, 2.0, len(mesh.coordinates)))


def test_row_gather_and_add(band):
    rng, _ = band
    v = rng.standard_normal((500, 3))
    rows = rng.permutation(500)[:123].astype(np.int64)
    out = np.empty((rows.size, 2))
    K.rows_gather(v, rows, out)
    assert np.array_equal(out, v[rows, :2])
    src = rng.standard_normal((rows.size, 3))
    ref = v.copy()
    ref[rows] += src
    K.rows_add(v, rows, src)
    assert np.array_equal(v, ref)


@pytest.mark.parametrize("k", [1, 2, 3])
def test_kernels_are_the_sparse_products(band, k):
    rng, b = band
    N, m = b.N, b.m
    va, vn = rng.standard_normal((N.shape[0], k)), rng.standard_normal((N.shape[1], k))
    rhs = np.zeros_like(vn)
    gmax = K.nodal_rhs(b._ip, b._ix, b._nd, m, va, vn, rhs)
    ref = N.T @ (m[:, None] * va)
    assert np.abs(rhs - ref).max() < 1e-13 * np.abs(ref).max()
    assert abs(gmax - np.abs(va - N @ vn).max()) < 1e-13 * gmax
    dva = np.empty_like(va)
    w = K.interp_correction(b._ip, b._ix, b._nd, m, vn, va, dva)
    dref = N @ vn - va
    assert np.abs(dva - dref).max() < 1e-13 * np.abs(dref).max()
    wref = np.einsum("i,ik,ik->", m, 2 * va + dref, dref)
    assert abs(w - wref) < 1e-12 * np.abs(m[:, None] * va * va).sum()


@pytest.mark.parametrize("k", [0, 1, 3])
def test_projection_is_the_textbook_one(band, k):
    """k = 0: a 1D velocity vector (squeezed)."""
    rng, b = band
    shape = (lambda n: (n,)) if k == 0 else (lambda n: (n, k))
    va, vn = rng.standard_normal(shape(b.N.shape[0])), rng.standard_normal(shape(b.N.shape[1]))
    res = b.solve(va, vn)
    va2, vn2 = (va[:, None], vn[:, None]) if k == 0 else (va, vn)
    S = (np.diag(b.M) + (b.N.T @ (b.m[:, None] * b.N.toarray())))
    vn_new = np.linalg.solve(S, b.M[:, None] * vn2 + b.N.T @ (b.m[:, None] * va2))
    dva, dvn = b.N @ vn_new - va2, vn_new - vn2
    if k == 0:
        dva, dvn = dva[:, 0], dvn[:, 0]
    scale = np.abs(va).max()
    assert np.abs(res.dv_atoms - dva).max() < 1e-12 * scale
    assert np.abs(res.dv_nodes - dvn).max() < 1e-12 * scale
    assert np.allclose(res.impulse, b.m.reshape((-1,) + (1,) * (va.ndim - 1)) * res.dv_atoms, rtol=1e-14, atol=0)
    ke = lambda a, n: 0.5 * (np.sum(b.m.reshape(a.shape[:1] + (1,) * (a.ndim - 1)) * a * a)  # noqa: E731
                             + np.sum(b.M.reshape(n.shape[:1] + (1,) * (n.ndim - 1)) * n * n))
    w = ke(va + res.dv_atoms, vn + res.dv_nodes) - ke(va, vn)
    assert w < 0 and abs(res.work - w) < 1e-10 * abs(w)
    assert res.gap_before == pytest.approx(np.abs(va2 - b.N @ vn2).max(), rel=1e-13)


@pytest.mark.parametrize("k", [0, 1, 3])
def test_compiled_lu_solve_is_superlu(band, k):
    """bdm._LUSolve (the band system's factors, triangular sweeps compiled) = SuperLU.solve."""
    import scipy.sparse as sp
    import scipy.sparse.linalg as spla

    from mscouple.coupling.bdm import _LUSolve

    rng, b = band
    A = (sp.diags(b.M) + b._NT @ sp.diags(b.m) @ b.N).tocsc()
    lu = spla.splu(A, permc_spec="MMD_AT_PLUS_A", options=dict(SymmetricMode=True))
    rhs = rng.standard_normal((A.shape[0],) if k == 0 else (A.shape[0], k))
    x = _LUSolve(lu)(rhs)
    ref = lu.solve(rhs)
    assert x.shape == ref.shape
    assert np.abs(x - ref).max() < 1e-13 * np.abs(ref).max()
    assert np.abs(A @ x - rhs).max() < 1e-12 * np.abs(rhs).max()
