"""Building meshes, materials and boundary conditions from (duck-typed) case specs."""
from __future__ import annotations

from types import SimpleNamespace as NS

import numpy as np
import pytest

from mscouple.continuum import ElasticStatics, FunctionSpace, HeatConduction
from mscouple.continuum.factory import (apply_boundaries, elastic_material_from_spec, mesh_from_spec, plane_mode,
                                        thermal_material_from_spec)
from mscouple.errors import ConfigError


def test_cantilever_from_specs(serial_comm):
    mesh = mesh_from_spec(serial_comm, NS(kind="graded", lo=(0, 0), hi=(4, 1), cells=(16, 4), simplex=False,
                                          fine_lo=(1, 0), fine_hi=(2, 1), coarsening=3.0), dim=2)
    mat = NS(model="isotropic", youngs_modulus=2.0, poisson_ratio=0.0, density=1.0, plane="stress",
             conductivity=1.0, heat_capacity=1.0)
    V = FunctionSpace(mesh, 2)
    prob = ElasticStatics(V, elastic_material_from_spec(mat), mode=plane_mode(mat), rtol=1e-13)
    apply_boundaries(prob, [NS(where="xmin", kind="displacement", value=(0.0,)),
                            NS(where="xmax", kind="traction", value=(0.5, 0.0))])
    u = prob.solve()
    X = mesh.coordinates[mesh.owned_nodes]
    assert np.abs(V.owned(u)[:, 0] - 0.25 * X[:, 0]).max() < 1e-10  # σ = 0.5, E = 2, ν = 0
    with pytest.raises(ConfigError):
        apply_boundaries(prob, [NS(where="xmin", kind="temperature", value=(1.0,))])
    th = thermal_material_from_spec(NS(conductivity=2.0, density=3.0, heat_capacity=0.5))
    assert th.rho_c == 1.5
    heat = HeatConduction(FunctionSpace(mesh, 1), th, dt=0.1)
    bcs = apply_boundaries(heat, [NS(where="left", kind="temperature", value=(1.0,)),
                                  NS(where="right", kind="heat_flux", value=(0.2,))])
    assert len(bcs) == 1
    cub = elastic_material_from_spec(NS(model="from_patch", density=1.0), constants=(3.0, 1.0, 1.5))
    assert cub.C[0, 0] == 3.0 and cub.C[3, 3] == 1.5
    with pytest.raises(ConfigError):
        elastic_material_from_spec(NS(model="from_patch", density=1.0))
