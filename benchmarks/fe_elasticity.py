"""Benchmark: plane-strain P1 elasticity on the unit square (mscouple vs scikit-fem + pyamg).

n×n squares, each split into two triangles (diagonal (i,j)→(i+1,j+1)); E = 1, ν = 0.3,
plane strain; left edge clamped; traction (0, −1) on the right edge; CG + algebraic
multigrid to ‖b − Ax‖ ≤ 1e-8 ‖b‖. Prints one JSON line per n with the times of mesh,
assembly (symbolic pattern + element kernels + CSR + loads/BCs), preconditioner set-up and
solve, the iterations, and u_y(1, 0.5) against the value three peer codes agree on.

scikit-fem runs in its own venv (``/work/main/.venv-bench``, made with
``/usr/bin/python3 -m venv --system-site-packages`` and ``pip install -c constraints.txt
scikit-fem pyamg``) as a subprocess of the same invocation; ratios are printed at the end.

Usage::

    .venv/bin/python benchmarks/fe_elasticity.py [--n 64 256 512] [--repeat 2] [--no-skfem]
        [PETSc options, e.g. -fe_mat_no_inode -fe_pc_gamg_threshold 0.01 -log_view]

With ``--repeat k`` each case runs k times and the fastest run is reported (the first
touch of fresh memory is slow on these virtual machines).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

REFERENCE = {64: -6.4108904143, 256: -6.4216480387, 512: -6.4226322048}
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH_PY = os.environ.get("MSCOUPLE_BENCH_PYTHON", os.path.join(ROOT, ".venv-bench", "bin", "python"))


def run_mscouple(n: int) -> dict:
    from mpi4py import MPI

    from mscouple.continuum import ElasticMaterial, ElasticStatics, FunctionSpace, Mesh

    comm = MPI.COMM_WORLD
    comm.Barrier()
    t0 = time.perf_counter()
    mesh = Mesh.box(comm, (n, n), simplex=True)
    t1 = time.perf_counter()
    V = FunctionSpace(mesh, 2)
    prob = ElasticStatics(V, ElasticMaterial.isotropic(1.0, 0.3), mode="plane_strain", keep_unconstrained=False,
                          rtol=1e-8)
    t_sym = time.perf_counter()
    prob.add_dirichlet("xmin")
    prob.add_traction("xmax", [0.0, -1.0])
    prob.assemble()
    t2 = time.perf_counter()
    prob.setup()
    t3 = time.perf_counter()
    u = prob.solve()
    t4 = time.perf_counter()
    res = prob.true_residual(u)
    cells, N = mesh.locate(np.array([[1.0, 0.5]]))
    val = V.evaluate(u, cells, N)[0, 1]
    found = comm.allreduce(int(cells[0] >= 0))
    uy = comm.allreduce(val if cells[0] >= 0 else 0.0) / found
    out = {
        "code": "mscouple", "n": n, "ranks": comm.Get_size(), "dofs": V.n_global_dofs,
        "mesh_s": round(t1 - t0, 4), "assembly_s": round(t2 - t1, 4),
        "assembly_symbolic_s": round(t_sym - t1, 4), "assembly_numeric_s": round(t2 - t_sym, 4),
        "pc_setup_s": round(t3 - t2, 4), "solve_s": round(t4 - t3, 4),
        "total_s": round(t4 - t1, 4), "iterations": prob.iterations, "true_rel_residual": float(f"{res:.3e}"),
        "uy_1_05": uy, "uy_reference": REFERENCE.get(n),
        "uy_rel_err": abs(uy - REFERENCE[n]) / abs(REFERENCE[n]) if n in REFERENCE else None,
    }
    prob.destroy()
    V.destroy()
    mesh.destroy()
    return out


def run_skfem(n: int) -> dict:
    """The same problem in scikit-fem + pyamg (smoothed aggregation with rigid-body modes, CG)."""
    import pyamg
    import skfem
    from skfem.models.elasticity import lame_parameters, linear_elasticity

    t0 = time.perf_counter()
    x = np.linspace(0.0, 1.0, n + 1)
    m = skfem.MeshTri.init_tensor(x, x)
    t1 = time.perf_counter()
    e = skfem.ElementVector(skfem.ElementTriP1())
    basis = skfem.Basis(m, e)
    K = skfem.asm(linear_elasticity(*lame_parameters(1.0, 0.3)), basis)
    right = skfem.FacetBasis(m, e, facets=m.facets_satisfying(lambda X: np.isclose(X[0], 1.0)))

    @skfem.LinearForm
    def traction(v, w):
        return -v.value[1]

    b = skfem.asm(traction, right)
    D = basis.get_dofs(lambda X: np.isclose(X[0], 0.0)).all()
    A, bb, xx, I = skfem.condense(K, b, D=D)
    A = A.tocsr()
    t2 = time.perf_counter()
    X = m.p  # [2, nv]
    B = np.zeros((basis.N, 3))
    B[basis.nodal_dofs[0], 0] = 1.0
    B[basis.nodal_dofs[1], 1] = 1.0
    B[basis.nodal_dofs[0], 2] = -X[1]
    B[basis.nodal_dofs[1], 2] = X[0]
    ml = pyamg.smoothed_aggregation_solver(A, B=B[I])
    t3 = time.perf_counter()
    residuals: list = []
    sol = ml.solve(bb, tol=1e-8, accel="cg", residuals=residuals, maxiter=1000)
    t4 = time.perf_counter()
    u = np.zeros(basis.N)
    u[I] = sol
    node = np.argmin((X[0] - 1.0) ** 2 + (X[1] - 0.5) ** 2)
    uy = float(u[basis.nodal_dofs[1, node]])
    res = np.linalg.norm(bb - A @ sol) / np.linalg.norm(bb)
    return {"code": "scikit-fem+pyamg", "n": n, "dofs": int(basis.N), "mesh_s": round(t1 - t0, 4),
            "assembly_s": round(t2 - t1, 4), "pc_setup_s": round(t3 - t2, 4), "solve_s": round(t4 - t3, 4),
            "total_s": round(t4 - t1, 4), "iterations": len(residuals) - 1,
            "true_rel_residual": float(f"{res:.3e}"), "uy_1_05": uy, "uy_reference": REFERENCE.get(n)}


def best_of(fn, n: int, repeat: int) -> dict:
    runs = [fn(n) for _ in range(max(1, repeat))]
    return min(runs, key=lambda r: r["total_s"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, nargs="+", default=[64, 256, 512])
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--no-skfem", action="store_true", help="do not run the scikit-fem comparison")
    ap.add_argument("--skfem-worker", action="store_true", help=argparse.SUPPRESS)
    args, petsc_args = ap.parse_known_args()
    if args.skfem_worker:
        for n in args.n:
            print(json.dumps(best_of(run_skfem, n, args.repeat)), flush=True)
        return
    import petsc4py

    petsc4py.init([sys.argv[0]] + petsc_args)
    sys.path.insert(0, ROOT)
    ours = {}
    for n in args.n:
        r = best_of(run_mscouple, n, args.repeat)
        r["petsc_options"] = " ".join(petsc_args)
        ours[n] = r
        from mpi4py import MPI

        if MPI.COMM_WORLD.Get_rank() == 0:
            print(json.dumps(r), flush=True)
    from mpi4py import MPI

    if args.no_skfem or MPI.COMM_WORLD.Get_rank() != 0:
        return
    if not os.path.exists(BENCH_PY):
        print(json.dumps({"skfem": f"skipped: {BENCH_PY} not found (see the module docstring)"}))
        return
    cmd = [BENCH_PY, os.path.abspath(__file__), "--skfem-worker", "--repeat", str(args.repeat), "--n"] + \
        [str(n) for n in args.n]
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        print(json.dumps({"skfem": "failed", "stderr": proc.stderr[-2000:]}))
        return
    for line in proc.stdout.splitlines():
        s = json.loads(line)
        print(json.dumps(s), flush=True)
        o = ours[s["n"]]
        ratio = {k: round(s[k] / o[k], 2) if o[k] > 0 else None
                 for k in ("assembly_s", "pc_setup_s", "solve_s", "total_s")}
        print(json.dumps({"n": s["n"], "speedup_vs_skfem": ratio}), flush=True)


if __name__ == "__main__":
    main()
