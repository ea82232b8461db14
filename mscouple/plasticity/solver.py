"""Quasi-static small-strain plasticity on the FE engine: Newton with the consistent tangent.

Unknown: the displacement u (vector P1/Q1 space, plane strain in 2D, or 3D) under
proportional loading, u_D(t) = t·g on Dirichlet dofs and f_ext(t) = t·F, t ∈ [0, t_end].
At each load step the residual R(u) = ∫ Bᵀσ(ε(u)) dx − t F (constrained rows removed) is
driven to zero by Newton's method,

    K_T Δu = −R,   K_T = ∫ Bᵀ D B dx   (D: the consistent tangent of :mod:`.j2`),

each linear solve a PETSc KSP (CG + GAMG by default, options prefix ``pl_``: every
``-pl_ksp_*``/``-pl_pc_*`` option passes through) on the communicator of the space.
Quadrature: one point on simplices, 2^d Gauss points on quads/hexes.

Load stepping with cut-backs: a step whose Newton iteration fails (no convergence in
``max_newton`` iterations, a KSP or return-mapping failure on any rank) is restarted from
the last converged state with half the increment; after ``grow_after`` easy steps the
increment doubles again, up to the initial one.

GND coupling (``gnd_update``):

* ``"monolithic"`` (default with ``gnd``): the nodal equivalent plastic strain ē is an
  unknown beside u (a mixed space with dim + 1 components per node), and Newton solves

      R_u = ∫ Bᵀ σ(ε(u), ρ_G) dx − t F = 0,     R_e = M_L ē − ∫ Nᵀ ε̄ᵖ(ε(u), ρ_G) dx = 0,
      ρ_G = r̄ max(|∇ē| − g₀, 0) / b  at the quadrature points,

  i.e. ρ_G of a step is that of its own end state (backward Euler in ρ_G) and the recovery
  is exactly the lumped L² projection of :mod:`.gnd`. The Jacobian is exact (element blocks
  of (dim + 1)² per node pair, from :meth:`~.j2.J2DislocationMaterial.return_map_gnd`), so
  Newton converges quadratically; the system is nonsymmetric and solved by LU (MUMPS on
  several ranks; ``-pl_ksp_*``/``-pl_pc_*`` override). Stopping test: ‖R_u‖ as below and
  ‖R_e‖ ≤ rtol·‖∫N ε̄ᵖ‖ + ``gnd_atol``·‖∫N‖. g₀ = 1e-8 max|ē|/h is a dead zone at the
  round-off level of the field (see :meth:`PlasticityProblem._mono_residual`). A plain
  fixed point (solve with ρ_G frozen, recover, repeat) reaches the same answer
  (tests/plasticity/test_gnd_monolithic.py) but needed 10–40 solves per step on the notched
  plate and did not converge at n = 32 (measured, Aitken-relaxed; not kept).
* ``"staggered"`` (Huang et al. 2004): ρ_G from the previous converged step. Explicit, so
  only conditionally stable: when ρ_S is small and the mesh is coarse (or fine at a sharp
  notch, where |∇ε̄ᵖ| ~ 1/h), the gain of ρ_G on a perturbation of ε̄ᵖ is large and
  non-uniformities grow (measured 1.3e-5 in ε̄ᵖ after 10 steps of homogeneous tension with
  ρ_S ≈ 5 μm⁻² on 50 Å elements, before the monolithic update made it 1e-10), and the answer
  depends on the load step (notched plate n = 16: reaction 854.5 with 5 steps, 890.3 with 10,
  4.2 %; monolithic 922.4 / 923.3, 0.10 %; tests/plasticity/test_gnd_monolithic.py). Kept
  for comparison and because the reduced 1D models of :mod:`.reduced` use it.

Recovery length ℓ (``gnd_length`` > 0, monolithic only): the recovery equation becomes the
implicit-gradient (Helmholtz) smoothing of Peerlings et al. (IJNME 39 (1996) 3391),

    R_e = (M_L + ℓ² K) ē − ∫ Nᵀ ε̄ᵖ dx = 0,   K = ∫ ∇Nᵀ∇N dx,   i.e. ē − ℓ²∇²ē = ε̄ᵖ, ∇ē·n = 0,

and ρ_G = r̄|∇ē|/b as before: the GND density of a plastic-strain field averaged over ℓ. ℓ = 0
is the lumped projection above. K·1 = 0, so a homogeneous state still has ρ_G = 0 exactly.
Why (measured, docs/plasticity.md): with ℓ = 0 the consistency condition at a plastic point
is dominated by |∇ē| (σ_f = M α μ b √(ρ_S + r̄|∇ē|/b) with ρ_G ≫ ρ_S after a strain of
h ρ_S b / r̄), a first-order (eikonal-type) equation in ē, and its discrete form is not
monotone (our reading of the measurements below): a point yielding raises ē at its nodes,
which can *lower* |∇ē| (and the flow stress) of its up-hill neighbours. Newton then cycles:
at the punch of examples/plastic_patch it stalls with ‖R‖ flipping between two values
(12 points at the lower edge of the plastic zone switching between elastic and plastic),
at any increment size. Smoothing the kink of |∇ē| at 0 instead does not help (ρ_G =
r̄(√(|∇ē|² + ε²) − ε)/b: stall at t = 0.511 for ε = 1e-6/σ, 0.479 for 1e-5/σ, against 0.628
without). With ℓ ≥ 1.5 h the punch loads to t = 1 (tests/plasticity/test_gnd_length.py),
and at the notched plate the reaction, ∫ρ_G and ρ_G away from the slot corners converge.
The natural condition ∇ē·n = 0 removes the normal gradient at a free surface within ~ℓ: keep
ℓ well below the specimen size where surface gradients matter (torsion, bending: ℓ = 0).

Mesh convergence with GND (measured, tests/plasticity/test_gnd_monolithic.py): FE torsion of
a 12 μm wire converges at order 1.17 to within 0.1 % of the converged radial model; at the
90° corners of the notched plate's slot |∇ε̄ᵖ| is singular, ρ_G there grows like 1/h and
the reaction keeps rising (B-bar: 884.7, 979.9, 1051.1 for n = 8, 16, 32, order 0.4). A
quarter plate with a circular hole (r = 2.5 μm in 20 μm, B-bar, not kept as a test) was not
converged either: 248.9, 269.1, 283.5 for n = 8, 16, 32, and n = 32 needed 100 cut-back
steps with max ρ_G 79 → 241 μm⁻² from n = 16 to 32; the lower-order model with this strong
GND term (specimen ≈ 20 μm, ρ₀ = 1 μm⁻²) is open at stress concentrators with ℓ = 0. With the
recovery length ℓ = 1 μm = ρ₀^(-1/2) the notched plate converges: reaction 825.5, 896.3, 907.4,
909.8 for n = 8 … 64 (order 2.7, 2.2), ∫ρ_G at order 2.6, 1.5, box averages of ρ_G away
from the corners to ~1 % (tests/plasticity/test_gnd_length.py, docs/plasticity.md); only the
corner maximum of ρ_G keeps growing.

Units: those of the material (stress, length); forces in stress·length^(d−1) per unit
thickness in plane strain.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Callable, Sequence

import numpy as np
from mpi4py import MPI
from petsc4py import PETSc

from mscouple.continuum.assembly import MatrixAssembler, assemble_vector
from mscouple.continuum.loads import DirichletBC, Value, boundary_load, merge_bcs
from mscouple.continuum.reference import quadrature
from mscouple.continuum.solver import LinearSolver, rigid_body_modes
from mscouple.continuum.space import FunctionSpace
from mscouple.errors import ConfigError, ConvergenceError

from .gnd import gnd_density, lumped_projection, nodal_gradient_norm
from .j2 import J2DislocationMaterial, PointState, von_mises

_XDMF_CELL = {"triangle": "triangle", "quadrilateral": "quad", "tetrahedron": "tetra",
              "hexahedron": "hexahedron"}


@dataclass
class StepRecord:
    """One converged load step: load factor, Newton residual norms, linear iterations."""

    t: float
    residuals: list = field(default_factory=list)
    ksp_iterations: int = 0
    gnd_changes: list = field(default_factory=list)  # monolithic GND: ‖R_e‖ / ‖∫N ε̄ᵖ‖ per iteration


class PlasticityProblem:
    """Quasi-static J2 plasticity with dislocation-density hardening (collective).

    Parameters
    ----------
    space : vector :class:`FunctionSpace` (ncomp = dim = 2 (plane strain) or 3).
    material : :class:`~.j2.J2DislocationMaterial`.
    gnd : include ρ_G from the recovered plastic-strain gradient.
    gnd_update : ``"monolithic"`` (Newton on u and the nodal ε̄ᵖ together) or ``"staggered"``
        (ρ_G of the previous step); module docstring. ``gnd_atol``: absolute tolerance on
        the nodal ε̄ᵖ (the recovery residual stops at rtol·‖∫N ε̄ᵖ‖ + gnd_atol·‖∫N‖).
    prefix : options prefix of the KSP (``pl_``).
    rtol, atol : Newton stops when ‖R‖ ≤ rtol·max(‖f_int‖, ‖t F‖) + atol.
    max_newton : Newton iterations per try of a step; max_backtrack : halvings of a direction.
    ksp_rtol, ksp_type, pc_type : the linear solves (CG + GAMG; ``preonly`` + ``lu`` serially
        is faster on small 2D meshes); ``-pl_ksp_*``/``-pl_pc_*`` options override them.
    predictor : start each step's Newton from the tangent predictor (:meth:`_predict`).
    gnd_length : the recovery length ℓ of ε̄ᵖ for ρ_G (module docstring; 0: lumped projection).
    bbar : mean-dilatation B-bar (Hughes, IJNME 15 (1980) 1413; Simo, Taylor & Pister, CMAME 51
        (1985) 177): every point's volumetric strain is its cell's mean θ̄, ε̄ = ε + (θ̄ − θ)/3 1,
        forces ∫ B̄ᵀσ, consistent tangent ∫ B̄ᵀ D B̄. Removes the volumetric locking of full-
        integration Q1 under (nearly) isochoric plastic flow; no effect on P1 (θ = θ̄).
    """

    def __init__(self, space: FunctionSpace, material: J2DislocationMaterial, gnd: bool = True,
                 prefix: str = "pl_", rtol: float = 1e-10, atol: float = 0.0, ksp_rtol: float = 1e-12,
                 max_newton: int = 25, max_backtrack: int = 4, ksp_type: str = "cg", pc_type: str = "gamg",
                 gnd_update: str = "monolithic", gnd_atol: float = 1e-14, bbar: bool = False,
                 predictor: bool = True, gnd_length: float = 0.0):
        mesh = space.mesh
        if mesh.dim not in (2, 3) or space.ncomp != mesh.dim:
            raise ConfigError(f"plasticity needs a 2D (plane strain) or 3D vector space, got dim={mesh.dim}, "
                              f"ncomp={space.ncomp}")
        self.space, self.mesh, self.comm = space, mesh, space.comm
        self.material = material
        self.gnd = bool(gnd)
        if gnd_update not in ("monolithic", "staggered"):
            raise ConfigError(f"gnd_update = {gnd_update!r}: expected 'monolithic' or 'staggered'")
        self.gnd_update, self.gnd_atol = gnd_update, float(gnd_atol)
        if not (np.isfinite(gnd_length) and gnd_length >= 0):
            raise ConfigError(f"gnd_length = {gnd_length!r}: expected a length >= 0")
        if gnd_length > 0 and gnd_update != "monolithic":
            raise ConfigError(f"gnd_length = {gnd_length!r} with gnd_update = {gnd_update!r}: expected "
                              "gnd_update = 'monolithic' (the gradient recovery is a solve)")
        self.gnd_length = float(gnd_length)
        self.bbar, self.predictor = bool(bbar), bool(predictor)
        self._mono = self.gnd and gnd_update == "monolithic"
        self.prefix, self.rtol, self.atol, self.ksp_rtol = prefix, rtol, atol, ksp_rtol
        self.max_newton = int(max_newton)
        self.max_backtrack = int(max_backtrack)
        self.ksp_type, self.pc_type = ksp_type, pc_type
        degree = 1 if mesh.reference.simplex else 2
        self.G, self.wdet = mesh.geometry(degree)  # [nc, nq, npc, d], [nc, nq]
        pts, _ = quadrature(mesh.cell_type, degree)
        self.Nq = mesh.reference.shape(pts)  # [nq, npc]
        self.nq = self.wdet.shape[1]
        if self.bbar:  # Ḡ − G: the cell-mean gradient minus the point gradient [nc, nq, npc, d]
            Gbar = np.einsum("cq,cqak->cak", self.wdet, self.G) / self.wdet.sum(axis=1)[:, None, None]
            self._dG = Gbar[:, None] - self.G
        npts = mesh.n_cells * self.nq
        self.state = PointState.initial(npts, material.hardening.rho0)
        self.scalar = FunctionSpace(mesh, 1)
        self._assembler = MatrixAssembler(space)
        self.u = space.create_vec()
        self.f_ref = space.create_vec()  # F: the load at t = 1
        self.bcs: list[DirichletBC] = []
        self.t = 0.0
        self.history: list[StepRecord] = []
        self.stress = np.zeros((npts, 3, 3))
        self.ep_nodal = np.zeros(mesh.n_nodes)
        self._writer = None
        self.ebar = None
        if self._mono:
            self._mono_setup()

    # ------------------------------------------------------------------ set-up
    def add_dirichlet(self, where, value: Value = 0.0, components: Sequence[int] | None = None,
                      proportional: bool = True) -> DirichletBC:
        """u_D(t) = t·value on the selected owned dofs (see :class:`~mscouple.continuum.loads.DirichletBC`);
        ``proportional=False``: u_D = value whatever t (values set from outside, e.g. the core
        nodes of a Schwarz coupling, :mod:`.coupled`)."""
        bc = DirichletBC(self.space, where, value, components)
        bc.proportional = bool(proportional)
        self.bcs.append(bc)
        return bc

    def _prescribed(self, t: float) -> tuple[np.ndarray, np.ndarray]:
        """Owned dof positions and values of every Dirichlet condition at load factor t."""
        scaled = [SimpleNamespace(local_dofs=b.local_dofs,
                                  values=b.values * (t if getattr(b, "proportional", True) else 1.0))
                  for b in self.bcs]
        return merge_bcs(scaled)

    def add_traction(self, boundary, traction: Value) -> None:
        """Proportional traction t·traction on a named boundary."""
        boundary_load(self.space, boundary, traction, vec=self.f_ref)

    # ------------------------------------------------------------------ kinematics and residual
    def strain(self, u: PETSc.Vec) -> np.ndarray:
        """Small strain [n_cells·nq, 3, 3] at the quadrature points (zz = 0 in plane strain;
        with B-bar the volumetric part is the cell mean θ̄, so zz = (θ̄ − θ)/3)."""
        d = self.mesh.dim
        ul = self.space.to_local(u)[self.mesh.cells]  # [nc, npc, d]
        gu = np.einsum("cai,cqak->cqik", ul, self.G).reshape(-1, d, d)
        eps = np.zeros((len(gu), 3, 3))
        eps[:, :d, :d] = 0.5 * (gu + gu.transpose(0, 2, 1))
        if self.bbar:
            dtheta = np.einsum("cai,cqai->cq", ul, self._dG).reshape(-1)  # θ̄ − θ
            eps += (dtheta / 3.0)[:, None, None] * np.eye(3)
        return eps

    def _element_forces(self, stress: np.ndarray) -> np.ndarray:
        """∫ B̄ᵀσ dx per cell [n_cells, npc, d] (B̄ = B without B-bar)."""
        d = self.mesh.dim
        s = stress[:, :d, :d].reshape(self.mesh.n_cells, self.nq, d, d)
        fe = np.einsum("cq,cqik,cqak->cai", self.wdet, s, self.G)
        if self.bbar:
            tr = np.trace(stress, axis1=1, axis2=2).reshape(self.mesh.n_cells, self.nq)
            fe += np.einsum("cq,cq,cqai->cai", self.wdet, tr / 3.0, self._dG)
        return fe

    def _internal_force(self, stress: np.ndarray) -> PETSc.Vec:
        return assemble_vector(self.space, self._element_forces(stress))

    def _stiffness_blocks(self, D: np.ndarray) -> np.ndarray:
        """∫ B̄ᵀ D B̄ dx as blocks [d, d, npc, npc, n_cells]."""
        d, nc, nq, w, G = self.mesh.dim, self.mesh.n_cells, self.nq, self.wdet, self.G
        D2 = D[:, :d, :d, :d, :d].reshape(nc, nq, d, d, d, d)
        blocks = np.einsum("cq,cqak,cqikjl,cqbl->ijabc", w, G, D2, G, optimize=True)
        if self.bbar:  # B̄_ai = B_ai + (1/3)(Ḡ − G)_ai 1
            dG = self._dG
            DI = np.einsum("nijmm->nij", D)[:, :d, :d].reshape(nc, nq, d, d) / 3.0  # D : 1 / 3
            ID = np.einsum("nmmkl->nkl", D)[:, :d, :d].reshape(nc, nq, d, d) / 3.0  # 1 : D / 3
            IDI = np.einsum("nmmll->n", D).reshape(nc, nq) / 9.0
            blocks += np.einsum("cq,cqak,cqik,cqbj->ijabc", w, G, DI, dG, optimize=True)
            blocks += np.einsum("cq,cqai,cqjl,cqbl->ijabc", w, dG, ID, G, optimize=True)
            blocks += np.einsum("cq,cq,cqai,cqbj->ijabc", w, IDI, dG, dG, optimize=True)
        return blocks

    def _tangent(self, D: np.ndarray) -> PETSc.Mat:
        blocks = self._stiffness_blocks(D)
        return self._assembler.assemble(np.ascontiguousarray(blocks), prefix=self.prefix)

    def _flag(self, bad: bool) -> bool:
        return bool(self.comm.allreduce(int(bad), op=MPI.MAX))

    # ------------------------------------------------------------------ one increment
    def _residual(self, t: float, pos: np.ndarray):
        """(‖R‖, reference norm, R, stress, tangent, trial state) at the current u, or None
        when the return mapping failed or produced non-finite values on any rank."""
        try:
            stress, D, trial, _ = self.material.return_map(self.strain(self.u), self.state)
            bad = not np.isfinite(stress).all()
        except ConvergenceError:
            bad = True
        if self._flag(bad):
            return None
        fint = self._internal_force(stress)
        R = fint.copy()
        R.axpy(-t, self.f_ref)
        R.getArray()[pos] = 0.0
        R.stateIncrease()
        rn = R.norm()
        ref = max(fint.norm(), abs(t) * self.f_ref.norm())
        fint.destroy()
        if not np.isfinite(rn):
            R.destroy()
            return None
        return rn, ref, R, stress, D, trial

    def _newton(self, t: float, record: StepRecord):
        """Newton at load factor t from the current u; returns (stress, trial state) or None.

        Each Newton direction is damped by backtracking (α = 1, ½, ¼, ... while ‖R‖ does
        not decrease, at most ``max_backtrack`` halvings): full steps near the solution keep
        the quadratic rate; far from it the damping stops the elastic/plastic switching
        that makes plain Newton cycle at stress concentrations."""
        sp = self.space
        pos, val = self._prescribed(t)
        ua = sp.owned(self.u).reshape(-1)
        ua[pos] = val
        self.u.stateIncrease()
        gdofs = (pos + sp.dof_range[0]).astype(PETSc.IntType)
        du = sp.create_vec()
        cur = self._residual(t, pos)
        n0 = len(record.residuals)
        try:
            while cur is not None:
                rn, ref, R, stress, D, trial = cur
                record.residuals.append(rn)
                if rn <= self.rtol * ref + self.atol:
                    R.destroy()
                    return stress, trial
                if len(record.residuals) - n0 > self.max_newton:
                    R.destroy()
                    return None
                A = self._tangent(D)
                A.zeroRowsColumns(gdofs, diag=1.0)
                ns = rigid_body_modes(sp)
                solver = LinearSolver(A, prefix=self.prefix, rtol=self.ksp_rtol, near_null_space=ns,
                                      ksp_type=self.ksp_type, pc_type=self.pc_type)
                ns.destroy()
                R.scale(-1.0)
                du.set(0.0)
                try:
                    record.ksp_iterations += solver.solve(R, du)
                    failed = False
                except ConvergenceError:
                    failed = True
                solver.destroy()
                A.destroy()
                R.destroy()
                if self._flag(failed):
                    return None
                alpha, nxt = 1.0, None
                for _ in range(self.max_backtrack + 1):
                    self.u.axpy(alpha, du)
                    nxt = self._residual(t, pos)
                    if nxt is not None and (nxt[0] < rn or alpha < 2.0 ** -self.max_backtrack):
                        break
                    self.u.axpy(-alpha, du)
                    if nxt is not None:
                        nxt[2].destroy()
                    nxt = None
                    alpha *= 0.5
                cur = nxt
        finally:
            du.destroy()
        return None

    def _recover(self, ep_bar: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(nodal ε̄ᵖ [n_nodes], ρ_G [n_cells·nq]) of a quadrature field ε̄ᵖ (collective)."""
        ep = ep_bar.reshape(self.mesh.n_cells, self.nq)
        nodal = lumped_projection(self.scalar, ep, self.wdet, self.Nq)
        gn = nodal_gradient_norm(nodal, self.mesh.cells, self.G)
        hd = self.material.hardening
        return nodal, gnd_density(gn, hd.b, hd.rbar).reshape(-1)

    def _update_gnd(self) -> None:
        """Recover ε̄ᵖ to the nodes and set ρ_G at the quadrature points (collective)."""
        if self._mono and self.gnd_length > 0:  # ē is the recovery; ρ_G is the converged one
            self.ep_nodal = self.scalar.to_local(self.ebar)[:, 0].copy()
            return
        nodal, rho_g = self._recover(self.state.ep_bar)
        self.ep_nodal = nodal
        if self.gnd:
            self.state.rho_g = rho_g

    # ------------------------------------------------------------------ monolithic GND coupling
    def _mono_setup(self) -> None:
        d = self.mesh.dim
        self.mspace = FunctionSpace(self.mesh, d + 1)
        self._massembler = MatrixAssembler(self.mspace)
        self.ebar = self.scalar.create_vec()  # the nodal ε̄ᵖ unknown ē
        self._lump = np.einsum("cq,qa->ca", self.wdet, self.Nq)  # ∫_c N_a dx
        self._hcell = self.wdet.sum(axis=1) ** (1.0 / self.mesh.dim)  # cell size
        v = assemble_vector(self.scalar, self._lump[..., None])
        self._mnorm = v.norm()  # ‖∫N‖: the ē residual of a unit error in ε̄ᵖ
        v.destroy()
        # ℓ² ∫ ∇N_a·∇N_b dx per cell [nc, npc, npc]: the gradient term of the recovery
        self._lk = (self.gnd_length ** 2 * np.einsum("cq,cqak,cqbk->cab", self.wdet, self.G, self.G)
                    if self.gnd_length > 0 else None)

    def _mono_residual(self, t: float, pos: np.ndarray):
        """Monolithic residual (module docstring): (‖R_u‖, ‖R_e‖, R_u ref, R_e ref, R [mixed],
        stress, trial, Jacobian blocks) or None when the return mapping failed on any rank."""
        mesh, d, nq = self.mesh, self.mesh.dim, self.nq
        hd = self.material.hardening
        c = hd.rbar / hd.b
        e_loc = self.scalar.to_local(self.ebar)[:, 0]
        g = np.einsum("ca,cqak->cqk", e_loc[mesh.cells], self.G)  # ∇ē [nc, nq, d]
        gn = np.sqrt(np.einsum("cqk,cqk->cq", g, g))
        # a dead zone at the round-off level of the field, g₀ = 1e-8 max|ē| / h:
        # ρ_G = c max(|∇ē| − g₀, 0). A homogeneous state (∇ē = 0 up to round-off in random
        # directions) then has ρ_G = 0 and no GND term in its Jacobian; without it the kink of
        # |∇ē| at 0 (gain c / (2√ρ_S) in σ_f) amplifies round-off into a non-uniform state.
        # The model changes by ρ_G ≤ c g₀ (e.g. 1e-5 μm⁻² in the notched plate).
        emax = self.comm.allreduce(float(np.abs(e_loc).max(initial=0.0)), op=MPI.MAX)
        g0 = 1e-8 * emax / self._hcell[:, None]
        live = gn > g0
        P = c * g / np.where(live, gn, 1.0)[..., None]  # ∂ρ_G/∂∇ē
        P[~live] = 0.0
        rho_g = c * np.maximum(gn - g0, 0.0)
        st = self.state
        start = PointState(st.eps_p, st.ep_bar, st.sqrt_rho, rho_g.reshape(-1), st.elastic)
        try:
            stress, D, trial, _, dsr, dee, der = self.material.return_map_gnd(self.strain(self.u), start)
            bad = not np.isfinite(stress).all()
        except ConvergenceError:
            bad = True
        if self._flag(bad):
            return None
        nc = mesh.n_cells
        epq = trial.ep_bar.reshape(nc, nq)
        fe = np.zeros((nc, mesh.nodes_per_cell, d + 1))
        fe[:, :, :d] = self._element_forces(stress)
        pe = np.einsum("cq,cq,qa->ca", self.wdet, epq, self.Nq)  # ∫ N ε̄ᵖ
        me = self._lump * e_loc[mesh.cells]  # lumped M ē
        if self._lk is not None:  # + ℓ² K ē
            me += np.einsum("cab,cb->ca", self._lk, e_loc[mesh.cells])
        fe[:, :, d] = me - pe
        R = assemble_vector(self.mspace, fe)
        Ro = self.mspace.owned(R)
        # references: ‖f_int‖, ‖t F‖ for the forces; ‖∫N ε̄ᵖ‖ for the recovery
        ref_vec = assemble_vector(self.mspace, np.concatenate([fe[:, :, :d], pe[..., None]], axis=2))
        refo = self.mspace.owned(ref_vec)
        fo = self.space.owned(self.f_ref)
        ref_u = max(np.sqrt(self.comm.allreduce(float((refo[:, :d] ** 2).sum()))), abs(t) * self.f_ref.norm())
        ref_e = np.sqrt(self.comm.allreduce(float((refo[:, d] ** 2).sum())))
        ref_vec.destroy()
        Ro[:, :d] -= t * fo
        Ro.reshape(-1)[self._mpos(pos)] = 0.0
        R.stateIncrease()
        rn_u = np.sqrt(self.comm.allreduce(float((Ro[:, :d] ** 2).sum())))
        rn_e = np.sqrt(self.comm.allreduce(float((Ro[:, d] ** 2).sum())))
        if not (np.isfinite(rn_u) and np.isfinite(rn_e)):
            R.destroy()
            return None
        return rn_u, rn_e, ref_u, ref_e, R, stress, trial, (D, dsr, dee, der, P)

    def _mpos(self, pos: np.ndarray) -> np.ndarray:
        """Owned-dof indices of the displacement space → those of the mixed (u, ē) space."""
        d = self.mesh.dim
        return (pos // d) * (d + 1) + pos % d

    def _mono_jacobian(self, parts) -> PETSc.Mat:
        D, dsr, dee, der, P = parts
        mesh, d, nq, w, G, N = self.mesh, self.mesh.dim, self.nq, self.wdet, self.G, self.Nq
        nc, npc = mesh.n_cells, mesh.nodes_per_cell
        A = dsr[:, :d, :d].reshape(nc, nq, d, d)
        B = dee[:, :d, :d].reshape(nc, nq, d, d)
        s = der.reshape(nc, nq)
        blocks = np.zeros((d + 1, d + 1, npc, npc, nc))
        blocks[:d, :d] = self._stiffness_blocks(D)  # ∂σ/∂ρ_G, ∂ε̄ᵖ/∂ε are deviatoric: no B-bar term
        PG = np.einsum("cqm,cqbm->cqb", P, G)  # ∂ρ_G/∂ē_b
        blocks[:d, d] = np.einsum("cq,cqak,cqik,cqb->iabc", w, G, A, PG, optimize=True)
        blocks[d, :d] = -np.einsum("cq,qa,cqjl,cqbl->jabc", w, N, B, G, optimize=True)
        blocks[d, d] = -np.einsum("cq,qa,cq,cqb->abc", w, N, s, PG, optimize=True)
        idx = np.arange(npc)
        blocks[d, d, idx, idx, :] += self._lump.T
        if self._lk is not None:
            blocks[d, d] += self._lk.transpose(1, 2, 0)
        return self._massembler.assemble(np.ascontiguousarray(blocks), prefix=self.prefix)

    def _newton_monolithic(self, t: float, record: StepRecord):
        """Newton on (u, ē) at load factor t (module docstring); (stress, trial) or None."""
        sp, ms = self.space, self.mspace
        d = self.mesh.dim
        pos, val = self._prescribed(t)
        ua = sp.owned(self.u).reshape(-1)
        ua[pos] = val
        self.u.stateIncrease()
        mpos = self._mpos(pos)
        gdofs = (mpos + ms.dof_range[0]).astype(PETSc.IntType)
        dx = ms.create_vec()
        cur = self._mono_residual(t, pos)
        n0 = len(record.residuals)
        def better(new, old) -> bool:
            """Backtracking test: the residuals, each scaled by the larger of the two states'
            references, decrease in sum."""
            su = max(new[2], old[2], 1e-300)
            se = max(new[3], old[3], self.gnd_atol * self._mnorm)
            return new[0] / su + new[1] / se < old[0] / su + old[1] / se

        def move(alpha):
            dxo = ms.owned(dx)
            sp.owned(self.u)[:] += alpha * dxo[:, :d]
            self.u.stateIncrease()
            self.scalar.owned(self.ebar)[:, 0] += alpha * dxo[:, d]
            self.ebar.stateIncrease()

        try:
            while cur is not None:
                rn_u, rn_e, ref_u, ref_e, R, stress, trial, parts = cur
                floor = self.gnd_atol * self._mnorm
                record.residuals.append(rn_u)
                record.gnd_changes.append(rn_e / max(ref_e, floor))
                if rn_u <= self.rtol * ref_u + self.atol and rn_e <= self.rtol * ref_e + floor:
                    R.destroy()
                    return stress, trial
                if len(record.residuals) - n0 > self.max_newton:
                    R.destroy()
                    return None
                A = self._mono_jacobian(parts)
                A.zeroRowsColumns(gdofs, diag=1.0)
                # LinearSolver factors with MUMPS where PETSc has it (one rank too)
                solver = LinearSolver(A, prefix=self.prefix, rtol=self.ksp_rtol, ksp_type="preonly", pc_type="lu")
                R.scale(-1.0)
                dx.set(0.0)
                try:
                    record.ksp_iterations += solver.solve(R, dx)
                    failed = False
                except ConvergenceError:
                    failed = True
                solver.destroy()
                A.destroy()
                R.destroy()
                if self._flag(failed):
                    return None
                alpha, nxt = 1.0, None
                for _ in range(self.max_backtrack + 1):
                    move(alpha)
                    nxt = self._mono_residual(t, pos)
                    if nxt is not None and (better(nxt, cur) or alpha <= 2.0 ** -self.max_backtrack):
                        break
                    move(-alpha)
                    if nxt is not None:
                        nxt[4].destroy()
                    nxt = None
                    alpha *= 0.5
                cur = nxt
        finally:
            dx.destroy()
        return None

    # ------------------------------------------------------------------ load stepping
    def newton_step(self, t: float, record: StepRecord):
        """Solve the increment from the committed state to load factor t, warm-started from
        the current u (and ē); (stress, trial state) or None if Newton failed (collective).
        Nothing is committed: :meth:`commit` does that."""
        if self.predictor:
            self._predict(t, record)
        return self._newton_monolithic(t, record) if self._mono else self._newton(t, record)

    def _predict(self, t: float, record: StepRecord) -> None:
        """Tangent predictor: from the current u (its boundary values still the old ones), one
        linear solve K_T Δu = −R(u; t) with Δu = u_D(t) − u on the prescribed dofs, K_T the
        consistent tangent (ρ_G frozen) at u. Newton then starts from a state whose boundary
        increment is spread over the body, instead of a jump in the boundary cells (which
        yields them spuriously and, with GND, puts transient gradients into ε̄ᵖ). Skipped
        when the increment has no prescribed change and no load change, or when it fails."""
        sp = self.space
        pos, val = self._prescribed(t)
        cur = self._residual(t, pos)
        if cur is None:
            return
        rn, ref, R, stress, D, trial = cur
        jump = val - sp.owned(self.u).reshape(-1)[pos]
        if self.comm.allreduce(float(np.abs(jump).max(initial=0.0)), op=MPI.MAX) == 0.0 and rn == 0.0:
            R.destroy()
            return
        x = sp.create_vec()
        x.getArray()[pos] = jump
        dx = sp.create_vec()
        A = self._tangent(D)
        R.scale(-1.0)
        A.zeroRowsColumns((pos + sp.dof_range[0]).astype(PETSc.IntType), diag=1.0, x=x, b=R)
        ns = rigid_body_modes(sp)
        solver = LinearSolver(A, prefix=self.prefix, rtol=self.ksp_rtol, near_null_space=ns,
                              ksp_type=self.ksp_type, pc_type=self.pc_type)
        ns.destroy()
        try:
            record.ksp_iterations += solver.solve(R, dx)
            failed = False
        except ConvergenceError:
            failed = True
        if not self._flag(failed):
            self.u.axpy(1.0, dx)
        for obj in (solver, A, R, x, dx):
            obj.destroy()

    def commit(self, res, record: StepRecord) -> None:
        """Make a converged :meth:`newton_step` the new state (collective)."""
        self.stress, self.state = res
        self.t = record.t
        self._update_gnd()
        self.history.append(record)

    def solve(self, t_end: float = 1.0, n_steps: int = 10, min_step: float | None = None, grow_after: int = 3,
              callback: Callable[["PlasticityProblem"], None] | None = None) -> list[StepRecord]:
        """Advance the load factor from the current t to ``t_end`` in ``n_steps`` nominal steps,
        halving a failed step (down to ``min_step``, default 1e-4 of the nominal one).
        ``callback(self)`` runs after every converged step. Returns the new step records."""
        dt0 = (t_end - self.t) / n_steps
        min_step = 1e-4 * abs(dt0) if min_step is None else min_step
        dt, easy, out = dt0, 0, []
        while self.t < t_end - 1e-12 * abs(dt0):
            dt = min(dt, t_end - self.t)
            u_start = self.u.copy()
            e_start = self.ebar.copy() if self._mono else None
            rec = StepRecord(self.t + dt)
            res = self.newton_step(self.t + dt, rec)
            if res is None:
                self.u.destroy()
                self.u = u_start
                if self._mono:
                    self.ebar.destroy()
                    self.ebar = e_start
                dt *= 0.5
                easy = 0
                if dt < min_step:
                    raise ConvergenceError(f"plasticity: load step at t={self.t:g} did not converge down to "
                                           f"an increment {min_step:g}; try more steps or -{self.prefix}ksp_monitor")
                continue
            u_start.destroy()
            if self._mono:
                e_start.destroy()
            self.commit(res, rec)
            out.append(rec)
            easy += 1
            if easy >= grow_after and dt < dt0:
                dt, easy = min(2 * dt, dt0), 0
            if callback is not None:
                callback(self)
        return out

    # ------------------------------------------------------------------ results
    def internal_force(self) -> np.ndarray:
        """Nodal internal forces ∫ Bᵀσ dx of the converged state, owned rows [n_owned, dim]
        (on constrained dofs: the reactions; collective)."""
        fint = self._internal_force(self.stress)
        out = self.space.owned(fint).copy()
        fint.destroy()
        return out

    def reaction(self, bc: DirichletBC, component: int) -> float:
        """Total internal force on the nodes of *bc* along *component* (the reaction; collective)."""
        return self.comm.allreduce(float(self.internal_force()[bc.nodes, component].sum()))

    def cell_average(self, q: np.ndarray) -> np.ndarray:
        """Volume average per cell of a quadrature field [n_cells·nq]."""
        qv = q.reshape(self.mesh.n_cells, self.nq)
        return (qv * self.wdet).sum(axis=1) / self.wdet.sum(axis=1)

    def integrate(self, q: np.ndarray) -> float:
        """∫ q dx over the whole mesh of a quadrature field [n_cells·nq] (collective)."""
        return self.comm.allreduce(float((q.reshape(self.mesh.n_cells, self.nq) * self.wdet).sum()))

    def open_output(self, path) -> None:
        """An XDMF series (HDF5 + index) of u, ε̄ᵖ (nodes), ρ_S, ρ_G, σ_eq, ε̄ᵖ (cells)."""
        from mscouple.io.xdmf import XdmfWriter

        topo = self.mesh.output_topology()
        self._writer = XdmfWriter(self.comm, path, points=topo["coordinates"], point_ids=topo["global_ids"],
                                  cells=topo["cells"], cell_type=_XDMF_CELL[topo["cell_type"]])

    def write(self) -> None:
        """Append the current fields to the open XDMF series (collective)."""
        if self._writer is None:
            raise ConfigError("call open_output(path) before write()")
        own = self.mesh.owned_nodes
        st = self.state
        self._writer.write(self.t, point_data={"u": self.space.owned(self.u).copy(),
                                               "ep_bar": self.ep_nodal[own]},
                           cell_data={"rho_S": self.cell_average(st.rho_s), "rho_G": self.cell_average(st.rho_g),
                                      "sigma_eq": self.cell_average(von_mises(self.stress)),
                                      "ep_bar_cell": self.cell_average(st.ep_bar)})

    def destroy(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        for v in (self.u, self.f_ref, self.ebar):
            if v is not None:
                v.destroy()
        if self._mono:
            self.mspace.destroy()
        self.scalar.destroy()
