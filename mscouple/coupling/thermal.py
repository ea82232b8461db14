"""Thermal coupling: continuum heat equation ⇄ atoms through the power-matched thermostat.

After Wagner, Jones, Templeton & Parks, CMAME 197 (2008) 3351 (LAMMPS AtC ``control thermal
flux``). Each coupling interval Δt_c (a whole number of MD steps):

1. patch → continuum: ``e_α = mvv2e m_α |v_α|²`` of the thermostatted atoms (one number each);
2. continuum: projected kinetic temperature of the interface nodes,
   ``T_I = Σ_α N_Iα e_α / (d k_B Σ_α N_Iα)``, time-filtered
   (``T̄ ← T̄ + (Δt_c/τ)(T − T̄)``, τ = ``filter_time``; τ = 0: no filter);
   the heat equation takes a step with ``T̄`` prescribed on the interface nodes (and the
   reservoir values on boundary nodes) and returns the *reaction power* ``P_I`` each
   prescribed node draws from the conducting continuum;
3. the interface powers are handed to the atoms: velocity factors ``c_α`` with
   ``Σ_α N_Iα ΔKE_α = P_I Δt_c`` (the exact discrete form of f = −λ m v, see
   :meth:`PowerMatchedThermostat.scale_factors`); continuum → patch: ``c_α``;
4. patch: ``v_α ← c_α v_α``.

Bookkeeping: the continuum's thermal energy ``E = Σ m_I T_I`` changes by exactly
``−Δt_c Σ P`` and the atoms' kinetic energy by exactly ``+Δt_c Σ P_interface`` (to
round-off), so ``E_thermal + E_atoms − (boundary heat input)`` is conserved up to the MD
integrator's own error. Both numbers go to the :class:`EnergyLedger`
(``thermostat_requested`` and ``thermostat_work``; ``boundary_heat``).

The heat side needs: ``T [n]`` (writable), ``thermal_energy()`` and
``step(dt, fixed [k], values [k]) -> reaction power [k]`` (see
:class:`~mscouple.coupling.models1d.Heat1D`). The atom side needs ``v [n, 3]`` and ``mass [n]``.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
import scipy.sparse as sp

from ..errors import ConfigError
from .exchange import InterfaceExchange
from .ledger import EnergyLedger
from .thermostat import PowerMatchedThermostat

__all__ = ["ThermalCoupler"]


class ThermalCoupler:
    """Power-matched heat exchange between one patch and the continuum heat equation.

    Parameters
    ----------
    exchange : interface pattern over the thermostatted atoms (continuum side holds N).
    heat : continuum heat side (continuum ranks).
    patch : atom side (patch ranks).
    thermo_atoms : patch side: local indices of the thermostatted atoms, in exchange order.
    interface_nodes : continuum side: local nodes whose temperature comes from the atoms
        (each needs atoms in its support). The thermostat acts through these columns of N,
        normalised per atom so that the energy handed over sums exactly.
    boundary_nodes, boundary_values : continuum reservoirs (Dirichlet), optional.
    filter_time : τ of the exponential time filter of the projected temperature (0: none).
    boltzmann, mvv2e : from ``mscouple.units``; ``dof_per_atom``: 3 in 3D.
    local_comm : this side's communicator (its rank 0 speaks for it in ``energies``).
    """

    def __init__(self, exchange: InterfaceExchange, *, heat=None, patch=None,
                 thermo_atoms: Optional[np.ndarray] = None, interface_nodes: Optional[np.ndarray] = None,
                 boundary_nodes: Optional[np.ndarray] = None, boundary_values: Optional[np.ndarray] = None,
                 filter_time: float = 0.0, boltzmann: float = 1.0, mvv2e: float = 1.0,
                 dof_per_atom: int = 3, local_comm=None) -> None:
        self.ex = exchange
        self.heat = heat
        self.patch = patch
        self.is_patch = exchange.side in ("patch", "both")
        self.is_continuum = exchange.side in ("continuum", "both")
        if self.is_patch and patch is None:
            raise ConfigError("this rank is on the patch side: pass patch=")
        if self.is_continuum and heat is None:
            raise ConfigError("this rank is on the continuum side: pass heat=")
        if filter_time < 0:
            raise ConfigError(f"filter_time = {filter_time}: expected >= 0")
        self.tau = float(filter_time)
        self.kB = float(boltzmann)
        self.mvv2e = float(mvv2e)
        self.dof = int(dof_per_atom)
        self.local_comm = local_comm
        self.atoms = None
        if self.is_patch:
            self.atoms = (np.arange(exchange.n_local) if thermo_atoms is None
                          else np.asarray(thermo_atoms, dtype=np.int64))
        m_up = np.asarray(patch.mass)[self.atoms] if self.is_patch else None
        m = self.ex.to_continuum(m_up, 1)
        self.ledger = EnergyLedger()
        self.T_filtered: Optional[np.ndarray] = None
        self.last_power: Optional[np.ndarray] = None
        if self.is_continuum:
            if interface_nodes is None:
                raise ConfigError("continuum side: pass interface_nodes (nodes whose temperature the atoms set)")
            self.nodes = np.asarray(interface_nodes, dtype=np.int64)
            N = exchange.transfer.matrix.tocsc()[:, self.nodes].tocsr()  # [m, n_if]
            rows = np.asarray(N.sum(axis=1)).ravel()
            if np.any(N.sum(axis=0) <= 0):
                raise ConfigError("an interface node has no thermostatted atom in its support")
            if np.any(rows <= 0):
                raise ConfigError("a thermostatted atom lies outside the support of every interface node: "
                                  "thermostat only atoms in the cells of the interface nodes")
            self.N = N
            Nn = sp.diags(1.0 / rows) @ N  # rows sum to one: exact energy hand-over
            full = sp.csr_matrix((Nn.data, Nn.indices, Nn.indptr), shape=(N.shape[0], self.nodes.size))
            self.thermostat = PowerMatchedThermostat(full, m[:, 0], mvv2e=self.mvv2e)
            self._wsum = np.asarray(N.sum(axis=0)).ravel()
            self.bnodes = (np.zeros(0, np.int64) if boundary_nodes is None
                           else np.asarray(boundary_nodes, dtype=np.int64))
            self.bvalues = (np.zeros(0) if boundary_values is None
                            else np.asarray(boundary_values, dtype=float).reshape(self.bnodes.size))
            self.m = m[:, 0]

    def nodal_temperature(self, e: np.ndarray) -> np.ndarray:
        """Kinetic temperature projected on the interface nodes from ``e = mvv2e m v²`` [m]."""
        return (self.N.T @ e) / (self.dof * self.kB * self._wsum)

    def couple(self, dt: float) -> None:
        """One coupling interval of length ``dt`` (collective over the intercomm)."""
        up = None
        if self.is_patch:
            v = np.asarray(self.patch.v)[self.atoms]
            up = self.mvv2e * np.asarray(self.patch.mass)[self.atoms] * np.sum(v * v, axis=1)
        e = self.ex.to_continuum(up, 1)
        c = None
        if self.is_continuum:
            e = e[:, 0]
            T = self.nodal_temperature(e)
            if self.T_filtered is None or self.tau == 0.0:
                self.T_filtered = T.copy()
            else:
                self.T_filtered += min(dt / self.tau, 1.0) * (T - self.T_filtered)
            fixed = np.concatenate([self.nodes, self.bnodes])
            values = np.concatenate([self.T_filtered, self.bvalues])
            P = self.heat.step(dt, fixed, values)
            p_if, p_b = P[: self.nodes.size], P[self.nodes.size:]
            self.last_power = p_if
            v_eff = np.sqrt(e / (self.mvv2e * self.m))[:, None]
            c = self.thermostat.scale_factors(v_eff, p_if * dt)
            injected = 0.5 * float(np.sum(e * (c * c - 1.0)))
            self.ledger.add(thermostat_requested=float(np.sum(p_if)) * dt, thermostat_work=injected,
                            boundary_heat=-float(np.sum(p_b)) * dt)
            c = c[:, None]
        c = self.ex.to_patch(c, 1)
        if self.is_patch:
            self.patch.v[self.atoms] *= c

    def energies(self) -> EnergyLedger:
        """Thermal energy of the continuum and KE/PE of the patch into the ledger (collective)."""
        mine = np.zeros(3)
        if self.is_patch:
            mine[0] = self.patch.kinetic_energy()
            mine[1] = self.patch.potential_energy()
        if self.is_continuum:
            mine[2] = self.heat.thermal_energy()
        if self.ex.intercomm is None:
            tot = mine
        else:
            root = self.local_comm is None or self.local_comm.Get_rank() == 0
            tot = mine + np.asarray(self.ex.intercomm.allreduce(mine if root else np.zeros(3)))
        self.ledger.set_state(atomic_kinetic=tot[0], atomic_potential=tot[1], thermal_energy=tot[2])
        return self.ledger
