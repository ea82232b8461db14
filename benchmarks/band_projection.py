"""CPU cost of one bridging-domain projection against the MD step of the same block (issue 13).

The block of ``benchmarks/coupled_3d.py`` (fcc LJ, ``4 n^3`` atoms, a = 1.56 σ, free
surfaces), its handshake band two lattice constants wide (continuum weight rising linearly
over the band, dynamical masses (1 − w) m) and a P1 tetrahedral mesh of element 2a around
it, built in this one process. Measured as *process CPU time* (best of ``--repeat``), which a
loaded machine inflates far less than the wall time of two MPI ranks descheduled in turn:

``md_ms``          one velocity-Verlet step of the block alone (``MDSystem.run``, forces only)
``projection_ms``  the work one projection puts on the patch's critical path: the patch's
                   band-row gather, the band solve (``BridgingDomain.solve``: the continuum
                   root's work) and the corrections added back on the patch
``reference_ms``   the same projection with the SciPy/NumPy arithmetic the run used before the
                   compiled band kernels (N products, SuperLU's solve, fancy-index rows and
                   the exchange's row copies)

and the estimates ``(md + p · projection) / md`` of the coupled step's critical path on
dedicated cores: ``p = 1`` now (merged projections), ``p = 2`` with the reference arithmetic
(before the merge). Not included: the two shared-memory messages (24 B per band atom each
way), Python call overhead of the step, and the continuum's own work (K·u, off the critical
path while it is shorter than the patch's force loop). ``coupled_3d.py`` is the wall-clock
measurement on a quiet machine.

    .venv/bin/python benchmarks/band_projection.py [--atoms 4000 32000] [--repeat 3]

``--distributed`` (run under ``mpirun -n p``): the band system solved distributed over the
``p`` ranks (:class:`mscouple.coupling.bdm.DistributedBand`; mesh nodes dealt to the ranks in
slabs along x, each band atom to the owner of its nearest node's slab), timed as *wall* time
per projection (it is collective; median of ``--repeat`` blocks), beside the one-rank
``BridgingDomain.solve`` on rank 0 and the largest difference of the two corrections
relative to their size:

    mpirun -n 2 .venv/bin/python benchmarks/band_projection.py --distributed --atoms 4000 32000
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

A = 1.56


def block(n: int):
    """Atoms, band rows and weights, the band system and the MD system of an n^3-cell block."""
    import scipy.sparse as sp
    from mpi4py import MPI

    from mscouple.atomistic.box import Box
    from mscouple.atomistic.lattice import fcc
    from mscouple.atomistic.potentials import LennardJones
    from mscouple.atomistic.system import MDSystem
    from mscouple.continuum.meshgen import box as mesh_box
    from mscouple.coupling.bdm import BridgingDomain
    from mscouple.coupling.transfer import build_transfer

    x, _ = fcc(A, n)
    x = np.asarray(x, float)
    lo, hi, width = -0.25 * A, (n - 0.25) * A, 2.0 * A
    d = np.maximum(lo + width - x, x - (hi - width)).max(axis=1)  # distance to the core box
    w = np.clip(d / width, 0.0, 1.0)
    band = np.flatnonzero(w > 0)
    h, margin = 2.0 * A, 4
    nm = int(round((hi - lo) / h)) + 2 * margin
    mlo = lo - margin * h
    mesh = mesh_box([nm] * 3, [mlo] * 3, [mlo + nm * h] * 3)
    T = build_transfer(mesh.coordinates, mesh.cells, x[band], "P1")
    P = mesh.coordinates[mesh.cells]  # lumped masses: ρ V / 4 per tet corner
    vol = np.abs(np.linalg.det(P[:, 1:] - P[:, :1])) / 6.0
    M = np.bincount(mesh.cells.ravel(), np.repeat(vol / 4.0, 4), len(mesh.coordinates)) * 4.0 / A ** 3
    bdm = BridgingDomain(T.matrix, 1.0 - w[band], M, multipliers="atoms")
    md = MDSystem(MPI.COMM_SELF, Box(np.full(3, lo - 2 * A), np.full(3, hi + 2 * A), (False,) * 3), x,
                  LennardJones(1.0, 1.0, 2.5, mode="shift"), dt=0.005)
    md.set_velocities(0.05, seed=11)
    return band.astype(np.int64), bdm, md, sp


def reference_projection(bdm, sp, v, band, vn):
    """The pre-kernel arithmetic (patch gather + exchange row copy, SciPy products and
    SuperLU, (v + Δv) − v, fancy-index add)."""
    va = np.ascontiguousarray(v[band, :3][np.arange(band.size)])
    g = va - bdm.N @ vn
    vn_new = bdm._solve.lu.solve(bdm.M[:, None] * vn + bdm._NT @ (bdm.m[:, None] * va))
    dvn = vn_new - vn
    dva = bdm.N @ vn_new - va
    mu = bdm.m[:, None] * dva
    work = (np.einsum("i,ik,ik->", bdm.m, 2.0 * va + dva, dva)
            + np.einsum("i,ik,ik->", bdm.M, 2.0 * vn + dvn, dvn))
    float(np.max(np.abs(g)))
    corr = (va + dva) - va
    v[band, :3] += corr * 0.0
    return mu, dvn, work


def projection(bdm, v, band, vn, buf):
    from mscouple._kernels import bandproj as K

    K.rows_gather(v, band, buf)
    res = bdm.solve(buf, vn)
    K.rows_add(v, band, res.dv_atoms * 0.0)
    return res


def cpu_ms(f, n: int, repeat: int) -> float:
    f()
    best = np.inf
    for _ in range(repeat):
        t = time.process_time()
        for _ in range(n):
            f()
        best = min(best, (time.process_time() - t) / n)
    return 1e3 * best


def distributed(atoms_list, repeat: int) -> dict:
    """Wall ms per projection, distributed over COMM_WORLD against one rank (see module doc)."""
    import scipy.sparse as sp
    from mpi4py import MPI

    from mscouple.coupling.bdm import DistributedBand

    comm = MPI.COMM_WORLD
    size, rank = comm.Get_size(), comm.Get_rank()
    out = {"clock": "wall time, median of repeats", "ranks": size, "blocks": {}}
    for atoms in atoms_list:
        n = max(3, round((atoms / 4) ** (1 / 3)))
        band, bdm, md, _ = block(n)
        N = sp.csr_matrix(bdm.N)        # band atoms × band nodes (bdm.nodes: mesh numbers)
        nb = bdm.nodes.size
        owner = (np.arange(nb) * size) // nb               # contiguous slabs of band nodes
        first = N.indices[N.indptr[:-1]]
        atom_rank = owner[first]
        own = np.flatnonzero(owner == rank)
        mine = np.flatnonzero(atom_rank == rank)
        Nm = N[mine].tocoo()
        ghosts = np.setdiff1d(np.unique(Nm.col), own)
        l2g = np.concatenate([own, ghosts])
        pos = np.full(nb, -1)
        pos[l2g] = np.arange(l2g.size)
        Nloc = sp.csr_matrix((Nm.data, (Nm.row, pos[Nm.col])), shape=(mine.size, l2g.size))
        t0 = time.perf_counter()
        dband = DistributedBand(comm, Nloc, l2g, own, bdm.m[mine], bdm.M[own], components=3)
        t_setup = comm.allreduce(time.perf_counter() - t0, op=MPI.MAX)
        rng = np.random.default_rng(0)
        va = rng.standard_normal((band.size, 3)) * 0.1
        vn = rng.standard_normal((nb, 3)) * 0.1
        ref = bdm.solve(va, vn)
        got = dband.solve(va[mine], vn[own[dband.own_rows]])
        scale = np.abs(ref.dv_atoms).max()
        err = max(np.abs(got.dv_atoms - ref.dv_atoms[mine]).max(initial=0.0),
                  np.abs(got.dv_nodes - ref.dv_nodes[own[dband.own_rows]]).max(initial=0.0)) / scale
        err = comm.allreduce(err, op=MPI.MAX)
        reps = max(20, int(1e5 // band.size))
        a_loc, n_loc = va[mine].copy(), vn[own[dband.own_rows]].copy()
        ts = []
        for _ in range(repeat):
            comm.Barrier()
            t = time.perf_counter()
            for _ in range(reps):
                dband.solve(a_loc, n_loc)
            ts.append(comm.allreduce(time.perf_counter() - t, op=MPI.MAX) / reps)
        t1 = []
        for _ in range(repeat):
            t = time.perf_counter()
            for _ in range(reps):
                bdm.solve(va, vn)
            t1.append((time.perf_counter() - t) / reps)
        out["blocks"][str(4 * n ** 3)] = {
            "band_atoms": int(band.size), "band_nodes": int(nb), "system_size": dband.system_size,
            "atoms_per_rank_max": int(comm.allreduce(mine.size, op=MPI.MAX)),
            "distributed_ms": 1e3 * float(np.median(ts)), "one_rank_ms_rank0": 1e3 * float(np.median(t1)),
            "setup_s": t_setup, "work_rel_diff": abs(got.work - ref.work) / abs(ref.work),
            "correction_max_rel_diff": err}
        dband.destroy()
    return out


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--atoms", type=int, nargs="+", default=[4000, 32000])
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--distributed", action="store_true",
                   help="the band solve distributed over the mpirun ranks (DistributedBand)")
    a = p.parse_args(argv)
    if a.distributed:
        res = distributed(a.atoms, a.repeat)
        from mpi4py import MPI
        if MPI.COMM_WORLD.Get_rank() == 0:
            print(json.dumps(res, indent=1))
        return
    out = {"clock": "process CPU time, best of repeats", "blocks": {}}
    for atoms in a.atoms:
        n = max(3, round((atoms / 4) ** (1 / 3)))
        band, bdm, md, sp = block(n)
        rng = np.random.default_rng(0)
        v = rng.standard_normal((md.nlocal, 3)) * 0.1
        vn = rng.standard_normal((bdm.nodes.size, 3)) * 0.1
        buf = np.empty((band.size, 3))
        reps = max(20, int(2e5 // band.size))
        t_new = cpu_ms(lambda: projection(bdm, v, band, vn, buf), reps, a.repeat)
        t_ref = cpu_ms(lambda: reference_projection(bdm, sp, v, band, vn), reps, a.repeat)
        md.compute_forces(energy=False, virial=False)
        t_md = cpu_ms(lambda: md.run(10), max(2, int(4e4 // (10 * md.nlocal)) + 1), a.repeat) / 10
        out["blocks"][str(4 * n ** 3)] = {
            "band_atoms": int(band.size), "band_nodes": int(bdm.nodes.size),
            "md_ms": t_md, "projection_ms": t_new, "reference_ms": t_ref,
            "reference_over_projection": t_ref / t_new,
            "critical_path_estimate": (t_md + t_new) / t_md,
            "critical_path_estimate_before": (t_md + 2 * t_ref) / t_md}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
