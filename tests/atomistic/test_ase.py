"""Agreement with ASE's own Lennard-Jones and Morse calculators; Atoms round trip.

ASE is an optional extra of the package (``mscouple[io]``) but part of the test environment
(requirements-dev.txt, installed by ``make setup``): imported plainly, so a missing ASE
fails the suite instead of skipping it.
"""
import numpy as np
import pytest
from ase.calculators.lj import LennardJones as AseLJ
from ase.calculators.morse import MorsePotential as AseMorse
from mpi4py import MPI

from mscouple.atomistic.ase_interface import MDCalculator, from_ase, to_ase
from mscouple.atomistic.potentials import LennardJones, Morse


def jiggled_fcc(a, n, amp, seed):
    from ase.build import bulk

    at = bulk("Ar", "fcc", a=a, cubic=True).repeat(n)
    rng = np.random.default_rng(seed)
    at.positions += amp * rng.standard_normal(at.positions.shape)
    return at


def compare(at, ours, ref, stress=True):
    at1 = at.copy()
    at1.calc = ours
    at2 = at.copy()
    at2.calc = ref
    assert at1.get_potential_energy() == pytest.approx(at2.get_potential_energy(), rel=1e-12)
    np.testing.assert_allclose(at1.get_forces(), at2.get_forces(), atol=1e-11)
    if stress:
        np.testing.assert_allclose(at1.get_stress(), at2.get_stress(), atol=1e-12)
        np.testing.assert_allclose(at1.get_potential_energies(), at2.get_potential_energies(),
                                   atol=1e-12)


def test_lennard_jones_matches_ase():
    # ASE's non-smooth LJ shifts the pair energy to zero at rc: our mode "shift"
    at = jiggled_fcc(5.3, 2, 0.1, 1)
    eps, sig, rc = 0.0104, 3.4, 8.5
    compare(at, MDCalculator(LennardJones(eps, sig, rc, mode="shift")),
            AseLJ(epsilon=eps, sigma=sig, rc=rc, smooth=False))


def test_morse_matches_ase():
    # ASE multiplies Morse by a switch between rcut1 and rcut2; with no pair in that
    # window both are the plain truncated Morse potential.
    at = jiggled_fcc(3.6, 2, 0.02, 2)  # shells at 2.55 and 3.6 Angstrom
    D, alpha, r0 = 0.35, 1.4, 2.6
    d = at.get_all_distances(mic=True)[np.triu_indices(len(at), 1)]
    assert not np.any((d > 2.9) & (d < 3.2))
    compare(at, MDCalculator(Morse(D, alpha, r0, cutoff=3.05)),
            AseMorse(epsilon=D, rho0=alpha * r0, r0=r0, rcut1=2.9 / r0, rcut2=3.2 / r0), stress=False)


def test_atoms_round_trip():
    at = jiggled_fcc(5.3, 2, 0.1, 3)
    rng = np.random.default_rng(0)
    at.set_velocities(rng.standard_normal((len(at), 3)) * 0.01)
    s = from_ase(MPI.COMM_SELF, at, LennardJones(0.0104, 3.4, 8.5), units="metal")
    back = to_ase(s, species=["Ar"])
    wrapped = at.copy()
    wrapped.wrap()
    np.testing.assert_allclose(back.positions, wrapped.positions, atol=1e-12)
    np.testing.assert_allclose(back.get_velocities(), at.get_velocities(), rtol=1e-12)
    np.testing.assert_allclose(back.get_masses(), at.get_masses())
    # kinetic energy in eV agrees between the two unit conventions
    assert s.kinetic_energy() == pytest.approx(at.get_kinetic_energy(), rel=1e-7)  # ASE uses CODATA 2014 constants, mscouple 2018
