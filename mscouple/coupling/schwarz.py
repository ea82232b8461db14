"""Alternating Schwarz statics with overlap: quasi-static FE ⇄ MD coupling (DESIGN.md §4).

Geometry (:class:`SchwarzRegions`, boxes in reference coordinates, ∞-norm distances)::

    P  patch box: the atomistic model; its outer layer of width ``pad`` (≥ the potential's
       cutoff) holds the *pad atoms*, whose positions are prescribed from the continuum;
    C  core box = P shrunk by ``pad + overlap``: continuum nodes in C are Dirichlet nodes
       whose displacements come from the atoms; the continuum is solved outside C.
    overlap region = P \\ C: both models exist there.

One Schwarz iteration (Dirichlet–Dirichlet alternating Schwarz; Schwarz 1870, Lions 1988;
for atomistic-to-continuum coupling: Parks, Bochev & Lehoucq, MMS 7 (2008) 362)::

    patch → continuum   displacements of the *fit atoms* (those near ∂C)     [m_fit, dim]
    continuum           u_I of the Dirichlet nodes next to the free continuum (the *layer*):
                        local linear least squares over the atoms in the node's elements,
                        weighted by the hat function N_I(X_α) (exact for linear fields);
                        solve K_FF u_F = f_F − K_FD u_D (CG+GAMG or a direct solver)
    continuum → patch   pad displacements u(X_α) = Σ_I N_I(X_α) u_I                [m_pad, dim]
    patch               relax the free atoms with the pad fixed (FIRE or CG of
                        :mod:`mscouple.atomistic.minimize`) to max|f| < ``fmax``
    stop when the change of the overlap data (pad and layer displacements) < ``tol``.

Every degree of freedom feels the force of exactly one model (the atoms' forces from the
potential, the free nodes' from K): there is no blended energy, hence no ghost force. Under a
homogeneous deformation the perfect-lattice state is a fixed point: free atoms (whose
neighbours are all atoms, pad included) feel zero force by lattice symmetry, the fit and the
P1 interpolation reproduce linear fields exactly, and the FE solution with linear Dirichlet
data is that linear field (the patch test; ``tests/coupling/test_schwarz.py``).

Data move through two :class:`~mscouple.coupling.exchange.InterfaceExchange` objects
(point-to-point over the intercommunicator, O(interface): pad atoms and fit atoms only), or
their ``local`` form when both models live on one rank. Everything in :meth:`SchwarzStatics.solve`
is collective over both groups (each rank passes the model it holds).

Continuum constants from the potential: :func:`cauchy_born_triangular` (lattice sums for the
2D triangular lattice, :mod:`mscouple.hmm.cauchy_born`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Optional

import numpy as np
from mpi4py import MPI

if TYPE_CHECKING:  # the patch half runs on MD ranks, which never import PETSc
    from petsc4py import PETSc

from ..errors import ConfigError, ConvergenceError, SimulationError
from .exchange import InterfaceExchange

__all__ = ["SchwarzRegions", "SchwarzStatics", "SchwarzResult", "cauchy_born_triangular",
           "box_signed_distance", "cell_atom_weight"]


#: IQN-ILS steps of the layer values are at most this many times the fixed-point residual
IQN_STEP_RATIO = 100.0


# ---------------------------------------------------------------------------- geometry
def box_signed_distance(X: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Signed ∞-norm distance of points ``X [n, dim]`` to the boundary of the box [lo, hi]:
    positive outside (distance to the box), negative inside (minus the distance to ∂box)."""
    X = np.asarray(X, dtype=float)
    return np.max(np.maximum(lo - X, X - hi), axis=1)


def _bbox_overlaps(bmin: np.ndarray, bmax: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    return np.all((bmin <= hi) & (bmax >= lo), axis=1)


def _bbox_inside(bmin: np.ndarray, bmax: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    return np.all((bmin > lo) & (bmax < hi), axis=1)


@dataclass(frozen=True)
class SchwarzRegions:
    """Patch box ``[patch_lo, patch_hi]`` (length units, ``dim`` components), pad width and
    overlap width. The core (continuum Dirichlet region) is the patch box shrunk by
    ``pad + overlap``; it must not be empty."""

    patch_lo: np.ndarray
    patch_hi: np.ndarray
    pad: float
    overlap: float
    core_lo: np.ndarray = field(init=False, repr=False)
    core_hi: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        lo = np.asarray(self.patch_lo, dtype=float).reshape(-1)
        hi = np.asarray(self.patch_hi, dtype=float).reshape(-1)
        if lo.shape != hi.shape or lo.size not in (1, 2, 3) or np.any(hi <= lo):
            raise ConfigError(f"patch box lo={lo.tolist()} hi={hi.tolist()}: need 1-3 components with lo < hi")
        if not (self.pad > 0 and self.overlap > 0):
            raise ConfigError(f"pad ({self.pad}) and overlap ({self.overlap}) must be > 0")
        shrink = float(self.pad) + float(self.overlap)
        clo, chi = lo + shrink, hi - shrink
        if np.any(chi <= clo):
            raise ConfigError(f"the patch box (sizes {(hi - lo).tolist()}) is too small for pad {self.pad} + "
                              f"overlap {self.overlap} on each side: enlarge the patch or reduce them")
        object.__setattr__(self, "patch_lo", lo)
        object.__setattr__(self, "patch_hi", hi)
        object.__setattr__(self, "core_lo", clo)
        object.__setattr__(self, "core_hi", chi)

    @property
    def dim(self) -> int:
        return self.patch_lo.size

    @property
    def scale(self) -> float:
        return float(np.max(np.abs(np.concatenate([self.patch_lo, self.patch_hi]))) + np.max(self.patch_hi - self.patch_lo))

    def patch_distance(self, X: np.ndarray) -> np.ndarray:
        """Signed ∞-distance [n] to ∂P (negative inside the patch)."""
        return box_signed_distance(np.asarray(X)[:, :self.dim], self.patch_lo, self.patch_hi)

    def core_distance(self, X: np.ndarray) -> np.ndarray:
        """Signed ∞-distance [n] to ∂C (negative inside the core)."""
        return box_signed_distance(np.asarray(X)[:, :self.dim], self.core_lo, self.core_hi)

    def pad_mask(self, X: np.ndarray) -> np.ndarray:
        """Atoms [n] that are pad atoms: within ``pad`` of ∂P (or outside P)."""
        return self.patch_distance(X) > -self.pad

    def atom_weight(self, X: np.ndarray) -> np.ndarray:
        """The atoms' share w [n] ∈ [0, 1] of the energy at reference points X in the ledger
        of both scales (the continuum's share is 1 − w): 0 in the pad and outside P, rising
        linearly with the ∞-distance across the overlap, 1 in the core. Dirichlet–Dirichlet
        Schwarz itself has no weights; this partition of unity only splits the stored energy
        where both models exist (:func:`cell_atom_weight` is its cell mean)."""
        s = -self.patch_distance(X) - float(self.pad)
        return np.clip(s / float(self.overlap), 0.0, 1.0)


def cell_atom_weight(cell_coords: np.ndarray, regions: "list[SchwarzRegions]", points: int = 128) -> np.ndarray:
    """Mean over each cell of the atoms' share w (:meth:`SchwarzRegions.atom_weight`, the
    largest over several patches) [n_cells]: the continuum's cell energy is weighted by 1 − this.
    ``cell_coords`` [n_cells, npc, dim]. The mean is an equal-weight rule over ``points``
    Sobol points, uniform in the reference cell (simplices: sorted coordinates give uniform
    barycentric gaps; other cells, axis-aligned boxes: the unit cube), shifted so that their
    mean is the centroid (exact for a constant or linear w). w is piecewise linear with kinks at
    the pad's inner face and the core's face: a cell cut by a kink is off by O(points^-1/dim)
    of its kink term (the integral over a Kuhn tet mesh: 7e-4 relative,
    ``tests/run/test_indentation.py::test_ledger_partition_of_unity``)."""
    from scipy.stats import qmc

    cc = np.asarray(cell_coords, dtype=float)
    nc, npc, dim = cc.shape
    # w is 0 outside every patch box shrunk by its pad and 1 inside a core: only the cells
    # between (the overlaps and what cuts their faces) need the quadrature
    cmin, cmax = cc.min(axis=1), cc.max(axis=1)
    ones = np.zeros(nc, dtype=bool)
    need = np.zeros(nc, dtype=bool)
    for r in regions:
        d = r.dim
        ilo, ihi = r.patch_lo + float(r.pad), r.patch_hi - float(r.pad)
        need |= np.all((cmax[:, :d] > ilo) & (cmin[:, :d] < ihi), axis=1)
        ones |= np.all((cmin[:, :d] >= r.core_lo) & (cmax[:, :d] <= r.core_hi), axis=1)
    need &= ~ones
    out = ones.astype(float)
    if not need.any():
        return out
    cc = cc[need]
    nq = len(cc)
    u = qmc.Sobol(d=dim, scramble=False).random(points)
    if npc == dim + 1:
        s = np.sort(u, axis=1)
        lam = np.diff(np.concatenate([np.zeros((points, 1)), s, np.ones((points, 1))], axis=1), axis=1)
        lam += 1.0 / (dim + 1) - lam.mean(axis=0)  # [q, npc], the mean is the centroid
        pts = np.einsum("qa,cad->cqd", lam, cc)
    else:
        u += 0.5 - u.mean(axis=0)
        lo, hi = cc.min(axis=1), cc.max(axis=1)
        pts = lo[:, None, :] + u[None, :, :] * (hi - lo)[:, None, :]
    flat = pts.reshape(-1, dim)
    w = np.zeros(len(flat))
    for r in regions:
        w = np.maximum(w, r.atom_weight(flat))
    out[need] = w.reshape(nq, -1).mean(axis=1)
    return out


# ---------------------------------------------------------------------------- Cauchy-Born 2D
def cauchy_born_triangular(potential, a: float | None = None, density: float = 1.0):
    """Lattice-sum (Cauchy–Born) constants of the 2D triangular lattice of a pair potential.

    Returns ``(material, a, C2)``: an :class:`~mscouple.continuum.ElasticMaterial` whose
    plane-strain block is the 2D stiffness (energy per area; the out-of-plane entries are
    decoupled fillers), the nearest-neighbour distance ``a`` (the zero-stress one when not
    given) and the 2D Voigt stiffness ``C2 [3, 3]`` (xx, yy, xy). Formula: Born's lattice sum
    ``C_ijkl = 1/(2Ω) Σ_R (φ'' − φ'/R) R_i R_j R_k R_l / R²`` with Ω = √3 a²/2 the area per
    atom (:mod:`mscouple.hmm.cauchy_born`; Tadmor & Miller 2011, §11.4).
    """
    from scipy.optimize import brentq

    from ..continuum.materials import ElasticMaterial
    from ..hmm.cauchy_born import BravaisLattice, cb_elastic_constants, cb_stress, radial_derivatives

    deriv = radial_derivatives(potential)

    def lattice(aa: float) -> BravaisLattice:
        m = int(np.ceil(1.3 * deriv.rc / aa)) + 2
        i, j = np.meshgrid(np.arange(-m, m + 1), np.arange(-m, m + 1), indexing="ij")
        R = np.stack([aa * (i + 0.5 * j), aa * np.sqrt(3.0) / 2 * j, 0.0 * i], axis=-1).reshape(-1, 3)
        r = np.linalg.norm(R, axis=1)
        R = R[(r > 0) & (r < 1.3 * deriv.rc)]
        return BravaisLattice("triangular", float(aa), R, float(np.sqrt(3.0) / 2 * aa * aa))

    if a is None:
        def p(aa):
            return np.trace(cb_stress(deriv, lattice(aa), np.eye(3)))

        scale = float(getattr(potential, "sigma", getattr(potential, "r0", np.ones((1, 1))))[0, 0])
        lo, hi = 0.8 * scale, min(2.0 * scale, 0.999 * deriv.rc)
        if p(lo) * p(hi) > 0:
            raise ConfigError(f"no zero-stress triangular lattice in [{lo:.4g}, {hi:.4g}]: give a explicitly")
        a = float(brentq(p, lo, hi, xtol=1e-15, rtol=1e-15))
    C4 = cb_elastic_constants(deriv, lattice(float(a)))
    pairs = [(0, 0), (1, 1), (0, 1)]
    C2 = np.array([[C4[i, j, k, l] for (k, l) in pairs] for (i, j) in pairs])
    C6 = np.zeros((6, 6))
    idx = [0, 1, 5]
    C6[np.ix_(idx, idx)] = C2
    fill = float(np.max(np.diag(C2)))
    C6[2, 2] = C6[3, 3] = C6[4, 4] = fill
    return ElasticMaterial(C6, density), float(a), C2


# ---------------------------------------------------------------------------- result
@dataclass
class SchwarzResult:
    """``converged``, ``iterations``, ``history`` (max change of the overlap data per
    iteration, length units), ``relax_steps`` (minimiser steps per iteration, patch ranks;
    empty elsewhere)."""

    converged: bool
    iterations: int
    history: list
    relax_steps: list


# ---------------------------------------------------------------------------- driver
class _Link:
    """One patch as the continuum (or the patch itself) sees it: its regions, its
    intercommunicator and the per-patch exchange state."""

    def __init__(self, regions: SchwarzRegions, intercomm) -> None:
        self.regions = regions
        self.intercomm = intercomm
        self.reach = 0.0            # continuum side: how far from ∂C the fit elements reach
        self.reach_shared = 0.0     # the same number on every rank of the link
        self.layer_owned = None     # [n_owned] bool: the layer nodes of this core
        self.pad_cells = self.fit_cells = None
        self.ex_pad = self.ex_fit = None
        self.pad_ids = self.fit_ids = None  # patch side: global ids of the pad / fit atoms
        self.fit = None             # sparse [n_nodes, m_fit]: atom → layer-node fit
        self.pad_values = None      # [m_pad, dim] last pad displacements sent


class SchwarzStatics:
    """Alternating Schwarz statics between an :class:`~mscouple.continuum.ElasticStatics`
    (continuum comm) and one or several :class:`~mscouple.atomistic.system.MDSystem`
    patches (each on its own patch comm).

    Parameters
    ----------
    regions : :class:`SchwarzRegions` (same on every rank); on continuum ranks a list of
        them, one per patch, is accepted together with a list of intercommunicators (the
        patches relax concurrently, each on its ranks; the continuum solves once per
        iteration with every core's Dirichlet nodes).
    statics : the continuum problem with its own loads and outer Dirichlet conditions
        (``add_dirichlet`` …, not yet set up), on continuum ranks; None on patch ranks.
        A nonlinear continuum (hook) provides ``solve_prescribed(u)``: solve with its current
        Dirichlet values (the core's set by this driver) into ``u``, raising
        :class:`ConvergenceError` on failure; it is used instead of the linear solve
        (:class:`mscouple.plasticity.coupled.PlasticSchwarzContinuum`).
        P1 simplices only. Its stiffness must be the Cauchy–Born one of the potential for
        the coupled answer to be meaningful (:func:`cauchy_born_triangular`).
    system : the patch (reference positions ``x0`` = the lattice sites), on patch ranks;
        None on continuum ranks. Pad atoms get ``fixed = 1``; its current positions are the
        initial guess.
    intercomm : intercommunicator continuum ⇄ patch; None when both models are on this one
        rank (then both ``statics`` and ``system`` are given, each on a one-rank comm).
    tol : stop when the max change of pad and layer displacements < tol (length).
    max_iter : Schwarz iterations before :class:`ConvergenceError`.
    fmax : force tolerance of each relaxation (force units).
    relax : ``"fire"`` or ``"cg"`` (:mod:`mscouple.atomistic.minimize`); ``relax_options``
        go to it (e.g. ``dt``, ``dt_max``, ``max_steps``).
    direct : continuum solves with LU (MUMPS on several ranks) instead of CG+GAMG; the
        factorisation is done once (only the Dirichlet values change between iterations).
    rtol : relative tolerance of the iterative continuum solve.
    acceleration : how the layer values u_D move toward the atoms' fit G(u_D) (the fixed
        point u_D = G(u_D) is the same for all three):

        * ``"iqn"`` (default): IQN-ILS / Anderson mixing (Degroote, Bathe & Vierendeels,
          Comput. Struct. 87 (2009) 793): u_D ← G(u_D) + W c with c the least-squares fit of
          the last ``iqn_columns`` residual differences, a secant model of the map's inverse
          Jacobian; steps bounded by ``IQN_STEP_RATIO`` × the residual; the model restarts
          with each solve. It needs each G(u_D) evaluated exactly, so the relaxations go to
          ``fmax`` (``relax_reduction`` 0). The 1D fcc/bcc templates: 6–7 iterations where
          Aitken took 119 (fcc, inexact relaxations) — its one scalar ω per patch cannot
          remove both modes of the 1D map (two layer nodes, contraction ≈ 0.85–0.9);
          statics_patch (2D): 9 iterations and 1,489 FIRE steps against 46 and 2,659.
        * ``"aitken"``: Aitken's dynamic relaxation u_D ← u_D + ω_k (G(u_D) − u_D),
          ω_k = −ω_{k−1} r_{k−1}·(r_k − r_{k−1}) / |r_k − r_{k−1}|², clipped to [0.05, 2], per
          patch (Irons & Tuck 1969; Küttler & Wall, Comput. Mech. 43 (2008) 61).
        * ``"none"``: u_D ← G(u_D).

        ``aitken`` (bool, the older switch) selects ``"aitken"`` / ``"none"`` when
        ``acceleration`` is not given.
    relax_reduction : inexact Schwarz: each relaxation stops once the largest free-atom force
        has dropped to this fraction of its value after the pad moved (never below ``fmax``);
        convergence needs change < tol *and* a relaxation to ``fmax``. 0: always to ``fmax``.
        Default 0 with IQN (a secant model of an inexact map stalls: with 0.05 the 1D fcc
        template did not converge in 400 iterations), 0.05 otherwise.
    predict : before each relaxation move the free atoms by the affine least-squares fit of
        the pad's move (exact for a homogeneous deformation). Without it the free atoms start
        where they were while the pad jumps: a 2D EAM Cu sheet pulled to 13.6 % strain had
        pad moves of several Å next to unmoved atoms and FIRE threw 176 atoms out of the box;
        with it that case converges (10 iterations).
    """

    def __init__(self, regions, *, statics=None, system=None, intercomm=None,
                 tol: float = 1e-8, max_iter: int = 200, fmax: float = 1e-8, relax: str = "fire",
                 relax_options: Optional[dict] = None, direct: bool = False, rtol: float = 1e-12,
                 aitken: bool | None = None, relax_reduction: float | None = None,
                 acceleration: str | None = None,
                 iqn_columns: int = 20, iqn_omega0: float = 1.0, predict: bool = True):
        self._bind(regions, statics, system, intercomm, tol=tol, max_iter=max_iter, fmax=fmax, relax=relax,
                   relax_options=relax_options, direct=direct, rtol=rtol, form="Schwarz")
        if acceleration is None:
            acceleration = "iqn" if aitken is None else ("aitken" if aitken else "none")
        if relax_reduction is None:
            relax_reduction = 0.0 if acceleration == "iqn" else 0.05
        self.relax_reduction = float(relax_reduction)
        if acceleration not in ("iqn", "aitken", "none"):
            raise ConfigError(f"acceleration = {acceleration!r}: expected 'iqn', 'aitken' or 'none'")
        self.acceleration = acceleration
        self.aitken = acceleration == "aitken"
        self.iqn_columns, self.iqn_omega0 = max(1, int(iqn_columns)), float(iqn_omega0)
        self.predict = bool(predict)
        self.u: Optional[PETSc.Vec] = None
        if statics is not None:
            self._continuum_setup()
        for k in self.links:
            k.reach_shared = float(self._from_continuum(k.reach if statics is not None else -np.inf, k))
        if system is not None:
            self._patch_setup()
        for k in self.links:
            self._build_exchanges(k)

    def _bind(self, regions, statics, system, intercomm, *, tol: float, max_iter: int, fmax: float,
              relax: str, relax_options: Optional[dict], direct: bool, rtol: float, form: str) -> None:
        """The links (one per patch), the models this rank holds and the settings every coupled
        statics shares, checked (``form`` names the method in the messages)."""
        many = isinstance(regions, (list, tuple))
        if many:
            if statics is None or not isinstance(intercomm, (list, tuple)) or len(intercomm) != len(regions):
                raise ConfigError("several patches: give the continuum problem with one intercommunicator "
                                  "per SchwarzRegions (lists of equal length)")
            self.links = [_Link(r, ic) for r, ic in zip(regions, intercomm)]
        else:
            self.links = [_Link(regions, intercomm)]
        regions, intercomm = self.links[0].regions, self.links[0].intercomm
        self.regions, self.intercomm = regions, intercomm
        self.statics, self.system = statics, system
        if intercomm is None:
            if statics is None or system is None:
                raise ConfigError("without an intercommunicator both the continuum (statics) and the "
                                  "patch (system) must be given on this rank")
            if statics.comm.Get_size() != 1 or system.comm.Get_size() != 1:
                raise ConfigError(f"the one-rank (local) {form} form needs both models on one-rank comms; "
                                  "use an intercommunicator for parallel layouts")
        elif (statics is None) == (system is None):
            raise ConfigError("with an intercommunicator give exactly one model per rank: statics on "
                              "continuum ranks, system on patch ranks")
        if relax not in ("fire", "cg"):
            raise ConfigError(f"relax = {relax!r}: expected 'fire' or 'cg'")
        if not (tol > 0 and fmax > 0 and int(max_iter) >= 1):
            raise ConfigError("tol and fmax must be > 0 and max_iter >= 1")
        self.tol, self.max_iter, self.fmax = float(tol), int(max_iter), float(fmax)
        self.relax, self.relax_options = relax, dict(relax_options or {})
        self.direct, self.rtol = bool(direct), float(rtol)
        self.dim = regions.dim
        if any(k.regions.dim != self.dim for k in self.links):
            raise ConfigError("every patch's SchwarzRegions must have the same dimension")

    @property
    def ex_pad(self):
        return self.links[0].ex_pad

    @property
    def ex_fit(self):
        return self.links[0].ex_fit

    # ------------------------------------------------------------------ intercomm helpers
    def _from_continuum(self, value: float, link: _Link | None = None) -> float:
        """A scalar known on the continuum ranks, on every rank of the link (max over the
        continuum ranks)."""
        ic = (link or self.links[0]).intercomm
        if ic is None:
            return value
        got = ic.allreduce(float(value) if self.statics is not None else -np.inf, op=MPI.MAX)
        return float(value) if self.statics is not None else float(got)

    def _from_patch(self, value: float, link: _Link | None = None) -> float:
        """A scalar known on the patch ranks (max over them), on every rank of the link."""
        ic = (link or self.links[0]).intercomm
        if ic is None:
            return value
        got = ic.allreduce(float(value) if self.system is not None else -np.inf, op=MPI.MAX)
        if self.system is not None:
            return float(self.system.comm.allreduce(float(value), op=MPI.MAX))
        return float(got)

    def _from_patches(self, value: float) -> float:
        """Max over every patch (patch ranks pass their value, continuum ranks anything), on
        the continuum ranks; on a patch rank its own patch's max."""
        if self.statics is None:
            return self._from_patch(value)
        return max(self._from_patch(value, k) for k in self.links)

    # ------------------------------------------------------------------ continuum side
    def _continuum_setup(self) -> None:
        st = self.statics
        sp, mesh = st.space, st.space.mesh
        self._nonlinear = hasattr(st, "solve_prescribed")
        self._check_continuum("Schwarz", "adds the core Dirichlet nodes and sets it up itself")
        X = mesh.coordinates
        inD_all = np.zeros(mesh.n_nodes, dtype=bool)
        for k in self.links:
            R = k.regions
            if mesh.dim != R.dim:
                raise ConfigError(f"the regions are {R.dim}D, the mesh {mesh.dim}D")
            tol = 1e-9 * R.scale
            inD = R.core_distance(X) <= tol  # [n_nodes], consistent on every rank (geometry)
            if np.any(inD & inD_all):
                raise ConfigError("two patches' cores share continuum nodes: move the patches apart")
            inD_all |= inD
            cD = inD[mesh.cells]
            mixed = cD.any(axis=1) & ~cD.all(axis=1)
            layer_loc = np.zeros(mesh.n_nodes, dtype=bool)
            layer_loc[mesh.cells[mixed][cD[mixed]]] = True
            k.layer_owned = sp.owned_node_mask(layer_loc)
            # layer status on local nodes, ghosts included
            v = sp.create_vec()
            sp.owned(v)[:] = k.layer_owned[:, None]
            layer_all = sp.to_local(v)[:, 0] > 0.5
            v.destroy()
            fit_cells = np.flatnonzero(layer_all[mesh.cells].any(axis=1))
            Xf = X[mesh.cells[fit_cells]] if len(fit_cells) else np.zeros((0, mesh.nodes_per_cell, mesh.dim))
            reach = float(np.max(np.abs(R.core_distance(Xf.reshape(-1, mesh.dim)))) if len(fit_cells) else 0.0)
            k.reach = float(st.comm.allreduce(reach, op=MPI.MAX)) * (1 + 1e-9) + tol
            far = float(np.max(R.patch_distance(Xf.reshape(-1, mesh.dim)))) if len(fit_cells) else -np.inf
            far = st.comm.allreduce(far, op=MPI.MAX)
            if far > -R.pad + tol:
                raise ConfigError(
                    f"elements at the core boundary reach {far + R.pad:.4g} into the pad: the overlap "
                    f"({R.overlap:g}) must exceed the element size there; refine the mesh near the patch "
                    "or widen the overlap")
            if st.comm.allreduce(int(k.layer_owned.sum())) == 0:
                raise ConfigError("no continuum node lies in the core box: refine the mesh in the patch")
            # cells whose bounding box meets the pad layer / the fit annulus (exchange look-up)
            cx = X[mesh.cells]
            bmin, bmax = cx.min(axis=1) - tol, cx.max(axis=1) + tol
            k.pad_cells = np.flatnonzero(_bbox_overlaps(bmin, bmax, R.patch_lo - tol, R.patch_hi + tol)
                                         & ~_bbox_inside(bmin, bmax, R.patch_lo + R.pad, R.patch_hi - R.pad))
            r = k.reach
            k.fit_cells = np.flatnonzero(_bbox_overlaps(bmin, bmax, R.core_lo - r, R.core_hi + r)
                                         & ~_bbox_inside(bmin, bmax, R.core_lo + r, R.core_hi - r))
        self._layer_owned = np.any([k.layer_owned for k in self.links], axis=0)
        self._D_owned = inD_all[mesh.owned_nodes]
        self.bc = st.add_dirichlet(self._D_owned, 0.0)
        self._setup_solver(direct=self.direct and not self._nonlinear)
        self.u = sp.create_vec()
        self._g = sp.create_vec()
        self._b = sp.create_vec()
        self._layer_values = np.zeros((mesh.n_owned, mesh.dim))
        self._r_prev, self._omega = None, [1.0] * len(self.links)
        self._iqn_reset()
        pos, _ = self._merged()
        free = np.ones(sp.n_owned_dofs, dtype=bool)
        free[pos] = False
        self._free_dofs = free

    def _check_continuum(self, form: str, does: str) -> None:
        """Refuse a mesh other than P1 simplices and a continuum problem already set up."""
        st = self.statics
        if not st.space.mesh.reference.simplex:
            raise ConfigError(f"{form} statics supports P1 simplex meshes (triangles/tetrahedra)")
        if st.solver is not None:
            raise ConfigError(f"pass the ElasticStatics before its setup()/solve(): the {form} driver {does}")

    def _setup_solver(self, direct: bool) -> None:
        """Set the continuum problem up; with ``direct`` its solver is one LU factorisation
        (MUMPS where PETSc has it), reused by every solve (only the right-hand side changes)."""
        from ..continuum.solver import direct_factor_type

        st = self.statics
        st.rtol = self.rtol
        st.setup()
        if direct:
            ksp = st.solver.ksp
            ksp.setType("preonly")
            pc = ksp.getPC()
            pc.setType("lu")
            fst = direct_factor_type(st.comm)  # MUMPS wherever PETSc has it (continuum/solver.py)
            if fst:
                pc.setFactorSolverType(fst)
            ksp.setFromOptions()  # -fe_pc_factor_mat_solver_type petsc etc. still apply
            ksp.setUp()

    def _iqn_reset(self) -> None:
        self._iqn_prev, self._iqn_V, self._iqn_W = None, [], []
        self._iqn_first = True

    def _merged(self):
        from ..continuum.loads import merge_bcs

        return merge_bcs(self.statics.bcs)

    def _fit_operator(self, k: _Link) -> None:
        """Hat-weighted local linear least squares, atoms → layer nodes, as a sparse matrix
        (continuum side): u_I = Σ_α c_αI u_α, exact for linear fields."""
        st = self.statics
        sp, mesh = st.space, st.space.mesh
        d = mesh.dim
        T = k.ex_fit.transfer.matrix.tocoo()
        X = mesh.coordinates
        Xa = k.ex_fit.reference[:, :d]
        rows, cols, w = T.row, T.col, T.data
        dx = Xa[rows] - X[cols]  # [nnz, d]
        phi = np.concatenate([np.ones((len(rows), 1)), dx], axis=1)  # [nnz, 1+d]
        n = 1 + d
        contrib = (w[:, None, None] * phi[:, :, None] * phi[:, None, :]).reshape(len(rows), n * n)
        loc = np.zeros((mesh.n_nodes, n * n))
        for c in range(n * n):
            loc[:, c] = np.bincount(cols, weights=contrib[:, c], minlength=mesh.n_nodes)
        from ..continuum.space import FunctionSpace

        aux = FunctionSpace(mesh, ncomp=n * n)
        try:
            Avec = aux.add_local(loc)
            A = aux.owned(Avec).reshape(-1, n, n).copy()
            Avec.destroy()
            lay = k.layer_owned
            g = np.zeros((mesh.n_owned, n * n))
            err = None
            if lay.any():
                Al = A[lay]
                # normalise lengths by the spread of the atoms for the conditioning test
                sc = np.sqrt(np.maximum(np.trace(Al[:, 1:, 1:], axis1=1, axis2=2) / np.maximum(Al[:, 0, 0], 1e-300), 1e-300))
                Dn = np.ones((len(Al), n))
                Dn[:, 1:] = 1.0 / sc[:, None]
                An = Al * Dn[:, :, None] * Dn[:, None, :]
                ev = np.linalg.eigvalsh(An)
                bad = (Al[:, 0, 0] <= 0) | (ev[:, 0] < 1e-8 * ev[:, -1])
                if np.any(bad):
                    Xb = X[mesh.owned_nodes[np.flatnonzero(lay)[bad]]]
                    err = (f"{int(bad.sum())} continuum node(s) at the core boundary (first at "
                           f"{Xb[0].tolist()}) have too few atoms in their elements for the atom→node "
                           "fit: coarsen the mesh there (elements ≳ 2 lattice spacings) or move the core")
                else:
                    G = np.linalg.inv(Al)[:, 0, :]  # first row: value at the node
                    g[lay, :n] = G
            err = st.comm.allgather(err)
            err = next((e for e in err if e), None)
            if err:
                raise ConfigError(err)
            gv = aux.create_vec()
            aux.owned(gv)[:] = g
            gl = aux.to_local(gv)[:, :n]
            gv.destroy()
        finally:
            aux.destroy()
        coef = np.einsum("nk,nk->n", gl[cols], phi) * w
        import scipy.sparse as sps

        k.fit = sps.csr_matrix((coef, (cols, rows)), shape=(mesh.n_nodes, len(Xa)))

    def _continuum_iterate(self, u_fits: list) -> tuple[list, float]:
        """Layer values from the fits (one per patch), continuum solve, pad values per patch;
        returns (pad values per patch, change)."""
        st = self.statics
        sp = st.space
        part = sum(k.fit @ u for k, u in zip(self.links, u_fits))  # [n_nodes, d] partial sums
        vec = sp.add_local(part)
        owned = sp.owned(vec)
        lay = self._layer_owned
        fit = owned[lay].copy()
        vec.destroy()
        r = fit - self._layer_values[lay]  # fixed-point residual of the layer values
        dlayer = float(np.max(np.abs(r), initial=0.0))
        if self.acceleration == "iqn":
            self._layer_values[lay] = self._iqn_update(self._layer_values[lay], fit, r)
            step = None
        else:
            step = self._aitken_step(r)
        if step is not None:
            self._layer_values[lay] += step
        self.bc.values = self._layer_values[self.bc.nodes][:, self.bc.components].ravel()
        if self._nonlinear:  # hook: a nonlinear continuum solves with its Dirichlet values itself
            st.solve_prescribed(self.u)
        else:
            pos, val = self._merged()
            g, b = self._g, self._b
            g.set(0.0)
            g.getArray()[pos] = val
            st.K.mult(g, b)
            b.scale(-1.0)
            b.axpy(1.0, st.f_applied)
            b.getArray()[pos] = val
            st.solver.solve(b, self.u)
        u_loc = sp.to_local(self.u)
        pads, dpad = [], 0.0
        for k in self.links:
            pad_vals = np.asarray(k.ex_pad.transfer.interpolate(u_loc))
            dpad = max(dpad, float(np.max(np.abs(pad_vals - k.pad_values), initial=0.0)))
            k.pad_values = pad_vals
            pads.append(pad_vals)
        change = st.comm.allreduce(max(dlayer, dpad), op=MPI.MAX)
        return pads, change

    def _iqn_update(self, x: np.ndarray, xt: np.ndarray, r: np.ndarray) -> np.ndarray:
        """IQN-ILS (Degroote, Bathe & Vierendeels, Comput. Struct. 87 (2009) 793; Anderson
        mixing): the layer values' next iterate from the residual r = G(x) − x and the last
        ``iqn_columns`` differences of r and of G(x), a least-squares secant model of the
        inverse Jacobian of the residual. x* is unchanged (r = 0 ⇔ fixed point); a linear
        map of m interface unknowns converges in ≤ m + 1 iterations."""
        st = self.statics
        xt, r = xt.reshape(-1).copy(), r.reshape(-1).copy()
        if self._iqn_first:
            # a solve's first fit comes from the atoms as they were (not relaxed against the
            # current pad): no evaluation of the map, kept out of the secant model
            self._iqn_first = False
            return (x.reshape(-1) + self.iqn_omega0 * r).reshape(x.shape)
        if self._iqn_prev is not None:
            self._iqn_V.append(r - self._iqn_prev[0])
            self._iqn_W.append(xt - self._iqn_prev[1])
            del self._iqn_V[:-self.iqn_columns], self._iqn_W[:-self.iqn_columns]
        self._iqn_prev = (r, xt)
        if not self._iqn_V:
            return (x.reshape(-1) + self.iqn_omega0 * r).reshape(x.shape)
        V, W = np.stack(self._iqn_V, axis=1), np.stack(self._iqn_W, axis=1)
        # normal equations over every continuum rank (q ≤ iqn_columns unknowns)
        A = st.comm.allreduce(V.T @ V)
        bvec = st.comm.allreduce(V.T @ r)
        # drop the oldest columns until the secant model is well conditioned
        while len(A) > 1:
            ev = np.linalg.eigvalsh(A)
            if ev[0] > 1e-12 * ev[-1]:
                break
            A, bvec, V, W = A[1:, 1:], bvec[1:], V[:, 1:], W[:, 1:]
            del self._iqn_V[0], self._iqn_W[0]
        if A[0, 0] <= 0:
            return (x.reshape(-1) + self.iqn_omega0 * r).reshape(x.shape)
        c = np.linalg.solve(A, -bvec)
        step = xt + W @ c - x.reshape(-1)
        # a bounded step (the secant model extrapolates; far from the fixed point of a
        # nonlinear patch it can overshoot into a state the atoms cannot follow): at most
        # IQN_STEP_RATIO × the residual, the direction kept
        big = st.comm.allreduce(float(np.max(np.abs(step), initial=0.0)), op=MPI.MAX)
        cap = IQN_STEP_RATIO * st.comm.allreduce(float(np.max(np.abs(r), initial=0.0)), op=MPI.MAX)
        if big > cap > 0:
            step *= cap / big
        return (x.reshape(-1) + step).reshape(x.shape)

    def _aitken_step(self, r: np.ndarray) -> np.ndarray:
        st = self.statics
        lay = self._layer_owned
        # Aitken per patch: the patches' fixed-point maps are nearly independent, each with its
        # own contraction rate (one scalar ω for all of them stalls the iteration)
        step = np.empty_like(r)
        for i, k in enumerate(self.links):
            sel = k.layer_owned[lay]
            rk = r[sel]
            omega = 1.0
            if self.aitken and self._r_prev is not None:
                dr = rk - self._r_prev[i]
                num = st.comm.allreduce(float(np.sum(self._r_prev[i] * dr)))
                den = st.comm.allreduce(float(np.sum(dr * dr)))
                omega = float(np.clip(-self._omega[i] * num / den, 0.05, 2.0)) if den > 0 else self._omega[i]
            self._omega[i] = omega
            step[sel] = omega * rk
        self._r_prev = [r[k.layer_owned[lay]] for k in self.links]
        return step

    # ------------------------------------------------------------------ patch side
    def _patch_setup(self) -> None:
        X0 = self._check_patch("free atoms")
        s = self.system
        s.fixed[:] = np.where(self.regions.pad_mask(X0), 1, s.fixed)

    def _check_patch(self, who: str) -> np.ndarray:
        """Refuse a pad narrower than the cutoff (``who`` would miss neighbours) and atoms
        outside the patch box; returns the reference positions [n, dim]."""
        s, R = self.system, self.regions
        if self.dim > 3:
            raise ConfigError("regions must be 1-3D")
        X0 = s.x0[:, :self.dim]
        cut = float(s.potential.cutoff)
        if R.pad < cut:
            raise ConfigError(f"pad width {R.pad:g} is below the potential cutoff {cut:g}: {who} "
                              "would miss neighbours; widen the pad")
        tol = 1e-9 * R.scale
        outside = s._sum(int(np.count_nonzero(R.patch_distance(X0) > tol)))
        if outside:
            raise ConfigError(f"{outside} atom(s) of the patch lie outside the patch box "
                              f"{R.patch_lo.tolist()}..{R.patch_hi.tolist()}: enlarge the box or drop them")
        return X0

    def _patch_sets(self) -> tuple[np.ndarray, np.ndarray]:
        """Local (current order) indices of pad atoms and fit atoms."""
        s, R = self.system, self.regions
        X0 = s.x0[:, :self.dim]
        pad = np.flatnonzero(R.pad_mask(X0))
        near = np.abs(R.core_distance(X0)) <= self.links[0].reach_shared
        fit = np.flatnonzero(near & ~R.pad_mask(X0))
        return pad, fit

    def _rows(self, want_ids: np.ndarray) -> np.ndarray:
        ids = self.system.ids
        order = np.argsort(ids, kind="stable")
        pos = np.searchsorted(ids[order], want_ids)
        pos = np.minimum(pos, max(len(ids) - 1, 0))
        rows = order[pos] if len(ids) else np.zeros(0, np.int64)
        if len(want_ids) and np.any(ids[rows] != want_ids):
            raise SimulationError("interface atoms left this patch rank; the exchange must be rebuilt")
        return rows

    def _migrated(self) -> bool:
        if self.system is None:
            return False
        ids = self.system.ids
        k = self.links[0]
        need = np.concatenate([k.pad_ids, k.fit_ids])
        return bool(np.any(~np.isin(need, ids)))

    # ------------------------------------------------------------------ exchanges
    def _build_exchanges(self, k: _Link) -> None:
        d = self.dim
        if self.system is not None:
            s = self.system
            pad, fit = self._patch_sets()
            k.pad_ids = s.ids[pad].copy()
            k.fit_ids = s.ids[fit].copy()
            pad_X, fit_X = s.x0[pad, :d], s.x0[fit, :d]
        if self.statics is not None:
            mesh = self.statics.space.mesh
            nodes = mesh.coordinates
            pc, fc = mesh.cells[k.pad_cells], mesh.cells[k.fit_cells]
        if k.intercomm is None:
            k.ex_pad = InterfaceExchange.local(k.pad_ids, pad_X, nodes, pc, "P1")
            k.ex_fit = InterfaceExchange.local(k.fit_ids, fit_X, nodes, fc, "P1")
        elif self.system is not None:
            k.ex_pad = InterfaceExchange.setup(k.intercomm, "patch", ids=k.pad_ids, reference=pad_X, dim=d)
            k.ex_fit = InterfaceExchange.setup(k.intercomm, "patch", ids=k.fit_ids, reference=fit_X, dim=d)
        else:
            k.ex_pad = InterfaceExchange.setup(k.intercomm, "continuum", nodes=nodes, cells=pc, kind="P1", dim=d)
            k.ex_fit = InterfaceExchange.setup(k.intercomm, "continuum", nodes=nodes, cells=fc, kind="P1", dim=d)
        if self.statics is not None:
            self._fit_operator(k)
            k.pad_values = np.full((k.ex_pad.n_assigned, d), np.inf)

    # ------------------------------------------------------------------ the iteration
    def _relax(self) -> tuple[int, bool, bool]:
        """Relax the free atoms; returns (steps, converged to its target, target was fmax)."""
        from ..atomistic.minimize import conjugate_gradient, fire

        opts = dict(self.relax_options)
        opts.setdefault("max_steps", 200000 if self.relax == "fire" else 20000)
        fn = fire if self.relax == "fire" else conjugate_gradient
        target = self.fmax
        if self.relax_reduction > 0:
            target = max(self.fmax, self.relax_reduction * self.atom_residual())
        res = fn(self.system, fmax=target, raise_on_failure=False, **opts)
        return int(res.steps), bool(res.converged), target == self.fmax

    def _place_pad(self, u_pad: np.ndarray) -> None:
        s, d = self.system, self.dim
        rows = self._rows(self.links[0].pad_ids)
        L = s.box.lengths[:d]
        if self.predict:
            self._predict_free(rows, u_pad)
        s.x[rows, :d] = s.x0[rows, :d] + u_pad - s.image[rows, :d] * L
        s.v[rows] = 0.0
        s.invalidate_neighbors()

    def _predict_free(self, rows: np.ndarray, u_pad: np.ndarray) -> None:
        """Move the free atoms by the affine least-squares fit of the pad's move (a homogeneous
        deformation's exact response; the relaxation starts from it)."""
        s, d = self.system, self.dim
        R = self.regions
        c = 0.5 * (R.patch_lo + R.patch_hi)
        delta = u_pad - s.displacements()[rows, :d]
        P = np.concatenate([np.ones((len(rows), 1)), s.x0[rows, :d] - c], axis=1)
        A = s._sum(P.T @ P)
        b = s._sum(P.T @ delta)
        ev = np.linalg.eigvalsh(A)
        if not ev[0] > 1e-10 * ev[-1]:
            return
        B = np.linalg.solve(A, b)
        mob = np.flatnonzero(s.fixed == 0)
        Pm = np.concatenate([np.ones((len(mob), 1)), s.x0[mob, :d] - c], axis=1)
        s.x[mob, :d] += Pm @ B

    def _status(self, code: int, link: _Link | None = None) -> int:
        """A patch status code (max over the link's patch ranks) on every rank of the link."""
        return int(self._from_patch(float(code), link))

    def solve(self) -> SchwarzResult:
        """Iterate to convergence (collective over both groups). Raises
        :class:`ConvergenceError` (on every rank) if ``max_iter`` is reached or a
        relaxation fails; the state of both models is the last iterate."""
        d = self.dim
        history, steps = [], []
        relax_failed = False
        if self.statics is not None:
            self._iqn_reset()  # a new solve (e.g. the next load increment): a new secant model
        for it in range(1, self.max_iter + 1):
            for k in self.links:  # a patch whose interface atoms moved rank rebuilds its exchange
                if self._status(1 if self._migrated() else 0, k) == 1:
                    self._build_exchanges(k)
            u_fits = []
            for k in self.links:
                u_fit = None
                if self.system is not None:
                    u_fit = self.system.displacements()[self._rows(k.fit_ids), :d]
                u_fits.append(k.ex_fit.to_continuum(u_fit, ncomp=d))
            pads, change = [None] * len(self.links), 0.0
            if self.statics is not None:
                try:
                    pads, change = self._continuum_iterate(u_fits)
                except ConvergenceError:
                    change = -1.0
            change = max(self._from_continuum(change, k) for k in self.links)
            if change < 0:
                raise ConvergenceError("the continuum solve of a Schwarz iteration failed: see the "
                                       "KSP message on the continuum ranks; try direct=True")
            u_pads = [k.ex_pad.to_patch(v, ncomp=d) for k, v in zip(self.links, pads)]
            history.append(change)
            code = 0
            if self.system is not None:
                self._place_pad(u_pads[0])
                n, ok, full = self._relax()
                steps.append(n)
                code = 0 if (ok and full) else (3 if ok else 2)
            # 0 relaxed to fmax, 3 to a looser target, 2 failed: the worst over every patch,
            # known to the continuum and handed back to every patch
            code = self._from_patches(code) if self.statics is not None else self._status(code)
            code = int(max(self._from_continuum(code, k) for k in self.links))
            if code == 2:
                relax_failed = True
                break
            # the change of iteration 1 is measured before any relaxation under this solve's
            # load (a loading path starts from the last converged state): never final
            if change <= self.tol and code == 0 and it > 1:
                return SchwarzResult(True, it, history, steps)
        if relax_failed:
            raise ConvergenceError(f"the atomistic relaxation did not reach max|f| < {self.fmax:g} in a "
                                   "Schwarz iteration: raise relax_options['max_steps'] or loosen fmax")
        raise ConvergenceError(
            f"alternating Schwarz did not converge in {self.max_iter} iterations: last change of the "
            f"overlap displacements {history[-1]:.3g} > tol {self.tol:g} (first {history[0]:.3g}); "
            "widen the overlap, raise max_iter or loosen tol")

    # ------------------------------------------------------------------ diagnostics
    def continuum_residual(self) -> float:
        """max over free nodes of |K u − f| (force units; collective on the continuum comm)."""
        st = self.statics
        r = st.reaction(self.u)
        a = st.space.owned(r).reshape(-1)[self._free_dofs].reshape(-1)
        r.destroy()
        loc = float(np.max(np.abs(a), initial=0.0))
        return float(st.comm.allreduce(loc, op=MPI.MAX))

    def atom_residual(self) -> float:
        """max over free atoms of |f| (force units; collective on the patch comm)."""
        s = self.system
        s.compute_forces(energy=False, virial=False)
        f = s.f[s.fixed == 0]
        loc = float(np.sqrt((f * f).sum(axis=1).max())) if len(f) else 0.0
        return float(s.comm.allreduce(loc, op=MPI.MAX))

    def residuals(self) -> tuple[float, float]:
        """(max free-atom force, max free-node force) on every rank (collective; with several
        patches a patch rank sees its own patch's atom residual)."""
        fa = self.atom_residual() if self.system is not None else -np.inf
        fn = self.continuum_residual() if self.statics is not None else -np.inf
        fa = self._from_patches(fa)  # on a patch rank: its own patch's
        fn = max(self._from_continuum(fn, k) for k in self.links)
        return fa, fn

    def dofs(self) -> tuple[int, int]:
        """(free atomic dofs, free continuum dofs) in ``dim`` components (collective; every
        patch's atoms on the continuum ranks, a patch's own on its ranks)."""
        na = -np.inf
        if self.system is not None:
            na = self.system._sum(int(np.count_nonzero(self.system.fixed == 0))) * self.dim
        nc = -np.inf
        if self.statics is not None:
            nc = self.statics.comm.allreduce(int(self._free_dofs.sum()))
        if self.statics is not None:  # every patch's, summed
            na = sum(self._from_patch(na, k) for k in self.links)
        else:
            na = self._from_patch(na)
        nc = max(self._from_continuum(nc, k) for k in self.links)
        return int(na), int(nc)

    def destroy(self) -> None:
        for v in (self.u, getattr(self, "_g", None), getattr(self, "_b", None)):
            if v is not None:
                v.destroy()
