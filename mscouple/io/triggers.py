"""When to act: triggers that map a step number to yes/no (after HOOMD-blue's ``Trigger``).

Every writer (fields, atoms, series, checkpoints, progress) fires on its own trigger, so
output frequencies are set per stream. Triggers are pure functions of the step, hence
identical on every rank: collective writers may be called under ``if trigger(step):``.
"""
from __future__ import annotations

from typing import Iterable

__all__ = ["Trigger", "Periodic", "At", "Never", "AnyOf", "as_trigger"]


class Trigger:
    """Base class: ``trigger(step) -> bool``."""

    def __call__(self, step: int) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    def __or__(self, other: "Trigger") -> "Trigger":
        return AnyOf(self, other)


class Periodic(Trigger):
    """Fires when ``step >= phase`` and ``(step - phase) % period == 0``.

    ``Periodic(100)`` fires at steps 0, 100, 200, ...; ``Periodic(100, phase=50)`` at
    50, 150, ... A restarted run fires on the same steps as an uninterrupted one.
    """

    def __init__(self, period: int, phase: int = 0) -> None:
        if int(period) < 1:
            raise ValueError(f"a Periodic trigger needs a period >= 1 step, got {period}")
        self.period, self.phase = int(period), int(phase)

    def __call__(self, step: int) -> bool:
        return step >= self.phase and (step - self.phase) % self.period == 0

    def __repr__(self) -> str:
        return f"Periodic({self.period}, phase={self.phase})"


class At(Trigger):
    """Fires at the listed steps only."""

    def __init__(self, steps: Iterable[int]) -> None:
        self.steps = frozenset(int(s) for s in steps)

    def __call__(self, step: int) -> bool:
        return step in self.steps

    def __repr__(self) -> str:
        return f"At({sorted(self.steps)})"


class Never(Trigger):
    """Never fires (an output stream that is switched off)."""

    def __call__(self, step: int) -> bool:
        return False

    def __repr__(self) -> str:
        return "Never()"


class AnyOf(Trigger):
    """Fires when any of its triggers fires."""

    def __init__(self, *triggers: Trigger) -> None:
        self.triggers = triggers

    def __call__(self, step: int) -> bool:
        return any(t(step) for t in self.triggers)

    def __repr__(self) -> str:
        return f"AnyOf{self.triggers!r}"


def as_trigger(spec: "Trigger | int | None") -> Trigger:
    """A trigger from a case-file value: an int ``n > 0`` → ``Periodic(n)``; ``0`` or
    ``None`` → ``Never()``; a :class:`Trigger` is returned as is."""
    if isinstance(spec, Trigger):
        return spec
    if spec is None or spec == 0:
        return Never()
    if isinstance(spec, bool) or not isinstance(spec, int) or spec < 0:
        raise ValueError(f"an output interval must be a number of steps >= 0, got {spec!r}")
    return Periodic(spec)
