"""Rank-layout independence of the thermal coupling: the patch's stochastic dynamics draws from
counter-based streams keyed by (seed, atom id, step), so 1 + k ranks reproduce the one-rank run
to round-off."""
import numpy as np
import pytest

from mscouple.coupling.damping import DampingBand
from mscouple.coupling.exchange import InterfaceExchange
from mscouple.coupling.thermal import ThermalCoupler
from mscouple.validation.models1d import Heat1D

N_ATOMS, NSTEPS, DT = 240, 40, 0.05


class LangevinGas:
    """Free atoms under an exact Ornstein–Uhlenbeck bath (noise keyed by id and step)."""

    def __init__(self, ids, comm=None):
        rng = np.random.default_rng(5)
        mass = rng.uniform(1.0, 2.0, N_ATOMS)
        v = rng.normal(size=(N_ATOMS, 3)) * np.sqrt(0.8 / mass)[:, None]
        self.ids = np.asarray(ids)
        self.mass, self.v = mass[self.ids], v[self.ids].copy()
        self.bath = DampingBand(np.full(self.ids.size, 0.3), self.mass, self.ids, temperature=1.2, seed=9)
        self.comm = comm
        self.k = 0

    def step(self):
        self.bath.apply(self.v, DT, self.k)
        self.k += 1

    def kinetic_energy(self):
        e = 0.5 * float(np.sum(self.mass[:, None] * self.v ** 2))
        return e if self.comm is None else self.comm.allreduce(e)

    def potential_energy(self):
        return 0.0


def _geometry():
    nodes = np.arange(0.0, 21.0)
    cells = np.stack([np.arange(20), np.arange(1, 21)], 1)
    keep = ~((cells[:, 0] >= 10) & (cells[:, 1] <= 11))
    X = np.random.default_rng(1).uniform(9.0, 12.0, size=(N_ATOMS, 1))
    return nodes, cells, keep, X


def _heat(nodes, cells, keep):
    heat = Heat1D(nodes, cells[keep], conductivity=2.0, rho_c=3.0)
    heat.T[:] = 1.0
    return heat


KW = dict(interface_nodes=np.array([10, 11]), boundary_nodes=np.array([0, 20]),
          boundary_values=np.array([1.5, 0.5]), filter_time=0.5)


def _reference():
    nodes, cells, keep, X = _geometry()
    heat, gas = _heat(nodes, cells, keep), LangevinGas(np.arange(N_ATOMS))
    ex = InterfaceExchange.local(gas.ids, X, nodes[:, None], cells, "P1")
    cp = ThermalCoupler(ex, heat=heat, patch=gas, **KW)
    for _ in range(NSTEPS):
        cp.couple(DT)
        gas.step()
    return heat.T.copy(), gas.v.copy(), cp.energies()


@pytest.mark.mpi(min_size=2)
def test_one_continuum_rank_and_k_patch_ranks_match_one_rank(comm):
    ref_T, ref_v, ref_led = _reference()
    rank, size = comm.Get_rank(), comm.Get_size()
    color = 0 if rank == 0 else 1
    local = comm.Split(color, rank)
    inter = local.Create_intercomm(0, comm, 1 if color == 0 else 0, tag=41)
    nodes, cells, keep, X = _geometry()
    if color == 0:
        heat = _heat(nodes, cells, keep)
        ex = InterfaceExchange.setup(inter, "continuum", nodes=nodes[:, None], cells=cells, kind="P1", dim=1)
        cp = ThermalCoupler(ex, heat=heat, local_comm=local, **KW)
    else:
        # interleaved ownership, reversed order: nothing like the one-rank numbering
        mine = np.arange(N_ATOMS)[(np.arange(N_ATOMS) % (size - 1)) == rank - 1][::-1]
        gas = LangevinGas(mine, local)
        ex = InterfaceExchange.setup(inter, "patch", ids=mine, reference=X[mine], dim=1)
        cp = ThermalCoupler(ex, patch=gas, local_comm=local)
    for _ in range(NSTEPS):
        cp.couple(DT)
        if color == 1:
            gas.step()
    led = cp.energies()
    if color == 0:
        np.testing.assert_allclose(heat.T, ref_T, rtol=1e-12)
        assert led.thermostat_work == pytest.approx(ref_led.thermostat_work, rel=1e-11)
        assert abs(led.thermostat_work - led.thermostat_requested) <= 1e-12 * abs(led.thermostat_requested)
        assert abs(ref_led.thermostat_requested) > 1e-3  # heat did flow
        # the flux terms of the ledger live on the continuum ranks
        assert led.balance == pytest.approx(ref_led.balance, rel=1e-12)
    else:
        np.testing.assert_allclose(gas.v, ref_v[gas.ids], rtol=1e-11, atol=1e-13)
    assert led.thermal_energy + led.atomic_kinetic == pytest.approx(
        ref_led.thermal_energy + ref_led.atomic_kinetic, rel=1e-12)
    inter.Free()
    local.Free()


def _petsc_heat(comm, prefix):
    from petsc4py import PETSc

    from mscouple.continuum import FunctionSpace, HeatConduction, Mesh, ThermalMaterial
    from mscouple.coupling.adapters import HeatConductionSide

    opts = PETSc.Options()
    opts[prefix + "ksp_type"] = "preonly"
    opts[prefix + "pc_type"] = "lu"
    opts[prefix + "pc_factor_mat_solver_type"] = "mumps"
    mesh = Mesh.box(comm, [20], [0.0], [20.0])
    hc = HeatConduction(FunctionSpace(mesh, 1), ThermalMaterial(2.0, 3.0), dt=DT, method="backward_euler",
                        lumped=True, prefix=prefix)
    side = HeatConductionSide(hc)
    side.T[:] = 1.0
    xo = mesh.coordinates[mesh.owned_nodes, 0]
    pairs = [p for part in comm.allgather(list(zip(np.round(xo).astype(int), side.owned_global))) for p in part]
    gid = dict(pairs)  # x -> global node number
    kw = dict(interface_nodes=np.array([gid[10], gid[11]]), boundary_nodes=np.array([gid[0], gid[20]]),
              boundary_values=np.array([1.5, 0.5]), filter_time=0.5)
    return mesh, hc, side, xo, kw


@pytest.mark.mpi(min_size=2)
def test_multi_rank_continuum_heat_matches_one_rank(comm):
    """PETSc heat equation on ncont = size // 2 ranks (2+2 with four ranks), patch on the rest:
    the same temperatures, velocities and exchanged energy as everything on one rank."""
    from mpi4py import MPI

    _, _, _, X = _geometry()
    mesh, hc, side, xo, kw = _petsc_heat(MPI.COMM_SELF, "tl1_")
    gas = LangevinGas(np.arange(N_ATOMS))
    ex = InterfaceExchange.local(gas.ids, X, mesh.coordinates, np.asarray(mesh.cells), "P1")
    cp = ThermalCoupler(ex, heat=side, patch=gas, **kw)
    for _ in range(NSTEPS):
        cp.couple(DT)
        gas.step()
    ref_led = cp.energies()
    ref_T = dict(zip(np.round(xo).astype(int), side.T.copy()))
    ref_v = gas.v.copy()
    hc.destroy()

    rank, size = comm.Get_rank(), comm.Get_size()
    ncont = size // 2
    color = 0 if rank < ncont else 1
    local = comm.Split(color, rank)
    inter = local.Create_intercomm(0, comm, ncont if color == 0 else 0, tag=43)
    if color == 0:
        mesh, hc, side, xo, kw = _petsc_heat(local, "tl2_")
        ex = InterfaceExchange.setup(inter, "continuum", nodes=mesh.coordinates, cells=np.asarray(mesh.cells),
                                     kind="P1", dim=1)
        cp = ThermalCoupler(ex, heat=side, local_comm=local, **kw)
        assert cp.gathered == (ncont > 1) and (ncont == 1 or mesh.n_owned < 21)
    else:
        pr, npr = local.Get_rank(), local.Get_size()
        mine = np.arange(N_ATOMS)[(np.arange(N_ATOMS) % npr) == pr][::-1]
        gas = LangevinGas(mine, local)
        ex = InterfaceExchange.setup(inter, "patch", ids=mine, reference=X[mine], dim=1)
        cp = ThermalCoupler(ex, patch=gas, local_comm=local)
    for _ in range(NSTEPS):
        cp.couple(DT)
        if color == 1:
            gas.step()
    led = cp.energies()
    if color == 0:
        Tr = np.array([ref_T[k] for k in np.round(xo).astype(int)])
        np.testing.assert_allclose(side.T, Tr, rtol=1e-11)
        print(f"[{ncont}+{size - ncont}] max |T - T_1rank| / T = {np.max(np.abs(side.T - Tr) / Tr):.2e}, "
              f"work {led.thermostat_work:.12g} vs {ref_led.thermostat_work:.12g}")
        assert cp.T_filtered.shape == (2,)
        assert abs(led.thermostat_work - led.thermostat_requested) <= 1e-12 * abs(led.thermostat_requested)
        assert led.thermostat_work == pytest.approx(ref_led.thermostat_work, rel=1e-10)
        assert led.balance == pytest.approx(ref_led.balance, rel=1e-12)
        assert abs(ref_led.thermostat_requested) > 1e-3
        hc.destroy()
    else:
        np.testing.assert_allclose(gas.v, ref_v[gas.ids], rtol=1e-10, atol=1e-12)
    inter.Free()
    local.Free()
