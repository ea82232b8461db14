"""HDF5 output base: atomic commit, metadata, distributed writes (serial part)."""
from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from mscouple.io.hdf5 import case_fingerprint, open_h5, run_metadata


def test_commit_renames_and_carries_metadata(serial_comm, tmp_path):
    path = tmp_path / "out.h5"
    meta = run_metadata(case_text="[run]\nsteps = 3\n", layout="continuum: 0; patch0: 1")
    x = np.arange(12.0).reshape(4, 3)
    with open_h5(serial_comm, path, metadata=meta) as f:
        f.write_blocks("x", x)
        assert not path.exists()  # still under its temporary name
        assert f.tmp_path.exists() and f.tmp_path.parent == path.parent
    assert path.exists() and not list(tmp_path.glob(".*.tmp"))
    with h5py.File(path, "r") as h:
        np.testing.assert_array_equal(h["x"][...], x)
        assert h.attrs["case_text"] == "[run]\nsteps = 3\n"
        assert h.attrs["case_sha256"] == case_fingerprint("[run]\nsteps = 3\n")
        assert h.attrs["layout"] == "continuum: 0; patch0: 1"
        vers = json.loads(h.attrs["versions"])
        for pkg in ("mscouple", "numpy", "petsc4py", "mpi4py", "h5py"):
            assert vers[pkg] and vers[pkg] != "not installed"
        assert vers["numpy"] == np.__version__
        assert h.attrs["start_time"][:2] == "20"


def test_exception_keeps_original_and_removes_temp(serial_comm, tmp_path):
    path = tmp_path / "out.h5"
    with open_h5(serial_comm, path) as f:
        f.write_blocks("x", np.ones(5))
    with pytest.raises(RuntimeError, match="boom"):
        with open_h5(serial_comm, path) as f:
            f.write_blocks("x", np.zeros(7))
            raise RuntimeError("boom")
    assert not list(tmp_path.glob(".*.tmp"))
    with h5py.File(path, "r") as h:
        np.testing.assert_array_equal(h["x"][...], np.ones(5))


def test_append_mode_extends_existing_file(serial_comm, tmp_path):
    path = tmp_path / "out.h5"
    with open_h5(serial_comm, path, metadata=run_metadata(case_text="a")) as f:
        f.write_blocks("a", np.arange(3))
    with open_h5(serial_comm, path, "a") as f:
        f.write_blocks("b", np.arange(4))
    with h5py.File(path, "r") as h:
        assert h["a"].shape == (3,) and h["b"].shape == (4,)
        assert h.attrs["case_text"] == "a"  # metadata of the original run is kept


def test_missing_directory_is_a_clear_error(serial_comm, tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        open_h5(serial_comm, tmp_path / "nope" / "out.h5")


def test_write_by_id_sorts_rows(serial_comm, tmp_path):
    rng = np.random.default_rng(1)
    ids = rng.permutation(np.arange(10, 30))
    vals = np.stack([ids * 1.0, ids * 2.0], axis=1)
    with open_h5(serial_comm, tmp_path / "o.h5") as f:
        n = f.write_by_id("v", ids, vals, ids_name="ids")
    assert n == 20
    with h5py.File(tmp_path / "o.h5", "r") as h:
        np.testing.assert_array_equal(h["ids"][...], np.arange(10, 30))
        np.testing.assert_array_equal(h["v"][:, 1], 2.0 * np.arange(10, 30))


def test_duplicate_ids_are_refused(serial_comm, tmp_path):
    with open_h5(serial_comm, tmp_path / "o.h5") as f:
        with pytest.raises(ValueError, match="not unique"):
            f.write_by_id("v", np.array([1, 2, 2]), np.zeros((3, 3)))


def test_case_fingerprint_mapping_is_order_free():
    assert case_fingerprint({"a": 1, "b": [1, 2]}) == case_fingerprint({"b": [1, 2], "a": 1})
    assert case_fingerprint("x = 1\r\n") == case_fingerprint("x = 1\n")
    assert case_fingerprint("x = 1\n") != case_fingerprint("x = 2\n")
