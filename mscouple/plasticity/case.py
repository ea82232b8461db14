"""The dislocation-density material of a case file (``continuum.material.model = "dislocation_density"``).

Elastic moduli and the Burgers vector come from ``potential_file`` (an EAM setfl file,
metal units: eV/Å³ and Å): the Hill average of the Cauchy–Born constants of the relaxed
``lattice`` and b = its nearest-neighbour distance (:mod:`.parameters`); without a file,
from ``youngs_modulus``, ``poisson_ratio`` and ``burgers`` in the case's units. α, k₁,
k₂, ρ₀, M, r̄ are read as given (k₁ in 1/length, ρ₀ in 1/length² of the case's units).

With ``patch`` (the continuum around an atomistic patch, Schwarz statics) they come from
that patch's own lattice and potential (:func:`mscouple.builders.patch_constants`, the
Cauchy–Born constants at its zero-stress lattice constant a₀, in the case's units), so that
below yield the continuum has the stiffness of the atoms:

* triangular sheet (2D, plane strain): μ = C66, λ = C12, K = λ + 2μ/3, b = a₀ (the
  nearest-neighbour distance). The lattice is elastically isotropic (C11 = C12 + 2 C66), so
  the 2D stiffness of the J2 material is exactly the Cauchy–Born one;
* cubic lattices: the Hill average of C11, C12, C44 (:func:`.parameters.isotropic_average`)
  and b = the nearest-neighbour distance. A cubic crystal is anisotropic: the isotropic
  continuum then matches the atoms only on average (not to round-off).
"""
from __future__ import annotations

from typing import Any

from .hardening import DislocationHardening
from .j2 import J2DislocationMaterial


def patch_moduli(patch: Any) -> tuple[float, float, float]:
    """(K, μ, b) of a patch's lattice and potential (module docstring; case units)."""
    import math

    from mscouple.builders import patch_constants
    from mscouple.errors import ConfigError

    from .parameters import isotropic_average

    cb = patch_constants(patch)
    kind = patch.lattice.kind
    if kind == "triangular":
        c11, c12, c66 = float(cb.C[0, 0]), float(cb.C[0, 1]), float(cb.C[5, 5])
        if not (c66 > 0 and c12 + 2 * c66 / 3 > 0 and abs(c11 - c12 - 2 * c66) <= 1e-8 * c11):
            raise ConfigError(f"continuum.material.patch = {patch.name!r}: the triangular lattice's constants "
                              f"C11 = {c11:.6g}, C12 = {c12:.6g}, C66 = {c66:.6g} are not an isotropic, stable set")
        return c12 + 2 * c66 / 3, c66, cb.a0
    nn = {"fcc": 1 / math.sqrt(2.0), "bcc": math.sqrt(3.0) / 2, "sc": 1.0}
    if kind not in nn:
        raise ConfigError(f"continuum.material.patch = {patch.name!r}: a {kind} lattice gives no plane-strain or "
                          "3D moduli; expected a triangular (2D) or cubic (fcc, bcc, sc) lattice")
    if not (cb.c11 > abs(cb.c12) and cb.c44 > 0):
        raise ConfigError(f"continuum.material.patch = {patch.name!r}: C11 = {cb.c11:.6g}, C12 = {cb.c12:.6g}, "
                          f"C44 = {cb.c44:.6g} are not stable")
    K, mu = isotropic_average(cb.c11, cb.c12, cb.c44, "hill")
    return K, mu, nn[kind] * cb.a0


def material_from_spec(mat: Any, patch: Any = None) -> J2DislocationMaterial:
    """:class:`J2DislocationMaterial` of a validated ``[continuum.material]`` section;
    ``patch``: the patch spec named by ``mat.patch`` (moduli and b from it)."""
    if patch is not None:
        K, mu, b = patch_moduli(patch)
    elif mat.potential_file:
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
