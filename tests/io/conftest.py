"""Fixtures for the I/O tests."""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest


@pytest.fixture
def shared_tmp(comm):
    """A fresh directory that every rank of ``comm`` sees, removed after the test.

    Made by rank 0 with ``tempfile`` rather than taken from ``tmp_path``: under mpirun
    every rank's pytest prunes old ``pytest-of-<user>`` folders and, with 4 ranks, one
    rank may delete another's ``tmp_path`` mid-test.
    """
    path = comm.bcast(tempfile.mkdtemp(prefix="mscouple-io-") if comm.Get_rank() == 0 else None, root=0)
    yield Path(path)
    comm.Barrier()
    if comm.Get_rank() == 0:
        shutil.rmtree(path, ignore_errors=True)
