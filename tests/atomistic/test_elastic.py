"""Cauchy-Born (validation level 1): elastic constants from +/- strains of a perfect
crystal equal the lattice sums

    C_abcd = 1/(2 Omega) sum_j (phi''(r) - phi'(r)/r) R_a R_b R_c R_d / r^2,
    S_ab   = 1/(2 Omega) sum_j phi'(r) R_a R_b / r,

(Born & Huang 1954) through dP_ab/dF_cd = C_abcd + delta_ac S_bd at F = I, with the first
Piola-Kirchhoff stress P = -W F^-T / V0 from the virial W.
"""
import numpy as np
import pytest
from mpi4py import MPI

from mscouple.atomistic.lattice import fcc
from mscouple.atomistic.potentials import LennardJones, Morse
from mscouple.atomistic.system import MDSystem


def lj_derivs(r, rc):
    d1 = lambda r: -24 * (2 * r**-13 - r**-7)  # noqa: E731
    d2 = 24 * (26 * r**-14 - 7 * r**-8)
    return d1(r) - d1(rc), d2  # shifted-force: phi' - phi'(rc), phi''


def morse_derivs(r, rc, D=0.8, al=1.7, r0=1.1):
    def d1(r):
        e = np.exp(-al * (r - r0))
        return -2 * al * D * (e * e - e)

    e = np.exp(-al * (r - r0))
    return d1(r) - d1(rc), 2 * al * al * D * (2 * e * e - e)


CASES = {
    "lj": (lambda: LennardJones(cutoff=2.5, mode="smooth"), lj_derivs, 1.56),
    "morse": (lambda: Morse(0.8, 1.7, 1.1, cutoff=2.6, mode="smooth"), morse_derivs, 1.58),
}


def lattice_sums(x, box, rc, derivs):
    L = box.lengths
    R = []
    for s in np.ndindex(5, 5, 5):
        d = x - x[0] + (np.array(s) - 2) * L
        R.append(d)
    R = np.concatenate(R)
    r = np.linalg.norm(R, axis=1)
    R, r = R[(r > 0) & (r < rc)], r[(r > 0) & (r < rc)]
    d1, d2 = derivs(r, rc)
    omega = box.volume / len(x)
    C = np.einsum("j,ja,jb,jc,jd->abcd", (d2 - d1 / r) / r**2, R, R, R, R) / (2 * omega)
    S = np.einsum("j,ja,jb->ab", d1 / r, R, R) / (2 * omega)
    return C, S


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("orient", [None, [[1, 1, 0], [-1, 1, 0], [0, 0, 1]]])
def test_cauchy_born_constants(case, orient):
    make_pot, derivs, a = CASES[case]
    pot = make_pot()
    x, box = fcc(a, (3, 3, 3) if orient is None else (2, 2, 3), orient=orient)
    C, S = lattice_sums(x, box, pot.cutoff, derivs)
    V0 = box.volume

    def P(F):
        s = MDSystem(MPI.COMM_SELF, box.deformed(F), x @ F.T, pot, skin=0.2, sort_every=0)
        W = s.virial()
        Wm = np.array([[W[0], W[3], W[4]], [W[3], W[1], W[5]], [W[4], W[5], W[2]]])
        return -Wm @ np.linalg.inv(F).T / V0

    P0 = P(np.eye(3))
    np.testing.assert_allclose(P0, S, rtol=1e-9, atol=1e-12 * np.abs(S).max())
    h = 1e-5
    for c in range(3):
        Fp, Fm = np.eye(3), np.eye(3)
        Fp[c, c] += h
        Fm[c, c] -= h
        A = (P(Fp) - P(Fm)) / (2 * h)
        for a_ in range(3):
            expected = C[a_, a_, c, c] + (S[a_, a_] if a_ == c else 0.0)
            assert A[a_, a_] == pytest.approx(expected, rel=1e-6), (a_, c)
