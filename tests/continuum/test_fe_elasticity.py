"""Static linear elasticity: patch test, rigid modes, manufactured-solution convergence,
materials (cubic, plane stress, bar), layered composite = Voigt/Reuss."""
from __future__ import annotations

import numpy as np
import pytest

from mscouple.continuum import ElasticMaterial, ElasticStatics, FunctionSpace, Mesh
from mscouple.continuum.norms import error_norms
from mscouple.continuum.solver import rigid_body_modes

SIDES = ["xmin", "xmax", "ymin", "ymax", "zmin", "zmax"]


def manufactured(dim: int, lam: float, mu: float):
    """Exact displacement, its gradient [n, dim, dim] and the body force f = −div σ
    = −(μ Δu + (λ+μ) ∇(∇·u)) for isotropic elasticity (derived by hand).

    2D: u = (sin πx sin πy, x² y); 3D: u = (sin πx sin πy sin πz, x² y, y z²).
    """
    pi = np.pi

    def u(X):
        x, y = X[:, 0], X[:, 1]
        if dim == 2:
            return np.stack([np.sin(pi * x) * np.sin(pi * y), x ** 2 * y], 1)
        z = X[:, 2]
        return np.stack([np.sin(pi * x) * np.sin(pi * y) * np.sin(pi * z), x ** 2 * y, y * z ** 2], 1)

    def grad(X):
        x, y = X[:, 0], X[:, 1]
        sx, cx, sy, cy = np.sin(pi * x), np.cos(pi * x), np.sin(pi * y), np.cos(pi * y)
        g = np.zeros((len(X), dim, dim))
        if dim == 2:
            g[:, 0] = np.stack([pi * cx * sy, pi * sx * cy], 1)
            g[:, 1] = np.stack([2 * x * y, x ** 2], 1)
            return g
        z = X[:, 2]
        sz, cz = np.sin(pi * z), np.cos(pi * z)
        g[:, 0] = np.stack([pi * cx * sy * sz, pi * sx * cy * sz, pi * sx * sy * cz], 1)
        g[:, 1] = np.stack([2 * x * y, x ** 2, 0 * x], 1)
        g[:, 2] = np.stack([0 * x, z ** 2, 2 * y * z], 1)
        return g

    def f(X):
        x, y = X[:, 0], X[:, 1]
        sx, cx, sy, cy = np.sin(pi * x), np.cos(pi * x), np.sin(pi * y), np.cos(pi * y)
        if dim == 2:
            S = sx * sy
            lap = np.stack([-2 * pi ** 2 * S, 2 * y], 1)
            gdiv = np.stack([-pi ** 2 * S + 2 * x, pi ** 2 * cx * cy], 1)
        else:
            z = X[:, 2]
            sz, cz = np.sin(pi * z), np.cos(pi * z)
            S = sx * sy * sz
            lap = np.stack([-3 * pi ** 2 * S, 2 * y, 2 * y], 1)
            gdiv = np.stack([-pi ** 2 * S + 2 * x, pi ** 2 * cx * cy * sz + 2 * z, pi ** 2 * cx * sy * cz + 2 * y], 1)
        return -(mu * lap + (lam + mu) * gdiv)

    return u, grad, f


def solve_mms(comm, n, simplex, E=2.0, nu=0.3):
    dim = len(n)
    mesh = Mesh.box(comm, n, simplex=simplex)
    V = FunctionSpace(mesh, dim)
    mat = ElasticMaterial.isotropic(E, nu)
    lam, mu = mat.C[0, 1], mat.C[3, 3]
    u_ex, g_ex, f = manufactured(dim, lam, mu)
    prob = ElasticStatics(V, mat, rtol=1e-12)
    prob.add_body_force(f)
    prob.add_dirichlet(SIDES[: 2 * dim], u_ex)
    u = prob.solve()
    errs = error_norms(V, u, u_ex, g_ex)
    prob.destroy()
    return errs


@pytest.mark.parametrize("ns,simplex", [([(8, 8), (16, 16), (32, 32)], True), ([(8, 8), (16, 16)], False),
                                         ([(8, 8, 8), (16, 16, 16)], True), ([(4, 4, 4), (8, 8, 8)], False)])
def test_manufactured_solution_rates(serial_comm, ns, simplex):
    errs = np.array([solve_mms(serial_comm, n, simplex) for n in ns])
    rates = np.log2(errs[:-1] / errs[1:]) * (np.log(2) / np.log(ns[1][0] / ns[0][0]))
    l2_rate, h1_rate = rates[-1]
    assert 1.85 < l2_rate < 2.3, (errs, rates)
    assert 0.9 < h1_rate < 1.3, (errs, rates)


@pytest.mark.parametrize("n,simplex", [((3, 4), True), ((3, 4), False), ((2, 2, 3), True), ((2, 2, 2), False)])
def test_patch_test_affine_displacement_is_exact(serial_comm, n, simplex):
    dim = len(n)
    rng = np.random.default_rng(3)
    A, b = rng.normal(size=(dim, dim)) * 0.1, rng.normal(size=dim)
    mesh = Mesh.box(serial_comm, n, simplex=simplex,
                    mapping=lambda X: X + 0.07 * np.sin(3 * X[:, ::-1]))  # distorted interior
    V = FunctionSpace(mesh, dim)
    prob = ElasticStatics(V, ElasticMaterial.cubic(3.0, 1.2, 0.8), rtol=1e-13)
    prob.add_dirichlet(SIDES[: 2 * dim], lambda X: X @ A.T + b)
    u = prob.solve()
    X = mesh.coordinates[mesh.owned_nodes]
    assert np.abs(V.owned(u) - (X @ A.T + b)).max() < 1e-10


@pytest.mark.parametrize("n,simplex", [((3, 2), True), ((2, 2), False), ((2, 2, 2), True)])
def test_rigid_body_modes_are_in_the_kernel(serial_comm, n, simplex):
    mesh = Mesh.box(serial_comm, n, simplex=simplex)
    V = FunctionSpace(mesh, len(n))
    prob = ElasticStatics(V, ElasticMaterial.isotropic(1.0, 0.25))
    K = prob.assemble()
    ns = rigid_body_modes(V)
    y = V.create_vec()
    for v in ns.getVecs():
        K.mult(v, y)
        assert y.norm() < 1e-12 * K.norm() * v.norm()
    assert K.isSymmetric(1e-12)
    assert len(ns.getVecs()) == (3 if len(n) == 2 else 6)


def test_material_reductions():
    E, nu = 2.5, 0.3
    iso = ElasticMaterial.isotropic(E, nu)
    lam, mu = iso.C[0, 1], iso.C[3, 3]
    cub = ElasticMaterial.cubic(lam + 2 * mu, lam, mu)
    assert np.allclose(iso.C, cub.C)
    ps = iso.voigt(2, "plane_stress")
    expect = E / (1 - nu ** 2) * np.array([[1, nu, 0], [nu, 1, 0], [0, 0, (1 - nu) / 2]])
    assert np.allclose(ps, expect, rtol=1e-12)
    assert iso.voigt(1)[0, 0] == pytest.approx(E, rel=1e-12)
    # a cubic bar along [100] has Young's modulus 1/S11 = (C11 - C12)(C11 + 2 C12)/(C11 + C12)
    C11, C12, C44 = 5.0, 3.0, 2.0
    bar = ElasticMaterial.cubic(C11, C12, C44).voigt(1)[0, 0]
    assert bar == pytest.approx((C11 - C12) * (C11 + 2 * C12) / (C11 + C12), rel=1e-12)
    T = ElasticMaterial.cubic(C11, C12, C44).tensor(3)
    assert T[0, 1, 0, 1] == C44 and T[0, 0, 1, 1] == C12 and T[2, 2, 2, 2] == C11
    assert np.allclose(T, T.transpose(2, 3, 0, 1)) and np.allclose(T, T.transpose(1, 0, 2, 3))


def test_bar_under_end_load(serial_comm):
    mesh = Mesh.box(serial_comm, (7,), [0.0], [3.0])
    V = FunctionSpace(mesh, 1)
    E, P = 4.0, 0.5
    prob = ElasticStatics(V, ElasticMaterial.isotropic(E, 0.0), rtol=1e-14)
    prob.add_dirichlet("xmin")
    prob.add_traction("xmax", [P])
    u = prob.solve()
    X = mesh.coordinates[mesh.owned_nodes, 0]
    assert np.abs(V.owned(u)[:, 0] - P * X / E).max() < 1e-12
    r = prob.reaction(u)
    assert r.sum() == pytest.approx(-P, rel=1e-10)


def _effective_modulus(comm, layers_along: int, E1: float, E2: float, nu: float, bc: str) -> float:
    """Apparent E_xx of a two-layer unit square (layer 1 where coordinate ``layers_along`` < 0.5)."""
    mesh = Mesh.box(comm, (8, 8), simplex=True)
    cen = mesh.cell_centroids()
    idx = (cen[:, layers_along] > 0.5).astype(int)
    V = FunctionSpace(mesh, 2)
    mats = [ElasticMaterial.isotropic(E1, nu), ElasticMaterial.isotropic(E2, nu)]
    prob = ElasticStatics(V, mats, cell_material=idx, rtol=1e-14)
    eps = 0.01
    if bc == "uniaxial":  # u_x = 0 left, u_x = eps right, u_y = 0 left; other faces traction-free
        prob.add_dirichlet("xmin", 0.0)
        prob.add_dirichlet("xmax", eps, components=[0])
    else:  # affine u = (eps x, 0) on the whole boundary
        prob.add_dirichlet(SIDES[:4], lambda X: np.stack([eps * X[:, 0], 0 * X[:, 0]], 1))
    u = prob.solve()
    U = prob.strain_energy(u)
    return 2 * U / eps ** 2


def test_layered_composite_voigt_and_reuss(serial_comm):
    E1, E2 = 1.0, 7.0
    voigt = 0.5 * (E1 + E2)
    reuss = 1.0 / (0.5 / E1 + 0.5 / E2)
    parallel = _effective_modulus(serial_comm, 1, E1, E2, 0.0, "uniaxial")  # layers stacked in y
    series = _effective_modulus(serial_comm, 0, E1, E2, 0.0, "uniaxial")  # layers stacked in x
    assert parallel == pytest.approx(voigt, rel=1e-10)
    assert series == pytest.approx(reuss, rel=1e-10)
    # nu != 0, affine boundary data: Hill's bounds on C_xxxx (plane strain)
    nu = 0.3
    D1 = ElasticMaterial.isotropic(E1, nu).voigt(2)
    D2 = ElasticMaterial.isotropic(E2, nu).voigt(2)
    c_voigt = 0.5 * (D1 + D2)[0, 0]
    c_reuss = np.linalg.inv(0.5 * (np.linalg.inv(D1) + np.linalg.inv(D2)))[0, 0]
    for along in (0, 1):
        c = _effective_modulus(serial_comm, along, E1, E2, nu, "affine")
        assert c_reuss < c < c_voigt


@pytest.mark.parametrize("dim, simplex", [(2, True), (2, False), (3, True), (3, False)])
def test_cell_stress_of_an_affine_field_is_c_times_strain(serial_comm, dim, simplex):
    """u = A x on a box: every cell's stress equals C : sym(A) to round-off,
    for P1 and Q1 (the stress written to XDMF by the elastic parts)."""
    from mscouple.continuum.elasticity import cell_stress

    mesh = Mesh.box(serial_comm, (3,) * dim, simplex=simplex)
    V = FunctionSpace(mesh, dim)
    mat = ElasticMaterial.cubic(3.0, 1.2, 0.8)
    prob = ElasticStatics(V, mat)
    A = np.random.default_rng(3).normal(size=(dim, dim)) * 1e-2
    u = V.create_vec()
    X = mesh.coordinates[mesh.owned_nodes]
    V.owned(u)[:] = X @ A.T
    sig = cell_stress(V, prob.materials, prob.cell_material, V.to_local(u), prob.mode)
    eps = 0.5 * (A + A.T)
    want = np.einsum("ijkl,kl->ij", mat.tensor(dim, prob.mode), eps)
    assert sig.shape == (mesh.n_cells, dim, dim)
    assert np.max(np.abs(sig - want)) < 1e-13 * max(1.0, np.max(np.abs(want))) * 10
    assert np.allclose(sig, np.swapaxes(sig, 1, 2), atol=1e-15)
    u.destroy()
