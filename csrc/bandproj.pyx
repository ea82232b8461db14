"""Band-row kernels of the bridging-domain projection (pure kernels, no MPI).

The projection of :mod:`mscouple.coupling.bdm` works on the band's rows: a CSR interpolation
matrix N [m_band atoms, n_band nodes] (a few nonzeros per row), the atoms' dynamical masses
m and velocities [m_band, k]. These loops replace the SciPy products and NumPy temporaries of
one projection with single passes over N's rows, and the patch's band-row gather/scatter
with plain row loops (the reference: the NumPy expressions in each docstring, equal to
round-off; ``tests/coupling/test_bandproj.py``).
"""
import numpy as np
cimport numpy as cnp
from libc.math cimport fabs

cnp.import_array()

ctypedef cnp.int64_t idx_t


def rows_gather(const double[:, ::1] v, const idx_t[::1] rows, double[:, ::1] out):
    """out[i, :k] = v[rows[i], :k], k = out.shape[1] (≤ v.shape[1])."""
    cdef Py_ssize_t i, c, n = rows.shape[0], k = out.shape[1]
    if k > v.shape[1] or out.shape[0] < n:
        raise ValueError("rows_gather: out has more columns than v or fewer rows than rows")
    with nogil:
        for i in range(n):
            for c in range(k):
                out[i, c] = v[rows[i], c]


def rows_add(double[:, ::1] v, const idx_t[::1] rows, const double[:, ::1] src):
    """v[rows[i], :k] += src[i, :k], k = src.shape[1]; rows must be distinct."""
    cdef Py_ssize_t i, c, n = rows.shape[0], k = src.shape[1]
    if k > v.shape[1] or src.shape[0] < n:
        raise ValueError("rows_add: src has more columns than v or fewer rows than rows")
    with nogil:
        for i in range(n):
            for c in range(k):
                v[rows[i], c] += src[i, c]


def nodal_rhs(const idx_t[::1] indptr, const idx_t[::1] indices, const double[::1] data,
              const double[::1] m, const double[:, ::1] va, const double[:, ::1] vn,
              double[:, ::1] rhs):
    """rhs += Nᵀ (m va) (rhs [n_band, k]); returns max |va − N vn| (the gap before).

    NumPy: ``rhs += N.T @ (m[:, None] * va)``; ``np.abs(va - N @ vn).max()``."""
    cdef Py_ssize_t a, p, c, j, n = va.shape[0], k = va.shape[1]
    cdef double w, g, gmax = 0.0, x0, x1, x2, u
    cdef double acc[8]
    cdef const double* A
    cdef const double* V
    cdef double* R
    if k > 8:
        raise ValueError("nodal_rhs: at most 8 components")
    if n == 0:
        return 0.0
    if k == 3:  # 3D: the components unrolled (3-4x faster than the generic loop)
        A, V, R = &va[0, 0], &vn[0, 0], &rhs[0, 0]
        with nogil:
            for a in range(n):
                x0 = 0.0
                x1 = 0.0
                x2 = 0.0
                u = m[a]
                for p in range(indptr[a], indptr[a + 1]):
                    j = 3 * indices[p]
                    w = data[p]
                    x0 += w * V[j]
                    x1 += w * V[j + 1]
                    x2 += w * V[j + 2]
                    w = w * u
                    R[j] += w * A[3 * a]
                    R[j + 1] += w * A[3 * a + 1]
                    R[j + 2] += w * A[3 * a + 2]
                g = fabs(A[3 * a] - x0)
                if g > gmax:
                    gmax = g
                g = fabs(A[3 * a + 1] - x1)
                if g > gmax:
                    gmax = g
                g = fabs(A[3 * a + 2] - x2)
                if g > gmax:
                    gmax = g
        return gmax
    with nogil:
        for a in range(n):
            for c in range(k):
                acc[c] = 0.0
            for p in range(indptr[a], indptr[a + 1]):
                j = indices[p]
                w = data[p] * m[a]
                for c in range(k):
                    rhs[j, c] += w * va[a, c]
                    acc[c] += data[p] * vn[j, c]
            for c in range(k):
                g = fabs(va[a, c] - acc[c])
                if g > gmax:
                    gmax = g
    return gmax


def interp_correction(const idx_t[::1] indptr, const idx_t[::1] indices, const double[::1] data,
                      const double[::1] m, const double[:, ::1] vn_new, const double[:, ::1] va,
                      double[:, ::1] dva):
    """dva = N vn_new − va; returns Σ m (2 va + dva)·dva (twice the atoms' kinetic-energy
    change, in m v² units).

    NumPy: ``dva = N @ vn_new - va``; ``np.einsum("i,ik,ik->", m, 2 * va + dva, dva)``."""
    cdef Py_ssize_t a, p, c, j, n = va.shape[0], k = va.shape[1]
    cdef double s, d, w, work = 0.0, x0, x1, x2, d0, d1, d2
    cdef double acc[8]
    cdef const double* A
    cdef const double* V
    cdef double* D
    if k > 8:
        raise ValueError("interp_correction: at most 8 components")
    if n == 0:
        return 0.0
    if k == 3:
        A, V, D = &va[0, 0], &vn_new[0, 0], &dva[0, 0]
        with nogil:
            for a in range(n):
                x0 = 0.0
                x1 = 0.0
                x2 = 0.0
                for p in range(indptr[a], indptr[a + 1]):
                    j = 3 * indices[p]
                    w = data[p]
                    x0 += w * V[j]
                    x1 += w * V[j + 1]
                    x2 += w * V[j + 2]
                d0 = x0 - A[3 * a]
                d1 = x1 - A[3 * a + 1]
                d2 = x2 - A[3 * a + 2]
                D[3 * a] = d0
                D[3 * a + 1] = d1
                D[3 * a + 2] = d2
                work += m[a] * ((2.0 * A[3 * a] + d0) * d0 + (2.0 * A[3 * a + 1] + d1) * d1
                                + (2.0 * A[3 * a + 2] + d2) * d2)
        return work
    with nogil:
        for a in range(n):
            for c in range(k):
                acc[c] = 0.0
            for p in range(indptr[a], indptr[a + 1]):
                j = indices[p]
                w = data[p]
                for c in range(k):
                    acc[c] += w * vn_new[j, c]
            s = 0.0
            for c in range(k):
                d = acc[c] - va[a, c]
                dva[a, c] = d
                s += (2.0 * va[a, c] + d) * d
            work += m[a] * s
    return work


def lu_solve(const idx_t[::1] Lp, const idx_t[::1] Li, const double[::1] Lx,
             const idx_t[::1] Up, const idx_t[::1] Ui, const double[::1] Ux,
             const double[::1] Uinv_diag, const idx_t[::1] perm_r, const idx_t[::1] perm_c,
             const double[:, ::1] b, double[:, ::1] x, double[:, ::1] y):
    """x = A⁻¹ b from a sparse LU of A: ``Pr A Pc = L U`` (SuperLU's factors and
    permutations as SciPy gives them). L: CSC, strictly lower part (unit diagonal implied);
    U: CSC, strictly upper part, with ``Uinv_diag`` = 1 / diag(U); ``y`` scratch [n, k].

    NumPy: ``x = Pc @ spsolve_triangular(U, spsolve_triangular(L, Pr @ b), lower=False)``
    (= ``SuperLU.solve(b)`` to round-off)."""
    cdef Py_ssize_t i, j, p, c, n = b.shape[0], k = b.shape[1]
    cdef double yj[8]
    cdef double y0, y1, y2, u
    cdef double* Y
    if k > 8:
        raise ValueError("lu_solve: at most 8 right-hand sides")
    if n == 0:
        return
    if k == 3:
        Y = &y[0, 0]
        with nogil:
            for i in range(n):
                j = 3 * perm_r[i]
                Y[j] = b[i, 0]
                Y[j + 1] = b[i, 1]
                Y[j + 2] = b[i, 2]
            for j in range(n):
                y0 = Y[3 * j]
                y1 = Y[3 * j + 1]
                y2 = Y[3 * j + 2]
                for p in range(Lp[j], Lp[j + 1]):
                    i = 3 * Li[p]
                    u = Lx[p]
                    Y[i] -= u * y0
                    Y[i + 1] -= u * y1
                    Y[i + 2] -= u * y2
            for j in range(n - 1, -1, -1):
                u = Uinv_diag[j]
                y0 = Y[3 * j] * u
                y1 = Y[3 * j + 1] * u
                y2 = Y[3 * j + 2] * u
                Y[3 * j] = y0
                Y[3 * j + 1] = y1
                Y[3 * j + 2] = y2
                for p in range(Up[j], Up[j + 1]):
                    i = 3 * Ui[p]
                    u = Ux[p]
                    Y[i] -= u * y0
                    Y[i + 1] -= u * y1
                    Y[i + 2] -= u * y2
            for i in range(n):
                j = 3 * perm_c[i]
                x[i, 0] = Y[j]
                x[i, 1] = Y[j + 1]
                x[i, 2] = Y[j + 2]
        return
    with nogil:
        for i in range(n):
            for c in range(k):
                y[perm_r[i], c] = b[i, c]
        for j in range(n):  # L y' = y (unit diagonal), column by column
            for c in range(k):
                yj[c] = y[j, c]
            for p in range(Lp[j], Lp[j + 1]):
                i = Li[p]
                for c in range(k):
                    y[i, c] -= Lx[p] * yj[c]
        for j in range(n - 1, -1, -1):  # U z = y', column by column from the last
            for c in range(k):
                y[j, c] *= Uinv_diag[j]
                yj[c] = y[j, c]
            for p in range(Up[j], Up[j + 1]):
                i = Ui[p]
                for c in range(k):
                    y[i, c] -= Ux[p] * yj[c]
        for i in range(n):
            for c in range(k):
                x[i, c] = y[perm_c[i], c]
