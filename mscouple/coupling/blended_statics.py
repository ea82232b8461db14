"""Energy-based blended statics (BQCE-like): one energy functional over both scales, minimised.

Alternating Schwarz (:mod:`mscouple.coupling.schwarz`) solves each model's equilibrium in turn
and has no common energy: the ledger of both scales under the partition of unity w (atoms'
share, 0 in the pad, linear across the overlap, 1 in the core) does not close. This module
minimises that very partition's energy instead (Van Koten & Luskin, SINUM 49 (2011) 2182,
blended quasicontinuum energy; Xiao & Belytschko, CMAME 193 (2004) 1645, the blending)::

    Π(x_F, u) = Σ_i w_i e_i(x) + ½ uᵀ K_{1−w} u − f_extᵀ u + E_indenter(x),

* ``Σ_i w_i e_i``: the patch potential with per-atom energy weights w_i
  (:attr:`MDSystem.energy_weight`: a pair i–j weighted (w_i + w_j)/2, an EAM embedding
  F(ρ_i) by w_i, i.e. exactly Σ_i w_i e_i with the unweighted per-atom energies e_i; the
  forces are its exact gradient), w = :meth:`SchwarzRegions.atom_weight`;
* ``K_{1−w}``: the continuum stiffness with cell weights 1 − w̄_c (:func:`cell_atom_weight`,
  the cell mean of w), i.e. Σ_c (1 − w̄_c) E_c(u);
* the *slaved atoms* S = {w_i < 1} (overlap and pad) follow the continuum,
  x_i = X_i + Σ_a N_a(X_i) u_a (P1 interpolation, an
  :class:`~mscouple.coupling.exchange.InterfaceExchange`); the free atoms F (w = 1, the core)
  are relaxed by FIRE with S fixed.

The reduced functional Π̂(u) = min_{x_F} Π has, by the envelope theorem, the gradient

    g(u) = K_{1−w} u − f_ext − Nᵀ f_S,   f_S = −∂(Σ w e + E_indenter)/∂x_S at the relaxed x_F,

(free continuum dofs; Nᵀ sums N_a(X_i) f_i over the slaved atoms of every patch rank). The
iteration is the preconditioned fixed point u ← u − K⁻¹ g(u) with K the full (unweighted)
Cauchy–Born stiffness under the outer Dirichlet conditions: where the atoms behave like
Cauchy–Born, K restricted to the dofs Π̂ depends on is its Hessian (the core's nodes condensed),
so K⁻¹ is a Newton step of the linear part. K is factorised once (LU / MUMPS with
``direct``); the map is accelerated by IQN-ILS (Anderson mixing, the same secant model as
:class:`SchwarzStatics`, every evaluation exact). Converged when the step K⁻¹ g moves no
slaved atom (N K⁻¹ g) and no node outside the patch by more than ``tol`` and the relaxation
reached ``fmax`` (the nodes inside the patch act on Π only through the slaved atoms; those at
the core's edge are barely determined by it: :meth:`BlendedStatics._step_size`); the state kept
is the one the last gradient was evaluated at (the slaved atoms exactly at N u).

At the minimiser of every increment of a loading path, d(Σ w e + E_c,w + E_indenter) = P dd,
so the ledger of both scales (``ledger_residual`` of :mod:`mscouple.run.indentation`, with its
definition unchanged) closes to the relaxation tolerance and the quadrature of the indenter's
work. The reference state is not force-free (the blended energy's ghost forces near the
overlap, the surface): the first solve of a loading path (depth 0) relaxes both scales, and the
ledger is measured from it.

The patch carries the weights only inside :meth:`solve` (and :meth:`residuals`): outside, the
system is unweighted, so per-atom energies, frames and the ledger's Σ w_i e_i see the plain
potential. Everything in :meth:`solve` is collective over both groups, like
:class:`SchwarzStatics`, whose intercommunicator helpers, IQN update, affine predictor and
relaxation this class reuses.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
from mpi4py import MPI

from ..errors import ConfigError, ConvergenceError
from .exchange import InterfaceExchange
from .schwarz import (SchwarzResult, SchwarzStatics, _bbox_inside, _bbox_overlaps, _Link,
                      cell_atom_weight)

__all__ = ["BlendedStatics"]


class BlendedStatics(SchwarzStatics):
    """Blended-energy statics between an :class:`~mscouple.continuum.ElasticStatics`
    (continuum comm) and one or several :class:`~mscouple.atomistic.system.MDSystem` patches
    (module docstring). The constructor's arguments are those of :class:`SchwarzStatics`
    (``regions``, ``statics``, ``system``, ``intercomm``, ``tol``, ``max_iter``, ``fmax``,
    ``relax``, ``relax_options``, ``direct``, ``rtol``, ``iqn_columns``, ``iqn_omega0``,
    ``predict``) less the Schwarz-only ones; ``cell_points``: the quadrature points of the
    cell means w̄_c (:func:`cell_atom_weight`). ``statics`` is passed before its setup, with
    its outer Dirichlet conditions and loads; a nonlinear continuum is refused."""

    def __init__(self, regions, *, statics=None, system=None, intercomm=None,
                 tol: float = 1e-8, max_iter: int = 200, fmax: float = 1e-8, relax: str = "fire",
                 relax_options: Optional[dict] = None, direct: bool = False, rtol: float = 1e-12,
                 iqn_columns: int = 20, iqn_omega0: float = 1.0, predict: bool = True,
                 cell_points: int = 128):
        self._bind(regions, statics, system, intercomm, tol=tol, max_iter=max_iter, fmax=fmax, relax=relax,
                   relax_options=relax_options, direct=direct, rtol=rtol, form="blended")
        self.acceleration, self.aitken, self.relax_reduction = "iqn", False, 0.0
        self.iqn_columns, self.iqn_omega0 = max(1, int(iqn_columns)), float(iqn_omega0)
        self.predict = bool(predict)
        self.cell_points = int(cell_points)
        self.u = None
        self._gmax = np.inf
        if statics is not None:
            self._continuum_setup()
        if system is not None:
            self._patch_setup()
        for k in self.links:
            self._build_exchanges(k)

    # ------------------------------------------------------------------ continuum side
    def _continuum_setup(self) -> None:
        from ..continuum.assembly import MatrixAssembler
        from ..continuum.elasticity import stiffness_soa

        st = self.statics
        sp, mesh = st.space, st.space.mesh
        if hasattr(st, "solve_prescribed"):
            raise ConfigError("blended statics needs a linear elastic continuum (the dislocation-density "
                              "continuum runs with Schwarz statics)")
        self._check_continuum("blended", "sets it up itself")
        X = mesh.coordinates
        cx = X[mesh.cells]
        for k in self.links:
            R = k.regions
            if mesh.dim != R.dim:
                raise ConfigError(f"the regions are {R.dim}D, the mesh {mesh.dim}D")
            tol = 1e-9 * R.scale
            bmin, bmax = cx.min(axis=1) - tol, cx.max(axis=1) + tol
            # cells that may hold a slaved atom (w < 1: the patch box less its core)
            k.pad_cells = np.flatnonzero(_bbox_overlaps(bmin, bmax, R.patch_lo - tol, R.patch_hi + tol)
                                         & ~_bbox_inside(bmin, bmax, R.core_lo + tol, R.core_hi - tol))
        # the continuum's share of the energy: cell weights 1 − w̄_c
        wa = cell_atom_weight(cx[:, :, :mesh.dim], [k.regions for k in self.links], points=self.cell_points)
        self.cell_atom_weight = wa
        blocks = stiffness_soa(sp, st.materials, st.cell_material, (1.0 - wa) * st.cell_weight, st.mode)
        self.Kw = MatrixAssembler(sp).assemble(blocks)
        self._setup_solver(direct=self.direct)
        pos, val = self._merged()
        self.u = sp.create_vec()
        self.u.set(0.0)
        self.u.getArray()[pos] = val  # the outer Dirichlet values, kept by every step
        self.u.stateIncrease()
        self._t, self._b, self._du = sp.create_vec(), sp.create_vec(), sp.create_vec()
        free = np.ones(sp.n_owned_dofs, dtype=bool)
        free[pos] = False
        self._free_dofs = free
        # free dofs of the nodes outside every patch box: the step is measured there directly,
        # inside through the slaved atoms it moves (_step_size)
        tol = 1e-9 * max(k.regions.scale for k in self.links)
        outside = sp.region_mask(lambda Y: np.all([k.regions.patch_distance(Y) > tol for k in self.links], axis=0))
        self._far_dofs = free & np.repeat(outside, sp.ncomp)
        self._dir_pos = pos
        self._iqn_reset()

    def _iqn_reset(self) -> None:
        # every evaluation of the map is exact (relaxed atoms at the current u): the first
        # one enters the secant model too
        self._iqn_prev, self._iqn_V, self._iqn_W = None, [], []
        self._iqn_first = False

    def _gradient(self, f_slaved: list) -> np.ndarray:
        """g = K_{1−w} u − f_ext − Σ_patches Nᵀ f_S [n_owned_dofs] (0 on Dirichlet dofs)."""
        st, sp = self.statics, self.statics.space
        t = self._t
        self.Kw.mult(self.u, t)
        t.axpy(-1.0, st.f_applied)
        part = sum(k.ex_slave.transfer.restrict(f) for k, f in zip(self.links, f_slaved))
        vec = sp.add_local(np.asarray(part, dtype=float))
        g = t.getArray() - vec.getArray()
        vec.destroy()
        g[self._dir_pos] = 0.0
        return g

    def _precondition(self, g: np.ndarray) -> np.ndarray:
        """δ = −K⁻¹ g with δ = 0 on the Dirichlet dofs (the factorised full stiffness)."""
        b = self._b
        arr = b.getArray()
        arr[:] = -g
        arr[self._dir_pos] = 0.0
        b.stateIncrease()
        self.statics.solver.solve(b, self._du)
        return np.array(self._du.getArray())

    def _continuum_step(self, f_slaved: list) -> float:
        """Gradient at the current u, the preconditioned step, its size (returned; collective on
        the continuum comm); the IQN update is kept in ``self._u_next``."""
        st = self.statics
        g = self._gradient(f_slaved)
        self._gmax = float(st.comm.allreduce(float(np.max(np.abs(g), initial=0.0)), op=MPI.MAX))
        d = self._precondition(g)
        free = self._free_dofs
        change = self._step_size(d)
        x = self.u.getArray()[free].copy()
        self._u_next = self._iqn_update(x, x + d[free], d[free])
        return change

    def _step_size(self, d: np.ndarray) -> float:
        """How far the step d = −K⁻¹g moves what Π depends on (collective on the continuum comm):
        max over the slaved atoms of |N d| and over the free dofs outside the patch boxes of |d|.
        Inside a patch box a node acts on Π only through the slaved atoms near it (the core's
        cells carry no continuum energy): the nodes inside the core get just the Cauchy–Born
        extension of the step, and those at its edge, whose cells hold few slaved atoms and
        little continuum weight, are barely determined by Π: measured at the nodes, the step
        stalled just above the tolerance while the slaved atoms had stopped moving (the
        nanoindentation savings run: 14–23 iterations per increment, 7–8 with this measure;
        examples/nanoindentation/README.md, "Blended statics")."""
        sp = self.statics.space
        vec = sp.create_vec()
        vec.getArray()[:] = d
        vec.stateIncrease()
        d_loc = sp.to_local(vec)
        vec.destroy()
        moved = max(float(np.max(np.abs(k.ex_slave.transfer.interpolate(d_loc)), initial=0.0)) for k in self.links)
        moved = max(moved, float(np.max(np.abs(d[self._far_dofs]), initial=0.0)))
        return float(self.statics.comm.allreduce(moved, op=MPI.MAX))

    def _interpolate_slaved(self) -> list:
        u_loc = self.statics.space.to_local(self.u)
        return [np.asarray(k.ex_slave.transfer.interpolate(u_loc)) for k in self.links]

    # ------------------------------------------------------------------ patch side
    def _patch_setup(self) -> None:
        X0 = self._check_patch("the overlap's atoms")
        s = self.system
        s.fixed[:] = np.where(self.regions.atom_weight(X0) < 1.0, 1, s.fixed)

    def _slaved(self) -> np.ndarray:
        """Local indices of the slaved atoms (w < 1)."""
        s = self.system
        return np.flatnonzero(self.regions.atom_weight(s.x0[:, :self.dim]) < 1.0)

    def _weights(self, on: bool) -> None:
        """Energy weights w (on) or 1 (off, forces and energies re-evaluated unweighted)."""
        s = self.system
        s.energy_weight[:] = self.regions.atom_weight(s.x0[:, :self.dim]) if on else 1.0
        s.invalidate_neighbors()  # ghosts carry the weights: a rebuild sends them
        s.compute_forces(energy=not on, virial=not on)

    def _migrated(self) -> bool:
        if self.system is None:
            return False
        return bool(np.any(~np.isin(self.links[0].slave_ids, self.system.ids)))

    def _build_exchanges(self, k: _Link) -> None:
        d = self.dim
        if self.system is not None:
            s = self.system
            sl = self._slaved()
            k.slave_ids = s.ids[sl].copy()
            X = s.x0[sl, :d]
        if self.statics is not None:
            mesh = self.statics.space.mesh
            nodes, cells = mesh.coordinates, mesh.cells[k.pad_cells]
        if k.intercomm is None:
            k.ex_slave = InterfaceExchange.local(k.slave_ids, X, nodes, cells, "P1")
        elif self.system is not None:
            k.ex_slave = InterfaceExchange.setup(k.intercomm, "patch", ids=k.slave_ids, reference=X, dim=d)
        else:
            k.ex_slave = InterfaceExchange.setup(k.intercomm, "continuum", nodes=nodes, cells=cells, kind="P1", dim=d)
        k.ex_pad = k.ex_slave  # the prescribed atoms' exchange, under Schwarz's name

    def _place_slaved(self, u_s: np.ndarray) -> np.ndarray:
        s, d = self.system, self.dim
        rows = self._rows(self.links[0].slave_ids)
        if self.predict:
            self._predict_free(rows, u_s)
        L = s.box.lengths[:d]
        s.x[rows, :d] = s.x0[rows, :d] + u_s - s.image[rows, :d] * L
        s.v[rows] = 0.0
        s.invalidate_neighbors()
        return rows

    # ------------------------------------------------------------------ the iteration
    def solve(self) -> SchwarzResult:
        """Minimise Π (collective over both groups). Raises :class:`ConvergenceError` (on every
        rank) if ``max_iter`` is reached or a relaxation fails; the state of both models is the
        last evaluated iterate (slaved atoms at N u, free atoms relaxed)."""
        d = self.dim
        history, steps = [], []
        if self.statics is not None:
            self._iqn_reset()
        if self.system is not None:
            self._weights(True)
        try:
            for it in range(1, self.max_iter + 1):
                for k in self.links:
                    if self._status(1 if self._migrated() else 0, k) == 1:
                        self._build_exchanges(k)
                vals = self._interpolate_slaved() if self.statics is not None else [None] * len(self.links)
                u_s = [k.ex_slave.to_patch(v, ncomp=d) for k, v in zip(self.links, vals)]
                code, f_s = 0, None
                if self.system is not None:
                    self._place_slaved(u_s[0])
                    n, ok, _ = self._relax()
                    steps.append(n)
                    code = 0 if ok else 2
                    s = self.system
                    s.compute_forces(energy=False, virial=False)
                    f_s = np.array(s.f[self._rows(self.links[0].slave_ids), :d])
                f_got = [k.ex_slave.to_continuum(f_s, ncomp=d) for k in self.links]
                change = 0.0
                if self.statics is not None:
                    change = self._continuum_step(f_got)
                change = max(self._from_continuum(change, k) for k in self.links)
                code = self._from_patches(code) if self.statics is not None else self._status(code)
                code = int(max(self._from_continuum(code, k) for k in self.links))
                history.append(change)
                if code == 2:
                    raise ConvergenceError(f"the atomistic relaxation did not reach max|f| < {self.fmax:g} in a "
                                           "blended-statics iteration: raise relax_options['max_steps'] or "
                                           "loosen fmax")
                if change <= self.tol:
                    return SchwarzResult(True, it, history, steps)
                if self.statics is not None:
                    arr = self.u.getArray()
                    arr[self._free_dofs] = self._u_next
                    self.u.stateIncrease()
            raise ConvergenceError(
                f"blended statics did not converge in {self.max_iter} iterations: the last step "
                f"K⁻¹g moved the slaved atoms or the nodes outside the patch by {history[-1]:.3g} > tol "
                f"{self.tol:g} (first {history[0]:.3g}); raise max_iter or loosen tol")
        finally:
            if self.system is not None:
                self._weights(False)

    # ------------------------------------------------------------------ diagnostics
    def continuum_residual(self) -> float:
        """max over free dofs of |g| = |K_{1−w} u − f_ext − Nᵀ f_S| at the last evaluation
        (force units; the reduced functional's gradient)."""
        return float(self._gmax)

    def atom_residual(self) -> float:
        """max over free atoms of |f| under the weighted potential (collective on the patch
        comm): the free atoms' part of ∇Π."""
        self._weights(True)
        try:
            s = self.system
            f = s.f[s.fixed == 0]
            loc = float(np.sqrt((f * f).sum(axis=1).max())) if len(f) else 0.0
            return float(s.comm.allreduce(loc, op=MPI.MAX))
        finally:
            self._weights(False)

    def energy(self) -> float:
        """½ uᵀ K_{1−w} u − f_extᵀ u, the continuum's part of Π (collective on the continuum comm)."""
        st = self.statics
        self.Kw.mult(self.u, self._t)
        return float(0.5 * self._t.dot(self.u) - st.f_applied.dot(self.u))

    def destroy(self) -> None:
        for v in (self.u, getattr(self, "_t", None), getattr(self, "_b", None), getattr(self, "_du", None),
                  getattr(self, "Kw", None)):
            if v is not None:
                v.destroy()
