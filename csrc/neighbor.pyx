"""Cell binning, cell sort and half Verlet neighbour lists with ghost atoms (pure kernels).

Atoms ``[0, nlocal)`` are owned, ``[nlocal, nall)`` are ghosts (periodic images or atoms
of neighbouring ranks). The half list holds every owned-owned pair once (j > i in the same
bin, all atoms of bins in the upper half of the stencil) and every owned-ghost pair whose
ghost lies "above" the owned atom (z, then y, then x), so that of the two ranks (or two
images) that see one pair, exactly one computes it (Newton's third law, as LAMMPS'
half/bin/newton). Bins are at least ``cutneigh/2`` wide (stencil of up to 5^3 bins).
"""
import numpy as np
cimport numpy as cnp
from libc.math cimport floor, ceil
from libc.stdint cimport int32_t
from libc.stdlib cimport malloc, calloc, free

cnp.import_array()

cdef int MAXBINS = 1 << 24


cdef inline bint above(const double* x, int j, int i) noexcept nogil:
    if x[3 * j + 2] > x[3 * i + 2]:
        return True
    if x[3 * j + 2] < x[3 * i + 2]:
        return False
    if x[3 * j + 1] > x[3 * i + 1]:
        return True
    if x[3 * j + 1] < x[3 * i + 1]:
        return False
    return x[3 * j] > x[3 * i]


cdef void grid_setup(const double* x, int n, double binsize, double* lo, double* inv,
                     int* nb) noexcept nogil:
    """Bounding box of x[0:n] and a bin grid of at least ``binsize`` per bin (capped)."""
    cdef int d, i
    cdef double hi[3]
    cdef double ext, bs
    cdef long total
    for d in range(3):
        lo[d] = 1e300
        hi[d] = -1e300
    for i in range(n):
        for d in range(3):
            if x[3 * i + d] < lo[d]:
                lo[d] = x[3 * i + d]
            if x[3 * i + d] > hi[d]:
                hi[d] = x[3 * i + d]
    if n == 0:
        for d in range(3):
            lo[d] = 0.0
            hi[d] = 0.0
    bs = binsize
    while True:
        total = 1
        for d in range(3):
            ext = hi[d] - lo[d]
            nb[d] = <int>floor(ext / bs)
            if nb[d] < 1:
                nb[d] = 1
            total *= nb[d]
        if total <= MAXBINS and total <= 8 * n + 64:
            break
        bs *= 1.26
    for d in range(3):
        ext = hi[d] - lo[d]
        inv[d] = nb[d] / ext if ext > 0 else 0.0


cdef inline int bin_of(const double* xi, const double* lo, const double* inv,
                       const int* nb) noexcept nogil:
    cdef int d, c, b = 0
    for d in range(3):
        c = <int>((xi[d] - lo[d]) * inv[d])
        if c < 0:
            c = 0
        if c >= nb[d]:
            c = nb[d] - 1
        b = b * nb[d] + c
    return b


def sort_order(const double[:, ::1] x, int n, double binsize):
    """Permutation ``[n]`` int64 that orders atoms 0..n-1 by bin (stable counting sort).

    Apply it to every per-atom array to put atoms of one bin next to each other in memory.
    """
    cdef double lo[3]
    cdef double inv[3]
    cdef int nb[3]
    cdef int i, b, nbins
    out = np.empty(n, dtype=np.int64)
    cdef long[::1] o = out
    if n == 0:
        return out
    grid_setup(&x[0, 0], n, binsize, lo, inv, nb)
    nbins = nb[0] * nb[1] * nb[2]
    cdef int* cnt = <int*>calloc(nbins + 1, sizeof(int))
    cdef int* bins = <int*>malloc(n * sizeof(int))
    with nogil:
        for i in range(n):
            b = bin_of(&x[i, 0], lo, inv, nb)
            bins[i] = b
            cnt[b + 1] += 1
        for b in range(nbins):
            cnt[b + 1] += cnt[b]
        for i in range(n):
            o[cnt[bins[i]]] = i
            cnt[bins[i]] += 1
    free(cnt)
    free(bins)
    return out


def build_half(const double[:, ::1] x, int nlocal, int nall, double cutneigh,
               int32_t[::1] nstart, int32_t[::1] nlist):
    """Half neighbour list of owned atoms [0, nlocal) against all atoms [0, nall).

    x: [>= nall, 3] positions (ghosts included); cutneigh = cutoff + skin.
    Writes nstart [nlocal+1] and nlist [capacity]. Returns the number of entries; if that
    exceeds ``len(nlist)`` nothing beyond the capacity was written: grow and call again.
    """
    cdef double lo[3]
    cdef double inv[3]
    cdef double bs[3]
    cdef int nb[3]
    cdef int pb[3]
    cdef int sx[3]
    cdef int d, i, j, b, k, s, c, nbins, nhalf, nfull
    cdef int ox, oy, oz
    cdef long cap = nlist.shape[0]
    cdef long count = 0
    cdef double cutsq = cutneigh * cutneigh
    cdef double dx, dy, dz, xi, yi, zi, g, dist2
    cdef const double* xp
    cdef int nghost = nall - nlocal
    if nstart.shape[0] < nlocal + 1:
        raise ValueError("nstart must hold nlocal + 1 entries")
    if nall == 0 or nlocal == 0:
        for i in range(nlocal + 1):
            nstart[i] = 0
        return 0
    xp = &x[0, 0]
    grid_setup(xp, nall, 0.5 * cutneigh, lo, inv, nb)
    for d in range(3):
        sx[d] = <int>ceil(cutneigh * inv[d] - 1e-12) if inv[d] > 0 else 0
        if sx[d] > nb[d] - 1:
            sx[d] = nb[d] - 1
        bs[d] = 1.0 / inv[d] if inv[d] > 0 else 0.0
        pb[d] = nb[d] + 2 * sx[d]  # padded: stencils never leave the grid
    nbins = pb[0] * pb[1] * pb[2]
    # stencils as linear bin offsets, bins farther than cutneigh dropped
    cdef int* half = <int*>malloc(((2 * sx[0] + 1) * (2 * sx[1] + 1) * (2 * sx[2] + 1) + 1) * sizeof(int))
    cdef int* full = <int*>malloc(((2 * sx[0] + 1) * (2 * sx[1] + 1) * (2 * sx[2] + 1) + 1) * sizeof(int))
    cdef int* gup = <int*>malloc(((2 * sx[0] + 1) * (2 * sx[1] + 1) * (2 * sx[2] + 1) + 1) * sizeof(int))
    cdef int* geq = <int*>malloc(((2 * sx[0] + 1) * (2 * sx[1] + 1) * (2 * sx[2] + 1) + 1) * sizeof(int))
    cdef int ngup = 0, ngeq = 0
    nhalf = 0
    nfull = 0
    for ox in range(-sx[0], sx[0] + 1):
        for oy in range(-sx[1], sx[1] + 1):
            for oz in range(-sx[2], sx[2] + 1):
                dist2 = 0.0
                for d, c in enumerate((ox, oy, oz)):
                    g = (abs(c) - 1) * bs[d] if abs(c) > 1 else 0.0
                    dist2 += g * g
                if dist2 >= cutsq:
                    continue
                k = (ox * pb[1] + oy) * pb[2] + oz
                full[nfull] = k
                nfull += 1
                # ghost stencil: a bin lower in z holds no ghost above i, a bin higher in
                # z holds only ghosts above i (bins are monotone in z); check oz == 0 only
                if oz > 0:
                    gup[ngup] = k
                    ngup += 1
                elif oz == 0:
                    geq[ngeq] = k
                    ngeq += 1
                if ox > 0 or (ox == 0 and (oy > 0 or (oy == 0 and oz > 0))):
                    half[nhalf] = k
                    nhalf += 1
    cdef int* lcnt = <int*>calloc(nbins + 1, sizeof(int))
    cdef int* gcnt = <int*>calloc(nbins + 1, sizeof(int))
    cdef int* abin = <int*>malloc(nall * sizeof(int))
    cdef int* lord = <int*>malloc((nlocal + 1) * sizeof(int))
    cdef int* gord = <int*>malloc((nghost + 1) * sizeof(int))
    cdef char* gnear = <char*>calloc(nbins + 1, sizeof(char))
    cdef int cx, cy, cz
    with nogil:
        for i in range(nall):
            cx = <int>((xp[3 * i] - lo[0]) * inv[0])
            cy = <int>((xp[3 * i + 1] - lo[1]) * inv[1])
            cz = <int>((xp[3 * i + 2] - lo[2]) * inv[2])
            cx = 0 if cx < 0 else (nb[0] - 1 if cx >= nb[0] else cx)
            cy = 0 if cy < 0 else (nb[1] - 1 if cy >= nb[1] else cy)
            cz = 0 if cz < 0 else (nb[2] - 1 if cz >= nb[2] else cz)
            b = ((cx + sx[0]) * pb[1] + cy + sx[1]) * pb[2] + cz + sx[2]
            abin[i] = b
            if i < nlocal:
                lcnt[b + 1] += 1
            else:
                gcnt[b + 1] += 1
        for b in range(nbins):
            lcnt[b + 1] += lcnt[b]
            gcnt[b + 1] += gcnt[b]
        for i in range(nall):
            b = abin[i]
            if i < nlocal:
                lord[lcnt[b]] = i
                lcnt[b] += 1
            else:
                gord[gcnt[b]] = i
                gcnt[b] += 1
        for b in range(nbins, 0, -1):
            lcnt[b] = lcnt[b - 1]
            gcnt[b] = gcnt[b - 1]
        lcnt[0] = 0
        gcnt[0] = 0
        # gnear[b]: some bin of b's full stencil holds ghosts (interior atoms skip the scan)
        for b in range(nbins):
            if gcnt[b + 1] > gcnt[b]:
                for s in range(nfull):
                    c = b - full[s]
                    if c >= 0 and c < nbins:
                        gnear[c] = 1
        for i in range(nlocal):
            nstart[i] = count
            xi = xp[3 * i]
            yi = xp[3 * i + 1]
            zi = xp[3 * i + 2]
            b = abin[i]
            # own bin: owned atoms with larger index
            for k in range(lcnt[b], lcnt[b + 1]):
                j = lord[k]
                if j <= i:
                    continue
                dx = xi - xp[3 * j]
                dy = yi - xp[3 * j + 1]
                dz = zi - xp[3 * j + 2]
                if dx * dx + dy * dy + dz * dz < cutsq:
                    if count < cap:
                        nlist[count] = j
                    count += 1
            # upper half of the stencil: every owned atom
            for s in range(nhalf):
                c = b + half[s]
                for k in range(lcnt[c], lcnt[c + 1]):
                    j = lord[k]
                    dx = xi - xp[3 * j]
                    dy = yi - xp[3 * j + 1]
                    dz = zi - xp[3 * j + 2]
                    if dx * dx + dy * dy + dz * dz < cutsq:
                        if count < cap:
                            nlist[count] = j
                        count += 1
            # ghosts: whole stencil, keep those above i
            if gnear[b]:
                for s in range(ngup):
                    c = b + gup[s]
                    for k in range(gcnt[c], gcnt[c + 1]):
                        j = gord[k]
                        dx = xi - xp[3 * j]
                        dy = yi - xp[3 * j + 1]
                        dz = zi - xp[3 * j + 2]
                        if dx * dx + dy * dy + dz * dz < cutsq:
                            if count < cap:
                                nlist[count] = j
                            count += 1
                for s in range(ngeq):
                    c = b + geq[s]
                    for k in range(gcnt[c], gcnt[c + 1]):
                        j = gord[k]
                        dx = xi - xp[3 * j]
                        dy = yi - xp[3 * j + 1]
                        dz = zi - xp[3 * j + 2]
                        if dx * dx + dy * dy + dz * dz < cutsq and above(xp, j, i):
                            if count < cap:
                                nlist[count] = j
                            count += 1
        nstart[nlocal] = count
    free(gnear)
    free(half)
    free(full)
    free(gup)
    free(geq)
    free(lcnt)
    free(gcnt)
    free(abin)
    free(lord)
    free(gord)
    if count > 0x7fffffff:
        raise OverflowError("neighbour list exceeds 2^31 entries: use more ranks")
    return count


def max_displacement_sq(const double[:, ::1] x, const double[:, ::1] xhold, int n):
    """max_i |x_i - xhold_i|^2 over the first n rows."""
    cdef int i
    cdef double dx, dy, dz, r, m = 0.0
    with nogil:
        for i in range(n):
            dx = x[i, 0] - xhold[i, 0]
            dy = x[i, 1] - xhold[i, 1]
            dz = x[i, 2] - xhold[i, 2]
            r = dx * dx + dy * dy + dz * dz
            if r > m:
                m = r
    return m
