"""Minimisers find the analytic minimum."""
import numpy as np
import pytest
from mpi4py import MPI

from mscouple.atomistic.lattice import fcc, remove_atoms
from mscouple.atomistic.minimize import conjugate_gradient, fire
from mscouple.atomistic.potentials import LennardJones
from mscouple.atomistic.system import MDSystem

# equilibrium fcc lattice constant of LJ with this cutoff is found from the lattice sum
RC = 2.5


def lattice_energy(a):
    x, box = fcc(a, 3)
    return MDSystem(MPI.COMM_SELF, box, x, LennardJones(cutoff=RC, mode="smooth")
                    ).potential_energy() / len(x)


@pytest.mark.parametrize("method", [fire, conjugate_gradient])
def test_relaxes_perturbed_crystal_to_lattice(method):
    """Randomly displaced perfect crystal relaxes back: max|f| < 1e-6 and the energy equals
    the perfect-lattice energy."""
    a = 1.55
    x, box = fcc(a, 3)
    rng = np.random.default_rng(4)
    y = x + 0.03 * rng.standard_normal(x.shape)
    s = MDSystem(MPI.COMM_SELF, box, y, LennardJones(cutoff=RC, mode="smooth"), dt=0.005)
    res = method(s, fmax=1e-6)
    assert res.converged and res.fmax < 1e-6
    assert s.potential_energy() / s.natoms == pytest.approx(lattice_energy(a), abs=1e-10)


def test_vacancy_relaxation_lowers_energy_and_keeps_symmetry():
    x, box = fcc(1.55, 3)
    keep = remove_atoms(x, [0])
    s = MDSystem(MPI.COMM_SELF, box, x[keep], LennardJones(cutoff=RC, mode="smooth"))
    e0 = s.potential_energy()
    fire(s, fmax=1e-7)
    assert s.potential_energy() < e0
    # momentum-free relaxation: the centre of mass does not move
    d = s.displacements()
    assert np.abs(d.sum(axis=0)).max() < 1e-8
