"""Interface atoms that migrate between the ranks of a patch.

The interface exchange with the continuum (:class:`~mscouple.coupling.exchange.
InterfaceExchange`) has a pattern fixed at set-up: patch rank p sends the rows of *its*
interface atoms, in its order, to the continuum ranks that located them. At finite
temperature atoms cross sub-domain faces and migrate (LAMMPS-style decomposition), so an
interface atom may live on another rank than the one that registered it.

:class:`HomeRouting` keeps the pattern and gives every interface atom a *home*: the patch
rank and the row it had at set-up. Per exchange, values of atoms that are away from home are
sent home over the patch comm, and the continuum's answers for them are sent back to where
they live now. While every interface atom is at home (the common case; checked with one
small allreduce after a re-sort) this costs nothing beyond an index lookup. The continuum
side never notices: no re-setup, no re-factorisation of the band system, per-atom state
(noise streams keyed by id, filters in row order) unchanged.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import SimulationError

__all__ = ["HomeRouting"]


class HomeRouting:
    """Home rows of the interface atoms of one patch.

    Parameters
    ----------
    comm : the patch communicator (collective methods are collective over it).
    system : the MD system (offers ``ids`` of the owned atoms and ``reorder_count``).
    home_rows : local indices, at set-up, of this rank's interface atoms in exchange order.
    """

    def __init__(self, comm: Any, system: Any, home_rows: np.ndarray) -> None:
        self.comm, self.system = comm, system
        ids = np.asarray(system.ids)
        rows = np.asarray(home_rows, dtype=np.int64)
        self.home_ids = ids[rows].copy()
        self.n_home = rows.size
        self._rows = rows  # where the home atoms are now, while all are at home
        self._seen = system.reorder_count
        self._away = False
        size = comm.Get_size()
        if size > 1:
            parts = comm.allgather(self.home_ids)
            all_ids = np.concatenate(parts)
            rank = np.concatenate([np.full(p.size, r, dtype=np.int64) for r, p in enumerate(parts)])
            pos = np.concatenate([np.arange(p.size, dtype=np.int64) for p in parts])
            order = np.argsort(all_ids)
            self._ids_sorted, self._rank, self._pos = all_ids[order], rank[order], pos[order]
        self.routed = 0  # interface atoms away from home at the last update (patch-wide)
        self.routed_max = 0  # the most at any update so far

    @property
    def all_ids(self) -> np.ndarray:
        """Sorted global ids of every interface atom of the patch, whatever rank holds it
        (membership by id: the overlapped step's band flags of owned and ghost atoms)."""
        if self.comm.Get_size() == 1:
            return np.sort(self.home_ids)
        return self._ids_sorted

    @property
    def away(self) -> bool:
        """Whether some interface atom of the patch was away from its home rank at the last
        :meth:`update` (the same answer on every patch rank): :meth:`gather` and
        :meth:`scatter` are then collective, else local lookups."""
        return self._away

    # ------------------------------------------------------------------ bookkeeping
    def update(self) -> None:
        """Re-find the interface atoms after the MD engine re-sorted or migrated atoms
        (collective over the patch comm when it has several ranks)."""
        md = self.system
        changed = md.reorder_count != self._seen
        if self.comm.Get_size() > 1:
            changed = bool(self.comm.allreduce(int(changed)))
        if not changed:
            return
        self._seen = md.reorder_count
        ids = np.asarray(md.ids)
        order = np.argsort(ids)
        pos = np.minimum(np.searchsorted(ids, self.home_ids, sorter=order), max(ids.size - 1, 0))
        rows = order[pos] if ids.size else np.zeros(0, dtype=np.int64)
        home = (ids.size > 0 and np.array_equal(ids[rows], self.home_ids)) if self.n_home else True
        if self.comm.Get_size() == 1:
            if not home:
                raise SimulationError("an interface atom left the patch (one rank): it can only have "
                                      "been lost through a free boundary; reduce run.dt")
            self._rows, self._away = rows, False
            return
        # some interface atom of some rank is away from home: route over the patch comm
        all_home = bool(self.comm.allreduce(int(home), op=_min()))
        if all_home:
            self._rows, self._away = rows, False
            self.routed = 0
            return
        self._away = True
        k = np.searchsorted(self._ids_sorted, ids)
        k = np.minimum(k, max(self._ids_sorted.size - 1, 0))
        mine = (self._ids_sorted.size > 0) & (self._ids_sorted[k] == ids) if ids.size else np.zeros(0, bool)
        self._here_rows = np.flatnonzero(mine)  # local rows of interface atoms living here
        self._here_home = self._rank[k[mine]]  # their home rank
        self._here_pos = self._pos[k[mine]]  # their row at home
        n = int(self.comm.allreduce(int(np.count_nonzero(self._here_home != self.comm.Get_rank()))))
        self.routed = n
        self.routed_max = max(self.routed_max, n)
        total = int(self.comm.allreduce(int(self._here_rows.size)))
        expected = int(self.comm.allreduce(self.n_home))
        if total != expected:
            raise SimulationError(f"{expected - total} interface atom(s) left the patch through a free "
                                  "boundary; reduce run.dt")

    # ------------------------------------------------------------------ traffic
    def gather(self, values: np.ndarray) -> np.ndarray:
        """Per-atom ``values`` [n_owned, ...] → the home rows [n_home, ...] in exchange order
        (collective when atoms are away from home)."""
        values = np.asarray(values)
        if not self._away:
            return values[self._rows]
        size = self.comm.Get_size()
        out = [[] for _ in range(size)]
        for r in range(size):
            sel = self._here_home == r
            out[r] = (self._here_pos[sel], values[self._here_rows[sel]])
        got = self.comm.alltoall(out)
        res = np.zeros((self.n_home,) + values.shape[1:], dtype=values.dtype)
        for pos, vals in got:
            res[pos] = vals
        return res

    def scatter(self, home_values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Home-row values [n_home, ...] → ``(rows, values)`` for the interface atoms owned
        here now (collective when atoms are away from home)."""
        home_values = np.asarray(home_values)
        if not self._away:
            return self._rows, home_values
        size = self.comm.Get_size()
        # ask: which of my home rows live where — every rank knows its own atoms' homes, so
        # the owners request the values of their atoms from the homes
        req = [[] for _ in range(size)]
        for r in range(size):
            sel = self._here_home == r
            req[r] = self._here_pos[sel]
        asked = self.comm.alltoall(req)
        answer = self.comm.alltoall([home_values[a] for a in asked])
        rows, vals = [], []
        for r in range(size):
            sel = self._here_home == r
            rows.append(self._here_rows[sel])
            vals.append(answer[r])
        shape = home_values.shape[1:]
        return (np.concatenate(rows) if rows else np.zeros(0, np.int64),
                np.concatenate(vals) if vals else np.zeros((0,) + shape))


def _min():
    from mpi4py import MPI

    return MPI.MIN
