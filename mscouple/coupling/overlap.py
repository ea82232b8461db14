"""The patch's coupled step with the band solve off its critical path (issue 13).

The bridging-domain projection needs the band atoms' velocities after the half kick, and
it changes only band atoms. So the patch splits its half neighbour list once per rebuild
(``csrc/integrate.pyx: split_pairs``) into

* **A**: the pairs with a band atom (a band atom's every pair is here, so after pass A its
  force is complete — and bit for bit the force of the one-pass loop: the same pairs in the
  same order), and
* **B**: the interior pairs (both atoms outside the band);

and steps (velocity Verlet; ``merge``: one projection per MD step, see
:func:`~mscouple.coupling.dynamics.end_projections`)::

    drift(dt), neighbours → forces A → band atoms kicked (dt/2, twice when the end
    projection merges into the next step's first) → band velocities sent, the reply's
    receives posted (non-blocking) → forces B in chunks (MPI progress between chunks)
    while the continuum solves → interior atoms kicked → corrections received and added

The continuum half is unchanged: it sees the same messages in the same order. Interior
atoms next to the band get their pair sums in another order (round-off); band atoms and
atoms away from the band get the same bits as the one-pass step.

Applies to a single-rank patch (ghosts as periodic images on that rank), a single-type
Lennard-Jones potential without force smoothing, no thermostat, fixes or indenter on the
patch, over an intercommunicator (:meth:`OverlappedPatchStep.applies`); everything else
takes the phase-by-phase step (:class:`~mscouple.run.couplers.BridgingPatch`).
"""
from __future__ import annotations

from time import perf_counter as _perf

import numpy as np

from .._kernels import integrate as _ki
from .._kernels import pair as _kp

__all__ = ["OverlappedPatchStep"]


class OverlappedPatchStep:
    """Steps one patch (an :class:`~mscouple.atomistic.system.MDSystem` on one rank) of a
    :class:`~mscouple.coupling.dynamics.BridgingDomainCoupler`, overlapping the interior
    force pass with the band's round trip to the continuum."""

    #: atoms per interior chunk: the messages are progressed (``MPI_Testall``) between chunks,
    #: so the continuum receives the band rows and the patch the corrections while it computes
    chunk = 2048

    def __init__(self, md, cp) -> None:
        self.md, self.cp = md, cp
        self._seen = (-1, -1)  # (rebuild_count, reorder_count) of the split lists
        self._lists = None
        self.flag = None
        self.pairs = (0, 0)  # pairs in A and B at the last split (for tests and profiles)

    @staticmethod
    def applies(md, cp, indenter=None) -> bool:
        """Whether this step can drive ``md`` (else the coupler's phase-by-phase step)."""
        pot = getattr(md, "potential", None)
        dec = getattr(md, "decomp", None)
        ex = cp.ex
        v = getattr(md, "v", None)
        return bool(indenter is None and cp.routing is None and ex.intercomm is not None
                    and ex.side == "patch" and dec is not None and dec.size == 1 and dec.all_local
                    and not getattr(md, "fixes", ()) and getattr(md, "thermostat", None) is None
                    and getattr(pot, "style", -1) == 0 and getattr(pot, "ntypes", 0) == 1
                    and float(pot.coef[6]) == 0.0 and 1 <= cp.k <= 3
                    and isinstance(v, np.ndarray) and v.dtype == np.float64 and v.ndim == 2
                    and v.shape[1] == 3 and v.flags.c_contiguous)

    # ------------------------------------------------------------------ lists
    def _split(self) -> None:
        """Band flags of owned and ghost atoms and the A/B lists (after each rebuild)."""
        md, cp = self.md, self.cp
        n, nall = md.nlocal, md.nlocal + md.nghost
        band = np.asarray(cp.band_atoms, dtype=np.int64)
        flag = np.zeros(max(nall, 1), dtype=np.uint8)
        flag[band] = 1
        if md.nghost:
            # periodic images of band atoms are band atoms
            flag[n:nall] = np.isin(md.ghost_ids, np.asarray(md.ids)[band])
        npairs = int(md._nstart[n]) if n else 0
        lists = self._lists
        if lists is None or lists[0].shape[0] < n + 1 or lists[1].shape[0] < npairs:
            m = int(1.2 * npairs) + 64
            lists = (np.zeros(n + 1, np.int32), np.zeros(m, np.int32),
                     np.zeros(n + 1, np.int32), np.zeros(m, np.int32))
            self._lists = lists
        self.pairs = _ki.split_pairs(n, md._nstart, md._nlist, flag, *lists)
        self.flag = flag
        # interior pairs of unit weights: (1 + 1)/2 scales nothing, the plain loop gives the
        # same bits
        self._b_weighted = bool(md._weights_active and np.any(md._wall[:nall][flag[:nall] == 0] != 1.0))
        self._seen = (md.rebuild_count, md.reorder_count)

    def _reverse_ghosts(self, zero: bool) -> None:
        md = self.md
        n, nall = md.nlocal, md.nlocal + md.nghost
        if md.nghost:
            _kp.ghosts_reverse(md._fall[:nall], n, md.decomp.gsrc)
            if zero:
                md._fall[n:nall] = 0.0

    # ------------------------------------------------------------------ the step
    def run(self, n: int, ends: list[bool], dt: float, timers) -> None:
        """``n`` coupled MD steps; ``ends[s]``: whether step s's end projection runs (else
        it is merged into step s+1's first). Every step's first projection runs: at the top
        of the step after an end projection (and at the first step), otherwise at the
        bottom of the step before, overlapped. Collective with the continuum half."""
        md, cp, T = self.md, self.cp, timers
        ex, k = cp.ex, cp.k
        h = 0.5 * dt
        dtf = h * md.units.ftm2v
        coef = md.potential.coef
        start = True
        for s in range(int(n)):
            if start:
                with T.phase("md.integrate"):
                    md.kick(h)
                with T.phase("handshake.exchange"):
                    cp.project()
            with T.phase("md.integrate"):
                md.drift(dt)
            md._update_neighbors(collective_flags=True)  # books md.neighbor / md.ghost
            if self._seen != (md.rebuild_count, md.reorder_count) or self.flag is None:
                self._split()
            sa, la, sb, lb = self._lists
            nloc, nall = md.nlocal, md.nlocal + md.nghost
            x, f, flag = md._xall, md._fall, self.flag
            w = md._wall if md._weights_active else None
            v, mass, fixed, fext = md.v, md.mass, md.fixed, md.external_force
            kicks = 1 if ends[s] else 2  # this step's last half kick and the next one's first
            # pass A: every pair of a band atom
            t0 = _perf()
            f[:nall] = 0.0
            _ki.lj_pass(coef, x, w, 0, nloc, sa, la, f)
            self._reverse_ghosts(zero=True)
            md.timing["force"] += _perf() - t0
            with T.phase("md.integrate"):  # + the external force of the band atoms
                _ki.force_kick_select(v, f, fext, mass, fixed, flag, 1, nloc, dtf, kicks)
            with T.phase("handshake.exchange"):
                trip = ex.start_round_trip(cp._band_values(k), k)
            # pass B: the interior pairs, while the continuum projects
            t0 = _perf()
            wb = w if self._b_weighted else None
            done = False
            for i0 in range(0, nloc, self.chunk):
                _ki.lj_pass(coef, x, wb, i0, min(nloc, i0 + self.chunk), sb, lb, f)
                if not done:  # until the reply is in
                    done = ex.progress(trip)
            self._reverse_ghosts(zero=False)
            md.timing["force"] += _perf() - t0
            with T.phase("md.integrate"):
                _ki.force_kick_select(v, f, fext, mass, fixed, flag, 0, nloc, dtf, kicks)
            with T.phase("handshake.exchange"):
                cp._band_add(ex.finish_round_trip(trip), k)
            md._forces_valid = True
            md._energy_valid = False
            md._per_atom_valid = False
            start = ends[s]
            cp.step_count += 1
