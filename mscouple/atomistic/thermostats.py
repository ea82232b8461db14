"""Thermostat settings for :class:`~mscouple.atomistic.system.MDSystem` (data only; the
update rules live in ``csrc/integrate.pyx``).

Temperatures are in the unit system's temperature unit (K for metal, eps/k_B for lj),
times in its time unit.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import ConfigError


def _positive(name: str, value: float) -> float:
    value = float(value)
    if not value > 0:
        raise ConfigError(f"{name} must be > 0, got {value}")
    return value


@dataclass(frozen=True)
class Langevin:
    """BAOAB Langevin dynamics: friction gamma = 1/damping on every mobile atom (edit
    ``MDSystem.langevin_gamma`` for a damping band); noise keyed by (seed, atom id, step)."""

    temperature: float
    damping: float
    seed: int = 2024

    def __post_init__(self):
        if self.temperature < 0:
            raise ConfigError(f"Langevin temperature must be >= 0, got {self.temperature}")
        _positive("Langevin damping", self.damping)
        if not 0 <= int(self.seed) < 2**63:
            raise ConfigError("Langevin seed must be a non-negative 63-bit integer")


@dataclass(frozen=True)
class NoseHooverChain:
    """Nose-Hoover chain (Martyna, Klein & Tuckerman 1992) of ``length`` thermostats with
    relaxation time ``tau`` (about 100 time steps is typical)."""

    temperature: float
    tau: float
    length: int = 3

    def __post_init__(self):
        _positive("NoseHooverChain temperature", self.temperature)
        _positive("NoseHooverChain tau", self.tau)
        if int(self.length) < 1:
            raise ConfigError("NoseHooverChain length must be >= 1")


@dataclass(frozen=True)
class VelocityRescale:
    """Scale velocities to the target temperature every ``every`` steps (equilibration only)."""

    temperature: float
    every: int = 1

    def __post_init__(self):
        if self.temperature < 0:
            raise ConfigError("VelocityRescale temperature must be >= 0")
        if int(self.every) < 1:
            raise ConfigError("VelocityRescale every must be >= 1")
