"""Direct solve of a 3D P1 elasticity problem: PETSc's own LU against MUMPS, one invocation.

The continuum of a quasi-static coupled run (Schwarz or blended statics) is factorised once
and every iteration reuses the factors (``mscouple/coupling/schwarz.py: _setup_solver``);
``mscouple/continuum/solver.py: direct_factor_type`` picks MUMPS wherever PETSc has it, one
rank included. This script times the factorisation (``KSPSetUp``) and one solve of each on
the same matrix: a box of ``--cells`` P1 tetrahedra (cubic Cu constants, eV/Å³), bottom face
clamped, a unit load on the top face; the two solutions must agree to round-off. Which BLAS
runs MUMPS' dense fronts matters (Debian: ``update-alternatives --display
libblas.so.3-x86_64-linux-gnu``; ``scripts/bootstrap.sh`` installs OpenBLAS); the script
prints the library it finds.

    .venv/bin/python benchmarks/direct_solve.py [--cells 21 21 14] [--repeat 2]

Prints one JSON object: dofs, per solver package the best set-up and solve seconds, and the
ratios PETSc / MUMPS.
"""
from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
from mpi4py import MPI
from petsc4py import PETSc

from mscouple.continuum import ElasticMaterial, ElasticStatics, FunctionSpace, Mesh


def blas_library() -> str:
    """The file behind Debian's BLAS alternative (empty where there is none)."""
    path = "/usr/lib/x86_64-linux-gnu/libblas.so.3"
    return os.path.realpath(path) if os.path.exists(path) else ""


def one(cells, package: str) -> tuple[float, float, np.ndarray, int]:
    comm = MPI.COMM_SELF
    mesh = Mesh.box(comm, tuple(cells), lower=(0.0, 0.0, 0.0), upper=tuple(4.0 * c for c in cells), simplex=True)
    space = FunctionSpace(mesh, 3)
    cu = ElasticMaterial.cubic(1.0587, 0.7623, 0.4727)
    prob = ElasticStatics(space, cu, keep_unconstrained=False, rtol=1e-12, prefix=f"bench_{package}_")
    prob.add_dirichlet("zmin")
    prob.add_traction("zmax", [0.0, 0.0, -1.0])
    prob.assemble()
    prob.setup()
    ksp = prob.solver.ksp
    ksp.setType("preonly")
    pc = ksp.getPC()
    pc.setType("lu")
    pc.setFactorSolverType(package)
    t0 = time.perf_counter()
    ksp.setUp()
    t1 = time.perf_counter()
    u = prob.solve()
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1, space.owned(u).copy(), space.n_global_dofs


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cells", type=int, nargs=3, default=(21, 21, 14))
    p.add_argument("--repeat", type=int, default=2, help="best of this many runs per package")
    a = p.parse_args(argv)
    packages = ["petsc"] + (["mumps"] if PETSc.Sys.hasExternalPackage("mumps") else [])
    out = {"cells": list(a.cells), "blas": blas_library(), "runs": {}}
    sol = {}
    for pkg in packages:
        best = None
        for _ in range(a.repeat):
            setup, solve, u, ndof = one(a.cells, pkg)
            best = (setup, solve) if best is None else (min(best[0], setup), min(best[1], solve))
        sol[pkg] = u
        out["dofs"] = ndof
        out["runs"][pkg] = {"setup_s": best[0], "solve_s": best[1]}
    if "mumps" in sol:
        u0, u1 = sol["petsc"], sol["mumps"]
        out["max_rel_difference"] = float(np.max(np.abs(u0 - u1)) / np.max(np.abs(u0)))
        out["setup_ratio_petsc_to_mumps"] = out["runs"]["petsc"]["setup_s"] / out["runs"]["mumps"]["setup_s"]
        out["solve_ratio_petsc_to_mumps"] = out["runs"]["petsc"]["solve_s"] / out["runs"]["mumps"]["solve_s"]
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
