"""The patch's coupled step with the band solve off its critical path (issue 13).

The bridging-domain projection needs the band atoms' velocities after the half kick, and
it changes only band atoms. So the patch splits its pairs into

* **A**: the pairs with a band atom (a band atom's every pair is here, so after pass A its
  force is complete — and bit for bit the force of the one-pass loop: the same pairs in
  the same order through the same compiled loop), and
* **B**: the interior pairs (both atoms outside the band);

and steps (velocity Verlet; ``merge``: one projection per MD step, see
:func:`~mscouple.coupling.dynamics.end_projections`)::

    drift(dt), neighbours → [EAM: densities of all atoms, reverse, embedding derivatives,
    forward] → forces A → band atoms kicked (dt/2, twice when the end projection merges
    into the next step's first) → band velocities sent, the reply's receives posted
    (non-blocking) → forces B in chunks (MPI progress between chunks) while the continuum
    solves → interior atoms kicked → corrections received and added

On one rank a step's end and the next step's drift share their passes over the atoms
(:meth:`OverlappedPatchStep.run`: ``kick_drift_select`` for the interior atoms,
``band_add_drift`` for the band's corrections at the next step's top, each with the list
check and the force reset), the band pairs take the weights halved once per rebuild, and
the round trips run on persistent requests (``InterfaceExchange._trip_plan``); the same
bits as the separate calls.

Lennard-Jones (single type) splits its half Verlet list once per rebuild
(``csrc/integrate.pyx: split_pairs``, ``lj_pass``). EAM needs every density before any
force, so its density pass and embedding run first, whole (the phase-by-phase step's own
``csrc/eam_step.pyx: density``/``embed`` calls and ghost sums); the cutoff list the density
pass writes is split every step (``split_cutoff``) and the pair-force pass runs over A,
then over B in chunks (``force_range``: the weighted/multi-element loop of ``forces``,
so alloy tables too).

**An end projection that is not merged** (a damping band — the bath acts on the continuum's
side of the solve, on the band velocities the patch sends, so the patch's messages are
those of a plain projection —, a junction of subcycles, thermo-mechanics): the round trip
after pass A is that end projection; once its reply is in (during pass B) the band atoms
get the corrections and the next step's first half kick, and the next step's first
projection is sent at once (a second round trip, chained, also in flight while pass B
runs); the interior atoms get both half kicks after pass B. Only the last step of an
``advance`` waits for its end projection (its full-step velocities are observed).

The continuum half is unchanged: it sees the same messages in the same order. Interior
atoms next to the band get their pair sums in another order (round-off); band atoms and
atoms away from the band get the same bits as the one-pass step (``tests/coupling/
test_split_passes.py``, ``test_overlapped_step.py``, ``test_overlapped_eam.py``).

**A patch on several ranks** (``Decomposition`` with neighbours' atoms as ghosts, band
atoms routed home by :class:`~mscouple.coupling.routing.HomeRouting`): the same step, with

1. band flags per owned + ghost atom by id (``HomeRouting.all_ids``: every interface atom
   of the patch), re-made after each rebuild — so they follow migrations and every
   image of a band atom is a band atom;
2. after pass A only the band atoms' ghost forces are reverse-summed onto their owners
   (``Decomposition.subset_plan``/``reverse_subset``: the swap plan filtered by the flags on
   both ends, no extra message to set it up; their ghost slots zeroed), the band kick,
   then after pass B the full reverse for the rest;
3. EAM: the density reverse and the embedding-derivative forward run before pass A as in
   the phase-by-phase step (they cannot overlap);
4. every patch rank sends its home band rows (``_band_values``: routed home over the patch
   comm when some are away) and posts its share of the reply; pass B's chunks progress
   that rank's intercomm requests.

What stays on the critical path there: the routing's gather/scatter (local lookups while
every band atom is at home; an ``alltoall`` pair while some are away,
``HomeRouting.away``) and, while some band atom is away, an end projection's chained next
first projection (damping band, subcycle junctions): its routing is then collective over
the patch comm while the ranks finish their trips in different chunks, so it is sent after
pass B. While all are at home it is chained during pass B as on one rank (the routing is
current since this step's band rows were sent: local lookups, no update).

Applies (:meth:`OverlappedPatchStep.applies`; :meth:`~OverlappedPatchStep.reason` says why
not, in one line) to a patch on one rank (ghosts as periodic images on that rank) or on
several (with band routing), single-type Lennard-Jones without force smoothing or EAM (any
number of elements), no thermostat, fixes or indenter on the patch, over an
intercommunicator; everything else takes the phase-by-phase step
(:class:`~mscouple.run.couplers.BridgingPatch`; its patch ranks agree on the choice). The
multi-rank step gives the state of the phase-by-phase step on the same layout and of the
one-rank patch to round-off, with atoms and band atoms migrating
(``tests/coupling/test_overlapped_multirank.py``: 1 + 2 and 1 + 3 ranks, LJ and EAM).
Units: those of the MD system (the step adds no physics).
"""
from __future__ import annotations

from time import perf_counter as _perf

import numpy as np

from .._kernels import integrate as _ki
from .._kernels import pair as _kp

__all__ = ["OverlappedPatchStep"]


def _is_eam(pot) -> bool:
    """Whether ``pot`` is the tabulated EAM of :mod:`mscouple.atomistic.eam` (packed tables)."""
    from ..atomistic.eam import EAM

    return isinstance(pot, EAM)


class _StepContext:
    """What the overlapped step reads every step, re-made after each rebuild or re-order."""

    __slots__ = ("nloc", "nall", "x", "f", "v", "mass", "fixed", "xhold", "flag", "w", "wb",
                 "band", "buf", "pass_a", "pass_b")


class OverlappedPatchStep:
    """Steps one patch (an :class:`~mscouple.atomistic.system.MDSystem` on one rank) of a
    :class:`~mscouple.coupling.dynamics.BridgingDomainCoupler`, overlapping the interior
    force pass with the band's round trip to the continuum."""

    #: atoms per interior chunk: the messages are progressed (``MPI_Testall``) between chunks,
    #: so the continuum receives the band rows and the patch the corrections while it computes
    chunk = 2048

    def __init__(self, md, cp) -> None:
        self.md, self.cp = md, cp
        self.eam = _is_eam(md.potential)
        self._seen = (-1, -1)  # (rebuild_count, reorder_count) of the flags / split lists
        self._lists = None
        self._eam_lists = None
        self.flag = None
        self._b_weighted = True
        self.pairs = (0, 0)  # pairs in A and B at the last split (for tests and profiles)
        self._T = None  # the phase timers of the current run
        self.chained = 0  # end projections whose next first projection was chained after them
        self.chained_in_pass_b = 0  # of those, chained during pass B (the others after it)
        #: a patch on several ranks (band flags by id, band-only ghost reverse, routed band rows)
        self.multi = md.decomp.size > 1
        self._plan = None

    @staticmethod
    def reason(md, cp, indenter=None) -> str:
        """Why this step cannot drive ``md`` (one line; ``""`` where it can): the coupler then
        takes its phase-by-phase step. Local: a patch on several ranks agrees on the answer
        (:class:`~mscouple.run.couplers.BridgingPatch`)."""
        pot = getattr(md, "potential", None)
        dec = getattr(md, "decomp", None)
        ex = cp.ex
        v = getattr(md, "v", None)
        lj = (getattr(pot, "style", -1) == 0 and getattr(pot, "ntypes", 0) == 1
              and float(pot.coef[6]) == 0.0)
        if indenter is not None:
            return "an indenter on the patch"
        if ex.intercomm is None or ex.side != "patch":
            return "no intercommunicator between the patch and the continuum"
        if dec is None:
            return "a patch without a domain decomposition"
        if dec.size == 1 and not (dec.all_local and cp.routing is None):
            return "a one-rank patch whose ghosts are not all local images"
        if dec.size > 1 and cp.routing is None:
            return "a multi-rank patch without interface routing"
        if getattr(md, "fixes", ()):
            return "fixes on the patch"
        if getattr(md, "thermostat", None) is not None:
            return "a thermostat on the patch"
        if not (lj or _is_eam(pot)):
            return "a potential other than single-type Lennard-Jones (no smoothing) or EAM"
        if not 1 <= cp.k <= 3:
            return f"{cp.k} velocity components (expected 1 to 3)"
        if not (isinstance(v, np.ndarray) and v.dtype == np.float64 and v.ndim == 2
                and v.shape[1] == 3 and v.flags.c_contiguous):
            return "velocities not a C-contiguous float64 [n, 3] array"
        return ""

    @staticmethod
    def applies(md, cp, indenter=None) -> bool:
        """Whether this step can drive ``md`` (else the coupler's phase-by-phase step;
        :meth:`reason` says why not)."""
        return OverlappedPatchStep.reason(md, cp, indenter) == ""

    # ------------------------------------------------------------------ lists
    def _split(self) -> None:
        """Band flags of owned and ghost atoms (after each rebuild or re-order) and, for
        Lennard-Jones, the A/B halves of the Verlet list."""
        md, cp = self.md, self.cp
        n, nall = md.nlocal, md.nlocal + md.nghost
        flag = np.zeros(max(nall, 1), dtype=np.uint8)
        if self.multi:
            # band atoms live on any patch rank and migrate: membership by id, of the owned
            # atoms and of the ghosts (neighbours' atoms and periodic images); the band-only
            # reverse plan follows each rebuild's ghost plan
            flag[:nall] = np.isin(md._idsall[:nall], cp.routing.all_ids)
            self._plan = md.decomp.subset_plan(flag[:nall])
        else:
            band = np.asarray(cp.band_atoms, dtype=np.int64)
            flag[band] = 1
            if md.nghost:
                # periodic images of band atoms are band atoms
                flag[n:nall] = np.isin(md.ghost_ids, np.asarray(md.ids)[band])
        self.flag = flag
        # interior pairs of unit weights: (1 + 1)/2 scales nothing, the plain loop gives the
        # same bits
        self._b_weighted = bool(md._weights_active and np.any(md._wall[:nall][flag[:nall] == 0] != 1.0))
        self._seen = (md.rebuild_count, md.reorder_count)
        if self.eam:
            return
        npairs = int(md._nstart[n]) if n else 0
        lists = self._lists
        if lists is None or lists[0].shape[0] < n + 1 or lists[1].shape[0] < npairs:
            m = int(1.2 * npairs) + 64
            lists = (np.zeros(n + 1, np.int32), np.zeros(m, np.int32),
                     np.zeros(n + 1, np.int32), np.zeros(m, np.int32))
            self._lists = lists
        self.pairs = _ki.split_pairs(n, md._nstart, md._nlist, flag, *lists)

    def _eam_prepare(self):
        """EAM, every step: densities of all atoms (ghost sums reversed), embedding
        derivatives (forwarded onto the ghosts) and the cutoff list split into A/B — the
        calls and ghost traffic of the phase-by-phase step's ``EAM.compute``. Returns the
        arguments of ``force_range`` but the atom range, list and weight."""
        from .._kernels import eam_step as _ke

        md, pot = self.md, self.md.potential
        n, nall = md.nlocal, md.nlocal + md.nghost
        x, typ = md._xall, md._tall
        w = md._wall if md._weights_active else None
        rho, fp = pot._scratch(len(x))
        npairs = int(md._nstart[n]) if n else 0
        cl = pot._cutoff_list(n, npairs)
        inv_dr, inv_drho = 1.0 / pot.dr, 1.0 / pot.drho
        _ke.density(x, typ, n, nall, md._nstart, md._nlist, pot.rz_tab, pot.f_tab, inv_dr,
                    inv_drho, pot.cutoff ** 2, rho, *cl)
        md._reverse(rho[:nall])
        _ke.embed(rho, typ, w, n, pot.rz_tab, pot.f_tab, inv_drho, fp, None)
        md.decomp.forward(fp[:nall])
        lists = self._eam_lists
        if lists is None or lists[0].shape[0] < n + 1 or lists[1].shape[0] < npairs:
            m = int(1.2 * npairs) + 64
            lists = (np.zeros(n + 1, np.int32), np.zeros(m, np.int32), np.zeros(m),
                     np.zeros(n + 1, np.int32), np.zeros(m, np.int32), np.zeros(m))
            self._eam_lists = lists
        self.pairs = _ke.split_cutoff(n, *cl, self.flag, *lists)
        return _ke.force_range, fp

    def _reverse_ghosts(self, zero: bool) -> None:
        """Ghost forces onto their owners: after pass A (``zero``) those the band kick needs,
        after pass B the rest. One rank: every image at once (and zeroed after pass A).
        Several ranks: after pass A the band atoms' ghosts only (``Decomposition.
        reverse_subset``: their slots zeroed, the other ghosts keep their pass-A share), after
        pass B every ghost (``Decomposition.reverse``)."""
        md = self.md
        n, nall = md.nlocal, md.nlocal + md.nghost
        if self.multi:
            if zero:
                md.decomp.reverse_subset(md._fall[:nall], self._plan)
            else:
                md.decomp.reverse(md._fall[:nall])
            return
        if md.nghost:
            _kp.ghosts_reverse(md._fall[:nall], n, md.decomp.gsrc)
            if zero:
                md._fall[n:nall] = 0.0

    # ------------------------------------------------------------------ the step
    def run(self, n: int, ends: list[bool], dt: float, timers) -> None:
        """``n`` coupled MD steps; ``ends[s]``: whether step s's end projection runs (else
        it is merged into step s+1's first). Every step's first projection runs: at the top
        of the first step; otherwise during the step before, overlapped with its interior
        pairs (merged into its end projection, or chained after it). Collective with the
        continuum half.

        One rank: the end of a step (not the last) and the drift of the next share their
        passes over the atoms: the interior atoms' kicks, drift, list check and force reset
        in one (``kick_drift_select``), the band atoms' corrections, drift, list check and
        force reset in another at the top of the next step (``band_add_drift``), so the
        step sweeps its atoms' velocities three times fewer than the separate calls; per
        atom the same arithmetic in the same order, so the same bits."""
        md, cp, T = self.md, self.cp, timers
        self._T = timers
        ex, k = cp.ex, cp.k
        h = 0.5 * dt
        dtf = h * md.units.ftm2v
        fused = not self.multi
        dt = float(dt)
        pending = None  # the next step's first projection, in flight
        corr = None  # one rank: the band's corrections, added with the next step's drift
        d2 = 0.0  # one rank: max displacement² of the interior atoms since the list was built
        # nothing inside this loop writes the external force: where it is zero at the start
        # the kicks skip adding it (None)
        fx = md.external_force if np.any(md.external_force) else None
        ctx = None
        for s in range(int(n)):
            if pending is not None:
                with T.phase("handshake.exchange"):
                    reply = ex.finish_round_trip(pending)
                pending = None
                if fused:
                    corr = reply
                else:
                    cp._band_add(reply, k)
            elif s == 0:
                with T.phase("md.integrate"):
                    md.kick(h)
                with T.phase("handshake.exchange"):
                    cp.project()
            if corr is not None:  # one rank, after the first step: interior atoms drifted
                with T.phase("md.integrate"):
                    d2 = max(d2, _ki.band_add_drift(ctx.v, corr, ctx.band, ctx.x, ctx.fixed, dt,
                                                    ctx.xhold, ctx.f))
                md._ago += 1
                md._energy_valid = md._forces_valid = False
                corr = None
                zeroed = not self._list_update(d2)
            else:
                self._drift_and_neighbours(s, dt)
                zeroed = False
            stale = self._seen != (md.rebuild_count, md.reorder_count) or self.flag is None
            if stale:
                self._split()
            if stale or ctx is None:
                ctx = self._context()
            nloc, nall, x, f = ctx.nloc, ctx.nall, ctx.x, ctx.f
            # the next step's first projection is sent during this step when its end
            # projection is merged (one trip) or runs (chained: a second trip)
            chain = bool(ends[s]) and s + 1 < n
            # one rank, not the last step: this step's end and the next one's drift fused
            fuse_end = fused and s + 1 < n
            t0 = _perf()
            if self.eam:
                pass_a, pass_b = self._eam_passes(ctx)
            else:
                pass_a, pass_b = ctx.pass_a, ctx.pass_b
            # pass A: every pair of a band atom (owned forces reset by the fused passes of
            # the step before; the images' after the reverse below)
            if zeroed:
                if nall > nloc:
                    f[nloc:nall] = 0.0
            else:
                f[:nall] = 0.0
            pass_a()
            self._reverse_ghosts(zero=True)
            md.timing["force"] += _perf() - t0
            if ctx.band is not None:
                # one rank: the band kick and the gather of the band's rows in one compiled pass
                # over the band (the same arithmetic as the two calls below)
                with T.phase("md.integrate"):
                    _ki.band_kick_gather(ctx.v, f, fx, ctx.mass, ctx.fixed, ctx.band, dtf,
                                         1 if ends[s] else 2, ctx.buf)
                with T.phase("handshake.exchange"):
                    trip = ex.start_round_trip(ctx.buf, k)
            else:
                with T.phase("md.integrate"):  # + the external force of the band atoms
                    _ki.force_kick_select(ctx.v, f, fx, ctx.mass, ctx.fixed, ctx.flag, 1, nloc, dtf,
                                          1 if ends[s] else 2)
                with T.phase("handshake.exchange"):
                    trip = ex.start_round_trip(cp._band_values(k), k)
            # pass B: the interior pairs, while the continuum projects
            t0 = _perf()
            live = trip
            i0 = 0
            while i0 < nloc:
                if live is None:  # the replies are in: the rest of pass B in one call
                    pass_b(i0, nloc)
                    break
                i1 = min(nloc, i0 + self.chunk)
                pass_b(i0, i1)
                i0 = i1
                if ex.progress(live):  # until the replies are in
                    # several ranks with band atoms away from home: the chain's routing is
                    # collective over the patch comm and the ranks finish their trips in
                    # different chunks, so it waits for the end of pass B (below)
                    if live is trip and chain and not (self.multi and cp.routing.away):
                        pending = live = self._chain(trip, dtf)
                        trip = None
                        self.chained_in_pass_b += 1
                    else:
                        live = None
            self._reverse_ghosts(zero=False)
            md.timing["force"] += _perf() - t0
            times = 2 if (chain or not ends[s]) else 1
            with T.phase("md.integrate"):
                if fuse_end:
                    d2 = _ki.kick_drift_select(ctx.v, f, fx, ctx.mass, ctx.fixed, ctx.flag, 0, nloc,
                                               dtf, times, x, dt, ctx.xhold)
                else:
                    _ki.force_kick_select(ctx.v, f, fx, ctx.mass, ctx.fixed, ctx.flag, 0, nloc, dtf,
                                          times)
            if trip is not None:
                if chain:
                    pending = self._chain(trip, dtf)
                else:
                    with T.phase("handshake.exchange"):
                        reply = ex.finish_round_trip(trip)
                    if fuse_end:
                        corr = reply  # read before the trip after next starts
                    else:
                        cp._band_add(reply, k)
            md._forces_valid = True
            md._energy_valid = False
            md._per_atom_valid = False
            cp.step_count += 1
        if pending is not None or corr is not None:  # cannot happen: the last step adds its own
            raise RuntimeError("overlapped step: a projection's corrections left unapplied")

    def _context(self) -> "_StepContext":
        """The arrays, compiled passes and band rows a step uses, valid until the next
        neighbour-list rebuild or re-order (then re-made: arrays may move)."""
        md, cp = self.md, self.cp
        c = _StepContext()
        c.nloc, c.nall = md.nlocal, md.nlocal + md.nghost
        c.x, c.f, c.v, c.mass, c.fixed = md._xall, md._fall, md.v, md.mass, md.fixed
        c.xhold, c.flag = md._xhold, self.flag
        c.w = md._wall if md._weights_active else None
        c.wb = c.w if self._b_weighted else None
        rows = None if self.multi else cp.band_rows(cp.k)
        c.band, c.buf = rows if rows is not None else (None, None)
        if not self.eam:
            sa, la, sb, lb = self._lists
            coef, x, f, nloc = md.potential.coef, c.x, c.f, c.nloc
            # the weights halved once per rebuild (they cannot change inside a run): the
            # passes then scale a pair by w_i/2 + w_j/2, the same bits as (w_i + w_j)/2
            hw = None if c.w is None else 0.5 * c.w[:c.nall]
            hwb = hw if c.wb is not None else None
            lj_pass = _ki.lj_pass

            def pass_a():
                lj_pass(coef, x, hw, 0, nloc, sa, la, f, True)

            def pass_b(i0, i1):
                lj_pass(coef, x, hwb, i0, i1, sb, lb, f, True)

            c.pass_a, c.pass_b = pass_a, pass_b
        return c

    def _eam_passes(self, c: "_StepContext"):
        """EAM, every step: the densities, embedding and split (:meth:`_eam_prepare`), then
        the pair-force passes over A and B as closures."""
        md, pot = self.md, self.md.potential
        force_range, fp = self._eam_prepare()
        sa, ja, ra, sb, jb, rb = self._eam_lists
        x, f, w, wb, nloc = c.x, c.f, c.w, c.wb, c.nloc
        typ, rz, ft, inv_dr = md._tall, pot.rz_tab, pot.f_tab, 1.0 / pot.dr

        def pass_a():
            force_range(x, typ, w, 0, nloc, sa, ja, ra, fp, rz, ft, inv_dr, f)

        def pass_b(i0, i1):
            force_range(x, typ, wb, i0, i1, sb, jb, rb, fp, rz, ft, inv_dr, f)

        return pass_a, pass_b

    def _list_update(self, d2: float) -> bool:
        """One rank, after a fused drift with max displacement² ``d2``: the system's
        neighbour-list update where the list is due (returns True: arrays may be rebuilt or
        re-ordered), else the images' positions (the weights cannot change inside a run:
        their images stay valid)."""
        md = self.md
        if md._needs_rebuild_local(d2):
            md._update_neighbors(collective_flags=True)  # books md.neighbor / md.ghost
            return True
        if md.nghost:
            t0 = _perf()
            md._forward_positions()
            md.timing["ghost"] += _perf() - t0
        return False

    def _drift_and_neighbours(self, s: int, dt: float) -> None:
        """The step's drift and neighbour-list update: the system's own path (``drift``,
        ``_update_neighbors``: the energy weights re-read, a user may have set them between
        runs; on several ranks the check is collective)."""
        md, T = self.md, self._T
        with T.phase("md.integrate"):
            md.drift(dt)
        md._update_neighbors(collective_flags=True)  # books md.neighbor / md.ghost

    def _chain(self, trip, dtf: float):
        """An end projection's reply is in: add it to the band atoms, give them the next
        step's first half kick (forces complete since pass A) and send the next step's first
        projection; returns its round trip."""
        md, cp, ex, k, T = self.md, self.cp, self.cp.ex, self.cp.k, self._T
        with T.phase("handshake.exchange"):
            cp._band_add(ex.finish_round_trip(trip), k)
        with T.phase("md.integrate"):
            _ki.kick_select(md.v, md._fall, md.mass, md.fixed, self.flag, 1, md.nlocal, dtf)
        with T.phase("handshake.exchange"):
            if self.multi:
                # no rebuild since this step's band rows were routed: the routing is current
                # (its update, an allreduce, is skipped; gather is local unless atoms are away)
                vals = cp.routing.gather(np.asarray(md.v)[:, :k])
            else:
                vals = cp._band_values(k)
            nxt = ex.start_round_trip(vals, k)
        self.chained += 1
        return nxt
