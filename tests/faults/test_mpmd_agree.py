"""MPMD blocks that disagree are refused at once (exit 2, one line), never hang."""
from __future__ import annotations

import os

import pytest

from helpers.mpi_launch import MSCOUPLE, ROOT, mpirun

CASE = open(os.path.join(ROOT, "examples", "md_lj", "case.toml"), encoding="utf-8").read() \
    .replace("crystal = 1", "crystal = 2").replace("steps = 400", "steps = 10")


@pytest.mark.parametrize("second, words", [
    (["check", "a.toml"], ["different commands", "rank 0: run", "rank 1: check"]),
    (["run", "b.toml", "--output", "o"], ["different case files", "a.toml", "b.toml"]),
    (["run", "a.toml", "--output", "p"], ["different --output folders", "rank 1: p"]),
    (["run", "a.toml", "--output", "o", "--set", "run.steps=20"], ["different --set overrides"]),
], ids=["run-vs-check", "case-files", "outputs", "overrides"])
def test_mpmd_blocks_must_agree(second, words, tmp_path):
    (tmp_path / "a.toml").write_text(CASE)
    (tmp_path / "b.toml").write_text(CASE.replace("seed = 2024", "seed = 7"))
    # the timeout is a hang detector only
    proc = mpirun([(1, MSCOUPLE + ["run", "a.toml", "--output", "o"]), (1, MSCOUPLE + second)], timeout=120,
                  cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    lines = [l for l in proc.stderr.splitlines() if l.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    for w in words:
        assert w in lines[0], lines[0]
    assert not (tmp_path / "o").exists() and not (tmp_path / "p").exists()  # nothing written
