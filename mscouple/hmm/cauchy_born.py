"""Cauchy–Born lattice sums for Bravais crystals with pair potentials (NumPy, exact).

For a Bravais lattice with neighbour vectors ``R`` (all lattice vectors within the cutoff,
both signs) and atomic volume ``Omega0``, the zero-temperature Cauchy stress under a
homogeneous deformation gradient F is (tension positive)::

    sigma = 1/(2 det(F) Omega0) * sum_R phi'(r) r (x) r / r,      r = F R, r = |r|

and the elastic constants at the reference (Born 1954; Tadmor & Miller, *Modeling
Materials*, 2011, sec. 11.4; valid as dsigma/deps at a stress-free reference)::

    C_ijkl = 1/(2 Omega0) * sum_R (phi''(R) - phi'(R)/R) R_i R_j R_k R_l / R^2

For the 1D chain the "volume" per atom is the spacing a and the xx component is the force
in the chain. These are the reference values the HMM oracle (which *runs* the MD engine)
must reproduce at 0 K, and the constitutive law of the Cauchy–Born continuum.

Potentials: :class:`mscouple.atomistic.potentials.LennardJones`, ``Morse`` and
``HarmonicSprings`` (first type pair), with their cutoff modes; derivatives are analytic.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy.optimize import brentq

from ..errors import ConfigError


@dataclass(frozen=True)
class RadialDerivatives:
    """phi'(r) and phi''(r) of a pair potential (0 beyond the cutoff ``rc``)."""

    d1: Callable[[np.ndarray], np.ndarray]
    d2: Callable[[np.ndarray], np.ndarray]
    rc: float


def radial_derivatives(potential) -> RadialDerivatives:
    """Analytic phi', phi'' of an :mod:`mscouple.atomistic.potentials` object (types 0-0).

    The ``smooth`` (shifted-force) mode adds F(rc) to phi' (phi'' unchanged); ``cut`` and
    ``shift`` leave both as the bare potential's inside the cutoff.
    """
    name = type(potential).__name__
    rc = float(potential.rc[0, 0])
    mode = getattr(potential, "mode", "cut")
    if name == "LennardJones":
        e, s = float(potential.epsilon[0, 0]), float(potential.sigma[0, 0])
        b1 = lambda r: 4 * e * (-12 * s**12 / r**13 + 6 * s**6 / r**7)  # noqa: E731
        b2 = lambda r: 4 * e * (156 * s**12 / r**14 - 42 * s**6 / r**8)  # noqa: E731
    elif name == "Morse":
        D, al, r0 = (float(potential.D0[0, 0]), float(potential.alpha[0, 0]), float(potential.r0[0, 0]))
        b1 = lambda r: 2 * al * D * (np.exp(-al * (r - r0)) - np.exp(-2 * al * (r - r0)))  # noqa: E731
        b2 = lambda r: 2 * al * al * D * (2 * np.exp(-2 * al * (r - r0)) - np.exp(-al * (r - r0)))  # noqa: E731
    elif name == "HarmonicSprings":
        k, r0 = float(potential.k[0, 0]), float(potential.r0[0, 0])
        b1 = lambda r: k * (r - r0)  # noqa: E731
        b2 = lambda r: k + 0.0 * r  # noqa: E731
        mode = "cut"
    else:
        raise ConfigError(f"Cauchy-Born lattice sums support LennardJones, Morse, HarmonicSprings; got {name}")
    shift = -b1(rc) if mode == "smooth" else 0.0  # phi'_smooth(r) = phi'(r) - phi'(rc)

    def d1(r):
        r = np.asarray(r, dtype=float)
        return np.where(r < rc, b1(r) + shift, 0.0)

    def d2(r):
        r = np.asarray(r, dtype=float)
        return np.where(r < rc, b2(r), 0.0)

    return RadialDerivatives(d1, d2, rc)


_PRIMITIVE = {
    "chain": (np.array([[1.0, 0, 0], [0, 0, 0], [0, 0, 0]]), 1.0),
    "sc": (np.eye(3), 1.0),
    "bcc": (0.5 * np.array([[-1.0, 1, 1], [1, -1, 1], [1, 1, -1]]), 0.5),
    "fcc": (0.5 * np.array([[0.0, 1, 1], [1, 0, 1], [1, 1, 0]]), 0.25),
}


@dataclass(frozen=True)
class BravaisLattice:
    """Neighbour vectors ``R [k, 3]`` of a Bravais lattice within ``reach`` and the atomic
    volume ``omega`` (length per atom for a chain)."""

    kind: str
    a: float
    R: np.ndarray
    omega: float

    @classmethod
    def build(cls, kind: str, a: float, reach: float) -> "BravaisLattice":
        if kind not in _PRIMITIVE:
            raise ConfigError(f"lattice kind {kind!r}: expected one of {sorted(_PRIMITIVE)}")
        P, vol = _PRIMITIVE[kind]
        P = P * a
        ndim = 1 if kind == "chain" else 3
        m = int(np.ceil(reach / (a * (0.5 if kind != "chain" else 1.0)))) + 1
        rng = range(-m, m + 1)
        idx = np.array([c for c in itertools.product(rng, repeat=ndim)], dtype=float)
        R = idx @ P[:ndim]
        r = np.linalg.norm(R, axis=1)
        keep = (r > 0) & (r < reach)
        return cls(kind, float(a), R[keep], vol * a ** (1 if kind == "chain" else 3))


def cb_stress(deriv: RadialDerivatives, lattice: BravaisLattice, F: np.ndarray) -> np.ndarray:
    """Cauchy stress ``[3, 3]`` (tension positive; energy/volume, force for a chain) of the
    lattice deformed homogeneously by F ``[3, 3]``. Neighbours are taken from the reference
    shells with ``|R| < reach`` (choose ``reach`` > rc / min stretch)."""
    F = np.asarray(F, dtype=float)
    r = lattice.R @ F.T
    d = np.linalg.norm(r, axis=1)
    w = deriv.d1(d) / d
    J = np.linalg.det(F) if lattice.kind != "chain" else F[0, 0]
    return np.einsum("k,ki,kj->ij", w, r, r) / (2.0 * J * lattice.omega)


def cb_elastic_constants(deriv: RadialDerivatives, lattice: BravaisLattice) -> np.ndarray:
    """Born elastic constants ``C [3,3,3,3]`` at the reference lattice (see module doc)."""
    R = lattice.R
    d = np.linalg.norm(R, axis=1)
    w = (deriv.d2(d) - deriv.d1(d) / d) / d**2
    return np.einsum("k,ki,kj,kl,km->ijlm", w, R, R, R, R) / (2.0 * lattice.omega)


def equilibrium_spacing(potential, kind: str, bracket=(0.8, 2.0)) -> float:
    """Lattice constant (units of sigma/r0) at which the 0 K stress vanishes (brentq on the
    mean normal stress; the bracket is in units of the potential's length scale)."""
    deriv = radial_derivatives(potential)

    def p(a):
        lat = BravaisLattice.build(kind, a, 1.2 * deriv.rc)
        return np.trace(cb_stress(deriv, lat, np.eye(3)))

    scale = float(getattr(potential, "sigma", getattr(potential, "r0", np.ones((1, 1))))[0, 0])
    if kind == "fcc":
        scale *= np.sqrt(2.0)  # nearest neighbour at a/sqrt(2)
    elif kind == "bcc":
        scale *= 2 / np.sqrt(3.0)
    lo, hi = bracket[0] * scale, bracket[1] * scale
    nn = {"chain": 1.0, "sc": 1.0, "bcc": np.sqrt(3.0) / 2, "fcc": 1 / np.sqrt(2.0)}[kind]
    hi = min(hi, 0.999 * deriv.rc / nn)  # beyond, no neighbour interacts: zero stress, no root
    if p(lo) * p(hi) > 0:
        raise ConfigError(f"no zero-stress lattice constant of {kind} in [{lo:.4g}, {hi:.4g}]; widen the bracket")
    return float(brentq(p, lo, hi, xtol=1e-15, rtol=1e-15))
