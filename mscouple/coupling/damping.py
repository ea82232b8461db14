"""Damping ("stadium" / Langevin) band with exact bookkeeping of the energy it removes.

Velocities relative to a reference field (the continuum velocity interpolated to the atoms,
so that only the fine-scale part the mesh cannot carry is damped — Wagner & Liu, J. Comput.
Phys. 190 (2003) 249; or zero: classical stadium damping, Holian & Ravelo, PRB 51 (1995)
11275) obey, over a time h, the exact Ornstein–Uhlenbeck update

    u ← u e^{−γ h} + sqrt(k_B T (1 − e^{−2γh}) / (mvv2e m)) ξ,       u = v − v_ref.

The energy removed, ``KE_before − KE_after`` of the atoms, is returned every call for the
ledger (and may be handed to the continuum as heat). Noise (T > 0) comes from a counter-based
generator keyed by (seed, atom id, step, component), so it does not depend on how atoms are
distributed over ranks.
"""
from __future__ import annotations

import numpy as np

from ..errors import ConfigError

__all__ = ["DampingBand", "stadium_profile", "counter_normal"]

_M64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def _splitmix64(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        z = x + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def counter_normal(seed: int, ids: np.ndarray, step: int, ncomp: int) -> np.ndarray:
    """Standard normal numbers [len(ids), ncomp], a pure function of (seed, id, step, component)."""
    ids = np.asarray(ids, dtype=np.uint64)
    comp = np.arange(ncomp, dtype=np.uint64)
    with np.errstate(over="ignore"):
        key = _splitmix64(np.uint64(seed) ^ _splitmix64(np.uint64(step) + np.uint64(0x632BE59BD9B4E019)))
        base = _splitmix64(key ^ (ids[:, None] * np.uint64(0xD1B54A32D192ED03) + comp[None, :] * np.uint64(2)))
        b1 = _splitmix64(base)
        b2 = _splitmix64(base + np.uint64(1))
    u1 = ((b1 >> np.uint64(11)).astype(np.float64) + 0.5) / 9007199254740992.0
    u2 = ((b2 >> np.uint64(11)).astype(np.float64) + 0.5) / 9007199254740992.0
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


def stadium_profile(s: np.ndarray, width: float, gamma_max: float, power: int = 2) -> np.ndarray:
    """Damping rate rising from 0 at s = 0 to ``gamma_max`` at s = width as (s/width)^power."""
    if not width > 0 or gamma_max < 0:
        raise ConfigError("damping band: need width > 0 and gamma_max >= 0")
    t = np.clip(np.asarray(s, dtype=float) / width, 0.0, 1.0)
    return gamma_max * t ** power


class DampingBand:
    """Langevin damping of a set of atoms.

    Parameters
    ----------
    gamma : [m] damping rates (1/time), e.g. from :func:`stadium_profile`.
    mass : [m] masses used in the dynamics (mass units).
    ids : [m] global atom ids (for the noise streams).
    temperature : bath temperature (0: pure damping, no noise).
    boltzmann, mvv2e : from ``mscouple.units``.
    seed : noise seed.
    """

    def __init__(self, gamma: np.ndarray, mass: np.ndarray, ids: np.ndarray, temperature: float = 0.0,
                 boltzmann: float = 1.0, mvv2e: float = 1.0, seed: int = 0) -> None:
        self.gamma = np.asarray(gamma, dtype=float)
        self.mass = np.asarray(mass, dtype=float)
        self.ids = np.asarray(ids, dtype=np.int64)
        if not (self.gamma.shape == self.mass.shape == self.ids.shape):
            raise ConfigError("damping band: gamma, mass and ids need the same length")
        if np.any(self.gamma < 0) or temperature < 0:
            raise ConfigError("damping band: damping rates and temperature must be >= 0")
        self.temperature = float(temperature)
        self.kB = float(boltzmann)
        self.mvv2e = float(mvv2e)
        self.seed = int(seed)
        #: kinetic energy removed per atom [m], accumulated over calls (the damping-to-heat
        #: hand-over reads and resets it; see :class:`~mscouple.coupling.thermal.DampingToHeat`)
        self.removed_per_atom = np.zeros(self.mass.size)

    def apply(self, v: np.ndarray, h: float, step: int, v_ref: np.ndarray | None = None) -> float:
        """Update ``v`` [m, k] in place over time ``h``; return the kinetic energy removed."""
        m = self.mass[:, None]
        ke0 = 0.5 * self.mvv2e * np.sum(m * v ** 2)
        u = v if v_ref is None else v - v_ref
        c = np.exp(-self.gamma * h)[:, None]
        du = (c - 1.0) * u
        if self.temperature > 0:
            sig = np.sqrt(self.kB * self.temperature * (1.0 - c ** 2) / (self.mvv2e * m))
            du = du + sig * counter_normal(self.seed, self.ids, step, v.shape[1])
        v += du
        ke1 = 0.5 * self.mvv2e * np.sum(m * v ** 2)
        if self.removed_per_atom.size == v.shape[0]:
            # per atom, without cancellation: ½ m (|v0|² − |v1|²) = −½ m du·(2 v1 − du)
            self.removed_per_atom -= 0.5 * self.mvv2e * self.mass * np.sum(du * (2.0 * v - du), axis=1)
        return float(ke0 - ke1)
