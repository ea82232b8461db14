"""The nodal force of a uniform pre-stress in the bridging-weighted continuum
(``continuum/elasticity.py: prestress_load``; the thermal pressure of a patch at T,
``continuum.material.prestress = "thermal"``).

f0_a = Σ_c (1 − w_c) ∫_c σ0·∇N_a: zero where the continuum is whole (w = 1, a uniform stress
with its boundary traction is self-equilibrated) and inside a patch core (w = 0); over the
nodes on one side of a core, the band's forces sum to σ0·n A, n out of the patch, exactly
(the partition of unity: the sum telescopes to the core's cross-section). A pressure P
(σ0 = −P I) therefore pushes each band inward with P × its face area: what holds the
patch's own pressure at the reference lattice constant.
"""
from __future__ import annotations

import numpy as np
import pytest
from mpi4py import MPI

from mscouple.continuum import FunctionSpace, Mesh
from mscouple.continuum.elasticity import prestress_load
from mscouple.coupling.band import BoxShellBand, SlabBand, continuum_weight
from mscouple.errors import ConfigError

P = 0.0197  # eV/Å³, the order of Cu's thermal pressure at 300 K (any value: the force is linear in it)


def _slab_mesh(comm, dim):
    """Box [0, 12] × [0, 3]^(dim−1) of P1 simplices; two slab bands around a core 4 ≤ x ≤ 8."""
    cells = (24, 3, 3)[:dim]
    hi = (12.0, 3.0, 3.0)[:dim]
    mesh = Mesh.box(comm, cells, (0.0,) * dim, hi, simplex=True)
    bands = [SlabBand(0, 2.0, 4.0), SlabBand(0, 10.0, 8.0)]  # w = 1 at x <= 2 and x >= 10
    w = continuum_weight(bands, mesh.cell_centroids())
    return mesh, w


def _gather(comm, mesh, V, vec):
    """(coordinates, forces) of every node, on every rank."""
    X = mesh.coordinates[mesh.owned_nodes]
    f = V.owned(vec).copy()
    Xs = np.concatenate(comm.allgather(X))
    fs = np.concatenate(comm.allgather(f))
    return Xs, fs


@pytest.mark.parametrize("dim", [1, 2, 3])
def test_band_resultant_is_the_pressure_times_the_face_area(dim):
    comm = MPI.COMM_SELF
    mesh, w = _slab_mesh(comm, dim)
    V = FunctionSpace(mesh, dim)
    f0 = prestress_load(V, -P * np.eye(dim), w)
    X, f = _gather(comm, mesh, V, f0)
    area = 9.0 if dim == 3 else 3.0 if dim == 2 else 1.0
    right, left = X[:, 0] > 6.0, X[:, 0] < 6.0
    # each side's band is pushed inward, towards the core, by P × area (to round-off)
    assert f[right, 0].sum() == pytest.approx(-P * area, rel=1e-12)
    assert f[left, 0].sum() == pytest.approx(P * area, rel=1e-12)
    # self-equilibrated overall; no lateral resultant (the pressure has no shear)
    assert np.abs(f.sum(axis=0)).max() < 1e-14 * P * area
    if dim > 1:
        assert np.abs(f[right, 1:].sum(axis=0)).max() < 1e-13 * P * area
    # along x only the band nodes carry force (a cell of w < 1 and one of w > 0); the slab
    # core reaches the lateral faces here, which take the core's pressure normal to them
    band = (X[:, 0] >= 2.0 - 1e-9) & (X[:, 0] <= 4.0 + 1e-9) | (X[:, 0] >= 8.0 - 1e-9) & (X[:, 0] <= 10.0 + 1e-9)
    assert np.abs(f[~band, 0]).max() < 1e-14 * P


def test_whole_continuum_carries_no_force():
    """w = 1: the boundary traction σ0·n balances the uniform stress node by node."""
    mesh = Mesh.box(MPI.COMM_SELF, (6, 4, 4), (0.0,) * 3, (6.0, 4.0, 4.0), simplex=True)
    V = FunctionSpace(mesh, 3)
    sigma = np.array([[-1.0, 0.2, 0.0], [0.2, -0.5, 0.1], [0.0, 0.1, 0.3]]) * P  # any symmetric stress
    f = V.owned(prestress_load(V, sigma, np.ones(mesh.n_cells)))
    assert np.abs(f).max() < 1e-15
    # the same stress with w = 0 everywhere is the traction alone: boundary nodes only, σ0·n
    f = V.owned(prestress_load(V, sigma, np.zeros(mesh.n_cells)))
    X = mesh.coordinates[mesh.owned_nodes]
    inner = np.all((X > 1e-9) & (X < np.array([6.0, 4.0, 4.0]) - 1e-9), axis=1)
    assert np.abs(f[inner]).max() < 1e-15
    xmax = np.abs(X[:, 0] - 6.0) < 1e-9
    assert f[xmax].sum(axis=0) == pytest.approx(sigma[:, 0] * 16.0, rel=1e-12, abs=1e-15)


def test_box_band_pushes_the_patch_faces_inward_by_the_pressure():
    """A patch box inside a 3D block (BoxShellBand, the run's band: core 2 × 2 in y, z,
    band 1 wide): the nodes beyond the core's mid-plane x = 6 carry −P ∫ (1 − w) dA over the
    cross-section there, the core face (4) plus the band rim weighted by 1 − w (1 − d over
    the square ring of side 2 + 2d: 8 ∫₀¹ (1 − d²) dd = 16/3), i.e. −P × 28/3 in the limit of
    fine cells; w per cell (its centroid) makes it 0.45 % off at h = 0.5."""
    mesh = Mesh.box(MPI.COMM_SELF, (24, 12, 12), (0.0,) * 3, (12.0, 6.0, 6.0), simplex=True)
    V = FunctionSpace(mesh, 3)
    band = BoxShellBand((3.0, 2.0, 2.0), (9.0, 4.0, 4.0), 1.0)
    w = band.continuum_weight(mesh.cell_centroids())
    X, f = _gather(MPI.COMM_SELF, mesh, V, prestress_load(V, -P * np.eye(3), w))
    right, left = X[:, 0] > 6.0 + 1e-9, X[:, 0] < 6.0 - 1e-9
    assert f[right, 0].sum() == pytest.approx(-P * 28.0 / 3.0, rel=0.02)  # 1.0045 measured
    assert f[left, 0].sum() == pytest.approx(-f[right, 0].sum(), rel=1e-12)  # mirror image
    assert np.abs(f.sum(axis=0)).max() < 1e-13 * P * 10
    # nothing outside the band's closure: the whole continuum (w = 1) and deep in the core (w = 0)
    d = band.distance(X)
    inside = np.all((X > np.array([3.5, 2.5, 2.5])) & (X < np.array([8.5, 3.5, 3.5])), axis=1)
    assert np.abs(f[(d > 1.5) | inside]).max() < 1e-15


def test_refuses_a_non_symmetric_stress():
    mesh = Mesh.box(MPI.COMM_SELF, (2, 2), (0.0, 0.0), (1.0, 1.0), simplex=True)
    V = FunctionSpace(mesh, 2)
    with pytest.raises(ConfigError, match="symmetric"):
        prestress_load(V, [[0.0, 1.0], [0.0, 0.0]], None)


@pytest.mark.mpi(min_size=2)
def test_prestress_force_rank_independent(comm):
    mesh, w = _slab_mesh(comm, 3)
    V = FunctionSpace(mesh, 3)
    f = V.owned(prestress_load(V, -P * np.eye(3), w)).copy()
    assert comm.allreduce(int(mesh.n_owned < mesh.n_nodes)) >= 1  # really distributed
    ms, ws = _slab_mesh(MPI.COMM_SELF, 3)
    Vs = FunctionSpace(ms, 3)
    fs = Vs.owned(prestress_load(Vs, -P * np.eye(3), ws)).copy()
    ser = np.zeros_like(fs)
    ser[ms.node_original[ms.owned_nodes]] = fs
    ids = mesh.node_original[mesh.owned_nodes]
    err = comm.allreduce(float(np.abs(f - ser[ids]).max()) if len(ids) else 0.0, op=MPI.MAX)
    assert err <= 1e-14 * P


def _arrival_case(tmp_path, *replacements) -> str:
    """examples/cu_wave_3d/case_arrival.toml at 300 K (continuum constants and pre-stress), edited."""
    import os

    here = os.path.dirname(os.path.abspath(__file__))
    src = os.path.join(here, "..", "..", "examples", "cu_wave_3d", "case_arrival.toml")
    text = open(src).read().replace('material = { model = "from_patch", patch = "cu" }',
                                    'material = { model = "from_patch", patch = "cu", temperature = 300.0 }')
    text = text.replace("../../tests/data/", os.path.join(here, "..", "data", ""))
    for old, new in replacements:
        assert old in text
        text = text.replace(old, new)
    p = tmp_path / "case.toml"
    p.write_text(text)
    return str(p)


@pytest.mark.parametrize("edits, expect", [
    ([('physics = "elastodynamics"', 'physics = "elastostatics"')], "'none' with physics = 'elastostatics'"),
    ([("region = { lo = [115.68, 3.615, 3.615]", "region = { lo = [115.68, 0.0, 3.615]")],
     "reaches the mesh boundary along axis 1"),
    ([("temperature = 300.0 }", 'temperature = 300.0, prestress = "yes" }')], "prestress"),
])
def test_prestress_refusals_name_the_key(tmp_path, edits, expect):
    from mscouple.config import load_case

    with pytest.raises(ConfigError, match=expect) as exc:
        load_case(_arrival_case(tmp_path, *edits))
    assert "continuum.material.prestress" in str(exc.value) and "\n" not in str(exc.value).strip()


def test_prestress_none_and_zero_temperature_are_accepted(tmp_path):
    from mscouple.builders import thermal_prestress
    from mscouple.config import load_case

    case = load_case(_arrival_case(tmp_path, ("temperature = 300.0 }", 'temperature = 300.0, prestress = "none" }'),
                                   ('physics = "elastodynamics"', 'physics = "elastostatics"')))
    assert thermal_prestress(case.continuum, case.patch("cu")) == 0.0  # no MD run: nothing to hold
    case = load_case(_arrival_case(tmp_path, ("temperature = 300.0 }", "temperature = 0.0 }")))
    assert case.continuum.material.prestress == "thermal"
    assert thermal_prestress(case.continuum, case.patch("cu")) == 0.0


@pytest.mark.parametrize("dim", [1, 3])
def test_written_cell_stress_carries_the_prestress(dim):
    """The continuum's cell stress (the XDMF field ``stress``) is the physical stress
    C : ε(u) − P I: at u = 0 the reference state's −P I in every cell (what the outer boundary
    holds), under an affine u = A X that plus C : sym(A) to round-off (1D: the axial scalar)."""
    from mscouple.continuum.elasticity import ExplicitElastodynamics
    from mscouple.continuum.materials import ElasticMaterial
    from mscouple.run.models import _stress

    mesh, w = _slab_mesh(MPI.COMM_SELF, dim)
    mat = ElasticMaterial.cubic(1.7, 1.2, 0.8, density=8.9)
    prob = ExplicitElastodynamics(FunctionSpace(mesh, dim), mat, cell_weight=w)
    eye = np.eye(dim)
    sig0 = np.asarray(_stress(prob, prob.u, P)).reshape(-1, dim, dim)
    assert np.abs(sig0 + P * eye).max() < 1e-15
    A = np.array([[0.010, 0.002, -0.001], [0.003, -0.004, 0.0], [0.0, 0.001, 0.005]])[:dim, :dim]
    prob.displacement[...] = mesh.coordinates[mesh.owned_nodes] @ A.T
    prob.u.stateIncrease()
    sig = np.asarray(_stress(prob, prob.u, P)).reshape(-1, dim, dim)
    plain = np.asarray(_stress(prob, prob.u)).reshape(-1, dim, dim)
    assert np.abs(sig - (plain - P * eye)).max() < 1e-15
    if dim == 3:  # cubic C : sym(A), Voigt
        e = 0.5 * (A + A.T)
        s_xx = 1.7 * e[0, 0] + 1.2 * (e[1, 1] + e[2, 2])
        s_xy = 0.8 * 2 * e[0, 1]
        assert np.allclose(plain[:, 0, 0], s_xx, atol=1e-14) and np.allclose(plain[:, 0, 1], s_xy, atol=1e-14)
