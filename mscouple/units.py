"""Unit systems: LJ reduced units and LAMMPS-style 'metal' units (eV, Å, ps, amu).

All of mscouple computes in one consistent system per case (``units = "lj"`` or
``"metal"``). This module holds the only conversion constants.

metal: energy eV, length Å, time ps, mass g/mol (amu), temperature K.
  force eV/Å; acceleration = F/m needs the factor ``mvv2e``: m v² [amu Å²/ps²] → eV.
lj: ε = σ = m = k_B = 1.
"""
from __future__ import annotations

from dataclasses import dataclass

from .errors import ConfigError

# CODATA 2018 values.
_EV = 1.602176634e-19  # J
_AMU = 1.66053906660e-27  # kg
_KB_SI = 1.380649e-23  # J/K


@dataclass(frozen=True)
class UnitSystem:
    """Constants that turn mass·velocity² into energy and kinetic energy into temperature."""

    name: str
    boltzmann: float  # k_B in energy/temperature
    mvv2e: float  # (mass * length^2 / time^2) -> energy
    ftm2v: float  # (force * time / mass) -> velocity, = 1/mvv2e
    length: str
    time: str
    energy: str
    mass: str
    temperature: str

    def kinetic_energy(self, mass, vsq):
        """Kinetic energy ½ m v² in energy units."""
        return 0.5 * self.mvv2e * mass * vsq


LJ = UnitSystem("lj", 1.0, 1.0, 1.0, "sigma", "tau", "epsilon", "m", "epsilon/k_B")
_MVV2E_METAL = _AMU * 1e-20 / 1e-24 / _EV  # amu·Å²/ps² in eV = 1.0364269e-4
METAL = UnitSystem("metal", _KB_SI / _EV, _MVV2E_METAL, 1.0 / _MVV2E_METAL,
                   "Angstrom", "ps", "eV", "g/mol", "K")

SYSTEMS = {"lj": LJ, "metal": METAL}


def get_units(name: str) -> UnitSystem:
    """Return the unit system called *name* (``"lj"`` or ``"metal"``)."""
    try:
        return SYSTEMS[name]
    except KeyError:
        raise ConfigError(f"units = {name!r}: expected one of {sorted(SYSTEMS)}") from None
