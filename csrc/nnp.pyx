"""Behler–Parrinello neural-network potential: symmetry functions, per-element networks and
analytic forces (Behler & Parrinello, PRL 98, 146401 (2007); Behler, J. Chem. Phys. 134,
074106 (2011), eqs. 4–9).

E = sum_i w_i [e0_ti + N_ti(Gn_i)],  Gn_i = (G_i - shift) / scale,  w_i energy weights (1).

Symmetry functions of atom i (r_ij = |x_j - x_i| < rc, fc(r) = (cos(pi r / rc) + 1) / 2):

    kind 2:  G = sum_j              exp(-eta (r_ij - rs)^2) fc(r_ij)
    kind 4:  G = 2^(1-zeta) sum_j<k (1 + lam cos t_ijk)^zeta exp(-eta (r_ij^2 + r_ik^2 + r_jk^2))
                                    fc(r_ij) fc(r_ik) fc(r_jk)
    kind 5:  G = 2^(1-zeta) sum_j<k (1 + lam cos t_ijk)^zeta exp(-eta (r_ij^2 + r_ik^2))
                                    fc(r_ij) fc(r_ik)

``sf`` rows ``[kind, eta, rs, lam, zeta, e1, e2, 0]``: e1 (kind 2) the neighbour's element,
e1/e2 (kinds 4, 5) the unordered pair of neighbour elements; -1 = any. zeta >= 1.

Forces: per atom i the descriptor gradients dG_i/dr_ij (r_ij = x_j - x_i) are formed in a
scratch buffer, contracted with y_i = w_i dN/dG_i (back-propagation through the network) to
g_ij = dE/dr_ij, and scattered: f_j -= g_ij, f_i += g_ij (j may be a ghost: the caller
reverse-sums ghost forces). Virial W = -sum_ij r_ij (x) g_ij (components xx yy zz xy xz yz),
half to i and half to j per atom. Units are the caller's (metal: eV, Angstrom).

The kernels need a *full* neighbour list of the owned atoms (every atom j != i within rc,
ghosts included): :func:`full_list` builds it from owned + ghost positions by binning.
"""
import numpy as np
cimport numpy as cnp
from libc.math cimport sqrt, exp, cos, sin, pow, floor, log1p, fabs, M_PI
from libc.stdint cimport int32_t
from libc.stdlib cimport malloc, calloc, free
from libc.string cimport memset

cnp.import_array()

DEF NCOL = 8


def full_list(const double[:, ::1] x, int nlocal, int nall, double cutoff,
              int32_t[::1] fstart, int32_t[::1] flist):
    """Full neighbour list (CSR) of owned atoms [0, nlocal) against all atoms [0, nall)
    within ``cutoff``: fstart [nlocal+1], flist [capacity]. Returns the number of entries;
    if it exceeds ``len(flist)`` the list is incomplete: grow flist and call again."""
    cdef int i, j, d, c0, c1, c2, o0, o1, o2, b, k
    cdef long count = 0, cap = flist.shape[0]
    cdef double lo[3]
    cdef double hi[3]
    cdef double inv[3]
    cdef int nb[3]
    cdef int cc[3]
    cdef double dx, dy, dz, cutsq = cutoff * cutoff
    if fstart.shape[0] < nlocal + 1:
        raise ValueError("fstart must hold nlocal + 1 entries")
    if nlocal == 0:
        fstart[0] = 0
        return 0
    for d in range(3):
        lo[d] = x[0, d]
        hi[d] = x[0, d]
    for i in range(nall):
        for d in range(3):
            if x[i, d] < lo[d]:
                lo[d] = x[i, d]
            if x[i, d] > hi[d]:
                hi[d] = x[i, d]
    for d in range(3):
        nb[d] = <int>floor((hi[d] - lo[d]) / cutoff)
        if nb[d] < 1:
            nb[d] = 1
        if nb[d] > 1000:
            nb[d] = 1000
        inv[d] = nb[d] / (hi[d] - lo[d]) if hi[d] > lo[d] else 0.0
    cdef int nbins = nb[0] * nb[1] * nb[2]
    cdef int* head = <int*>malloc(nbins * sizeof(int))
    cdef int* nxt = <int*>malloc(nall * sizeof(int))
    cdef int* abin = <int*>malloc(nall * 3 * sizeof(int))
    if head == NULL or nxt == NULL or abin == NULL:
        free(head); free(nxt); free(abin)
        raise MemoryError()
    with nogil:
        for b in range(nbins):
            head[b] = -1
        for i in range(nall - 1, -1, -1):
            for d in range(3):
                cc[d] = <int>((x[i, d] - lo[d]) * inv[d])
                if cc[d] >= nb[d]:
                    cc[d] = nb[d] - 1
                if cc[d] < 0:
                    cc[d] = 0
                abin[3 * i + d] = cc[d]
            b = (cc[0] * nb[1] + cc[1]) * nb[2] + cc[2]
            nxt[i] = head[b]
            head[b] = i
        for i in range(nlocal):
            fstart[i] = count
            for o0 in range(-1, 2):
                c0 = abin[3 * i] + o0
                if c0 < 0 or c0 >= nb[0]:
                    continue
                for o1 in range(-1, 2):
                    c1 = abin[3 * i + 1] + o1
                    if c1 < 0 or c1 >= nb[1]:
                        continue
                    for o2 in range(-1, 2):
                        c2 = abin[3 * i + 2] + o2
                        if c2 < 0 or c2 >= nb[2]:
                            continue
                        j = head[(c0 * nb[1] + c1) * nb[2] + c2]
                        while j >= 0:
                            if j != i:
                                dx = x[j, 0] - x[i, 0]
                                dy = x[j, 1] - x[i, 1]
                                dz = x[j, 2] - x[i, 2]
                                if dx * dx + dy * dy + dz * dz < cutsq:
                                    if count < cap:
                                        flist[count] = j
                                    count += 1
                            j = nxt[j]
        fstart[nlocal] = count
    free(head)
    free(nxt)
    free(abin)
    return count


cdef inline bint match2(int e1, int e2, int tj, int tk) noexcept nogil:
    if e1 < 0 and e2 < 0:
        return True
    if e1 < 0:
        return tj == e2 or tk == e2
    if e2 < 0:
        return tj == e1 or tk == e1
    return (tj == e1 and tk == e2) or (tj == e2 and tk == e1)


cdef inline double ipow(double b, int n) noexcept nogil:
    """b**n for n >= 0 by repeated squaring."""
    cdef double r = 1.0
    while n > 0:
        if n & 1:
            r *= b
        b *= b
        n >>= 1
    return r


cdef int atom_descriptors(int i, const double* x, const int32_t* typ, const int32_t* fstart,
                          const int32_t* flist, int nsf, const double* sf, double rc,
                          double* G, double* dG, double* rv, double* rr, double* fc,
                          double* dfc, double* ab) noexcept nogil:
    """G [nsf] and dG [nn, nsf, 3] = dG/dr_ij (r_ij = x_j - x_i) of atom i; returns nn.
    rv [nn,3], rr, fc, dfc [nn]: scratch (vectors, lengths, cutoff function and slope);
    ab [nn, nsf, 2]: per neighbour and angular function, A = fc e^(-eta r^2) and its
    r-derivative B, so that a triplet's radial factor and slopes are products."""
    cdef int jj, kk, s, j, k, d, kind, tj, tk, iz
    cdef int nn = fstart[i + 1] - fstart[i]
    cdef const int32_t* nb = flist + fstart[i]
    cdef double r, q, eta, rs, lam, zeta, pref, gr, dgr, c, base, ang, dang, rjk, ejk
    cdef double t, dt_dc, dt_rij, dt_rik, dt_rjk, Aj, Bj, Ak, Bk, fjk, dfjk, pw
    cdef double dc_j[3]
    cdef double dc_k[3]
    cdef double vjk[3]
    cdef double* gj
    cdef double* gk
    cdef bint need_jk = False
    for s in range(nsf):
        G[s] = 0.0
        if <int>sf[NCOL * s] == 4:
            need_jk = True
    memset(dG, 0, nn * nsf * 3 * sizeof(double))
    q = M_PI / rc
    for jj in range(nn):
        j = nb[jj]
        for d in range(3):
            rv[3 * jj + d] = x[3 * j + d] - x[3 * i + d]
        r = sqrt(rv[3 * jj] * rv[3 * jj] + rv[3 * jj + 1] * rv[3 * jj + 1] + rv[3 * jj + 2] * rv[3 * jj + 2])
        rr[jj] = r
        if r < rc:
            fc[jj] = 0.5 * (cos(q * r) + 1.0)
            dfc[jj] = -0.5 * q * sin(q * r)
        else:
            fc[jj] = 0.0
            dfc[jj] = 0.0
        for s in range(nsf):
            if <int>sf[NCOL * s] == 2:
                continue
            eta = sf[NCOL * s + 1]
            gr = exp(-eta * r * r)
            ab[2 * (jj * nsf + s)] = fc[jj] * gr
            ab[2 * (jj * nsf + s) + 1] = (dfc[jj] - 2.0 * eta * r * fc[jj]) * gr
    # radial functions
    for jj in range(nn):
        if fc[jj] == 0.0:
            continue
        j = nb[jj]
        r = rr[jj]
        for s in range(nsf):
            if <int>sf[NCOL * s] != 2:
                continue
            if <int>sf[NCOL * s + 5] >= 0 and typ[j] != <int>sf[NCOL * s + 5]:
                continue
            eta = sf[NCOL * s + 1]
            rs = sf[NCOL * s + 2]
            gr = exp(-eta * (r - rs) * (r - rs))
            G[s] += gr * fc[jj]
            dgr = gr * (dfc[jj] - 2.0 * eta * (r - rs) * fc[jj]) / r
            for d in range(3):
                dG[(jj * nsf + s) * 3 + d] += dgr * rv[3 * jj + d]
    # angular functions: every unordered pair j < k of neighbours
    for jj in range(nn):
        if fc[jj] == 0.0:
            continue
        tj = typ[nb[jj]]
        for kk in range(jj + 1, nn):
            if fc[kk] == 0.0:
                continue
            tk = typ[nb[kk]]
            c = (rv[3 * jj] * rv[3 * kk] + rv[3 * jj + 1] * rv[3 * kk + 1]
                 + rv[3 * jj + 2] * rv[3 * kk + 2]) / (rr[jj] * rr[kk])
            for d in range(3):
                dc_j[d] = rv[3 * kk + d] / (rr[jj] * rr[kk]) - c * rv[3 * jj + d] / (rr[jj] * rr[jj])
                dc_k[d] = rv[3 * jj + d] / (rr[jj] * rr[kk]) - c * rv[3 * kk + d] / (rr[kk] * rr[kk])
            rjk = 0.0
            fjk = 0.0
            dfjk = 0.0
            if need_jk:
                for d in range(3):
                    vjk[d] = rv[3 * kk + d] - rv[3 * jj + d]
                rjk = sqrt(vjk[0] * vjk[0] + vjk[1] * vjk[1] + vjk[2] * vjk[2])
                if rjk < rc:
                    fjk = 0.5 * (cos(q * rjk) + 1.0)
                    dfjk = -0.5 * q * sin(q * rjk)
            for s in range(nsf):
                kind = <int>sf[NCOL * s]
                if kind == 2:
                    continue
                if not match2(<int>sf[NCOL * s + 5], <int>sf[NCOL * s + 6], tj, tk):
                    continue
                if kind == 4 and fjk == 0.0:
                    continue
                lam = sf[NCOL * s + 3]
                zeta = sf[NCOL * s + 4]
                base = 1.0 + lam * c
                if base <= 0.0:
                    continue
                pref = sf[NCOL * s + 7]  # 2^(1 - zeta), filled by the caller
                iz = <int>zeta
                if iz == zeta and iz < 64:
                    pw = ipow(base, iz - 1)
                else:
                    pw = pow(base, zeta - 1.0)
                ang = pref * pw * base
                dang = pref * zeta * lam * pw
                Aj = ab[2 * (jj * nsf + s)]
                Bj = ab[2 * (jj * nsf + s) + 1]
                Ak = ab[2 * (kk * nsf + s)]
                Bk = ab[2 * (kk * nsf + s) + 1]
                if kind == 4:
                    eta = sf[NCOL * s + 1]
                    ejk = exp(-eta * rjk * rjk)
                    t = ang * Aj * Ak * fjk * ejk
                    dt_rjk = ang * Aj * Ak * (dfjk - 2.0 * eta * rjk * fjk) * ejk
                    dt_dc = dang * Aj * Ak * fjk * ejk
                    dt_rij = ang * Bj * Ak * fjk * ejk
                    dt_rik = ang * Aj * Bk * fjk * ejk
                else:
                    t = ang * Aj * Ak
                    dt_rjk = 0.0
                    dt_dc = dang * Aj * Ak
                    dt_rij = ang * Bj * Ak
                    dt_rik = ang * Aj * Bk
                G[s] += t
                gj = dG + (jj * nsf + s) * 3
                gk = dG + (kk * nsf + s) * 3
                dt_rij /= rr[jj]
                dt_rik /= rr[kk]
                for d in range(3):
                    gj[d] += dt_dc * dc_j[d] + dt_rij * rv[3 * jj + d]
                    gk[d] += dt_dc * dc_k[d] + dt_rik * rv[3 * kk + d]
                if dt_rjk != 0.0:
                    dt_rjk /= rjk
                    for d in range(3):
                        gj[d] -= dt_rjk * vjk[d]
                        gk[d] += dt_rjk * vjk[d]
    return nn


cdef inline double act_f(int act, double a, double* deriv) noexcept nogil:
    """tanh (act 0) or softplus log(1 + e^a) (act 1); deriv = d act / da."""
    cdef double t, e
    if act == 0:
        t = 1.0 - 2.0 / (exp(2.0 * a) + 1.0)
        deriv[0] = 1.0 - t * t
        return t
    e = exp(-fabs(a))
    if a > 0:
        deriv[0] = 1.0 / (1.0 + e)
        return a + log1p(e)
    deriv[0] = e / (1.0 + e)
    return log1p(e)


cdef double network(const double* w, const int32_t* layers, int nl, int act, const double* inp,
                    double* z, double* dz, double* grad) noexcept nogil:
    """Output of the network with sizes layers[0..nl] (layers[nl] = 1) at input inp; grad
    [layers[0]] = d out / d inp. Weights per layer: W [n_in, n_out] (row-major), b [n_out].
    z, dz: scratch of sum(layers) (activations, activation slopes)."""
    cdef int l, p, q, nin, nout, off_in = 0, off_out, wo = 0
    cdef double a, out
    cdef int[16] woff
    cdef int[16] zoff
    for p in range(layers[0]):
        z[p] = inp[p]
    zoff[0] = 0
    for l in range(1, nl + 1):
        nin = layers[l - 1]
        nout = layers[l]
        woff[l] = wo
        zoff[l] = zoff[l - 1] + nin
        off_in = zoff[l - 1]
        off_out = zoff[l]
        for q in range(nout):
            a = w[wo + nin * nout + q]
            for p in range(nin):
                a += z[off_in + p] * w[wo + p * nout + q]
            if l < nl:
                z[off_out + q] = act_f(act, a, &dz[off_out + q])
            else:
                z[off_out + q] = a
                dz[off_out + q] = 1.0
        wo += nin * nout + nout
    out = z[zoff[nl]]
    # back-propagation of d out: dz holds the activation slopes, reuse z as the adjoint
    z[zoff[nl]] = 1.0
    for l in range(nl, 0, -1):
        nin = layers[l - 1]
        nout = layers[l]
        for p in range(nin):
            a = 0.0
            for q in range(nout):
                a += w[woff[l] + p * nout + q] * z[zoff[l] + q] * dz[zoff[l] + q]
            if l - 1 == 0:
                grad[p] = a
            else:
                z[zoff[l - 1] + p] = a
    return out


def _with_prefactors(const double[:, ::1] sf):
    """Copy of the table with column 7 = 2^(1 - zeta) (the angular prefactor)."""
    out = np.array(sf, dtype=np.float64)
    out[:, 7] = 2.0 ** (1.0 - out[:, 4])
    return out


def descriptors(const double[:, ::1] x, const int32_t[::1] typ, int nlocal,
                const int32_t[::1] fstart, const int32_t[::1] flist,
                const double[:, ::1] sf, double rc, double[:, ::1] G, dG=None):
    """Symmetry functions G [nlocal, nsf] of the owned atoms and, when ``dG`` [nentries,
    nsf, 3] is given, their gradients dG_i/dr_ij in full-list order (r_ij = x_j - x_i)."""
    cdef int i, nn, s, jj, d, maxnn = 0
    cdef int nsf = sf.shape[0]
    cdef double[:, :, ::1] dGv
    cdef bint want = dG is not None
    if sf.shape[1] != NCOL:
        raise ValueError(f"sf must have {NCOL} columns")
    if want:
        dGv = dG
        if dGv.shape[0] < fstart[nlocal] or dGv.shape[1] != nsf:
            raise ValueError("dG must be [entries, nsf, 3]")
    for i in range(nlocal):
        if fstart[i + 1] - fstart[i] > maxnn:
            maxnn = fstart[i + 1] - fstart[i]
    cdef double[:, ::1] sfp = _with_prefactors(sf)
    cdef double* scratch = <double*>malloc((maxnn * (5 * nsf + 6) + 4) * sizeof(double))
    if scratch == NULL:
        raise MemoryError()
    cdef double* ab = scratch + maxnn * (3 * nsf + 6)
    cdef double* dgs = scratch
    cdef double* rv = dgs + maxnn * nsf * 3
    cdef double* rr = rv + 3 * maxnn
    cdef double* fcv = rr + maxnn
    cdef double* dfc = fcv + maxnn
    with nogil:
        for i in range(nlocal):
            nn = atom_descriptors(i, &x[0, 0], &typ[0], &fstart[0], &flist[0], nsf, &sfp[0, 0], rc,
                                  &G[i, 0], dgs, rv, rr, fcv, dfc, ab)
            if want:
                for jj in range(nn):
                    for s in range(nsf):
                        for d in range(3):
                            dGv[fstart[i] + jj, s, d] = dgs[(jj * nsf + s) * 3 + d]
    free(scratch)


def nnp_forces(const double[:, ::1] x, const int32_t[::1] typ, weight, int nlocal, int nall,
               const int32_t[::1] fstart, const int32_t[::1] flist,
               const double[:, ::1] sf, double rc, const double[::1] shift,
               const double[::1] scale, const int32_t[::1] layers, int act,
               const double[:, ::1] weights, const double[::1] e0, double[:, ::1] f,
               eatom=None, vatom=None, bint eflag=True, bint vflag=True):
    """Energy, forces and virial of the owned atoms' atomic energies.

    x, f: [>= nall, 3] (f[0:nall] zeroed, then filled; ghost entries to be reverse-summed);
    typ [>= nall]; weight [>= nall] or None; weights [ntypes, nparam]; e0 [ntypes];
    eatom [>= nall], vatom [>= nall, 6] or None (zeroed, then filled).
    Returns ``(energy, virial[6])`` of the owned atoms' energies (zeros where a flag is off).
    """
    cdef int i, j, jj, s, d, k, nn, ti, maxnn = 0
    cdef int nsf = sf.shape[0], nl = layers.shape[0] - 1
    cdef int ztot = 0
    cdef double wi, ei, gx, gy, gz, e_tot = 0.0
    cdef double vir[6]
    cdef double vv[6]
    cdef const double[::1] wv
    cdef double[::1] ea
    cdef double[:, ::1] va
    cdef bint has_w = weight is not None, has_e = eatom is not None, has_v = vatom is not None
    if sf.shape[1] != NCOL:
        raise ValueError(f"sf must have {NCOL} columns")
    if layers[0] != nsf or layers[nl] != 1 or nl > 15:
        raise ValueError("layers must run from nsf inputs to 1 output (at most 15 layers)")
    if has_w:
        wv = weight
    if has_e:
        ea = eatom
        ea[:nall] = 0.0
    if has_v:
        va = vatom
        va[:nall, :] = 0.0
    f[:nall, :] = 0.0
    for k in range(nl + 1):
        ztot += layers[k]
    for i in range(nlocal):
        if fstart[i + 1] - fstart[i] > maxnn:
            maxnn = fstart[i + 1] - fstart[i]
    for k in range(6):
        vir[k] = 0.0
    cdef double[:, ::1] sfp = _with_prefactors(sf)
    cdef double* scratch = <double*>malloc((maxnn * (5 * nsf + 6) + 4 * nsf + 2 * ztot + 8)
                                           * sizeof(double))
    if scratch == NULL:
        raise MemoryError()
    cdef double* dgs = scratch
    cdef double* rv = dgs + maxnn * nsf * 3
    cdef double* rr = rv + 3 * maxnn
    cdef double* fcv = rr + maxnn
    cdef double* dfc = fcv + maxnn
    cdef double* G = dfc + maxnn
    cdef double* Gn = G + nsf
    cdef double* y = Gn + nsf
    cdef double* z = y + nsf
    cdef double* dz = z + ztot
    cdef double* ab = dz + ztot  # [maxnn, nsf, 2]
    cdef int np_ = weights.shape[1]
    with nogil:
        for i in range(nlocal):
            nn = atom_descriptors(i, &x[0, 0], &typ[0], &fstart[0], &flist[0], nsf, &sfp[0, 0], rc,
                                  G, dgs, rv, rr, fcv, dfc, ab)
            for s in range(nsf):
                Gn[s] = (G[s] - shift[s]) / scale[s]
            ti = typ[i]
            wi = wv[i] if has_w else 1.0
            ei = wi * (e0[ti] + network(&weights[ti, 0], &layers[0], nl, act, Gn, z, dz, y))
            e_tot += ei
            if has_e:
                ea[i] += ei
            for s in range(nsf):
                y[s] *= wi / scale[s]
            for jj in range(nn):
                j = flist[fstart[i] + jj]
                gx = 0.0
                gy = 0.0
                gz = 0.0
                for s in range(nsf):
                    gx += y[s] * dgs[(jj * nsf + s) * 3]
                    gy += y[s] * dgs[(jj * nsf + s) * 3 + 1]
                    gz += y[s] * dgs[(jj * nsf + s) * 3 + 2]
                f[i, 0] += gx
                f[i, 1] += gy
                f[i, 2] += gz
                f[j, 0] -= gx
                f[j, 1] -= gy
                f[j, 2] -= gz
                if vflag or has_v:
                    vv[0] = -rv[3 * jj] * gx
                    vv[1] = -rv[3 * jj + 1] * gy
                    vv[2] = -rv[3 * jj + 2] * gz
                    vv[3] = -0.5 * (rv[3 * jj] * gy + rv[3 * jj + 1] * gx)
                    vv[4] = -0.5 * (rv[3 * jj] * gz + rv[3 * jj + 2] * gx)
                    vv[5] = -0.5 * (rv[3 * jj + 1] * gz + rv[3 * jj + 2] * gy)
                    for k in range(6):
                        vir[k] += vv[k]
                    if has_v:
                        for k in range(6):
                            va[i, k] += 0.5 * vv[k]
                            va[j, k] += 0.5 * vv[k]
    free(scratch)
    if not eflag:
        e_tot = 0.0
    if not vflag:
        for k in range(6):
            vir[k] = 0.0
    return e_tot, np.array([vir[0], vir[1], vir[2], vir[3], vir[4], vir[5]])
