"""EAM passes on packed tables, and the fused single-rank EAM velocity-Verlet run loop.

Same physics and interpolant as ``eam.pyx`` (Daw & Baskes, PRB 29, 6443 (1984); eam/alloy
form, cubic Hermite tables, forces exact derivatives of the interpolant):

    E = sum_i w_i F_ti(rho_i) + sum_{i<j} s_ij phi_titj(r_ij),  rho_i = sum_j rho_tj(r_ij),
    s_ij = (w_i + w_j)/2,  phi = z/r  (setfl's z = r phi).

Tables (built by :meth:`mscouple.atomistic.eam.EAM.packed_tables`):

    rz    double[ntypes, ntypes, nr, 8]  row (a, b), interval k: the cubic coefficients
          (per unit grid step, c0 + c1 t + c2 t^2 + c3 t^3) of rho_b(r) (the density a b atom
          gives its neighbour) in [0:4] and of z_ab(r) in [4:8] -- one 64-byte line per
          pair evaluation of the one-element case
    ftab  double[ntypes, nrho, 4]        F_a(rho)

One step is three passes over the half neighbour list with ghost traffic between them:

    density (pairs) -> reverse-sum rho onto owners
    embed   (owned) -> fp = w F'(rho), E_embed; forward fp onto ghosts
    force   (pairs) -> reverse-sum f onto owners

On one rank the ghosts are periodic images (the map gsrc/gshift), so the whole step, the
ghost traffic and the integration run in ``run_fused`` without returning to Python; on
several ranks :class:`~mscouple.atomistic.eam.EAM` calls ``density``/``embed``/``forces``
and the decomposition moves rho and fp between the passes. Units: those of the tables
(metal: Å, eV).
"""
import numpy as np
cimport numpy as cnp
from libc.stdlib cimport malloc, free

cnp.import_array()

include "md_core.pxi"


cdef struct EamTab:
    int ntypes
    int nr
    int nrho
    double inv_dr
    double inv_drho
    double cutsq
    const double* rz
    const double* ft


cdef inline void rho_pass(const EamTab* T, const double* x, const int32_t* typ, int nlocal,
                          int nall, const int32_t* nstart, const int32_t* nlist,
                          double* rho, int32_t* cstart, int32_t* cj,
                          double* cr) noexcept nogil:
    """rho[0:nall] = half-list density sums (ghost entries still to be reverse-summed).

    Also writes the pairs inside the cutoff as a second CSR list (cstart [nlocal+1], cj,
    cr = their distances; capacity nstart[nlocal]), which the force pass walks instead of
    the Verlet list: no skin pairs, no cutoff test and no square root there."""
    cdef int i, j, jj, k, ti, m = 0, nt = T.ntypes, nrm = T.nr - 1
    cdef double xi, yi, zi, dx, dy, dz, rsq, p, t, val, rhoi
    cdef double cutsq = T.cutsq, inv_dr = T.inv_dr
    cdef const double* c
    cdef const double* rz = T.rz
    cdef long rowlen = 8 * <long>T.nr
    cdef double r
    memset(rho, 0, nall * sizeof(double))
    cstart[0] = 0
    for i in range(nlocal):
        xi = x[3 * i]
        yi = x[3 * i + 1]
        zi = x[3 * i + 2]
        ti = typ[i]
        rhoi = 0.0
        for jj in range(nstart[i], nstart[i + 1]):
            j = nlist[jj]
            dx = xi - x[3 * j]
            dy = yi - x[3 * j + 1]
            dz = zi - x[3 * j + 2]
            rsq = dx * dx + dy * dy + dz * dz
            if rsq < cutsq:
                r = sqrt(rsq)
                cj[m] = j
                cr[m] = r
                m += 1
                p = r * inv_dr
                k = <int>p
                if k > nrm:
                    k = nrm
                t = p - k
                if nt == 1:
                    c = rz + 8 * k
                    val = ((c[3] * t + c[2]) * t + c[1]) * t + c[0]
                    rhoi += val
                    rho[j] += val
                else:
                    # density at i from j: row (ti, tj); at j from i: row (tj, ti)
                    c = rz + (ti * nt + typ[j]) * rowlen + 8 * k
                    rhoi += ((c[3] * t + c[2]) * t + c[1]) * t + c[0]
                    c = rz + (typ[j] * nt + ti) * rowlen + 8 * k
                    rho[j] += ((c[3] * t + c[2]) * t + c[1]) * t + c[0]
        rho[i] += rhoi
        cstart[i + 1] = m


cdef inline double embed_pass(const EamTab* T, const double* rho, const int32_t* typ,
                              const double* w, int nlocal, double* fp,
                              double* eatom) noexcept nogil:
    """fp[i] = w_i F'(rho_i) for owned atoms; eatom[i] += w_i F(rho_i); returns the sum."""
    cdef int i, k, nrm = T.nrho - 1
    cdef double p, t, e, wi, tot = 0.0, inv = T.inv_drho
    cdef const double* c
    cdef long rowlen = 4 * <long>T.nrho
    for i in range(nlocal):
        p = rho[i] * inv
        k = <int>p
        if k < 0:
            k = 0
        if k > nrm:
            k = nrm
        t = p - k
        c = T.ft + typ[i] * rowlen + 4 * k
        e = ((c[3] * t + c[2]) * t + c[1]) * t + c[0]
        wi = w[i] if w != NULL else 1.0
        fp[i] = wi * ((3.0 * c[3] * t + 2.0 * c[2]) * t + c[1]) * inv
        tot += wi * e
        if eatom != NULL:
            eatom[i] += wi * e
    return tot


cdef inline void force_pass_1(const EamTab* T, const double* x, int nlocal,
                              const int32_t* cstart, const int32_t* cj, const double* cr,
                              const double* fp, double* f, int eflag, int vflag,
                              double* glob) noexcept nogil:
    """One element, no weights, no per-atom output: the hot loop of the fused run, over
    the cutoff list of ``rho_pass``. Accumulates into f (zeroed by the caller) and
    glob = [E_pair, virial(6)]."""
    cdef int i, j, jj, k, nrm = T.nr - 1
    cdef double xi, yi, zi, fxi, fyi, fzi, dx, dy, dz, r, rinv, p, t, rd, z, zd, phi
    cdef double fpi, fpair
    cdef double cutsq = T.cutsq, inv_dr = T.inv_dr
    cdef double e = 0.0, v0 = 0.0, v1 = 0.0, v2 = 0.0, v3 = 0.0, v4 = 0.0, v5 = 0.0
    cdef const double* c
    cdef const double* rz = T.rz
    for i in range(nlocal):
        xi = x[3 * i]
        yi = x[3 * i + 1]
        zi = x[3 * i + 2]
        fpi = fp[i]
        fxi = 0.0
        fyi = 0.0
        fzi = 0.0
        for jj in range(cstart[i], cstart[i + 1]):
            j = cj[jj]
            dx = xi - x[3 * j]
            dy = yi - x[3 * j + 1]
            dz = zi - x[3 * j + 2]
            r = cr[jj]
            rinv = 1.0 / r
            p = r * inv_dr
            k = <int>p
            if k > nrm:
                k = nrm
            t = p - k
            c = rz + 8 * k
            rd = (3.0 * c[3] * t + 2.0 * c[2]) * t + c[1]
            z = ((c[7] * t + c[6]) * t + c[5]) * t + c[4]
            zd = (3.0 * c[7] * t + 2.0 * c[6]) * t + c[5]
            phi = z * rinv
            # -dE/dr / r: embedding through both densities + pair term (phi' = (z' - phi)/r)
            fpair = -((fpi + fp[j]) * rd * inv_dr + (zd * inv_dr - phi) * rinv) * rinv
            fxi = fxi + dx * fpair
            fyi = fyi + dy * fpair
            fzi = fzi + dz * fpair
            f[3 * j] -= dx * fpair
            f[3 * j + 1] -= dy * fpair
            f[3 * j + 2] -= dz * fpair
            if eflag:
                e += phi
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


cdef inline void force_pass_general(const EamTab* T, const double* x, const int32_t* typ,
                                    const double* w, int i0, int i1, const int32_t* cstart,
                                    const int32_t* cj, const double* cr, const double* fp,
                                    double* f, double* eatom, double* vatom,
                                    double* glob) noexcept nogil:
    """Any number of elements, optional weights w [nall] (pair x (w_i + w_j)/2) and per-atom
    energy eatom [nall] / virial vatom [nall*6] (each pair split half/half); the pairs that
    the cutoff list gives atoms [i0, i1) (the whole step: [0, nlocal); the overlapped
    coupled step: band pairs, then interior pairs in chunks, see ``force_range``)."""
    cdef int i, j, jj, k, m, ti, tj, nt = T.ntypes, nrm = T.nr - 1
    cdef double xi, yi, zi, fxi, fyi, fzi, dx, dy, dz, r, rinv, p, t
    cdef double rdi, rdj, z, zd, phi, s, fpair, e
    cdef double vv[6]
    cdef double cutsq = T.cutsq, inv_dr = T.inv_dr
    cdef const double* cij
    cdef const double* cji
    cdef long rowlen = 8 * <long>T.nr
    for i in range(i0, i1):
        xi = x[3 * i]
        yi = x[3 * i + 1]
        zi = x[3 * i + 2]
        ti = typ[i]
        fxi = 0.0
        fyi = 0.0
        fzi = 0.0
        for jj in range(cstart[i], cstart[i + 1]):
            j = cj[jj]
            dx = xi - x[3 * j]
            dy = yi - x[3 * j + 1]
            dz = zi - x[3 * j + 2]
            tj = typ[j]
            r = cr[jj]
            rinv = 1.0 / r
            p = r * inv_dr
            k = <int>p
            if k > nrm:
                k = nrm
            t = p - k
            cij = T.rz + (ti * nt + tj) * rowlen + 8 * k   # rho_tj (density at i), z_titj
            cji = T.rz + (tj * nt + ti) * rowlen + 8 * k   # rho_ti (density at j)
            rdj = ((3.0 * cij[3] * t + 2.0 * cij[2]) * t + cij[1]) * inv_dr
            rdi = ((3.0 * cji[3] * t + 2.0 * cji[2]) * t + cji[1]) * inv_dr
            z = ((cij[7] * t + cij[6]) * t + cij[5]) * t + cij[4]
            zd = ((3.0 * cij[7] * t + 2.0 * cij[6]) * t + cij[5]) * inv_dr
            phi = z * rinv
            s = 0.5 * (w[i] + w[j]) if w != NULL else 1.0
            fpair = -(fp[i] * rdj + fp[j] * rdi + s * (zd - phi) * rinv) * rinv
            e = s * phi
            fxi = fxi + dx * fpair
            fyi = fyi + dy * fpair
            fzi = fzi + dz * fpair
            f[3 * j] -= dx * fpair
            f[3 * j + 1] -= dy * fpair
            f[3 * j + 2] -= dz * fpair
            vv[0] = dx * dx * fpair
            vv[1] = dy * dy * fpair
            vv[2] = dz * dz * fpair
            vv[3] = dx * dy * fpair
            vv[4] = dx * dz * fpair
            vv[5] = dy * dz * fpair
            glob[0] += e
            for m in range(6):
                glob[1 + m] += vv[m]
            if eatom != NULL:
                eatom[i] += 0.5 * e
                eatom[j] += 0.5 * e
            if vatom != NULL:
                for m in range(6):
                    vatom[6 * i + m] += 0.5 * vv[m]
                    vatom[6 * j + m] += 0.5 * vv[m]
        f[3 * i] += fxi
        f[3 * i + 1] += fyi
        f[3 * i + 2] += fzi


cdef inline void force_dispatch(const EamTab* T, const double* x, const int32_t* typ,
                                const double* w, int nlocal, int nall, const int32_t* cstart,
                                const int32_t* cj, const double* cr, const double* fp,
                                double* f, double* eatom, double* vatom, int eflag, int vflag,
                                double* glob) noexcept nogil:
    """Zero f[0:nall] and glob, then the pair part of the EAM forces (cutoff list)."""
    cdef int k
    memset(f, 0, 3 * nall * sizeof(double))
    for k in range(7):
        glob[k] = 0.0
    if T.ntypes == 1 and w == NULL and eatom == NULL and vatom == NULL:
        force_pass_1(T, x, nlocal, cstart, cj, cr, fp, f, eflag, vflag, glob)
    else:
        force_pass_general(T, x, typ, w, 0, nlocal, cstart, cj, cr, fp, f, eatom, vatom, glob)


cdef inline void ghost_copy(double* a, int nlocal, int nghost, const int32_t* src) noexcept nogil:
    """a[nlocal+g] = a[src[g]] in ghost order (single rank: periodic images)."""
    cdef int g
    for g in range(nghost):
        a[nlocal + g] = a[src[g]]


cdef EamTab make_tab(const double[:, :, :, ::1] rz, const double[:, :, ::1] ftab,
                     double inv_dr, double inv_drho, double cutsq):
    cdef EamTab T
    T.ntypes = rz.shape[0]
    T.nr = rz.shape[2]
    T.nrho = ftab.shape[1]
    T.inv_dr = inv_dr
    T.inv_drho = inv_drho
    T.cutsq = cutsq
    T.rz = &rz[0, 0, 0, 0]
    T.ft = &ftab[0, 0, 0]
    if rz.shape[1] != T.ntypes or rz.shape[3] != 8 or ftab.shape[0] != T.ntypes or ftab.shape[2] != 4:
        raise ValueError("EAM tables: expected rz [nt, nt, nr, 8] and ftab [nt, nrho, 4]")
    return T


# ---------------------------------------------------------------- passes (several ranks)
def density(const double[:, ::1] x, const int32_t[::1] typ, int nlocal, int nall,
            const int32_t[::1] nstart, const int32_t[::1] nlist,
            const double[:, :, :, ::1] rz, const double[:, :, ::1] ftab, double inv_dr,
            double inv_drho, double cutsq, double[::1] rho, int32_t[::1] cstart,
            int32_t[::1] cj, double[::1] cr):
    """rho[0:nall] = half-list density sums; reverse-sum the ghost entries afterwards.
    Fills the cutoff list (cstart [nlocal+1], cj, cr [>= nstart[nlocal]]) for ``forces``."""
    cdef EamTab T = make_tab(rz, ftab, inv_dr, inv_drho, cutsq)
    if cstart.shape[0] < nlocal + 1 or cj.shape[0] < nstart[nlocal] or cr.shape[0] < nstart[nlocal]:
        raise ValueError("cutoff-list buffers too small")
    cstart[0] = 0
    if nall == 0 or nlocal == 0:
        return
    with nogil:
        rho_pass(&T, &x[0, 0], &typ[0], nlocal, nall, &nstart[0],
                 &nlist[0] if nlist.shape[0] > 0 else NULL, &rho[0], &cstart[0],
                 &cj[0] if cj.shape[0] > 0 else NULL, &cr[0] if cr.shape[0] > 0 else NULL)


def embed(const double[::1] rho, const int32_t[::1] typ, weight, int nlocal,
          const double[:, :, :, ::1] rz, const double[:, :, ::1] ftab, double inv_drho,
          double[::1] fp, eatom=None):
    """fp[i] = w_i F'(rho_i) on owned atoms; adds w_i F(rho_i) to eatom; returns the sum."""
    cdef EamTab T = make_tab(rz, ftab, 1.0, inv_drho, 0.0)
    cdef const double[::1] wv
    cdef double[::1] ev
    cdef const double* wp = NULL
    cdef double* ep = NULL
    cdef double tot
    if nlocal == 0:
        return 0.0
    if weight is not None:
        wv = weight
        wp = &wv[0]
    if eatom is not None:
        ev = eatom
        ep = &ev[0]
    with nogil:
        tot = embed_pass(&T, &rho[0], &typ[0], wp, nlocal, &fp[0], ep)
    return tot


def forces(const double[:, ::1] x, const int32_t[::1] typ, weight, int nlocal, int nall,
           const int32_t[::1] cstart, const int32_t[::1] cj, const double[::1] cr,
           const double[::1] fp, const double[:, :, :, ::1] rz, const double[:, :, ::1] ftab,
           double inv_dr, double[:, ::1] f, eatom=None, vatom=None, bint eflag=True,
           bint vflag=True):
    """Pair part of the EAM forces on [0, nall) (f zeroed first; fp valid on ghosts), over
    the cutoff list that ``density`` wrote for these positions. Adds pair-energy halves to
    eatom [nall] / virial halves to vatom [nall, 6] (zeroed by the caller). Returns
    ``(pair energy, virial[6])`` of the pairs this rank computed."""
    cdef EamTab T = make_tab(rz, ftab, inv_dr, 1.0, 0.0)
    cdef double glob[7]
    cdef const double[::1] wv
    cdef double[::1] ev
    cdef double[:, ::1] vv
    cdef const double* wp = NULL
    cdef double* ep = NULL
    cdef double* vp = NULL
    if nall == 0:
        return 0.0, np.zeros(6)
    if weight is not None:
        wv = weight
        wp = &wv[0]
    if eatom is not None:
        ev = eatom
        ep = &ev[0]
    if vatom is not None:
        vv = vatom
        vp = &vv[0, 0]
    with nogil:
        force_dispatch(&T, &x[0, 0], &typ[0], wp, nlocal, nall, &cstart[0],
                       &cj[0] if cj.shape[0] > 0 else NULL, &cr[0] if cr.shape[0] > 0 else NULL,
                       &fp[0], &f[0, 0], ep, vp, eflag, vflag, glob)
    return glob[0], np.array([glob[1], glob[2], glob[3], glob[4], glob[5], glob[6]])


# ---------------------------------------------------------------- the overlapped coupled step
def split_cutoff(int nlocal, const int32_t[::1] cstart, const int32_t[::1] cj,
                 const double[::1] cr, const uint8_t[::1] flag, int32_t[::1] start_a,
                 int32_t[::1] cj_a, double[::1] cr_a, int32_t[::1] start_b, int32_t[::1] cj_b,
                 double[::1] cr_b):
    """Partition the cutoff list that ``density`` wrote (CSR over atoms [0, nlocal)) in two:
    pairs with a flagged atom (flag[i] or flag[j], flag over owned + ghost atoms) → A, the
    rest → B; each atom's pairs keep their order (so a flagged atom's force from pass A is
    the one-pass force bit for bit). start_a/start_b: [nlocal + 1]; the A and B lists: at
    least cstart[nlocal] entries. Returns (pairs in A, pairs in B)."""
    cdef int i, jj, j, na = 0, nb = 0
    if start_a.shape[0] < nlocal + 1 or start_b.shape[0] < nlocal + 1:
        raise ValueError("split_cutoff: start arrays need nlocal + 1 entries")
    if nlocal > 0:
        if cj.shape[0] < cstart[nlocal] or cr.shape[0] < cstart[nlocal]:
            raise ValueError("split_cutoff: the cutoff list is shorter than cstart says")
        if min(cj_a.shape[0], cr_a.shape[0], cj_b.shape[0], cr_b.shape[0]) < cstart[nlocal]:
            raise ValueError("split_cutoff: A/B lists shorter than the cutoff list")
    with nogil:
        for i in range(nlocal):
            start_a[i] = na
            start_b[i] = nb
            for jj in range(cstart[i], cstart[i + 1]):
                j = cj[jj]
                if flag[i] or flag[j]:
                    cj_a[na] = j
                    cr_a[na] = cr[jj]
                    na += 1
                else:
                    cj_b[nb] = j
                    cr_b[nb] = cr[jj]
                    nb += 1
        start_a[nlocal] = na
        start_b[nlocal] = nb
    return na, nb


def force_range(const double[:, ::1] x, const int32_t[::1] typ, weight, int i0, int i1,
                const int32_t[::1] cstart, const int32_t[::1] cj, const double[::1] cr,
                const double[::1] fp, const double[:, :, :, ::1] rz,
                const double[:, :, ::1] ftab, double inv_dr, double[:, ::1] f):
    """Add the pair part of the EAM forces of the pairs listed for atoms [i0, i1) to f
    (forces only, no zeroing; fp valid on ghosts; ``weight`` [>= nall] or None). The
    arithmetic of ``forces``' weighted/multi-element loop (the one a coupled patch takes):
    one call over [0, nlocal) on the whole cutoff list adds the same bits."""
    cdef EamTab T = make_tab(rz, ftab, inv_dr, 1.0, 0.0)
    cdef double glob[7]
    cdef int k
    cdef const double[::1] wv
    cdef const double* wp = NULL
    for k in range(7):
        glob[k] = 0.0  # the pass sums energy and virial here; forces only are wanted
    if weight is not None:
        wv = weight
        wp = &wv[0]
    if i1 <= i0:
        return
    if i0 < 0 or cstart.shape[0] < i1 + 1:
        raise ValueError("force_range: atoms outside the cutoff list's start array")
    with nogil:
        force_pass_general(&T, &x[0, 0], &typ[0], wp, i0, i1, &cstart[0],
                           &cj[0] if cj.shape[0] > 0 else NULL,
                           &cr[0] if cr.shape[0] > 0 else NULL, &fp[0], &f[0, 0], NULL, NULL,
                           glob)


# ---------------------------------------------------------------- fused run (one rank)
def run_fused(int nsteps, int nlocal, int nghost,
              double[:, ::1] x, double[:, ::1] v, double[:, ::1] f,
              const double[::1] mass, const uint8_t[::1] fixed, const double[:, ::1] fext,
              const int64_t[::1] ids, const int32_t[::1] typ, weight,
              const double[:, ::1] xhold, const int32_t[::1] nstart, const int32_t[::1] nlist,
              const int32_t[::1] gsrc, const double[:, ::1] gshift,
              const double[:, :, :, ::1] rz, const double[:, :, ::1] ftab, double inv_dr,
              double inv_drho, double cutsq, double[::1] rho, double[::1] fp,
              double dt, double ftm2v, double mvv2e,
              int every, bint check, int ago, double triggersq,
              int thermostat, double kT, const double[::1] gamma, long step0,
              unsigned long seed, double[::1] nhc_state, int nhc_m, double tau, double dof,
              int rescale_every, eatom=None, vatom=None):
    """Up to nsteps EAM velocity-Verlet steps on one rank with no Python per step.

    The step order, thermostats, neighbour schedule and return value are those of
    ``integrate.run_fused`` (see there): returns (steps_completed, needs_rebuild, ago,
    energy, virial[6], heat) with energy/virial (embedding + pair) of the last force
    evaluation. rho, fp: scratch [>= nall] (left holding the last evaluation's densities
    and embedding derivatives, ghosts included). Tables: see the module docstring.
    """
    cdef EamTab T = make_tab(rz, ftab, inv_dr, inv_drho, cutsq)
    cdef int s, k, rebuild = 0, last
    cdef double dtf = 0.5 * dt * ftm2v, ke2, sc, heat = 0.0, e_embed = 0.0
    cdef double kT_mvv = kT / mvv2e
    cdef double glob[7]
    cdef const double[::1] wv
    cdef double[::1] ev
    cdef double[:, ::1] vv
    cdef const double* wp = NULL
    cdef double* ep = NULL
    cdef double* vp = NULL
    cdef double* xp = &x[0, 0]
    cdef double* vlp = &v[0, 0]
    cdef double* fpf = &f[0, 0]
    cdef double* rhop = &rho[0]
    cdef double* fpp = &fp[0]
    cdef const double* mp = &mass[0]
    cdef const uint8_t* fix = &fixed[0]
    cdef const int32_t* gs = &gsrc[0] if nghost > 0 else NULL
    cdef const double* gsh = &gshift[0, 0] if nghost > 0 else NULL
    cdef const int32_t* nl = &nlist[0] if nlist.shape[0] > 0 else NULL
    cdef int nall = nlocal + nghost
    cdef long npairs = nstart[nlocal]
    cdef int32_t* cstart
    cdef int32_t* cj
    cdef double* cr
    if rho.shape[0] < nall or fp.shape[0] < nall:
        raise ValueError("rho and fp must hold nlocal + nghost values")
    if weight is not None:
        wv = weight
        wp = &wv[0]
    if eatom is not None:
        ev = eatom
        ep = &ev[0]
    if vatom is not None:
        vv = vatom
        vp = &vv[0, 0]
    for k in range(7):
        glob[k] = 0.0
    if nlocal == 0 or nsteps <= 0:
        return 0, False, ago, 0.0, np.zeros(6), 0.0
    cstart = <int32_t*>malloc((nlocal + 1) * sizeof(int32_t))
    cj = <int32_t*>malloc((npairs + 1) * sizeof(int32_t))
    cr = <double*>malloc((npairs + 1) * sizeof(double))
    if cstart == NULL or cj == NULL or cr == NULL:
        free(cstart)
        free(cj)
        free(cr)
        raise MemoryError("EAM cutoff list")
    with nogil:
        s = 0
        while s < nsteps:
            if thermostat == 2:
                ke2 = kinetic2(vlp, mp, fix, nlocal) * mvv2e
                sc = nhc_half(&nhc_state[0], nhc_m, ke2, dof, kT, tau, dt)
                scale_v(vlp, fix, nlocal, sc)
            vv_kick(vlp, fpf, mp, fix, nlocal, dtf)
            if thermostat == 1:
                vv_drift(xp, vlp, fix, nlocal, 0.5 * dt)
                heat += langevin_o(vlp, mp, fix, &gamma[0], &ids[0], nlocal, dt, kT_mvv,
                                   <uint64_t>(step0 + s + 1), <uint64_t>seed)
                vv_drift(xp, vlp, fix, nlocal, 0.5 * dt)
            else:
                vv_drift(xp, vlp, fix, nlocal, dt)
            ago += 1
            if ago >= every:
                if not check or max_disp_sq(xp, &xhold[0, 0], nlocal) > triggersq:
                    rebuild = 1
                    break
            if nghost > 0:
                ghost_forward(xp, nlocal, nghost, gs, gsh)
            last = s == nsteps - 1
            # density -> reverse rho -> embedding -> forward fp -> forces -> reverse f
            rho_pass(&T, xp, &typ[0], nlocal, nall, &nstart[0], nl, rhop, cstart, cj, cr)
            if nghost > 0:
                ghost_reverse(rhop, 1, nlocal, nghost, gs)
            if last and ep != NULL:
                memset(ep, 0, nall * sizeof(double))
                memset(vp, 0, 6 * nall * sizeof(double))
            e_embed = embed_pass(&T, rhop, &typ[0], wp, nlocal, fpp, ep if last else NULL)
            if nghost > 0:
                ghost_copy(fpp, nlocal, nghost, gs)
            force_dispatch(&T, xp, &typ[0], wp, nlocal, nall, cstart, cj, cr, fpp, fpf,
                           ep if last else NULL, vp if last else NULL, last, last, glob)
            if nghost > 0:
                ghost_reverse(fpf, 3, nlocal, nghost, gs)
                if last and ep != NULL:
                    ghost_reverse(ep, 1, nlocal, nghost, gs)
                if last and vp != NULL:
                    ghost_reverse(vp, 6, nlocal, nghost, gs)
            add_external(fpf, &fext[0, 0], nlocal)
            vv_kick(vlp, fpf, mp, fix, nlocal, dtf)
            if thermostat == 2:
                ke2 = kinetic2(vlp, mp, fix, nlocal) * mvv2e
                sc = nhc_half(&nhc_state[0], nhc_m, ke2, dof, kT, tau, dt)
                scale_v(vlp, fix, nlocal, sc)
            elif thermostat == 3 and rescale_every > 0 and (step0 + s + 1) % rescale_every == 0:
                ke2 = kinetic2(vlp, mp, fix, nlocal) * mvv2e
                if ke2 > 0.0:
                    scale_v(vlp, fix, nlocal, sqrt(dof * kT / ke2))
            s += 1
    free(cstart)
    free(cj)
    free(cr)
    return s, bool(rebuild), ago, glob[0] + e_embed, np.array([glob[1], glob[2], glob[3],
                                                               glob[4], glob[5], glob[6]]), heat
