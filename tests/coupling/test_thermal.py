"""Power-matched thermal coupling: exact energy bookkeeping between heat equation and atoms."""
import numpy as np
import pytest

from mscouple.coupling.exchange import InterfaceExchange
from mscouple.coupling.thermal import ThermalCoupler
from mscouple.validation.models1d import Heat1D


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


@pytest.mark.mpi(min_size=2)
def test_thermal_coupling_over_intercomm_matches_single_rank(comm):
    """Heat on rank 0, atoms on rank 1 (others idle): identical to the one-rank run."""
    nsteps = 50
    heat, patch, cp = _setup(0.5)
    for _ in range(nsteps):
        cp.couple(0.05)
        patch.shuffle()
    ref_T, ref_v, ref_bal = heat.T.copy(), patch.v.copy(), cp.energies().balance
    rank = comm.Get_rank()
    color = rank if rank < 2 else 2
    local = comm.Split(color, rank)
    if color == 2:
        local.Free()
        return
    inter = local.Create_intercomm(0, comm, 1 - rank, tag=31)
    heat, patch, _ = _setup(0.5)
    nodes = np.arange(0.0, 21.0)
    cells = np.stack([np.arange(20), np.arange(1, 21)], 1)
    X = np.random.default_rng(1).uniform(9.0, 12.0, size=(300, 1))
    if color == 0:
        ex = InterfaceExchange.setup(inter, "continuum", nodes=nodes[:, None], cells=cells, kind="P1", dim=1)
        order = np.argsort(ex.atom_ids)
        assert np.array_equal(ex.atom_ids[order], np.arange(300))
        cp = ThermalCoupler(ex, heat=heat, interface_nodes=np.array([10, 11]), boundary_nodes=np.array([0, 20]),
                            boundary_values=np.array([1.5, 0.5]), filter_time=0.5, local_comm=local)
    else:
        ex = InterfaceExchange.setup(inter, "patch", ids=np.arange(300), reference=X, dim=1)
        cp = ThermalCoupler(ex, patch=patch, local_comm=local)
    for _ in range(nsteps):
        cp.couple(0.05)
        if color == 1:
            patch.shuffle()
    bal = cp.energies()
    if color == 0:
        np.testing.assert_allclose(heat.T, ref_T, rtol=1e-12)
    else:
        np.testing.assert_allclose(patch.v, ref_v, rtol=1e-12)
    if color == 0:  # the continuum ranks hold the exchanged-energy fluxes of the ledger
        assert bal.balance == pytest.approx(ref_bal, rel=1e-12)
    inter.Free()
    local.Free()


def test_heat_conduction_adapter_matches_reference_and_books_exactly():
    from mpi4py import MPI
    from petsc4py import PETSc

    from mscouple.continuum import FunctionSpace, HeatConduction, Mesh, ThermalMaterial
    from mscouple.coupling.adapters import HeatConductionSide

    opts = PETSc.Options()
    opts["cpl_heat_ksp_type"] = "preonly"
    opts["cpl_heat_pc_type"] = "lu"
    mesh = Mesh.box(MPI.COMM_SELF, [20], [0.0], [20.0])
    space = FunctionSpace(mesh, 1)
    hc = HeatConduction(space, ThermalMaterial(2.0, 3.0), dt=0.05, method="backward_euler", lumped=True,
                        prefix="cpl_heat_")
    side = HeatConductionSide(hc)
    x = mesh.coordinates[:, 0]
    order = np.argsort(x)
    ref = Heat1D(x, np.asarray(mesh.cells), conductivity=2.0, rho_c=3.0)
    side.T[:] = ref.T[:] = 1.0 + 0.1 * np.sin(x)
    fixed = np.array([order[0], order[10], order[20]])
    e0 = side.thermal_energy()
    out = 0.0
    for k in range(30):
        vals = np.array([1.5, 1.0 + 0.01 * k, 0.5])
        P = side.step(0.05, fixed, vals)
        Pr = ref.step(0.05, fixed, vals)
        out += 0.05 * P.sum()
        np.testing.assert_allclose(P, Pr, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(side.T, ref.T, rtol=1e-10)
    assert side.thermal_energy() - e0 == pytest.approx(-out, rel=1e-10, abs=1e-12)
    hc.destroy()
