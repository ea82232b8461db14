"""Pair forces fused with energy and virial (global and per atom), and single-rank ghost maps.

Styles: 0 Lennard-Jones (cut / shifted / shifted-force), 1 Morse, 2 harmonic springs; the
constants table layout is documented in md_core.pxi (``pair_eval``). Optional per-atom energy
weights w scale each pair's energy and force by (w_i + w_j)/2 (bridging-domain blending).
"""
import numpy as np
cimport numpy as cnp

cnp.import_array()

include "md_core.pxi"


def pair_forces(int style, const double[::1] coef, int ntypes,
                const double[:, ::1] x, const int32_t[::1] typ, weight,
                int nlocal, int nall, const int32_t[::1] nstart, const int32_t[::1] nlist,
                double[:, ::1] f, eatom=None, vatom=None, bint eflag=True, bint vflag=True):
    """Pair forces on atoms [0, nall) (ghost forces still to be reverse-summed).

    x, f: [>= nall, 3]; typ: [>= nall] int32; weight: [>= nall] float64 or None;
    eatom: [>= nall] or None; vatom: [>= nall, 6] or None (zeroed here, then filled).
    Returns ``(energy, virial[6])`` summed over the pairs this rank computed (zeros where
    the flag is off).
    """
    cdef double glob[7]
    cdef const double[::1] wv
    cdef double[::1] ev
    cdef double[:, ::1] vv
    cdef const double* wp = NULL
    cdef double* ep = NULL
    cdef double* vp = NULL
    cdef int k, has_smooth = 0
    if weight is not None:
        wv = weight
        wp = &wv[0]
    if eatom is not None:
        ev = eatom
        ep = &ev[0]
    if vatom is not None:
        vv = vatom
        vp = &vv[0, 0]
    for k in range(ntypes * ntypes):
        if coef[k * NCOEF + 6] != 0.0:
            has_smooth = 1
    if nall == 0:
        return 0.0, np.zeros(6)
    with nogil:
        pair_dispatch(style, &coef[0], ntypes, &x[0, 0], &typ[0], wp, nlocal, nall,
                      &nstart[0], &nlist[0] if nlist.shape[0] > 0 else NULL, has_smooth,
                      &f[0, 0], ep, vp, eflag, vflag, glob)
    return glob[0], np.array([glob[1], glob[2], glob[3], glob[4], glob[5], glob[6]])


def pair_energy_r(int style, const double[::1] c, double r):
    """(phi(r), F(r)) of one pair for constants row c (for tests and tables)."""
    cdef double fpair
    cdef double e = pair_eval(style, &c[0], r * r, &fpair)
    return e, fpair * r


def ghosts_forward(double[:, ::1] x, int nlocal, const int32_t[::1] src,
                   const double[:, ::1] shift):
    """Single-rank ghost update: x[nlocal+g] = x[src[g]] + shift[g] for g in order."""
    cdef int ng = src.shape[0]
    if ng == 0:
        return
    with nogil:
        ghost_forward(&x[0, 0], nlocal, ng, &src[0], &shift[0, 0])


def ghosts_reverse(a, int nlocal, const int32_t[::1] src):
    """Single-rank reverse sum a[src[g]] += a[nlocal+g], g descending; a is [nall] or [nall, k]."""
    cdef int ng = src.shape[0]
    cdef double[::1] flat = a.reshape(-1)
    cdef int width = 1 if a.ndim == 1 else a.shape[1]
    if ng == 0:
        return
    with nogil:
        ghost_reverse(&flat[0], width, nlocal, ng, &src[0])
