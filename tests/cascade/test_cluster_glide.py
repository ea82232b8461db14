"""Glide of small self-interstitial clusters (I2, I3, I4: parallel [110] crowdions) by one
Burgers vector b = a/2 [110] in Cu (Zhou EAM + ZBL), by sia_cluster_glide's climbing-image
NEB with the cascade's own potential — the migration energies the KMC example uses.

Measured (5 images, fmax 2e-4 eV/Å, 4³ / 5³ cells): barriers I2 6e-5 / 6e-7 (flat, no
climbing image), I3 1.1e-3 / 6e-5, I4 1.4e-3 / 1.05e-3 eV,
against 0.060 eV for the single <100> dumbbell's translation-rotation jump: the crowdion
bundle is almost free to glide (a static Peierls barrier of meV at most; MD effective
activation energies of 0.02-0.1 eV, Osetsky et al. 2000, include the dynamics and are not
what a static NEB gives). Tolerances: the end states are one lattice translation apart, so
E_end = E_start to rounding (1e-8 eV); the energy resolution of a path relaxed to
fmax = 2e-4 eV/Å over atom moves of <= 0.37 Å is ~1e-4 eV, so the profile is symmetric to
5e-4 eV and each barrier is below 1/10 of the dumbbell's (an assertion that fails if the
path were the dumbbell jump or the end states were mis-matched)."""
import os

import numpy as np
import pytest
from mpi4py import MPI

from mscouple.atomistic.eam import EAM
from mscouple.atomistic.lattice import fcc
from mscouple.atomistic.neb import energy_and_forces
from mscouple.atomistic.system import MDSystem
from mscouple.cascade.energetics import interstitial_energetics, sia_cluster_glide
from mscouple.cascade.zbl import join_zbl
from mscouple.errors import ConfigError

CU = os.path.join(os.path.dirname(__file__), "..", "data", "Cu_zhou04.eam.alloy")
A = 3.615
FMAX = 2e-4


@pytest.fixture(scope="module")
def pot():
    return join_zbl(EAM.from_file(CU), [29])


@pytest.fixture(scope="module")
def dumbbell(pot):
    return interstitial_energetics(pot, A, reps=4, images=5).migration


@pytest.mark.parametrize("n", [2, 3, 4])
def test_cluster_glide_barrier(pot, dumbbell, n):
    r = sia_cluster_glide(pot, A, n, reps=4, images=5, fmax=FMAX)
    p = r.neb
    E = p.energies - p.energies[0]
    assert r.natoms == 256 + n and p.converged and p.fmax < FMAX
    assert abs(r.end_difference) < 1e-8                     # one lattice translation
    np.testing.assert_allclose(E, E[::-1], atol=5e-4)       # symmetric profile
    # glide, not a jump: 4n atoms (n rows) move, none by more than b/4 (crowdion spread)
    disp = np.linalg.norm(p.images[-1] - p.images[0], axis=1)
    assert disp.max() < A / np.sqrt(2) / 4 and np.count_nonzero(disp > 0.3) >= 4 * n
    # the climbing image is a stationary point of the true energy (I2: the plain band is
    # flat to within 1e-4 eV, no climbing image; then every image is near-stationary)
    assert (r.climbed or np.ptp(E) < 1e-4) and (r.climbed or n < 4)
    _, box = fcc(A, (4, 4, 4))
    s = MDSystem(MPI.COMM_SELF, box, p.images[0], pot, masses=63.546, units="metal",
                 sort_every=0)
    _, f = energy_and_forces(s, p.images[p.saddle])
    assert np.max(np.linalg.norm(f, axis=1)) < 2 * FMAX
    # small against the single dumbbell's rotation-translation barrier (0.060 eV)
    assert 0.03 < dumbbell < 0.1
    assert 0.0 <= r.migration < 0.1 * dumbbell


def test_cluster_glide_refuses_size(pot):
    with pytest.raises(ConfigError, match="n = 5"):
        sia_cluster_glide(pot, A, 5)
