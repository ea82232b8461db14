"""Exit codes through mpirun, the printed restart command, and the heartbeat watchdog.

Open MPI's mpirun answers SIGTERM by forwarding it to the ranks, SIGKILLing them after
``odls_base_sigkill_timeout`` (1 s) and exiting 1 whatever the ranks return (its exit
status is set to 1 when the signal arrives, before the ranks end). SIGUSR1 is forwarded
without that, so the ranks' 75 is mpirun's exit code. Under Slurm, SIGTERM reaches the
tasks directly (and the job scripts use USR1), so ranks see the signal and exit 75.
"""
from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from helpers.mpi_launch import MSCOUPLE, ROOT, clean_env

CASE = open(os.path.join(ROOT, "examples", "md_lj", "case.toml"), encoding="utf-8").read()
MPIRUN = shutil.which("mpirun") or shutil.which("mpiexec")


def _case(tmp, steps, ranks=2):
    text = (CASE.replace('directory = "runs/md_lj"', 'directory = "default_out"')
            .replace("steps = 400", f"steps = {steps}").replace("crystal = 1", f"crystal = {ranks}")
            .replace("atoms_every = 100", "atoms_every = 0"))
    (tmp / "case.toml").write_text(text, encoding="utf-8")
    return "case.toml"


def _ranks(mpirun_pid: int) -> dict[int, int]:
    """{world rank: pid} of mpirun's children (from their OMPI_COMM_WORLD_RANK)."""
    out = {}
    for c in open(f"/proc/{mpirun_pid}/task/{mpirun_pid}/children").read().split():
        env = open(f"/proc/{c}/environ", "rb").read().split(b"\0")
        r = [e for e in env if e.startswith(b"OMPI_COMM_WORLD_RANK=")]
        if r:
            out[int(r[0].split(b"=")[1])] = int(c)
    return out


def _wait_for(path, proc, limit=120):
    t0 = time.monotonic()
    while not path.exists() and proc.poll() is None and time.monotonic() - t0 < limit:  # hang guard only
        time.sleep(0.05)
    return path.exists()


@pytest.mark.parametrize("sig", [signal.SIGUSR1, signal.SIGTERM], ids=["USR1", "TERM"])
def test_signal_to_ranks_exits_75_and_pasted_command_continues(sig, tmp_path):
    """The signal reaches every rank (as under Slurm): checkpoint, exit 75, restart command
    with mpirun -n 2, --output and --set; pasted, it finishes the run."""
    case = _case(tmp_path, steps=400000)
    cmd = [MPIRUN, "--oversubscribe", "-n", "2"] + MSCOUPLE + ["run", case, "--output", "myout",
                                                               "--set", "output.every=100"]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=clean_env(),
                         cwd=tmp_path)
    assert _wait_for(tmp_path / "myout" / "run.csv", p)
    for pid in _ranks(p.pid).values():  # the ranks only, as Slurm signals the tasks of a step
        os.kill(pid, sig)
    out, err = p.communicate(timeout=120)
    assert p.returncode == 75, err
    line = next(l for l in out.splitlines() if "continue with:" in l)
    again = line.split("continue with: ", 1)[1]
    argv = shlex.split(again)
    assert argv[:3] == ["mpirun", "-n", "2"]
    assert "--output" in argv and argv[argv.index("--output") + 1] == str(tmp_path / "myout")
    assert "--set" in argv and "output.every=100" in argv and "--restart" in argv
    ck = argv[argv.index("--restart") + 1]
    assert os.path.isfile(ck)
    stopped_at = int(os.path.basename(ck)[len("checkpoint_"):-3])
    # paste it, from another folder, finishing 200 steps after the stop (run.steps is not
    # part of the checkpoint's case fingerprint)
    argv = [MPIRUN, "--oversubscribe"] + argv[1:] + ["--set", f"run.steps={stopped_at + 200}"]
    done = subprocess.run(argv, capture_output=True, text=True, env=clean_env(), cwd="/", timeout=300)
    assert done.returncode == 0, done.stderr
    summary = json.loads((tmp_path / "myout" / "summary.json").read_text())
    assert summary["step"] == stopped_at + 200 and summary["status"] == "ok"
    assert not (tmp_path / "default_out").exists()  # the continuation did not go elsewhere


def test_usr1_to_mpirun_exits_75(tmp_path):
    case = _case(tmp_path, steps=400000)
    p = subprocess.Popen([MPIRUN, "--oversubscribe", "-n", "2"] + MSCOUPLE + ["run", case, "--output", "o"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=clean_env(), cwd=tmp_path)
    assert _wait_for(tmp_path / "o" / "run.csv", p)
    p.send_signal(signal.SIGUSR1)  # mpirun only: it forwards USR1 to the ranks
    out, err = p.communicate(timeout=120)
    assert p.returncode == 75, err
    assert "continue with: mpirun -n 2" in out
    assert not (tmp_path / "o" / ".mscouple.lock").exists()


WATCHED = textwrap.dedent("""
    import sys, time
    from mpi4py import MPI
    from mscouple.io.watchdog import Watchdog
    comm = MPI.COMM_WORLD
    wd = Watchdog(comm, sys.argv[1], float(sys.argv[2])).start()
    step = 0
    open(f"{sys.argv[1]}/ready_{comm.Get_rank()}", "w").close()
    t0 = time.monotonic()
    while time.monotonic() - t0 < 60:   # the run loop: a poll point every 10 ms
        step += 1
        time.sleep(0.01)
        wd.beat(step)
    wd.stop()
""")


@pytest.mark.parametrize("stopped", [1, 0], ids=["rank1", "rank0"])
def test_watchdog_ends_job_naming_the_stalled_rank(stopped, tmp_path):
    script = tmp_path / "loop.py"
    script.write_text(WATCHED)
    p = subprocess.Popen([MPIRUN, "--oversubscribe", "-n", "2", sys.executable, str(script), str(tmp_path), "2"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=clean_env())
    assert _wait_for(tmp_path / "ready_1", p) and _wait_for(tmp_path / "ready_0", p)
    beat = tmp_path / ".mscouple-heartbeat" / f"rank_{stopped}"
    t0 = time.monotonic()
    while int(beat.read_text().split()[1]) <= 0 and time.monotonic() - t0 < 30:  # a beat from the loop
        time.sleep(0.05)
    ranks = _ranks(p.pid)
    os.kill(ranks[stopped], signal.SIGSTOP)
    out, err = p.communicate(timeout=60)  # the job must end well before the script's 60 s
    assert p.returncode != 0
    msg = [l for l in err.splitlines() if l.startswith("watchdog:")]
    assert len(msg) == 1, err
    assert f"rank {stopped} " in msg[0] and "last heartbeat was at step" in msg[0]
    step = int(msg[0].split("at step ")[1].split(".")[0])
    assert step > 0
