"""Time series written in place: readable while the run writes, torn tails cut on resume."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from mscouple.io.atoms import ExtxyzWriter, H5MDWriter, LammpsDumpWriter
from mscouple.io.series import ScalarSeries, read_series

LO, EDGES = np.array([0.5, -1.0, 0.0]), np.array([3.0, 4.0, 5.0])


def _frame(k, n=7):
    rng = np.random.default_rng(k)
    return LO + rng.random((n, 3)) * EDGES, rng.normal(size=(n, 3))


def _read_elsewhere(code: str) -> str:
    """Run ``code`` in another Python process (as a user's viewer would) and return stdout."""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


@pytest.mark.parametrize("cls,fmt", [(ExtxyzWriter, "extxyz"), (LammpsDumpWriter, "lammps-dump-text")])
def test_text_resume_cuts_later_frames_and_torn_tail(serial_comm, tmp_path, cls, fmt):
    from ase.io import read

    path = tmp_path / "atoms.txt"
    with cls(serial_comm, path, box_lo=LO, box_edges=EDGES) as w:
        for k in range(4):
            w.write(10 * k, 0.05 * k, np.arange(7), *_frame(k))
        torn = w.frame_text(40, 0.2, np.arange(7), *_frame(4), np.ones(7, np.int32))
    with open(path, "a") as fh:  # a crash inside the write of frame 40
        fh.write(torn[: len(torn) // 2])
    with cls(serial_comm, path, box_lo=LO, box_edges=EDGES, resume_step=20) as w:
        assert w.n_frames == 3  # steps 0, 10, 20 kept; 30 (after the checkpoint) and the torn 40 cut
        w.write(30, 0.15, np.arange(7), *_frame(30))
    images = read(path, index=":", format=fmt)
    assert len(images) == 4
    np.testing.assert_allclose(images[3].get_positions() + (LO if fmt == "extxyz" else 0), _frame(30)[0],
                               rtol=0, atol=1e-14)
    np.testing.assert_allclose(images[2].get_positions() + (LO if fmt == "extxyz" else 0), _frame(2)[0],
                               rtol=0, atol=1e-14)


def test_text_resume_with_only_a_torn_frame(serial_comm, tmp_path):
    path = tmp_path / "a.xyz"
    with ExtxyzWriter(serial_comm, path, box_lo=LO, box_edges=EDGES) as w:
        text = w.frame_text(0, 0.0, np.arange(7), *_frame(0), np.ones(7, np.int32))
    path.write_text(text[:-5])
    with ExtxyzWriter(serial_comm, path, box_lo=LO, box_edges=EDGES, resume_step=100) as w:
        assert w.n_frames == 0
    assert path.read_text() == ""


def test_h5md_frames_readable_by_another_process_while_open(serial_comm, tmp_path):
    path = tmp_path / "a.h5md"
    w = H5MDWriter(serial_comm, path, box_edges=EDGES)
    try:
        for k in range(3):
            w.write(5 * k, 0.5 * k, np.arange(7), _frame(k)[0])
            got = _read_elsewhere(
                "import h5py; h = h5py.File(%r, 'r'); g = h['particles/trajectory/position'];"
                "print(list(g['step'][...]), repr(float(g['value'][-1, 3, 1])))" % str(path))
            assert got == f"{[5 * j for j in range(k + 1)]} {_frame(k)[0][3, 1]!r}"
    finally:
        w.close()


def test_series_rows_on_disk_as_appended(serial_comm, tmp_path):
    """Each row reaches run.h5 and run.csv at once; a new column rewrites both (older
    rows NaN there); a resume cuts the rows after its step in both files."""
    path = tmp_path / "run.h5"
    s = ScalarSeries(serial_comm, path, flush_every=10)
    s.append(0, 0.0, {"E_a": 1.0})
    s.append(10, 0.5, {"E_a": 2.0})
    assert (tmp_path / "run.csv").read_text() == "step,time,E_a\n0,0,1\n10,0.5,2\n"
    got = _read_elsewhere(f"from mscouple.io.series import read_series; d = read_series({str(path)!r}); "
                          "print(list(d['step']), list(d['E_a']))")
    assert got == "[0, 10] [1.0, 2.0]"
    np.testing.assert_array_equal(read_series(path)["E_a"], [1.0, 2.0])  # in this process too
    s.append(20, 1.0, {"E_a": 3.0, "T_b": 0.25})
    assert (tmp_path / "run.csv").read_text().splitlines()[1:] == ["0,0,1,nan", "10,0.5,2,nan", "20,1,3,0.25"]
    s.append(30, 1.5, {"E_a": 4.0, "T_b": 0.5})
    s.close()
    r = ScalarSeries(serial_comm, path, resume_step=20)  # cut at once, before any append
    d = read_series(path)
    np.testing.assert_array_equal(d["step"], [0, 10, 20])
    np.testing.assert_array_equal(d["T_b"][2:], [0.25])
    assert (tmp_path / "run.csv").read_text().splitlines()[-1] == "20,1,3,0.25"
    r.append(30, 1.5, {"E_a": 5.0, "T_b": 0.75})
    r.close()
    d = read_series(path)
    np.testing.assert_array_equal(d["step"], [0, 10, 20, 30])
    np.testing.assert_array_equal(d["E_a"], [1.0, 2.0, 3.0, 5.0])
    assert d["columns"]["T_b"]["kind"] == "temperature"
