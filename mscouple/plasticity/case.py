"""The dislocation-density material of a case file (``continuum.material.model = "dislocation_density"``).

Elastic moduli and the Burgers vector come from ``potential_file`` (an EAM setfl file,
metal units: eV/Å³ and Å): the Hill average of the Cauchy–Born constants of the relaxed
``lattice`` and b = its nearest-neighbour distance (:mod:`.parameters`); without a file,
from ``youngs_modulus``, ``poisson_ratio`` and ``burgers`` in the case's units. α, k₁,
k₂, ρ₀, M, r̄ are read as given (k₁ in 1/length, ρ₀ in 1/length² of the case's units).
"""
from __future__ import annotations

from typing import Any

from .hardening import DislocationHardening
from .j2 import J2DislocationMaterial


def material_from_spec(mat: Any) -> J2DislocationMaterial:
    """:class:`J2DislocationMaterial` of a validated ``[continuum.material]`` section."""
    if mat.potential_file:
        from mscouple.atomistic.eam import EAM

        from .parameters import from_potential

        pot = EAM.from_file(mat.potential_file)
        p = from_potential(pot, mat.lattice, mat.lattice_constant)
        K, mu, b = p.bulk, p.shear, p.burgers
    else:
        E, nu = mat.youngs_modulus, mat.poisson_ratio
        K, mu, b = E / (3 * (1 - 2 * nu)), E / (2 * (1 + nu)), mat.burgers
    hd = DislocationHardening(mu=mu, b=b, alpha=mat.alpha, k1=mat.k1, k2=mat.k2, rho0=mat.rho0,
                              taylor_factor=mat.taylor_factor, rbar=mat.rbar)
    return J2DislocationMaterial(K, mu, hd)
