"""Distributed P1/Q1 meshes on PETSc DMPlex.

A :class:`Mesh` is built from a serial :class:`~.meshgen.MeshData` on the root rank of
``comm``; DMPlex partitions and distributes it (``DMPlexDistribute``, overlap 0), and the
cell data (connectivity, boundary-facet tags, cell tags) travel with the cells through the
migration star forest, so all arrays below are plain NumPy built without per-cell Python.

Per rank (``n_nodes`` = owned + ghost vertices of the local cells):

========================  ===========================  ============================================
attribute                 shape / dtype                meaning
========================  ===========================  ============================================
``coordinates``           [n_nodes, dim] float64       vertex coordinates
``cells``                 [n_cells, npc] int32         cell → local node (orderings: :mod:`.reference`)
``node_global``           [n_nodes] int64              global node number (contiguous per owner rank)
``owned``                 [n_nodes] bool               this rank owns the node
``owned_nodes``           [n_owned] int32              local index of global node ``node_range[0] + k``
``node_range``            (start, stop)                global numbers owned here
``node_original``         [n_nodes] int64              vertex number in the serial input mesh
``cell_original``         [n_cells] int64              cell number in the serial input mesh
``cell_tags``             [n_cells] int64              physical group of each cell (0 if none)
``facets``                [n_facets, npf] int32        local boundary facets (each on one rank only)
``facet_tags``            [n_facets] int64             their tags; ``boundary_names`` maps name → tag
========================  ===========================  ============================================

Global node numbers are those of PETSc vectors made by :class:`~.space.FunctionSpace`
(node-major, component-minor). ``node_original``/``cell_original`` do not depend on the
number of ranks, which makes rank-count comparisons exact.

:meth:`Mesh.locate` finds, for points ``[m, dim]``, the local cell containing each point
(−1 if none) and the shape-function values ``[m, npc]`` there.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
from mpi4py import MPI
from petsc4py import PETSc

from mscouple.errors import ConfigError

from . import meshgen
from .reference import ReferenceCell, quadrature, reference_cell

_INT = PETSc.IntType


def _sf_bcast(sf: PETSc.SF, rootdata: np.ndarray, nleaves: int) -> np.ndarray:
    """Broadcast per-point int64 rows [nroots, k] from roots to leaves [nleaves, k] along *sf*."""
    rootdata = np.ascontiguousarray(rootdata, dtype=np.int64)
    k = rootdata.shape[1]
    unit = MPI.INT64_T.Create_contiguous(k).Commit()
    leaf = np.full((nleaves, k), -1, dtype=np.int64)
    try:
        sf.bcastBegin(unit, rootdata.ravel(), leaf.ravel(), MPI.REPLACE)
        sf.bcastEnd(unit, rootdata.ravel(), leaf.ravel(), MPI.REPLACE)
    finally:
        unit.Free()
    return leaf


def _match_facets(data: meshgen.MeshData, ref: ReferenceCell) -> np.ndarray:
    """Tag of each local face of each cell: [n_cells, n_faces] int64 (0 = untagged)."""
    nc = len(data.cells)
    nf = len(ref.faces)
    out = np.zeros((nc, nf), dtype=np.int64)
    if len(data.facets) == 0:
        return out
    nv = len(data.coordinates)
    on = np.zeros(nv, dtype=bool)
    on[data.facets.ravel()] = True
    faces = np.stack([data.cells[:, list(f)] for f in ref.faces], axis=1)  # [nc, nf, npf]
    cand = on[faces].all(axis=2)
    ci, fi = np.nonzero(cand)
    ckeys = np.sort(faces[ci, fi], axis=1)
    fkeys = np.sort(data.facets, axis=1)
    # exact match of sorted vertex tuples (boundary-sized arrays only)
    _, inv = np.unique(np.concatenate([fkeys, ckeys]), axis=0, return_inverse=True)
    inv = inv.reshape(-1)
    fid, cid = inv[: len(fkeys)], inv[len(fkeys):]
    tag_of = np.zeros(inv.max() + 1, dtype=np.int64)
    tag_of[fid] = data.facet_tags
    out[ci, fi] = tag_of[cid]
    return out


class Mesh:
    """A P1/Q1 mesh distributed over ``comm`` by DMPlex (see the module docstring)."""

    def __init__(self, comm: MPI.Comm, data: meshgen.MeshData | None, root: int = 0):
        """Distribute *data* (significant on rank *root* only) over *comm*."""
        self.comm = comm
        rank = comm.Get_rank()
        if rank == root:
            if data is None:
                raise ConfigError("Mesh needs MeshData on the root rank")
            meta = (data.cell_type, data.coordinates.shape[1], dict(data.boundary_names),
                    dict(data.cell_names))
        else:
            meta = None
        meta = comm.bcast(meta, root=root)
        self.cell_type, self.dim, self.boundary_names, self.cell_names = meta
        self.reference: ReferenceCell = reference_cell(self.cell_type)
        if self.reference.dim != self.dim:
            raise ConfigError(f"{self.cell_type} cells need {self.reference.dim}D coordinates, got {self.dim}D")
        ref = self.reference
        npc, nfc = ref.n_vertices, len(ref.faces)
        if rank == root:
            face_tags = _match_facets(data, ref)
            ctags = data.cell_tags if data.cell_tags is not None else np.zeros(len(data.cells), np.int64)
            cells0 = np.ascontiguousarray(data.cells, dtype=np.int64)
            coords0 = np.ascontiguousarray(data.coordinates, dtype=float)
            celldata = np.hstack([np.arange(len(cells0), dtype=np.int64)[:, None], cells0, face_tags,
                                  ctags[:, None]])
        else:
            cells0 = np.zeros((0, npc), np.int64)
            coords0 = np.zeros((0, self.dim))
            celldata = np.zeros((0, 2 + npc + nfc), np.int64)
        nc0, nv0 = len(cells0), len(coords0)
        self.dm = PETSc.DMPlex().createFromCellList(self.dim, cells0.astype(_INT), coords0,
                                                    interpolate=False, comm=comm)
        self.dm.setName("mesh")
        migration = self.dm.distribute() if comm.Get_size() > 1 else None
        cs, ce = self.dm.getHeightStratum(0)
        vs, ve = self.dm.getDepthStratum(0)
        if migration is not None:
            chart0 = nc0 + nv0
            root_rows = np.zeros((chart0, celldata.shape[1]), np.int64)
            root_rows[:nc0] = celldata
            root_rows[nc0:, 0] = np.arange(nv0)
            nchart = self.dm.getChart()[1]
            leaf = _sf_bcast(migration, root_rows, nchart)
            migration.destroy()
            celldata = leaf[cs:ce]
            vorig = leaf[vs:ve, 0].copy()
        else:
            vorig = np.arange(nv0, dtype=np.int64)
        X = self.dm.getCoordinatesLocal().getArray().reshape(-1, self.dim)
        self.coordinates = np.array(X, dtype=float)
        self.node_original = vorig
        self.cell_original = celldata[:, 0].copy()
        conn_orig = celldata[:, 1:1 + npc]
        sorter = np.argsort(vorig)
        self.cells = sorter[np.searchsorted(vorig, conn_orig, sorter=sorter)].astype(np.int32)
        if not np.array_equal(vorig[self.cells], conn_orig):
            raise RuntimeError("mesh migration lost a vertex: cell data and DMPlex disagree")
        face_tags = celldata[:, 1 + npc:1 + npc + nfc]
        self.cell_tags = celldata[:, -1].copy()
        self._number_nodes(vs, ve)
        # local boundary facets: a boundary facet has one cell, hence lives on one rank
        ci, fi = np.nonzero(face_tags)
        if len(ci):
            fv = np.array(ref.faces)[fi]  # [nf, npf]
            self.facets = np.take_along_axis(self.cells[ci], fv, axis=1).astype(np.int32)
        else:
            self.facets = np.zeros((0, len(ref.faces[0]) if ref.faces else 1), np.int32)
        self.facet_tags = face_tags[ci, fi]
        self.facet_cells = ci.astype(np.int32)
        # global cell numbers: contiguous per rank
        ncell = len(self.cells)
        off = comm.exscan(ncell) or 0
        self.cell_global = off + np.arange(ncell, dtype=np.int64)
        self.n_global_cells = comm.allreduce(ncell)
        self._tree = None

    # ------------------------------------------------------------------ construction
    @classmethod
    def box(cls, comm: MPI.Comm, n: Sequence[int], lower: Sequence[float] | None = None,
            upper: Sequence[float] | None = None, simplex: bool = True,
            mapping: Callable[[np.ndarray], np.ndarray] | None = None, diagonal: str = "right") -> "Mesh":
        """Box mesh of ``n`` = (nx[, ny[, nz]]) cells: intervals, triangles/tets or quads/hexes.

        ``mapping(X [nv, dim]) -> [nv, dim]`` moves the vertices (e.g. grading) before
        distribution. Boundary names: ``xmin xmax ymin ymax zmin zmax`` (also
        ``left right bottom top back front``).
        """
        data = None
        if comm.Get_rank() == 0:
            data = meshgen.box(n, lower, upper, simplex=simplex, diagonal=diagonal)
            if mapping is not None:
                data.coordinates = np.ascontiguousarray(mapping(data.coordinates), dtype=float)
        return cls(comm, data)

    @classmethod
    def graded_box(cls, comm: MPI.Comm, n: Sequence[int], lower: Sequence[float], upper: Sequence[float],
                   fine_lower: Sequence[float], fine_upper: Sequence[float], ratio: float,
                   simplex: bool = True, transition: float | None = None) -> "Mesh":
        """Box mesh ``ratio`` times finer inside [fine_lower, fine_upper] (see :func:`.meshgen.graded_box`)."""
        data = None
        if comm.Get_rank() == 0:
            data = meshgen.graded_box(n, lower, upper, fine_lower, fine_upper, ratio, simplex, transition)
        return cls(comm, data)

    @classmethod
    def from_gmsh(cls, comm: MPI.Comm, path: str, dim: int | None = None) -> "Mesh":
        """Read a Gmsh ``.msh`` on rank 0 and distribute it; physical groups of facets are
        the boundary names, physical groups of cells the ``cell_names``."""
        data = None
        err = None
        if comm.Get_rank() == 0:
            try:
                data = meshgen.read_gmsh(path, dim)
            except ConfigError as exc:
                err = str(exc)
        err = comm.bcast(err, root=0)
        if err is not None:
            raise ConfigError(err)
        return cls(comm, data)

    def _number_nodes(self, vs: int, ve: int) -> None:
        comm = self.comm
        nv = ve - vs
        owned = np.ones(nv, dtype=bool)
        psf = self.dm.getPointSF()
        ilocal = psf.getGraph()[1] if comm.Get_size() > 1 else None
        if ilocal is not None and len(ilocal):
            il = np.asarray(ilocal)
            il = il[(il >= vs) & (il < ve)]
            owned[il - vs] = False
        n_owned = int(owned.sum())
        start = comm.exscan(n_owned) or 0
        gid = np.full(nv, -1, dtype=np.int64)
        gid[owned] = start + np.arange(n_owned)
        if comm.Get_size() > 1:
            nchart = self.dm.getChart()[1]
            rows = np.full((nchart, 1), -1, dtype=np.int64)
            rows[vs:ve, 0] = gid
            leaf = _sf_bcast(psf, rows, nchart)
            ghost = ~owned
            gid[ghost] = leaf[vs:ve, 0][ghost]
        if (gid < 0).any():
            raise RuntimeError("a ghost vertex received no global number from its owner")
        self.node_global = gid
        self.owned = owned
        self.n_owned = n_owned
        self.node_range = (start, start + n_owned)
        self.n_global_nodes = comm.allreduce(n_owned)
        self.owned_nodes = np.nonzero(owned)[0].astype(np.int32)  # gid increasing with local index

    # ------------------------------------------------------------------ basic info
    @property
    def n_nodes(self) -> int:
        """Local nodes (owned + ghost)."""
        return len(self.coordinates)

    @property
    def n_cells(self) -> int:
        return len(self.cells)

    @property
    def nodes_per_cell(self) -> int:
        return self.reference.n_vertices

    def boundary_tag(self, name: str | int) -> int:
        """The integer tag of boundary *name* (a name from ``boundary_names`` or an int tag)."""
        if isinstance(name, (int, np.integer)):
            return int(name)
        try:
            return int(self.boundary_names[name])
        except KeyError:
            raise ConfigError(f"no boundary called {name!r}; this mesh has {sorted(self.boundary_names)}") from None

    def boundary_facets(self, name: str | int | Sequence) -> np.ndarray:
        """Local facets [nf, npf] (local node indices) on boundary *name* (or a list of names)."""
        names = [name] if isinstance(name, (str, int, np.integer)) else list(name)
        tags = [self.boundary_tag(n) for n in names]
        return self.facets[np.isin(self.facet_tags, tags)]

    def boundary_node_mask(self, name: str | int | Sequence) -> np.ndarray:
        """Local nodes [n_nodes] bool lying on a local facet of boundary *name*.

        Not collective; a node on the boundary may be marked only on the rank owning the
        facet, so use :meth:`~.space.FunctionSpace.owned_node_mask` to build constraints.
        """
        m = np.zeros(self.n_nodes, dtype=bool)
        m[self.boundary_facets(name).ravel()] = True
        return m

    def cell_coordinates(self) -> np.ndarray:
        """Vertex coordinates of every local cell: [n_cells, npc, dim]."""
        return self.coordinates[self.cells]

    def cell_centroids(self) -> np.ndarray:
        """[n_cells, dim] centroids (vertex averages)."""
        return self.cell_coordinates().mean(axis=1)

    def cell_volumes(self) -> np.ndarray:
        """[n_cells] cell measures (length, area or volume)."""
        _, detw = self.geometry(degree=2)
        return detw.sum(axis=1)

    # ------------------------------------------------------------------ geometry
    def geometry(self, degree: int = 2) -> tuple[np.ndarray, np.ndarray]:
        """Physical shape-function gradients and weighted Jacobians at quadrature points.

        Returns ``G`` [n_cells, nq, npc, dim] (dN/dx) and ``wdet`` [n_cells, nq]
        (quadrature weight × |det J|), so ∫_cell f ≈ Σ_q wdet[c, q] f(x_q). Points and
        weights are those of :func:`.reference.quadrature` (``degree`` ≤ 1: one point on simplices).
        """
        ref = self.reference
        points, weights = quadrature(self.cell_type, degree)
        nq = len(points)
        dN = ref.shape_grad(points)  # [nq, npc, dim]
        Xc = self.cell_coordinates()  # [nc, npc, dim]
        if ref.simplex:  # affine: one Jacobian per cell, J[:, :, k] = X_{k+1} - X_0
            G1, det = _simplex_gradients(Xc)
            G = np.broadcast_to(G1[:, None], (len(Xc), nq) + G1.shape[1:])
            wdet = np.abs(det)[:, None] * weights[None, :]
            return G, wdet
        J = np.einsum("cad,qak->cqdk", Xc, dN)  # [nc, nq, dim, dim]
        det, inv = _det_inv(J)
        if np.any(det <= 0):
            raise ConfigError("a Q1 cell is inverted or its vertices are not in counter-clockwise order")
        G = np.einsum("qak,cqkd->cqad", dN, inv)
        return G, det * weights[None, :]

    def quadrature_points(self, degree: int = 2) -> np.ndarray:
        """Physical quadrature points [n_cells, nq, dim] matching :meth:`geometry`."""
        pts, _ = quadrature(self.cell_type, degree)
        N = self.reference.shape(pts)  # [nq, npc]
        return np.einsum("qa,cad->cqd", N, self.cell_coordinates())

    # ------------------------------------------------------------------ point location
    def locate(self, points: np.ndarray, tol: float = 1e-10) -> tuple[np.ndarray, np.ndarray]:
        """Local cell containing each point, and the shape functions there.

        Parameters
        ----------
        points : [m, dim] physical coordinates.
        tol : tolerance in reference coordinates (points on a shared face pick one cell).

        Returns
        -------
        cells : [m] int64, local cell index or −1 when no local cell contains the point.
        N : [m, npc] float64, shape-function values N_a(x) (zero rows where cells == −1);
            u(x) = Σ_a N[p, a] u[cells_nodes[cells[p], a]].
        """
        points = np.asarray(points, dtype=float).reshape(-1, self.dim)
        m = len(points)
        npc = self.nodes_per_cell
        out_c = np.full(m, -1, dtype=np.int64)
        out_N = np.zeros((m, npc))
        if m == 0 or self.n_cells == 0:
            return out_c, out_N
        if self._tree is None:
            self._tree = _BinGrid(self.cell_coordinates())
        pid, cand = self._tree.candidates(points, tol=1e-9)
        xi = self._inverse_map(points[pid], cand)  # [t, dim]
        inside = self.reference.contains(xi, tol)
        pid, cand, xi = pid[inside], cand[inside], xi[inside]
        # several cells (shared faces): keep the lowest cell index for each point
        order = np.lexsort((cand, pid))
        pid, cand, xi = pid[order], cand[order], xi[order]
        first = np.ones(len(pid), dtype=bool)
        first[1:] = pid[1:] != pid[:-1]
        out_c[pid[first]] = cand[first]
        out_N[pid[first]] = self.reference.shape(xi[first])
        return out_c, out_N

    def _inverse_map(self, x: np.ndarray, cand: np.ndarray) -> np.ndarray:
        """Reference coordinates [t, dim] of points x [t, dim] in cells cand [t]."""
        ref = self.reference
        if len(cand) == 0:
            return np.zeros((0, self.dim))
        if ref.simplex:
            if getattr(self, "_affine_inv", None) is None:
                Xc = self.cell_coordinates()
                J = (Xc[:, 1:, :] - Xc[:, :1, :]).transpose(0, 2, 1)  # columns = edges
                self._affine_inv = (_det_inv(J)[1], Xc[:, 0, :].copy())
            inv, x0 = self._affine_inv
            return np.einsum("tij,tj->ti", inv[cand], x - x0[cand])
        Xc = self.coordinates[self.cells[cand]]  # [t, npc, dim]
        xi = np.full((len(cand), self.dim), 0.5)
        active = np.arange(len(cand))
        for _ in range(30):
            xa, Xa = xi[active], Xc[active]
            r = np.einsum("ta,tad->td", ref.shape(xa), Xa) - x[active]
            J = np.einsum("tad,tae->tde", Xa, ref.shape_grad(xa))
            dxi = np.linalg.solve(J, r[..., None])[..., 0]
            xi[active] = np.clip(xa - dxi, -1.0, 2.0)
            active = active[np.abs(dxi).max(axis=1) > 1e-14]
            if len(active) == 0:
                break
        return xi

    # ------------------------------------------------------------------ output
    def output_topology(self) -> dict:
        """Arrays for a writer (e.g. mscouple.io XDMF), this rank's part.

        Returns a dict: ``coordinates`` [n_owned, dim] of the owned nodes in global order,
        ``global_ids`` [n_owned] int64 (``node_range[0] + k``), ``cells`` [n_cells, npc]
        int64 global node numbers, ``cell_type`` str, ``n_global_nodes``, ``n_global_cells``.
        """
        return {
            "coordinates": self.coordinates[self.owned_nodes],
            "global_ids": self.node_global[self.owned_nodes],
            "cells": self.node_global[self.cells],
            "cell_type": self.cell_type,
            "n_global_nodes": self.n_global_nodes,
            "n_global_cells": self.n_global_cells,
        }

    def destroy(self) -> None:
        """Free the DMPlex (collective)."""
        if self.dm is not None:
            self.dm.destroy()
            self.dm = None


def _simplex_gradients(Xc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """P1 gradients [nc, d+1, d] and Jacobian determinants [nc] from vertices [nc, d+1, d].

    Row k+1 of the gradient array is row k of J⁻¹ (J[:, :, k] = X_{k+1} − X_0), row 0 minus
    their sum; closed-form cofactors, computed per component on contiguous [nc] vectors.
    """
    nc, npc, d = Xc.shape
    E = [[np.ascontiguousarray(Xc[:, k + 1, i] - Xc[:, 0, i]) for k in range(d)] for i in range(d)]  # E[i][k] = J_ik
    G = np.empty((nc, npc, d))
    if d == 1:
        det = E[0][0]
        G[:, 1, 0] = 1.0 / det
    elif d == 2:
        a, b, c, e = E[0][0], E[0][1], E[1][0], E[1][1]
        det = a * e - b * c
        r = 1.0 / det
        G[:, 1, 0], G[:, 1, 1] = e * r, -b * r
        G[:, 2, 0], G[:, 2, 1] = -c * r, a * r
    else:
        J = E
        cof = [[J[(j + 1) % 3][(i + 1) % 3] * J[(j + 2) % 3][(i + 2) % 3]
                - J[(j + 1) % 3][(i + 2) % 3] * J[(j + 2) % 3][(i + 1) % 3] for j in range(3)] for i in range(3)]
        det = J[0][0] * cof[0][0] + J[1][0] * cof[0][1] + J[2][0] * cof[0][2]
        r = 1.0 / det
        for i in range(3):  # (J^{-1})_{ij} = cof[i][j] / det
            for j in range(3):
                G[:, i + 1, j] = cof[i][j] * r
    G[:, 0, :] = -G[:, 1:, :].sum(axis=1)
    return G, det


def _det_inv(J: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Determinants [...] and inverses [..., d, d] of small matrices, closed form for d ≤ 3."""
    d = J.shape[-1]
    if d == 1:
        det = J[..., 0, 0]
        return det, (1.0 / det)[..., None, None]
    if d == 2:
        a, b, c, e = J[..., 0, 0], J[..., 0, 1], J[..., 1, 0], J[..., 1, 1]
        det = a * e - b * c
        inv = np.stack([np.stack([e, -b], -1), np.stack([-c, a], -1)], -2) / det[..., None, None]
        return det, inv
    det = np.linalg.det(J)
    return det, np.linalg.inv(J)


class _BinGrid:
    """Uniform bins over the local cells' bounding box; each cell is listed in every bin its
    bounding box overlaps (bin size ≈ the median cell extent). Vectorised build and query."""

    def __init__(self, Xc: np.ndarray):
        self.lo_c = Xc.min(axis=1)
        self.hi_c = Xc.max(axis=1)
        d = Xc.shape[2]
        self.origin = self.lo_c.min(axis=0)
        span = np.maximum(self.hi_c.max(axis=0) - self.origin, 1e-300)
        h = np.maximum(np.median(self.hi_c - self.lo_c, axis=0), span * 1e-6)
        nb = np.maximum(1, np.ceil(span / h)).astype(np.int64)
        while np.prod(nb) > 8 * len(Xc) + 64:  # cap the number of bins
            nb = np.maximum(1, nb // 2)
        self.nb = nb
        self.h = span / nb
        i0 = self._bin(self.lo_c)
        i1 = self._bin(self.hi_c)
        ext = i1 - i0 + 1  # [nc, d]
        count = np.prod(ext, axis=1)
        cell = np.repeat(np.arange(len(Xc)), count)
        t = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)  # local index in the cell's box
        flat = np.zeros(len(cell), dtype=np.int64)
        stride = 1
        for k in range(d):
            e = ext[cell, k]
            flat += (i0[cell, k] + t % e) * stride
            t = t // e
            stride *= nb[k]
        order = np.argsort(flat, kind="stable")
        self.cells = cell[order]
        self.start = np.zeros(np.prod(nb) + 1, dtype=np.int64)
        np.cumsum(np.bincount(flat, minlength=np.prod(nb)), out=self.start[1:])

    def _bin(self, X: np.ndarray) -> np.ndarray:
        return np.clip(np.floor((X - self.origin) / self.h).astype(np.int64), 0, self.nb - 1)

    def candidates(self, points: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray]:
        """(point index, cell) pairs whose cell bounding box holds the point (with tolerance)."""
        d = points.shape[1]
        ib = self._bin(points)
        flat = np.zeros(len(points), dtype=np.int64)
        stride = 1
        for k in range(d):
            flat += ib[:, k] * stride
            stride *= self.nb[k]
        s, e = self.start[flat], self.start[flat + 1]
        cnt = e - s
        pid = np.repeat(np.arange(len(points)), cnt)
        pos = np.arange(cnt.sum()) - np.repeat(np.cumsum(cnt) - cnt, cnt) + np.repeat(s, cnt)
        cand = self.cells[pos]
        scale = tol * (1.0 + np.abs(points[pid]))
        ok = np.all((points[pid] >= self.lo_c[cand] - scale) & (points[pid] <= self.hi_c[cand] + scale), axis=1)
        return pid[ok], cand[ok]
