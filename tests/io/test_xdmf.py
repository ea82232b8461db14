"""XDMF field series: meshio reads back what was written (1D/2D/3D, node/cell, scalar/vector)."""
from __future__ import annotations

import meshio
import numpy as np
import pytest

from mscouple.io.xdmf import XdmfWriter


def _grid_2d(nx, ny, quads):
    x, y = np.meshgrid(np.linspace(0, 1, nx + 1), np.linspace(0, 2, ny + 1), indexing="ij")
    pts = np.stack([x.ravel(), y.ravel()], axis=1)
    nid = np.arange(len(pts)).reshape(nx + 1, ny + 1)
    q = np.stack([nid[:-1, :-1], nid[1:, :-1], nid[1:, 1:], nid[:-1, 1:]], axis=-1).reshape(-1, 4)
    if quads:
        return pts, q
    return pts, np.concatenate([q[:, [0, 1, 2]], q[:, [0, 2, 3]]])


def _hexes(n):
    g = np.linspace(0, 1, n + 1)
    x, y, z = np.meshgrid(g, g, g, indexing="ij")
    pts = np.stack([x.ravel(), y.ravel(), z.ravel()], axis=1)
    i = np.arange(len(pts)).reshape(n + 1, n + 1, n + 1)
    a = i[:-1, :-1, :-1]
    h = np.stack([a, i[1:, :-1, :-1], i[1:, 1:, :-1], i[:-1, 1:, :-1],
                  i[:-1, :-1, 1:], i[1:, :-1, 1:], i[1:, 1:, 1:], i[:-1, 1:, 1:]], axis=-1).reshape(-1, 8)
    return pts, h


def _tets(n):
    pts, h = _hexes(n)
    # 6 tetrahedra per hexahedron (Kuhn subdivision along the 0-6 diagonal)
    paths = [(1, 2), (1, 5), (3, 2), (3, 7), (4, 5), (4, 7)]
    t = np.concatenate([np.stack([h[:, 0], h[:, a], h[:, b], h[:, 6]], axis=1) for a, b in paths])
    return pts, t


CASES = {
    "line": lambda: (np.linspace(0, 3, 7)[:, None], np.stack([np.arange(6), np.arange(1, 7)], axis=1)),
    "triangle": lambda: _grid_2d(3, 2, quads=False),
    "quad": lambda: _grid_2d(3, 2, quads=True),
    "tetra": lambda: _tets(2),
    "hexahedron": lambda: _hexes(2),
}


@pytest.mark.parametrize("cell_type", sorted(CASES))
def test_meshio_reads_back(serial_comm, tmp_path, cell_type):
    pts, cells = CASES[cell_type]()
    gdim = pts.shape[1]
    rng = np.random.default_rng(0)
    perm = rng.permutation(len(pts))  # rows given in arbitrary order, keyed by global id
    times = [0.0, 0.25, 0.5]
    path = tmp_path / "fields.h5"
    with XdmfWriter(serial_comm, path, points=pts[perm], point_ids=perm, cells=cells, cell_type=cell_type) as w:
        for t in times:
            u = np.sin(pts + t)  # (N, gdim) vector field
            temp = 1.0 + t * pts[:, 0]
            rho = np.arange(len(cells), dtype=float) * (1 + t)
            w.write(t, point_data={"u": u[perm], "T": temp[perm]}, cell_data={"rho": rho})
    with meshio.xdmf.TimeSeriesReader(path.with_suffix(".xdmf")) as r:
        points, cblocks = r.read_points_cells()
        assert points.shape[0] == len(pts)
        np.testing.assert_array_equal(points[:, :gdim], pts)
        assert np.all(points[:, gdim:] == 0.0)
        assert len(cblocks) == 1 and cblocks[0].type == cell_type
        np.testing.assert_array_equal(cblocks[0].data, cells)
        assert r.num_steps == 3
        for k, t in enumerate(times):
            tt, pd, cd = r.read_data(k)
            assert tt == t
            np.testing.assert_allclose(pd["T"], 1.0 + t * pts[:, 0], rtol=0, atol=0)
            if gdim == 1:  # a one-component field is a scalar
                np.testing.assert_array_equal(pd["u"], np.sin(pts[:, 0] + t))
            else:
                assert pd["u"].shape == (len(pts), 3)  # padded to a 3-vector for ParaView
                np.testing.assert_array_equal(pd["u"][:, :gdim], np.sin(pts + t))
                assert np.all(pd["u"][:, gdim:] == 0.0)
            np.testing.assert_array_equal(cd["rho"][0], np.arange(len(cells)) * (1 + t))


def test_node_ids_must_be_dense(serial_comm, tmp_path):
    pts, cells = CASES["line"]()
    with pytest.raises(ValueError, match="0..N-1"):
        XdmfWriter(serial_comm, tmp_path / "f.h5", points=pts, point_ids=np.arange(1, 8), cells=cells, cell_type="line")
    assert not list(tmp_path.iterdir())  # nothing left behind


def test_wrong_row_count_is_refused(serial_comm, tmp_path):
    pts, cells = CASES["line"]()
    with pytest.raises(ValueError, match="expected 7"):
        with XdmfWriter(serial_comm, tmp_path / "f.h5", points=pts, point_ids=np.arange(7), cells=cells, cell_type="line") as w:
            w.write(0.0, point_data={"T": np.zeros(6)})
    assert not list(tmp_path.iterdir())
