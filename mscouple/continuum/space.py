"""P1/Q1 Lagrange spaces (scalar or vector) on a :class:`~.mesh.Mesh`, numbered for PETSc.

Degrees of freedom sit on mesh nodes; global dof ``g = node_global * ncomp + component``
(node-major, PETSc block size ``ncomp``). A rank owns the dofs of its owned nodes, so a
global vector's local array, reshaped ``[n_owned, ncomp]``, has row ``k`` at local node
``mesh.owned_nodes[k]``.

Ghost handling goes through one PETSc scatter between the global vector and a sequential
"local" vector over all local nodes (owned + ghost):

- :meth:`FunctionSpace.to_local` — global vector → ``[n_nodes, ncomp]`` (ghosts filled);
- :meth:`FunctionSpace.add_local` — ``[n_nodes, ncomp]`` contributions → global vector,
  summed over ranks (ghost contributions go to their owners): the assembly of vectors and
  of restrictions such as f_I = Σ_α N_I(X_α) f_α.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
from petsc4py import PETSc

from .mesh import Mesh

_INT = PETSc.IntType


class FunctionSpace:
    """Continuous P1 (simplices) / Q1 (quads, hexes) space with ``ncomp`` components per node."""

    def __init__(self, mesh: Mesh, ncomp: int = 1):
        self.mesh = mesh
        self.comm = mesh.comm
        self.ncomp = int(ncomp)
        nc = self.ncomp
        self.n_owned_dofs = mesh.n_owned * nc
        self.n_global_dofs = mesh.n_global_nodes * nc
        self.dof_range = (mesh.node_range[0] * nc, mesh.node_range[1] * nc)
        # global dof of every local node/component [n_nodes, nc]
        self.node_dofs = (mesh.node_global[:, None] * nc + np.arange(nc)[None, :]).astype(np.int64)
        self._template = self.create_vec()
        self._lvec = PETSc.Vec().createSeq(mesh.n_nodes * nc, bsize=nc, comm=PETSc.COMM_SELF)
        iset = PETSc.IS().createGeneral(self.node_dofs.ravel().astype(_INT), comm=PETSc.COMM_SELF)
        self._scatter = PETSc.Scatter().create(self._template, iset, self._lvec, None)
        iset.destroy()
        self._lgmap = None

    # ------------------------------------------------------------------ vectors
    def create_vec(self) -> PETSc.Vec:
        """A zero global vector (block size ``ncomp``) on ``mesh.comm``."""
        v = PETSc.Vec().createMPI((self.n_owned_dofs, self.n_global_dofs), bsize=self.ncomp, comm=self.comm)
        v.set(0.0)
        return v

    def owned(self, vec: PETSc.Vec) -> np.ndarray:
        """Writable view [n_owned, ncomp] of a global vector's owned entries (rows in ``owned_nodes`` order)."""
        return vec.getArray().reshape(-1, self.ncomp)

    def to_local(self, vec: PETSc.Vec) -> np.ndarray:
        """Copy [n_nodes, ncomp] of *vec* on all local nodes, ghosts included (collective)."""
        self._scatter.scatter(vec, self._lvec, PETSc.InsertMode.INSERT_VALUES, PETSc.ScatterMode.FORWARD)
        return self._lvec.getArray().reshape(-1, self.ncomp).copy()

    def add_local(self, values: np.ndarray, vec: PETSc.Vec | None = None) -> PETSc.Vec:
        """Sum per-local-node contributions [n_nodes, ncomp] into a global vector (collective).

        Ghost-node contributions are added on their owners. Returns *vec* (a new zero vector
        if None) with the sums added to what it held.
        """
        if vec is None:
            vec = self.create_vec()
        self._lvec.getArray()[:] = np.asarray(values, dtype=float).reshape(-1)
        self._scatter.scatter(self._lvec, vec, PETSc.InsertMode.ADD_VALUES, PETSc.ScatterMode.REVERSE)
        return vec

    def from_function(self, f: Callable[[np.ndarray], np.ndarray], vec: PETSc.Vec | None = None) -> PETSc.Vec:
        """Nodal interpolant of ``f(X [n, dim]) -> [n] or [n, ncomp]`` as a global vector."""
        if vec is None:
            vec = self.create_vec()
        X = self.mesh.coordinates[self.mesh.owned_nodes]
        self.owned(vec)[:] = np.asarray(f(X), dtype=float).reshape(len(X), self.ncomp)
        return vec

    def owned_node_mask(self, local_mask: np.ndarray) -> np.ndarray:
        """Turn a per-local-node mask [n_nodes] (marked on any rank) into [n_owned] on owners (collective)."""
        vals = np.repeat(np.asarray(local_mask, dtype=float)[:, None], self.ncomp, axis=1)
        v = self.add_local(vals)
        out = self.owned(v)[:, 0] > 0
        v.destroy()
        return out

    def boundary_mask(self, name: str | int | Sequence) -> np.ndarray:
        """Owned nodes [n_owned] bool on boundary *name* (collective)."""
        return self.owned_node_mask(self.mesh.boundary_node_mask(name))

    def region_mask(self, predicate: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        """Owned nodes [n_owned] bool where ``predicate(X [n_owned, dim])`` is true."""
        return np.asarray(predicate(self.mesh.coordinates[self.mesh.owned_nodes]), dtype=bool)

    def cell_dofs(self) -> np.ndarray:
        """Global dofs of each local cell [n_cells, npc * ncomp] (node-major)."""
        return self.node_dofs[self.mesh.cells].reshape(self.mesh.n_cells, -1)

    @property
    def lgmap(self) -> PETSc.LGMap:
        """Local (owned + ghost, node-major) → global dof map, for PETSc's *Local* APIs."""
        if self._lgmap is None:
            self._lgmap = PETSc.LGMap().create(self.node_dofs.ravel().astype(_INT), bsize=1, comm=self.comm)
        return self._lgmap

    # ------------------------------------------------------------------ interpolation
    def evaluate(self, vec: PETSc.Vec, cells: np.ndarray, N: np.ndarray,
                 local_values: np.ndarray | None = None) -> np.ndarray:
        """Field values [m, ncomp] at points located by :meth:`Mesh.locate` (rows with cell −1 are 0).

        ``local_values`` ([n_nodes, ncomp], from :meth:`to_local`) avoids a scatter when given;
        otherwise this call is collective.
        """
        lv = self.to_local(vec) if local_values is None else local_values
        cells = np.asarray(cells)
        out = np.zeros((len(cells), self.ncomp))
        ok = cells >= 0
        out[ok] = np.einsum("pa,pac->pc", N[ok], lv[self.mesh.cells[cells[ok]]])
        return out

    def output(self, vec: PETSc.Vec, name: str = "u") -> dict:
        """Topology (:meth:`Mesh.output_topology`) plus ``fields = {name: [n_owned, ncomp]}`` (a copy)."""
        topo = self.mesh.output_topology()
        topo["fields"] = {name: self.owned(vec).copy()}
        return topo

    def destroy(self) -> None:
        """Free the PETSc scatter and work vectors (collective)."""
        for obj in (self._scatter, self._lvec, self._template, self._lgmap):
            if obj is not None:
                obj.destroy()
        self._scatter = self._lvec = self._template = self._lgmap = None
