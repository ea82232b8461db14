"""Dimensionless numbers that decide whether a multiscale method's assumptions hold.

Functions for the lead's ``mscouple check`` (:mod:`mscouple.scales`) and for reports:

``peclet(velocity, length, diffusivity) -> float``            Pe = U L / D
``damkohler(rate, length, diffusivity=None, velocity=None) -> float``
    Da = k L^2 / D (reaction vs diffusion; "Da_II") or, with ``velocity``, Da = k L / U
    (reaction vs advection; "Da_I"). ``rate`` is a first-order rate constant [1/time].
``length_ratio(micro, macro) -> float``                      l / H
``timestep_ratio(dt_micro, dt_macro) -> float``              dt_MD / dt_continuum
``scale_numbers(**quantities) -> list[ScaleNumber]``         every number computable from
    the keywords given, each with a ``note`` (empty, or the warning text) saying where the
    scale separation a method assumes fails.

Thresholds (module constants, documented guesses from the HMM literature: E, Engquist et al.,
Commun. Comput. Phys. 2, 367, 2007): homogenization/HMM assume l/H << 1 (we warn at
l/H > ``LENGTH_RATIO_WARN`` = 0.1); a fast/slow split of a reaction assumes Da >> 1
(warn at Da < ``DAMKOHLER_FAST_WARN`` = 10); the quasi-static oracle assumes the MD relaxes
within one macro step (warn when dt_MD/dt_macro > ``TIMESTEP_RATIO_WARN`` = 0.1, i.e. fewer
than 10 micro steps per macro step).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import ConfigError

LENGTH_RATIO_WARN = 0.1
DAMKOHLER_FAST_WARN = 10.0
TIMESTEP_RATIO_WARN = 0.1


@dataclass(frozen=True)
class ScaleNumber:
    """A named dimensionless number; ``note`` is '' or a warning sentence."""

    name: str
    value: float
    note: str = ""

    @property
    def ok(self) -> bool:
        return not self.note


def _pos(name: str, v: float) -> float:
    v = float(v)
    if not (math.isfinite(v) and v > 0):
        raise ConfigError(f"{name} = {v}: must be a finite number > 0")
    return v


def peclet(velocity: float, length: float, diffusivity: float) -> float:
    """Pe = |U| L / D: advection over diffusion."""
    return abs(float(velocity)) * _pos("length", length) / _pos("diffusivity", diffusivity)


def damkohler(rate: float, length: float, diffusivity: float | None = None, velocity: float | None = None) -> float:
    """Da = k L^2 / D (diffusion time / reaction time), or k L / |U| when ``velocity`` is given."""
    k = abs(float(rate))
    L = _pos("length", length)
    if velocity is not None:
        return k * L / _pos("velocity", abs(velocity))
    if diffusivity is None:
        raise ConfigError("damkohler needs diffusivity= (Da = k L^2/D) or velocity= (Da = k L/U)")
    return k * L * L / _pos("diffusivity", diffusivity)


def length_ratio(micro: float, macro: float) -> float:
    """l / H: micro (cell, patch, period) over macro (domain, element, gradient) length."""
    return _pos("micro length", micro) / _pos("macro length", macro)


def timestep_ratio(dt_micro: float, dt_macro: float) -> float:
    """dt_MD / dt_continuum."""
    return _pos("dt_micro", dt_micro) / _pos("dt_macro", dt_macro)


def scale_numbers(*, micro_length: float | None = None, macro_length: float | None = None,
                  velocity: float | None = None, diffusivity: float | None = None,
                  rate: float | None = None, dt_micro: float | None = None,
                  dt_macro: float | None = None) -> list[ScaleNumber]:
    """All numbers computable from the given quantities (consistent units), with warnings.

    Pe and Da use ``macro_length``. Example::

        scale_numbers(micro_length=2.0, macro_length=100.0, dt_micro=0.005, dt_macro=0.5)
    """
    out: list[ScaleNumber] = []
    if micro_length is not None and macro_length is not None:
        r = length_ratio(micro_length, macro_length)
        out.append(ScaleNumber("l/H", r, f"weak scale separation: l/H = {r:.3g} > {LENGTH_RATIO_WARN} "
                               "(homogenized/HMM answers carry O(l/H) errors)" if r > LENGTH_RATIO_WARN else ""))
    if velocity is not None and macro_length is not None and diffusivity is not None:
        out.append(ScaleNumber("Pe", peclet(velocity, macro_length, diffusivity)))
    if rate is not None and macro_length is not None and (diffusivity is not None or velocity is not None):
        da = damkohler(rate, macro_length, diffusivity=diffusivity,
                       velocity=velocity if diffusivity is None else None)
        out.append(ScaleNumber("Da", da, f"reaction not fast: Da = {da:.3g} < {DAMKOHLER_FAST_WARN} "
                               "(a fast-reaction/equilibrium reduction is not justified)" if da < DAMKOHLER_FAST_WARN else ""))
    if dt_micro is not None and dt_macro is not None:
        r = timestep_ratio(dt_micro, dt_macro)
        out.append(ScaleNumber("dt_micro/dt_macro", r, f"only {1 / r:.3g} micro steps per macro step "
                               f"(< {1 / TIMESTEP_RATIO_WARN:.0f}): no time-scale separation" if r > TIMESTEP_RATIO_WARN else ""))
    return out
