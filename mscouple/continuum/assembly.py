"""Bulk assembly of batched element matrices and vectors into PETSc objects.

Element kernels (in :mod:`.elasticity`, :mod:`.heat`) produce *all* element matrices at
once, in structure-of-arrays layout ``[ncomp, ncomp, npc, npc, n_cells]`` (cell index
innermost, so every NumPy loop is long) or cell-major ``[n_cells, npc, npc, ncomp, ncomp]``.
:class:`MatrixAssembler` turns them into a distributed ``MATAIJ``:

1. *symbolic, once per space*: every (row node, column node) pair of every local cell; pairs
   whose row node is owned elsewhere are sent once to the owner (``Alltoallv``); each rank
   sorts its pairs into a node-level CSR pattern (SciPy's compiled COO→CSR and per-row
   sort) and remembers where each pair lands (``emap``) and where each block entry goes in
   the dof-level CSR (node-major, component-minor);
2. *numeric, per assembly*: ghost-row blocks go to their owners (one ``Alltoallv``), block
   sums are one ``np.bincount`` per block component over ``emap``, scattered into dof order,
   and PETSc receives the owned rows as CSR arrays (``MatCreateSeqAIJWithArrays`` serially —
   no copy — or ``MatMPIAIJSetPreallocationCSR``: exact preallocation).

No ``setValues`` per element; Python loops run only over block components.
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
    except (ImportError, AttributeError, TypeError, ValueError):  # portable fallback
        key = r.astype(np.int64) * ncols + c
        Ax = np.argsort(key, kind="stable")
        Aj = c[Ax]
        Ap = np.zeros(nrows + 1, dtype=np.int64)
        np.cumsum(np.bincount(r, minlength=nrows), out=Ap[1:])
    new = np.empty(npair, dtype=bool)
    if npair:
        np.not_equal(Aj[1:], Aj[:-1], out=new[1:])
        starts = Ap[:-1][Ap[:-1] < npair]
        new[starts] = True  # first entry of every non-empty row
        new[0] = True
    cs = np.cumsum(new, dtype=np.int64)
    emap = np.empty(npair, dtype=np.int64)
    emap[Ax] = cs - 1
    indices = Aj[new]
    indptr = np.concatenate([[0], cs])[Ap]
    return indptr.astype(np.int64), indices, emap


class MatrixAssembler:
    """Assemble batched element blocks into a PETSc AIJ matrix (see :meth:`csr_data` for layouts)."""

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
        # dof-level CSR (node-major): dof row (i, a) holds (j, b) for j in node row i, b < nc,
        # so entry (block p in node row i, a, b) sits at ip[i]·nc² + a·len_i·nc + (p − ip[i])·nc + b.
        it = np.int32 if self.nnz_blocks * nc * nc < 2**31 - 1 else np.int64
        rowlen = np.diff(ip).astype(it)
        self.indptr = np.zeros(nrows * nc + 1, dtype=np.int64)
        np.cumsum(np.repeat(rowlen.astype(np.int64) * nc, nc), out=self.indptr[1:])
        node_row = np.repeat(np.arange(nrows, dtype=it), rowlen)
        base = ip.astype(it)[node_row] * it(nc * nc - nc) + np.arange(self.nnz_blocks, dtype=it) * it(nc)
        step = (rowlen * it(nc))[node_row]
        cols = ind.astype(it) * it(nc)
        indices = np.empty(self.nnz_blocks * nc * nc, dtype=_INT)
        # where each summed block entry (block p, i, j) goes in the dof-level CSR values
        self._target = []
        for i in range(nc):
            for j in range(nc):
                t = base + step * it(i) + it(j)
                indices[t] = cols + it(j)
                self._target.append(t)
        self.indices = indices
        self.indptr = self.indptr.astype(_INT)
        if self._own is None:
            # pairs in the structure-of-arrays order (a, b, cell) of the element kernels
            self._emap = np.ascontiguousarray(self._emap.reshape(-1, npc, npc).transpose(1, 2, 0)).ravel()
        self.npc = npc

    def _gather_blocks(self, blocks: np.ndarray) -> np.ndarray:
        """[pairs on this rank's rows, nc*nc] from SoA blocks: own-row pairs, then pairs received."""
        nc2 = self.space.ncomp ** 2
        npc = self.npc
        flat = np.ascontiguousarray(blocks.reshape(nc2, npc, npc, -1).transpose(3, 1, 2, 0)).reshape(-1, nc2)
        own = flat[self._own]
        send = np.ascontiguousarray(flat[self._rem])
        recv = np.empty((self._nrecv, nc2))
        self.comm.Alltoallv([send, (self._scount * nc2, self._sdis * nc2), MPI.DOUBLE],
                            [recv, (self._rcount * nc2, self._rdis * nc2), MPI.DOUBLE])
        return np.concatenate([own, recv])

    def csr_data(self, blocks: np.ndarray, layout: str = "soa") -> np.ndarray:
        """Owned-row CSR values [nnz] (aligned with ``indptr``/``indices``) of assembled blocks.

        ``layout="soa"``: blocks [ncomp, ncomp, npc, npc, n_cells] (cells innermost, what the
        kernels here produce); ``layout="cell"``: [n_cells, npc, npc, ncomp, ncomp].
        Serially the sum is one ``bincount`` per block component over contiguous weights.
        """
        sp = self.space
        nc, npc = sp.ncomp, self.npc
        if layout == "cell":
            blocks = np.ascontiguousarray(np.asarray(blocks).reshape(-1, npc, npc, nc, nc).transpose(3, 4, 1, 2, 0))
        elif layout != "soa":
            raise ValueError(f"layout must be 'soa' or 'cell', got {layout!r}")
        blocks = blocks.reshape(nc * nc, -1)
        data = np.empty(self.nnz_blocks * nc * nc)
        if self._own is None:
            for k in range(nc * nc):
                data[self._target[k]] = np.bincount(self._emap, weights=blocks[k], minlength=self.nnz_blocks)
            return data
        vals = self._gather_blocks(blocks)
        for k in range(nc * nc):
            data[self._target[k]] = np.bincount(self._emap, weights=vals[:, k], minlength=self.nnz_blocks)
        return data

    def assemble(self, blocks: np.ndarray, prefix: str | None = None, use_inodes: bool | None = None,
                 layout: str = "soa") -> PETSc.Mat:
        """A new assembled ``MATAIJ`` from element blocks (see :meth:`csr_data`) (collective).

        ``prefix`` becomes the matrix's options prefix; ``-<prefix>mat_no_inode`` (or
        ``use_inodes=False``) turns off PETSc's inode kernels (measured: see docs/continuum.md).
        """
        sp = self.space
        data = self.csr_data(blocks, layout)
        n, N = sp.n_owned_dofs, sp.n_global_dofs
        if use_inodes is None:
            use_inodes = not PETSc.Options(prefix or "").getBool("mat_no_inode", False)
        if sp.comm.Get_size() == 1:
            # serial: PETSc uses our CSR arrays in place (MatCreateSeqAIJWithArrays, no copy)
            A = PETSc.Mat().createAIJWithArrays(((n, N), (n, N)), (self.indptr.copy(), self.indices.copy(), data),
                                                bsize=sp.ncomp, comm=sp.comm)
            if prefix:
                A.setOptionsPrefix(prefix)
            if not use_inodes:
                A.setOption(PETSc.Mat.Option.USE_INODES, False)
            A.assemble()
            return A
        A = PETSc.Mat().create(comm=sp.comm)
        A.setSizes(((n, N), (n, N)), bsize=sp.ncomp)
        A.setType(PETSc.Mat.Type.AIJ)
        if prefix:
            A.setOptionsPrefix(prefix)
        A.setFromOptions()
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
