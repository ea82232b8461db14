"""Wall time per role and phase, like PETSc's ``-log_view`` stages or LAMMPS's timing
breakdown: where a coupled step's time goes, on each rank.

Phases (seconds on this rank, accumulated since the run started):

``md.force``        pair/EAM force kernels (with energy and virial when due)
``md.neighbor``     neighbour-list rebuilds (cell sort, ghosts re-chosen, migration)
``md.ghost``        ghost-atom position/force exchange on the patch comm
``md.integrate``    velocity-Verlet kicks and drifts (Python side; the fused loop books
                    its integration under ``md.force``)
``fe.forces``       continuum internal forces (K u) and loads
``fe.integrate``    continuum kicks and drifts
``fe.heat``         heat-equation steps
``handshake.solve`` the band's constraint solve (bridging domain) or thermostat λ solve
``handshake.exchange`` interface messages, including the time spent waiting for the other role

Progress lines show the categories ``md``, ``fe``, ``handshake`` (slowest rank of each);
``summary.json`` and the table at the end give every phase per role.
"""
from __future__ import annotations

import time as _time

__all__ = ["PhaseTimers", "format_table"]


class _Phase:
    """The context of one phase name: adds the wall time of each ``with`` block to its
    timers (a plain class, reused: the coupled MD step enters several phases per step, and
    a generator-based context manager costs a few µs each)."""

    __slots__ = ("timers", "name", "t0", "depth")

    def __init__(self, timers: "PhaseTimers", name: str) -> None:
        self.timers, self.name, self.t0, self.depth = timers, name, 0.0, 0

    def __enter__(self) -> None:
        if self.depth == 0:  # a block inside a block of the same phase is booked once
            self.t0 = _time.perf_counter()
        self.depth += 1

    def __exit__(self, *exc) -> bool:
        self.depth -= 1
        if self.depth == 0:
            sec = self.timers.seconds
            sec[self.name] = sec.get(self.name, 0.0) + (_time.perf_counter() - self.t0)
        return False


class PhaseTimers:
    """Accumulated seconds per phase on this rank."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._phases: dict[str, _Phase] = {}

    def add(self, phase: str, seconds: float) -> None:
        self.seconds[phase] = self.seconds.get(phase, 0.0) + float(seconds)

    def phase(self, name: str) -> _Phase:
        """``with timers.phase(name):`` books the block's wall time to ``name`` (a block
        nested in one of the same name is inside its time: booked once)."""
        p = self._phases.get(name)
        if p is None:
            p = self._phases[name] = _Phase(self, name)
        return p

    def categories(self) -> dict[str, float]:
        """Seconds per progress category (``md``, ``fe``, ``handshake``)."""
        out: dict[str, float] = {}
        for k, v in self.seconds.items():
            c = k.split(".", 1)[0]
            out[c] = out.get(c, 0.0) + v
        return out


def format_table(per_role: dict[str, dict[str, float]], steps: int, wall: float) -> list[str]:
    """The end-of-run table: ms per step of every phase for every role, and its share of
    the wall time (a phase above its role's share of the wall is where that role waits)."""
    lines = [f"timing   : {steps} steps, {wall:.3g} s wall ({1e3 * wall / max(steps, 1):.4g} ms per step)",
             f"  {'role':<16} {'phase':<20} {'ms/step':>10} {'% wall':>7}"]
    for role, ph in per_role.items():
        for name in sorted(ph):
            s = ph[name]
            lines.append(f"  {role:<16} {name:<20} {1e3 * s / max(steps, 1):>10.4g} {100 * s / max(wall, 1e-300):>6.1f}%")
    return lines
