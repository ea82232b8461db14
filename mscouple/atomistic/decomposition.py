"""Spatial decomposition of a patch over its communicator: processor grid, atom migration,
ghost atoms (positions forward, forces reverse) and periodic images, as in LAMMPS
(Plimpton, J. Comput. Phys. 117, 1 (1995)).

The box is cut into a ``grid[0] x grid[1] x grid[2]`` grid of equal sub-boxes; rank
``r = (c0 * grid[1] + c1) * grid[2] + c2`` owns the atoms in sub-box ``c``. Ghosts are
gathered in three stages (x, then y, then z), each stage also forwarding the ghosts of the
earlier ones, so edge and corner neighbours need no messages of their own. A direction
with one rank makes its periodic images locally (several images if the box is shorter
than the ghost cutoff); a direction with several ranks needs sub-boxes at least as wide as
the ghost cutoff (one hop), which :func:`choose_grid` guarantees.

The exchange plan is a list of *swaps*; each swap sends the atoms ``send_idx`` (owned or
earlier ghosts), displaced by ``shift``, and receives ``nrecv`` ghosts stored at
``recv_start``. ``forward`` replays the swaps in order, ``reverse`` backwards.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError, SimulationError
from .box import Box

_TAG = 7301


def choose_grid(size: int, box: Box, cutghost: float) -> tuple[int, int, int]:
    """Factor ``size`` into a processor grid of minimal sub-box surface whose sub-boxes are
    at least ``cutghost`` wide wherever a direction is split."""
    L = box.lengths
    best, best_area = None, np.inf
    for p0 in range(1, size + 1):
        if size % p0:
            continue
        for p1 in range(1, size // p0 + 1):
            if (size // p0) % p1:
                continue
            p = (p0, p1, size // (p0 * p1))
            w = L / np.array(p)
            if any(p[d] > 1 and w[d] < cutghost for d in range(3)):
                continue
            area = w[0] * w[1] + w[0] * w[2] + w[1] * w[2]
            if area < best_area - 1e-12 * area:
                best, best_area = p, area
    if best is None:
        raise ConfigError(
            f"cannot split a box of lengths {L.tolist()} over {size} ranks with sub-boxes at "
            f"least {cutghost:g} wide (cutoff + skin): give the patch fewer ranks or a larger box")
    return best


@dataclass
class Swap:
    send_idx: np.ndarray  # [nsend] int64 indices into owned+ghost arrays
    shift: np.ndarray  # [3] displacement added to sent positions
    dest: int  # rank to send to (-1: this rank, i.e. a local periodic image)
    source: int  # rank to receive from (-1: this rank)
    recv_start: int
    nrecv: int


class Decomposition:
    """Processor grid and communication of one patch (collective on ``comm``)."""

    def __init__(self, comm, box: Box, cutghost: float, grid=None) -> None:
        from mpi4py import MPI

        self.comm = comm
        self.box = box
        self.cutghost = float(cutghost)
        self.size = comm.Get_size()
        self.rank = comm.Get_rank()
        self.grid = tuple(grid) if grid is not None else choose_grid(self.size, box, cutghost)
        if int(np.prod(self.grid)) != self.size:
            raise ConfigError(f"processor grid {self.grid} does not match {self.size} ranks")
        self.coords = np.unravel_index(self.rank, self.grid)
        w = box.lengths / np.array(self.grid)
        self.sublo = box.lo + w * np.array(self.coords)
        self.subhi = np.where(np.array(self.coords) == np.array(self.grid) - 1, box.hi,
                              box.lo + w * (np.array(self.coords) + 1))
        self._null = MPI.PROC_NULL
        self.swaps: list[Swap] = []
        self.nghost = 0
        self.all_local = self.size == 1

    # ------------------------------------------------------------------ ownership
    def _neighbor(self, d: int, step: int) -> int:
        c = list(self.coords)
        c[d] += step
        if c[d] < 0 or c[d] >= self.grid[d]:
            if not self.box.periodic[d]:
                return self._null
            c[d] %= self.grid[d]
        return int(np.ravel_multi_index(c, self.grid))

    def owner(self, x: np.ndarray) -> np.ndarray:
        """Rank owning each (wrapped) position of ``x [n,3]``."""
        w = self.box.lengths / np.array(self.grid)
        c = np.floor((x - self.box.lo) / w).astype(np.int64)
        c = np.clip(c, 0, np.array(self.grid) - 1)
        return np.ravel_multi_index(c.T, self.grid)

    def migrate(self, atoms: dict) -> tuple[dict, bool]:
        """Send owned atoms that left this sub-box to their new owner (one hop per direction).

        ``atoms`` maps names to per-atom arrays ``[n, ...]`` (must include ``"x"``).
        Returns the new dict and whether any atom moved anywhere (collective).
        """
        moved_any = False
        lost = False
        for d in range(3):
            if self.grid[d] == 1:
                continue
            x = atoms["x"]
            lower, upper = self._neighbor(d, -1), self._neighbor(d, +1)
            # target sub-box along d (positions are already wrapped into the box)
            w = self.box.lengths[d] / self.grid[d]
            ct = np.clip(np.floor((x[:, d] - self.box.lo[d]) / w).astype(np.int64), 0,
                         self.grid[d] - 1)
            c = self.coords[d]
            if self.box.periodic[d]:
                go_lo = ct == (c - 1) % self.grid[d]
                go_hi = (ct == (c + 1) % self.grid[d]) & ~go_lo
            else:
                go_lo = ct < c
                go_hi = ct > c
            lost |= bool(np.any((ct != c) & ~go_lo & ~go_hi))
            keep = ~(go_lo | go_hi)
            out_lo = {k: a[go_lo] for k, a in atoms.items()}
            out_hi = {k: a[go_hi] for k, a in atoms.items()}
            from_hi = self.comm.sendrecv(out_lo, dest=lower, sendtag=_TAG, source=upper,
                                         recvtag=_TAG)
            from_lo = self.comm.sendrecv(out_hi, dest=upper, sendtag=_TAG + 1, source=lower,
                                         recvtag=_TAG + 1)
            parts = [{k: a[keep] for k, a in atoms.items()}]
            for got in (from_lo, from_hi):
                if got is not None and len(got["x"]):
                    parts.append(got)
            moved_any |= bool(np.any(go_lo) or np.any(go_hi))
            atoms = {k: np.ascontiguousarray(np.concatenate([p[k] for p in parts]))
                     for k in atoms}
        flags = self.comm.allreduce(np.array([int(moved_any), int(lost)]))
        if flags[1]:
            raise SimulationError(
                "an atom moved more than one sub-box between neighbour-list rebuilds "
                "(time step too large or atoms exploding): reduce dt or rebuild more often")
        return atoms, bool(flags[0])

    # ------------------------------------------------------------------ ghosts
    def borders(self, x: np.ndarray, props: dict) -> tuple[np.ndarray, dict]:
        """Build the exchange plan for owned positions ``x [nlocal,3]``.

        ``props`` maps names to owned per-atom arrays copied onto the ghosts (types,
        weights, ids). Returns ghost positions ``[nghost,3]`` and ghost ``props``.
        """
        cg = self.cutghost
        box = self.box
        xs = [np.ascontiguousarray(x)]
        ps = {k: [np.asarray(v)] for k, v in props.items()}
        n_cur = len(x)
        nlocal = n_cur
        swaps: list[Swap] = []

        def cat():
            return np.concatenate(xs) if len(xs) > 1 else xs[0]

        for d in range(3):
            if self.grid[d] == 1 and not box.periodic[d]:
                continue
            xall = cat()
            pall = {k: (np.concatenate(v) if len(v) > 1 else v[0]) for k, v in ps.items()}
            n_before = n_cur
            xd = xall[:n_before, d]
            if self.grid[d] == 1:
                L = box.lengths[d]
                kmax = int(np.ceil(cg / L))
                for k in range(1, kmax + 1):
                    for sign in (+1, -1):
                        if sign > 0:
                            sel = np.nonzero(xd < box.lo[d] + cg - (k - 1) * L)[0]
                        else:
                            sel = np.nonzero(xd >= box.hi[d] - cg + (k - 1) * L)[0]
                        shift = np.zeros(3)
                        shift[d] = sign * k * L
                        swaps.append(Swap(sel, shift, -1, -1, n_cur, len(sel)))
                        xs.append(xall[sel] + shift)
                        for key, v in ps.items():
                            v.append(pall[key][sel])
                        n_cur += len(sel)
            else:
                L = box.lengths[d]
                lower, upper = self._neighbor(d, -1), self._neighbor(d, +1)
                for direction in (-1, +1):
                    shift = np.zeros(3)
                    if direction < 0:
                        dest, source = lower, upper
                        sel = (np.nonzero(xd < self.sublo[d] + cg)[0] if dest != self._null
                               else np.zeros(0, dtype=np.int64))
                        if self.coords[d] == 0:
                            shift[d] = L
                    else:
                        dest, source = upper, lower
                        sel = (np.nonzero(xd >= self.subhi[d] - cg)[0] if dest != self._null
                               else np.zeros(0, dtype=np.int64))
                        if self.coords[d] == self.grid[d] - 1:
                            shift[d] = -L
                    payload = {"x": xall[sel] + shift}
                    for key in ps:
                        payload[key] = pall[key][sel]
                    got = self.comm.sendrecv(payload, dest=dest, sendtag=_TAG + 2 + d,
                                             source=source, recvtag=_TAG + 2 + d)
                    nrecv = 0 if got is None else len(got["x"])
                    swaps.append(Swap(sel, shift, dest, source, n_cur, nrecv))
                    if nrecv:
                        xs.append(got["x"])
                        for key, v in ps.items():
                            v.append(got[key])
                    n_cur += nrecv
        self.swaps = swaps
        self.nghost = n_cur - nlocal
        xall = cat()
        gprops = {k: (np.concatenate(v) if len(v) > 1 else v[0])[nlocal:] for k, v in ps.items()}
        self._build_local_map(nlocal)
        return np.ascontiguousarray(xall[nlocal:]), gprops

    def _build_local_map(self, nlocal: int) -> None:
        """Flatten the plan into (src[g], shift[g]) when every swap is local (one rank)."""
        self.all_local = all(s.dest == -1 for s in self.swaps)
        if not self.all_local:
            self.gsrc = np.zeros(0, dtype=np.int32)
            self.gshift = np.zeros((0, 3))
            return
        src = [s.send_idx for s in self.swaps]
        sh = [np.broadcast_to(s.shift, (len(s.send_idx), 3)) for s in self.swaps]
        self.gsrc = (np.concatenate(src).astype(np.int32) if src else np.zeros(0, np.int32))
        self.gshift = (np.ascontiguousarray(np.concatenate(sh)) if sh else np.zeros((0, 3)))

    def forward(self, a: np.ndarray, positions: bool = False) -> None:
        """Copy owned values of ``a [nall, ...]`` onto the ghosts (adding the periodic shift
        when ``positions``). Collective."""
        for s in self.swaps:
            if s.dest == -1:
                out = a[s.recv_start:s.recv_start + s.nrecv]
                np.take(a, s.send_idx, axis=0, out=out)
                if positions and s.shift.any():
                    out += s.shift
                continue
            buf = a[s.send_idx]
            if positions and s.shift.any():
                buf += s.shift
            self.comm.Sendrecv(np.ascontiguousarray(buf), dest=s.dest, sendtag=_TAG + 10,
                               recvbuf=a[s.recv_start:s.recv_start + s.nrecv],
                               source=s.source, recvtag=_TAG + 10)

    def subset_plan(self, flag: np.ndarray) -> list:
        """The exchange plan restricted to the atoms with ``flag`` set (``flag [nall]`` over
        owned + ghost atoms, the same for every image of an atom, e.g. set by id): per swap
        the flagged send atoms and the flagged ghost slots it fills. Both ends filter the
        same atom sequence by the same flags, so no message is needed. For
        :meth:`reverse_subset` (the overlapped coupled step's band-only reverse)."""
        flag = np.asarray(flag, dtype=bool)
        plan = []
        for s in self.swaps:
            send = np.asarray(s.send_idx, dtype=np.int64)
            send = send[flag[send]] if send.size else send
            recv = s.recv_start + np.flatnonzero(flag[s.recv_start:s.recv_start + s.nrecv])
            plan.append((send, recv))
        return plan

    def reverse_subset(self, a: np.ndarray, plan: list) -> None:
        """:meth:`reverse` for the atoms of ``plan`` (:meth:`subset_plan`) only: their ghost
        values of ``a [nall, ...]`` are added onto their owners and the ghost slots zeroed
        (the rest stays for a later :meth:`reverse`). Collective."""
        for s, (send, recv) in zip(reversed(self.swaps), reversed(plan)):
            if s.dest == -1:
                a[send] += a[recv]
            else:
                buf = np.empty((send.size,) + a.shape[1:], dtype=a.dtype)
                self.comm.Sendrecv(np.ascontiguousarray(a[recv]), dest=s.source, sendtag=_TAG + 12,
                                   recvbuf=buf, source=s.dest, recvtag=_TAG + 12)
                a[send] += buf
            a[recv] = 0.0

    def reverse(self, a: np.ndarray) -> None:
        """Add ghost values of ``a [nall, ...]`` onto their owners (Newton's third law). Collective."""
        for s in reversed(self.swaps):
            if s.dest == -1:
                # send_idx has no repeats within one swap: plain fancy-index add is exact
                a[s.send_idx] += a[s.recv_start:s.recv_start + s.nrecv]
            else:
                buf = np.empty((len(s.send_idx),) + a.shape[1:], dtype=a.dtype)
                self.comm.Sendrecv(np.ascontiguousarray(a[s.recv_start:s.recv_start + s.nrecv]),
                                   dest=s.source, sendtag=_TAG + 11, recvbuf=buf,
                                   source=s.dest, recvtag=_TAG + 11)
                a[s.send_idx] += buf
