"""The HMM examples run and meet their own criteria (each exits 1 otherwise)."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _run(args, tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.run([sys.executable] + args, cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)


def test_hmm_bar_example(tmp_path):
    p = _run(["examples/hmm_bar/hmm_bar.py"], tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "HMM vs atomistic" in p.stdout


def test_fastslow_example(tmp_path):
    p = _run(["examples/hmm_fastslow/fastslow.py", "--out", str(tmp_path)], tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    rows = open(tmp_path / "fastslow.csv").read().splitlines()
    assert rows[0] == "problem,parameter,max_error" and len(rows) == 1 + 6 + 5 + 5
