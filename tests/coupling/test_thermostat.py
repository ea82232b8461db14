import numpy as np
import pytest

from mscouple.coupling.thermostat import PowerMatchedThermostat
from mscouple.coupling.transfer import build_transfer
from mscouple.errors import SimulationError
from mscouple.units import METAL

from .meshes import p1_mesh


def _setup(seed=0):
    nodes, cells = p1_mesh((3, 2), h=2.0)
    rng = np.random.default_rng(seed)
    atoms = rng.uniform(0.05, [5.95, 3.95], size=(300, 2))
    T = build_transfer(nodes, cells, atoms, "P1")
    mass = rng.uniform(20.0, 60.0, size=300)
    v = rng.normal(scale=5.0, size=(300, 3))
    return T, mass, v


def test_power_identity_to_round_off():
    T, mass, v = _setup()
    th = PowerMatchedThermostat(T.matrix, mass, mvv2e=METAL.mvv2e)
    Q = np.random.default_rng(1).normal(scale=0.3, size=th.nodes.size)
    lam = th.solve(v, Q)
    f = th.forces(v, lam)
    P = th.nodal_power(v, f)
    assert np.max(np.abs(P - Q)) <= 1e-12 * np.max(np.abs(Q))
    assert abs(P.sum() - Q.sum()) <= 1e-12 * np.abs(Q).sum()


def test_integrated_energy_matches_request_to_second_order():
    T, mass, v = _setup()
    th = PowerMatchedThermostat(T.matrix, mass, mvv2e=METAL.mvv2e)
    Q = np.full(th.nodes.size, 0.05)
    errs = []
    for h in (1e-3, 5e-4):
        vv = v.copy()
        st = th.apply(vv, Q, h)
        errs.append(abs(st.injected - st.requested) / abs(st.requested))
    assert errs[0] < 1e-3
    assert errs[1] == pytest.approx(errs[0] / 2, rel=0.05)  # O(h) relative = O(h^2) per step


def test_uniform_temperature_projects_exactly():
    T, mass, _ = _setup()
    th = PowerMatchedThermostat(T.matrix, mass, mvv2e=METAL.mvv2e)
    Tset = 300.0
    speed = np.sqrt(3 * METAL.boltzmann * Tset / (METAL.mvv2e * mass))
    v = np.zeros((mass.size, 3))
    v[:, 0] = speed
    np.testing.assert_allclose(th.nodal_temperature(v, METAL.boltzmann), Tset, rtol=1e-12)


def test_atoms_at_rest_raise():
    T, mass, v = _setup()
    th = PowerMatchedThermostat(T.matrix, mass)
    with pytest.raises(SimulationError, match="finite temperature"):
        th.solve(np.zeros_like(v), np.ones(th.nodes.size))


def test_exact_scaling_injects_requested_energy_to_round_off():
    T, mass, v = _setup()
    th = PowerMatchedThermostat(T.matrix, mass, mvv2e=METAL.mvv2e)
    rng = np.random.default_rng(4)
    Q = rng.normal(scale=0.05, size=th.nodes.size)
    h = 2e-3
    v0 = v.copy()
    st = th.apply_exact(v, Q, h)
    assert abs(st.injected - st.requested) <= 1e-12 * np.abs(Q * h).sum()
    # node by node too, and the same multipliers as the power-matched solve to first order
    dke = 0.5 * METAL.mvv2e * mass * (np.sum(v ** 2, 1) - np.sum(v0 ** 2, 1))
    np.testing.assert_allclose(th.N.T @ dke, Q * h, rtol=1e-10, atol=1e-14)
    lam = th.N @ th.solve(v0, Q)
    np.testing.assert_allclose(st.lam_nodes, lam, rtol=1e-2, atol=1e-3 * np.abs(lam).max())
