"""Triggers, the signal guard and the progress reporter."""
from __future__ import annotations

import io
import os
import signal

import pytest

from mscouple.io.progress import Progress, format_duration
from mscouple.io.signals import SignalGuard
from mscouple.io.triggers import At, Never, Periodic, as_trigger


def test_periodic_fires_on_the_same_steps_after_restart():
    p = Periodic(25, phase=10)
    full = [s for s in range(200) if p(s)]
    assert full == list(range(10, 200, 25))
    resumed = [s for s in range(110, 200) if p(s)]  # a restart at step 110 keeps the grid
    assert resumed == [s for s in full if s >= 110]
    assert (Periodic(50) | At([7]))(7) and not Never()(0)
    assert as_trigger(0)(0) is False and as_trigger(3)(6) and not as_trigger(3)(7)
    with pytest.raises(ValueError):
        Periodic(0)
    with pytest.raises(ValueError):
        as_trigger(-2)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGUSR1])
def test_signal_sets_flag_and_restores_handler(serial_comm, sig):
    before = signal.getsignal(sig)
    with SignalGuard() as g:
        assert not g.should_stop(serial_comm)
        os.kill(os.getpid(), sig)
        assert g.should_stop(serial_comm) and g.received == sig
        assert g.signal_name == signal.Signals(sig).name
        hint = g.restart_hint("ck.h5", "case.toml")
        assert f"--restart {os.path.abspath('ck.h5')}" in hint and "--output" in hint
    assert signal.getsignal(sig) is before


class FakeClock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def test_progress_numbers_and_plain_lines(serial_comm):
    clock, out = FakeClock(), io.StringIO()
    p = Progress(serial_comm, total_steps=400, dt=0.005, n_atoms=1000, every=100,
                 interval_s=0.0, stream=out, tty=False, clock=clock, time_unit="tau")
    rep = None
    for step in range(400):
        with p.timer("md"):
            clock.t += 0.002
        with p.timer("fe"):
            clock.t += 0.0005
        clock.t += 0.0005  # handshake, reported through add_time
        p.add_time("handshake", 0.0005)
        rep = p.update(step) or rep
        if step == 99:
            first = rep
    # 3 ms per step → 1000 atoms / 3 ms = 3.333e5 atom-steps/s; 300 steps left at step 100
    assert first["atom_steps_per_s"] == pytest.approx(1000 / 0.003, rel=1e-9)
    assert first["per_step_s"]["md"] == pytest.approx(0.002, rel=1e-9)
    assert first["per_step_s"]["fe"] == pytest.approx(0.0005, rel=1e-9)
    assert first["per_step_s"]["handshake"] == pytest.approx(0.0005, rel=1e-9)
    assert first["eta_s"] == pytest.approx(300 * 0.003, rel=1e-9)
    assert first["sim_time"] == pytest.approx(0.5)
    assert rep["eta_s"] == 0.0 and rep["step"] == 400
    lines = out.getvalue().splitlines()
    assert len(lines) == 4 and lines[0].startswith("step 100/400 ( 25.0%)")
    assert "MD 2 ms, FE 0.5 ms, handshake 0.5 ms" in lines[0] and "t = 0.5 tau" in lines[0]


def test_progress_bar_on_a_terminal(serial_comm):
    clock, out = FakeClock(), io.StringIO()
    p = Progress(serial_comm, total_steps=10, dt=1.0, every=5, stream=out, tty=True, clock=clock)
    for s in range(10):
        clock.t += 1.0
        p.update(s)
    text = out.getvalue()
    assert text.count("\r") == 2 and text.endswith("\n")
    assert "[##########..........] step 5/10" in text and "[####################] step 10/10" in text


def test_format_duration():
    assert format_duration(3725) == "1:02:05"
    assert format_duration(90000) == "1-01:00:00"
    assert format_duration(float("inf")) == "?"


def test_bar_choice(monkeypatch):
    from mscouple.io.progress import _live_bar

    class Tty(io.StringIO):
        def isatty(self):
            return True

    for v in ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "SLURM_PROCID", "MSCOUPLE_PROGRESS"):
        monkeypatch.delenv(v, raising=False)
    assert _live_bar(Tty()) and not _live_bar(io.StringIO())
    monkeypatch.setenv("OMPI_COMM_WORLD_SIZE", "2")  # Open MPI's pty is not the user's terminal
    assert not _live_bar(Tty())
    monkeypatch.setenv("MSCOUPLE_PROGRESS", "bar")
    assert _live_bar(io.StringIO())
