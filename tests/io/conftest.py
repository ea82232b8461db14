"""Fixtures for the I/O tests."""
from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def shared_tmp(comm, tmp_path):
    """A temporary directory that every rank of ``comm`` sees (rank 0's ``tmp_path``)."""
    return Path(comm.bcast(str(tmp_path), root=0))
