"""Continuum finite elements on PETSc (DMPlex meshes, P1/Q1 spaces, elasticity, heat).

Everything here lives on the continuum communicator passed in (``comm`` first; PETSc
objects are created on it, never on the global communicator). Pieces:

- :mod:`.mesh` — :class:`Mesh` (DMPlex, distributed): box/graded/Gmsh meshes, per-rank
  coordinates [n_nodes, dim], connectivity [n_cells, npc], global node numbers, owned mask,
  boundary facets by name, :meth:`Mesh.locate` (cell + shape functions of points);
- :mod:`.space` — :class:`FunctionSpace` (scalar/vector P1/Q1): PETSc vectors, owned views,
  ghost scatter (:meth:`~FunctionSpace.to_local`, :meth:`~FunctionSpace.add_local`), output arrays;
- :mod:`.assembly` — bulk CSR assembly of batched element matrices;
- :mod:`.materials` — isotropic/cubic elasticity (1D bar, plane strain/stress, 3D), thermal;
- :mod:`.elasticity` — :class:`ElasticStatics` (CG+GAMG, rigid-body near-null space) and
  :class:`ExplicitElastodynamics` (lumped mass, central difference in kick/drift/force pieces,
  per-cell energy weight, CFL estimate, energies);
- :mod:`.heat` — :class:`HeatConduction` (backward Euler / Crank–Nicolson, nodal heat power,
  per-step Dirichlet values, thermal energy);
- :mod:`.loads` — body/boundary loads and :class:`DirichletBC`;
- :mod:`.factory` — the same objects from the case's typed specs (mesh, material, boundaries).

See ``docs/continuum.md``.
"""
from __future__ import annotations

from .._lazy import lazy_exports

# Lazy re-exports (PEP 562): importing a pure-NumPy submodule (meshgen, reference,
# materials: used by the pre-flight check on every rank) must not import petsc4py, which
# would initialise PETSc on COMM_WORLD before the run gives it the continuum comm.
_EXPORTS = {
    "ElasticStatics": "elasticity", "ExplicitElastodynamics": "elasticity",
    "HeatConduction": "heat",
    "DirichletBC": "loads", "body_load": "loads", "boundary_load": "loads",
    "ElasticMaterial": "materials", "ThermalMaterial": "materials",
    "Mesh": "mesh",
    "MeshData": "meshgen", "box": "meshgen", "graded_box": "meshgen", "grading_map": "meshgen",
    "read_gmsh": "meshgen",
    "FunctionSpace": "space",
}

__all__ = ["Mesh", "MeshData", "FunctionSpace", "ElasticMaterial", "ThermalMaterial", "ElasticStatics",
           "ExplicitElastodynamics", "HeatConduction", "DirichletBC", "body_load", "boundary_load",
           "box", "graded_box", "grading_map", "read_gmsh"]


__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
