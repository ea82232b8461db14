"""Dislocation-density flow stress: Taylor hardening with Kocks–Mecking storage and recovery.

Physics (one material point, equivalent plastic strain ε̄ᵖ of J2 plasticity):

    σ_f   = σ₀ + M α μ b √(ρ_S + ρ_G)                       (Taylor, 1934)
    dρ_S/dε̄ᵖ = M (k₁ √ρ_S − k₂ ρ_S)                          (Kocks & Mecking, Prog. Mater. Sci. 48 (2003) 171)

M is the Taylor factor (shear on the slip systems per tensile strain; 3.06 for random fcc),
α the Taylor constant, μ the shear modulus, b the Burgers vector length, k₁ the storage
coefficient (1/length), k₂ the dynamic-recovery coefficient, ρ_G the geometrically
necessary density (given; :mod:`.gnd`). With x = √ρ_S the evolution law is linear,

    dx/dε̄ᵖ = (M/2)(k₁ − k₂ x)  ⇒  x(ε̄ᵖ) = s + (x₀ − s) exp(−M k₂ ε̄ᵖ / 2),   s = k₁/k₂

(k₂ = 0: x = x₀ + M k₁ ε̄ᵖ / 2), so an increment Δ of ε̄ᵖ is integrated *exactly* from
the state at its start: the return mapping has no time-integration error in ρ_S.

Units: any consistent set, stated by the caller (the size-effect examples use MPa, μm,
μm⁻²: ρ = 1 μm⁻² is 10¹² m⁻²). ρ in 1/length², b in length, k₁ in 1/length, k₂ and M, α
dimensionless, σ₀ and μ in stress.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mscouple.errors import ConfigError


@dataclass(frozen=True)
class DislocationHardening:
    """Taylor flow stress with Kocks–Mecking SSD evolution (see the module docstring).

    ``mu``: shear modulus in the Taylor law (stress); ``b``: Burgers vector (length);
    ``alpha``, ``taylor_factor`` (M), ``k1`` (1/length), ``k2``; ``rho0``: initial SSD
    density (1/length²); ``sigma0``: lattice friction (stress, default 0); ``rbar``: Nye
    factor of ρ_G = r̄ |∇ε̄ᵖ| / b (1.90 for fcc, Arsenlis & Parks, Acta Mater. 47 (1999) 1597).
    """

    mu: float
    b: float
    alpha: float
    k1: float
    k2: float
    rho0: float
    taylor_factor: float = 3.06
    sigma0: float = 0.0
    rbar: float = 1.90

    def __post_init__(self):
        for name in ("mu", "b", "alpha", "rho0", "taylor_factor"):
            v = getattr(self, name)
            if not (np.isfinite(v) and v > 0):
                raise ConfigError(f"dislocation_density: {name} = {v!r}: expected a positive number")
        for name in ("k1", "k2", "sigma0", "rbar"):
            v = getattr(self, name)
            if not (np.isfinite(v) and v >= 0):
                raise ConfigError(f"dislocation_density: {name} = {v!r}: expected a number >= 0")

    # ------------------------------------------------------------------ SSD density
    @property
    def taylor_stress(self) -> float:
        """M α μ b (stress·length): σ_f − σ₀ = M α μ b √ρ."""
        return self.taylor_factor * self.alpha * self.mu * self.b

    def sqrt_rho(self, x0: np.ndarray, dep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """x = √ρ_S after a plastic increment ``dep`` from x0, and dx/d(dep) (exact)."""
        M = self.taylor_factor
        if self.k2 == 0.0:
            x = x0 + 0.5 * M * self.k1 * dep
            return x, np.full_like(x, 0.5 * M * self.k1)
        s = self.k1 / self.k2
        x = s + (x0 - s) * np.exp(-0.5 * M * self.k2 * dep)
        return x, 0.5 * M * self.k2 * (s - x)

    def rho_ssd(self, ep: np.ndarray) -> np.ndarray:
        """ρ_S(ε̄ᵖ) from ρ₀ along a monotonic history (closed form)."""
        x, _ = self.sqrt_rho(np.sqrt(self.rho0), np.asarray(ep, dtype=float))
        return x * x

    # ------------------------------------------------------------------ flow stress
    def flow_stress(self, x0: np.ndarray, dep: np.ndarray, rho_g: np.ndarray | float = 0.0
                    ) -> tuple[np.ndarray, np.ndarray]:
        """σ_f and H = dσ_f/d(dep) after an increment ``dep`` from √ρ_S = x0, with ρ_G fixed."""
        x, dx = self.sqrt_rho(x0, dep)
        root = np.sqrt(x * x + rho_g)
        sf = self.sigma0 + self.taylor_stress * root
        H = self.taylor_stress * x * dx / np.where(root > 0, root, 1.0)
        return sf, H

    def uniaxial_stress(self, ep: np.ndarray, rho_g: float = 0.0) -> np.ndarray:
        """Tensile flow stress σ_f(ε̄ᵖ) along a monotonic history (closed form, ρ_G fixed)."""
        return self.flow_stress(np.sqrt(self.rho0), np.asarray(ep, dtype=float), rho_g)[0]
