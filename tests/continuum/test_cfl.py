"""The PETSc-free CFL limit (mscouple.continuum.cfl) equals ExplicitElastodynamics.stable_dt."""
from __future__ import annotations

import numpy as np
import pytest
from mpi4py import MPI

from mscouple.continuum import ElasticMaterial, ExplicitElastodynamics, FunctionSpace, Mesh
from mscouple.continuum.cfl import stable_dt


@pytest.mark.parametrize("n, lo, hi, simplex, mat, mode", [
    ([7], [0.0], [3.5], True, ElasticMaterial.isotropic(2.0, 0.0, density=1.5), "plane_strain"),
    ([4, 3], [0.0, 0.0], [2.0, 1.2], True, ElasticMaterial.isotropic(1.0, 0.3), "plane_strain"),
    ([4, 3], [0.0, 0.0], [2.0, 1.2], False, ElasticMaterial.isotropic(1.0, 0.3), "plane_stress"),
    ([3, 2, 2], [0.0, 0.0, 0.0], [1.5, 1.0, 0.7], True, ElasticMaterial.cubic(3.0, 1.2, 0.8, density=2.0), "plane_strain"),
    ([3, 2, 2], [0.0, 0.0, 0.0], [1.5, 1.0, 0.7], False, ElasticMaterial.cubic(3.0, 1.2, 0.8), "plane_strain"),
])
def test_numpy_cfl_equals_petsc_stable_dt(n, lo, hi, simplex, mat, mode):
    """Same element bound (largest eigenvalue of lumped-mass-scaled K_e), so the two agree
    to round-off (1e-12 relative); with a weight that switches cells off, both skip them."""
    comm = MPI.COMM_SELF
    mesh = Mesh.box(comm, n, lo, hi, simplex=simplex)
    X = mesh.cell_coordinates()
    w = np.ones(mesh.n_cells)
    w[: mesh.n_cells // 2] = 0.0  # cells off (an atoms-only core) do not limit dt
    for weight in (None, w):
        prob = ExplicitElastodynamics(FunctionSpace(mesh, mesh.dim), mat, mode=mode, cell_weight=weight)
        ref = prob.stable_dt()
        got = stable_dt(X, mesh.cell_type, mat, mode, active=None if weight is None else weight > 0)
        assert got == pytest.approx(ref, rel=1e-12)
        prob.destroy()


def test_cfl_of_a_1d_bar_is_h_over_c():
    """Lumped linear bar element: ω_max = 2c/h, so dt_stable = safety · h / c exactly."""
    mat = ElasticMaterial.isotropic(4.0, 0.0, density=1.0)  # c = 2
    X = np.array([[[0.0], [0.5]], [[0.5], [1.0]]])
    assert stable_dt(X, "interval", mat, safety=1.0) == pytest.approx(0.5 / 2.0, rel=1e-14)
