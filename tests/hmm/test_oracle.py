"""Oracle batching, tolerance cache, and the task farm over an intercommunicator."""
import numpy as np
import pytest

from mscouple.errors import SimulationError
from mscouple.hmm.cache import StateCache, unique_within
from mscouple.hmm.oracle import FarmClient, FarmServer, LocalOracle


class Quadratic:
    """sigma = 3 e + e^2 per component; counts evaluations."""

    state_size = answer_size = 2
    name = "quadratic"

    def __init__(self):
        self.calls = 0

    def __call__(self, s):
        s = np.asarray(s).reshape(-1, 2)
        self.calls += len(s)
        if np.any(s > 1e3):
            raise ValueError("state out of range")
        return 3 * s + s**2


def test_cache_tolerance_and_dedup():
    c = StateCache(2, 1, tol=1e-3)
    c.store([[0.0, 0.0], [1.0, 1.0]], [[10.0], [20.0]])
    found, ans = c.lookup([[5e-4, -9e-4], [1.0, 1.002], [1.0005, 0.9995]])
    assert found.tolist() == [True, False, True]
    assert ans[0, 0] == 10.0 and ans[2, 0] == 20.0 and np.isnan(ans[1, 0])
    reps, idx = unique_within(np.array([[0.0, 0], [0.0005, 0], [1, 1], [0.0, 0]]), 1e-3)
    assert len(reps) == 2 and idx.tolist() == [0, 0, 1, 0]


def test_local_oracle_caches_within_tolerance():
    m = Quadratic()
    o = LocalOracle(m, tol=1e-6)
    s = np.array([[0.1, 0.2], [0.1, 0.2], [0.3, 0.4]])
    a = o.evaluate(s)
    assert np.allclose(a, 3 * s + s**2, rtol=1e-15)
    assert m.calls == 2  # the repeat in the batch computed once
    o.evaluate(s + 5e-7)  # within tolerance: all from cache
    assert m.calls == 2 and o.stats()["cache_hits"] == 3


@pytest.mark.mpi(min_size=2)
def test_task_farm_over_intercomm(comm):
    """Rank 0 (and rank 1 when size >= 4) are clients, the rest workers; answers equal a
    serial evaluation; a failing micro model raises on every client, no rank hangs."""
    size, rank = comm.Get_size(), comm.Get_rank()
    n_clients = 2 if size >= 4 else 1
    is_client = rank < n_clients
    local = comm.Split(0 if is_client else 1, rank)
    inter = local.Create_intercomm(0, comm, n_clients if is_client else 0, tag=11)
    try:
        if is_client:
            farm = FarmClient(inter, 2, 2, tol=0.0)
            rng = np.random.default_rng(rank)
            for step in range(3):
                s = rng.uniform(-1, 1, size=(7 + step, 2))
                s[-1] = s[0]  # a repeat in the batch
                a = farm.evaluate(s)
                assert np.allclose(a, 3 * s + s**2, rtol=1e-15, atol=0)
            before = farm.n_computed
            farm.evaluate(s)  # the last batch again: all cached, nothing sent to compute
            assert farm.n_computed == before
            farm.evaluate(np.zeros((0, 2)))  # an empty batch is fine
            with pytest.raises(SimulationError):
                farm.evaluate(np.array([[2e3, 0.0]]))
            farm.close()
            counts = None
        else:
            server = FarmServer(inter, Quadratic())
            counts = server.serve()
        total = comm.allreduce(counts or 0)
        # every worker did some work when there were enough distinct states
        assert total == n_clients * (7 + 8 + 9 - 3) + n_clients
    finally:
        inter.Free()
        local.Free()


@pytest.mark.mpi(min_size=2)
def test_hmm_bar_over_the_farm_equals_serial(comm):
    """The LJ bar with MD-cell stresses served by size-1 oracle ranks = the serial solve."""
    from mscouple.atomistic.potentials import LennardJones
    from mscouple.hmm.bar import solve_bar
    from mscouple.hmm.cauchy_born import equilibrium_spacing
    from mscouple.hmm.micro import MDCellModel

    lj = LennardJones(cutoff=2.5, mode="smooth")
    a0 = equilibrium_spacing(lj, "chain")
    model = MDCellModel(lj, "chain", a0, 8)
    L = 40 * a0
    client = comm.Get_rank() == 0
    local = comm.Split(0 if client else 1, comm.Get_rank())
    inter = local.Create_intercomm(0, comm, 1 if client else 0, tag=12)
    try:
        computed, served = 0, 0
        if client:
            farm = FarmClient(inter, 1, 1)
            par = solve_bar(farm, L, 6, 1.0 / L, 1.0)
            farm.close()
            computed = farm.n_computed
            ser = solve_bar(LocalOracle(model), L, 6, 1.0 / L, 1.0)
            assert np.array_equal(par.u, ser.u)  # same states, same MD answers, same arithmetic
        else:
            served = FarmServer(inter, model).serve()
        # every state the client did not find in its cache was run exactly once by some worker
        assert comm.allreduce(served) == comm.bcast(computed, root=0) > 0
    finally:
        inter.Free()
        local.Free()
