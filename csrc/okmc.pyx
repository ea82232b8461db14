"""Object kinetic Monte Carlo event loop (residence-time / BKL), pure kernel.

The NumPy reference is ``mscouple.kmc.engine.KMC`` with ``backend="numpy"``: the same
events in the same order from the same random stream (xoshiro256**, Blackman & Vigna,
ACM TOMS 47 (2021) 36), so both give the same trajectory.

Objects k < n: kind[k] (-1 vacancy, +1 interstitial), size[k] >= 1, pos[k] (Å, unwrapped),
axis[k] (glide axis 0..5 of GLIDE, or -1). An interstitial cluster with size >= glide_min
(glide_min > 0) is a glider: it jumps only along +-GLIDE[axis] (one-dimensional glide of SIA
clusters along <110>); its rate comes from the same per-size table (the caller puts the 1D
rate there).
Arrays have capacity >= the total number of defects (emission adds objects, reactions
remove them; object order is kept, as numpy.delete / append do). Per event:

    R = sum_k jump[k] + sum_k emit[k]        (rates from the per-size tables)
    dt = -ln(1 - u0) / R; stop (t = t_stop, event discarded) if t + dt >= t_stop
    event e: first index with cumsum > u1 R over [jumps..., emissions...]
    direction: JUMP[int(u2 * 12)] * a/2; a glider: +GLIDE[axis] * a/2 if u2 < 0.5 else -GLIDE[axis] * a/2
    jump: pos[e] += d; settle(e)
    emission (vacancy cluster k): size[k] -= 1; new vacancy at pos[k] + h d,
        h = floor((rc(V, size[k]) + rc(V, 1)) / |d|) + 1; settle(new)
    settle(k): leaving the box along a free direction -> absorbed (removed); else react(k),
        and while any react: rescan react(j) from j = 0
    react(k): nearest partner q with |x_q - x_k| <= rc_q + rc_k (minimum image):
        same kind -> merge into the larger (ties: q); a merged glider without an axis takes
        the <110> axis nearest to the pair's separation (first of the largest |d . GLIDE[g]|);
        else min(n_k, n_q) recombine
"""
import numpy as np
from libc.math cimport log, cbrt, floor, sqrt, INFINITY
from libc.stdint cimport uint64_t, int64_t, uint8_t
from libc.string cimport memmove

cdef double[12][3] JUMP
cdef int _i, _j, _c = 0
for _i in (-1, 1):
    for _j in (-1, 1):
        JUMP[_c][0] = _i; JUMP[_c][1] = _j; JUMP[_c][2] = 0; _c += 1
for _i in (-1, 1):
    for _j in (-1, 1):
        JUMP[_c][0] = _i; JUMP[_c][1] = 0; JUMP[_c][2] = _j; _c += 1
for _i in (-1, 1):
    for _j in (-1, 1):
        JUMP[_c][0] = 0; JUMP[_c][1] = _i; JUMP[_c][2] = _j; _c += 1


cdef double[6][3] GLIDE
GLIDE[0][:] = [1.0, 1.0, 0.0]
GLIDE[1][:] = [1.0, -1.0, 0.0]
GLIDE[2][:] = [1.0, 0.0, 1.0]
GLIDE[3][:] = [1.0, 0.0, -1.0]
GLIDE[4][:] = [0.0, 1.0, 1.0]
GLIDE[5][:] = [0.0, 1.0, -1.0]


cdef inline int nearest_axis(double dx, double dy, double dz) noexcept nogil:
    cdef int g, best = 0
    cdef double v, top = -1.0
    for g in range(6):
        v = dx * GLIDE[g][0] + dy * GLIDE[g][1] + dz * GLIDE[g][2]
        if v < 0:
            v = -v
        if v > top:
            top = v
            best = g
    return best


cdef inline uint64_t rotl(uint64_t x, int k) noexcept nogil:
    return (x << k) | (x >> (64 - k))


cdef inline double uniform(uint64_t* s) noexcept nogil:
    """xoshiro256** -> double in [0, 1) (53 random bits)."""
    cdef uint64_t result = rotl(s[1] * 5, 7) * 9
    cdef uint64_t t = s[1] << 17
    s[2] ^= s[0]
    s[3] ^= s[1]
    s[1] ^= s[2]
    s[0] ^= s[3]
    s[2] ^= t
    s[3] = rotl(s[3], 45)
    return <double>(result >> 11) * (1.0 / 9007199254740992.0)


def uniforms(uint64_t[::1] state, int count):
    """``count`` numbers of the stream (advances ``state``); for the reference's tests."""
    out = np.empty(count)
    cdef double[::1] o = out
    cdef int i
    for i in range(count):
        o[i] = uniform(&state[0])
    return out


cdef struct Box:
    double lo[3]
    double L[3]
    int per[3]


cdef struct Tables:
    const double* jump_v
    const double* jump_i
    const double* emit_v
    int nmax
    double r0_v
    double r0_i
    int glide_min


cdef inline double rc(const Tables* tb, int64_t kind, int64_t size) noexcept nogil:
    return (tb.r0_v if kind < 0 else tb.r0_i) * cbrt(<double>size)


cdef inline double jrate(const Tables* tb, int64_t kind, int64_t size) noexcept nogil:
    if size > tb.nmax:
        return 0.0
    return tb.jump_v[size] if kind < 0 else tb.jump_i[size]


cdef inline double erate(const Tables* tb, int64_t kind, int64_t size) noexcept nogil:
    if kind > 0 or size > tb.nmax:
        return 0.0
    return tb.emit_v[size]


cdef inline int glides(const Tables* tb, int64_t kind, int64_t size) noexcept nogil:
    return tb.glide_min > 0 and kind > 0 and size >= tb.glide_min


cdef void remove(int64_t* kind, int64_t* size, double* pos, int64_t* ax, int* n, int k) noexcept nogil:
    cdef int m = n[0] - k - 1
    if m > 0:
        memmove(&kind[k], &kind[k + 1], m * sizeof(int64_t))
        memmove(&size[k], &size[k + 1], m * sizeof(int64_t))
        memmove(&ax[k], &ax[k + 1], m * sizeof(int64_t))
        memmove(&pos[3 * k], &pos[3 * (k + 1)], 3 * m * sizeof(double))
    n[0] -= 1


cdef int react(int64_t* kind, int64_t* size, double* pos, int64_t* ax, int* n, int k,
               const Box* bx, const Tables* tb, int64_t* cnt) noexcept nogil:
    cdef int j, q = -1, d, keep, gone
    cdef double r2, best = INFINITY, reach, dx, rk
    cdef double sep[3]
    cdef int64_t m
    if n[0] < 2:
        return 0
    rk = rc(tb, kind[k], size[k])
    for j in range(n[0]):
        if j == k:
            continue
        r2 = 0.0
        for d in range(3):
            dx = pos[3 * j + d] - pos[3 * k + d]
            if bx.per[d]:
                dx -= bx.L[d] * floor(dx / bx.L[d] + 0.5)
            r2 += dx * dx
        reach = rc(tb, kind[j], size[j]) + rk
        if r2 <= reach * reach and r2 < best:
            best = r2
            q = j
    if q < 0:
        return 0
    if kind[q] == kind[k]:
        if size[q] >= size[k]:
            keep, gone = q, k
        else:
            keep, gone = k, q
        size[keep] += size[gone]
        if ax[keep] < 0 and glides(tb, kind[keep], size[keep]):
            for d in range(3):
                sep[d] = pos[3 * q + d] - pos[3 * k + d]
                if bx.per[d]:
                    sep[d] -= bx.L[d] * floor(sep[d] / bx.L[d] + 0.5)
            ax[keep] = nearest_axis(sep[0], sep[1], sep[2])
        cnt[4] += 1
        remove(kind, size, pos, ax, n, gone)
    else:
        m = size[k] if size[k] < size[q] else size[q]
        cnt[3] += m
        size[k] -= m
        size[q] -= m
        if k > q:
            if size[k] == 0:
                remove(kind, size, pos, ax, n, k)
            if size[q] == 0:
                remove(kind, size, pos, ax, n, q)
        else:
            if size[q] == 0:
                remove(kind, size, pos, ax, n, q)
            if size[k] == 0:
                remove(kind, size, pos, ax, n, k)
    return 1


cdef void settle(int64_t* kind, int64_t* size, double* pos, int64_t* ax, int* n, int k,
                 const Box* bx, const Tables* tb, int64_t* cnt) noexcept nogil:
    cdef int d, j
    cdef double x
    for d in range(3):
        if not bx.per[d]:
            x = pos[3 * k + d]
            if x < bx.lo[d] or x >= bx.lo[d] + bx.L[d]:
                cnt[5] += size[k]
                remove(kind, size, pos, ax, n, k)
                return
    if react(kind, size, pos, ax, n, k, bx, tb, cnt):
        j = 0
        while j < n[0]:
            if react(kind, size, pos, ax, n, j, bx, tb, cnt):
                j = 0
            else:
                j += 1


def okmc_advance(int64_t[::1] kind, int64_t[::1] size, double[:, ::1] pos, int64_t[::1] axis, int n,
                 const double[::1] jump_v, const double[::1] jump_i, const double[::1] emit_v,
                 double r0_v, double r0_i, double a, const double[::1] lo,
                 const double[::1] L, const uint8_t[::1] periodic, uint64_t[::1] rng,
                 double t, double t_stop, long max_events, int64_t[::1] counters,
                 int glide_min=0):
    """Advance until ``t_stop`` or ``max_events`` events (see the module docstring);
    returns ``(n, t, events)``. counters[6] += events, jumps, emissions, recombined Frenkel
    pairs, clustering reactions, absorbed defects."""
    cdef Box bx
    cdef Tables tb
    cdef int d, d2, k, e, cap = kind.shape[0], nn = n
    cdef long done = 0
    cdef double R, u, acc, dt, step, reach
    cdef int64_t h
    cdef int64_t* K = &kind[0]
    cdef int64_t* S = &size[0]
    cdef int64_t* AX = &axis[0]
    cdef double u2, sgn
    cdef double* P = &pos[0, 0]
    cdef uint64_t* st = &rng[0]
    cdef int64_t* cnt = &counters[0]
    for d in range(3):
        bx.lo[d] = lo[d]
        bx.L[d] = L[d]
        bx.per[d] = periodic[d]
    tb.jump_v = &jump_v[0]
    tb.jump_i = &jump_i[0]
    tb.emit_v = &emit_v[0]
    tb.nmax = jump_v.shape[0] - 1
    tb.r0_v = r0_v
    tb.r0_i = r0_i
    tb.glide_min = glide_min
    step = 0.5 * a
    with nogil:
        while max_events < 0 or done < max_events:
            R = 0.0
            for k in range(nn):
                R += jrate(&tb, K[k], S[k])
            for k in range(nn):
                R += erate(&tb, K[k], S[k])
            if not R > 0.0:
                t = t_stop if t_stop > t else t
                break
            dt = -log(1.0 - uniform(st)) / R
            if t + dt >= t_stop:
                t = t_stop
                break
            t += dt
            u = uniform(st) * R
            e = -1
            acc = 0.0
            for k in range(nn):
                acc += jrate(&tb, K[k], S[k])
                if acc > u:
                    e = k
                    break
            if e < 0:
                for k in range(nn):
                    acc += erate(&tb, K[k], S[k])
                    if acc > u:
                        e = nn + k
                        break
            if e < 0:  # round-off at the very end of the sum: the last event with a rate
                e = 2 * nn - 1
                while e >= nn and erate(&tb, K[e - nn], S[e - nn]) == 0.0:
                    e -= 1
                while e >= 0 and e < nn and jrate(&tb, K[e], S[e]) == 0.0:
                    e -= 1
            u2 = uniform(st)
            d = <int>(u2 * 12.0)
            cnt[0] += 1
            done += 1
            if e < nn:
                if glides(&tb, K[e], S[e]) and AX[e] >= 0:
                    sgn = 1.0 if u2 < 0.5 else -1.0
                    for k in range(3):
                        P[3 * e + k] += sgn * step * GLIDE[AX[e]][k]
                else:
                    for k in range(3):
                        P[3 * e + k] += step * JUMP[d][k]
                cnt[1] += 1
                settle(K, S, P, AX, &nn, e, &bx, &tb, cnt)
            else:
                k = e - nn
                S[k] -= 1
                reach = rc(&tb, -1, S[k]) + rc(&tb, -1, 1)
                h = <int64_t>floor(reach / (step * sqrt(2.0))) + 1
                if nn >= cap:
                    with gil:
                        raise ValueError("okmc_advance: object capacity exceeded")
                K[nn] = -1
                S[nn] = 1
                AX[nn] = -1
                for d2 in range(3):
                    P[3 * nn + d2] = P[3 * k + d2] + h * step * JUMP[d][d2]
                nn += 1
                cnt[2] += 1
                settle(K, S, P, AX, &nn, nn - 1, &bx, &tb, cnt)
    return nn, t, done
