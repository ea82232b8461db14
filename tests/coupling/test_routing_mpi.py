"""Interface atoms that migrate between patch ranks keep their exchange rows (HomeRouting).

A hot LJ crystal (T = 1) on 2–4 ranks: atoms cross sub-box faces and migrate. The interface
set is a slab across the whole box, so some of its atoms change rank. After every update the
routed values must be exactly those of the home atoms (compared with a global gather by id),
and values sent back must land on the atoms they belong to, wherever they live now.
"""
import numpy as np
import pytest

from mscouple.atomistic.lattice import fcc
from mscouple.atomistic.potentials import LennardJones
from mscouple.atomistic.system import MDSystem
from mscouple.coupling.routing import HomeRouting


@pytest.mark.mpi(min_size=2)
def test_home_routing_follows_migrating_atoms(comm):
    x, box = fcc(1.6796, (6, 4, 4))
    s = MDSystem(comm, box, x, LennardJones(cutoff=2.5, mode="smooth"), skin=0.3, sort_every=2)
    s.set_velocities(1.0, seed=5)
    rows = np.flatnonzero(np.asarray(s.x0)[:, 1] < 2.0)  # a slab across the decomposition in x
    route = HomeRouting(comm, s, rows)
    home_ids = route.home_ids.copy()
    routed_max = 0
    for _ in range(30):
        s.run(10)
        route.update()
        routed_max = max(routed_max, route.routed)
        # up: the velocities of the home atoms, in exchange order
        v_all = s.gather("v")  # ordered by id
        got = route.gather(np.asarray(s.v))
        assert np.array_equal(got, v_all[home_ids])
        # down: a value per home row (here: its id) reaches the atom wherever it lives
        r, vals = route.scatter(home_ids.astype(float))
        assert np.array_equal(np.asarray(s.ids)[r].astype(float), vals)
        assert comm.allreduce(r.size) == comm.allreduce(home_ids.size)
    # the test exercised the routed path: some interface atom did change rank
    assert routed_max > 0
