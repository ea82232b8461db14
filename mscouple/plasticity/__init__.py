"""Small-strain plasticity with dislocation-density hardening (SSD + GND) on the FE engine.

- :mod:`.hardening` — Taylor flow stress σ_f = σ₀ + M α μ b √(ρ_S + ρ_G), Kocks–Mecking
  SSD evolution integrated exactly per increment (:class:`DislocationHardening`);
- :mod:`.j2` — von Mises radial return and consistent tangent, vectorised over points
  (:class:`J2DislocationMaterial`, :class:`PointState`);
- :mod:`.gnd` — nodal (lumped L²) recovery of ε̄ᵖ and ρ_G = r̄ |∇ε̄ᵖ| / b;
- :mod:`.solver` — :class:`PlasticityProblem`: Newton + PETSc KSP on the space's
  communicator (monolithic in u and the nodal ε̄ᵖ with GND; optional B-bar), tangent
  predictor, proportional load stepping with cut-backs, XDMF output of the densities;
- :mod:`.coupled` — the plastic continuum around an atomistic patch in Schwarz statics
  (:class:`PlasticSchwarzContinuum`, :func:`schwarz_load_steps`; from a case file through
  :mod:`mscouple.run.plastic`);
- :mod:`.parameters` — μ and b from the Cauchy–Born constants of an atomistic potential;
- :mod:`.reduced` — torsion of a wire (1D radial) and bending of a foil (1D through the
  thickness) with the same material point, for the size-effect comparisons;
- :mod:`.experiments` — the experimental size-effect curves used for validation.

Only :mod:`.solver` (and :mod:`.coupled`, through it) imports petsc4py (lazy exports, as in :mod:`mscouple.continuum`).
"""
from __future__ import annotations

from .._lazy import lazy_exports

_EXPORTS = {
    "DislocationHardening": "hardening",
    "J2DislocationMaterial": "j2", "PointState": "j2", "von_mises": "j2",
    "PlasticityProblem": "solver",
    "PlasticSchwarzContinuum": "coupled", "schwarz_load_steps": "coupled",
    "copper_parameters": "parameters", "isotropic_average": "parameters",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
