"""Heat conduction: manufactured steady solutions, Fourier-mode decay, energy balance,
per-step Dirichlet values."""
from __future__ import annotations

import numpy as np
import pytest

from mscouple.continuum import FunctionSpace, HeatConduction, Mesh, ThermalMaterial
from mscouple.continuum.norms import error_norms

SIDES = ["xmin", "xmax", "ymin", "ymax", "zmin", "zmax"]
K_COND = 1.7


def _exact(X):
    return (np.sin(np.pi * X[:, 0]) * np.exp(X[:, 1]) + X[:, -1] ** 2)[:, None]


def _grad(X):
    g = np.zeros((len(X), 1, X.shape[1]))
    g[:, 0, 0] = np.pi * np.cos(np.pi * X[:, 0]) * np.exp(X[:, 1])
    g[:, 0, 1] = np.sin(np.pi * X[:, 0]) * np.exp(X[:, 1])
    g[:, 0, -1] += 2 * X[:, -1]
    return g


def _source(X):
    lap = (1 - np.pi ** 2) * np.sin(np.pi * X[:, 0]) * np.exp(X[:, 1]) + 2.0
    return (-K_COND * lap)[:, None]


def _steady_errors(comm, n, simplex):
    mesh = Mesh.box(comm, n, simplex=simplex)
    V = FunctionSpace(mesh, 1)
    heat = HeatConduction(V, ThermalMaterial(K_COND, 2.0), dt=1.0, rtol=1e-12)
    heat.add_volume_source(_source)
    heat.add_dirichlet(SIDES[: 2 * len(n)], _exact)
    T = heat.solve_steady()
    errs = error_norms(V, T, _exact, _grad)
    heat.destroy()
    return errs


@pytest.mark.parametrize("ns,simplex", [([(8, 8), (16, 16), (32, 32)], True), ([(8, 8), (16, 16)], False),
                                         ([(4, 4, 4), (8, 8, 8)], True), ([(4, 4, 4), (8, 8, 8)], False)])
def test_manufactured_steady_rates(serial_comm, ns, simplex):
    errs = np.array([_steady_errors(serial_comm, n, simplex) for n in ns])
    rates = np.log2(errs[:-1] / errs[1:])
    l2_rate, h1_rate = rates[-1]
    assert 1.85 < l2_rate < 2.3, (errs, rates)
    assert 0.9 < h1_rate < 1.3, (errs, rates)


@pytest.mark.parametrize("method,dim", [("crank_nicolson", 1), ("crank_nicolson", 2), ("backward_euler", 2)])
def test_fourier_mode_decays_at_analytic_rate(serial_comm, method, dim):
    n = (64,) if dim == 1 else (32, 32)
    mesh = Mesh.box(serial_comm, n, simplex=(dim == 1))
    V = FunctionSpace(mesh, 1)
    kappa = 0.7 / 1.4
    dt = 2e-4 if method == "backward_euler" else 2e-3
    heat = HeatConduction(V, ThermalMaterial(0.7, 1.4), dt=dt, method=method)
    heat.add_dirichlet(SIDES[: 2 * dim], 0.0)
    mode = lambda X: np.prod(np.sin(np.pi * X), axis=1)  # noqa: E731
    heat.set_temperature(mode)
    amp0 = heat.temperature.max()
    nsteps = 50
    heat.run(nsteps)
    rate = -np.log(heat.temperature.max() / amp0) / heat.time
    lam = dim * np.pi ** 2 * kappa
    if method == "backward_euler":  # compare with the scheme's own amplification (1 + λ dt)^-1
        expect = np.log1p(lam * dt) / dt
    else:
        expect = lam
    assert rate == pytest.approx(expect, rel=2e-3)
    # the profile keeps its shape
    X = mesh.coordinates[mesh.owned_nodes]
    assert np.abs(heat.temperature / heat.temperature.max() - mode(X)).max() < 1e-6
    heat.destroy()


def test_energy_balance_with_nodal_heat_power(serial_comm):
    """Insulated body: E(t) = E(0) + Σ Q t exactly, for any distribution of nodal power."""
    mesh = Mesh.box(serial_comm, (6, 5), simplex=False)
    V = FunctionSpace(mesh, 1)
    heat = HeatConduction(V, ThermalMaterial(2.0, 3.0), dt=0.01, method="crank_nicolson", rtol=1e-13)
    heat.set_temperature(lambda X: X[:, 0])
    rng = np.random.default_rng(5)
    e0 = heat.thermal_energy()
    assert e0 == pytest.approx(3.0 * 0.5, rel=1e-12)  # ∫ ρc x over the unit square
    total = 0.0
    for _ in range(20):
        heat.heat_source[:] = rng.normal(size=heat.heat_source.shape)
        total += heat.dt * heat.heat_source.sum()
        heat.step()
    assert heat.thermal_energy() == pytest.approx(e0 + total, abs=1e-10)


def test_time_dependent_dirichlet_reaches_linear_profile(serial_comm):
    mesh = Mesh.box(serial_comm, (10, 2), simplex=True)
    V = FunctionSpace(mesh, 1)
    heat = HeatConduction(V, ThermalMaterial(1.0, 1.0), dt=0.05, method="backward_euler", lumped=True)
    left = heat.add_dirichlet("xmin", 0.0)
    heat.add_dirichlet("xmax", 0.0)
    for k in range(400):
        left.set(min(1.0, 0.1 * k))  # ramp the left temperature up to 1
        heat.step()
    X = mesh.coordinates[mesh.owned_nodes]
    assert np.abs(heat.temperature - (1 - X[:, 0])).max() < 1e-6
