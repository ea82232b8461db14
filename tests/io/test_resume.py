"""Writers continue their files after a restart: the result equals an uninterrupted run."""
from __future__ import annotations

import h5py
import numpy as np
import pytest

from mscouple.io.atoms import ExtxyzWriter, H5MDWriter, LammpsDumpWriter
from mscouple.io.xdmf import XdmfWriter

STEPS = [0, 10, 20, 30, 40]


def _atoms(step):
    rng = np.random.default_rng(step)
    ids = np.arange(1, 8)
    return ids, rng.random((7, 3)) * 3.0, rng.normal(size=(7, 3))


def _make(kind, comm, path, resume_step=None):
    box = dict(box_lo=[0, 0, 0], box_edges=[3, 3, 3])
    if kind == "h5md":
        return H5MDWriter(comm, path, box_edges=[3, 3, 3], resume_step=resume_step)
    if kind == "extxyz":
        return ExtxyzWriter(comm, path, resume_step=resume_step, **box)
    return LammpsDumpWriter(comm, path, resume_step=resume_step, **box)


def _dump(kind, path):
    if kind == "h5md":
        out = {}
        with h5py.File(path, "r") as h:
            h["particles"].visititems(lambda n, d: out.__setitem__(n, d[()]) if isinstance(d, h5py.Dataset) else None)
        return out
    return path.read_text()


@pytest.mark.parametrize("kind", ["h5md", "extxyz", "dump"])
def test_atoms_resume_equals_uninterrupted(serial_comm, tmp_path, kind):
    ref, cont = tmp_path / f"ref.{kind}", tmp_path / f"cont.{kind}"
    with _make(kind, serial_comm, ref) as w:
        for s in STEPS:
            w.write(s, 0.01 * s, *_atoms(s))
    with _make(kind, serial_comm, cont) as w:  # first segment ran to 40, checkpoint at 20
        for s in STEPS:
            w.write(s, 0.01 * s, *_atoms(s + 1000 * (s > 20)))  # after 20: lost work
    with _make(kind, serial_comm, cont, resume_step=20) as w:
        for s in (30, 40):
            w.write(s, 0.01 * s, *_atoms(s))
    a, b = _dump(kind, ref), _dump(kind, cont)
    if kind == "h5md":
        assert a.keys() == b.keys()
        for k in a:
            np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    else:
        assert a == b


def test_xdmf_resume_equals_uninterrupted(serial_comm, tmp_path):
    pts = np.linspace(0, 1, 6)[:, None]
    cells = np.stack([np.arange(5), np.arange(1, 6)], axis=1)

    def writer(path, resume_step=None):
        return XdmfWriter(serial_comm, path, points=pts, point_ids=np.arange(6), cells=cells,
                          cell_type="line", resume_step=resume_step)

    with writer(tmp_path / "ref.h5") as w:
        for s in STEPS:
            w.write(0.1 * s, point_data={"T": pts[:, 0] * s}, cell_data={"q": np.full(5, s * 1.0)}, step=s)
    with writer(tmp_path / "cont.h5") as w:
        for s in STEPS:
            w.write(0.1 * s, point_data={"T": pts[:, 0] * s + (s > 20)}, step=s)  # no cell data later
    with writer(tmp_path / "cont.h5", resume_step=20) as w:
        for s in (30, 40):
            w.write(0.1 * s, point_data={"T": pts[:, 0] * s}, cell_data={"q": np.full(5, s * 1.0)}, step=s)
    # the first segment had no cell data in its outputs 0..20: rewrite the reference that way
    with writer(tmp_path / "ref2.h5") as w:
        for s in STEPS:
            cd = {"q": np.full(5, s * 1.0)} if s > 20 else None
            w.write(0.1 * s, point_data={"T": pts[:, 0] * s}, cell_data=cd, step=s)
    assert (tmp_path / "cont.xdmf").read_text() == (tmp_path / "ref2.xdmf").read_text().replace("ref2.h5", "cont.h5")
    with h5py.File(tmp_path / "cont.h5", "r") as a, h5py.File(tmp_path / "ref2.h5", "r") as b:
        for t in range(5):
            np.testing.assert_array_equal(a[f"fields/T/{t}"][...], b[f"fields/T/{t}"][...])
        np.testing.assert_array_equal(a["fields/step"][...], STEPS)
        assert sorted(a["fields/q"].keys()) == ["3", "4"]
