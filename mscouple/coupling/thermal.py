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
:class:`~mscouple.validation.models1d.Heat1D`). The atom side needs ``v [n, 3]`` and ``mass [n]``.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
import scipy.sparse as sp

from ..errors import ConfigError
from .exchange import InterfaceExchange
from .ledger import EnergyLedger
from .thermostat import PowerMatchedThermostat

__all__ = ["ThermalCoupler", "DampingToHeat", "nemd_conductivity", "conductivity_extrapolation"]


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
        self.routing = None  # patch side: a HomeRouting when atoms may migrate between ranks
        if self.is_patch:
            self.atoms = (np.arange(exchange.n_local) if thermo_atoms is None
                          else np.asarray(thermo_atoms, dtype=np.int64))
        m_up = np.asarray(patch.mass)[self.atoms] if self.is_patch else None
        m = self.ex.to_continuum(m_up, 1)
        self.ledger = EnergyLedger()
        self.T_filtered: Optional[np.ndarray] = None
        self.last_power: Optional[np.ndarray] = None
        #: per coupling interval: the multipliers λ_J of the power-matched solve [n_if], the
        #: nodal power Σ_α N_Iα f_α·v_α that f = −λ(X) m v delivers at the solve [n_if], and
        #: max_I |that − P_I| / max_I |P_I| (round-off; ``check_power=False`` skips the solve)
        self.last_lambda: Optional[np.ndarray] = None
        self.last_injected_power: Optional[np.ndarray] = None
        self.last_power_residual = 0.0
        self.max_power_residual = 0.0
        #: ∫ Σ_α f_α·v_α dt at the λ-solves (rectangle rule over the coupling intervals)
        self.power_integral = 0.0
        self.check_power = True
        self.gathered = bool(self.is_continuum and local_comm is not None and local_comm.Get_size() > 1)
        self._root = True
        if self.is_continuum:
            if interface_nodes is None:
                raise ConfigError("continuum side: pass interface_nodes (nodes whose temperature the atoms set)")
            self.nodes = np.asarray(interface_nodes, dtype=np.int64)
            self.bnodes = (np.zeros(0, np.int64) if boundary_nodes is None
                           else np.asarray(boundary_nodes, dtype=np.int64))
            self.bvalues = (np.zeros(0) if boundary_values is None
                            else np.asarray(boundary_values, dtype=float).reshape(self.bnodes.size))
            N, m_atoms = exchange.transfer.matrix, m[:, 0]
            if self.gathered:
                N, m_atoms = self._gather_setup(N, m_atoms)
            else:
                N = N.tocsc()[:, self.nodes].tocsr()  # [m, n_if]
            if self._root:
                self._build(N, m_atoms)

    def _build(self, N: sp.csr_matrix, m_atoms: np.ndarray) -> None:
        """Thermostat over the interface columns ``N`` [m, n_if] (continuum root)."""
        rows = np.asarray(N.sum(axis=1)).ravel()
        if np.any(N.sum(axis=0) <= 0):
            raise ConfigError("an interface node has no thermostatted atom in its support")
        if not np.any(rows > 0):
            raise ConfigError("no thermostatted atom lies in the support of an interface node")
        # An atom outside the support of every interface node (a band corner of a simplex mesh:
        # the triangle or tetrahedron there has no node on the core's boundary) is not
        # thermostatted: λ(X) = Σ_J N_J(X) λ_J = 0 there, its row stays empty. The others' rows
        # sum to one, so the power handed over still equals the power requested exactly.
        self.N = N
        inv = np.where(rows > 0, 1.0 / np.where(rows > 0, rows, 1.0), 0.0)
        Nn = sp.diags(inv) @ N  # rows sum to one (or zero): exact energy hand-over
        self.n_unsupported = int(np.count_nonzero(rows <= 0))
        full = sp.csr_matrix((Nn.data, Nn.indices, Nn.indptr), shape=(N.shape[0], self.nodes.size))
        self.thermostat = PowerMatchedThermostat(full, m_atoms, mvv2e=self.mvv2e)
        self._wsum = np.asarray(N.sum(axis=0)).ravel()
        self.m = m_atoms

    # ------------------------------------------------------------------ multi-rank continuum
    def _gather_setup(self, N, m_atoms):
        """Continuum on several ranks: ``interface_nodes``/``boundary_nodes`` are *global* node
        numbers; the heat side offers ``local_to_global`` [n_local] (columns of the exchange's
        N) and ``owned_global`` [n_owned] (rows of ``T`` and of ``step``'s ``fixed``). The
        O(interface) atom data is gathered on the continuum comm's rank 0 each interval."""
        comm = self.local_comm
        heat = self.heat
        if not (hasattr(heat, "local_to_global") and hasattr(heat, "owned_global")):
            raise ConfigError("a continuum on several ranks needs a heat side with local_to_global and "
                              "owned_global (HeatConductionSide)")
        l2g = np.asarray(heat.local_to_global, dtype=np.int64)
        own_g = np.asarray(heat.owned_global, dtype=np.int64)

        def owned(nodes):
            order = np.argsort(nodes)
            hit = np.isin(own_g, nodes)
            rows = np.flatnonzero(hit)
            k = order[np.searchsorted(nodes, own_g[rows], sorter=order)]
            return rows, k

        self._own_if_rows, self._own_if_k = owned(self.nodes)
        self._own_b_rows, self._own_b_k = owned(self.bnodes)
        coo = N.tocoo()
        parts = comm.gather((coo.row, l2g[coo.col], coo.data, N.shape[0], m_atoms,
                             self._own_if_k, self._own_b_k), root=0)
        self._root = comm.Get_rank() == 0
        bad = None
        if self._root:
            kif = np.concatenate([p[5] for p in parts])
            kb = np.concatenate([p[6] for p in parts])
            if not (np.array_equal(np.sort(kif), np.arange(self.nodes.size))
                    and np.array_equal(np.sort(kb), np.arange(self.bnodes.size))):
                bad = ("interface/boundary nodes must be global node numbers of the continuum mesh, each "
                       "owned by one continuum rank")
        bad = comm.bcast(bad, root=0)
        if bad:
            raise ConfigError(bad)
        if not self._root:
            return None, None
        order = np.argsort(self.nodes)
        rows, cols, vals, off, self._counts, self._k_parts = [], [], [], 0, [], []
        for r, g, v, mr, _, kif, kb in parts:
            keep = np.isin(g, self.nodes)
            rows.append(r[keep] + off)
            cols.append(order[np.searchsorted(self.nodes, g[keep], sorter=order)])
            vals.append(v[keep])
            self._counts.append(mr)
            self._k_parts.append((kif, kb))
            off += mr
        Ng = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                           shape=(off, self.nodes.size))
        return Ng, np.concatenate([p[4] for p in parts])

    def _couple_gathered(self, e: np.ndarray, dt: float) -> np.ndarray:
        comm = self.local_comm
        parts = comm.gather(e, root=0)
        e_all = None
        if self._root:
            e_all = np.concatenate(parts)
            self._filter(self.nodal_temperature(e_all), dt)
        self.T_filtered = comm.bcast(self.T_filtered, root=0)
        fixed = np.concatenate([self._own_if_rows, self._own_b_rows])
        values = np.concatenate([self.T_filtered[self._own_if_k], self.bvalues[self._own_b_k]])
        P = np.asarray(self.heat.step(dt, fixed, values))
        n1 = self._own_if_rows.size
        pp = comm.gather((P[:n1], P[n1:]), root=0)
        out = None
        if self._root:
            p_if, p_b = np.zeros(self.nodes.size), np.zeros(self.bnodes.size)
            for (a, b), (kif, kb) in zip(pp, self._k_parts):
                p_if[kif] = a
                p_b[kb] = b
            c = self._to_atoms(e_all, p_if, p_b, dt)
            out = np.split(c, np.cumsum(self._counts)[:-1])
        return comm.scatter(out, root=0)

    # ------------------------------------------------------------------ one interval
    def _filter(self, T: np.ndarray, dt: float) -> None:
        if self.T_filtered is None or self.tau == 0.0:
            self.T_filtered = T.copy()
        else:
            self.T_filtered += min(dt / self.tau, 1.0) * (T - self.T_filtered)

    def _to_atoms(self, e: np.ndarray, p_if: np.ndarray, p_b: np.ndarray, dt: float) -> np.ndarray:
        """Velocity factors [m] that hand ``p_if dt`` to the atoms; books the ledger."""
        self.last_power = p_if
        v_eff = np.sqrt(e / (self.mvv2e * self.m))[:, None]
        if self.check_power:
            self._power_check(v_eff, p_if, dt)
        c = self.thermostat.scale_factors(v_eff, p_if * dt)
        injected = 0.5 * float(np.sum(e * (c * c - 1.0)))
        self.ledger.add(thermostat_requested=float(np.sum(p_if)) * dt, thermostat_work=injected,
                        boundary_heat=-float(np.sum(p_b)) * dt)
        return c

    def nodal_temperature(self, e: np.ndarray) -> np.ndarray:
        """Kinetic temperature projected on the interface nodes from ``e = mvv2e m v²`` [m]."""
        return (self.N.T @ e) / (self.dof * self.kB * self._wsum)

    def couple(self, dt: float) -> None:
        """One coupling interval of length ``dt`` (collective over the intercomm and, with a
        continuum on several ranks, over the continuum comm)."""
        up = None
        if self.is_patch:
            if self.routing is None:
                v = np.asarray(self.patch.v)[self.atoms]
                up = self.mvv2e * np.asarray(self.patch.mass)[self.atoms] * np.sum(v * v, axis=1)
            else:  # thermostatted atoms may live on other patch ranks than at set-up
                v = np.asarray(self.patch.v)
                up = self.routing.gather(self.mvv2e * np.asarray(self.patch.mass) * np.sum(v * v, axis=1))
        e = self.ex.to_continuum(up, 1)
        c = None
        if self.is_continuum:
            e = e[:, 0]
            if self.gathered:
                c = self._couple_gathered(e, dt)
            else:
                self._filter(self.nodal_temperature(e), dt)
                fixed = np.concatenate([self.nodes, self.bnodes])
                values = np.concatenate([self.T_filtered, self.bvalues])
                P = self.heat.step(dt, fixed, values)
                c = self._to_atoms(e, P[: self.nodes.size], P[self.nodes.size:], dt)
            c = c[:, None]
        c = self.ex.to_patch(c, 1)
        if self.is_patch:
            if self.routing is None:
                self.patch.v[self.atoms] *= c
            else:
                rows, f = self.routing.scatter(c[:, 0])
                self.patch.v[rows] *= f[:, None]

    def _power_check(self, v_eff: np.ndarray, p_if: np.ndarray, dt: float) -> None:
        """Solve the power-matched system B λ = −P and record Σ_α N_Iα f_α·v_α against P."""
        th = self.thermostat
        lam = th.solve(v_eff, p_if)
        inj = th.nodal_power(v_eff, th.forces(v_eff, lam))
        scale = float(np.max(np.abs(p_if), initial=0.0))
        res = float(np.max(np.abs(inj - p_if), initial=0.0)) / scale if scale > 0 else 0.0
        self.last_lambda, self.last_injected_power, self.last_power_residual = lam, inj, res
        self.max_power_residual = max(self.max_power_residual, res)
        self.power_integral += dt * float(np.sum(inj))

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
        if self.gathered:  # the flux terms are booked on the continuum root
            flux = self.local_comm.bcast({k: getattr(self.ledger, k) for k in
                                          ("thermostat_work", "thermostat_requested", "boundary_heat")}, root=0)
            for k, v in flux.items():
                setattr(self.ledger, k, v)
        self.ledger.set_state(atomic_kinetic=tot[0], atomic_potential=tot[1], thermal_energy=tot[2])
        return self.ledger


class DampingToHeat:
    """Hand the energy the mechanical damping band removed to the heat equation as heat.

    The :class:`~mscouple.coupling.dynamics.BridgingDomainCoupler`'s damping band removes
    kinetic energy ``ΔE`` (its ledger's ``damping_removed``) from the fine-scale motion of the
    band atoms. :meth:`hand_over` turns what was removed since the last call into a nodal heat
    power on the band nodes for the next heat step of length ``dt``,

        S_I = [Σ_α N_Iα e_α + (ΔE − Σ_α e_α) c_I / Σ_J c_J] / dt,    c_I = Σ_α N_Iα,

    with ``e_α`` the energy the damping took from atom α (``DampingBand.removed_per_atom``;
    the second term spreads the part removed by the re-projection after damping, evenly per
    atom). The rows of N sum to one, so ``dt Σ_I S_I = ΔE`` to round-off: the heat step adds
    exactly the removed energy to ``Σ m_I T_I`` (on Dirichlet nodes the heat shows up in the
    reaction power instead, and a :class:`ThermalCoupler` passes it on to the atoms). The
    handed-over energy is booked as the coupler ledger's ``damping_heat``; with
    :meth:`~mscouple.coupling.ledger.EnergyLedger.combine` the combined ``balance`` is the
    conserved mechanical + thermal total of both scales.

    Parameters
    ----------
    coupler : the bridging-domain coupler (continuum side; its damping band lives on the
        continuum rank that solves the band system).
    heat : heat side on the same mesh as the mechanical continuum (node ``i`` of the heat side
        = row ``i`` of the mechanical side's ``v``), with a writable nodal power ``source``
        [n] (``Heat1D.source``, ``HeatConductionSide.source``).

    On several continuum ranks the band system lives on the continuum root (the coupler's
    gathered mode): the root computes ``S`` on the band nodes and scatters each rank its
    owned band nodes' share, so the energy handed over is the same for any rank count. The
    heat side must number its owned nodes as the mechanical side does (checked).
    """

    def __init__(self, coupler, heat) -> None:
        if not coupler.is_continuum:
            raise ConfigError("DampingToHeat runs on the continuum ranks only")
        self.cp = coupler
        self.heat = heat
        self.comm = coupler.local_comm if coupler.gathered else None
        self._root = coupler._root
        if self.comm is not None:
            mech = np.asarray(coupler.continuum.owned_global, dtype=np.int64)
            own = np.asarray(getattr(heat, "owned_global", mech), dtype=np.int64)
            if self.comm.allreduce(int(not np.array_equal(mech, own))):
                raise ConfigError("DampingToHeat: the heat and mechanical sides number their owned "
                                  "nodes differently (build both on one mesh)")
            self.rows = np.asarray(coupler._own_rows, dtype=np.int64)  # owned band rows, this rank
        else:
            self.rows = np.asarray(coupler.bdm.nodes, dtype=np.int64)
        has_band = self._root and coupler.damping is not None
        if self.comm is not None:
            has_band = bool(self.comm.bcast(has_band, root=0))
        if not has_band:
            raise ConfigError("DampingToHeat: the coupler has no damping band (pass damping= to it)")
        if self._root:
            self.N = sp.csr_matrix(coupler.bdm.N)
            rs = np.asarray(self.N.sum(axis=1)).ravel()
            bad = bool(np.any(np.abs(rs - 1.0) > 1e-10))
        else:
            self.N, bad = None, False
        if self.comm is not None:
            bad = bool(self.comm.bcast(bad, root=0))
        if bad:
            raise ConfigError("DampingToHeat: shape functions of a band atom do not sum to one")
        if self._root:
            c = np.asarray(self.N.sum(axis=0)).ravel()
            self._share = c / c.sum()
        self._seen = coupler.ledger.damping_removed
        self._applied = np.zeros(self.rows.size)
        self.handed = 0.0

    def checkpoint_state(self) -> float:
        """The damping energy already handed over (restart state)."""
        return float(self._seen)

    def restore_state(self, seen: float) -> None:
        self._seen = float(seen)

    def hand_over(self, dt: float) -> float:
        """Set the heat source for the next heat step of length ``dt``; return the energy
        handed over (removed since the last call)."""
        led = self.cp.ledger
        S, dE = None, 0.0
        if self._root:  # the damping band and the flux terms live on the continuum root
            dE = led.damping_removed - self._seen
            self._seen = led.damping_removed
            band = self.cp.damping
            e = band.removed_per_atom.copy()
            band.removed_per_atom[:] = 0.0
            S = (self.N.T @ e + (dE - float(np.sum(e))) * self._share) / dt
            led.add(damping_heat=dE)
        if self.comm is not None:  # each rank its owned band nodes (band positions → rows)
            parts = [S[pos] for pos in self.cp._pos_parts] if self._root else None
            S = self.comm.scatter(parts, root=0)
            dE = float(self.comm.bcast(dE, root=0))
        src = self.heat.source
        src[self.rows] += S - self._applied
        self._applied = S
        self.handed += dE
        return dE


# material consistency (PETSc-free, so MD-only ranks can import it): mscouple.atomistic.nemd
from ..atomistic.nemd import conductivity_extrapolation, nemd_conductivity  # noqa: E402,F401
