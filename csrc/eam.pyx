"""Embedded-atom method kernels (Daw & Baskes, PRB 29, 6443 (1984)), eam/alloy form.

E = sum_i w_i F_ti(rho_i) + sum_{i<j} s_ij phi_titj(r_ij),  rho_i = sum_j rho_tj(r_ij),
s_ij = (w_i + w_j)/2 (energy weights; all 1 without blending).

Tabulated functions are piecewise cubics on a uniform grid: a table is ``[n, 4]``
coefficients (c0 + c1 t + c2 t^2 + c3 t^3, t = x/dx - k in [0, 1) on interval k); forces
are exact derivatives of the interpolant. Pair tables hold z(r) = r phi(r) (the setfl
convention), phi = z/r. Three passes with ghost communication between them:

    density  (pairs)   -> reverse-sum rho onto owners
    embed    (atoms)   -> F(rho), fp = w F'(rho); forward fp onto ghosts
    force    (pairs)
"""
import numpy as np
cimport numpy as cnp
from libc.math cimport sqrt
from libc.stdint cimport int32_t
from libc.string cimport memset

cnp.import_array()


cdef inline double spline(const double* tab, int n, double inv_dx, double x,
                          double* deriv) noexcept nogil:
    cdef double p = x * inv_dx
    cdef int k = <int>p
    cdef double t
    cdef const double* c
    if k < 0:
        k = 0
    if k > n - 1:
        k = n - 1
    t = p - k
    c = tab + 4 * k
    deriv[0] = ((3.0 * c[3] * t + 2.0 * c[2]) * t + c[1]) * inv_dx
    return ((c[3] * t + c[2]) * t + c[1]) * t + c[0]


def eam_density(const double[:, ::1] x, const int32_t[::1] typ, int nlocal, int nall,
                const int32_t[::1] nstart, const int32_t[::1] nlist,
                const double[:, :, ::1] rho_tab, double inv_dr, double cutsq,
                double[::1] rho):
    """rho[0:nall] = sum over half-list pairs of the neighbours' densities (ghost entries
    still to be reverse-summed). rho_tab: [ntypes, nr, 4]."""
    cdef int i, j, jj, n = rho_tab.shape[1]
    cdef double dx, dy, dz, rsq, r, d
    cdef const double* tab = &rho_tab[0, 0, 0]
    cdef int stride = 4 * n
    with nogil:
        memset(&rho[0], 0, nall * sizeof(double))
        for i in range(nlocal):
            for jj in range(nstart[i], nstart[i + 1]):
                j = nlist[jj]
                dx = x[i, 0] - x[j, 0]
                dy = x[i, 1] - x[j, 1]
                dz = x[i, 2] - x[j, 2]
                rsq = dx * dx + dy * dy + dz * dz
                if rsq < cutsq:
                    r = sqrt(rsq)
                    rho[i] += spline(tab + stride * typ[j], n, inv_dr, r, &d)
                    rho[j] += spline(tab + stride * typ[i], n, inv_dr, r, &d)


def eam_embed(const double[::1] rho, const int32_t[::1] typ, weight, int nlocal,
              const double[:, :, ::1] f_tab, double inv_drho, double[::1] fp, eatom=None):
    """fp[i] = w_i F'(rho_i) for owned atoms; adds w_i F(rho_i) to eatom; returns sum."""
    cdef int i, n = f_tab.shape[1]
    cdef double e, d, tot = 0.0, wi
    cdef const double* tab = &f_tab[0, 0, 0]
    cdef int stride = 4 * n
    cdef const double[::1] w
    cdef double[::1] ea
    cdef bint has_w = weight is not None, has_e = eatom is not None
    if has_w:
        w = weight
    if has_e:
        ea = eatom
    for i in range(nlocal):
        e = spline(tab + stride * typ[i], n, inv_drho, rho[i], &d)
        wi = w[i] if has_w else 1.0
        fp[i] = wi * d
        tot += wi * e
        if has_e:
            ea[i] += wi * e
    return tot


def eam_force(const double[:, ::1] x, const int32_t[::1] typ, weight, int nlocal, int nall,
              const int32_t[::1] nstart, const int32_t[::1] nlist, const double[::1] fp,
              const double[:, :, ::1] rho_tab, const double[:, :, ::1] z_tab, int ntypes,
              double inv_dr, double cutsq, double[:, ::1] f, eatom=None, vatom=None,
              bint eflag=True, bint vflag=True):
    """Pair part of the EAM forces (f over [0, nall) zeroed first); fp must be valid on
    ghosts. Adds pair energies to eatom/vatom halves. Returns (pair energy, virial[6])."""
    cdef int i, j, jj, ti, tj, k, n = rho_tab.shape[1]
    cdef double dx, dy, dz, rsq, r, rhoi_d, rhoj_d, z, zd, phi, dphi, fpair, s, e
    cdef double glob[7]
    cdef double vv[6]
    cdef const double* rt = &rho_tab[0, 0, 0]
    cdef const double* zt = &z_tab[0, 0, 0]
    cdef int stride = 4 * n
    cdef const double[::1] w
    cdef double[::1] ea
    cdef double[:, ::1] va
    cdef bint has_w = weight is not None, has_e = eatom is not None, has_v = vatom is not None
    if has_w:
        w = weight
    if has_e:
        ea = eatom
    if has_v:
        va = vatom
    for k in range(7):
        glob[k] = 0.0
    f[:nall, :] = 0.0
    for i in range(nlocal):
        ti = typ[i]
        for jj in range(nstart[i], nstart[i + 1]):
            j = nlist[jj]
            dx = x[i, 0] - x[j, 0]
            dy = x[i, 1] - x[j, 1]
            dz = x[i, 2] - x[j, 2]
            rsq = dx * dx + dy * dy + dz * dz
            if rsq >= cutsq:
                continue
            tj = typ[j]
            r = sqrt(rsq)
            spline(rt + stride * ti, n, inv_dr, r, &rhoi_d)
            spline(rt + stride * tj, n, inv_dr, r, &rhoj_d)
            z = spline(zt + stride * (ti * ntypes + tj), n, inv_dr, r, &zd)
            phi = z / r
            dphi = (zd - phi) / r
            s = 0.5 * (w[i] + w[j]) if has_w else 1.0
            # dE/dr of this pair: embedding through both densities + weighted pair term
            fpair = -(fp[i] * rhoj_d + fp[j] * rhoi_d + s * dphi) / r
            e = s * phi
            f[i, 0] += dx * fpair
            f[i, 1] += dy * fpair
            f[i, 2] += dz * fpair
            f[j, 0] -= dx * fpair
            f[j, 1] -= dy * fpair
            f[j, 2] -= dz * fpair
            glob[0] += e
            vv[0] = dx * dx * fpair
            vv[1] = dy * dy * fpair
            vv[2] = dz * dz * fpair
            vv[3] = dx * dy * fpair
            vv[4] = dx * dz * fpair
            vv[5] = dy * dz * fpair
            for k in range(6):
                glob[1 + k] += vv[k]
            if has_e:
                ea[i] += 0.5 * e
                ea[j] += 0.5 * e
            if has_v:
                for k in range(6):
                    va[i, k] += 0.5 * vv[k]
                    va[j, k] += 0.5 * vv[k]
    return glob[0], np.array([glob[1], glob[2], glob[3], glob[4], glob[5], glob[6]])
