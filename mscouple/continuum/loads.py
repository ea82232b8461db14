"""Load vectors and boundary conditions shared by the elasticity and heat problems.

- :func:`body_load` — ∫ N_a f(x) dx (body force density, volumetric heat source);
- :func:`boundary_load` — ∫_Γ N_a t(x) dS on a named boundary (traction, heat flux);
- :class:`DirichletBC` — prescribed values on owned dofs selected by boundary name,
  region predicate or node mask; values may change every step (:meth:`DirichletBC.set`).
"""
from __future__ import annotations

from typing import Callable, Sequence, Union

import numpy as np
from petsc4py import PETSc

from mscouple.errors import ConfigError

from .assembly import assemble_vector
from .reference import quadrature, reference_cell
from .space import FunctionSpace

Value = Union[float, Sequence[float], np.ndarray, Callable[[np.ndarray], np.ndarray]]


def _values_at(value: Value, X: np.ndarray, ncomp: int) -> np.ndarray:
    """Evaluate a constant / per-component / callable value at points X [..., dim] → [..., ncomp]."""
    shape = X.shape[:-1]
    if callable(value):
        v = np.asarray(value(X.reshape(-1, X.shape[-1])), dtype=float)
        return v.reshape(shape + (ncomp,))
    v = np.asarray(value, dtype=float)
    if v.size not in (1, ncomp):
        raise ConfigError(f"value {value!r} must be a scalar or have {ncomp} components")
    return np.broadcast_to(v.reshape(-1) if v.size == ncomp else v.reshape(1), shape + (ncomp,)).copy()


def body_load(space: FunctionSpace, f: Value, degree: int = 2, cell_weight: np.ndarray | None = None,
              vec: PETSc.Vec | None = None) -> PETSc.Vec:
    """Global vector of ∫ w N_a f dx; f constant, [ncomp] or ``f(X [n, dim]) -> [n, ncomp]``."""
    mesh = space.mesh
    _, wdet = mesh.geometry(degree)
    pts, _ = quadrature(mesh.cell_type, degree)
    N = mesh.reference.shape(pts)  # [nq, npc]
    fq = _values_at(f, mesh.quadrature_points(degree), space.ncomp)  # [nc, nq, ncomp]
    if cell_weight is not None:
        wdet = wdet * np.asarray(cell_weight)[:, None]
    Fe = np.einsum("cq,qa,cqk->cak", wdet, N, fq)
    return assemble_vector(space, Fe, vec)


def boundary_load(space: FunctionSpace, boundary, t: Value, vec: PETSc.Vec | None = None) -> PETSc.Vec:
    """Global vector of ∫_Γ N_a t dS over boundary *boundary* (name, tag or list).

    ``t`` is a traction [ncomp] (force per area; per length in 2D, a point force in 1D) or
    a heat flux into the body, constant or ``t(X [n, dim]) -> [n, ncomp]``.
    """
    mesh = space.mesh
    facets = mesh.boundary_facets(boundary)
    fname = mesh.reference.facet_name
    fref = reference_cell(fname)
    pts, w = quadrature(fname, 2)
    N = fref.shape(pts) if fname != "point" else np.ones((1, 1))
    X = mesh.coordinates[facets]  # [nf, npf, dim]
    if fname == "point":
        meas = np.ones((len(facets), 1))
    else:
        dN = fref.shape_grad(pts)  # [nq, npf, fdim]
        J = np.einsum("fad,qak->fqdk", X, dN)
        meas = np.sqrt(np.abs(np.linalg.det(np.einsum("fqdk,fqdl->fqkl", J, J))))
    xq = np.einsum("qa,fad->fqd", N, X)
    tq = _values_at(t, xq, space.ncomp)  # [nf, nq, nc]
    Fe = np.einsum("q,fq,qa,fqk->fak", w, meas, N, tq)
    local = np.zeros((mesh.n_nodes, space.ncomp))
    for k in range(space.ncomp):
        local[:, k] = np.bincount(facets.ravel(), weights=Fe[:, :, k].ravel(), minlength=mesh.n_nodes)
    return space.add_local(local, vec)


class DirichletBC:
    """Prescribed values u_c = g on owned dofs (collective to create).

    Parameters
    ----------
    space : the space constrained.
    where : boundary name/tag (or a list of them), a predicate ``X [n, dim] -> bool [n]``
        evaluated on owned nodes, or a bool mask over owned nodes [n_owned].
    value : scalar, [ncomp], or ``g(X [n, dim]) -> [n, ncomp]``; see :meth:`set`.
    components : constrained components (default all).
    """

    def __init__(self, space: FunctionSpace, where, value: Value = 0.0,
                 components: Sequence[int] | None = None):
        self.space = space
        mesh = space.mesh
        if callable(where):
            mask = space.region_mask(where)
        elif isinstance(where, np.ndarray) and where.dtype == bool:
            if where.shape != (mesh.n_owned,):
                raise ConfigError(f"Dirichlet node mask must have shape ({mesh.n_owned},), got {where.shape}")
            mask = where
        else:
            mask = space.boundary_mask(where)
        comps = list(range(space.ncomp)) if components is None else [int(c) for c in components]
        if any(c < 0 or c >= space.ncomp for c in comps):
            raise ConfigError(f"components {comps} out of range for a {space.ncomp}-component space")
        self.components = comps
        self.nodes = np.nonzero(mask)[0]  # owned-node positions
        #: positions in the owned dof array (row-major [n_owned, ncomp])
        self.local_dofs = (self.nodes[:, None] * space.ncomp + np.array(comps)[None, :]).ravel()
        self.dofs = (self.local_dofs + space.dof_range[0]).astype(PETSc.IntType)
        self.n_global = space.comm.allreduce(len(self.dofs))
        self.values = np.zeros(len(self.local_dofs))
        self.set(value)

    def set(self, value: Value) -> None:
        """Change the prescribed values (per step if wanted); same forms as the constructor."""
        X = self.space.mesh.coordinates[self.space.mesh.owned_nodes[self.nodes]]
        v = _values_at(value, X, self.space.ncomp)
        self.values = v[:, self.components].ravel()

    def apply_to(self, vec: PETSc.Vec) -> None:
        """Write the prescribed values into *vec*'s owned entries."""
        vec.getArray()[self.local_dofs] = self.values


def merge_bcs(bcs: Sequence[DirichletBC]) -> tuple[np.ndarray, np.ndarray]:
    """Owned local dof positions and values of several conditions (later ones win)."""
    if not bcs:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    pos = np.concatenate([b.local_dofs for b in bcs])
    val = np.concatenate([b.values for b in bcs])
    # keep the last occurrence of each dof
    _, first_rev = np.unique(pos[::-1], return_index=True)
    keep = len(pos) - 1 - first_rev
    return pos[keep], val[keep]
