"""The cascade on 2 ranks equals the serial cascade (same adaptive steps, positions to
round-off over the first 0.02 ps, same Wigner–Seitz counts)."""
import os

import numpy as np
import pytest
from mpi4py import MPI

from mscouple.atomistic.eam import EAM
from mscouple.atomistic.lattice import fcc
from mscouple.atomistic.system import MDSystem
from mscouple.cascade.run import CascadeSpec, run_cascade
from mscouple.cascade.zbl import join_zbl

CU = os.path.join(os.path.dirname(__file__), "..", "data", "Cu_zhou04.eam.alloy")


def cascade(comm):
    pot = join_zbl(EAM.from_file(CU), [29])
    x, box = fcc(3.615, (6, 6, 6))  # 2 ranks need >= 2 (cutoff + skin)
    s = MDSystem(comm, box, x, pot, masses=63.546, units="metal", dt=1e-3, skin=1.0, sort_every=0)
    spec = CascadeSpec(energy=200.0, direction=(0.13, 0.35, 0.93), duration=0.02, xmax=0.03,
                       frame_every=0.005, border_width=2.5, relax_fmax=0.0)
    r = run_cascade(s, x, spec)
    return r, s.gather("x"), s.gather("v")


@pytest.mark.mpi(min_size=2)
def test_two_ranks_equal_serial():
    world = MPI.COMM_WORLD
    # the 6³-cell block splits over at most 2 ranks per direction (cutoff + skin): run it on
    # 2 ranks of the job whatever its size (the others have nothing to compare)
    pair = world.Split(0 if world.Get_rank() < 2 else MPI.UNDEFINED, world.Get_rank())
    if pair == MPI.COMM_NULL:
        return
    r2, x2, v2 = cascade(pair)
    r1, x1, v1 = cascade(MPI.COMM_SELF)
    assert r1.steps == r2.steps
    np.testing.assert_allclose(r2.history["time"], r1.history["time"], rtol=1e-10)
    np.testing.assert_allclose(x2, x1, atol=1e-8)
    np.testing.assert_allclose(v2, v1, atol=1e-6)
    np.testing.assert_array_equal(r2.history["n_frenkel"], r1.history["n_frenkel"])
    np.testing.assert_allclose(r2.history["e_balance"], r1.history["e_balance"], atol=1e-8)
