"""Linear-elastic and thermal materials.

:class:`ElasticMaterial` stores the 3D stiffness in Voigt notation (order xx, yy, zz, yz,
xz, xy; engineering shear strains) and reduces it to 1D (uniaxial stress: a bar with free
lateral faces, E = 1/S₁₁), 2D plane strain (ε_zz = ε_xz = ε_yz = 0) or plane stress
(σ_zz = σ_xz = σ_yz = 0, static condensation), returning the fourth-order tensor
``C[i, k, j, l]`` (σ_ik = C_ikjl ε_jl) in ``dim`` dimensions.

Cubic crystals (C11, C12, C44) are given in the crystal axes, which coincide with x, y, z;
this is how constants computed from an atomistic potential enter the continuum.

Units: the case's unit system throughout (LJ: ε/σ³ and m/σ³; metal: C in eV/Å³, density
in g/mol/Å³ = amu/Å³, conductivity eV/(ps Å K), heat capacity eV/(amu K)). In metal units
ρ ü = div σ needs the factor ``mvv2e`` (amu Å²/ps² → eV, :mod:`mscouple.units`): the
material carries it, and the inertia of the dynamics is ``mvv2e · density``
(:attr:`ElasticMaterial.inertial_density`); masses themselves stay in mass units, as the
atoms' do. Heat conduction needs no conversion (ρ c in eV/(Å³ K)).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mscouple.errors import ConfigError

_VOIGT = {(0, 0): 0, (1, 1): 1, (2, 2): 2, (1, 2): 3, (2, 1): 3, (0, 2): 4, (2, 0): 4, (0, 1): 5, (1, 0): 5}
_VOIGT2 = {(0, 0): 0, (1, 1): 1, (0, 1): 2, (1, 0): 2}


@dataclass(frozen=True)
class ElasticMaterial:
    """Linear elastic solid: Voigt stiffness ``C`` [6, 6] (energy/volume), ``density``
    (mass/volume) and ``mvv2e`` (the unit system's mass·velocity² → energy factor; 1 in LJ
    units)."""

    C: np.ndarray
    density: float = 1.0
    mvv2e: float = 1.0

    def __post_init__(self):
        C = np.asarray(self.C, dtype=float)
        if C.shape != (6, 6) or not np.allclose(C, C.T):
            raise ConfigError("elastic stiffness must be a symmetric 6x6 Voigt matrix")
        if np.linalg.eigvalsh(C).min() < 0:
            raise ConfigError("elastic stiffness is not positive semi-definite: check C11, C12, C44 or E, nu")
        if not self.density > 0:
            raise ConfigError(f"density must be positive, got {self.density}")
        if not self.mvv2e > 0:
            raise ConfigError(f"mvv2e must be positive, got {self.mvv2e}")
        object.__setattr__(self, "C", C)

    @property
    def inertial_density(self) -> float:
        """ρ · mvv2e: the density in energy·time²/length⁵, so that ρ ü = div σ holds in
        the case's units (= density in LJ units)."""
        return self.density * self.mvv2e

    @classmethod
    def isotropic(cls, E: float, nu: float, density: float = 1.0, mvv2e: float = 1.0) -> "ElasticMaterial":
        """Young's modulus ``E`` and Poisson ratio ``nu`` (−1 < ν < 1/2)."""
        if not (E > 0 and -1.0 < nu < 0.5):
            raise ConfigError(f"isotropic material needs E > 0 and -1 < nu < 0.5, got E={E}, nu={nu}")
        lam = E * nu / ((1 + nu) * (1 - 2 * nu))
        mu = E / (2 * (1 + nu))
        return cls.from_lame(lam, mu, density, mvv2e)

    @classmethod
    def from_lame(cls, lam: float, mu: float, density: float = 1.0, mvv2e: float = 1.0) -> "ElasticMaterial":
        C = np.zeros((6, 6))
        C[:3, :3] = lam
        C[np.arange(3), np.arange(3)] = lam + 2 * mu
        C[np.arange(3, 6), np.arange(3, 6)] = mu
        return cls(C, density, mvv2e)

    @classmethod
    def cubic(cls, C11: float, C12: float, C44: float, density: float = 1.0,
              mvv2e: float = 1.0) -> "ElasticMaterial":
        """Cubic crystal with cube axes along x, y, z (stable when C11 > |C12|, C11 + 2C12 > 0, C44 > 0)."""
        if not (C11 > abs(C12) and C11 + 2 * C12 > 0 and C44 > 0):
            raise ConfigError(f"cubic constants C11={C11}, C12={C12}, C44={C44} are not mechanically stable")
        C = np.zeros((6, 6))
        C[:3, :3] = C12
        C[np.arange(3), np.arange(3)] = C11
        C[np.arange(3, 6), np.arange(3, 6)] = C44
        return cls(C, density, mvv2e)

    def voigt(self, dim: int, mode: str = "plane_strain") -> np.ndarray:
        """Reduced Voigt stiffness: [1,1] (1D bar), [3,3] (2D: xx, yy, xy) or [6,6]."""
        C = self.C
        if dim == 3:
            return C.copy()
        if dim == 2:
            a = [0, 1, 5]
            if mode == "plane_strain":
                return C[np.ix_(a, a)].copy()
            if mode == "plane_stress":
                b = [2, 3, 4]
                return C[np.ix_(a, a)] - C[np.ix_(a, b)] @ np.linalg.solve(C[np.ix_(b, b)], C[np.ix_(b, a)])
            raise ConfigError(f"2D mode must be 'plane_strain' or 'plane_stress', got {mode!r}")
        if dim == 1:
            return np.array([[1.0 / np.linalg.inv(C)[0, 0]]])
        raise ConfigError(f"dimension must be 1, 2 or 3, got {dim}")

    def tensor(self, dim: int, mode: str = "plane_strain") -> np.ndarray:
        """Stiffness tensor C[i, k, j, l] [dim]*4 with σ_ik = C_ikjl ε_jl."""
        D = self.voigt(dim, mode)
        idx = _VOIGT if dim == 3 else _VOIGT2 if dim == 2 else {(0, 0): 0}
        T = np.zeros((dim,) * 4)
        for i in range(dim):
            for k in range(dim):
                for j in range(dim):
                    for l in range(dim):
                        T[i, k, j, l] = D[idx[(i, k)], idx[(j, l)]]
        return T

    def wave_speed(self, dim: int, mode: str = "plane_strain") -> float:
        """Upper bound of the elastic wave speeds √(λ_max(C_acoustic)/ρ) over directions (bounded by max Voigt diagonal)."""
        D = self.voigt(dim, mode)
        return float(np.sqrt(np.linalg.eigvalsh(D).max() / self.inertial_density))


@dataclass(frozen=True)
class ThermalMaterial:
    """Heat conduction: conductivity ``k`` (W/(m K)), density × specific heat ``rho_c`` (J/(m³ K))."""

    conductivity: float
    rho_c: float = 1.0

    def __post_init__(self):
        if not (self.conductivity > 0 and self.rho_c > 0):
            raise ConfigError(f"thermal material needs conductivity > 0 and rho_c > 0, got {self}")

    @property
    def diffusivity(self) -> float:
        return self.conductivity / self.rho_c
