"""Velocity-Verlet pieces, thermostats and the fused single-rank run loop (pure kernels).

Step order (the same in ``run_fused`` and in the Python step of mscouple.atomistic):

    [NHC half-step]  v <- s v                                (thermostat 2)
    B  v += dt/2 F/m
    A  x += dt v           or  A/2, O (Langevin, BAOAB), A/2  (thermostat 1)
    neighbour check -> rebuild (returns to the caller) or ghost update
    F = pair forces + reverse ghost sum + external force
    B  v += dt/2 F/m
    [NHC half-step] / [velocity rescale every k steps]       (thermostats 2 / 3)

BAOAB: Leimkuhler & Matthews, Appl. Math. Res. Express 2013, 34. The Langevin noise of atom
``id`` at step ``s`` is a pure function of (seed, id, s), so it does not depend on which
rank owns the atom.
"""
import numpy as np
cimport numpy as cnp

cnp.import_array()

include "md_core.pxi"


def kick(double[:, ::1] v, const double[:, ::1] f, const double[::1] mass,
         const uint8_t[::1] fixed, int n, double dtf):
    """v += dtf f / m on mobile atoms [0, n); dtf = (dt/2) * ftm2v."""
    if n == 0:
        return
    with nogil:
        vv_kick(&v[0, 0], &f[0, 0], &mass[0], &fixed[0], n, dtf)


def drift(double[:, ::1] x, const double[:, ::1] v, const uint8_t[::1] fixed, int n, double dt):
    """x += dt v on mobile atoms [0, n)."""
    if n == 0:
        return
    with nogil:
        vv_drift(&x[0, 0], &v[0, 0], &fixed[0], n, dt)


def drift_displacement(double[:, ::1] x, const double[:, ::1] v, const uint8_t[::1] fixed,
                       int n, double dt, const double[:, ::1] xhold):
    """x += dt v on mobile atoms [0, n) (the arithmetic of ``drift``) and, in the same pass,
    max_i |x_i - xhold_i|^2 over [0, n) of the new positions (``max_displacement_sq``): the
    neighbour-list check of the step without a second sweep over the positions."""
    cdef int i
    cdef double r, m = 0.0
    if n == 0:
        return 0.0
    if xhold.shape[0] < n or x.shape[1] != 3 or v.shape[1] != 3 or xhold.shape[1] != 3:
        raise ValueError("drift_displacement: x, v and xhold need [n, 3]")
    with nogil:
        for i in range(n):
            r = drift_disp_sq(&x[0, 0], &v[0, 0], &xhold[0, 0], i, dt, not fixed[i])
            if r > m:
                m = r
    return m


def langevin(double[:, ::1] v, const double[::1] mass, const uint8_t[::1] fixed,
             const double[::1] gamma, const int64_t[::1] ids, int n, double dt, double kT_mvv,
             long step, unsigned long seed):
    """Ornstein-Uhlenbeck part of BAOAB over dt; returns the change of sum m v^2."""
    if n == 0:
        return 0.0
    cdef double dk
    with nogil:
        dk = langevin_o(&v[0, 0], &mass[0], &fixed[0], &gamma[0], &ids[0], n, dt, kT_mvv,
                        <uint64_t>step, <uint64_t>seed)
    return dk


def gaussians(const int64_t[::1] ids, long step, unsigned long seed):
    """[n, 3] standard normals of the counter-based stream (for tests)."""
    cdef int i, n = ids.shape[0]
    out = np.empty((n, 3))
    cdef double[:, ::1] o = out
    for i in range(n):
        gauss3(<uint64_t>seed, <uint64_t>ids[i], <uint64_t>step, &o[i, 0])
    return out


def mv2(const double[:, ::1] v, const double[::1] mass, const uint8_t[::1] fixed, int n):
    """sum over mobile atoms of m v^2 (mass * velocity^2 units)."""
    if n == 0:
        return 0.0
    return kinetic2(&v[0, 0], &mass[0], &fixed[0], n)


def scale_velocities(double[:, ::1] v, const uint8_t[::1] fixed, int n, double s):
    if n == 0:
        return
    scale_v(&v[0, 0], &fixed[0], n, s)


def nhc_half_step(double[::1] state, int m, double ke2, double dof, double kT, double tau,
                  double dt):
    """Advance the chain state (length 3m+1) by dt/2; returns the velocity scale factor."""
    return nhc_half(&state[0], m, ke2, dof, kT, tau, dt)


def run_fused(int nsteps, int nlocal, int nghost,
              double[:, ::1] x, double[:, ::1] v, double[:, ::1] f,
              const double[::1] mass, const uint8_t[::1] fixed, const double[:, ::1] fext,
              const int64_t[::1] ids, const int32_t[::1] typ, weight,
              const double[:, ::1] xhold, const int32_t[::1] nstart, const int32_t[::1] nlist,
              const int32_t[::1] gsrc, const double[:, ::1] gshift,
              int style, const double[::1] coef, int ntypes,
              double dt, double ftm2v, double mvv2e,
              int every, bint check, int ago, double triggersq,
              int thermostat, double kT, const double[::1] gamma, long step0,
              unsigned long seed, double[::1] nhc_state, int nhc_m, double tau, double dof,
              int rescale_every, eatom=None, vatom=None):
    """Run up to nsteps velocity-Verlet steps on one rank, forces fused, no Python per step.

    On entry f must hold the forces of the current positions. thermostat: 0 NVE,
    1 Langevin (BAOAB; gamma[n] per atom, kT = k_B T), 2 Nose-Hoover chain, 3 velocity
    rescale every ``rescale_every`` steps. Ghosts are periodic images given by the map
    (gsrc, gshift). Neighbour lists are rebuilt by the caller: when the schedule (``every``,
    ``check`` against ``triggersq`` = (skin/2)^2 on displacements from xhold) asks for one,
    the loop returns after that step's drift.

    Returns (steps_completed, needs_rebuild, ago, energy, virial[6], heat) where the
    energy/virial come from the last force evaluation (with per-atom eatom[nall] /
    vatom[nall, 6] filled when given) and heat is the Langevin change of sum m v^2 (mass *
    velocity^2 units) summed over the steps.
    """
    cdef int s, k, has_smooth = 0, rebuild = 0, last
    cdef double dtf = 0.5 * dt * ftm2v, ke2, sc, heat = 0.0
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
    cdef double* fp = &f[0, 0]
    cdef const double* mp = &mass[0]
    cdef const uint8_t* fix = &fixed[0]
    cdef const int32_t* gs = &gsrc[0] if nghost > 0 else NULL
    cdef const double* gsh = &gshift[0, 0] if nghost > 0 else NULL
    cdef const int32_t* nl = &nlist[0] if nlist.shape[0] > 0 else NULL
    cdef int nall = nlocal + nghost
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
    for k in range(7):
        glob[k] = 0.0
    if nlocal == 0 or nsteps <= 0:
        return 0, False, ago, 0.0, np.zeros(6), 0.0
    with nogil:
        s = 0
        while s < nsteps:
            if thermostat == 2:
                ke2 = kinetic2(vlp, mp, fix, nlocal) * mvv2e
                sc = nhc_half(&nhc_state[0], nhc_m, ke2, dof, kT, tau, dt)
                scale_v(vlp, fix, nlocal, sc)
            vv_kick(vlp, fp, mp, fix, nlocal, dtf)
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
            pair_dispatch(style, &coef[0], ntypes, xp, &typ[0], wp, nlocal, nall,
                          &nstart[0], nl, has_smooth, fp,
                          ep if last else NULL, vp if last else NULL, last, last, glob)
            if nghost > 0:
                ghost_reverse(fp, 3, nlocal, nghost, gs)
                if last and ep != NULL:
                    ghost_reverse(ep, 1, nlocal, nghost, gs)
                if last and vp != NULL:
                    ghost_reverse(vp, 6, nlocal, nghost, gs)
            add_external(fp, &fext[0, 0], nlocal)
            vv_kick(vlp, fp, mp, fix, nlocal, dtf)
            if thermostat == 2:
                ke2 = kinetic2(vlp, mp, fix, nlocal) * mvv2e
                sc = nhc_half(&nhc_state[0], nhc_m, ke2, dof, kT, tau, dt)
                scale_v(vlp, fix, nlocal, sc)
            elif thermostat == 3 and rescale_every > 0 and (step0 + s + 1) % rescale_every == 0:
                ke2 = kinetic2(vlp, mp, fix, nlocal) * mvv2e
                if ke2 > 0.0:
                    scale_v(vlp, fix, nlocal, sqrt(dof * kT / ke2))
            s += 1
    return s, bool(rebuild), ago, glob[0], np.array([glob[1], glob[2], glob[3], glob[4],
                                                     glob[5], glob[6]]), heat


# ---------------------------------------------------------------- the overlapped coupled step
def split_pairs(int nlocal, const int32_t[::1] nstart, const int32_t[::1] nlist,
                const uint8_t[::1] flag, int32_t[::1] start_a, int32_t[::1] list_a,
                int32_t[::1] start_b, int32_t[::1] list_b):
    """Partition a half neighbour list (CSR over atoms [0, nlocal)) in two: pairs with a
    flagged atom (flag[i] or flag[j], flag over owned + ghost atoms) → A, the rest → B; each
    atom's neighbours keep their order. start_a/start_b: [nlocal + 1]; list_a/list_b: at
    least nstart[nlocal] entries. Returns (pairs in A, pairs in B)."""
    cdef int i, jj, j, na = 0, nb = 0
    if start_a.shape[0] < nlocal + 1 or start_b.shape[0] < nlocal + 1:
        raise ValueError("split_pairs: start arrays need nlocal + 1 entries")
    if nlocal > 0 and (list_a.shape[0] < nstart[nlocal] or list_b.shape[0] < nstart[nlocal]):
        raise ValueError("split_pairs: list arrays shorter than the neighbour list")
    with nogil:
        for i in range(nlocal):
            start_a[i] = na
            start_b[i] = nb
            for jj in range(nstart[i], nstart[i + 1]):
                j = nlist[jj]
                if flag[i] or flag[j]:
                    list_a[na] = j
                    na += 1
                else:
                    list_b[nb] = j
                    nb += 1
        start_a[nlocal] = na
        start_b[nlocal] = nb
    return na, nb


def lj_pass(const double[::1] coef, const double[:, ::1] x, weight, int i0, int i1,
            const int32_t[::1] nstart, const int32_t[::1] nlist, double[:, ::1] f,
            bint half_weights=False):
    """Add the single-type LJ pair forces of the pairs listed for atoms [i0, i1) to f
    (forces only, no zeroing; ``weight`` [>= nall] or None: pairs scaled by (w_i + w_j)/2).
    ``half_weights``: ``weight`` holds w/2, each pair is scaled by w_i/2 + w_j/2 — one
    multiplication less per pair and the same bits (halving is exact in binary floating
    point, so w_i/2 + w_j/2 rounds to exactly half the rounded w_i + w_j)."""
    cdef const double[::1] wv
    cdef const double* wp = NULL
    if weight is not None:
        wv = weight
        wp = &wv[0]
    if i1 <= i0:
        return
    with nogil:
        lj_1type_pass(&coef[0], &x[0, 0], wp, i0, i1, &nstart[0],
                      &nlist[0] if nlist.shape[0] > 0 else NULL, &f[0, 0], half_weights)


cdef inline void force_kick_one(double* v, double* f, const double* fx, const double* mass,
                                const uint8_t* fixed, Py_ssize_t i, double dtf,
                                int times) noexcept nogil:
    """Atom i: f += fext (``fx`` NULL: none), then ``times`` kicks v += dtf f / m if mobile
    (each the arithmetic of ``kick``): the per-atom step of the overlapped step's kicks."""
    cdef int t
    cdef double a, ax, ay, az
    if fx != NULL:
        f[3 * i] += fx[3 * i]
        f[3 * i + 1] += fx[3 * i + 1]
        f[3 * i + 2] += fx[3 * i + 2]
    if fixed[i]:
        return
    a = dtf / mass[i]
    # each kick adds the same a f (the product computed once: the same bits as ``kick``
    # called ``times`` times, which recomputes it)
    ax = a * f[3 * i]
    ay = a * f[3 * i + 1]
    az = a * f[3 * i + 2]
    if times == 2:  # the merged step's two half kicks, unrolled
        v[3 * i] = (v[3 * i] + ax) + ax
        v[3 * i + 1] = (v[3 * i + 1] + ay) + ay
        v[3 * i + 2] = (v[3 * i + 2] + az) + az
        return
    for t in range(times):
        v[3 * i] += ax
        v[3 * i + 1] += ay
        v[3 * i + 2] += az


cdef inline double reset_drift_disp_sq(double* f, double* x, const double* v,
                                      const double* xhold, Py_ssize_t i, double dt,
                                      bint mobile) noexcept nogil:
    """Atom i at the end of a fused pass: f = 0 (the next force pass adds into it), then
    ``drift_disp_sq`` (the drift if ``mobile`` and the squared displacement from xhold)."""
    f[3 * i] = 0.0
    f[3 * i + 1] = 0.0
    f[3 * i + 2] = 0.0
    return drift_disp_sq(x, v, xhold, i, dt, mobile)


def force_kick_select(double[:, ::1] v, double[:, ::1] f, fext,
                      const double[::1] mass, const uint8_t[::1] fixed, const uint8_t[::1] flag,
                      int want, int n, double dtf, int times):
    """On the atoms of [0, n) whose flag equals ``want``: f += fext (the external force, as
    the force evaluation adds it; ``fext`` None: none, the caller knows it is zero), then
    ``times`` kicks v += dtf f / m on the mobile ones (each the arithmetic of ``kick``)."""
    cdef int i
    cdef const double[:, ::1] fe
    cdef const double* fx = NULL
    if n == 0:
        return
    if fext is not None:
        fe = fext
        if fe.shape[0] < n or fe.shape[1] != 3:
            raise ValueError("force_kick_select: fext needs [n, 3]")
        fx = &fe[0, 0]
    if v.shape[1] != 3 or f.shape[1] != 3:
        raise ValueError("force_kick_select: v and f need 3 columns")
    with nogil:
        for i in range(n):
            if (flag[i] != 0) != (want != 0):
                continue
            force_kick_one(&v[0, 0], &f[0, 0], fx, &mass[0], &fixed[0], i, dtf, times)


def kick_drift_select(double[:, ::1] v, double[:, ::1] f, fext, const double[::1] mass,
                      const uint8_t[::1] fixed, const uint8_t[::1] flag, int want, int n,
                      double dtf, int times, double[:, ::1] x, double dt,
                      const double[:, ::1] xhold):
    """The end of one velocity-Verlet step and the drift of the next, in one pass over the
    atoms of [0, n) whose flag equals ``want``: ``force_kick_select`` (f += fext, ``fext``
    None: none; ``times`` kicks on the mobile ones), then x += dt v on the mobile ones
    (``drift``), f = 0 (the next force pass adds into it), and the max |x - xhold|^2 over
    these atoms is returned (``max_displacement_sq``). Per atom the arithmetic of the
    separate calls, so the same bits."""
    cdef int i
    cdef double r, m = 0.0
    cdef const double[:, ::1] fe
    cdef const double* fx = NULL
    if n == 0:
        return 0.0
    if (x.shape[0] < n or xhold.shape[0] < n or f.shape[0] < n or v.shape[0] < n
            or x.shape[1] != 3 or xhold.shape[1] != 3 or f.shape[1] != 3 or v.shape[1] != 3):
        raise ValueError("kick_drift_select: x, xhold, f and v need [n, 3]")
    if fext is not None:
        fe = fext
        if fe.shape[0] < n or fe.shape[1] != 3:
            raise ValueError("kick_drift_select: fext needs [n, 3]")
        fx = &fe[0, 0]
    with nogil:
        for i in range(n):
            if (flag[i] != 0) != (want != 0):
                continue
            force_kick_one(&v[0, 0], &f[0, 0], fx, &mass[0], &fixed[0], i, dtf, times)
            r = reset_drift_disp_sq(&f[0, 0], &x[0, 0], &v[0, 0], &xhold[0, 0], i, dt,
                                    not fixed[i])
            if r > m:
                m = r
    return m


def band_add_drift(double[:, ::1] v, const double[:, ::1] corr, const int64_t[::1] band,
                   double[:, ::1] x, const uint8_t[::1] fixed, double dt,
                   const double[:, ::1] xhold, double[:, ::1] f):
    """The band atoms' constraint corrections and the next step's drift in one pass: for
    each row r, i = band[r]: v[i, :k] += corr[r, :k] (k = corr.shape[1]; the arithmetic of
    ``bandproj.rows_add``), x[i] += dt v[i] if mobile (``drift``), f[i] = 0; returns the
    max |x_i - xhold_i|^2 over the band. ``band`` lists distinct atoms."""
    cdef Py_ssize_t r, i, c, nb = band.shape[0], k = corr.shape[1]
    cdef double d, m = 0.0
    if corr.shape[0] < nb or k > v.shape[1]:
        raise ValueError("band_add_drift: corr needs a row per band atom and at most v's columns")
    if x.shape[1] != 3 or v.shape[1] != 3 or xhold.shape[1] != 3 or f.shape[1] != 3:
        raise ValueError("band_add_drift: x, v, xhold and f need 3 columns")
    if nb == 0:
        return 0.0
    with nogil:
        for r in range(nb):
            i = band[r]
            for c in range(k):
                v[i, c] += corr[r, c]
            d = reset_drift_disp_sq(&f[0, 0], &x[0, 0], &v[0, 0], &xhold[0, 0], i, dt,
                                    not fixed[i])
            if d > m:
                m = d
    return m


def kick_select(double[:, ::1] v, const double[:, ::1] f, const double[::1] mass,
                const uint8_t[::1] fixed, const uint8_t[::1] flag, int want, int n, double dtf):
    """v += dtf f / m on the mobile atoms of [0, n) whose flag equals ``want`` (the
    arithmetic of ``kick``; the forces already hold the external force)."""
    cdef int i
    cdef double a
    if n == 0:
        return
    with nogil:
        for i in range(n):
            if (flag[i] != 0) != (want != 0) or fixed[i]:
                continue
            a = dtf / mass[i]
            v[i, 0] += a * f[i, 0]
            v[i, 1] += a * f[i, 1]
            v[i, 2] += a * f[i, 2]


def band_kick_gather(double[:, ::1] v, double[:, ::1] f, fext,
                     const double[::1] mass, const uint8_t[::1] fixed, const int64_t[::1] band,
                     double dtf, int times, double[:, ::1] out):
    """The band atoms' half of ``force_kick_select`` and the gather of their velocities in one
    pass over the band: for each row r, i = band[r]: f[i] += fext[i] (``fext`` None: none),
    ``times`` kicks v[i] += dtf f[i] / m[i] if mobile (the same arithmetic), then
    out[r, :k] = v[i, :k] with k = out.shape[1] (the rows the continuum's projection needs).
    ``band`` must list every atom ``force_kick_select(..., want=1)`` would kick (a one-rank
    patch: its band atoms)."""
    cdef Py_ssize_t r, i, c, n = band.shape[0], k = out.shape[1]
    cdef const double[:, ::1] fe
    cdef const double* fx = NULL
    cdef Py_ssize_t nfe = 0
    if out.shape[0] < n or k > v.shape[1] or v.shape[1] != 3 or f.shape[1] != 3:
        raise ValueError("band_kick_gather: out needs a row per band atom and at most v's "
                         "columns; v and f need 3")
    if fext is not None:
        fe = fext
        if fe.shape[1] != 3:
            raise ValueError("band_kick_gather: fext needs 3 columns")
        nfe = fe.shape[0]
        for r in range(n):
            if band[r] >= nfe:
                raise ValueError("band_kick_gather: fext needs a row per band atom")
        fx = &fe[0, 0]
    with nogil:
        for r in range(n):
            i = band[r]
            force_kick_one(&v[0, 0], &f[0, 0], fx, &mass[0], &fixed[0], i, dtf, times)
            for c in range(k):
                out[r, c] = v[i, c]
