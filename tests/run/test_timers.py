"""mscouple.run.timers.PhaseTimers on a controlled clock (no wall time): each ``with
phase(name)`` block adds exactly the clock's advance across it to ``name``; a block nested in
one of the same phase is booked once (inside the outer block's time); an exception still
books its block; the categories sum their phases."""
import pytest

from mscouple.run import timers as timers_mod
from mscouple.run.timers import PhaseTimers


class _Clock:
    """A stand-in for the ``time`` module: perf_counter returns what the test set."""

    def __init__(self) -> None:
        self.now = 100.0

    def perf_counter(self) -> float:
        return self.now


def test_phase_books_each_block_once(monkeypatch):
    clock = _Clock()
    monkeypatch.setattr(timers_mod, "_time", clock)
    T = PhaseTimers()
    with T.phase("md.force"):
        clock.now += 1.0
        with T.phase("md.force"):  # nested in its own phase: inside the outer block's time
            clock.now += 2.0
        with T.phase("handshake.exchange"):
            clock.now += 0.5
    assert T.seconds["md.force"] == pytest.approx(3.5)  # once: not 3.5 + 2.0
    assert T.seconds["handshake.exchange"] == pytest.approx(0.5)
    with pytest.raises(RuntimeError):
        with T.phase("fe.forces"):
            clock.now += 0.25
            raise RuntimeError("boom")
    assert T.seconds["fe.forces"] == pytest.approx(0.25)
    clock.now += 10.0  # time outside any block is booked nowhere
    with T.phase("md.force"):  # the phase reused: adds to its total
        clock.now += 0.125
    assert T.seconds["md.force"] == pytest.approx(3.625)
    assert T.categories() == pytest.approx({"md": 3.625, "handshake": 0.5, "fe": 0.25})
    T.add("md.force", 1.0)
    assert T.seconds["md.force"] == pytest.approx(4.625)
