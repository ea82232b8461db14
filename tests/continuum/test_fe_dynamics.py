"""Explicit elastodynamics: wave speed, energy conservation, CFL estimate, energy weight."""
from __future__ import annotations

import numpy as np
import pytest

from mscouple.continuum import ElasticMaterial, ExplicitElastodynamics, FunctionSpace, Mesh


def _pulse_bar(comm, E=4.0, rho=1.0, L=10.0, n=1000, x0=3.0, width=0.3):
    mesh = Mesh.box(comm, (n,), [0.0], [L])
    V = FunctionSpace(mesh, 1)
    dyn = ExplicitElastodynamics(V, ElasticMaterial.isotropic(E, 0.0, density=rho))
    c = np.sqrt(E / rho)
    X = mesh.coordinates[mesh.owned_nodes, 0]
    g = 1e-3 * np.exp(-(((X - x0) / width) ** 2))
    dg = -2 * (X - x0) / width ** 2 * g
    dyn.displacement[:, 0] = g
    dyn.velocity[:, 0] = -c * dg  # right-going wave u = g(x - c t)
    return dyn, c, X


def _energy_centroid(dyn, X):
    """Centroid of the kinetic-energy density (the pulse position)."""
    e = dyn.mass * dyn.velocity[:, 0] ** 2
    return dyn.comm.allreduce(float(np.sum(X * e))) / dyn.comm.allreduce(float(np.sum(e)))


def test_pulse_travels_at_bar_speed_and_conserves_energy(serial_comm):
    dyn, c, X = _pulse_bar(serial_comm)
    dt = 0.5 * dyn.stable_dt()
    e0 = dyn.total_energy()
    x_start = _energy_centroid(dyn, X)
    t1, t2 = 0.5, 2.0
    dyn.run(int(round(t1 / dt)), dt)
    ta, xa = dyn.time, _energy_centroid(dyn, X)
    energies = []
    while dyn.time < t2 - 1e-12:
        dyn.run(10, dt)
        energies.append(dyn.total_energy())
    tb, xb = dyn.time, _energy_centroid(dyn, X)
    speed = (xb - xa) / (tb - ta)
    assert x_start == pytest.approx(3.0, abs=1e-3)
    assert speed == pytest.approx(c, rel=2e-3)
    drift = np.max(np.abs(np.array(energies) - e0)) / e0
    print(f"pulse speed {speed:.6f} (c = {c}), max relative energy deviation {drift:.2e}")
    assert drift < 1e-4


def test_stable_dt_bounds_the_highest_frequency(serial_comm):
    mesh = Mesh.box(serial_comm, (4, 3), simplex=True, mapping=lambda X: X * [1.0, 0.6])
    V = FunctionSpace(mesh, 2)
    dyn = ExplicitElastodynamics(V, ElasticMaterial.cubic(5.0, 2.0, 1.5, density=2.0))
    K = dyn.K.convert("dense").getDenseArray()
    m = np.repeat(dyn.mass, 2)
    w2 = np.linalg.eigvalsh(K / np.sqrt(np.outer(m, m))).max()
    dt_crit = 2.0 / np.sqrt(w2)
    dt = dyn.stable_dt(safety=1.0)
    assert 0.5 * dt_crit < dt <= dt_crit * (1 + 1e-12)
    # stable just below the estimate: energy stays bounded with random initial data
    dyn.displacement[:] = np.random.default_rng(4).normal(size=dyn.displacement.shape) * 1e-3
    e0 = dyn.total_energy()
    dyn.run(2000, 0.99 * dt)
    assert dyn.total_energy() < 2 * e0


def test_energy_weight_scales_mass_and_stiffness(serial_comm):
    """w multiplies density and stiffness alike: uniform w leaves the motion unchanged and
    scales the energies by w."""
    mesh = Mesh.box(serial_comm, (6, 4), simplex=False)
    V = FunctionSpace(mesh, 2)
    mat = ElasticMaterial.isotropic(1.0, 0.25)
    runs = []
    for w in (1.0, 0.3):
        dyn = ExplicitElastodynamics(V, mat, cell_weight=np.full(mesh.n_cells, w))
        dyn.add_dirichlet("xmin")
        X = mesh.coordinates[mesh.owned_nodes]
        dyn.velocity[:, 1] = 0.01 * X[:, 0] ** 2
        dyn.run(50, 0.5 * dyn.stable_dt())
        runs.append((dyn.displacement.copy(), dyn.kinetic_energy(), dyn.strain_energy(), dyn.mass.sum()))
        dyn.destroy()
    (u1, k1, s1, m1), (u2, k2, s2, m2) = runs
    assert np.abs(u1 - u2).max() < 1e-12 * np.abs(u1).max()
    assert k2 == pytest.approx(0.3 * k1, rel=1e-10) and s2 == pytest.approx(0.3 * s1, rel=1e-10)
    assert m1 == pytest.approx(1.0, rel=1e-12) and m2 == pytest.approx(0.3, rel=1e-12)


def test_split_pieces_match_step_and_external_force(serial_comm):
    """kick/drift/compute_forces reproduce step(); a constant external force f on a free
    body gives the exact uniform acceleration f / M."""
    mesh = Mesh.box(serial_comm, (3, 3, 2), simplex=True)
    V = FunctionSpace(mesh, 3)
    dyn = ExplicitElastodynamics(V, ElasticMaterial.isotropic(2.0, 0.2, density=3.0))
    dyn.external_force[:, 2] = 0.5 * dyn.mass  # uniform body-force-like nodal load
    dt = 0.3 * dyn.stable_dt()
    for _ in range(10):
        dyn.compute_forces()
        dyn.kick(0.5 * dt)
        dyn.drift(dt)
        dyn.compute_forces()
        dyn.kick(0.5 * dt)
    t = 10 * dt
    assert np.allclose(dyn.velocity[:, 2], 0.5 * t, rtol=1e-12)
    assert np.allclose(dyn.displacement[:, 2], 0.25 * t ** 2, rtol=1e-12)
    assert np.abs(dyn.velocity[:, :2]).max() < 1e-14
