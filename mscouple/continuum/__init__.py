"""Continuum finite elements on PETSc (DMPlex meshes, P1/Q1 spaces, elasticity, heat).

Everything here lives on the continuum communicator passed in (``comm`` first; PETSc
objects are created on it, never on PETSc.COMM_WORLD). Pieces:

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

from .elasticity import ElasticStatics, ExplicitElastodynamics  # noqa: F401
from .heat import HeatConduction  # noqa: F401
from .loads import DirichletBC, body_load, boundary_load  # noqa: F401
from .materials import ElasticMaterial, ThermalMaterial  # noqa: F401
from .mesh import Mesh  # noqa: F401
from .meshgen import MeshData, box, graded_box, grading_map, read_gmsh  # noqa: F401
from .space import FunctionSpace  # noqa: F401

__all__ = ["Mesh", "MeshData", "FunctionSpace", "ElasticMaterial", "ThermalMaterial", "ElasticStatics",
           "ExplicitElastodynamics", "HeatConduction", "DirichletBC", "body_load", "boundary_load",
           "box", "graded_box", "grading_map", "read_gmsh"]
