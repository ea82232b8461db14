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

GND coupling is staggered (Huang et al. 2004 compute it from the previous increment): after
each converged step ε̄ᵖ is recovered to the nodes (:mod:`.gnd`), ρ_G = r̄|∇ε̄ᵖ|/b is set at
the quadrature points and enters the flow stress of the next step. Within a step ρ_G is
fixed, so the tangent is exactly consistent and Newton converges quadratically. The
explicit (staggered) coupling is only conditionally stable: when ρ_S is small and the
mesh is coarse, the gain of ρ_G on a perturbation of ε̄ᵖ is large and round-off
non-uniformities grow (measured 1.3e-5 in ε̄ᵖ after 10 steps of homogeneous tension with
ρ_S ≈ 5 μm⁻² on 50 Å elements, tests/plasticity/test_case_file.py); smaller load steps or
an implicit (monolithic) GND update would remove this.

Units: those of the material (stress, length); forces in stress·length^(d−1) per unit
thickness in plane strain.
"""
from __future__ import annotations

from dataclasses import dataclass, field
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


class PlasticityProblem:
    """Quasi-static J2 plasticity with dislocation-density hardening (collective).

    Parameters
    ----------
    space : vector :class:`FunctionSpace` (ncomp = dim = 2 (plane strain) or 3).
    material : :class:`~.j2.J2DislocationMaterial`.
    gnd : include ρ_G from the recovered plastic-strain gradient (staggered per step).
    prefix : options prefix of the KSP (``pl_``).
    rtol, atol : Newton stops when ‖R‖ ≤ rtol·max(‖f_int‖, ‖t F‖) + atol.
    max_newton : Newton iterations per try of a step; max_backtrack : halvings of a direction.
    ksp_rtol, ksp_type, pc_type : the linear solves (CG + GAMG; ``preonly`` + ``lu`` serially
        is faster on small 2D meshes); ``-pl_ksp_*``/``-pl_pc_*`` options override them.
    """

    def __init__(self, space: FunctionSpace, material: J2DislocationMaterial, gnd: bool = True,
                 prefix: str = "pl_", rtol: float = 1e-10, atol: float = 0.0, ksp_rtol: float = 1e-12,
                 max_newton: int = 25, max_backtrack: int = 4, ksp_type: str = "cg", pc_type: str = "gamg"):
        mesh = space.mesh
        if mesh.dim not in (2, 3) or space.ncomp != mesh.dim:
            raise ConfigError(f"plasticity needs a 2D (plane strain) or 3D vector space, got dim={mesh.dim}, "
                              f"ncomp={space.ncomp}")
        self.space, self.mesh, self.comm = space, mesh, space.comm
        self.material = material
        self.gnd = bool(gnd)
        self.prefix, self.rtol, self.atol, self.ksp_rtol = prefix, rtol, atol, ksp_rtol
        self.max_newton = int(max_newton)
        self.max_backtrack = int(max_backtrack)
        self.ksp_type, self.pc_type = ksp_type, pc_type
        degree = 1 if mesh.reference.simplex else 2
        self.G, self.wdet = mesh.geometry(degree)  # [nc, nq, npc, d], [nc, nq]
        pts, _ = quadrature(mesh.cell_type, degree)
        self.Nq = mesh.reference.shape(pts)  # [nq, npc]
        self.nq = self.wdet.shape[1]
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

    # ------------------------------------------------------------------ set-up
    def add_dirichlet(self, where, value: Value = 0.0, components: Sequence[int] | None = None) -> DirichletBC:
        """u_D(t) = t·value on the selected owned dofs (see :class:`~mscouple.continuum.loads.DirichletBC`)."""
        bc = DirichletBC(self.space, where, value, components)
        self.bcs.append(bc)
        return bc

    def add_traction(self, boundary, traction: Value) -> None:
        """Proportional traction t·traction on a named boundary."""
        boundary_load(self.space, boundary, traction, vec=self.f_ref)

    # ------------------------------------------------------------------ kinematics and residual
    def strain(self, u: PETSc.Vec) -> np.ndarray:
        """Small strain [n_cells·nq, 3, 3] at the quadrature points (zz = 0 in plane strain)."""
        d = self.mesh.dim
        ul = self.space.to_local(u)[self.mesh.cells]  # [nc, npc, d]
        gu = np.einsum("cai,cqak->cqik", ul, self.G).reshape(-1, d, d)
        eps = np.zeros((len(gu), 3, 3))
        eps[:, :d, :d] = 0.5 * (gu + gu.transpose(0, 2, 1))
        return eps

    def _internal_force(self, stress: np.ndarray) -> PETSc.Vec:
        d = self.mesh.dim
        s = stress[:, :d, :d].reshape(self.mesh.n_cells, self.nq, d, d)
        fe = np.einsum("cq,cqik,cqak->cai", self.wdet, s, self.G)
        return assemble_vector(self.space, fe)

    def _tangent(self, D: np.ndarray) -> PETSc.Mat:
        d = self.mesh.dim
        D2 = D[:, :d, :d, :d, :d].reshape(self.mesh.n_cells, self.nq, d, d, d, d)
        blocks = np.einsum("cq,cqak,cqikjl,cqbl->ijabc", self.wdet, self.G, D2, self.G, optimize=True)
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
        pos, val = merge_bcs(self.bcs)
        ua = sp.owned(self.u).reshape(-1)
        ua[pos] = t * val
        self.u.stateIncrease()
        gdofs = (pos + sp.dof_range[0]).astype(PETSc.IntType)
        du = sp.create_vec()
        cur = self._residual(t, pos)
        try:
            while cur is not None:
                rn, ref, R, stress, D, trial = cur
                record.residuals.append(rn)
                if rn <= self.rtol * ref + self.atol:
                    R.destroy()
                    return stress, trial
                if len(record.residuals) > self.max_newton:
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

    def _update_gnd(self) -> None:
        """Recover ε̄ᵖ to the nodes and set ρ_G at the quadrature points (collective)."""
        ep = self.state.ep_bar.reshape(self.mesh.n_cells, self.nq)
        self.ep_nodal = lumped_projection(self.scalar, ep, self.wdet, self.Nq)
        if self.gnd:
            gn = nodal_gradient_norm(self.ep_nodal, self.mesh.cells, self.G)
            hd = self.material.hardening
            self.state.rho_g = gnd_density(gn, hd.b, hd.rbar).reshape(-1)

    # ------------------------------------------------------------------ load stepping
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
            rec = StepRecord(self.t + dt)
            res = self._newton(self.t + dt, rec)
            if res is None:
                self.u.destroy()
                self.u = u_start
                dt *= 0.5
                easy = 0
                if dt < min_step:
                    raise ConvergenceError(f"plasticity: load step at t={self.t:g} did not converge down to "
                                           f"an increment {min_step:g}; try more steps or -{self.prefix}ksp_monitor")
                continue
            u_start.destroy()
            self.stress, self.state = res
            self.t = rec.t
            self._update_gnd()
            self.history.append(rec)
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
        for v in (self.u, self.f_ref):
            v.destroy()
        self.scalar.destroy()
