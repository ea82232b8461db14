"""Cauchy–Born elastic constants of Bravais lattices for pair and EAM potentials.

A homogeneously deformed Bravais lattice has one atom per site and no internal
relaxation, so its energy density under a deformation gradient F is the energy of one
atom over its volume Ω (length per atom for a chain, area for the triangular sheet)::

    W(F) = (1/Ω) [ ½ Σ_R φ(|F R|) + F_emb(ρ̄(F)) ],     ρ̄ = Σ_R f(|F R|)

(F_emb ≡ 0 for pair potentials). At the reference, with r = |R| and
A_ij = Σ_R f'(r) R_i R_j / r, the Cauchy stress (tension positive) and the Born
constants (second derivatives of W in the Green–Lagrange strain) are::

    σ_ij   = (1/Ω) [ ½ Σ φ' R_i R_j / r + F'(ρ̄) A_ij ]
    C_ijkl = (1/Ω) [ ½ Σ (φ'' − φ'/r) R_i R_j R_k R_l / r²
                     + F'(ρ̄) Σ (f'' − f'/r) R_i R_j R_k R_l / r² + F''(ρ̄) A_ij A_kl ]

(Born & Huang 1954; Daw & Baskes, PRB 29, 6443 (1984), Eq. 5; Tadmor & Miller,
*Modeling Materials* (2011) §11.4). At zero stress C is the tensor of the long-wave
acoustic limit: ρ c² = C_ijkl n_j n_l for a wave along n. The lattice constant of zero
stress is found here; elsewhere the Cauchy stress adds σ_jl n_j n_l to ρ c².

Units are those of the potential (LJ: ε, σ; metal: eV, Å): C and σ in energy/length^d
with d the lattice's own dimension (1 chain, 2 triangular, 3 sc/bcc/fcc).
Pair potentials use the analytic derivatives of :mod:`mscouple.hmm.cauchy_born`; EAM
potentials the derivatives of the same interpolating cubics as the compiled kernels
(:meth:`mscouple.atomistic.eam.EAM.radial`). Alloys (several species) are not Bravais
lattices and are refused.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from ..errors import ConfigError

#: primitive vectors (rows, units of a) and atomic volume / a^d of each lattice
PRIMITIVE = {
    "chain": (np.array([[1.0, 0, 0]]), 1.0),
    "triangular": (np.array([[1.0, 0, 0], [0.5, math.sqrt(3.0) / 2, 0]]), math.sqrt(3.0) / 2),
    "sc": (np.eye(3), 1.0),
    "bcc": (0.5 * np.array([[-1.0, 1, 1], [1, -1, 1], [1, 1, -1]]), 0.5),
    "fcc": (0.5 * np.array([[0.0, 1, 1], [1, 0, 1], [1, 1, 0]]), 0.25),
}
#: nearest-neighbour distance / a
NEAREST = {"chain": 1.0, "triangular": 1.0, "sc": 1.0, "bcc": math.sqrt(3.0) / 2, "fcc": 1 / math.sqrt(2.0)}
LATTICE_DIM = {"chain": 1, "triangular": 2, "sc": 3, "bcc": 3, "fcc": 3}


def neighbour_vectors(kind: str, a: float, reach: float) -> tuple[np.ndarray, float]:
    """Lattice vectors ``R [k, 3]`` with 0 < |R| < reach and the atomic volume Ω."""
    if kind not in PRIMITIVE:
        raise ConfigError(f"lattice kind {kind!r}: expected one of {sorted(PRIMITIVE)}")
    P, vol = PRIMITIVE[kind]
    n = P.shape[0]
    m = int(math.ceil(reach / (0.5 * a))) + 1
    idx = np.array(list(itertools.product(range(-m, m + 1), repeat=n)), dtype=float)
    R = idx @ (a * P)
    r = np.linalg.norm(R, axis=1)
    return R[(r > 0) & (r < reach)], vol * a ** n


class _Functions:
    """φ', φ'' (and for EAM f, f', f'', F', F'') of one species, with the cutoff."""

    def __init__(self, potential, element: int = 0):
        self.eam = hasattr(potential, "rho_tab")
        if self.eam:
            self.pot, self.t = potential, int(element)
            self.rc = float(potential.cutoff)
        else:
            from ..hmm.cauchy_born import radial_derivatives

            self.d = radial_derivatives(potential)
            self.rc = float(self.d.rc)

    def pair(self, r):
        if self.eam:
            _, d1, d2 = self.pot.radial("phi", self.t, self.t, r)
            return d1, d2
        return self.d.d1(r), self.d.d2(r)


def _sums(fn: _Functions, kind: str, a: float):
    """(Ω, stress [3,3], Born constants [3,3,3,3]) of the lattice at constant a."""
    R, omega = neighbour_vectors(kind, a, fn.rc)
    r = np.linalg.norm(R, axis=1)
    p1, p2 = fn.pair(r)
    u = R / r[:, None]
    sig = 0.5 * np.einsum("k,ki,kj->ij", p1 * r, u, u)
    C = 0.5 * np.einsum("k,ki,kj,kl,km->ijlm", (p2 - p1 / r) * r * r, u, u, u, u)
    if fn.eam:
        f0, f1, f2 = fn.pot.radial("rho", fn.t, 0, r)
        _, F1, F2 = fn.pot.radial("F", fn.t, 0, np.array([f0.sum()]))
        A = np.einsum("k,ki,kj->ij", f1 * r, u, u)
        sig = sig + F1[0] * A
        C = C + F1[0] * np.einsum("k,ki,kj,kl,km->ijlm", (f2 - f1 / r) * r * r, u, u, u, u) \
            + F2[0] * np.einsum("ij,kl->ijkl", A, A)
    return omega, sig / omega, C / omega


def lattice_stress(potential, kind: str, a: float, element: int = 0) -> np.ndarray:
    """Cauchy stress ``[3, 3]`` of the undeformed lattice of constant *a* (energy/length^d)."""
    return _sums(_Functions(potential, element), kind, a)[1]


def zero_stress_constant(potential, kind: str, guess: float, element: int = 0) -> float:
    """Lattice constant near *guess* at which the lattice's mean normal stress vanishes
    (brentq to 1e-15 relative). ConfigError when none exists with neighbours in range."""
    fn = _Functions(potential, element)
    ld = LATTICE_DIM[kind]

    def p(a):
        return float(np.trace(_sums(fn, kind, a)[1][:ld, :ld]))

    a_max = 0.999 * fn.rc / NEAREST[kind]
    lo = hi = min(guess, a_max)
    plo = phi = p(lo)
    for step in range(1, 60):
        if plo * phi < 0 or plo == 0:
            break
        f = 1.0 + 0.01 * step
        lo, hi = guess / f, min(guess * f, a_max)
        plo, phi = p(lo), p(hi)
    else:
        raise ConfigError(f"no zero-stress {kind} lattice constant near {guess:g} for this potential "
                          f"(nearest neighbours within the cutoff {fn.rc:g})")
    if plo == 0:
        return float(lo)
    # the root closest to the guess: bisect the bracketing half
    for x0, x1 in ((lo, guess), (guess, hi)):
        if x0 < x1 and p(x0) * p(x1) <= 0:
            return float(brentq(p, x0, x1, xtol=1e-15 * guess, rtol=1e-15, maxiter=200))
    return float(brentq(p, lo, hi, xtol=1e-15 * guess, rtol=1e-15, maxiter=200))


_VOIGT6 = [(0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1)]


@dataclass(frozen=True)
class CauchyBornConstants:
    """Elastic constants of a Bravais lattice at its zero-stress lattice constant.

    ``a0``: lattice constant of zero stress; ``C``: Voigt stiffness [6, 6] (energy per
    length^d, d = 1, 2, 3 for chain, triangular, cubic lattices; the entries of directions
    the lattice does not span are 0); ``density``: mass per atom / Ω (mass/length^d);
    ``residual_stress``: max |σ| left at a0 (should be round-off).
    """

    kind: str
    a0: float
    C: np.ndarray
    density: float
    residual_stress: float

    @property
    def c11(self) -> float:
        return float(self.C[0, 0])

    @property
    def c12(self) -> float:
        return float(self.C[0, 1])

    @property
    def c44(self) -> float:
        return float(self.C[5, 5])

    def longitudinal_speed(self, mvv2e: float = 1.0) -> float:
        """Long-wave longitudinal speed along x, √(C11/(ρ mvv2e)) (length/time)."""
        return math.sqrt(self.c11 / (self.density * mvv2e))

    def transverse_speed(self, mvv2e: float = 1.0) -> float:
        """Long-wave transverse speed along x polarised along y, √(C66/(ρ mvv2e))
        (0 for a chain)."""
        return math.sqrt(max(self.c44, 0.0) / (self.density * mvv2e))


def cauchy_born(potential, kind: str, a: float, mass: float, element: int = 0,
                relax: bool = True) -> CauchyBornConstants:
    """Cauchy–Born constants of the *kind* lattice of *potential* at the zero-stress
    lattice constant found near *a* (or at *a* itself with ``relax=False``)."""
    fn = _Functions(potential, element)
    a0 = zero_stress_constant(potential, kind, a, element) if relax else float(a)
    omega, sig, C4 = _sums(fn, kind, a0)
    C = np.array([[C4[i, j, k, l] for (k, l) in _VOIGT6] for (i, j) in _VOIGT6])
    C = 0.5 * (C + C.T)
    return CauchyBornConstants(kind, a0, C, float(mass) / omega, float(np.max(np.abs(sig))))
