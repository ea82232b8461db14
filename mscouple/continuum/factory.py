"""Build continuum objects from the case's typed specs (duck-typed on attribute names).

The run layer (``mscouple.run``) validates the case into ``MeshSpec``,
``MaterialSpec``, ``BoundarySpec`` objects (:mod:`mscouple.config`); these helpers turn
them into a :class:`~.mesh.Mesh`, materials, and boundary conditions on a problem. Only
attributes are read, so this module does not import the config module.

================  ================================================================
spec field        meaning here
================  ================================================================
mesh.kind         ``box`` | ``graded`` (``fine_lo``/``fine_hi``, ``coarsening`` = coarse/fine spacing) | ``gmsh`` (``file``)
material.model    ``isotropic`` (E, ν) | ``cubic`` (C11, C12, C44) | ``from_patch`` (constants given by the caller)
material.plane    ``strain`` | ``stress`` (2D)
boundary.kind     ``displacement`` | ``traction`` | ``force`` (per node) | ``temperature`` | ``heat_flux``
================  ================================================================
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from mpi4py import MPI

from mscouple.errors import ConfigError

from .elasticity import ElasticStatics, ExplicitElastodynamics
from .heat import HeatConduction
from .materials import ElasticMaterial, ThermalMaterial
from .mesh import Mesh


def mesh_from_spec(comm: MPI.Comm, spec: Any, dim: int) -> Mesh:
    """A distributed :class:`Mesh` from a mesh spec (kind, lo, hi, cells, simplex, file, fine_lo, fine_hi, coarsening)."""
    kind = getattr(spec, "kind", "box")
    if kind == "gmsh":
        return Mesh.from_gmsh(comm, spec.file, dim=dim)
    cells = tuple(int(c) for c in spec.cells)
    if len(cells) != dim:
        raise ConfigError(f"continuum.mesh.cells needs {dim} values, got {list(cells)}")
    simplex = bool(getattr(spec, "simplex", True))
    if kind == "box":
        return Mesh.box(comm, cells, spec.lo, spec.hi, simplex=simplex)
    if kind == "graded":
        return Mesh.graded_box(comm, cells, spec.lo, spec.hi, spec.fine_lo, spec.fine_hi,
                               ratio=float(spec.coarsening), simplex=simplex)
    raise ConfigError(f"continuum.mesh.kind must be box, graded or gmsh, got {kind!r}")


def elastic_material_from_spec(spec: Any, constants: Sequence[float] | None = None) -> ElasticMaterial:
    """Elastic material; ``model = from_patch`` needs ``constants = (C11, C12, C44)`` from the MD side."""
    model = getattr(spec, "model", "isotropic")
    rho = float(getattr(spec, "density", 1.0))
    if model == "isotropic":
        return ElasticMaterial.isotropic(float(spec.youngs_modulus), float(spec.poisson_ratio), rho)
    if model == "cubic":
        return ElasticMaterial.cubic(float(spec.c11), float(spec.c12), float(spec.c44), rho)
    if model == "from_patch":
        if constants is None or len(constants) != 3:
            raise ConfigError("material.model = 'from_patch' needs (C11, C12, C44) computed from the patch potential")
        return ElasticMaterial.cubic(*[float(c) for c in constants], density=rho)
    raise ConfigError(f"material.model must be isotropic, cubic or from_patch, got {model!r}")


def thermal_material_from_spec(spec: Any) -> ThermalMaterial:
    """ρc = density × heat_capacity (per unit mass)."""
    return ThermalMaterial(float(spec.conductivity), float(spec.density) * float(spec.heat_capacity))


def plane_mode(spec: Any) -> str:
    """``plane_strain`` or ``plane_stress`` from ``material.plane``."""
    return "plane_" + getattr(spec, "plane", "strain")


def apply_boundaries(problem: Any, boundaries: Sequence[Any]) -> list:
    """Add every boundary spec (where, kind, value) to an elasticity or heat problem.

    Returns the Dirichlet conditions created (their values can be changed per step).
    """
    bcs = []
    elastic = isinstance(problem, (ElasticStatics, ExplicitElastodynamics))
    for i, b in enumerate(boundaries):
        kind, where, value = b.kind, b.where, list(b.value)
        mech = kind in ("displacement", "traction", "force")
        if mech != elastic or (not elastic and not isinstance(problem, HeatConduction)):
            raise ConfigError(f"continuum.boundary[{i}].kind = {kind!r} does not apply to {type(problem).__name__}")
        val = value[0] if len(value) == 1 else value
        comps = list(getattr(b, "components", ()) or ())
        if kind == "displacement" and comps:
            # some components only (rollers): the listed ones take the values, in order
            full = np.zeros(problem.space.ncomp)
            full[comps] = value
            bcs.append(problem.add_dirichlet(where, full, comps))
        elif kind in ("displacement", "temperature"):
            bcs.append(problem.add_dirichlet(where, val))
        elif kind == "traction":
            problem.add_traction(where, value)
        elif kind == "force":
            problem.add_nodal_force(where, value)
        elif kind == "heat_flux":
            problem.add_flux(where, val)
        else:
            raise ConfigError(f"continuum.boundary[{i}].kind {kind!r} is unknown")
    return bcs
