"""Integrators and thermostats: conservation laws, analytic solutions, ensemble averages."""
import numpy as np
import pytest
from mpi4py import MPI

from mscouple._kernels.integrate import gaussians
from mscouple.atomistic.box import Box
from mscouple.atomistic.lattice import chain, fcc
from mscouple.atomistic.potentials import HarmonicSprings, LennardJones
from mscouple.atomistic.system import MDSystem
from mscouple.atomistic.thermostats import Langevin, NoseHooverChain, VelocityRescale

A_LIQ = (4 / 0.8442) ** (1 / 3)


def liquid(thermostat=None, n=4, **kw):
    x, box = fcc(A_LIQ, n)
    s = MDSystem(MPI.COMM_SELF, box, x, LennardJones(cutoff=2.5, mode="smooth"),
                 thermostat=thermostat, **kw)
    s.set_velocities(1.44, seed=11)
    return s


def test_nve_energy_conservation_smooth_lj():
    """Shifted-force LJ liquid, dt = 0.005: |E(t) - E(0)| per atom stays at the O(dt^2)
    fluctuation level (measured ~1e-4) and shows no drift over 3000 steps."""
    s = liquid()
    s.run(200)
    E = [s.total_energy()]
    for _ in range(30):
        s.run(100)
        E.append(s.total_energy())
    E = np.array(E) / s.natoms
    assert np.max(np.abs(E - E[0])) < 5e-4
    slope = np.polyfit(np.arange(len(E)) * 100, E, 1)[0]
    assert abs(slope) * 1e4 < 2e-3  # per atom per 10^4 steps


@pytest.mark.parametrize("thermostat", [None, Langevin(1.0, 0.5, seed=9),
                                        NoseHooverChain(1.0, 0.5), VelocityRescale(1.0, 7)])
def test_fused_run_equals_python_steps(thermostat):
    """The compiled run loop and the step-by-step pieces give the same trajectory."""
    a, b = liquid(thermostat, n=3), liquid(thermostat, n=3)
    b.use_fused = False
    a.run(60)
    b.run(60)
    assert a.rebuild_count > 2
    np.testing.assert_allclose(a.x, b.x, rtol=0, atol=1e-12)
    np.testing.assert_allclose(a.v, b.v, rtol=0, atol=1e-12)
    assert a.potential_energy() == pytest.approx(b.potential_energy(), rel=1e-12)


def test_langevin_reaches_target_temperature():
    """<T> over 6000 steps within 2% of the target (3N degrees of freedom: Langevin does
    not conserve momentum). Measured: 0.6% off."""
    s = liquid(Langevin(1.2, 0.5, seed=3), dof_removed=0)
    s.run(500)
    T = []
    for _ in range(600):
        s.run(10)
        T.append(s.temperature())
    assert np.mean(T) == pytest.approx(1.2, rel=0.02)


def test_nose_hoover_chain_temperature_and_conserved_energy():
    s = liquid(NoseHooverChain(1.2, 0.5, length=3))
    s.run(400)
    T, H = [], []
    for _ in range(300):
        s.run(10)
        T.append(s.temperature())
        H.append(s.total_energy() + s.nhc_energy())
    assert np.mean(T) == pytest.approx(1.2, rel=0.03)
    # extended energy conserved to the O(dt^2) level (measured 1.4e-3 per atom, ~dt^2)
    assert np.ptp(H) / s.natoms < 5e-3


def test_velocity_rescale_hits_target():
    s = liquid(VelocityRescale(0.8, every=5))
    s.run(10)
    assert s.temperature() == pytest.approx(0.8, rel=1e-12)


def test_counter_rng_is_standard_normal_and_keyed():
    ids = np.arange(200000, dtype=np.int64)
    g = gaussians(ids, 5, 1234)
    n = g.size
    assert abs(g.mean()) < 5 / np.sqrt(n)
    assert abs(g.var() - 1) < 5 * np.sqrt(2 / n)
    assert abs(np.mean(g[:, 0] * g[:, 1])) < 5 / np.sqrt(len(g))
    assert abs(np.mean(g[:, 0] * gaussians(ids, 6, 1234)[:, 0])) < 5 / np.sqrt(len(g))
    perm = np.random.default_rng(0).permutation(1000).astype(np.int64)
    np.testing.assert_array_equal(gaussians(perm, 5, 1234), g[perm])


def test_harmonic_chain_normal_mode():
    """1D chain along x in a 3D box (free in y, z), nearest-neighbour springs: the mode
    u_n = A cos(q n a) oscillates as cos(omega t), omega = 2 sqrt(k/m) sin(q a / 2)."""
    N, a, k, m = 32, 1.0, 1.3, 0.7
    x, box = chain(a, N)
    q = 2 * np.pi * 3 / (N * a)
    A = 1e-3
    u0 = A * np.cos(q * a * np.arange(N))
    y = x.copy()
    y[:, 0] += u0
    s = MDSystem(MPI.COMM_SELF, box, y, HarmonicSprings(k, a, cutoff=1.5 * a), masses=m,
                 dt=0.01, skin=0.2)
    omega = 2 * np.sqrt(k / m) * np.sin(q * a / 2)
    nsteps = 1500
    s.run(nsteps)
    u = s.gather("x")[:, 0] - x[:, 0]
    u = (u + 0.5 * N * a) % (N * a) - 0.5 * N * a
    np.testing.assert_allclose(u, u0 * np.cos(omega * nsteps * s.dt), atol=1e-3 * A * 2)
    np.testing.assert_allclose(s.gather("x")[:, 1:], x[:, 1:], atol=1e-14)


def test_external_force_and_fixed_atoms():
    """Free atoms under a constant external force follow x0 + F t^2 / 2m exactly (Verlet
    is exact for constant acceleration); fixed atoms do not move."""
    x = np.array([[1.0, 1, 1], [5, 5, 5], [9, 9, 9]])
    s = MDSystem(MPI.COMM_SELF, Box.from_lengths([12, 12, 12], periodic=(False,) * 3), x,
                 LennardJones(cutoff=1.0), masses=2.0, dt=0.01)
    F = np.array([0.3, -0.2, 0.1])
    s.external_force[:] = F
    s.fixed[s.ids == 2] = 1
    s.run(100)
    t = 100 * s.dt
    xt = s.gather("x")
    np.testing.assert_allclose(xt[:2], x[:2] + F * t * t / (2 * 2.0), atol=1e-12)
    np.testing.assert_array_equal(xt[2], x[2])


def test_metal_units_kinetic_temperature():
    x, box = fcc(4.05, 3)
    s = MDSystem(MPI.COMM_SELF, box, x, LennardJones(0.01, 2.6, 6.0), masses=26.98,
                 units="metal", dt=0.001)
    s.set_velocities(300.0, seed=5)
    assert s.temperature() == pytest.approx(300.0, rel=1e-12)
    kB = 8.617333262e-5  # eV/K
    assert s.kinetic_energy() == pytest.approx(0.5 * s.dof() * kB * 300.0, rel=1e-9)


def test_per_atom_kinetic_energy_sums_to_total():
    s = liquid()
    s.fixed[:3] = 1
    assert s.per_atom_kinetic_energy().sum() == pytest.approx(s.kinetic_energy(), rel=1e-13)
    assert np.all(s.per_atom_kinetic_energy()[:3] == 0)
