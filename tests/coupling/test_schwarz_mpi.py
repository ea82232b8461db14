"""Schwarz statics with the continuum and the patch on different ranks (intercommunicator)
reproduces the one-rank (local exchange) solution."""
import numpy as np
import pytest
from mpi4py import MPI

from mscouple.coupling.schwarz import SchwarzStatics

from .schwarz_cases import EPS, ROT, affine, build

KW = dict(tol=1e-12, fmax=1e-12, direct=True, relax_reduction=0.0)


def _solve_local(field):
    R, st, s, a, pot = build("springs", MPI.COMM_SELF, MPI.COMM_SELF, field=field, vacancy=True)
    sw = SchwarzStatics(R, statics=st, system=s, **KW)
    res = sw.solve()
    u_atoms = s.gather("x")[:, :2] - s.gather("x0")[:, :2]
    mesh = st.space.mesh
    u_nodes = np.zeros((mesh.n_global_nodes, 2))
    u_nodes[mesh.node_original[mesh.owned_nodes]] = st.space.owned(sw.u)
    out = (res, u_atoms, u_nodes, sw.residuals())
    sw.destroy()
    return out


@pytest.mark.mpi(min_size=2)
def test_split_layout_equals_one_rank_solution(comm):
    """Layouts 1+1, 1+2, 2+2 (continuum + patch ranks): atom and node displacements equal the
    one-rank solution to 1e-10 of the displacement scale; same iteration count."""
    size, rank = comm.Get_size(), comm.Get_rank()
    nc = 1 if size < 4 else 2
    is_c = rank < nc
    local = comm.Split(0 if is_c else 1, rank)
    inter = local.Create_intercomm(0, comm, nc if is_c else 0, tag=77)
    field = affine(EPS + ROT)
    R, st, s, a, pot = build("springs", local if is_c else None, None if is_c else local,
                             field=field, vacancy=True)
    sw = SchwarzStatics(R, statics=st, system=s, intercomm=inter, **KW)
    res = sw.solve()
    fa, fn = sw.residuals()
    ref_res, ref_atoms, ref_nodes, (rfa, rfn) = _solve_local(field)
    scale = np.abs(ref_atoms).max()
    assert scale > 0.05
    if is_c:
        mesh = st.space.mesh
        got = st.space.owned(sw.u)
        err = np.abs(got - ref_nodes[mesh.node_original[mesh.owned_nodes]]).max(initial=0.0)
    else:
        got = s.gather("x")[:, :2] - s.gather("x0")[:, :2]
        err = np.abs(got - ref_atoms).max()
    err = comm.allreduce(err, op=MPI.MAX)
    assert err <= 1e-10 * scale, err
    assert res.converged and ref_res.converged
    assert abs(res.iterations - ref_res.iterations) <= 1
    assert fa < 1e-11 and fn < 1e-11
    sw.destroy()
    inter.Free()
    local.Free()
