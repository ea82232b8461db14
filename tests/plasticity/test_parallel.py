"""Rank independence: the plasticity solver with GND (recovery across the partition, with
and without the recovery length ℓ) gives the same answer on the comm's ranks as on one rank."""
from __future__ import annotations

import numpy as np
import pytest

from mscouple.plasticity.size_effect import material

MAT = material(47658.0, 137968.0, 2.556e-4, 0.24, 77.4, 20.95)


def _notched(comm, ell=0.0):
    from mscouple.continuum.mesh import Mesh
    from mscouple.continuum.space import FunctionSpace
    from mscouple.plasticity.solver import PlasticityProblem
    from mscouple.plasticity.specimens import notched_plate

    mesh = Mesh(comm, notched_plate(8) if comm.Get_rank() == 0 else None)
    pb = PlasticityProblem(FunctionSpace(mesh, 2), MAT, gnd=True, rtol=1e-11, gnd_length=ell)
    pb.add_dirichlet("ymin", 0.0)
    top = pb.add_dirichlet("ymax", [0.0, 0.2])
    pb.solve(1.0, 4)
    F = pb.reaction(top, 1)
    rho_g = pb.integrate(pb.state.rho_g)  # ∫ ρ_G dx
    ep = pb.integrate(pb.state.ep_bar)
    pb.destroy()
    return F, rho_g, ep


@pytest.mark.mpi(min_size=2)
@pytest.mark.parametrize("ell", [0.0, 1.0], ids=["lumped", "ell=1um"])
def test_notched_plate_with_gnd_is_rank_independent(comm, ell):
    from mpi4py import MPI

    par = _notched(comm, ell)
    ser = _notched(MPI.COMM_SELF, ell)
    assert par[1] > 0
    assert np.allclose(par, ser, rtol=1e-7), (par, ser)
