"""Bridging-domain dynamics: the coupled velocity-Verlet step across an intercommunicator.

The continuum runs on the continuum ranks, the patch on its own ranks; an
:class:`~mscouple.coupling.exchange.InterfaceExchange` joins them (or, with both on one
rank, its ``local`` form — the same code path with copies instead of messages).

Step order (velocity Verlet with a RATTLE projection after each half kick; the
constraint is linear, so the projection is exact — see :mod:`mscouple.coupling.bdm`)::

    both sides:      kick(dt/2)                       v += dt/2 · f / m
    patch → cont.:   band-atom velocities              [m_band, k]   point-to-point
    continuum:       solve A μ = −Cᵀ g, correct nodes
    cont. → patch:   band-atom velocity corrections    [m_band, k]   point-to-point
    both sides:      drift(dt); compute_forces()
    both sides:      kick(dt/2)
    (projection exchange again; the damping band acts here, over dt, on the full-step
     velocities of band atoms and nodes: an exact constrained Langevin step,
     :class:`~mscouple.coupling.damping.ConstrainedDampingBand`, whose stationary
     distribution on the constraint is the canonical one at ``temperature``; optionally
     also high-pass dashpots that absorb the motion above the mesh's cut-off frequency)

Per step each side sends O(interface) numbers twice; the sides step concurrently between
the exchanges. The *mechanical side* interface both models must offer is documented in
:mod:`mscouple.validation.models1d` (``mass``, ``v``, ``kick``, ``drift``,
``compute_forces``, ``kinetic_energy``, ``potential_energy``); the engines are wrapped to it
by thin adapters.

Energy (the ledger): atomic KE + PE (blended) + continuum KE + strain (weighted) is the
conserved Hamiltonian; the projections' kinetic-energy change is reported as constraint
work, the fine-scale damping's removal as damping_removed.
"""
from __future__ import annotations

from time import perf_counter as _perf
from typing import Callable, Optional

import numpy as np
import scipy.sparse as sp

from .._kernels import bandproj as _kb
from ..errors import ConfigError, SimulationError
from .bdm import BridgingDomain, DistributedBand
from .damping import ConstrainedDampingBand
from .exchange import InterfaceExchange
from .ledger import EnergyLedger
from .subcycle import ContinuumSubcycler, cycles

__all__ = ["BridgingDomainCoupler", "end_projections"]


def _rows_ok(v, k: int) -> bool:
    """Whether the compiled row kernels may work on ``v`` (C-contiguous float64 [n, ≥k])."""
    return (isinstance(v, np.ndarray) and v.dtype == np.float64 and v.ndim == 2
            and v.flags.c_contiguous and v.flags.writeable and v.shape[1] >= k)


def end_projections(n: int, k: int = 1, phase: int = 0, merge: bool = False) -> list[bool]:
    """For each of ``n`` coupled steps: whether its end projection runs.

    Merging (``merge``) skips a step's end projection when the next step's first one follows
    with nothing between them but kicks. The projection ``P`` is linear and idempotent, so
    ``P(P(x) + y) = P(x + y)``: the trajectory is the same to round-off. Kept: the last
    step's (the state seen by the ledger, frames and checkpoints is the projected one) and
    the end of a subcycle whose successor has another length (its two continuum impulses
    differ there; see :meth:`BridgingDomainCoupler.project`'s ``work_scale``). ``k`` and
    ``phase``: the subcycle and the step count at the start (:func:`~.subcycle.cycles`)."""
    if not merge:
        return [True] * int(n)
    out: list[bool] = []
    cyc = cycles(n, k, phase)
    for c, j in enumerate(cyc):
        nxt = cyc[c + 1] if c + 1 < len(cyc) else None
        out += [False] * (j - 1) + [nxt is None or nxt != j]
    return out


class BridgingDomainCoupler:
    """Drive one patch and the continuum with bridging-domain constraints.

    Parameters
    ----------
    exchange : the interface pattern (``InterfaceExchange.setup`` or ``.local``); its
        continuum-side ``transfer`` maps local nodes to the assigned band atoms.
    patch : the atomistic mechanical side (patch ranks; ``None`` elsewhere).
    continuum : the continuum mechanical side (continuum ranks; ``None`` elsewhere).
    band_atoms : patch side: indices of the band atoms in the patch arrays, in the order
        given to the exchange.
    components : number of velocity components coupled (the continuum's dimension).
    multipliers : ``"atoms"`` or ``"nodes"`` (see :class:`~mscouple.coupling.bdm.BridgingDomain`).
    damping : optional callable ``gamma(X [m, dim]) -> [m]`` giving each band atom's damping
        rate (1/time) for the fine-scale velocity ``v_α − Σ N_I v_I`` (e.g. a stadium profile).
    damping_reference : ``"continuum"`` damps ``v_α − Σ N_I v_I`` (only what the mesh cannot
        carry; dashpots between the atom and its interpolated continuum point, reaction on the
        nodes); ``"zero"`` damps the whole atomic velocity (classical stadium damping; it also
        absorbs long waves).
    temperature, boltzmann, mvv2e, seed : Langevin bath of the damping band (friction and
        noise consistent on the constraint manifold: a coupled system at the bath temperature
        stays there). ``self.damping`` is the
        :class:`~mscouple.coupling.damping.ConstrainedDampingBand` (continuum root only).
    highpass_damping : optional callable ``gamma(X [m, dim]) -> [m]``: dashpots on the whole
        atomic velocity against its time-filtered (slow) part, i.e. damping of the band atoms'
        motion above ``highpass_cutoff`` (rad/time) only, with ``highpass_order`` first-order
        sections (:class:`~mscouple.coupling.damping.HighPassFilter`). Absorbs the waves above
        the mesh's cut-off frequency 2c/h that the fine-scale damping cannot reach (their coarse
        projection is not small); choose ``highpass_cutoff`` ≈ the mesh cut-off. Temperature 0
        only. Default ``None``: off.
    local_comm : this rank's side communicator (continuum or patch comm); its rank 0 speaks
        for the side when energies are exchanged. ``None`` with a one-rank side. With a
        continuum on several ranks the band system (O(interface)) is gathered on the continuum
        comm's rank 0, solved there and the corrections scattered back where a damping band
        acts (``gathered``), and otherwise assembled and solved distributed over the continuum
        comm (``distributed``: :class:`~mscouple.coupling.bdm.DistributedBand`); the continuum side
        must then offer ``local_to_global`` (global number of each local node, the columns of
        the exchange's N) and ``owned_global`` (global number of each row of ``v``/``mass``).
    """

    def __init__(self, exchange: InterfaceExchange, *, patch=None, continuum=None,
                 band_atoms: Optional[np.ndarray] = None, components: int = 1,
                 multipliers: str = "atoms", damping: Optional[Callable[[np.ndarray], np.ndarray]] = None,
                 temperature: float = 0.0, boltzmann: float = 1.0, mvv2e: float = 1.0, seed: int = 0,
                 damping_reference: str = "continuum", local_comm=None,
                 highpass_damping: Optional[Callable[[np.ndarray], np.ndarray]] = None,
                 highpass_cutoff: float = 0.0, highpass_order: int = 1,
                 highpass_node_rate: float = 0.0, subcycle: int = 1) -> None:
        self.ex = exchange
        self.local_comm = local_comm
        self.patch = patch
        self.continuum = continuum
        self.k = int(components)
        self.mvv2e = float(mvv2e)
        self.is_patch = exchange.side in ("patch", "both")
        self.is_continuum = exchange.side in ("continuum", "both")
        if self.is_patch and patch is None:
            raise ConfigError("this rank is on the patch side: pass patch=")
        if self.is_continuum and continuum is None:
            raise ConfigError("this rank is on the continuum side: pass continuum=")
        self.gathered = bool(self.is_continuum and local_comm is not None and local_comm.Get_size() > 1)
        if self.is_continuum and not self.gathered and not getattr(continuum, "one_rank", True):
            raise ConfigError("the continuum runs on several ranks: pass its communicator as local_comm")
        if damping_reference not in ("continuum", "zero"):
            raise ConfigError(f"damping_reference = {damping_reference!r}: expected 'continuum' or 'zero'")
        self.damping_reference = damping_reference
        #: a damping band acts at each step's second projection (known on both halves): the
        #: run layer may then not merge a step's end projection into the next step's first
        self.damped = bool(damping is not None or highpass_damping is not None or highpass_node_rate > 0)
        #: continuum on several ranks without a damping band: the band system is assembled and
        #: solved distributed over the continuum comm (no rank gathers the band); with a damping
        #: band it is gathered on the continuum root (``gathered`` and not ``distributed``)
        self.distributed = bool(self.gathered and not self.damped)
        self.dband = None
        self._band = None
        self._band_ids = None
        self._reorder_seen = None
        self.routing = None  # patch side on several ranks: band atoms keep their rows (HomeRouting)
        self._up_buf = None  # patch side: the band velocities sent each projection
        if self.is_patch:
            self._band = (np.arange(exchange.n_local) if band_atoms is None
                          else np.asarray(band_atoms, dtype=np.int64))
            if self._band.size != exchange.n_local:
                raise ConfigError("band_atoms must list the atoms given to the exchange, in the same order")
            if hasattr(patch, "reorder_count") and hasattr(patch, "ids"):
                self._band_ids = np.asarray(patch.ids)[self._band].copy()
                self._reorder_seen = patch.reorder_count
                comm = getattr(patch, "comm", None)
                if comm is not None and comm.Get_size() > 1:
                    from .routing import HomeRouting

                    self.routing = HomeRouting(comm, patch, self._band)
        m_up = self.patch.mass[self.band_atoms] if self.is_patch else None
        m_band = self.ex.to_continuum(m_up, 1)
        self.bdm: Optional[BridgingDomain] = None
        self.damping: Optional[ConstrainedDampingBand] = None
        self._root = True
        if self.is_continuum:
            N, m_atoms, M_nodes, ids, X = exchange.transfer.matrix, m_band[:, 0], continuum.mass, \
                exchange.atom_ids, exchange.reference
            # Dirichlet components of the nodes (e.g. rollers crossing the band): infinite mass
            # in the projection and the bath (BridgingDomain._setup_fixed)
            fixed = getattr(continuum, "fixed_components", None)
            fixed = None if fixed is None else np.asarray(fixed, dtype=bool)[:, :self.k]
            if self.distributed:
                # no damping band: the band system stays distributed (DistributedBand)
                self._root = local_comm.Get_rank() == 0
                self.dband = DistributedBand(local_comm, N, continuum.local_to_global, continuum.owned_global,
                                             m_atoms, continuum.mass, components=self.k,
                                             multipliers=multipliers, mvv2e=mvv2e, node_fixed=fixed)
                self._own_rows = self.dband.own_rows
            elif self.gathered:
                N, m_atoms, M_nodes, ids, X = self._gather_setup(N, m_atoms, ids, X)
                fixed = self._gather_fixed(fixed)
            if self._root and not self.distributed:
                self.bdm = BridgingDomain(N, m_atoms, M_nodes, multipliers=multipliers, mvv2e=mvv2e,
                                          node_fixed=fixed)
                # the band's unconstrained degrees of freedom (T_bath): k per band atom and band
                # node, less one per multiplier and component (k n_band node multipliers, k m_band
                # atom multipliers; both independent) and the Dirichlet components
                nfix = 0 if self.bdm.fixed is None else int(self.bdm.fixed.sum())
                nmult = self.bdm.M.size if multipliers == "nodes" else self.bdm.m.size
                self.band_dof = self.k * (self.bdm.m.size + self.bdm.M.size - nmult) - nfix
                hp_on = highpass_damping is not None or highpass_node_rate > 0
                if damping is not None or hp_on:
                    gamma = (np.zeros(self.bdm.m.size) if damping is None
                             else np.asarray(damping(X), dtype=float))
                    ghp = None if highpass_damping is None else np.asarray(highpass_damping(X), dtype=float)
                    ghn = highpass_node_rate if highpass_node_rate > 0 else None
                    self.damping = ConstrainedDampingBand(gamma, self.bdm, ids, damping_reference,
                                                          temperature, boltzmann, mvv2e, seed,
                                                          highpass=ghp, cutoff=highpass_cutoff,
                                                          order=highpass_order, highpass_nodes=ghn)
        #: continuum side: its slow impulses, one force evaluation per ``subcycle`` MD steps
        #: (:mod:`mscouple.coupling.subcycle`; 1: the plain coupled velocity Verlet)
        self.subcycler = (ContinuumSubcycler(continuum, mvv2e, local_comm if self.gathered else None)
                          if self.is_continuum else None)
        self.subcycle = int(subcycle)
        if self.subcycle < 1:
            raise ConfigError(f"subcycle = {subcycle}: expected an integer >= 1")
        self.ledger = EnergyLedger()
        self.boltzmann = float(boltzmann)
        self._band_last = None  # continuum root: band velocities after the last projection
        self.step_count = 0
        self.last_gap = 0.0
        self.solve_seconds = 0.0  # wall time in the band solve (+ damping), this rank

    @property
    def band_atoms(self) -> np.ndarray | None:
        """Patch side: current local indices of the band atoms (re-found by id after the MD
        engine re-orders its atoms). With a :attr:`routing` (an MD system on several ranks),
        band atoms may live on other ranks than at set-up: use :meth:`_band_values` and
        :meth:`_band_add` instead."""
        if self._band_ids is not None and self.patch.reorder_count != self._reorder_seen:
            ids = np.asarray(self.patch.ids)
            order = np.argsort(ids)
            pos = np.searchsorted(ids, self._band_ids, sorter=order)
            pos = np.minimum(pos, ids.size - 1)
            idx = order[pos]
            if ids.size == 0 or not np.array_equal(ids[idx], self._band_ids):
                raise SimulationError("a handshake atom migrated to another patch rank; rebuild the "
                                      "interface exchange (InterfaceExchange.setup) after migration")
            self._band = idx
            self._reorder_seen = self.patch.reorder_count
        return self._band

    def band_rows(self, k: int) -> tuple[np.ndarray, np.ndarray] | None:
        """Patch side, no routing and compiled-row velocities: (band atoms' local indices as
        int64, the buffer [m, k] their exchange-ordered rows are gathered into); else None."""
        if self.routing is not None or not _rows_ok(self.patch.v, k):
            return None
        band = np.asarray(self.band_atoms, dtype=np.int64)
        buf = self._up_buf
        if buf is None or buf.shape != (band.size, k):
            buf = self._up_buf = np.empty((band.size, k))
        return band, buf

    def _band_values(self, k: int) -> np.ndarray:
        """Patch side: band-atom velocities [m, k] in exchange order."""
        if self.routing is None:
            rows = self.band_rows(k)
            if rows is not None:
                band, buf = rows
                _kb.rows_gather(self.patch.v, band, buf)  # one compiled pass
                return buf
            return self.patch.v[self.band_atoms, :k]
        self.routing.update()
        return self.routing.gather(np.asarray(self.patch.v)[:, :k])

    def _band_add(self, corr: np.ndarray, k: int) -> None:
        """Patch side: add the exchange-ordered corrections [m, k] to the band atoms."""
        if self.routing is None:
            v, band = self.patch.v, self.band_atoms
            corr = np.asarray(corr, dtype=float).reshape(band.size, k)
            if _rows_ok(v, k) and corr.flags.c_contiguous:
                _kb.rows_add(v, np.asarray(band, dtype=np.int64), corr)  # band atoms are distinct
            else:
                v[band, :k] += corr
            return
        rows, c = self.routing.scatter(corr)
        self.patch.v[rows, :k] += c

    # ------------------------------------------------------------------ multi-rank continuum
    def _gather_setup(self, N, m_atoms, ids, X):
        """Collect the band system on the continuum root (global node numbering)."""
        comm = self.local_comm
        cont = self.continuum
        l2g = np.asarray(cont.local_to_global, dtype=np.int64)
        coo = N.tocoo()
        parts = comm.gather((coo.row, l2g[coo.col], coo.data, N.shape[0], m_atoms, ids, X), root=0)
        self._root = comm.Get_rank() == 0
        band = None
        if self._root:
            band = np.unique(np.concatenate([p[1] for p in parts]))
        band = comm.bcast(band, root=0)
        own_g = np.asarray(cont.owned_global, dtype=np.int64)
        self._own_rows = np.flatnonzero(np.isin(own_g, band))
        self._own_pos = np.searchsorted(band, own_g[self._own_rows])
        mparts = comm.gather((self._own_pos, np.asarray(cont.mass)[self._own_rows]), root=0)
        if not self._root:
            return None, None, None, None, None
        rows, cols, vals, off, self._counts = [], [], [], 0, []
        for r, g, v, m, *_ in parts:
            rows.append(r + off)
            cols.append(np.searchsorted(band, g))
            vals.append(v)
            self._counts.append(m)
            off += m
        Ng = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                           shape=(off, band.size))
        M = np.zeros(band.size)
        self._pos_parts = []
        for pos, mass in mparts:
            M[pos] = mass
            self._pos_parts.append(pos)
        self._nband = band.size
        return (Ng, np.concatenate([p[4] for p in parts]), M, np.concatenate([p[5] for p in parts]),
                np.concatenate([p[6] for p in parts]))

    def _gather_fixed(self, fixed: np.ndarray | None) -> np.ndarray | None:
        """The band nodes' Dirichlet mask [n_band, k] on the continuum root (after
        :meth:`_gather_setup`; collective over the continuum comm)."""
        mine = (np.zeros((self._own_rows.size, self.k), dtype=bool) if fixed is None
                else fixed[self._own_rows])
        parts = self.local_comm.gather(mine, root=0)
        if not self._root:
            return None
        out = np.zeros((self._nband, self.k), dtype=bool)
        for pos, f in zip(self._pos_parts, parts):
            out[pos] = f
        return out

    # ------------------------------------------------------------------ pieces
    def _kernel(self, va: np.ndarray, vnb: np.ndarray, h: float,
                work_scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
        """Projection (+ damping) of band-atom ``va`` [m, k] and band-node ``vnb`` [n_band, k]
        velocities; returns the corrections (dva, dvnb)."""
        bdm = self.bdm
        t0 = _perf()
        res = bdm.solve(va, vnb)
        new = va + res.dv_atoms
        vn_new = vnb + res.dv_nodes
        self.ledger.add(constraint_work=work_scale * res.work)
        self.last_gap = res.gap_before
        if self.damping is not None and h > 0:
            # constrained Langevin step of the band (friction with its reaction on the nodes,
            # noise projected like the friction: canonical at the bath temperature on the
            # constraint manifold; see ConstrainedDampingBand). The exact update stays on the
            # constraint to round-off; the split update of large bands is re-projected. The
            # whole kinetic-energy change of band atoms and nodes is the energy removed.
            ke_old = self._band_ke(new, vn_new)
            new, vn_new = self.damping.apply_band(new, vn_new, h, self.step_count)
            if not self.damping.exact:
                res2 = bdm.solve(new, vn_new)
                vn_new = vn_new + res2.dv_nodes
                new = new + res2.dv_atoms
            self.ledger.add(damping_removed=ke_old - self._band_ke(new, vn_new))
        self._band_last = (new, vn_new)  # band velocities after this projection (T_bath)
        self.solve_seconds += _perf() - t0
        if self.damping is None or h <= 0:
            return res.dv_atoms, res.dv_nodes  # the projection's own corrections
        return new - va, vn_new - vnb

    def project(self, h: float = 0.0, work_scale: float = 1.0) -> None:
        """Put band velocities on the constraint (and, if ``h > 0``, damp fine-scale motion
        over a time ``h``).

        ``work_scale``: the factor on the booked constraint work. A projection that merges
        the previous step's skipped end projection (:func:`end_projections`) books ½ of its
        work: the velocities it acts on are ``u + 2y`` — ``u`` on the constraint (the
        previous step's first projection), ``y`` the half kick, the same for the step's end
        and the next step's start (one force evaluation between them; also the continuum's
        impulses at a junction of two cycles of one length, and none inside a cycle). With
        ``P`` M-orthogonal, ``KE(Pz) − KE(z) = −½|(I−P)z|²_M``: the two projections book
        ``−½|(I−P)(u + y)|² − ½|(I−P)(P(u + y) + y)|² = −|(I−P)y|²`` and the merged one
        ``−½|(I−P)(u + 2y)|² = −2|(I−P)y|²``, exactly twice as much."""
        k = self.k
        up = self._band_values(k) if self.is_patch else None
        va = self.ex.to_continuum(up, k, expect_reply=True)  # the corrections' receives go first
        dva = None
        if self.is_continuum:
            vn = self.continuum.v
            if self.distributed:
                rows = self._own_rows
                t0 = _perf()
                res = self.dband.solve(va, vn[rows, :k])
                if self._root:  # the ledger's flux terms are booked on the continuum root
                    self.ledger.add(constraint_work=work_scale * res.work)
                self.last_gap = res.gap_before
                dva = res.dv_atoms
                vn[rows, :k] += res.dv_nodes
                self.solve_seconds += _perf() - t0
            elif not self.gathered:
                rows = self.bdm.nodes
                dva, dvnb = self._kernel(va, vn[rows, :k], h, work_scale)
                vn[rows, :k] += dvnb
            else:
                comm = self.local_comm
                parts = comm.gather((va, vn[self._own_rows, :k]), root=0)
                out = None
                if self._root:
                    va_all = np.concatenate([p[0] for p in parts]) if parts else np.zeros((0, k))
                    vnb = np.zeros((self._nband, k))
                    for pos, (_, v) in zip(self._pos_parts, parts):
                        vnb[pos] = v
                    dva_all, dvnb = self._kernel(va_all, vnb, h, work_scale)
                    splits = np.cumsum(self._counts)[:-1]
                    out = [(a, dvnb[pos]) for a, pos in zip(np.split(dva_all, splits), self._pos_parts)]
                dva, dvn_own = comm.scatter(out, root=0)
                vn[self._own_rows, :k] += dvn_own
        corr = self.ex.to_patch(dva, k)
        if self.is_patch:
            self._band_add(corr, k)

    def bath_temperature(self) -> float | None:
        """Kinetic temperature of the band on its constraint manifold (continuum root, after a
        projection; None elsewhere): 2 KE(band atoms + band nodes) / (k_B f), f = band_dof.

        The projection and the bath touch band atoms and band nodes only, so the canonical
        distribution on the constraint factorises into the band block and the rest, and the
        band's mean kinetic energy is ½ k_B T per unconstrained band dof. The atoms' part alone
        is not: the nodes carry a share of the band's equipartition, so an atoms-only kinetic
        temperature of the band reads low by construction."""
        if self.bdm is None or self._band_last is None or self.band_dof <= 0:
            return None
        return 2.0 * self._band_ke(*self._band_last) / (self.boltzmann * self.band_dof)

    def _band_ke(self, va: np.ndarray, vn: np.ndarray) -> float:
        b = self.bdm
        return 0.5 * self.mvv2e * (float(np.einsum("i,ik,ik->", b.m, va, va))
                                   + float(np.einsum("i,ik,ik->", b.M, vn, vn)))

    def step(self, dt: float, nsteps: int = 1, *, merge: bool = False) -> None:
        """Advance ``nsteps`` coupled steps of length ``dt`` (collective over the intercomm).

        With ``subcycle = k > 1`` the continuum's force acts as two impulses per cycle of k
        MD steps (:mod:`mscouple.coupling.subcycle`); cycles are aligned to ``step_count``
        and the last one is shortened to end with the call, so the state is synchronised
        (energies well defined) whenever ``step`` returns. ``merge``: one projection per step
        (:func:`end_projections`; not with a damping band, which acts at the end projection)."""
        h = 0.5 * dt
        sub = self.subcycler
        if merge and self.damped:
            raise ConfigError("merge = True with a damping band: it acts at every end projection")
        ends = end_projections(nsteps, self.subcycle, self.step_count, merge)
        s = 0
        for j in cycles(nsteps, self.subcycle, self.step_count):
            for i in range(j):
                if self.is_patch:
                    self.patch.kick(h)
                if sub is not None and i == 0:
                    sub.open(j, dt)
                self.project(work_scale=0.5 if s and not ends[s - 1] else 1.0)
                for side in self._sides():
                    side.drift(dt)
                if self.is_patch:
                    self.patch.compute_forces()
                    self.patch.kick(h)
                if sub is not None and i == j - 1:
                    sub.close(j, dt)
                if ends[s]:
                    self.project(dt)  # damping acts on full-step velocities, the ledger's variables
                self.step_count += 1
                s += 1

    def _sides(self):
        out = []
        if self.is_patch:
            out.append(self.patch)
        if self.is_continuum:
            out.append(self.continuum)
        return out

    # ------------------------------------------------------------------ energy
    def energies(self) -> EnergyLedger:
        """Fill the ledger's state terms on every rank (collective over the intercomm)."""
        mine = np.zeros(4)
        if self.is_patch:
            mine[0] = self.patch.kinetic_energy()
            mine[1] = self.patch.potential_energy()
        if self.is_continuum:
            mine[2] = self.continuum.kinetic_energy()
            mine[3] = self.continuum.potential_energy()
        if self.ex.intercomm is None:
            tot = mine
        else:
            # sides' totals are collective on their own comm; exchange them once
            other = np.asarray(self.ex.intercomm.allreduce(mine if self._side_root() else np.zeros(4)))
            tot = mine + other
        self.ledger.set_state(atomic_kinetic=tot[0], atomic_potential=tot[1],
                              continuum_kinetic=tot[2], continuum_strain=tot[3])
        return self.ledger

    def _side_root(self) -> bool:
        comm = getattr(self, "local_comm", None)
        return comm is None or comm.Get_rank() == 0
