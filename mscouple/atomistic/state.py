"""Exact checkpoint/restart state of an :class:`~mscouple.atomistic.system.MDSystem`.

:func:`checkpoint_state` returns everything a continuation needs as distributed arrays
``name -> (ids, values)`` (this rank's rows), ready for
:func:`mscouple.io.checkpoint.write_checkpoint` (which stores them sorted by id, so the
reader's rank count is free). :func:`restore_state` reads them back through a collective
``take(name, ids) -> values`` (e.g. :meth:`mscouple.io.checkpoint.Checkpoint.take`).

Arrays (``n`` owned atoms of this rank, keyed by global atom id)::

    atom/<key>   every per-atom array of the system (x, v, image, x0, mass, energy_weight,
                 external_force, fixed, langevin_gamma, types and those registered with
                 add_per_atom); x is the wrapped position
    atom/f       [n,3] forces of the last evaluation (the first half-kick after a restart
                 uses them, so they are stored, not recomputed)
    atom/xhold   [n,3] positions at the last neighbour-list build
    atom/rank    [n] int64 owning rank;  atom/index [n] int64 position in that rank's order

Per-rank rows (keyed by the rank in the patch comm)::

    rank/int     [8] int64  step_count, rebuild_count, 0, steps since the last list
                            build, forces_valid, energy_valid, weights_active, 0
    rank/float   [8] float  this rank's potential energy, virial[6], Langevin heat
    rank/nhc     [3M+1]     Nose-Hoover chain state (replicated; every rank's copy)
    layout       [5] int64  (one row, id 0) comm size, processor grid[3], natoms

**Same layout** (same patch rank count and grid): every rank gets back its atoms in its
old order, the ghost plan and the neighbour list are rebuilt *from the positions of the
last build* (``atom/xhold``; same positions and order give the same ghosts and the same
pair order), then the current positions are forwarded to the ghosts and the stored forces,
energy, virial, counters and thermostat state are put back. The restored system is in the
state of the uninterrupted one: it rebuilds its lists at the same steps, sorts at the same
rebuilds and sums forces in the same order, so the continuation is bit-for-bit identical.

**Other layouts**: atoms go to the rank owning their position and the lists are rebuilt;
forces and energy are recomputed (same to round-off: the summation order changes).
The Langevin heat of all old ranks is summed onto rank 0, the NHC state is replicated.
Langevin noise is counter-based (seed, atom id, step), so no RNG state is needed.

``reorder_count`` is a change counter, not state: it is not stored, and a restore bumps it
(the owned-atom arrays are new objects), so holders of old views (the coupler) refetch.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from ..errors import CheckpointError

__all__ = ["checkpoint_state", "restore_state", "stored_layout"]

Take = Callable[[str, np.ndarray], np.ndarray]

_NEVER = 1 << 60


def checkpoint_state(system) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], dict]:
    """``(arrays, scalars)`` of ``system`` (local; no communication).

    ``arrays`` maps the names of the module docstring to ``(ids, values)``; ``scalars`` is
    the replicated part (step, counters) for information and for callers that store
    scalars separately (everything needed is in ``arrays``).
    """
    s = system
    loc = s._loc
    ids = np.array(loc["ids"], dtype=np.int64)
    n = len(ids)
    rank = s.decomp.rank
    arrays: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for key, a in loc.items():
        if key != "ids":
            arrays[f"atom/{key}"] = (ids, np.array(a))
    arrays["atom/f"] = (ids, np.array(s._fall[:n]))
    arrays["atom/xhold"] = (ids, np.array(s._xhold[:n]))
    arrays["atom/rank"] = (ids, np.full(n, rank, dtype=np.int64))
    arrays["atom/index"] = (ids, np.arange(n, dtype=np.int64))
    me = np.array([rank], dtype=np.int64)
    ints = np.array([[s.step_count, s.rebuild_count, 0, min(s._ago, _NEVER),
                      int(s._forces_valid), int(s._energy_valid), int(s._weights_active), 0]],
                    dtype=np.int64)
    floats = np.concatenate([[float(s._epot_local)], np.asarray(s._virial_local, float).reshape(6),
                             [float(s.langevin_heat_local)]])[None, :]
    arrays["rank/int"] = (me, ints)
    arrays["rank/float"] = (me, floats)
    arrays["rank/nhc"] = (me, np.array(s._nhc_state, dtype=float)[None, :])
    if rank == 0:
        arrays["layout"] = (np.zeros(1, np.int64),
                            np.array([[s.decomp.size, *s.decomp.grid, s.natoms]], dtype=np.int64))
    scalars = {"step_count": int(s.step_count), "rebuild_count": int(s.rebuild_count),
               "comm_size": int(s.decomp.size),
               "grid": list(map(int, s.decomp.grid))}
    return arrays, scalars


def stored_layout(take: Take) -> tuple[int, tuple[int, int, int], int]:
    """``(comm size, grid, natoms)`` of the system that wrote the state (collective)."""
    row = np.asarray(take("layout", np.zeros(1, np.int64))).reshape(-1)
    return int(row[0]), (int(row[1]), int(row[2]), int(row[3])), int(row[4])


def _all_ids(system) -> np.ndarray:
    ids = np.asarray(system._loc["ids"], dtype=np.int64)
    if system.decomp.size > 1:
        ids = np.concatenate(system.comm.allgather(ids))
    return np.sort(ids)


def _per_atom(system, take: Take, ids: np.ndarray) -> dict[str, np.ndarray]:
    """Every per-atom array of the system for ``ids`` (in that order), with its dtype."""
    out = {"ids": np.ascontiguousarray(ids, dtype=np.int64)}
    for key, a in system._loc.items():
        if key == "ids":
            continue
        vals = np.asarray(take(f"atom/{key}", ids))
        vals = vals.astype(a.dtype, copy=False).reshape((len(ids),) + a.shape[1:])
        out[key] = np.ascontiguousarray(vals)
    return out


def restore_state(system, take: Take, same_layout: bool | None = None) -> bool:
    """Put the state written by :func:`checkpoint_state` into ``system`` (collective).

    ``system`` must be built from the same case (box, atoms and ids, potential, thermostat
    settings, per-atom arrays registered); its current atoms are replaced. ``take`` is a
    collective ``(name, ids) -> values``. ``same_layout``: ``None`` restores exactly when
    the stored rank count and grid equal this system's, ``False`` forces the
    redistributing path. Returns whether the exact path was taken.
    """
    s = system
    size, grid, natoms = stored_layout(take)
    all_ids = _all_ids(s)
    if natoms != len(all_ids):
        raise CheckpointError(f"the checkpointed patch has {natoms} atoms, this one "
                              f"{len(all_ids)}: restart with the case that wrote the checkpoint")
    exact = size == s.decomp.size and tuple(grid) == tuple(s.decomp.grid)
    if same_layout is not None:
        if same_layout and not exact:
            raise CheckpointError(f"the checkpoint was written on {size} ranks (grid {grid}), this "
                                  f"patch has {s.decomp.size} (grid {s.decomp.grid}): an exact "
                                  "restart needs the same layout")
        exact = bool(same_layout)
    rank = s.decomp.rank
    if exact:
        owner = np.asarray(take("atom/rank", all_ids)).reshape(-1)
        mine = all_ids[owner == rank]
        index = np.asarray(take("atom/index", mine)).reshape(-1)
        mine = mine[np.argsort(index, kind="stable")]
        loc = _per_atom(s, take, mine)
        xhold = np.asarray(take("atom/xhold", mine), float).reshape(-1, 3)
        f = np.asarray(take("atom/f", mine), float).reshape(-1, 3)
        me = np.array([rank], dtype=np.int64)
        ints = np.asarray(take("rank/int", me)).reshape(-1)
        floats = np.asarray(take("rank/float", me), float).reshape(-1)
        nhc = np.asarray(take("rank/nhc", me), float).reshape(-1)
        s._restore_exact(loc, xhold, f, step_count=int(ints[0]), rebuild_count=int(ints[1]),
                         ago=int(ints[3]),
                         forces_valid=bool(ints[4]), energy_valid=bool(ints[5]),
                         weights_active=bool(ints[6]), epot=float(floats[0]),
                         virial=floats[1:7], heat=float(floats[7]), nhc_state=nhc)
        return True
    # another layout: owners by position, then a full rebuild and a fresh force evaluation
    x = np.asarray(take("atom/x", all_ids), float).reshape(-1, 3)
    mine = all_ids[s.decomp.owner(x) == rank] if len(x) else all_ids
    loc = _per_atom(s, take, mine)
    old = np.arange(size, dtype=np.int64) if rank == 0 else np.zeros(0, np.int64)
    ints = np.asarray(take("rank/int", old)).reshape(len(old), 8)
    floats = np.asarray(take("rank/float", old), float).reshape(len(old), 8)
    nhc = np.asarray(take("rank/nhc", np.zeros(1, np.int64)), float).reshape(-1)
    head = s.comm.bcast(ints[0] if rank == 0 else None, root=0) if s.decomp.size > 1 else ints[0]
    heat = float(np.sum(floats[:, 7])) if rank == 0 else 0.0
    s._restore_redistributed(loc, step_count=int(head[0]), rebuild_count=int(head[1]),
                             heat=heat, nhc_state=nhc)
    return False
