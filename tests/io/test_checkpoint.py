"""Checkpoints: exact round trip, refusal of foreign/corrupt/truncated files, atomicity."""
from __future__ import annotations


import h5py
import numpy as np
import pytest

from mscouple.errors import CheckpointError
from mscouple.io.checkpoint import (
    checkpoint_path,
    latest_checkpoint,
    read_checkpoint,
    write_checkpoint,
)

CASE = "[run]\nsteps = 100\ndt = 0.005\n"


def _state(seed=7, n=50):
    rng = np.random.default_rng(seed)
    ids = rng.permutation(np.arange(1000, 1000 + n))
    x = rng.random((n, 3))
    v = rng.normal(size=(n, 3))
    node_ids = np.arange(12)[::-1]
    u = rng.random((12, 2))
    return ids, x, v, node_ids, u


def _write(comm, path, gen=None, case=CASE):
    ids, x, v, node_ids, u = _state()
    gen = gen or np.random.default_rng(123)
    return write_checkpoint(
        comm, path, step=40, time=0.2, case=case,
        arrays={"patch0/x": (ids, x), "patch0/v": (ids, v), "continuum/u": (node_ids, u),
                "patch0/type": (ids, (ids % 3).astype(np.int32))},
        scalars={"thermostat_zeta": 0.125, "ledger/E0": -12.5, "note": "hello"},
        rng_states={"langevin": gen},
    )


def test_round_trip_is_bit_exact(serial_comm, tmp_path):
    gen = np.random.default_rng(123)
    gen.normal(size=5)  # advance the stream
    path = _write(serial_comm, checkpoint_path(tmp_path, 40), gen)
    expected_next = np.random.default_rng(123)
    expected_next.normal(size=5)
    ref = expected_next.normal(size=3)
    ck = read_checkpoint(serial_comm, path, case=CASE)
    ids, x, v, node_ids, u = _state()
    assert ck.step == 40 and ck.time == 0.2
    assert ck.scalars["thermostat_zeta"] == 0.125 and ck.scalars["note"] == "hello"
    order = np.argsort(ids)
    bid, bx = ck.block("patch0/x")
    np.testing.assert_array_equal(bid, ids[order])
    np.testing.assert_array_equal(bx, x[order])
    np.testing.assert_array_equal(ck.take("patch0/v", ids[::3]), v[::3])
    np.testing.assert_array_equal(ck.take("continuum/u", node_ids), u)
    assert ck.take("patch0/type", ids).dtype == np.int32
    g = np.random.default_rng()
    g.bit_generator.state = ck.rng_state("langevin")
    np.testing.assert_array_equal(g.normal(size=3), ref)  # the stream continues exactly


def test_other_case_is_refused(serial_comm, tmp_path):
    path = _write(serial_comm, tmp_path / "c.h5")
    with pytest.raises(CheckpointError, match="different case"):
        read_checkpoint(serial_comm, path, case=CASE.replace("0.005", "0.002"))


def test_truncated_file_is_refused(serial_comm, tmp_path):
    path = _write(serial_comm, tmp_path / "c.h5")
    data = path.read_bytes()
    bad = tmp_path / "trunc.h5"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated|damaged|checksum"):
        read_checkpoint(serial_comm, bad, case=CASE)


def test_flipped_byte_is_refused(serial_comm, tmp_path):
    path = _write(serial_comm, tmp_path / "c.h5")
    with h5py.File(path, "r") as h:
        off = h["arrays/patch0/x/values"].id.get_offset()
    raw = bytearray(path.read_bytes())
    raw[off + 77] ^= 0x10  # one bit of one stored coordinate
    bad = tmp_path / "flip.h5"
    bad.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="checksum"):
        read_checkpoint(serial_comm, bad, case=CASE)


def test_missing_and_foreign_files(serial_comm, tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        read_checkpoint(serial_comm, tmp_path / "none.h5", case=CASE)
    with h5py.File(tmp_path / "other.h5", "w") as h:
        h["x"] = 1
    with pytest.raises(CheckpointError, match="not an mscouple checkpoint"):
        read_checkpoint(serial_comm, tmp_path / "other.h5", case=CASE)
    (tmp_path / "text.h5").write_text("not hdf5")
    with pytest.raises(CheckpointError, match="cannot be read"):
        read_checkpoint(serial_comm, tmp_path / "text.h5", case=CASE)


def test_failed_write_leaves_previous_checkpoint(serial_comm, tmp_path):
    path = _write(serial_comm, tmp_path / "c.h5")
    before = path.read_bytes()
    with pytest.raises(ValueError):
        write_checkpoint(serial_comm, path, step=41, time=0.205, case=CASE,
                         arrays={"patch0/x": (np.arange(3), np.zeros((2, 3)))})
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.h5"]


def test_take_unknown_id_is_refused(serial_comm, tmp_path):
    ck = read_checkpoint(serial_comm, _write(serial_comm, tmp_path / "c.h5"), case=CASE)
    with pytest.raises(CheckpointError, match="no entry"):
        ck.take("patch0/x", np.array([5]))


def test_latest_checkpoint(tmp_path):
    assert latest_checkpoint(tmp_path) is None
    for s in (5, 120, 40):
        checkpoint_path(tmp_path, s).write_bytes(b"")
    assert latest_checkpoint(tmp_path).name == "checkpoint_00000120.h5"
