"""Parallel outputs equal serial outputs; a signal on one rank stops every rank together."""
from __future__ import annotations

import os
import signal

import h5py
import numpy as np
import pytest

from mscouple.io.atoms import ExtxyzWriter, H5MDWriter
from mscouple.io.signals import SignalGuard
from mscouple.io.xdmf import XdmfWriter


def _same_h5(a, b, skip_attrs=("start_time",)):
    """Every dataset of two files has equal dtype, shape and values."""
    names = []
    a.visit(names.append)
    other = []
    b.visit(other.append)
    assert sorted(names) == sorted(other)
    for n in names:
        if isinstance(a[n], h5py.Dataset):
            assert a[n].dtype == b[n].dtype and a[n].shape == b[n].shape, n
            np.testing.assert_array_equal(a[n][()], b[n][()], err_msg=n)


def _quad_mesh(nx=4, ny=3):
    x, y = np.meshgrid(np.linspace(0, 1, nx + 1), np.linspace(0, 1, ny + 1), indexing="ij")
    pts = np.stack([x.ravel(), y.ravel()], axis=1)
    nid = np.arange(len(pts)).reshape(nx + 1, ny + 1)
    q = np.stack([nid[:-1, :-1], nid[1:, :-1], nid[1:, 1:], nid[:-1, 1:]], axis=-1).reshape(-1, 4)
    return pts, q


@pytest.mark.mpi(min_size=2)
def test_xdmf_parallel_equals_serial(comm, shared_tmp):
    from mpi4py import MPI

    pts, q = _quad_mesh()
    size, rank = comm.Get_size(), comm.Get_rank()
    own_nodes = np.flatnonzero(np.arange(len(pts)) % size == rank)
    own_cells = np.flatnonzero((np.arange(len(q)) * 5) % size == rank)

    def fields(t, nodes, cells):
        return {"u": np.sin(pts[nodes] + t), "T": pts[nodes, 0] * t}, {"rho": cells * 1.0 + t}

    def run(c, path, nodes, cells):
        with XdmfWriter(c, path, points=pts[nodes], point_ids=nodes, cells=q[cells], cell_type="quad", cell_ids=cells) as w:
            for t in (0.0, 0.5):
                pd, cd = fields(t, nodes, cells)
                w.write(t, point_data=pd, cell_data=cd)

    run(comm, shared_tmp / "par.h5", own_nodes, own_cells)
    if rank == 0:
        run(MPI.COMM_SELF, shared_tmp / "ser.h5", np.arange(len(pts)), np.arange(len(q)))
        with h5py.File(shared_tmp / "par.h5", "r") as a, h5py.File(shared_tmp / "ser.h5", "r") as b:
            _same_h5(a, b)
        assert (shared_tmp / "par.xdmf").read_text() == (shared_tmp / "ser.xdmf").read_text().replace("ser.h5", "par.h5")
    comm.Barrier()


@pytest.mark.mpi(min_size=2)
def test_atoms_parallel_equals_serial(comm, shared_tmp):
    from mpi4py import MPI

    n, size, rank = 23, comm.Get_size(), comm.Get_rank()
    rng = np.random.default_rng(5)
    frames = [(rng.random((n, 3)) * 4.0, rng.normal(size=(n, 3))) for _ in range(3)]
    ids = np.arange(1, n + 1)
    types = 1 + ids % 2

    def run(c, tag, own):
        with H5MDWriter(c, shared_tmp / f"{tag}.h5", box_edges=[4.0, 4.0, 4.0]) as w, \
                ExtxyzWriter(c, shared_tmp / f"{tag}.xyz", box_lo=[0, 0, 0], box_edges=[4, 4, 4]) as x:
            for k, (pos, vel) in enumerate(frames):
                m = own(k)  # atoms migrate between ranks from frame to frame
                w.write(k, 0.1 * k, ids[m], pos[m], vel[m], types=types[m])
                x.write(k, 0.1 * k, ids[m], pos[m], vel[m], types=types[m])

    run(comm, "par", lambda k: (ids * (k + 1)) % size == rank)
    if rank == 0:
        run(MPI.COMM_SELF, "ser", lambda k: np.ones(n, bool))
        with h5py.File(shared_tmp / "par.h5", "r") as a, h5py.File(shared_tmp / "ser.h5", "r") as b:
            _same_h5(a, b)
        assert (shared_tmp / "par.xyz").read_text() == (shared_tmp / "ser.xyz").read_text()
    comm.Barrier()


@pytest.mark.mpi(min_size=2)
def test_signal_on_one_rank_stops_all_at_same_step(comm):
    stopped = None
    with SignalGuard() as g:
        for step in range(10):
            if step == 3 and comm.Get_rank() == comm.Get_size() - 1:
                os.kill(os.getpid(), signal.SIGUSR1)
            if g.should_stop(comm):
                stopped = step
                break
    assert comm.allgather(stopped) == [3] * comm.Get_size()
    assert g.received == signal.SIGUSR1


@pytest.mark.mpi(min_size=2)
def test_parallel_resume_equals_serial_uninterrupted(comm, shared_tmp):
    from mpi4py import MPI

    n, size, rank = 9, comm.Get_size(), comm.Get_rank()
    ids = np.arange(n)

    def frame(s):
        rng = np.random.default_rng(s)
        return rng.random((n, 3)), rng.normal(size=(n, 3))

    def run(c, path, steps, own, resume=None, spoil=False):
        with H5MDWriter(c, path, box_edges=[1.0, 1.0, 1.0], resume_step=resume) as w:
            for s in steps:
                x, v = frame(s + 999 * (spoil and s > 20))
                m = own(s)
                w.write(s, 0.5 * s, ids[m], x[m], v[m])

    par = shared_tmp / "par_resume.h5"
    run(comm, par, [0, 10, 20, 30, 40], lambda s: ids % size == rank, spoil=True)
    run(comm, par, [30, 40], lambda s: (ids + 1) % size == rank, resume=20)  # other ownership
    if rank == 0:
        ref = shared_tmp / "ser_resume.h5"
        run(MPI.COMM_SELF, ref, [0, 10, 20, 30, 40], lambda s: np.ones(n, bool))
        with h5py.File(par, "r") as a, h5py.File(ref, "r") as b:
            _same_h5(a["particles"], b["particles"])
    comm.Barrier()
