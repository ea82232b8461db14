"""Fit on the thickest specimen, predict the thinner ones: the size-effect validation.

The SSD parameters (α, k₁, k₂) are fitted — least squares in the relative error, over the
points of the *thickest* specimen only — with μ, K, b from the atomistic potential (Cu) or
handbook values (Ni), ρ₀, M, r̄ fixed. The thinner specimens are then predicted with the
same constants: their extra strength comes only from ρ_G = r̄|∇ε̄ᵖ|/b, i.e. from b and the
specimen size. Per size, the error is the mean |model − experiment| / experiment over the
tabulated strains (:mod:`.experiments` — approximate data, read its provenance note).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy.optimize import least_squares

from .hardening import DislocationHardening
from .j2 import J2DislocationMaterial
from .reduced import bending_curve, torsion_curve


@dataclass(frozen=True)
class SizeEffectResult:
    """Fitted (α, k₁, k₂), the model's curves and the mean relative error per size."""

    alpha: float
    k1: float
    k2: float
    sizes: tuple
    model: dict
    error: dict


def material(shear: float, bulk: float, burgers: float, alpha: float, k1: float, k2: float,
             rho0: float = 1.0, taylor_factor: float = 3.06, rbar: float = 1.90) -> J2DislocationMaterial:
    """J2 + Taylor/Kocks–Mecking material in MPa, μm (ρ₀ in μm⁻²; 1 μm⁻² = 10¹² m⁻²)."""
    hd = DislocationHardening(mu=shear, b=burgers, alpha=alpha, k1=k1, k2=k2, rho0=rho0,
                              taylor_factor=taylor_factor, rbar=rbar)
    return J2DislocationMaterial(bulk, shear, hd)


def fit_and_predict(test: str, data: dict, strain: np.ndarray, shear: float, bulk: float, burgers: float,
                    rho0: float = 1.0, x0=(0.3, 30.0, 3.0), steps: int = 120, elements: int = 16
                    ) -> SizeEffectResult:
    """``test`` = "torsion" (data keyed by diameter, curve Q/a³) or "bending" (keyed by
    thickness, curve M/(w h²)); fit on the largest key, predict all."""
    curve: Callable = torsion_curve if test == "torsion" else bending_curve
    scale = 0.5 if test == "torsion" else 1.0  # torsion_curve takes the radius

    def model(params, size):
        a, k1, k2 = params
        mat = material(shear, bulk, burgers, a, k1, k2, rho0)
        return curve(mat, scale * size, strain, steps=steps, elements=elements)

    thick = max(data)

    def resid(logp):
        return model(np.exp(logp), thick) / data[thick] - 1.0

    sol = least_squares(resid, np.log(np.asarray(x0, dtype=float)), x_scale=1.0, xtol=1e-8, ftol=1e-10,
                        bounds=(np.log([0.05, 1e-2, 1e-3]), np.log([2.0, 1e4, 1e3])))
    p = np.exp(sol.x)
    curves, errors = {}, {}
    for size in sorted(data, reverse=True):
        curves[size] = model(p, size)
        errors[size] = float(np.mean(np.abs(curves[size] / data[size] - 1.0)))
    return SizeEffectResult(float(p[0]), float(p[1]), float(p[2]), tuple(sorted(data, reverse=True)), curves, errors)
