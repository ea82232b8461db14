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
    cdef double w, g, gmax = 0.0
    cdef double acc[8]
    if k > 8:
        raise ValueError("nodal_rhs: at most 8 components")
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
    cdef double s, d, w, work = 0.0
    cdef double acc[8]
    if k > 8:
        raise ValueError("interp_correction: at most 8 components")
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
