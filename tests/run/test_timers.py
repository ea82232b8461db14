"""mscouple.run.timers.PhaseTimers: each ``with phase(name)`` block adds its wall time to
``name`` (the block's time, measured around it to within the clock's resolution); a block
nested in one of the same phase is booked once; an exception still books the block."""
import time

import pytest

from mscouple.run.timers import PhaseTimers


def test_phase_books_each_block_once():
    T = PhaseTimers()
    outer = time.perf_counter()
    with T.phase("md.force"):
        time.sleep(0.01)
        with T.phase("md.force"):  # nested in its own phase: inside the outer block's time
            time.sleep(0.01)
        with T.phase("handshake.exchange"):
            time.sleep(0.005)
    wall = time.perf_counter() - outer
    s = T.seconds
    assert 0.02 <= s["md.force"] <= wall  # once, not 0.03 (nested booked again)
    assert 0.005 <= s["handshake.exchange"] <= s["md.force"]
    with pytest.raises(RuntimeError):
        with T.phase("fe.forces"):
            time.sleep(0.002)
            raise RuntimeError("boom")
    assert s["fe.forces"] >= 0.002
    with T.phase("md.force"):  # reused: adds to the total
        time.sleep(0.002)
    assert T.seconds["md.force"] >= 0.022
    assert T.categories()["md"] == pytest.approx(T.seconds["md.force"])
