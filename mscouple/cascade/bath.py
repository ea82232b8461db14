"""A continuum heat bath around a free-surface cascade block: the cascade's heat leaves
through our power-matched thermal coupling (the heat physics of ``mscouple run``) instead
of a fictitious Langevin border layer.

Units: metal (Å, ps, eV, K); ``conductivity`` is given in W/(m K) and converted
(1 W/(m K) = 6.2415091e-4 eV/(ps Å K)).

Geometry (one conventional cell ``a`` per mesh spacing unless ``band_cells`` > 1)::

    region  = [−a/4, (n − 1/4) a]³       the block's atoms 0 … (n − 1/2) a, with a quarter
                                          cell either side (both faces hold the same layers)
    band    = region minus the core [lo + h, hi − h]³ (h = band_cells · a): the atoms there
              are thermostatted by the continuum
    mesh    = P1 tets on [lo − pad h, hi + pad h]³ with spacing h; cells whose centroid lies in
              the core carry no capacity or conductivity (the atoms carry the heat there)

The coupling is the one of ``mscouple run`` (``run/build.py: _thermostat``): every
``interval`` ps of MD the atoms' m v² projected to the interface nodes (the nodes on the
core's boundary), time-filtered, is prescribed there for one heat step of length
``interval`` (backward Euler); the reaction powers go back to the band atoms as exact
velocity factors (:meth:`~mscouple.coupling.thermostat.PowerMatchedThermostat.scale_factors`).
The mesh's outer faces are reservoirs at the bath temperature. The continuum's ρc is the
classical 3 k_B per atom of the lattice (4/a³ atoms per volume: what the MD atoms carry).

Ledger: :meth:`ContinuumBath.heat_out` = ΔE_thermal(continuum) − (heat that entered through
the reservoirs) is the energy the atoms handed to the continuum, computed from the
continuum's own state; with the MD, ``E_atoms + heat_out`` is conserved (the thermostat's
hand-over is exact to round-off: ``W_thermostat`` = −heat_out − …, see the tests).

Coupling interval: the atoms' side is explicit (the interface temperature of one interval
sets the heat drawn during it), so the interval must stay below the time in which the
continuum drains an interface node's atoms, ~ C_atoms / (k h) (C_atoms ∝ h³: wider bands and
lower conductivities allow longer intervals). Measured: Cu, k = 20 W/(m K), h = 7.2 Å: 1 fs
ran a 200 eV cascade in 8³ cells (tests/cascade/test_bath.py) but overdrew (the thermostat
stops the run with one line) for 500 eV in 12³ cells when recoils reached the band; 0.5 fs
ran it (examples/cascade_kmc/case_bath.toml). The MD step is capped by the interval.

The MD must run on one rank (the continuum shares it: an :class:`~mscouple.coupling.exchange.
InterfaceExchange.local` exchange); a cascade over several ranks keeps the Langevin border.
"""
from __future__ import annotations

import numpy as np

from ..errors import ConfigError

#: 1 W/(m K) in eV/(ps Å K)
W_PER_MK = 6.241509074e18 / 1e12 / 1e10


class ContinuumBath:
    """The heat continuum around ``system`` (a free-surface fcc block of ``cells``³
    conventional cells of constant ``a`` with its first atom at the origin).

    ``sites`` [N,3]: the atoms' lattice sites (the band is chosen from them);
    ``temperature`` [K]: bath (reservoir and initial continuum) temperature;
    ``conductivity`` [W/(m K)]; ``interval`` [ps]: the coupling interval (one heat step);
    ``filter_time`` [ps]: τ of the interface temperature filter (0: none);
    ``band_cells``: band width and mesh spacing in conventional cells; ``pad_cells``:
    continuum layers (of spacing h) beyond the block on every side.
    """

    def __init__(self, system, sites: np.ndarray, a: float, cells: int, temperature: float,
                 conductivity: float = 400.0, interval: float = 0.005, filter_time: float = 0.0,
                 band_cells: int = 1, pad_cells: int = 3) -> None:
        from mpi4py import MPI
        from petsc4py import PETSc

        from ..continuum.heat import HeatConduction
        from ..continuum.materials import ThermalMaterial
        from ..continuum.mesh import Mesh
        from ..continuum.space import FunctionSpace
        from ..coupling.adapters import HeatConductionSide
        from ..coupling.exchange import InterfaceExchange
        from ..coupling.routing import HomeRouting
        from ..coupling.thermal import ThermalCoupler
        from ..run.couplers import ReservoirHeatSide

        if system.comm.Get_size() != 1:
            raise ConfigError(f"cascade.border = 'continuum': the MD runs on {system.comm.Get_size()} "
                              "ranks; expected 1 (the heat continuum shares its rank; use border = "
                              "'langevin' on several ranks)")
        if any(system.box.periodic):
            raise ConfigError("cascade.border = 'continuum': the block must be free (periodic = "
                              "[0, 0, 0]): the continuum surrounds it")
        k, pad, n = int(band_cells), int(pad_cells), int(cells)
        if k < 1 or pad < 1 or n < 2 * k + 2:
            raise ConfigError(f"continuum bath: band_cells = {k}, pad_cells = {pad}, cells = {n}: "
                              "expected band_cells >= 1, pad_cells >= 1 and cells >= 2 band_cells + 2")
        if n % k:
            raise ConfigError(f"continuum bath: cells = {n} is not a multiple of band_cells = {k} "
                              "(the core's faces must fall on mesh nodes)")
        if not (temperature > 0 and conductivity > 0 and interval > 0 and filter_time >= 0):
            raise ConfigError(f"continuum bath: temperature = {temperature}, conductivity = "
                              f"{conductivity}, interval = {interval}, filter_time = {filter_time}: "
                              "expected temperature, conductivity, interval > 0 and filter_time >= 0 "
                              "(the power-matched thermostat needs moving atoms)")
        self.system = system
        self.interval = float(interval)
        self.temperature = float(temperature)
        h = k * a
        lo = np.full(3, -0.25 * a)
        hi = lo + n * a
        self.lo, self.hi, self.h = lo, hi, h
        core_lo, core_hi = lo + h, hi - h
        ncell = n // k + 2 * pad
        mesh = Mesh.box(MPI.COMM_SELF, (ncell,) * 3, lo - pad * h, hi + pad * h, simplex=True)
        self.mesh = mesh
        tol = 1e-9 * a
        C = mesh.cell_centroids()
        in_core = np.all((C > core_lo + tol) & (C < core_hi - tol), axis=1)
        weight = np.where(in_core, 0.0, 1.0)
        kB = system.units.boltzmann
        rho_c = 3.0 * kB * 4.0 / a ** 3  # eV/(K Å³): 3 k_B per atom, Dulong–Petit (classical MD)
        self.rho_c, self.k = rho_c, conductivity * W_PER_MK
        space = FunctionSpace(mesh, 1)
        heat = HeatConduction(space, ThermalMaterial(self.k, rho_c), self.interval,
                              method="backward_euler", cell_weight=weight, prefix="mscouple_bath_")
        o = PETSc.Options()
        o["mscouple_bath_ksp_type"] = "preonly"
        o["mscouple_bath_pc_type"] = "lu"
        heat.set_temperature(self.temperature)
        self.heat = heat
        cells_ = np.asarray(mesh.cells, dtype=np.int64)
        own = np.asarray(mesh.owned_nodes, dtype=np.int64)
        # one rank: the coupler takes local node numbers both as columns of N and as rows of
        # the heat side (as ``run/build.py`` does on one continuum rank)
        if not np.array_equal(own, np.arange(mesh.n_nodes)):
            raise ConfigError("continuum bath: a one-rank mesh whose owned nodes are not its local "
                              "nodes in order")
        row_of = own
        t1 = np.unique(cells_[weight > 0])
        t0 = np.unique(cells_[weight == 0])
        if_local = np.intersect1d(t1, t0)
        core_local = np.setdiff1d(t0, t1)
        outer = mesh.boundary_node_mask(["xmin", "xmax", "ymin", "ymax", "zmin", "zmax"])
        b_local = np.flatnonzero(outer)
        if_rows, core_rows, b_rows = row_of[if_local], row_of[core_local], row_of[b_local]
        labels = np.full(own.size, -1, dtype=np.int64)
        labels[b_rows] = 0
        labels[if_rows] = 1
        self.side = ReservoirHeatSide(HeatConductionSide(heat), core_rows, labels,
                                      ["Q_reservoir", "Q_interface"], 0.0)
        # the band atoms: those whose site lies outside the core
        sites = np.asarray(sites, dtype=float)
        ids = np.asarray(system.ids)
        ref = sites[ids]  # site of each owned atom (ids index the reference sites)
        band = ~np.all((ref > core_lo + tol) & (ref < core_hi - tol), axis=1)
        idx = np.flatnonzero(band)
        ex = InterfaceExchange.local(ids[idx], ref[idx], mesh.coordinates, cells_, kind="P1")
        self.tc = ThermalCoupler(ex, heat=self.side, patch=system, thermo_atoms=idx,
                                 interface_nodes=if_rows, boundary_nodes=b_rows,
                                 boundary_values=np.full(b_rows.size, self.temperature),
                                 filter_time=filter_time, boltzmann=kB, mvv2e=system.units.mvv2e,
                                 dof_per_atom=3, local_comm=None)
        self.routing = self.tc.routing = HomeRouting(system.comm, system, idx)
        self.n_band = int(idx.size)
        self.n_interface_nodes = int(if_rows.size)
        self.couplings = 0
        self.reset()

    def reset(self) -> None:
        """Start the heat bookkeeping here (e.g. at the PKA's kick)."""
        self.e_thermal0 = float(self.heat.thermal_energy())
        self.boundary0 = float(self.tc.ledger.boundary_heat)
        self.work0 = float(self.tc.ledger.thermostat_work)

    def couple(self) -> None:
        """One coupling interval (call after ``interval`` ps of MD)."""
        from ..errors import SimulationError

        self.routing.update()
        try:
            self.tc.couple(self.interval)
        except SimulationError as exc:
            raise SimulationError(
                f"continuum bath, coupling {self.couplings + 1} (t = {(self.couplings + 1) * self.interval:.4g} ps "
                f"after the kick): {exc}. For a cascade: reduce cascade.bath_interval (now "
                f"{self.interval:g} ps), or widen the band (cascade.bath_band_cells) or the block "
                f"(cascade.cells) so that the recoils stay in the core") from None
        self.couplings += 1

    def heat_out(self) -> float:
        """Energy [eV] the atoms handed to the continuum since :meth:`reset`, from the
        continuum's state: ΔE_thermal − heat in through the reservoirs."""
        return (float(self.heat.thermal_energy()) - self.e_thermal0
                - (float(self.tc.ledger.boundary_heat) - self.boundary0))

    def thermostat_work(self) -> float:
        """Kinetic energy [eV] the thermostat put into the atoms since :meth:`reset` (the
        atoms' side of the same hand-over: −heat_out to round-off)."""
        return float(self.tc.ledger.thermostat_work) - self.work0

    def reservoir_heat(self) -> float:
        """Heat [eV] that left the continuum through its outer faces since :meth:`reset`."""
        return -(float(self.tc.ledger.boundary_heat) - self.boundary0)

    def interface_temperature(self) -> float:
        """Mean filtered interface temperature [K] (NaN before the first coupling)."""
        T = self.tc.T_filtered
        return float(np.mean(T)) if T is not None else float("nan")
