"""Effective transport and reaction in porous media and catalyst particles.

- :func:`effective_diffusivity`: ``D_eff = eps * delta * D / tau`` (porosity eps,
  constrictivity delta, tortuosity tau; tau >= 1). :func:`bruggeman_tortuosity` gives
  ``tau = eps^-1/2`` for random packings of spheres.
- :func:`thiele_modulus` and :func:`effectiveness_factor`: internal diffusion limitation of
  a first-order reaction in a slab (half-thickness L), cylinder or sphere (radius R),
  ``phi = L sqrt(k_v / D_eff)``; ``eta = tanh(phi)/phi`` (slab),
  ``2 I1(phi)/(phi I0(phi))`` (cylinder), ``3 (phi coth phi - 1)/phi^2`` (sphere)
  (Thiele 1939; Aris, *The Mathematical Theory of Diffusion and Reaction*, 1975).
- :func:`effective_rate_constant`: the observed first-order rate constant per unit volume
  of a bed with surface area per volume ``a_v`` [1/length], surface rate constant ``k_s``
  [length/time] and external mass-transfer coefficient ``k_m`` [length/time]; the two
  steps are resistances in series: ``1/k_eff = 1/(k_m a_v) + 1/(eta k_s a_v)``.

Units are whatever the caller uses consistently; k_v [1/time] is a volumetric constant.
"""
from __future__ import annotations

import math

import numpy as np
from scipy import special

from ..errors import ConfigError


def _pos(name: str, v: float, allow_zero: bool = False) -> float:
    v = float(v)
    if not math.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        raise ConfigError(f"{name} = {v}: must be a finite number {'>= 0' if allow_zero else '> 0'}")
    return v


def effective_diffusivity(D: float, porosity: float, tortuosity: float, constrictivity: float = 1.0) -> float:
    """``D_eff = porosity * constrictivity * D / tortuosity`` [length^2/time]."""
    D = _pos("D", D)
    if not 0.0 < porosity <= 1.0:
        raise ConfigError(f"porosity = {porosity}: must lie in (0, 1]")
    if tortuosity < 1.0:
        raise ConfigError(f"tortuosity = {tortuosity}: must be >= 1 (path length / straight length)")
    if not 0.0 < constrictivity <= 1.0:
        raise ConfigError(f"constrictivity = {constrictivity}: must lie in (0, 1]")
    return porosity * constrictivity * D / tortuosity


def bruggeman_tortuosity(porosity: float) -> float:
    """Bruggeman's ``tau = porosity^-1/2`` (random sphere packs)."""
    if not 0.0 < porosity <= 1.0:
        raise ConfigError(f"porosity = {porosity}: must lie in (0, 1]")
    return porosity ** -0.5


_GEOMETRIES = ("slab", "cylinder", "sphere")


def thiele_modulus(length: float, k_v: float, D_eff: float) -> float:
    """``phi = length * sqrt(k_v / D_eff)``; length is the slab half-thickness or the
    cylinder/sphere radius, k_v the volumetric first-order rate constant [1/time]."""
    return _pos("length", length) * math.sqrt(_pos("k_v", k_v, True) / _pos("D_eff", D_eff))


def effectiveness_factor(phi: float | np.ndarray, geometry: str = "slab") -> float | np.ndarray:
    """Internal effectiveness factor (mean rate / rate at surface concentration), first order.

    ``phi`` from :func:`thiele_modulus` (scalar or array); -> 1 as phi -> 0, and
    ~ 1/phi, 2/phi, 3/phi (slab, cylinder, sphere) as phi -> infinity.
    """
    if geometry not in _GEOMETRIES:
        raise ConfigError(f"geometry = {geometry!r}: expected one of {_GEOMETRIES}")
    p = np.asarray(phi, dtype=float)
    if np.any(p < 0):
        raise ConfigError("Thiele modulus must be >= 0")
    small = p < 1e-4
    ps = np.where(small, 1.0, p)
    if geometry == "slab":
        eta = np.tanh(ps) / ps
        series = 1 - p**2 / 3
    elif geometry == "cylinder":
        eta = 2 * special.i1e(ps) / (ps * special.i0e(ps))
        series = 1 - p**2 / 8
    else:
        eta = 3 * (ps / np.tanh(ps) - 1) / ps**2
        series = 1 - p**2 / 15
    out = np.where(small, series, eta)
    return float(out) if np.ndim(phi) == 0 else out


def effective_rate_constant(k_s: float, a_v: float, k_m: float = math.inf, eta: float = 1.0) -> float:
    """Observed first-order volumetric rate constant [1/time] of a reacting porous bed.

    ``1/k_eff = 1/(k_m a_v) + 1/(eta k_s a_v)``: external film transfer (coefficient k_m)
    in series with surface reaction (k_s, reduced by the internal effectiveness factor eta).
    ``k_m = inf`` means no external resistance.
    """
    k_s = _pos("k_s", k_s)
    a_v = _pos("a_v", a_v)
    if not (k_m > 0):
        raise ConfigError(f"k_m = {k_m}: must be > 0 (use math.inf for no film resistance)")
    if not 0.0 < eta <= 1.0 + 1e-12:
        raise ConfigError(f"eta = {eta}: an effectiveness factor lies in (0, 1]")
    r_film = 0.0 if math.isinf(k_m) else 1.0 / (k_m * a_v)
    return 1.0 / (r_film + 1.0 / (eta * k_s * a_v))


def mass_transfer_coefficient(sherwood: float, D: float, length: float) -> float:
    """``k_m = Sh D / length`` [length/time] from a Sherwood-number correlation."""
    return _pos("sherwood", sherwood) * _pos("D", D) / _pos("length", length)
