"""HMM heat-flux oracle from a periodic NEMD cell (MDFluxCellModel).

Noise (measured, default cell 8x3x3 fcc, power 16, t_equil 10, t_avg 40, T = 0.3, seeds 1..8):
kappa = 14.9 mean, 1.45 sd (9.7 % of the mean) for one run. Statistical checks use 3 sd.
"""
import numpy as np
import pytest

from mscouple.errors import ConfigError
from mscouple.hmm import LocalOracle, MDFluxCellModel, steady_conduction_1d

REL_SD = 0.10  # relative sd of one NEMD kappa of the default cell (measured, see the docstring)


@pytest.fixture(scope="module")
def model3():
    return MDFluxCellModel(dim=3, t_tol=0.05)


def test_flux_antiparallel_linear_and_cached(model3):
    o = LocalOracle(model3, tol=1e-9)
    g = np.array([0.003, -0.002, 0.001])
    states = np.array([[0.30, *g], [0.30, *(2 * g)], [0.30, *(-g)], [0.31, *g], [0.30, 0.0, 0.0, 0.004]])
    q = o.evaluate(states)
    assert model3.n_md_runs == 1  # one temperature bin (0.3 +- 0.025): one NEMD run for all states
    kappa = model3.conductivity(0.3)
    assert kappa > 0
    assert np.array_equal(q[0], -kappa * g)  # Fourier's law with the measured kappa, exactly
    assert np.dot(q[0], g) < 0 and np.allclose(np.cross(q[0], g), 0.0, atol=1e-15)  # antiparallel
    assert np.array_equal(q[1], 2 * q[0]) and np.array_equal(q[2], -q[0])  # linear in grad T
    assert np.array_equal(q[3], q[0])  # T = 0.31 is in the same bin: same kappa, no new run
    assert np.array_equal(q[4], [0.0, 0.0, -kappa * 0.004])  # isotropic (cubic cell)
    before = o.n_computed
    assert np.array_equal(o.evaluate(states[:2]), q[:2]) and o.n_computed == before  # oracle cache
    m = model3.measure(0.3)
    assert abs(m["T_mean"][0] - 0.3) < 0.02  # the NEMD cell ran at the requested temperature
    assert model3.n_md_runs == 1


def test_kappa_agrees_with_nemd_within_noise(model3):
    from mscouple.coupling.thermal import nemd_conductivity

    ref = MDFluxCellModel(dim=1, seed=11, replicas=4)  # 4 independent runs, seeds 11..14
    r = ref.measure(0.3)
    assert ref.n_md_runs == 4
    direct = nemd_conductivity((8, 3, 3), T=0.3, power=16.0, t_equil=10.0, t_avg=40.0, seed=11)
    assert r["kappas"][0] == direct["kappa"]  # the oracle's run is nemd_conductivity's, bit for bit
    mean = r["kappa"]
    # the replicas' spread is the noise measured once (10 %), within the sampling error of 4 runs
    sd = r["kappa_sem"] * np.sqrt(4)
    assert 0 < sd < 2.0 * REL_SD * mean
    # the oracle (seed 3, one run) vs the mean of 4 other seeds: 3 sd of the difference
    k = model3.conductivity(0.3)
    assert abs(k - mean) <= 3.0 * REL_SD * mean * np.sqrt(1.0 + 1.0 / 4.0), (k, mean, r["kappas"])


def test_steady_1d_bar_with_md_flux():
    model = MDFluxCellModel(dim=1, t_tol=0.05)
    o = LocalOracle(model)
    # (a) ends in one temperature bin: constant kappa -> linear profile, q = -kappa dT/L
    L, TL, TR = 20.0, 0.32, 0.28
    x, T, q = steady_conduction_1d(o, TL, TR, L, 8)
    kappa = model.conductivity(0.3)
    assert np.allclose(T, TL + (TR - TL) * x / L, rtol=0, atol=1e-15)
    assert np.allclose(q, -kappa * (TR - TL) / L, rtol=1e-13, atol=0) and np.all(q > 0)  # hot -> cold
    assert model.max_seen_ratio < 0.1 and model.n_md_runs == 1  # linear response; one NEMD run
    # (b) ends in three bins: piecewise-constant kappa(T); steady flux is uniform and equals the
    # series-resistance value of the oracle's kappas at the converged element temperatures
    TL, TR = 0.25, 0.35
    x, T, q = steady_conduction_1d(o, TL, TR, L, 10)
    h = np.diff(x)
    k_e = np.array([model.conductivity(t) for t in 0.5 * (T[1:] + T[:-1])])
    assert np.allclose(q, q[0], rtol=1e-12, atol=0) and q[0] < 0  # energy conservation; cold -> hot side
    assert q[0] == pytest.approx(-(TR - TL) / np.sum(h / k_e), rel=1e-12)
    assert np.allclose(-q[0] * h / np.diff(T), k_e, rtol=1e-12)  # element slopes ~ 1/kappa
    assert model.n_md_runs == 3 and len(model.measurements) == 3  # bins 0.25, 0.30, 0.35
    with pytest.warns(RuntimeWarning, match="linear response"):
        model(np.array([[0.3, 0.1]]))  # |grad T| a / T = 0.52: warned (kappa cached, no MD)
    with pytest.raises(ConfigError):
        model(np.array([[-0.1, 0.01]]))


@pytest.mark.mpi(min_size=2)
def test_md_flux_farm_equals_local_oracle(comm):
    """Rank 0 is the client, the others serve MD flux cells: answers = the serial oracle's,
    bit for bit (each worker's kappa cache is its own; the answer depends on the state only)."""
    from mscouple.hmm import FarmClient, FarmServer

    def make():  # short runs: only the reproducibility matters here
        return MDFluxCellModel(dim=2, cells=(8, 2, 2), power=6.0, t_equil=5.0, t_avg=10.0, t_tol=0.1)

    client = comm.Get_rank() == 0
    local = comm.Split(0 if client else 1, comm.Get_rank())
    inter = local.Create_intercomm(0, comm, 1 if client else 0, tag=21)
    states = np.array([[0.30, 0.002, 0.0], [0.31, 0.0, -0.003], [0.40, 0.001, 0.001],
                       [0.29, -0.004, 0.002], [0.41, 0.0, 0.002], [0.30, 0.002, 0.0]])
    try:
        served, computed = 0, 0
        if client:
            farm = FarmClient(inter, 3, 2, tol=0.0)
            q_farm = farm.evaluate(states)
            again = farm.evaluate(states)
            computed = farm.n_computed
            farm.close()
            q_loc = LocalOracle(make()).evaluate(states)
            assert np.array_equal(q_farm, q_loc) and np.array_equal(again, q_farm)
            assert computed == 5  # the repeated state and the second batch came from the cache
            assert np.all(np.sum(q_farm * states[:, 1:], axis=1) < 0)  # flux runs down the gradient
        else:
            served = FarmServer(inter, make()).serve()
        assert comm.allreduce(served) == comm.bcast(computed, root=0)
    finally:
        inter.Free()
        local.Free()
