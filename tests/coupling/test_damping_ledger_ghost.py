import numpy as np
import pytest

from mscouple.coupling.damping import DampingBand, counter_normal, stadium_profile
from mscouple.coupling.ledger import EnergyLedger
from mscouple.validation.ghost import DeadLoadCorrection, measure_ghost_forces


def test_damping_removed_energy_is_exact_and_decay_rate_correct():
    rng = np.random.default_rng(0)
    n = 50
    gamma = stadium_profile(np.linspace(0, 1, n), 1.0, 2.0)
    mass = rng.uniform(1, 3, n)
    v = rng.normal(size=(n, 3))
    ke0 = 0.5 * np.sum(mass[:, None] * v ** 2)
    d = DampingBand(gamma, mass, np.arange(n))
    v0 = v.copy()
    removed = sum(d.apply(v, 0.01, s) for s in range(100))
    ke1 = 0.5 * np.sum(mass[:, None] * v ** 2)
    assert removed == pytest.approx(ke0 - ke1, rel=1e-12)
    np.testing.assert_allclose(v, v0 * np.exp(-gamma * 1.0)[:, None], rtol=1e-12)


def test_noise_is_independent_of_atom_order_and_normal():
    ids = np.arange(20000)
    z = counter_normal(5, ids, 17, 3)
    perm = np.random.default_rng(1).permutation(ids.size)
    np.testing.assert_array_equal(counter_normal(5, ids[perm], 17, 3), z[perm])
    assert abs(z.mean()) < 4 / np.sqrt(z.size)
    assert abs(z.var() - 1) < 5 * np.sqrt(2 / z.size)
    assert not np.allclose(counter_normal(5, ids, 18, 3), z)


def test_langevin_band_thermalises_to_bath_temperature():
    n = 4000
    mass = np.full(n, 2.0)
    d = DampingBand(np.full(n, 5.0), mass, np.arange(n), temperature=1.5, seed=3)
    v = np.zeros((n, 3))
    for s in range(40):
        d.apply(v, 0.05, s)
    T = np.sum(mass[:, None] * v ** 2) / (3 * n)
    assert T == pytest.approx(1.5, rel=0.05)


def test_ledger_balance():
    led = EnergyLedger()
    led.set_state(atomic_kinetic=1.0, atomic_potential=-3.0, continuum_kinetic=0.5, continuum_strain=0.25)
    led.add(damping_removed=0.2)
    assert led.balance == pytest.approx(-1.05)
    led.damping_to_heat = True
    led.set_state(thermal_energy=0.2)
    assert led.balance == pytest.approx(-1.05)
    row = led.record(3, 0.1)
    assert row["step"] == 3 and row["mechanical"] == pytest.approx(-1.25)
    with pytest.raises(TypeError):
        led.add(bogus=1.0)


def test_dead_load_correction_cancels_ghost_forces():
    f_atoms = np.array([[0.1, 0.0], [-0.05, 0.02]])
    f_nodes = np.array([[0.0, 0.3]])
    g = measure_ghost_forces(f_atoms, f_nodes, typical_force=10.0)
    assert g.relative == pytest.approx(0.03)
    c = DeadLoadCorrection(g.atoms, g.nodes)
    np.testing.assert_array_equal(f_atoms + c.atom_force, 0.0)
    np.testing.assert_array_equal(f_nodes + c.node_force, 0.0)
