"""Spatial decomposition: the answer does not depend on the number of ranks."""
import numpy as np
import pytest
from mpi4py import MPI

from mscouple.atomistic.box import Box
from mscouple.atomistic.lattice import chain, fcc
from mscouple.atomistic.potentials import LennardJones, Morse
from mscouple.atomistic.system import MDSystem
from mscouple.atomistic.thermostats import Langevin

A_LIQ = (4 / 0.8442) ** (1 / 3)


def pair(comm, make):
    """The system on ``comm`` and the same system on COMM_SELF (on every rank)."""
    return make(comm), make(MPI.COMM_SELF)


@pytest.mark.mpi(min_size=2)
@pytest.mark.parametrize("thermostat", [None, Langevin(1.0, 0.5, seed=21)])
def test_trajectory_independent_of_rank_count(comm, thermostat):
    x, box = fcc(A_LIQ, (8, 4, 4))

    def make(c):
        s = MDSystem(c, box, x, LennardJones(cutoff=2.5, mode="smooth"), skin=0.3,
                     thermostat=thermostat)
        s.set_velocities(1.44, seed=3)
        return s

    par, ser = pair(comm, make)
    assert np.prod(par.decomp.grid) == comm.size
    for _ in range(4):
        par.run(30)
        ser.run(30)
    assert par.rebuild_count > 3 and par.step_count == 120
    np.testing.assert_allclose(par.gather("x"), ser.gather("x"), rtol=0, atol=1e-11)
    np.testing.assert_allclose(par.gather("v"), ser.gather("v"), rtol=0, atol=1e-10)
    epar = par.potential_energy()
    assert epar == pytest.approx(ser.potential_energy(), rel=1e-12)
    np.testing.assert_allclose(par.virial(), ser.virial(), rtol=1e-11, atol=1e-9)
    assert par.temperature() == pytest.approx(ser.temperature(), rel=1e-12)
    assert par.comm.allreduce(par.nlocal) == par.natoms


@pytest.mark.mpi(min_size=2)
def test_per_atom_quantities_and_free_boundaries(comm):
    """Free z boundaries (atoms leave the box), weights, external forces, per-atom sums."""
    x, box0 = fcc(1.6, (6, 3, 6))
    box = Box(box0.lo, box0.hi, (True, True, False))
    pot = Morse(0.7, 2.0, 1.15, cutoff=2.2, mode="smooth")

    def make(c):
        s = MDSystem(c, box, x, pot, skin=0.3)
        s.set_velocities(0.5, seed=8)
        s.energy_weight[:] = 0.5 + 0.5 * np.cos(s.x0[:, 0])
        s.external_force[:, 2] = 0.01 * np.sin(s.x0[:, 0])
        return s

    par, ser = pair(comm, make)
    par.run(80)
    ser.run(80)
    np.testing.assert_allclose(par.gather("x"), ser.gather("x"), rtol=0, atol=1e-11)
    e_par = np.zeros(par.natoms)
    e_par[par.ids] = par.per_atom_energy()
    e_par = comm.allreduce(e_par)
    e_ser = np.zeros(ser.natoms)
    e_ser[ser.ids] = ser.per_atom_energy()
    np.testing.assert_allclose(e_par, e_ser, atol=1e-12)
    assert e_par.sum() == pytest.approx(par.potential_energy(), rel=1e-12)
    vsum = par.region_sum(par.per_atom_virial())
    np.testing.assert_allclose(vsum, par.virial(), rtol=1e-10, atol=1e-10)


@pytest.mark.mpi(min_size=2)
def test_chain_split_along_x(comm):
    x, box = chain(1.0, 24 * comm.size)
    x[:, 0] += 0.05 * np.sin(np.arange(len(x)))
    pot = LennardJones(1.0, 2 ** (-1 / 6), cutoff=1.8, mode="smooth")
    par, ser = pair(comm, lambda c: MDSystem(c, box, x, pot, skin=0.2, dt=0.002))
    assert par.decomp.grid == (comm.size, 1, 1)
    par.run(150)
    ser.run(150)
    np.testing.assert_allclose(par.gather("x"), ser.gather("x"), rtol=0, atol=1e-12)
    assert par.total_energy() == pytest.approx(ser.total_energy(), rel=1e-12)


@pytest.mark.mpi(min_size=2)
def test_eam_independent_of_rank_count(comm):
    """Many-body: densities reverse-summed and embedding derivatives forwarded across ranks."""
    from mscouple.atomistic.eam import EAM

    rc, n = 5.0, 2001
    r = np.arange(n) * rc / (n - 1) * 1.001
    p = np.arange(n) * 0.02
    pot = EAM(["A"], [-np.sqrt(p + 1.0)], 0.02, [np.clip(rc - r, 0, None) ** 4 / rc ** 3],
              [[r * 2.0 * np.clip(rc - r, 0, None) ** 3 / rc ** 3]], r[1], rc)
    x, box = fcc(4.05, (6, 2, 2))
    x = x + 0.05 * np.random.default_rng(1).standard_normal(x.shape)

    def make(c):
        s = MDSystem(c, box, x, pot, units="metal", masses=27.0, dt=0.002, skin=0.5)
        s.set_velocities(600.0, seed=4)
        return s

    par, ser = pair(comm, make)
    par.run(100)
    ser.run(100)
    np.testing.assert_allclose(par.gather("x"), ser.gather("x"), rtol=0, atol=1e-11)
    assert par.potential_energy() == pytest.approx(ser.potential_energy(), rel=1e-12)


@pytest.mark.mpi(min_size=2)
def test_ranks_without_atoms_nose_hoover_and_fire(comm):
    """A short chain in a long free box leaves some ranks empty; NHC (global kinetic
    energy) and FIRE (global dot products) still agree with one rank."""
    from mscouple.atomistic.minimize import fire
    from mscouple.atomistic.thermostats import NoseHooverChain

    x = np.zeros((10, 3))
    x[:, 0] = 1.0 + 1.1 * np.arange(10)
    x[:, 1:] = 5.0
    x[:, 1] += 0.01 * np.cos(np.arange(10))
    box = Box([0, 0, 0], [12.0 * comm.size, 10, 10], (False, False, False))

    def make(c):
        s = MDSystem(c, box, x, LennardJones(1, 1, 2.5, mode="smooth"), skin=0.3,
                     thermostat=NoseHooverChain(0.1, 0.5))
        s.set_velocities(0.1, seed=1)
        return s

    par, ser = pair(comm, make)
    assert comm.allreduce(int(par.nlocal == 0)) >= 1
    par.run(60)
    ser.run(60)
    np.testing.assert_allclose(par.gather("x"), ser.gather("x"), rtol=0, atol=1e-12)
    r1 = fire(par, fmax=1e-8)
    r2 = fire(ser, fmax=1e-8)
    assert r1.steps == r2.steps
    assert par.potential_energy() == pytest.approx(ser.potential_energy(), rel=1e-10)
