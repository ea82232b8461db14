"""Interface traffic between the continuum ranks and one atomistic patch.

The two groups are joined by an intercommunicator (``Layout`` builds it with
``comm.Split`` + ``Create_intercomm``). At set-up (and again after atoms migrate) the
pattern is computed:

1. each rank publishes the bounding box of its interface items (patch: its handshake
   atoms; continuum: its cells meeting the band) — one ``allgather`` over the intercomm;
2. a patch rank sends the ids and reference positions of its atoms in a continuum rank's
   box to that rank only; the continuum rank locates them in its cells and answers which it
   found; an atom found by several continuum ranks (on a partition face) goes to the
   lowest; every atom must be found by one (else :class:`ConfigError` on every rank).

Each continuum rank then holds the interface atoms assigned to it (grouped by patch rank,
in the patch rank's order) and the :class:`~mscouple.coupling.transfer.TransferOperator` of
those atoms over its *local* nodes. Each step moves only interface rows, point-to-point,
between the pairs of ranks that share atoms: O(interface) data, no collective.

Both sides call every method together; the side without data passes ``None``.
Without an intercommunicator (both models on this rank) :meth:`InterfaceExchange.local`
gives the same object with copies instead of messages.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
import scipy.sparse as sp

from ..errors import ConfigError
from .transfer import TransferOperator, locate_points

__all__ = ["InterfaceExchange", "StackedExchange"]

_TAG_UP = 7301  # patch -> continuum
_TAG_DOWN = 7302  # continuum -> patch


def _bbox(points: np.ndarray, dim: int) -> np.ndarray:
    if points.shape[0] == 0:
        return np.array([np.inf] * dim + [-np.inf] * dim)
    return np.concatenate([points.min(axis=0), points.max(axis=0)])


def _in_box(points: np.ndarray, box: np.ndarray, tol: float) -> np.ndarray:
    d = points.shape[1]
    return np.all((points >= box[:d] - tol) & (points <= box[d:] + tol), axis=1)


def _pair_tol(a: np.ndarray, b: np.ndarray) -> float:
    e = np.concatenate([a, b])
    e = e[np.isfinite(e)]
    return 1e-9 * (1.0 + (float(np.abs(e).max()) if e.size else 0.0))


def _overlap(a: np.ndarray, b: np.ndarray) -> bool:
    """Symmetric box-overlap test (the same answer on both sides of the intercomm)."""
    d = a.size // 2
    tol = _pair_tol(a, b)
    return bool(np.all(a[:d] <= b[d:] + tol) and np.all(b[:d] <= a[d:] + tol))


class InterfaceExchange:
    """Point-to-point exchange pattern of one continuum ⇄ patch interface.

    Build with :meth:`setup` (collective over ``intercomm``) or :meth:`local`.

    Continuum-side attributes: ``transfer`` (N over the assigned atoms, local nodes),
    ``atom_ids`` [m_c] global ids of the assigned atoms, ``reference`` [m_c, dim].
    Patch-side attributes: ``n_local`` (number of interface atoms given at set-up).
    """

    def __init__(self) -> None:
        self.intercomm = None
        self.side: str = "both"
        self.transfer: Optional[TransferOperator] = None
        self.atom_ids: Optional[np.ndarray] = None
        self.reference: Optional[np.ndarray] = None
        self.n_local = 0
        # pattern: list of (remote rank, local row indices) — patch side: rows of its atoms;
        # continuum side: slice of its assigned-atom array
        self._peers: list[tuple[int, np.ndarray]] = []
        self.n_assigned = 0
        #: bytes this rank has sent over the intercomm per step traffic (payload only)
        self.bytes_sent = 0
        #: seconds to sleep between tests while this rank waits for a message (0: MPI's own
        #: busy wait). A sleeping waiter leaves its core to whatever shares it (a hyperthread
        #: sibling, a co-scheduled rank) at the price of up to ~0.1 ms latency per wake
        self.idle_sleep = 0.0
        self._posted = None  # patch side: (ncomp, buffers, requests) of a reply posted early
        #: patch side: the round trips' reply arrays, two per ncomp used in turn (a reply is
        #: read before the trip after next is started: :meth:`start_round_trip`)
        self._trip_out: dict = {}
        self._plan = None  # patch side: the round trips' persistent requests (_trip_plan)
        self._last_sent = None  # patch side: (ncomp, address, shape) of the last trip's values

    # ------------------------------------------------------------------ construction
    @classmethod
    def local(cls, ids: np.ndarray, reference: np.ndarray, nodes: np.ndarray, cells: np.ndarray,
              kind: str = "P1", tol: float = 1e-10) -> "InterfaceExchange":
        """Both models on this rank: the continuum's atom order is the patch's order."""
        self = cls()
        nodes = np.asarray(nodes, dtype=float).reshape(len(nodes), -1)
        dim = nodes.shape[1]
        X = _rows(reference, len(ids), dim)
        cell, vals = locate_points(nodes, cells, X, kind, tol)
        if np.any(cell < 0):
            raise ConfigError(f"{int(np.sum(cell < 0))} interface atom(s) lie outside the continuum mesh: "
                              "make the mesh cover the handshake band")
        self.transfer = TransferOperator.from_located(cells, cell, vals, nodes.shape[0])
        self.atom_ids = np.asarray(ids, dtype=np.int64).copy()
        self.reference = X.copy()
        self.n_local = self.n_assigned = len(ids)
        return self

    @classmethod
    def setup(cls, intercomm, side: str, *, ids: np.ndarray | None = None, reference: np.ndarray | None = None,
              nodes: np.ndarray | None = None, cells: np.ndarray | None = None, kind: str = "P1",
              dim: int | None = None, tol: float = 1e-10) -> "InterfaceExchange":
        """Collective over ``intercomm``: patch ranks pass ``ids`` [m] and ``reference`` [m, ≥dim];
        continuum ranks pass ``nodes`` [n, dim], ``cells`` [n_cells, npc] (their local cells
        near the band) and ``kind``. Every rank passes ``dim``."""
        if side not in ("continuum", "patch"):
            raise ConfigError(f"side = {side!r}: expected 'continuum' or 'patch'")
        self = cls()
        self.intercomm = intercomm
        self.side = side
        if side == "patch":
            ids = np.asarray(ids, dtype=np.int64)
            X = np.ascontiguousarray(_rows(reference, len(ids), dim))
            box = _bbox(X, dim)
        else:
            nodes = np.asarray(nodes, dtype=float).reshape(len(nodes), -1)
            cells = np.asarray(cells, dtype=np.int64)
            box = _bbox(nodes[np.unique(cells)] if cells.size else np.zeros((0, dim)), dim)
        remote_boxes = intercomm.allgather(box)

        if side == "patch":
            peers = [r for r, b in enumerate(remote_boxes) if _overlap(box, b)]
            cand = {r: np.flatnonzero(_in_box(X, remote_boxes[r], _pair_tol(box, remote_boxes[r]))) for r in peers}
            reqs = [intercomm.isend((ids[c], X[c]), dest=r, tag=_TAG_UP) for r, c in cand.items()]
            found = {r: intercomm.recv(source=r, tag=_TAG_DOWN) for r in peers}
            for q in reqs:
                q.wait()
            owner = np.full(ids.size, -1, dtype=np.int64)
            for r in sorted(peers, reverse=True):  # lowest continuum rank wins
                owner[cand[r][found[r]]] = r
            missing = int(np.sum(owner < 0))
            reqs = []
            for r in peers:
                keep = owner[cand[r]] == r
                reqs.append(intercomm.isend(keep, dest=r, tag=_TAG_UP))
                rows = cand[r][keep]
                if rows.size:
                    self._peers.append((r, rows))
            for q in reqs:
                q.wait()
            self.n_local = ids.size
        else:
            peers = [r for r, b in enumerate(remote_boxes) if _overlap(box, b)]
            got = {r: intercomm.recv(source=r, tag=_TAG_UP) for r in peers}
            located = {}
            reqs = []
            for r in peers:
                rid, rX = got[r]
                cell, vals = locate_points(nodes, cells, rX, kind, tol)
                located[r] = (cell, vals)
                reqs.append(intercomm.isend(cell >= 0, dest=r, tag=_TAG_DOWN))
            for q in reqs:
                q.wait()
            all_ids, all_X, all_cell, all_vals = [], [], [], []
            start = 0
            for r in peers:
                keep = intercomm.recv(source=r, tag=_TAG_UP)
                rid, rX = got[r]
                cell, vals = located[r]
                n = int(keep.sum())
                if n:
                    all_ids.append(rid[keep]); all_X.append(rX[keep])
                    all_cell.append(cell[keep]); all_vals.append(vals[keep])
                    self._peers.append((r, np.arange(start, start + n)))
                    start += n
            npc = cells.shape[1] if cells.ndim == 2 else 1
            self.n_assigned = start
            self.atom_ids = np.concatenate(all_ids) if all_ids else np.zeros(0, np.int64)
            self.reference = np.concatenate(all_X) if all_X else np.zeros((0, dim))
            cell = np.concatenate(all_cell) if all_cell else np.zeros(0, np.int64)
            vals = np.concatenate(all_vals) if all_vals else np.zeros((0, npc))
            self.transfer = TransferOperator.from_located(cells, cell, vals, nodes.shape[0])
            missing = 0
        # every rank learns whether some patch atom was not located anywhere
        first = intercomm.allreduce(missing)  # each group gets the other group's sum
        total = intercomm.allreduce(first)
        if total:
            raise ConfigError("interface atoms lie outside the continuum mesh: make the mesh cover "
                              "the whole handshake band")
        return self

    # ------------------------------------------------------------------ traffic
    @property
    def peers(self) -> list[int]:
        """Remote ranks this rank exchanges with each step."""
        return [r for r, _ in self._peers]

    def _runs(self) -> list:
        """Per peer: its rows as a ``slice`` when they are one contiguous run (messages then go
        from and into views of the arrays, no copy), else the index array."""
        runs = getattr(self, "_runs_cache", None)
        if runs is None or len(runs) != len(self._peers):
            runs = []
            for _, rows in self._peers:
                rows = np.asarray(rows)
                contiguous = rows.size > 0 and np.array_equal(rows, np.arange(rows[0], rows[0] + rows.size))
                runs.append(slice(int(rows[0]), int(rows[0]) + rows.size) if contiguous else rows)
            self._runs_cache = runs
        return runs

    def _recv_into(self, out: np.ndarray, tag: int) -> tuple[list, list]:
        """Post the receives of one message set into ``out`` (rows per peer): views where
        the rows are contiguous, buffers to copy from otherwise."""
        bufs, reqs = [], []
        for (r, _), run in zip(self._peers, self._runs()):
            b = out[run] if isinstance(run, slice) else np.empty((run.size, out.shape[1]))
            bufs.append((b, run))
            reqs.append(self.intercomm.Irecv(b, source=r, tag=tag))
        return bufs, reqs

    def _wait(self, reqs: list) -> None:
        """Complete ``reqs``: MPI's Waitall, or tests with :attr:`idle_sleep` between them."""
        from mpi4py import MPI

        if self.idle_sleep > 0:
            import time

            while not MPI.Request.Testall(reqs):
                time.sleep(self.idle_sleep)
        else:
            MPI.Request.Waitall(reqs)

    @staticmethod
    def _copy_in(out: np.ndarray, bufs: list) -> None:
        for b, run in bufs:
            if not isinstance(run, slice):
                out[run] = b

    def _send(self, v: np.ndarray, tag: int) -> None:
        out = [v[run] if isinstance(run, slice) else np.ascontiguousarray(v[run]) for run in self._runs()]
        reqs = [self.intercomm.Isend(b, dest=r, tag=tag) for b, (r, _) in zip(out, self._peers)]
        self.bytes_sent += sum(b.nbytes for b in out)
        self._wait(reqs)

    def _post_down(self, ncomp: int, out: np.ndarray | None = None):
        """Patch side: post the receives of a continuum → patch message [n_local, ncomp]
        (into ``out`` when given: rows no peer sends stay as they are)."""
        if out is None:
            out = np.zeros((self.n_local, ncomp))
        bufs, reqs = self._recv_into(out, _TAG_DOWN)
        return ncomp, out, bufs, reqs

    def to_continuum(self, values: np.ndarray | None, ncomp: int = 1, *,
                     expect_reply: bool = False) -> np.ndarray | None:
        """Patch rows ``values`` [n_local, ncomp] → continuum array [n_assigned, ncomp].

        Patch ranks pass their values and get ``None``; continuum ranks pass ``None``.
        ``expect_reply``: the next message is a :meth:`to_patch` of the same ``ncomp``; the
        patch posts its receives *before* sending, so the reply lands in place as soon as
        the continuum sends it (both sides must then call :meth:`to_patch` next).
        """
        if self.intercomm is None:
            return np.array(values, dtype=float).reshape(self.n_local, ncomp)
        if self.side == "patch":
            if expect_reply and self._posted is None:
                self._posted = self._post_down(ncomp)
            self._send(np.ascontiguousarray(np.asarray(values, dtype=float).reshape(self.n_local, ncomp)),
                       _TAG_UP)
            return None
        out = np.empty((self.n_assigned, ncomp))
        bufs, reqs = self._recv_into(out, _TAG_UP)
        self._wait(reqs)
        self._copy_in(out, bufs)
        return out

    # ------------------------------------------------------------------ non-blocking round trip
    def start_round_trip(self, values: np.ndarray, ncomp: int) -> tuple:
        """Patch side, non-blocking: post the receives of the continuum's reply
        [n_local, ncomp], then send ``values`` [n_local, ncomp] (the :meth:`to_continuum`
        message with ``expect_reply``; the continuum half calls ``to_continuum`` and
        ``to_patch`` as usual). ``values`` must stay unchanged until
        :meth:`finish_round_trip`; call :meth:`progress` while computing meanwhile (a large
        message moves only while its sender or receiver is inside MPI). The reply array
        :meth:`finish_round_trip` returns is this exchange's, reused by the trip after next:
        read it (or copy it) before starting that one."""
        if self.intercomm is None or self.side != "patch":
            raise ConfigError("start_round_trip: the patch side of an intercommunicator exchange only")
        if self._posted is not None:
            raise ConfigError("start_round_trip with a reply already posted")
        plan = self._plan
        if plan is not None and values is plan[3] and values.shape == (self.n_local, ncomp):
            # the fixed pattern: persistent requests on this buffer and the reply arrays, set
            # up once (MPI_Send_init/Recv_init, :meth:`_trip_plan`), started each trip
            # (MPI_Startall)
            ring = plan[1]
            ring.reverse()
            reqs, nbytes = plan[2][id(ring[0])]
            _MPI().Prequest.Startall(reqs)
            self.bytes_sent += nbytes
            return ring[0], (), reqs, values
        vals = np.ascontiguousarray(np.asarray(values, dtype=float).reshape(self.n_local, ncomp))
        # the reply lands in one of two arrays kept for this ncomp (zeroed once: every step
        # fills the same rows), not a fresh one per trip — at one trip per MD step a new
        # [n_local, ncomp] array costs its page faults every step. The caller has read a
        # reply (finish_round_trip's return) before it starts the trip after next
        ring = self._trip_out.get(ncomp)
        if ring is None or ring[0].shape[0] != self.n_local:
            ring = self._trip_out[ncomp] = [np.zeros((self.n_local, ncomp)) for _ in range(2)]
            self._free_plan()
        ring.reverse()
        plan = self._trip_plan(values, vals, ncomp, ring)
        if plan is not None:
            reqs, nbytes = plan[2][id(ring[0])]
            _MPI().Prequest.Startall(reqs)
            self.bytes_sent += nbytes
            return ring[0], (), reqs, vals
        _, out, bufs, rreqs = self._post_down(ncomp, ring[0])
        send = [vals[run] if isinstance(run, slice) else np.ascontiguousarray(vals[run]) for run in self._runs()]
        sreqs = [self.intercomm.Isend(b, dest=r, tag=_TAG_UP) for b, (r, _) in zip(send, self._peers)]
        self.bytes_sent += sum(b.nbytes for b in send)
        return out, bufs, rreqs + sreqs, send

    def _trip_plan(self, values: np.ndarray, vals: np.ndarray, ncomp: int, ring: list):
        """Persistent requests for round trips that send from the same array each time (the
        one-rank patch's band buffer; ``vals``: ``values`` as [n_local, ncomp]) with every
        peer's rows one contiguous run: built the second time in a row the array is sent,
        kept while it is. Returns (key, ring, {id(reply array): (requests, bytes)},
        values) or None (then the trip posts fresh requests)."""
        plan = self._plan
        key = (ncomp, vals.__array_interface__["data"][0], vals.shape)
        if plan is not None and plan[0] == key and plan[1] is ring:
            return plan
        if plan is not None:
            self._free_plan()
        seen, self._last_sent = self._last_sent, key
        runs = self._runs()
        if seen != key or not all(isinstance(r, slice) for r in runs):
            return None
        slots = {}
        for out in ring:
            reqs = [self.intercomm.Recv_init(out[run], source=r, tag=_TAG_DOWN)
                    for (r, _), run in zip(self._peers, runs)]
            reqs += [self.intercomm.Send_init(vals[run], dest=r, tag=_TAG_UP)
                     for (r, _), run in zip(self._peers, runs)]
            slots[id(out)] = (reqs, sum(vals[run].nbytes for run in runs))
        self._plan = (key, ring, slots, values)
        return self._plan

    def _free_plan(self) -> None:
        """Release the persistent requests of :meth:`_trip_plan` (none in flight)."""
        if self._plan is not None:
            for reqs, _ in self._plan[2].values():
                for q in reqs:
                    q.Free()
        self._plan = None

    @staticmethod
    def progress(trip: tuple) -> bool:
        """Let the round trip's messages move (``MPI_Testall``); True once all completed."""
        return bool(_MPI().Request.Testall(trip[2]))

    def finish_round_trip(self, trip: tuple) -> np.ndarray:
        """Wait for the round trip of :meth:`start_round_trip`; returns the reply [n_local, ncomp]."""
        out, bufs, reqs, _ = trip
        self._wait(reqs)
        self._copy_in(out, bufs)
        return out

    def to_patch(self, values: np.ndarray | None, ncomp: int = 1) -> np.ndarray | None:
        """Continuum array ``values`` [n_assigned, ncomp] → patch rows [n_local, ncomp].

        Continuum ranks pass their values and get ``None``; patch ranks pass ``None``.
        """
        if self.intercomm is None:
            return np.array(values, dtype=float).reshape(self.n_assigned, ncomp)
        if self.side == "continuum":
            self._send(np.ascontiguousarray(np.asarray(values, dtype=float).reshape(self.n_assigned, ncomp)),
                       _TAG_DOWN)
            return None
        posted, self._posted = self._posted, None
        if posted is not None and posted[0] != ncomp:
            raise ConfigError(f"to_patch({ncomp} components) after a reply posted for {posted[0]}: "
                              "call to_continuum(..., expect_reply=True) with the reply's ncomp")
        _, out, bufs, reqs = posted if posted is not None else self._post_down(ncomp)
        self._wait(reqs)
        self._copy_in(out, bufs)
        return out


def _MPI():
    """mpi4py's MPI module (imported on first use: the exchange is built without MPI too)."""
    global _MPI_MOD
    if _MPI_MOD is None:
        from mpi4py import MPI

        _MPI_MOD = MPI
    return _MPI_MOD


_MPI_MOD = None


def _rows(reference, n: int, dim: int) -> np.ndarray:
    """Reference positions as [n, dim] (a rank may hold no band atoms: n = 0)."""
    X = np.asarray(reference, dtype=float)
    if X.ndim == 1:
        X = X.reshape(n, -1) if n else X.reshape(0, dim)
    return X.reshape(n, X.shape[-1])[:, :dim]


class _StackedIntercomm:
    """The collectives a coupler calls on ``exchange.intercomm``, over several intercomms:
    reductions sum the patches' contributions; an allgather returns the patches' lists one
    after the other (each patch sees its own intercomm only)."""

    def __init__(self, intercomms: list) -> None:
        self.parts = intercomms

    def allreduce(self, value):
        got = [ic.allreduce(value) for ic in self.parts]
        return np.sum([np.asarray(g, dtype=float) for g in got], axis=0)

    def allgather(self, value) -> list:
        return [x for ic in self.parts for x in ic.allgather(value)]


class StackedExchange:
    """Continuum side of several patches' interfaces seen as one (thermal coupling with
    several patches per continuum): the assigned atoms of patch 1, then of patch 2, …

    ``transfer.matrix`` stacks the patches' N (same columns: the continuum's local nodes);
    :meth:`to_continuum` concatenates what each patch sends and :meth:`to_patch` splits a
    stacked array back, one message set per intercomm. Each patch keeps its own ordinary
    :class:`InterfaceExchange`, so the patch side does not know it shares the continuum.
    """

    side = "continuum"

    def __init__(self, exchanges: list[InterfaceExchange]) -> None:
        if not exchanges or any(e.side != "continuum" for e in exchanges):
            raise ConfigError("StackedExchange: continuum-side exchanges of every patch expected")
        self.parts = list(exchanges)
        mats = [e.transfer.matrix for e in self.parts]
        self.transfer = TransferOperator(sp.vstack(mats).tocsr(), np.concatenate([e.transfer.cell for e in self.parts]))
        self.counts = [m.shape[0] for m in mats]
        self.n_assigned = int(sum(self.counts))
        self.atom_ids = np.concatenate([e.atom_ids for e in self.parts])
        self.reference = np.concatenate([np.asarray(e.reference, float).reshape(c, -1)
                                         for e, c in zip(self.parts, self.counts)])
        self.intercomm = _StackedIntercomm([e.intercomm for e in self.parts])

    @property
    def bytes_sent(self) -> int:
        return int(sum(e.bytes_sent for e in self.parts))

    def to_continuum(self, values=None, ncomp: int = 1, *, expect_reply: bool = False) -> np.ndarray:
        return np.concatenate([e.to_continuum(None, ncomp) for e in self.parts]).reshape(self.n_assigned, ncomp)

    def to_patch(self, values, ncomp: int = 1) -> None:
        v = np.asarray(values, dtype=float).reshape(self.n_assigned, ncomp)
        for e, part in zip(self.parts, np.split(v, np.cumsum(self.counts)[:-1])):
            e.to_patch(part, ncomp)
        return None
