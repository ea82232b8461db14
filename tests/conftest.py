"""Shared pytest set-up.

Under ``mpirun`` (``--with-mpi``) a test that fails on some ranks but not others would
leave the others blocked in their next collective; as HOOMD-blue does, we abort the
whole job when a test fails on any rank in an MPI run, so CI never hangs.
"""
from __future__ import annotations

import os
import sys

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")
# shared test helpers (tests/helpers) importable as `helpers.*`
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def comm():
    """The test harness's communicator (tests, like the CLI, may start from COMM_WORLD)."""
    from mpi4py import MPI

    return MPI.COMM_WORLD


@pytest.fixture
def serial_comm():
    from mpi4py import MPI

    return MPI.COMM_SELF


def pytest_runtest_makereport(item, call):
    if call.when != "call" or call.excinfo is None:
        return
    if not item.config.getoption("--with-mpi", default=False):
        return
    if call.excinfo.errisinstance(pytest.skip.Exception):
        return
    from mpi4py import MPI

    if MPI.COMM_WORLD.Get_size() > 1 and item.get_closest_marker("mpi") is not None:
        # A collective test failing on one rank would hang the others: report and abort.
        sys.stderr.write(
            f"\n[rank {MPI.COMM_WORLD.Get_rank()}] FAILED {item.nodeid}:\n{call.excinfo.getrepr(style='short')}\n"
        )
        sys.stderr.flush()
        MPI.COMM_WORLD.Abort(1)
