"""The mscouple command: info, check under mpirun (SPMD and MPMD), failure handling."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap

import pytest

from helpers.mpi_launch import MSCOUPLE, ROOT, clean_env, mpirun

CASES = os.path.join(ROOT, "examples", "cases")


def test_info_reports_stack():
    proc = subprocess.run(MSCOUPLE + ["info"], capture_output=True, text=True, env=clean_env(), timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for word in ("mscouple", "numpy", "mpi4py", "MPI", "PETSc", "petsc4py", "h5py", "kernels", "ranks       1"):
        assert word in out, out
    import numpy

    assert numpy.__version__ in out


def _layout_rows(stdout: str):
    return re.findall(r"world rank (\d+): (\S+)\s+\(rank (\d+) of (\d+)\)", stdout)


@pytest.mark.parametrize(
    "case, expected",
    [
        ("layout_1p3.toml", ["continuum", "core", "core", "core"]),
        ("layout_2p2.toml", ["continuum", "continuum", "core", "core"]),
        ("layout_2p1p1.toml", ["continuum", "continuum", "left", "right"]),
    ],
)
def test_check_prints_split_layout_under_mpirun(case, expected):
    path = os.path.join(CASES, case)
    proc = mpirun([(4, MSCOUPLE + ["check", path])])
    assert proc.returncode == 0, proc.stderr
    rows = _layout_rows(proc.stdout)
    assert [r[1] for r in rows] == expected
    # ranks within each role are numbered 0..n-1 and sizes agree
    for role in set(expected):
        sub = [r for r in rows if r[1] == role]
        assert sorted(int(r[2]) for r in sub) == list(range(len(sub)))
        assert all(int(r[3]) == len(sub) for r in sub)


def test_mpmd_launch_gives_same_layout():
    path = os.path.join(CASES, "layout_2p1p1.toml")
    spmd = mpirun([(4, MSCOUPLE + ["check", path])])
    mpmd = mpirun([(2, MSCOUPLE + ["check", path]), (1, MSCOUPLE + ["check", path]),
                   (1, MSCOUPLE + ["check", path])])
    assert mpmd.returncode == 0, mpmd.stderr
    assert _layout_rows(mpmd.stdout) == _layout_rows(spmd.stdout)


def test_mpmd_block_mixing_roles_is_refused():
    path = os.path.join(CASES, "layout_2p1p1.toml")
    proc = mpirun([(1, MSCOUPLE + ["check", path]), (3, MSCOUPLE + ["check", path])])
    assert proc.returncode == 2
    assert "MPMD launch" in proc.stderr


def test_more_ranks_requested_than_launched():
    proc = mpirun([(3, MSCOUPLE + ["check", os.path.join(CASES, "layout_1p3.toml")])])
    assert proc.returncode == 2
    errs = [l for l in proc.stderr.splitlines() if l.startswith("error:")]
    assert len(errs) == 1 and "asks for 4 ranks" in errs[0] and "3 launched" in errs[0]


def test_failure_on_one_rank_ends_all_ranks(tmp_path):
    """Rank 1 raises while ranks 0 and 2 wait in a collective: the job must end, not hang."""
    script = tmp_path / "fail.py"
    script.write_text(textwrap.dedent("""
        from mpi4py import MPI
        from mscouple.cli.main import run_guarded
        world = MPI.COMM_WORLD
        def work():
            if world.Get_rank() == 1:
                raise RuntimeError("deliberate failure on rank 1")
            world.Barrier()   # the others would wait here forever
            return 0
        run_guarded(world, work)
    """))
    # timeout is a hang detector, not a performance assertion
    proc = mpirun([(3, [sys.executable, str(script)])], timeout=60)
    assert proc.returncode != 0
    assert "deliberate failure on rank 1" in proc.stderr
    assert "[rank 1]" in proc.stderr
