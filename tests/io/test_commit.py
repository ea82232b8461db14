"""The one atomic-commit helper (mscouple.io.commit): serial and collective."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from mscouple.io import commit as C


def _leftovers(folder: Path) -> list[Path]:
    return sorted(folder.glob(".*.tmp"))


def test_commit_text_replaces_whole_file(tmp_path):
    path = tmp_path / "sub" / "a.txt"
    C.commit_text(path, "first\n")
    C.commit_text(path, "second\n")
    assert path.read_text() == "second\n"
    assert not _leftovers(path.parent)


def test_atomic_path_keeps_old_file_on_error(tmp_path):
    path = tmp_path / "a.txt"
    C.commit_text(path, "old")
    with pytest.raises(RuntimeError):
        with C.atomic_path(path) as tmp:
            tmp.write_text("half-writ")
            raise RuntimeError("writer died")
    assert path.read_text() == "old" and not _leftovers(tmp_path)


def test_atomic_path_needs_a_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing was written"):
        with C.atomic_path(tmp_path / "a.png"):
            pass
    assert not list(tmp_path.iterdir())


def test_tmp_name_is_hidden_and_beside(tmp_path):
    t = C.tmp_name(tmp_path / "run.h5", "abc")
    assert t == tmp_path / ".run.h5.abc.tmp"


def test_collective_commit_serial(serial_comm, tmp_path):
    path = tmp_path / "x.bin"
    tmp = C.collective_tmp_path(serial_comm, path)
    tmp.write_bytes(b"1234")
    assert C.collective_commit(serial_comm, tmp, path, ok=True)
    assert path.read_bytes() == b"1234"
    tmp = C.collective_tmp_path(serial_comm, path)
    tmp.write_bytes(b"bad")
    assert not C.collective_commit(serial_comm, tmp, path, ok=False)
    assert path.read_bytes() == b"1234" and not _leftovers(tmp_path)


def test_collective_commit_reports_os_error(serial_comm, tmp_path):
    path = tmp_path / "x.bin"
    path.mkdir()  # a folder where the file should go: rename fails
    (path / "inside").write_text("x")
    tmp = C.collective_tmp_path(serial_comm, path)
    tmp.write_bytes(b"1")
    with pytest.raises(OSError, match="cannot write"):
        C.collective_commit(serial_comm, tmp, path)
    assert not _leftovers(tmp_path)


@pytest.mark.mpi(min_size=2)
def test_collective_commit_agrees_across_ranks(comm, shared_tmp):
    """One rank failing drops the file on every rank; all ranks agree on the outcome."""
    path = shared_tmp / "agreed.txt"
    tmp = C.collective_tmp_path(comm, path)
    assert len(set(comm.allgather(str(tmp)))) == 1
    if comm.Get_rank() == 0:
        tmp.write_text("v1")
    comm.Barrier()
    ok = C.collective_commit(comm, tmp, path, ok=comm.Get_rank() != comm.Get_size() - 1)
    assert comm.allgather(ok) == [False] * comm.Get_size()
    comm.Barrier()
    assert not path.exists() and not _leftovers(shared_tmp)
    comm.Barrier()  # every rank has looked before the next temp name is made
    tmp = C.collective_tmp_path(comm, path)
    if comm.Get_rank() == 0:
        tmp.write_text("v2")
    comm.Barrier()
    assert C.collective_commit(comm, tmp, path, ok=True)
    comm.Barrier()
    assert path.read_text() == "v2"
    comm.Barrier()
    if comm.Get_rank() == 0:
        os.unlink(path)
