"""Bulk assembly of batched element matrices and vectors into PETSc objects.

Element kernels (in :mod:`.elasticity`, :mod:`.heat`) produce *all* element matrices at
once as node-pair blocks ``Ke[n_cells, npc, npc, ncomp, ncomp]``. :class:`MatrixAssembler`
turns them into a distributed ``MATAIJ`` with one ``createAIJ(csr=...)`` call:

1. *symbolic, once per space*: every (row node, column node) pair of every local cell; pairs
   whose row node is owned elsewhere are sent once to the owner (``Alltoallv``); each rank
   sorts its pairs into a node-level CSR pattern (SciPy's compiled COO→CSR and per-row
   sort) and remembers where each pair lands (``emap``) and where each block entry goes in
   the dof-level CSR (node-major, component-minor);
2. *numeric, per assembly*: ghost-row blocks go to their owners (one ``Alltoallv``), block
   sums are ``np.bincount`` over ``emap``, the scatter into dof order is one fancy-index
   assignment, and PETSc receives the owned rows as CSR arrays (exact preallocation).

No ``setValues`` per element; the only Python loop is over the ``ncomp²`` block components.
"""
from __future__ import annotations

import numpy as np
from mpi4py import MPI
from petsc4py import PETSc

from .space import FunctionSpace

_INT = PETSc.IntType


def _csr_pattern(r: np.ndarray, c: np.ndarray, nrows: int, ncols: int
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Deduplicated CSR pattern of pairs (r, c); returns indptr [nrows+1], indices [nnz],
    and emap [len(r)]: the CSR position of each pair. Columns sorted within rows."""
    npair = len(r)
    idx_t = np.int32 if max(nrows, ncols, npair) < 2**31 - 1 else np.int64
    try:  # SciPy's compiled kernels: counting sort by row, then per-row sort (linear-ish)
        from scipy.sparse import _sparsetools

        Ap = np.zeros(nrows + 1, dtype=idx_t)
        Aj = np.empty(npair, dtype=idx_t)
        Ax = np.empty(npair, dtype=idx_t)
        _sparsetools.coo_tocsr(nrows, ncols, npair, r.astype(idx_t, copy=False), c.astype(idx_t, copy=False),
                               np.arange(npair, dtype=idx_t), Ap, Aj, Ax)
        _sparsetools.csr_sort_indices(nrows, Ap, Aj, Ax)
        rows_sorted = np.repeat(np.arange(nrows, dtype=idx_t), np.diff(Ap))
    except (ImportError, AttributeError, TypeError, ValueError):  # portable fallback
        key = r.astype(np.int64) * ncols + c
        Ax = np.argsort(key, kind="stable")
        Aj = c[Ax]
        rows_sorted = r[Ax]
    new = np.ones(npair, dtype=bool)
    if npair:
        new[1:] = (Aj[1:] != Aj[:-1]) | (rows_sorted[1:] != rows_sorted[:-1])
    pos = np.cumsum(new) - 1
    emap = np.empty(npair, dtype=np.int64)
    emap[Ax] = pos
    indices = Aj[new]
    counts = np.bincount(rows_sorted[new], minlength=nrows) if npair else np.zeros(nrows, np.int64)
    indptr = np.zeros(nrows + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    return indptr, indices, emap


class MatrixAssembler:
    """Assemble node-pair blocks ``[n_cells, npc, npc, ncomp, ncomp]`` into a PETSc AIJ matrix."""

    def __init__(self, space: FunctionSpace):
        self.space = space
        mesh = space.mesh
        comm = self.comm = space.comm
        nc = space.ncomp
        npc = mesh.nodes_per_cell
        cells = mesh.cells
        gl = mesh.node_global
        rows_l = np.repeat(cells, npc, axis=1).ravel()
        cols_l = np.tile(cells, (1, npc)).ravel()
        rstart, rend = mesh.node_range
        size = comm.Get_size()
        nrows = rend - rstart
        ncols = mesh.n_global_nodes
        if size == 1:  # serial: local numbering is global, every row is owned
            self._own = None
            self._rem = np.zeros(0, dtype=np.int64)
            self._nrecv = 0
            ip, ind, self._emap = _csr_pattern(rows_l, cols_l, nrows, ncols)
        else:
            own_row = mesh.owned[rows_l]
            self._own = np.nonzero(own_row)[0]
            rem = np.nonzero(~own_row)[0]
            starts = np.array(comm.allgather(rstart), dtype=np.int64)
            grem = gl[rows_l[rem]]
            owner = np.searchsorted(starts, grem, side="right") - 1
            order = np.argsort(owner, kind="stable")
            self._rem = rem[order]
            self._scount = np.bincount(owner, minlength=size).astype(np.int64)
            self._rcount = np.array(comm.alltoall(list(self._scount)), dtype=np.int64)
            sdis = np.concatenate([[0], np.cumsum(self._scount)[:-1]])
            rdis = np.concatenate([[0], np.cumsum(self._rcount)[:-1]])
            self._sdis, self._rdis = sdis, rdis
            nrecv = int(self._rcount.sum())
            send = np.stack([gl[rows_l[self._rem]], gl[cols_l[self._rem]]], axis=1).astype(np.int64)
            recv = np.empty((nrecv, 2), dtype=np.int64)
            comm.Alltoallv([send, (self._scount * 2, sdis * 2), MPI.INT64_T],
                           [recv, (self._rcount * 2, rdis * 2), MPI.INT64_T])
            r = np.concatenate([gl[rows_l[self._own]] - rstart, recv[:, 0] - rstart])
            c = np.concatenate([gl[cols_l[self._own]], recv[:, 1]])
            ip, ind, self._emap = _csr_pattern(r, c, nrows, ncols)
            self._nrecv = len(recv)
        self.nnz_blocks = len(ind)
        # dof-level CSR (node-major): dof row (i, a) holds (j, b) for j in node row i, b < nc
        rowlen = np.diff(ip)
        self.indptr = np.zeros(nrows * nc + 1, dtype=np.int64)
        np.cumsum(np.repeat(rowlen * nc, nc), out=self.indptr[1:])
        node_row = np.repeat(np.arange(nrows), rowlen)
        jpos = np.arange(len(ind)) - ip[node_row]  # position of block within its node row
        a = np.arange(nc)
        # target index of block entry (p, a, b): indptr[row*nc + a] + jpos*nc + b
        self._target = (self.indptr[(node_row[:, None] * nc + a[None, :])][:, :, None]
                        + (jpos[:, None, None] * nc + a[None, None, :])).ravel()
        self.indices = (ind[:, None] * nc + a[None, :])  # per block: the nc columns
        self.indices = np.repeat(self.indices[:, None, :], nc, axis=1).ravel()
        col_sorted = np.empty_like(self.indices)
        col_sorted[self._target] = self.indices
        self.indices = col_sorted.astype(_INT)
        self.indptr = self.indptr.astype(_INT)

    def _gather_blocks(self, blocks: np.ndarray) -> np.ndarray:
        """[pairs on this rank's rows, nc*nc]: own-row blocks then blocks received from others."""
        nc2 = self.space.ncomp ** 2
        flat = blocks.reshape(-1, nc2)
        if self._own is None:
            return flat
        own = flat[self._own]
        send = np.ascontiguousarray(flat[self._rem])
        recv = np.empty((self._nrecv, nc2))
        self.comm.Alltoallv([send, (self._scount * nc2, self._sdis * nc2), MPI.DOUBLE],
                            [recv, (self._rcount * nc2, self._rdis * nc2), MPI.DOUBLE])
        return np.concatenate([own, recv])

    def csr_data(self, blocks: np.ndarray) -> np.ndarray:
        """Owned-row CSR values [nnz] (aligned with ``indptr``/``indices``) of the assembled blocks."""
        nc2 = self.space.ncomp ** 2
        vals = self._gather_blocks(blocks)
        summed = np.empty((self.nnz_blocks, nc2))
        for k in range(nc2):
            summed[:, k] = np.bincount(self._emap, weights=vals[:, k], minlength=self.nnz_blocks)
        data = np.empty(self.nnz_blocks * nc2)
        data[self._target] = summed.ravel()
        return data

    def assemble(self, blocks: np.ndarray, prefix: str | None = None, use_inodes: bool | None = None
                 ) -> PETSc.Mat:
        """A new assembled ``MATAIJ`` from blocks [n_cells, npc, npc, ncomp, ncomp] (collective).

        ``prefix`` becomes the matrix's options prefix; ``-<prefix>mat_no_inode`` (or
        ``use_inodes=False``) turns off PETSc's inode kernels (measured: see docs/continuum.md).
        """
        sp = self.space
        data = self.csr_data(blocks)
        n, N = sp.n_owned_dofs, sp.n_global_dofs
        A = PETSc.Mat().create(comm=sp.comm)
        A.setSizes(((n, N), (n, N)), bsize=sp.ncomp)
        A.setType(PETSc.Mat.Type.AIJ)
        if prefix:
            A.setOptionsPrefix(prefix)
        A.setFromOptions()
        if use_inodes is None:
            use_inodes = not PETSc.Options(prefix or "").getBool("mat_no_inode", False)
        if not use_inodes:
            A.setOption(PETSc.Mat.Option.USE_INODES, False)
        A.setPreallocationCSR((self.indptr, self.indices, data))
        A.assemble()
        return A


def assemble_vector(space: FunctionSpace, element_vectors: np.ndarray, vec: PETSc.Vec | None = None
                    ) -> PETSc.Vec:
    """Sum element vectors [n_cells, npc, ncomp] into a global vector (ghosts summed on owners)."""
    mesh = space.mesh
    nc = space.ncomp
    ev = np.asarray(element_vectors, dtype=float).reshape(mesh.n_cells, mesh.nodes_per_cell, nc)
    idx = mesh.cells.ravel()
    local = np.empty((mesh.n_nodes, nc))
    for k in range(nc):
        local[:, k] = np.bincount(idx, weights=ev[:, :, k].ravel(), minlength=mesh.n_nodes)
    return space.add_local(local, vec)
