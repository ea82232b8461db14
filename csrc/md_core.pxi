# Shared nogil building blocks of the MD kernels (included by pair.pyx, integrate.pyx, eam.pyx).
#
# Conventions (all kernels):
#   x, v, f        double[n*3]   C-contiguous rows (x0, y0, z0, x1, ...)
#   locals first  [0, nlocal), then ghosts [nlocal, nall)
#   nstart/nlist   half neighbour list in CSR form: neighbours of local i are
#                  nlist[nstart[i]:nstart[i+1]] (indices into [0, nall))
#   coef           double[ntypes*ntypes*NCOEF]; row (ti*ntypes+tj) holds the pair's constants
#   virial         6 components xx, yy, zz, xy, xz, yz of sum over pairs r_ij (x) f_ij
#                  (r_ij = r_i - r_j, f_ij = force on i from j), energy units
from libc.math cimport sqrt, exp, log, cos, sin, floor, fabs
from libc.stdint cimport uint64_t, int64_t, int32_t, uint8_t
from libc.string cimport memset

cdef enum:
    NCOEF = 8
    STYLE_LJ = 0
    STYLE_MORSE = 1
    STYLE_HARMONIC = 2


cdef inline double pair_eval(int style, const double* c, double rsq, double* fpair) noexcept nogil:
    """Pair energy at r^2 = rsq; writes F(r)/r (F = -dphi/dr) into fpair[0].

    LJ:       c = [cutsq, 48 e s^12, 24 e s^6, 4 e s^12, 4 e s^6, e_shift, F(rc) (smooth), rc]
    Morse:    c = [cutsq, D0, alpha, r0, e_shift, F(rc) (smooth), rc, -]
    harmonic: c = [cutsq, k, r0, -, ...]
    Smoothed (shifted-force) form: phi(r) - phi(rc) + (r - rc) F(rc), force F(r) - F(rc).
    """
    cdef double r2inv, r6inv, r, e, d
    if style == STYLE_LJ:
        r2inv = 1.0 / rsq
        r6inv = r2inv * r2inv * r2inv
        fpair[0] = r6inv * (c[1] * r6inv - c[2]) * r2inv
        e = r6inv * (c[3] * r6inv - c[4]) - c[5]
        if c[6] != 0.0:
            r = sqrt(rsq)
            fpair[0] -= c[6] / r
            e += (r - c[7]) * c[6]
        return e
    elif style == STYLE_MORSE:
        r = sqrt(rsq)
        d = exp(-c[2] * (r - c[3]))
        fpair[0] = (2.0 * c[2] * c[1] * (d * d - d) - c[5]) / r
        return c[1] * (d * d - 2.0 * d) - c[4] + (r - c[6]) * c[5]
    else:
        r = sqrt(rsq)
        d = r - c[2]
        fpair[0] = -c[1] * d / r
        return 0.5 * c[1] * d * d


cdef inline void lj_fast(const double* coef, int ntypes, const double* x, const int32_t* typ,
                         int nlocal, const int32_t* nstart, const int32_t* nlist,
                         double* f, int eflag, int vflag, double* glob) noexcept nogil:
    """Plain/shifted LJ, no weights, no per-atom output: the hot loop of the fused run."""
    cdef int i, j, jj, ti, jend
    cdef double xi, yi, zi, fxi, fyi, fzi, dx, dy, dz, rsq, r2inv, r6inv, fpair
    cdef double e = 0.0, v0 = 0.0, v1 = 0.0, v2 = 0.0, v3 = 0.0, v4 = 0.0, v5 = 0.0
    cdef const double* ci
    cdef const double* c
    for i in range(nlocal):
        xi = x[3 * i]
        yi = x[3 * i + 1]
        zi = x[3 * i + 2]
        ti = typ[i]
        ci = coef + ti * ntypes * NCOEF
        fxi = 0.0
        fyi = 0.0
        fzi = 0.0
        jend = nstart[i + 1]
        for jj in range(nstart[i], jend):
            j = nlist[jj]
            dx = xi - x[3 * j]
            dy = yi - x[3 * j + 1]
            dz = zi - x[3 * j + 2]
            rsq = dx * dx + dy * dy + dz * dz
            c = ci + typ[j] * NCOEF
            if rsq < c[0]:
                r2inv = 1.0 / rsq
                r6inv = r2inv * r2inv * r2inv
                fpair = r6inv * (c[1] * r6inv - c[2]) * r2inv
                fxi = fxi + dx * fpair
                fyi = fyi + dy * fpair
                fzi = fzi + dz * fpair
                f[3 * j] -= dx * fpair
                f[3 * j + 1] -= dy * fpair
                f[3 * j + 2] -= dz * fpair
                if eflag:
                    e += r6inv * (c[3] * r6inv - c[4]) - c[5]
                if vflag:
                    v0 += dx * dx * fpair
                    v1 += dy * dy * fpair
                    v2 += dz * dz * fpair
                    v3 += dx * dy * fpair
                    v4 += dx * dz * fpair
                    v5 += dy * dz * fpair
        f[3 * i] += fxi
        f[3 * i + 1] += fyi
        f[3 * i + 2] += fzi
    glob[0] += e
    glob[1] += v0
    glob[2] += v1
    glob[3] += v2
    glob[4] += v3
    glob[5] += v4
    glob[6] += v5


cdef inline void lj_force_1type(const double* c, const double* x, int nlocal,
                                const int32_t* nstart, const int32_t* nlist,
                                double* f) noexcept nogil:
    """One atom type, forces only: the in.lj inner loop (constants held in registers)."""
    cdef int i, j, jj, jend
    cdef double xi, yi, zi, fxi, fyi, fzi, dx, dy, dz, rsq, r2inv, r6inv, fpair
    cdef double cutsq = c[0], lj1 = c[1], lj2 = c[2]
    for i in range(nlocal):
        xi = x[3 * i]
        yi = x[3 * i + 1]
        zi = x[3 * i + 2]
        fxi = 0.0
        fyi = 0.0
        fzi = 0.0
        jend = nstart[i + 1]
        for jj in range(nstart[i], jend):
            j = 3 * nlist[jj]
            dx = xi - x[j]
            dy = yi - x[j + 1]
            dz = zi - x[j + 2]
            rsq = dx * dx + dy * dy + dz * dz
            if rsq < cutsq:
                r2inv = 1.0 / rsq
                r6inv = r2inv * r2inv * r2inv
                fpair = r6inv * (lj1 * r6inv - lj2) * r2inv
                fxi = fxi + dx * fpair
                fyi = fyi + dy * fpair
                fzi = fzi + dz * fpair
                f[j] -= dx * fpair
                f[j + 1] -= dy * fpair
                f[j + 2] -= dz * fpair
        f[3 * i] += fxi
        f[3 * i + 1] += fyi
        f[3 * i + 2] += fzi


cdef inline void lj_force_1type_w(const double* c, const double* x, const double* w, int nlocal,
                                  const int32_t* nstart, const int32_t* nlist,
                                  double* f) noexcept nogil:
    """One atom type, forces only, energy weights w: the bridging-domain patch's hot loop
    (each pair's force scaled by (w_i + w_j)/2, the same arithmetic as ``pair_general``, so
    the forces agree with it bit for bit)."""
    cdef int i, j, jj, jend
    cdef double xi, yi, zi, wi, fxi, fyi, fzi, dx, dy, dz, rsq, r2inv, r6inv, fpair
    cdef double cutsq = c[0], lj1 = c[1], lj2 = c[2]
    for i in range(nlocal):
        xi = x[3 * i]
        yi = x[3 * i + 1]
        zi = x[3 * i + 2]
        wi = w[i]
        fxi = 0.0
        fyi = 0.0
        fzi = 0.0
        jend = nstart[i + 1]
        for jj in range(nstart[i], jend):
            j = nlist[jj]
            dx = xi - x[3 * j]
            dy = yi - x[3 * j + 1]
            dz = zi - x[3 * j + 2]
            rsq = dx * dx + dy * dy + dz * dz
            if rsq < cutsq:
                r2inv = 1.0 / rsq
                r6inv = r2inv * r2inv * r2inv
                fpair = r6inv * (lj1 * r6inv - lj2) * r2inv
                fpair = fpair * (0.5 * (wi + w[j]))
                fxi = fxi + dx * fpair
                fyi = fyi + dy * fpair
                fzi = fzi + dz * fpair
                f[3 * j] -= dx * fpair
                f[3 * j + 1] -= dy * fpair
                f[3 * j + 2] -= dz * fpair
        f[3 * i] += fxi
        f[3 * i + 1] += fyi
        f[3 * i + 2] += fzi


cdef inline void pair_general(int style, const double* coef, int ntypes, const double* x,
                              const int32_t* typ, const double* w,
                              int nlocal, const int32_t* nstart, const int32_t* nlist,
                              double* f, double* eatom, double* vatom, int eflag, int vflag,
                              double* glob) noexcept nogil:
    """Any pair style; optional energy weights w (pair scaled by (w_i+w_j)/2) and per-atom
    energy eatom[nall] / virial vatom[nall*6] (each pair split half/half between i and j)."""
    cdef int i, j, jj, ti
    cdef double xi, yi, zi, fxi, fyi, fzi, dx, dy, dz, rsq, fpair, e, s
    cdef double vxx, vyy, vzz, vxy, vxz, vyz
    cdef double et = 0.0, v0 = 0.0, v1 = 0.0, v2 = 0.0, v3 = 0.0, v4 = 0.0, v5 = 0.0
    cdef int need_e = eflag or eatom != NULL
    cdef int need_v = vflag or vatom != NULL
    cdef const double* ci
    cdef const double* c
    for i in range(nlocal):
        xi = x[3 * i]
        yi = x[3 * i + 1]
        zi = x[3 * i + 2]
        ti = typ[i]
        ci = coef + ti * ntypes * NCOEF
        fxi = 0.0
        fyi = 0.0
        fzi = 0.0
        for jj in range(nstart[i], nstart[i + 1]):
            j = nlist[jj]
            dx = xi - x[3 * j]
            dy = yi - x[3 * j + 1]
            dz = zi - x[3 * j + 2]
            rsq = dx * dx + dy * dy + dz * dz
            c = ci + typ[j] * NCOEF
            if rsq < c[0]:
                e = pair_eval(style, c, rsq, &fpair)
                if w != NULL:
                    s = 0.5 * (w[i] + w[j])
                    fpair = fpair * s
                    e = e * s
                fxi = fxi + dx * fpair
                fyi = fyi + dy * fpair
                fzi = fzi + dz * fpair
                f[3 * j] -= dx * fpair
                f[3 * j + 1] -= dy * fpair
                f[3 * j + 2] -= dz * fpair
                if need_e:
                    et += e
                    if eatom != NULL:
                        eatom[i] += 0.5 * e
                        eatom[j] += 0.5 * e
                if need_v:
                    vxx = dx * dx * fpair
                    vyy = dy * dy * fpair
                    vzz = dz * dz * fpair
                    vxy = dx * dy * fpair
                    vxz = dx * dz * fpair
                    vyz = dy * dz * fpair
                    v0 += vxx
                    v1 += vyy
                    v2 += vzz
                    v3 += vxy
                    v4 += vxz
                    v5 += vyz
                    if vatom != NULL:
                        vatom[6 * i] += 0.5 * vxx
                        vatom[6 * i + 1] += 0.5 * vyy
                        vatom[6 * i + 2] += 0.5 * vzz
                        vatom[6 * i + 3] += 0.5 * vxy
                        vatom[6 * i + 4] += 0.5 * vxz
                        vatom[6 * i + 5] += 0.5 * vyz
                        vatom[6 * j] += 0.5 * vxx
                        vatom[6 * j + 1] += 0.5 * vyy
                        vatom[6 * j + 2] += 0.5 * vzz
                        vatom[6 * j + 3] += 0.5 * vxy
                        vatom[6 * j + 4] += 0.5 * vxz
                        vatom[6 * j + 5] += 0.5 * vyz
        f[3 * i] += fxi
        f[3 * i + 1] += fyi
        f[3 * i + 2] += fzi
    if eflag:
        glob[0] += et
    if vflag:
        glob[1] += v0
        glob[2] += v1
        glob[3] += v2
        glob[4] += v3
        glob[5] += v4
        glob[6] += v5


cdef inline void pair_dispatch(int style, const double* coef, int ntypes, const double* x,
                               const int32_t* typ, const double* w, int nlocal, int nall,
                               const int32_t* nstart, const int32_t* nlist, int has_smooth,
                               double* f, double* eatom, double* vatom, int eflag, int vflag,
                               double* glob) noexcept nogil:
    """Zero f (and eatom/vatom) over [0, nall), then accumulate the pair forces."""
    cdef int k
    memset(f, 0, 3 * nall * sizeof(double))
    for k in range(7):
        glob[k] = 0.0
    if eatom != NULL:
        memset(eatom, 0, nall * sizeof(double))
    if vatom != NULL:
        memset(vatom, 0, 6 * nall * sizeof(double))
    if (style == STYLE_LJ and ntypes == 1 and w == NULL and eatom == NULL and vatom == NULL
            and not has_smooth and not eflag and not vflag):
        lj_force_1type(coef, x, nlocal, nstart, nlist, f)
    elif (style == STYLE_LJ and ntypes == 1 and w != NULL and eatom == NULL and vatom == NULL
            and not has_smooth and not eflag and not vflag):
        lj_force_1type_w(coef, x, w, nlocal, nstart, nlist, f)
    elif style == STYLE_LJ and w == NULL and eatom == NULL and vatom == NULL and not has_smooth:
        lj_fast(coef, ntypes, x, typ, nlocal, nstart, nlist, f, eflag, vflag, glob)
    else:
        pair_general(style, coef, ntypes, x, typ, w, nlocal, nstart, nlist, f, eatom, vatom,
                     eflag, vflag, glob)


# ---------------------------------------------------------------- ghosts (single rank)
cdef inline void ghost_forward(double* x, int nlocal, int nghost, const int32_t* src,
                               const double* shift) noexcept nogil:
    """x[nlocal+g] = x[src[g]] + shift[g] in ghost order (src may be an earlier ghost)."""
    cdef int g, s, k
    for g in range(nghost):
        s = src[g]
        k = 3 * (nlocal + g)
        x[k] = x[3 * s] + shift[3 * g]
        x[k + 1] = x[3 * s + 1] + shift[3 * g + 1]
        x[k + 2] = x[3 * s + 2] + shift[3 * g + 2]


cdef inline void ghost_reverse(double* a, int width, int nlocal, int nghost,
                               const int32_t* src) noexcept nogil:
    """a[src[g]] += a[nlocal+g] (width values per atom), in reverse ghost order."""
    cdef int g, s, k
    for g in range(nghost - 1, -1, -1):
        s = src[g]
        for k in range(width):
            a[width * s + k] += a[width * (nlocal + g) + k]


cdef inline void add_external(double* f, const double* fext, int n) noexcept nogil:
    cdef int k
    for k in range(3 * n):
        f[k] += fext[k]


# ---------------------------------------------------------------- integrator pieces
cdef inline void vv_kick(double* v, const double* f, const double* mass, const uint8_t* fixed,
                         int n, double dtf) noexcept nogil:
    """v += dtf * f / m for mobile atoms (dtf = dt/2 * ftm2v)."""
    cdef int i
    cdef double a
    for i in range(n):
        if fixed[i]:
            continue
        a = dtf / mass[i]
        v[3 * i] += a * f[3 * i]
        v[3 * i + 1] += a * f[3 * i + 1]
        v[3 * i + 2] += a * f[3 * i + 2]


cdef inline void vv_drift(double* x, const double* v, const uint8_t* fixed, int n,
                          double dt) noexcept nogil:
    cdef int i
    for i in range(n):
        if fixed[i]:
            continue
        x[3 * i] += dt * v[3 * i]
        x[3 * i + 1] += dt * v[3 * i + 1]
        x[3 * i + 2] += dt * v[3 * i + 2]


cdef inline double drift_disp_sq(double* x, const double* v, const double* xhold, Py_ssize_t i,
                                 double dt, bint mobile) noexcept nogil:
    """Atom i: x += dt v if ``mobile`` (the arithmetic of ``vv_drift``), then its squared
    displacement from ``xhold`` (that of ``max_disp_sq``): the drift and the neighbour-list
    check of the overlapped step's fused passes, per atom."""
    cdef double dx, dy, dz
    if mobile:
        x[3 * i] += dt * v[3 * i]
        x[3 * i + 1] += dt * v[3 * i + 1]
        x[3 * i + 2] += dt * v[3 * i + 2]
    dx = x[3 * i] - xhold[3 * i]
    dy = x[3 * i + 1] - xhold[3 * i + 1]
    dz = x[3 * i + 2] - xhold[3 * i + 2]
    return dx * dx + dy * dy + dz * dz


cdef inline double max_disp_sq(const double* x, const double* xhold, int n) noexcept nogil:
    cdef int i
    cdef double dx, dy, dz, r, m = 0.0
    for i in range(n):
        dx = x[3 * i] - xhold[3 * i]
        dy = x[3 * i + 1] - xhold[3 * i + 1]
        dz = x[3 * i + 2] - xhold[3 * i + 2]
        r = dx * dx + dy * dy + dz * dz
        if r > m:
            m = r
    return m


cdef inline double kinetic2(const double* v, const double* mass, const uint8_t* fixed,
                            int n) noexcept nogil:
    """sum m v^2 over mobile atoms (mass*velocity^2 units)."""
    cdef int i
    cdef double s = 0.0
    for i in range(n):
        if fixed[i]:
            continue
        s += mass[i] * (v[3 * i] * v[3 * i] + v[3 * i + 1] * v[3 * i + 1]
                        + v[3 * i + 2] * v[3 * i + 2])
    return s


cdef inline void scale_v(double* v, const uint8_t* fixed, int n, double s) noexcept nogil:
    cdef int i
    for i in range(n):
        if fixed[i]:
            continue
        v[3 * i] *= s
        v[3 * i + 1] *= s
        v[3 * i + 2] *= s


# ---------------------------------------------------------------- counter-based RNG
cdef inline uint64_t mix64(uint64_t z) noexcept nogil:
    """SplitMix64 finaliser (Steele, Lea & Flood 2014): a bijective 64-bit avalanche hash."""
    z = (z ^ (z >> 30)) * <uint64_t>0xbf58476d1ce4e5b9ULL
    z = (z ^ (z >> 27)) * <uint64_t>0x94d049bb133111ebULL
    return z ^ (z >> 31)


cdef inline uint64_t hash4(uint64_t seed, uint64_t gid, uint64_t step, uint64_t lane) noexcept nogil:
    """Counter-based stream: a pure function of (seed, global atom id, step, lane)."""
    cdef uint64_t h = mix64(seed + <uint64_t>0x9e3779b97f4a7c15ULL)
    h = mix64(h ^ (gid * <uint64_t>0xd6e8feb86659fd93ULL))
    h = mix64(h ^ (step * <uint64_t>0xa0761d6478bd642fULL))
    return mix64(h ^ (lane * <uint64_t>0xe7037ed1a0b428dbULL + <uint64_t>0x8ebc6af09c88c6e3ULL))


cdef inline double u01(uint64_t h) noexcept nogil:
    """Uniform in (0, 1) from the top 53 bits."""
    return ((h >> 11) + 0.5) * (1.0 / 9007199254740992.0)


cdef inline void gauss3(uint64_t seed, uint64_t gid, uint64_t step, double* g) noexcept nogil:
    """Three independent standard normal numbers keyed by (seed, gid, step) (Box-Muller)."""
    cdef double u1 = u01(hash4(seed, gid, step, 0))
    cdef double u2 = u01(hash4(seed, gid, step, 1))
    cdef double u3 = u01(hash4(seed, gid, step, 2))
    cdef double u4 = u01(hash4(seed, gid, step, 3))
    cdef double r1 = sqrt(-2.0 * log(u1))
    cdef double r2 = sqrt(-2.0 * log(u3))
    g[0] = r1 * cos(6.283185307179586 * u2)
    g[1] = r1 * sin(6.283185307179586 * u2)
    g[2] = r2 * cos(6.283185307179586 * u4)


cdef inline double langevin_o(double* v, const double* mass, const uint8_t* fixed,
                              const double* gamma, const int64_t* ids, int n, double dt,
                              double kT_mvv, uint64_t step, uint64_t seed) noexcept nogil:
    """Exact Ornstein-Uhlenbeck update v <- c v + sqrt((1-c^2) kT/m) R, c = exp(-gamma dt).

    kT_mvv = k_B T / mvv2e (velocity^2 * mass units). Returns the change of sum m v^2
    (mass*velocity^2 units), i.e. twice the heat taken from the bath / mvv2e.
    """
    cdef int i, k
    cdef double c, s, vold, dk = 0.0
    cdef double g[3]
    for i in range(n):
        if fixed[i] or gamma[i] <= 0.0:
            continue
        c = exp(-gamma[i] * dt)
        s = sqrt((1.0 - c * c) * kT_mvv / mass[i])
        gauss3(seed, <uint64_t>ids[i], step, g)
        for k in range(3):
            vold = v[3 * i + k]
            v[3 * i + k] = c * vold + s * g[k]
            dk += mass[i] * (v[3 * i + k] * v[3 * i + k] - vold * vold)
    return dk


# ---------------------------------------------------------------- Nose-Hoover chain
cdef inline double nhc_half(double* st, int m, double ke2, double dof, double kT,
                            double tau, double dt) noexcept nogil:
    """Half-step (dt/2) of a Nose-Hoover chain of length m acting on the velocities.

    Martyna, Tuckerman & Klein, Mol. Phys. 87, 1117 (1996), one Trotter sweep.
    st = [eta(m), eta_dot(m+1; last stays 0), eta_dotdot(m)], ke2 = sum m v^2 * mvv2e
    (energy), kT = k_B T_target (energy), tau = relaxation time. Thermostat masses
    Q_0 = dof kT tau^2, Q_k = kT tau^2. Returns the factor to multiply velocities by.
    """
    cdef double* eta = st
    cdef double* ed = st + m
    cdef double* edd = st + 2 * m + 1
    cdef double q0 = dof * kT * tau * tau
    cdef double qk = kT * tau * tau
    cdef double dt2 = 0.5 * dt, dt4 = 0.25 * dt, dt8 = 0.125 * dt
    cdef double ex, scale
    cdef int k
    edd[0] = (ke2 - dof * kT) / q0
    for k in range(m - 1, 0, -1):
        ex = exp(-dt8 * ed[k + 1])
        ed[k] = (ed[k] * ex + edd[k] * dt4) * ex
    ex = exp(-dt8 * ed[1]) if m > 1 else 1.0
    ed[0] = (ed[0] * ex + edd[0] * dt4) * ex
    scale = exp(-dt2 * ed[0])
    ke2 = ke2 * scale * scale
    edd[0] = (ke2 - dof * kT) / q0
    for k in range(m):
        eta[k] += dt2 * ed[k]
    ed[0] = (ed[0] * ex + edd[0] * dt4) * ex
    for k in range(1, m):
        ex = exp(-dt8 * ed[k + 1])
        edd[k] = ((q0 if k == 1 else qk) * ed[k - 1] * ed[k - 1] - kT) / qk
        ed[k] = (ed[k] * ex + edd[k] * dt4) * ex
    return scale


# ---------------------------------------------------------------- split pair passes
cdef inline void lj_1type_pass(const double* c, const double* x, const double* w, int i0, int i1,
                               const int32_t* nstart, const int32_t* nlist,
                               double* f, bint half=0) noexcept nogil:
    """Forces of the pairs listed for atoms [i0, i1), *added* to f (no zeroing): one atom
    type, forces only; w NULL: unweighted, else each pair scaled by (w_i + w_j)/2 (``half``:
    w holds w/2, scaled by w_i + w_j: exactly the same number). Per pair
    the arithmetic of ``lj_force_1type`` / ``lj_force_1type_w`` (a pass over part of a
    split list: an atom whose pairs all lie in one pass gets its force bit for bit)."""
    cdef int i, j, jj, jend
    cdef double xi, yi, zi, wi = 1.0, fxi, fyi, fzi, dx, dy, dz, rsq, r2inv, r6inv, fpair
    cdef double cutsq = c[0], lj1 = c[1], lj2 = c[2]
    for i in range(i0, i1):
        xi = x[3 * i]
        yi = x[3 * i + 1]
        zi = x[3 * i + 2]
        if w != NULL:
            wi = w[i]
        fxi = 0.0
        fyi = 0.0
        fzi = 0.0
        jend = nstart[i + 1]
        for jj in range(nstart[i], jend):
            j = nlist[jj]
            dx = xi - x[3 * j]
            dy = yi - x[3 * j + 1]
            dz = zi - x[3 * j + 2]
            rsq = dx * dx + dy * dy + dz * dz
            if rsq < cutsq:
                r2inv = 1.0 / rsq
                r6inv = r2inv * r2inv * r2inv
                fpair = r6inv * (lj1 * r6inv - lj2) * r2inv
                if w != NULL:
                    if half:  # w holds w/2: the same bits, one multiplication less
                        fpair = fpair * (wi + w[j])
                    else:
                        fpair = fpair * (0.5 * (wi + w[j]))
                fxi = fxi + dx * fpair
                fyi = fyi + dy * fpair
                fzi = fzi + dz * fpair
                f[3 * j] -= dx * fpair
                f[3 * j + 1] -= dy * fpair
                f[3 * j + 2] -= dz * fpair
        if jend > nstart[i]:
            f[3 * i] += fxi
            f[3 * i + 1] += fyi
            f[3 * i + 2] += fzi
