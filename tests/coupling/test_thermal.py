"""Power-matched thermal coupling: exact energy bookkeeping between heat equation and atoms."""
import numpy as np
import pytest

from mscouple.coupling.exchange import InterfaceExchange
from mscouple.coupling.models1d import Heat1D
from mscouple.coupling.thermal import ThermalCoupler


class GasPatch:
    """Atoms whose 'dynamics' only shuffles velocities (kinetic energy conserved exactly)."""

    def __init__(self, n, T, seed=0):
        self.rng = np.random.default_rng(seed)
        self.mass = self.rng.uniform(1.0, 2.0, n)
        self.v = self.rng.normal(size=(n, 3)) * np.sqrt(T / self.mass)[:, None]

    def shuffle(self):
        p = self.rng.permutation(len(self.mass))
        ke = 0.5 * self.mass * np.sum(self.v ** 2, 1)
        self.v = self.v[p] * np.sqrt(ke / (0.5 * self.mass * np.sum(self.v[p] ** 2, 1)))[:, None]

    def kinetic_energy(self):
        return 0.5 * float(np.sum(self.mass[:, None] * self.v ** 2))

    def potential_energy(self):
        return 0.0


def _setup(tau=0.0, n=300):
    nodes = np.arange(0.0, 21.0)
    cells = np.stack([np.arange(20), np.arange(1, 21)], 1)
    keep = ~((cells[:, 0] >= 10) & (cells[:, 1] <= 11))  # no continuum conduction inside the patch
    heat = Heat1D(nodes, cells[keep], conductivity=2.0, rho_c=3.0)
    heat.T[:] = 1.0
    rng = np.random.default_rng(1)
    X = rng.uniform(9.0, 12.0, size=(n, 1))  # atoms in the supports of nodes 10 and 11
    ids = np.arange(n)
    ex = InterfaceExchange.local(ids, X, nodes[:, None], cells, "P1")
    patch = GasPatch(n, 1.0)
    cp = ThermalCoupler(ex, heat=heat, patch=patch, interface_nodes=np.array([10, 11]),
                        boundary_nodes=np.array([0, 20]), boundary_values=np.array([1.5, 0.5]),
                        filter_time=tau)
    return heat, patch, cp


@pytest.mark.parametrize("tau", [0.0, 0.5])
def test_energy_handed_to_atoms_equals_energy_leaving_continuum(tau):
    heat, patch, cp = _setup(tau)
    led = cp.energies()
    total0 = led.balance
    for _ in range(200):
        cp.couple(0.05)
        patch.shuffle()
    led = cp.energies()
    assert abs(led.thermostat_work - led.thermostat_requested) <= 1e-12 * max(abs(led.thermostat_requested), 1e-300) + 1e-15
    assert abs(led.thermostat_work) > 1e-3  # heat did flow into the atoms
    assert abs(led.boundary_heat) > 1e-3
    assert led.balance == pytest.approx(total0, rel=1e-12)


def test_projected_temperature_of_uniform_gas():
    heat, patch, cp = _setup(n=20000)
    e = cp.mvv2e * patch.mass * np.sum(patch.v ** 2, 1)
    T = cp.nodal_temperature(e)
    assert T == pytest.approx([1.0, 1.0], rel=0.05)  # ~1 % noise with 10^4 atoms per node
