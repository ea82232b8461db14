"""The band system solved distributed over the continuum ranks (``DistributedBand``) gives the
one-rank ``BridgingDomain`` projection to round-off, for any rank count and any partition.

Band: the frame of atoms between a box core and a box of side 2.2× (a 2D/3D handshake band,
continuum weight rising linearly across it, dynamical masses (1 − w) m), P1 simplices of
two (atom multipliers) or three (node multipliers) atomic spacings. Partition: mesh nodes dealt to the ranks at random (global numbers
not contiguous per rank, so the mapping to PETSc's order is exercised), atoms dealt at random
too (rank 0 gets none in 3D: a continuum rank without band atoms takes part in the solve).
Both solvers are direct factorisations of the same SPD matrix (sparse LU / MUMPS Cholesky);
with its condition number κ (≤ 30 here, asserted) their answers differ by O(κ ε) relative:
the tolerance 1e-12 is ~100× the round-off seen (3e-15).
"""

import numpy as np
import pytest

from mscouple.continuum.meshgen import box
from mscouple.coupling.bdm import BridgingDomain, DistributedBand
from mscouple.coupling.transfer import build_transfer


def _band(dim: int, seed: int, h: float):
    rng = np.random.default_rng(seed)
    a, n = 1.0, 10 if dim == 2 else 6
    g = np.stack(np.meshgrid(*[np.arange(n) * a] * dim, indexing="ij"), -1).reshape(-1, dim)
    x = g + 0.05 * a * rng.standard_normal(g.shape)      # a perturbed lattice
    lo, hi, width = 0.0, (n - 1) * a, 2.0 * a
    d = np.maximum(lo + width - x, x - (hi - width)).max(axis=1)
    w = np.clip(d / width, 0.0, 1.0)
    keep = (w > 0.05) & (w < 0.95)                          # inside the band, away from its edges
    x, w = x[keep], w[keep]
    ncell = int(np.ceil((hi - lo + 2 * h) / h))
    mesh = box([ncell] * dim, [lo - h] * dim, [lo - h + ncell * h] * dim)
    T = build_transfer(mesh.coordinates, mesh.cells, x, "P1")
    M = 1.0 + rng.random(len(mesh.coordinates))            # lumped-mass-like, positive
    return T.matrix.tocsr(), 1.0 - w, M


def _partition(comm, N, n_nodes: int, seed: int, no_atoms_on_root: bool):
    """This rank's rows of N over its local nodes, l2g, owned global ids and its atoms."""
    size, rank = comm.Get_size(), comm.Get_rank()
    rng = np.random.default_rng(seed)
    owner = rng.integers(0, size, n_nodes)
    lo = 1 if (no_atoms_on_root and size > 1) else 0
    atom_rank = rng.integers(lo, size, N.shape[0])
    own_g = np.flatnonzero(owner == rank)
    mine = np.flatnonzero(atom_rank == rank)
    Nm = N[mine]
    ghosts = np.setdiff1d(np.unique(Nm.indices), own_g)
    l2g = np.concatenate([own_g, rng.permutation(ghosts)])   # owned first, ghosts after
    pos = np.full(n_nodes, -1)
    pos[l2g] = np.arange(l2g.size)
    Nl = Nm.tocoo()
    import scipy.sparse as sp
    Nloc = sp.csr_matrix((Nl.data, (Nl.row, pos[Nl.col])), shape=(mine.size, l2g.size))
    return Nloc, l2g, own_g, mine


@pytest.mark.mpi(min_size=2)
@pytest.mark.parametrize("dim", [2, 3])
@pytest.mark.parametrize("multipliers", ["atoms", "nodes"])
@pytest.mark.parametrize("with_fixed", [False, True])
def test_distributed_band_equals_the_one_rank_projection(comm, dim, multipliers, with_fixed):
    k = dim
    # node multipliers need several atoms per node support: a coarser mesh (as in the runs)
    N, m, M = _band(dim, seed=3, h=2.0 if multipliers == "atoms" else 3.0)
    n_nodes = M.size
    rng = np.random.default_rng(7)
    fixed = None
    band_nodes = np.unique(N.indices)
    if with_fixed:  # rollers: one component held on a fifth of the band nodes
        fixed = np.zeros((n_nodes, k), dtype=bool)
        sel = band_nodes[rng.random(band_nodes.size) < 0.2]
        fixed[sel, rng.integers(0, k, sel.size)] = True
    ref = BridgingDomain(N, m, M, multipliers=multipliers, mvv2e=0.7, node_fixed=fixed)
    Nloc, l2g, own_g, mine = _partition(comm, N, n_nodes, seed=11, no_atoms_on_root=dim == 3)
    dist = DistributedBand(comm, Nloc, l2g, own_g, m[mine], M[own_g], components=k,
                           multipliers=multipliers, mvv2e=0.7,
                           node_fixed=None if fixed is None else fixed[own_g])
    assert dist.n_band == ref.nodes.size
    assert dist.system_size == k * ref.nodes.size
    # the band system is well conditioned (the tolerance's argument)
    A = ref.N.T @ (ref.m[:, None] * ref.N.toarray()) + np.diag(ref.M) if multipliers == "atoms" else None
    if A is not None:
        ev = np.linalg.eigvalsh(A)
        assert ev[-1] / ev[0] < 30
    for trial in range(3):
        va = rng.standard_normal((m.size, k))
        vn_all = rng.standard_normal((n_nodes, k))
        if fixed is not None:
            vn_all[fixed] = 0.0
        r = ref.solve(va, vn_all[ref.nodes])
        got = dist.solve(va[mine], vn_all[own_g[dist.own_rows]])
        scale = max(np.abs(r.dv_atoms).max(), np.abs(r.dv_nodes).max())
        assert scale > 0.1
        np.testing.assert_allclose(got.dv_atoms, r.dv_atoms[mine], rtol=0, atol=1e-12 * scale)
        at = np.searchsorted(ref.nodes, own_g[dist.own_rows])
        np.testing.assert_allclose(got.dv_nodes, r.dv_nodes[at], rtol=0, atol=1e-12 * scale)
        assert got.work == pytest.approx(r.work, rel=1e-12)
        assert got.gap_before == pytest.approx(r.gap_before, rel=1e-14)
        assert got.work < 0                                  # a projection removes kinetic energy
        if fixed is not None:
            assert np.all(got.dv_nodes[fixed[own_g[dist.own_rows]]] == 0.0)
    # after the projection the velocities are on the constraint (gap ~ round-off)
    va2, vn2 = va + r.dv_atoms, vn_all.copy()
    vn2[ref.nodes] += r.dv_nodes
    again = dist.solve(va2[mine], vn2[own_g[dist.own_rows]])
    assert again.gap_before <= 1e-12 * np.abs(va).max() or multipliers == "nodes"
    assert abs(again.work) <= 1e-12 * abs(got.work)
    dist.destroy()
