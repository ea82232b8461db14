"""Rank-count independence: a distributed solve equals a COMM_SELF solve of the same mesh
(compared node by node through the rank-independent ``node_original`` numbers)."""
from __future__ import annotations

import numpy as np
import pytest
from mpi4py import MPI

from mscouple.continuum import (ElasticMaterial, ElasticStatics, ExplicitElastodynamics, FunctionSpace,
                                HeatConduction, Mesh, ThermalMaterial, boundary_load)


def _on_original(mesh, values_owned):
    """Serial-order array of owned values: (original ids, values) pairs of this rank."""
    return mesh.node_original[mesh.owned_nodes], values_owned


def _compare(comm, par_mesh, par_vals, ser_vals, tol):
    ids, vals = _on_original(par_mesh, par_vals)
    err = np.abs(vals - ser_vals[ids]).max() if len(ids) else 0.0
    scale = np.abs(ser_vals).max()
    err = comm.allreduce(err, op=MPI.MAX)
    assert err <= tol * scale, err / scale
    return err / scale


def _statics(comm, n, simplex):
    dim = len(n)
    mesh = Mesh.box(comm, n, simplex=simplex)
    V = FunctionSpace(mesh, dim)
    cen = mesh.cell_centroids()
    idx = (cen[:, 0] > 0.4).astype(int)
    prob = ElasticStatics(V, [ElasticMaterial.isotropic(1.0, 0.3), ElasticMaterial.cubic(3.0, 1.0, 1.2)],
                          cell_material=idx, rtol=1e-14)
    prob.add_dirichlet("xmin")
    prob.add_traction("xmax", [0.0, -1.0, 0.5][:dim])
    prob.add_body_force(lambda X: np.stack([np.sin(X[:, 1])] + [X[:, 0]] * (dim - 1), 1))
    u = prob.solve()
    out = V.owned(u).copy()
    prob.destroy()
    return mesh, out


@pytest.mark.mpi(min_size=2)
@pytest.mark.parametrize("n,simplex", [((12, 8), True), ((6, 4, 4), False)])
def test_statics_rank_independent(comm, n, simplex):
    mesh, up = _statics(comm, n, simplex)
    assert comm.allreduce(mesh.n_owned) == mesh.n_global_nodes
    assert comm.allreduce(int(mesh.n_owned < mesh.n_nodes)) >= 1  # really distributed, with ghosts
    _, us = _statics(MPI.COMM_SELF, n, simplex)
    _compare(comm, mesh, up, us, 1e-10)


def _dynamics(comm, steps=40):
    mesh = Mesh.box(comm, (10, 6), simplex=True)
    V = FunctionSpace(mesh, 2)
    w = np.clip(mesh.cell_centroids()[:, 0] * 1.5, 0.0, 1.0)  # bridging-like ramp of the energy weight
    dyn = ExplicitElastodynamics(V, ElasticMaterial.isotropic(1.0, 0.25), cell_weight=w)
    dyn.add_dirichlet("xmax")
    X = mesh.coordinates[mesh.owned_nodes]
    dyn.velocity[:, 1] = np.sin(np.pi * X[:, 0]) * X[:, 1]
    dt = 0.5 * dyn.stable_dt()
    dyn.run(steps, dt)
    res = dyn.displacement.copy(), dyn.kinetic_energy(), dyn.strain_energy(), dt
    dyn.destroy()
    return mesh, res


@pytest.mark.mpi(min_size=2)
def test_dynamics_rank_independent(comm):
    mesh, (up, kp, sp, dtp) = _dynamics(comm)
    _, (us, ks, ss, dts) = _dynamics(MPI.COMM_SELF)
    assert dtp == pytest.approx(dts, rel=1e-12)
    assert kp == pytest.approx(ks, rel=1e-10) and sp == pytest.approx(ss, rel=1e-10)
    _compare(comm, mesh, up, us, 1e-10)


def _heat(comm):
    mesh = Mesh.box(comm, (6, 5, 4), simplex=True)
    V = FunctionSpace(mesh, 1)
    heat = HeatConduction(V, ThermalMaterial(1.3, 0.8), dt=0.01, method="crank_nicolson", rtol=1e-14)
    bc = heat.add_dirichlet("zmin", 0.0)
    heat.add_flux("zmax", 0.7)
    X = mesh.coordinates[mesh.owned_nodes]
    for k in range(5):
        bc.set(lambda P: 0.1 * k * P[:, 0])
        heat.heat_source[:] = np.where(X[:, 1] > 0.5, 0.2, 0.0)
        heat.step()
    out = heat.temperature.copy()
    e = heat.thermal_energy()
    heat.destroy()
    return mesh, out[:, None], e


@pytest.mark.mpi(min_size=2)
def test_heat_rank_independent(comm):
    mesh, Tp, ep = _heat(comm)
    _, Ts, es = _heat(MPI.COMM_SELF)
    assert ep == pytest.approx(es, rel=1e-10)
    _compare(comm, mesh, Tp, Ts, 1e-10)


@pytest.mark.mpi(min_size=2)
def test_boundaries_locate_and_ghost_sums(comm):
    mesh = Mesh.box(comm, (5, 4, 3), simplex=False)
    V = FunctionSpace(mesh, 1)
    for name, area in [("xmin", 1.0), ("zmax", 1.0)]:
        assert boundary_load(V, name, 1.0).sum() == pytest.approx(area, rel=1e-12)
    mask = V.boundary_mask("xmin")
    X = mesh.coordinates[mesh.owned_nodes]
    assert np.array_equal(mask, np.isclose(X[:, 0], 0.0))
    pts = np.random.default_rng(6).uniform(0, 1, (50, 3))
    cells, N = mesh.locate(pts)
    assert comm.allreduce((cells >= 0).astype(int)).min() >= 1  # every point found on some rank
    u = V.from_function(lambda P: 2 * P[:, 0] - P[:, 2])
    vals = V.evaluate(u, cells, N)[:, 0]
    ok = cells >= 0
    assert np.allclose(vals[ok], 2 * pts[ok, 0] - pts[ok, 2], atol=1e-12)
    # ghost sums: each cell adds 1/npc to each of its nodes → owned totals = cells around the node / npc
    local = np.bincount(mesh.cells.ravel(), minlength=mesh.n_nodes)[:, None] / 8.0
    tot = V.add_local(local)
    assert tot.sum() == pytest.approx(mesh.n_global_cells, rel=1e-12)
    corner = np.all(np.isclose(X, 0.0), axis=1)
    assert np.allclose(V.owned(tot)[corner], 1 / 8.0)


def _write_msh(path, coords, tris, segs, seg_tags, names):
    """A Gmsh 2.2 ASCII file: triangles (physical 10) and tagged boundary segments."""
    lines = ["$MeshFormat", "2.2 0 8", "$EndMeshFormat", "$PhysicalNames", str(len(names) + 1)]
    lines += [f'1 {tag} "{name}"' for name, tag in names.items()] + ['2 10 "body"', "$EndPhysicalNames"]
    lines += ["$Nodes", str(len(coords))] + [f"{i + 1} {x} {y} 0" for i, (x, y) in enumerate(coords)]
    lines += ["$EndNodes", "$Elements", str(len(segs) + len(tris))]
    k = 1
    for s, t in zip(segs, seg_tags):
        lines.append(f"{k} 1 2 {t} {t} {s[0] + 1} {s[1] + 1}")
        k += 1
    for t in tris:
        lines.append(f"{k} 2 2 10 1 {t[0] + 1} {t[1] + 1} {t[2] + 1}")
        k += 1
    lines.append("$EndElements")
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.mpi(min_size=2)
def test_gmsh_mesh_distributed(comm, tmp_path):
    from mscouple.continuum import box

    path = None
    if comm.Get_rank() == 0:
        d = box((6, 4), [0.0, 0.0], [3.0, 2.0])
        keep = np.isin(d.facet_tags, [1, 2])  # only left (1) and right (2) carry physical groups
        path = tmp_path / "plate.msh"
        _write_msh(path, d.coordinates, d.cells, d.facets[keep], d.facet_tags[keep], {"inlet": 1, "outlet": 2})
        path = str(path)
    path = comm.bcast(path, root=0)
    mesh = Mesh.from_gmsh(comm, path, dim=2)
    assert comm.allreduce(mesh.n_cells) == 48
    assert comm.allreduce(float(mesh.cell_volumes().sum())) == pytest.approx(6.0)
    V = FunctionSpace(mesh, 1)
    assert boundary_load(V, "inlet", 1.0).sum() == pytest.approx(2.0)
    assert boundary_load(V, "outlet", 1.0).sum() == pytest.approx(2.0)
    # heat through the plate: T = 1 at the inlet, 0 at the outlet → linear in x
    heat = HeatConduction(V, ThermalMaterial(1.0), dt=1.0, rtol=1e-13)
    heat.add_dirichlet("inlet", 1.0)
    heat.add_dirichlet("outlet", 0.0)
    heat.solve_steady()
    X = mesh.coordinates[mesh.owned_nodes]
    assert np.abs(heat.temperature - (1 - X[:, 0] / 3.0)).max() < 1e-10
    heat.destroy()
