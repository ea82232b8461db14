"""Interface traffic grows with the interface, not the volume: one projection exchange of
an fcc block of n³ cells (free surfaces, band one cell thick, P1 tets around it) for n = 6
and n = 12. The block's volume grows 8× (864 → 6,912 atoms), its band (the interface)
4.8× (608 → 2,912 atoms); the bytes sent per projection follow the band exactly: 2 × 3 × 8 bytes per band
atom (velocities up, corrections down)."""
import numpy as np
import pytest

from mscouple.coupling.exchange import InterfaceExchange

from .meshes import p1_mesh
from .test_exchange_mpi import _split


def _block(n: int, a: float = 1.0, width: int = 1):
    g = np.arange(n) * a
    base = np.array([[0, 0, 0], [.5, .5, 0], [.5, 0, .5], [0, .5, .5]]) * a
    X = (np.stack(np.meshgrid(g, g, g, indexing="ij"), -1).reshape(-1, 1, 3) + base[None]).reshape(-1, 3)
    lo, hi = -0.25 * a, (n - 0.25) * a
    band = np.min(np.minimum(X - lo, hi - X), axis=1) < width * a
    return X, band


def _traffic(comm, n: int) -> tuple[int, int, int]:
    """(atoms, band atoms, bytes sent per projection by both sides together)."""
    color, local, inter, _ = _split(comm)
    X, band = _block(n)
    nodes, cells = p1_mesh((n + 2,) * 3, h=1.0)
    nodes = nodes - 1.25
    if color == 0:
        mine = cells[np.arange(len(cells)) % local.Get_size() == local.Get_rank()]
        ex = InterfaceExchange.setup(inter, "continuum", nodes=nodes, cells=mine, kind="P1", dim=3)
        va = ex.to_continuum(None, 3, expect_reply=True)
        ex.to_patch(np.zeros_like(va), 3)
    else:
        idx = np.flatnonzero(band)
        idx = idx[idx % local.Get_size() == local.Get_rank()]
        ex = InterfaceExchange.setup(inter, "patch", ids=idx, reference=X[idx], dim=3)
        ex.to_continuum(np.ones((idx.size, 3)), 3, expect_reply=True)
        back = ex.to_patch(None, 3)
        assert back.shape == (idx.size, 3) and np.all(back == 0.0)
    total = comm.allreduce(ex.bytes_sent)
    return X.shape[0], int(band.sum()), total


@pytest.mark.mpi(min_size=2)
def test_bytes_per_step_grow_with_the_interface_not_the_volume(comm):
    n_small, b_small, bytes_small = _traffic(comm, 6)
    n_big, b_big, bytes_big = _traffic(comm, 12)
    assert n_big == 8 * n_small
    assert bytes_small == 2 * 3 * 8 * b_small and bytes_big == 2 * 3 * 8 * b_big
    assert (b_small, b_big) == (608, 2912)
    assert bytes_big / bytes_small == pytest.approx(2912 / 608) and bytes_big / bytes_small < 0.7 * n_big / n_small
