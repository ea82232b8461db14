"""Interatomic potentials: one narrow contract, one kernel style each.

A potential declares what it computes (``implemented_properties``), its parameters, its
``cutoff`` (length) and number of atom types ``ntypes``; ``compute(ctx, ...)`` fills the
forces of the atoms in a :class:`ForceContext` and returns the energy and virial of the
pairs this rank computed. Pair potentials also expose ``style`` and ``coef`` (the constants
table of ``csrc/md_core.pxi``) so the fused single-rank run loop can evaluate them without
Python. Adding a pair style = one branch in ``pair_eval`` + one class here.

Per-type parameters are scalars or symmetric ``[ntypes, ntypes]`` arrays.
Cutoff modes (Lennard-Jones and Morse), with phi the bare potential and F = -dphi/dr:

* ``"cut"``: phi(r) for r < rc (LAMMPS ``lj/cut``; energy jumps at rc);
* ``"shift"``: phi(r) - phi(rc) (continuous energy, force jumps);
* ``"smooth"``: shifted force, phi(r) - phi(rc) + (r - rc) F(rc) (energy and force
  continuous: clean NVE energy conservation; Allen & Tildesley, *Computer Simulation of
  Liquids*, 2nd ed., sec. 2.8).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..errors import ConfigError

NCOEF = 8
STYLE_LJ, STYLE_MORSE, STYLE_HARMONIC = 0, 1, 2
_MODES = ("cut", "shift", "smooth")


@dataclass
class ForceContext:
    """What a potential sees: positions of owned + ghost atoms and the half neighbour list.

    x [nall,3], types [nall] int32, weight [nall] or None, f [nall,3] (output),
    nstart [nlocal+1] / nlist: half list (CSR). ``forward(a)`` copies owned values of a
    per-atom array ``a [nall, ...]`` onto the ghosts; ``reverse(a)`` adds ghost values onto
    their owners (both collective on the patch comm in parallel).
    """

    x: np.ndarray
    types: np.ndarray
    weight: np.ndarray | None
    nlocal: int
    nall: int
    nstart: np.ndarray
    nlist: np.ndarray
    f: np.ndarray
    forward: Callable[[np.ndarray], None]
    reverse: Callable[[np.ndarray], None]


def _table(value, ntypes: int, name: str) -> np.ndarray:
    a = np.asarray(value, dtype=float)
    if a.ndim == 0:
        return np.full((ntypes, ntypes), float(a))
    if a.shape != (ntypes, ntypes) or not np.allclose(a, a.T):
        raise ConfigError(f"{name}: expected a scalar or a symmetric [{ntypes}, {ntypes}] array")
    return a


class PairPotential:
    """Base class of pair potentials evaluated by ``csrc/pair.pyx``."""

    implemented_properties = ("energy", "forces", "virial", "energies", "virials")
    style: int = -1
    fusable = True

    def __init__(self, ntypes: int, cutoff) -> None:
        if int(ntypes) < 1:
            raise ConfigError(f"ntypes must be >= 1, got {ntypes}")
        self.ntypes = int(ntypes)
        self.rc = _table(cutoff, self.ntypes, "cutoff")
        if np.any(self.rc <= 0):
            raise ConfigError("cutoff must be > 0")
        self.cutoff = float(self.rc.max())
        self.coef = np.zeros(self.ntypes * self.ntypes * NCOEF)

    def _row(self, a: int, b: int) -> np.ndarray:
        k = (a * self.ntypes + b) * NCOEF
        return self.coef[k:k + NCOEF]

    def energy_force(self, r, a: int = 0, b: int = 0):
        """(phi(r), F(r)) of one pair of types a, b at distances r (NumPy; 0 beyond rc)."""
        from .._kernels.pair import pair_energy_r

        r = np.atleast_1d(np.asarray(r, dtype=float))
        row = np.ascontiguousarray(self._row(a, b))
        out = np.array([pair_energy_r(self.style, row, ri) if ri * ri < row[0] else (0.0, 0.0)
                        for ri in r])
        return out[:, 0], out[:, 1]

    def compute(self, ctx: ForceContext, eflag: bool, vflag: bool,
                eatom: np.ndarray | None, vatom: np.ndarray | None):
        from .._kernels.pair import pair_forces

        return pair_forces(self.style, self.coef, self.ntypes, ctx.x, ctx.types, ctx.weight,
                           ctx.nlocal, ctx.nall, ctx.nstart, ctx.nlist, ctx.f, eatom, vatom,
                           eflag, vflag)


def _check_mode(mode: str) -> str:
    if mode not in _MODES:
        raise ConfigError(f"mode = {mode!r}: expected one of {_MODES}")
    return mode


class LennardJones(PairPotential):
    """phi(r) = 4 eps [(sigma/r)^12 - (sigma/r)^6], r < cutoff; ``mode`` as in the module doc."""

    style = STYLE_LJ

    def __init__(self, epsilon=1.0, sigma=1.0, cutoff=2.5, mode: str = "cut", ntypes: int = 1):
        super().__init__(ntypes, cutoff)
        self.mode = _check_mode(mode)
        self.epsilon = _table(epsilon, self.ntypes, "epsilon")
        self.sigma = _table(sigma, self.ntypes, "sigma")
        for a in range(self.ntypes):
            for b in range(self.ntypes):
                e, s, rc = self.epsilon[a, b], self.sigma[a, b], self.rc[a, b]
                row = self._row(a, b)
                row[0] = rc * rc
                row[1] = 48 * e * s**12
                row[2] = 24 * e * s**6
                row[3] = 4 * e * s**12
                row[4] = 4 * e * s**6
                sr6 = (s / rc) ** 6
                if mode in ("shift", "smooth"):
                    row[5] = 4 * e * (sr6 * sr6 - sr6)
                if mode == "smooth":
                    row[6] = 24 * e * (2 * sr6 * sr6 - sr6) / rc
                row[7] = rc

    def __repr__(self) -> str:
        return (f"LennardJones(epsilon={self.epsilon.tolist()}, sigma={self.sigma.tolist()}, "
                f"cutoff={self.rc.tolist()}, mode={self.mode!r})")


class Morse(PairPotential):
    """phi(r) = D0 [exp(-2 alpha (r - r0)) - 2 exp(-alpha (r - r0))], r < cutoff."""

    style = STYLE_MORSE

    def __init__(self, D0=1.0, alpha=1.0, r0=1.0, cutoff=3.0, mode: str = "cut",
                 ntypes: int = 1):
        super().__init__(ntypes, cutoff)
        self.mode = _check_mode(mode)
        self.D0 = _table(D0, self.ntypes, "D0")
        self.alpha = _table(alpha, self.ntypes, "alpha")
        self.r0 = _table(r0, self.ntypes, "r0")
        for a in range(self.ntypes):
            for b in range(self.ntypes):
                D, al, r0_, rc = self.D0[a, b], self.alpha[a, b], self.r0[a, b], self.rc[a, b]
                row = self._row(a, b)
                row[0] = rc * rc
                row[1], row[2], row[3] = D, al, r0_
                d = np.exp(-al * (rc - r0_))
                if mode in ("shift", "smooth"):
                    row[4] = D * (d * d - 2 * d)
                if mode == "smooth":
                    row[5] = 2 * al * D * (d * d - d)
                row[6] = rc


class HarmonicSprings(PairPotential):
    """phi(r) = k/2 (r - r0)^2 for every pair closer than ``cutoff`` (put the cutoff between
    the first and second neighbour shells for nearest-neighbour springs)."""

    style = STYLE_HARMONIC

    def __init__(self, k=1.0, r0=1.0, cutoff=1.5, ntypes: int = 1):
        super().__init__(ntypes, cutoff)
        self.k = _table(k, self.ntypes, "k")
        self.r0 = _table(r0, self.ntypes, "r0")
        for a in range(self.ntypes):
            for b in range(self.ntypes):
                row = self._row(a, b)
                row[0] = self.rc[a, b] ** 2
                row[1] = self.k[a, b]
                row[2] = self.r0[a, b]
