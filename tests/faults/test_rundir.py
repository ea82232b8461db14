"""Run folders: refusal of a non-empty folder, --overwrite/--restart rules, the lock
(concurrent runs, stale locks, release after a failure), checkpoint retention."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from mpi4py import MPI

from helpers.mpi_launch import MSCOUPLE, ROOT, clean_env
from mscouple.errors import ConfigError
from mscouple.io.rundir import LOCK_NAME, checkpoint_steps, prepare_run_dir, prune_checkpoints

SELF = MPI.COMM_SELF
CASE = open(os.path.join(ROOT, "examples", "md_lj", "case.toml"), encoding="utf-8").read()


def _case(tmp, steps=20, every=10, name="case.toml", extra=""):
    text = (CASE.replace('directory = "runs/md_lj"', 'directory = "out"').replace("steps = 400", f"steps = {steps}")
            .replace("every = 50", f"every = {every}\ncheckpoint_every = {every}{extra}").replace("atoms_every = 100", ""))
    (tmp / name).write_text(text, encoding="utf-8")
    return str(tmp / name)


def _run(tmp, *argv, timeout=120):
    return subprocess.run(MSCOUPLE + ["run", *argv], capture_output=True, text=True, env=clean_env(), cwd=tmp,
                          timeout=timeout)


def test_fresh_folder_is_created_and_locked_then_released(tmp_path):
    rd = prepare_run_dir(SELF, tmp_path / "a" / "b")
    lock = tmp_path / "a" / "b" / LOCK_NAME
    info = json.loads(lock.read_text())
    assert info["pid"] == os.getpid()
    with pytest.raises(ConfigError, match="in use by another run"):
        prepare_run_dir(SELF, tmp_path / "a" / "b")  # held by a live process (this one)
    rd.release()
    assert not lock.exists()
    rd.release()  # idempotent


def test_stale_lock_of_dead_process_is_taken_over(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    import socket

    (tmp_path / LOCK_NAME).write_text(json.dumps({"host": socket.gethostname(), "pid": dead.pid, "since": 0}))
    rd = prepare_run_dir(SELF, tmp_path)
    assert json.loads((tmp_path / LOCK_NAME).read_text())["pid"] == os.getpid()
    rd.release()


def test_lock_of_other_host_is_not_taken_over(tmp_path):
    (tmp_path / LOCK_NAME).write_text(json.dumps({"host": "elsewhere-node", "pid": 1, "since": 0}))
    with pytest.raises(ConfigError, match="elsewhere-node"):
        prepare_run_dir(SELF, tmp_path)


def test_lock_of_earlier_piece_of_requeued_slurm_job_is_taken_over(tmp_path, monkeypatch):
    (tmp_path / LOCK_NAME).write_text(json.dumps({"host": "node-a", "pid": 1, "since": 0,
                                                  "slurm_job": "4242", "slurm_restart": "0"}))
    monkeypatch.setenv("SLURM_JOB_ID", "4242")
    monkeypatch.setenv("SLURM_RESTART_COUNT", "1")
    rd = prepare_run_dir(SELF, tmp_path)
    assert json.loads((tmp_path / LOCK_NAME).read_text())["slurm_restart"] == "1"
    rd.release()
    monkeypatch.setenv("SLURM_JOB_ID", "9999")  # another job: node-a's lock stands
    (tmp_path / LOCK_NAME).write_text(json.dumps({"host": "node-a", "pid": 1, "since": 0,
                                                  "slurm_job": "4242", "slurm_restart": "0"}))
    with pytest.raises(ConfigError, match="node-a"):
        prepare_run_dir(SELF, tmp_path)


def test_non_empty_needs_restart_or_overwrite(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    for n in ("run.h5", "run.csv", "summary.json", "checkpoint_00000010.h5", "checkpoint_00000020.h5"):
        (out / n).write_bytes(b"old")
    (out / "case.toml").write_text("# the user's file\n")
    with pytest.raises(ConfigError, match="already holds a run.*--restart.*--overwrite"):
        prepare_run_dir(SELF, out)
    assert not (out / LOCK_NAME).exists()  # a refusal leaves nothing behind
    prepare_run_dir(SELF, out, restart=True).release()  # a restart continues in place
    assert (out / "checkpoint_00000020.h5").exists()
    rd = prepare_run_dir(SELF, out, overwrite=True)
    assert sorted(os.listdir(out)) == sorted([LOCK_NAME, "case.toml"])  # stale checkpoints gone, user file kept
    assert len(rd.removed) == 5
    rd.release()
    with pytest.raises(ConfigError, match="exclude each other"):
        prepare_run_dir(SELF, out, restart=True, overwrite=True)
    # a folder with only non-run files is not "a run"
    prepare_run_dir(SELF, out).release()


def test_retention_keeps_newest_and_pinned(tmp_path):
    for s in (10, 20, 30, 40, 50, 60, 70):
        (tmp_path / f"checkpoint_{s:08d}.h5").write_bytes(b"x")
    (tmp_path / ".checkpoint_00000080.h5.abc.tmp").write_bytes(b"x")  # an in-flight write: untouched
    removed = prune_checkpoints(SELF, tmp_path, keep=3, pinned=[20])
    assert sorted(checkpoint_steps(tmp_path)) == [20, 50, 60, 70]
    assert sorted(p.name for p in removed) == [f"checkpoint_{s:08d}.h5" for s in (10, 30, 40)]
    assert (tmp_path / ".checkpoint_00000080.h5.abc.tmp").exists()
    assert prune_checkpoints(SELF, tmp_path, keep=0) == []  # 0 keeps all
    assert len(checkpoint_steps(tmp_path)) == 4


def test_concurrent_runs_second_refused_first_finishes(tmp_path):
    case = _case(tmp_path, steps=3000, every=1000)
    first = subprocess.Popen(MSCOUPLE + ["run", case], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=clean_env(), cwd=tmp_path)
    lock = tmp_path / "out" / LOCK_NAME
    t0 = time.monotonic()
    while not lock.exists() and first.poll() is None and time.monotonic() - t0 < 60:  # hang guard only
        time.sleep(0.05)
    assert lock.exists(), "the first run never took the lock"
    # hold the first run where it is (deterministic overlap, whatever the machine's speed)
    os.kill(first.pid, signal.SIGSTOP)
    try:
        second = _run(tmp_path, case, "--overwrite")
    finally:
        os.kill(first.pid, signal.SIGCONT)
    out, err = first.communicate(timeout=300)
    assert second.returncode == 2
    assert len(second.stderr.strip().splitlines()) == 1 and "in use by another run" in second.stderr
    assert str(first.pid) in second.stderr
    assert first.returncode == 0, err
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["step"] == 3000 and summary["status"] == "ok"
    assert not lock.exists()


def test_lock_released_after_failing_run(tmp_path):
    # a restart from a checkpoint that is not a checkpoint fails at run time (exit 2 or 1)
    case = _case(tmp_path)
    (tmp_path / "bad.h5").write_bytes(b"not hdf5")
    proc = _run(tmp_path, case, "--restart", str(tmp_path / "bad.h5"))
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert (tmp_path / "out").is_dir() and not (tmp_path / "out" / LOCK_NAME).exists()
    # and the folder is usable again at once
    ok = _run(tmp_path, case)
    assert ok.returncode == 0, ok.stderr


def test_rerun_refused_then_overwrite_replaces(tmp_path):
    case = _case(tmp_path, steps=20, every=10)
    assert _run(tmp_path, case).returncode == 0
    again = _run(tmp_path, case)
    assert again.returncode == 2 and "already holds a run" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1
    (tmp_path / "out" / "checkpoint_00000999.h5").write_bytes(b"stale")  # of an older, longer run
    ow = _run(tmp_path, case, "--overwrite")
    assert ow.returncode == 0, ow.stderr
    assert sorted(checkpoint_steps(tmp_path / "out")) == [10, 20]  # the stale one is gone
