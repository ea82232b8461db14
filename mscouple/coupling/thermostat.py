"""Power-matched ("flux") thermostat: continuum heat power → atoms.

After Wagner, Jones, Templeton & Parks, *An atomistic-to-continuum coupling method for heat
transfer in solids*, CMAME 197 (2008) 3351 (LAMMPS AtC ``control thermal flux``).

The continuum passes a power ``Q_I`` (energy/time) across the interface at node I. The atoms
receive it through the force

    f_α = −λ(X_α) m_α v_α,      λ(X) = Σ_J N_J(X) λ_J           (f in force units: × mvv2e)

with ``λ_J`` solved from the power balance at every node,

    Σ_α N_I(X_α) f_α·v_α = Q_I   ⇔   B λ = −Q,   B_IJ = Σ_α N_I(X_α) mvv2e m_α |v_α|² N_J(X_α).

``B`` is SPD whenever every node sees a moving atom. The identity
``Σ_I (Nᵀ (f·v))_I = Σ_I Q_I`` holds to round-off at the λ-solve.

Integration: :meth:`PowerMatchedThermostat.apply` turns the force into the exact solution of
``m dv/dt = −λ m v`` over the interval, ``v ← v exp(−λ(X) h)``, and returns both the energy
requested (``h Σ Q``) and the kinetic energy actually injected; the ledger records both
(the difference is the time-discretisation error, O(h²) per step).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg as la
import scipy.sparse as sp

from ..errors import ConfigError, SimulationError

__all__ = ["PowerMatchedThermostat", "ThermostatStep"]


@dataclass
class ThermostatStep:
    """lam_nodes [n_band]; requested = h Σ Q; injected = exact ΔKE of the atoms (energy)."""

    lam_nodes: np.ndarray
    requested: float
    injected: float


class PowerMatchedThermostat:
    """Thermostat of the atoms of one band (or patch region) driven by nodal powers.

    Parameters
    ----------
    transfer : CSR [m, n_nodes] N_I(X_α) for the thermostatted atoms.
    mass : [m] atom masses (mass units; the *physical* masses).
    mvv2e : ``units.mvv2e`` (1 in LJ units).
    """

    def __init__(self, transfer: sp.spmatrix, mass: np.ndarray, mvv2e: float = 1.0) -> None:
        n_full = sp.csr_matrix(transfer)
        n_full.eliminate_zeros()
        self.nodes = np.unique(n_full.indices)
        self.N = n_full[:, self.nodes].tocsr()
        self.mass = np.asarray(mass, dtype=float)
        if self.mass.shape != (self.N.shape[0],):
            raise ConfigError(f"mass has shape {self.mass.shape}; the thermostat has {self.N.shape[0]} atoms")
        self.mvv2e = float(mvv2e)

    def matrix(self, v: np.ndarray) -> np.ndarray:
        """B [n_band, n_band] for velocities v [m, k]."""
        d = self.mvv2e * self.mass * np.sum(np.asarray(v).reshape(self.mass.size, -1) ** 2, axis=1)
        return (self.N.T @ sp.diags(d) @ self.N).toarray()

    def solve(self, v: np.ndarray, power: np.ndarray) -> np.ndarray:
        """λ_J [n_band] that makes the thermostat deliver ``power`` [n_band] (energy/time)."""
        power = np.asarray(power, dtype=float)
        if power.shape != (self.nodes.size,):
            raise ConfigError(f"power has shape {power.shape}; expected ({self.nodes.size},) band nodes")
        B = self.matrix(v)
        try:
            c = la.cho_factor(B, lower=True)
        except la.LinAlgError:
            raise SimulationError(
                "power-matched thermostat: a node's atoms are all at rest (singular power matrix); "
                "start the patch at a finite temperature") from None
        return -la.cho_solve(c, power)

    def forces(self, v: np.ndarray, lam_nodes: np.ndarray) -> np.ndarray:
        """Thermostat forces f_α = −λ(X_α) mvv2e m_α v_α, [m, k] (force units)."""
        v = np.asarray(v, dtype=float).reshape(self.mass.size, -1)
        lam = self.N @ lam_nodes
        return -(lam * self.mvv2e * self.mass)[:, None] * v

    def nodal_power(self, v: np.ndarray, f: np.ndarray) -> np.ndarray:
        """Σ_α N_I(X_α) f_α·v_α, [n_band] (energy/time)."""
        v = np.asarray(v).reshape(self.mass.size, -1)
        f = np.asarray(f).reshape(self.mass.size, -1)
        return self.N.T @ np.sum(f * v, axis=1)

    def apply(self, v: np.ndarray, power: np.ndarray, h: float) -> ThermostatStep:
        """Inject ``power`` over a time ``h``: solve λ, then ``v ← v exp(−λ(X) h)`` in place."""
        v2 = np.asarray(v).reshape(self.mass.size, -1)
        lam = self.solve(v2, power)
        ke0 = 0.5 * self.mvv2e * np.sum(self.mass[:, None] * v2 ** 2)
        v2 *= np.exp(-(self.N @ lam) * h)[:, None]
        ke1 = 0.5 * self.mvv2e * np.sum(self.mass[:, None] * v2 ** 2)
        return ThermostatStep(lam, float(h * np.sum(power)), float(ke1 - ke0))

    def scale_factors(self, v: np.ndarray, energy: np.ndarray) -> np.ndarray:
        """Per-atom velocity factors c_α [m] that inject ``energy`` [n_band] *exactly*.

        The discrete form of f = −λ m v: ``v ← c v`` with ``c_α² = 1 + Σ_J N_Jα μ_J`` and
        ``B μ = 2 energy`` (B as in :meth:`matrix`), so that Σ_α N_Iα ΔKE_α = energy_I for
        every node and, the rows of N summing to one, Σ_α ΔKE_α = Σ_I energy_I to round-off.
        To first order μ = −2 λ h: the same multipliers as the power-matched solve.
        """
        energy = np.asarray(energy, dtype=float)
        B = self.matrix(v)
        try:
            mu = la.cho_solve(la.cho_factor(B, lower=True), 2.0 * energy)
        except la.LinAlgError:
            raise SimulationError(
                "power-matched thermostat: a node's atoms are all at rest (singular power matrix); "
                "start the patch at a finite temperature") from None
        c2 = 1.0 + self.N @ mu
        if np.any(c2 <= 0):
            raise self._overdraw_error(v, energy, c2 <= 0)
        return np.sqrt(c2)

    def _overdraw_error(self, v: np.ndarray, energy: np.ndarray, bad_atoms: np.ndarray) -> SimulationError:
        """The error for an interval that asks the band's atoms for more kinetic energy than
        they hold: names the band nodes, requested vs available energy, and the fix."""
        ke = 0.5 * self.mvv2e * self.mass * np.sum(np.asarray(v).reshape(self.mass.size, -1) ** 2, axis=1)
        available = self.N.T @ ke  # kinetic energy the atoms of each node carry (shape-weighted)
        touched = np.unique(self.N[np.flatnonzero(bad_atoms)].indices)
        over = [j for j in touched if -energy[j] >= available[j]] or list(touched)
        worst = max(over, key=lambda j: -energy[j] / max(available[j], 1e-300))
        return SimulationError(
            f"power-matched thermostat (band atoms): one coupling interval asks the atoms of "
            f"{len(over)} band node(s) (worst: node {int(self.nodes[worst])}) to give up "
            f"{-energy[worst]:.4g} of kinetic energy but they hold only {available[worst]:.4g} "
            f"({int(bad_atoms.sum())} atom(s) would need a negative squared velocity): the heat flow "
            f"per interval is too large for the band; use a smaller run.dt or handshake.thermal_every, "
            f"or a wider handshake band (more atoms per node)")

    def apply_exact(self, v: np.ndarray, power: np.ndarray, h: float) -> ThermostatStep:
        """Inject ``power`` [n_band] over ``h`` by velocity scaling; injected = requested to round-off."""
        v2 = np.asarray(v).reshape(self.mass.size, -1)
        c = self.scale_factors(v2, power * h)
        e = self.mvv2e * self.mass * np.sum(v2 ** 2, axis=1)
        injected = 0.5 * float(np.sum(e * (c ** 2 - 1.0)))  # Σ ΔKE without cancellation
        v2 *= c[:, None]
        lam = -(c ** 2 - 1.0) / (2.0 * h)  # per atom, first-order equivalent of λ(X_α)
        return ThermostatStep(lam, float(h * np.sum(power)), injected)

    def nodal_temperature(self, v: np.ndarray, boltzmann: float, dof_per_atom: int | None = None) -> np.ndarray:
        """Kinetic temperature projected on the band nodes with the shape functions, [n_band].

        T_I = Σ_α N_Iα mvv2e m_α |v_α|² / (dof k_B Σ_α N_Iα)  (a partition-of-unity weighted mean).
        """
        v2 = np.asarray(v).reshape(self.mass.size, -1)
        dof = v2.shape[1] if dof_per_atom is None else dof_per_atom
        e2 = self.mvv2e * self.mass * np.sum(v2 ** 2, axis=1)
        wsum = np.asarray(self.N.sum(axis=0)).ravel()
        return (self.N.T @ e2) / (dof * boltzmann * wsum)
