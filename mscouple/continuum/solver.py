"""KSP set-up shared by the continuum solvers: CG + GAMG by default, options prefix, checks.

Every solver has an options prefix (``fe_`` unless told otherwise), so the PETSc options
database passes through: ``-fe_ksp_type minres -fe_pc_type hypre -fe_ksp_monitor``.
Convergence is tested on the unpreconditioned (true) residual ‖b − Ax‖ ≤ rtol‖b‖.

Direct solves that factor once and solve many times or re-factor every Newton step
(``pc_type = "lu"`` here: the statics of coupled loading paths, the plasticity Newton) factor
with MUMPS wherever PETSc has it, on one rank too (:func:`direct_factor_type`): its
multifrontal factorisation runs its dense fronts through BLAS, PETSc's own LU does not.
``benchmarks/direct_solve.py`` (3D P1 elasticity, one rank, best of 2): the factorisation
takes PETSc / MUMPS = 0.99x, 2.7x, 3.3x, 7.9x as long at 735, 2,541, 6,750 and 21,780 dofs
(4.76 s against 0.60 s at 21,780 with OpenBLAS; 1.6x with Debian's reference BLAS, which is why
``scripts/bootstrap.sh`` installs ``libopenblas0-serial``), one solve 0.33x … 0.96x (MUMPS'
triangular solves cost more on small systems: the coupled heat steps, one small solve per
interval, keep PETSc's LU on one rank), solutions equal to 4e-14.
``-<prefix>pc_factor_mat_solver_type petsc`` restores PETSc's LU.
"""
from __future__ import annotations

import numpy as np
from petsc4py import PETSc

from mscouple.errors import ConfigError, ConvergenceError


def rigid_body_modes(space) -> PETSc.NullSpace:
    """Near-null space of elasticity (translations + rotations) from owned node coordinates."""
    mesh = space.mesh
    X = mesh.coordinates[mesh.owned_nodes]
    coords = PETSc.Vec().createMPI((X.size, mesh.n_global_nodes * mesh.dim), bsize=mesh.dim, comm=space.comm)
    coords.getArray()[:] = X.ravel()
    ns = PETSc.NullSpace().createRigidBody(coords)
    coords.destroy()
    return ns


def direct_factor_type(comm) -> str | None:
    """The factor package for a direct solve on ``comm``: ``"mumps"`` where PETSc has it,
    else None (PETSc's own LU: one rank only)."""
    if PETSc.Sys.hasExternalPackage("mumps"):
        return "mumps"
    if comm.Get_size() > 1:
        raise ConfigError("a parallel direct solve needs PETSc built with MUMPS "
                          "(--download-mumps), or run the continuum on one rank")
    return None


class LinearSolver:
    """A KSP on ``A`` with prefix *prefix*: CG + GAMG, unpreconditioned norm, rtol 1e-8.

    Set-up is split so it can be timed: :meth:`setup` builds the preconditioner,
    :meth:`solve` runs the Krylov iteration and raises :class:`ConvergenceError` if it failed.
    """

    def __init__(self, A: PETSc.Mat, prefix: str = "fe_", rtol: float = 1e-8, atol: float = 1e-50,
                 max_it: int = 10000, ksp_type: str = "cg", pc_type: str = "gamg",
                 near_null_space: PETSc.NullSpace | None = None):
        self.A = A
        if near_null_space is not None:
            A.setNearNullSpace(near_null_space)
        ksp = self.ksp = PETSc.KSP().create(comm=A.getComm())
        ksp.setOptionsPrefix(prefix)
        ksp.setOperators(A)
        ksp.setType(ksp_type)
        ksp.getPC().setType(pc_type)
        if pc_type in ("lu", "cholesky"):
            fst = direct_factor_type(A.getComm())
            if fst:
                ksp.getPC().setFactorSolverType(fst)
        ksp.setTolerances(rtol=rtol, atol=atol, max_it=max_it)
        ksp.setNormType(PETSc.KSP.NormType.UNPRECONDITIONED)
        ksp.setFromOptions()
        self._is_setup = False

    def setup(self) -> None:
        """Build the preconditioner (GAMG hierarchy) now."""
        self.ksp.setUp()
        self._is_setup = True

    def solve(self, b: PETSc.Vec, x: PETSc.Vec) -> int:
        """Solve A x = b (x is the initial guess); returns iterations, raises if diverged."""
        if not self._is_setup:
            self.setup()
        self.ksp.solve(b, x)
        reason = self.ksp.getConvergedReason()
        if reason < 0:
            raise ConvergenceError(
                f"KSP '{self.ksp.getOptionsPrefix()}' diverged (reason {reason}) after "
                f"{self.ksp.getIterationNumber()} iterations; try -{self.ksp.getOptionsPrefix()}ksp_monitor "
                "or a direct solver (-<prefix>pc_type lu) to diagnose")
        return self.ksp.getIterationNumber()

    def true_residual(self, b: PETSc.Vec, x: PETSc.Vec) -> float:
        """‖b − A x‖ / ‖b‖ (1 if b = 0 and x != 0)."""
        r = b.duplicate()
        self.A.mult(x, r)
        r.aypx(-1.0, b)
        nb = b.norm()
        out = r.norm() / nb if nb > 0 else float(r.norm() > 0)
        r.destroy()
        return float(out)

    def destroy(self) -> None:
        self.ksp.destroy()


def zero_rows_columns(A: PETSc.Mat, dofs: np.ndarray, x: PETSc.Vec | None = None,
                      b: PETSc.Vec | None = None) -> None:
    """Symmetric Dirichlet elimination: rows/columns *dofs* (global, owned) set to identity;
    with x, b given, b is lifted (b −= A[:, D] x_D, b_D = x_D)."""
    A.zeroRowsColumns(np.asarray(dofs, dtype=PETSc.IntType), diag=1.0, x=x, b=b)
