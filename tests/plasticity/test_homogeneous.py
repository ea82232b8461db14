"""Homogeneous tension: the FE stress–strain curve is the closed-form Kocks–Mecking/Taylor
curve; the return mapping's tangent is consistent; Newton converges quadratically; cut-backs
recover from failed steps."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import solve_ivp
from scipy.optimize import brentq

from mscouple.plasticity.hardening import DislocationHardening
from mscouple.plasticity.j2 import J2DislocationMaterial, PointState

# copper-like constants in MPa, μm, μm⁻² (ρ = 1 μm⁻² = 1e12 m⁻²)
HD = DislocationHardening(mu=48000.0, b=2.556e-4, alpha=0.3, k1=200.0, k2=5.0, rho0=10.0)
MAT = J2DislocationMaterial(137000.0, 48000.0, HD)
EPS_MAX = 0.02


def closed_form_stress(eps: float) -> float:
    """Uniaxial stress at total strain eps: σ = M α μ b √ρ(εᵖ), ε = σ/E + εᵖ, with
    √ρ = k1/k2 + (√ρ0 − k1/k2) exp(−M k2 εᵖ/2) (written out here, independent of the code)."""
    M, a, mu, b, k1, k2, r0 = 3.06, 0.3, 48000.0, 2.556e-4, 200.0, 5.0, 10.0
    E = MAT.youngs_modulus

    def sig(ep):
        return M * a * mu * b * (k1 / k2 + (np.sqrt(r0) - k1 / k2) * np.exp(-M * k2 * ep / 2))

    if E * eps <= sig(0.0):
        return E * eps
    ep = brentq(lambda x: sig(x) / E + x - eps, 0.0, eps, xtol=1e-16, rtol=1e-15)
    return sig(ep)


def test_closed_form_is_the_integral_of_the_evolution_law():
    """The closed form used above solves dρ/dεᵖ = M (k1 √ρ − k2 ρ) (RK45 at rtol 1e-12)."""
    ep = np.linspace(0, 0.05, 11)
    sol = solve_ivp(lambda e, r: 3.06 * (200.0 * np.sqrt(r) - 5.0 * r), (0, 0.05), [10.0], t_eval=ep,
                    rtol=1e-12, atol=1e-12)
    assert np.allclose(HD.rho_ssd(ep), sol.y[0], rtol=1e-9)


@pytest.mark.parametrize("simplex", [False, True], ids=["hex", "tet"])
def test_uniaxial_tension_equals_closed_form(comm, simplex):
    from mscouple.continuum.mesh import Mesh
    from mscouple.continuum.space import FunctionSpace
    from mscouple.plasticity.solver import PlasticityProblem

    mesh = Mesh.box(comm, [2, 2, 2], simplex=simplex)
    pb = PlasticityProblem(FunctionSpace(mesh, 3), MAT, gnd=True)
    for k, face in enumerate(("xmin", "ymin", "zmin")):
        pb.add_dirichlet(face, 0.0, [k])
    pull = pb.add_dirichlet("xmax", EPS_MAX, [0])
    errs, lateral, rho_g, reac = [], [], [], []

    def check(p):
        s = closed_form_stress(EPS_MAX * p.t)
        errs.append(np.abs(p.stress[:, 0, 0] / s - 1).max() if len(p.stress) else 0.0)
        lateral.append(np.abs(p.stress[:, 1:, 1:]).max() / s if len(p.stress) else 0.0)
        rho_g.append(p.state.rho_g.max(initial=0.0) / p.state.rho_s.max(initial=1.0))
        reac.append(p.reaction(pull, 0) / s - 1)  # unit cross-section

    pb.solve(1.0, 10, callback=check)
    assert comm.allreduce(max(errs), op=max_op()) < 1e-6     # measured 3e-11
    assert comm.allreduce(max(lateral), op=max_op()) < 1e-8  # uniaxial stress state
    assert comm.allreduce(max(rho_g), op=max_op()) < 1e-10   # no gradient: ρ_G = 0 to round-off
    assert max(abs(r) for r in reac) < 1e-8
    assert HD.rho_ssd(0.0) < pb.state.rho_s.min(initial=np.inf) or not len(pb.state.rho_s)
    pb.destroy()


def max_op():
    from mpi4py import MPI

    return MPI.MAX


def test_newton_converges_quadratically(comm):
    from mscouple.continuum.mesh import Mesh
    from mscouple.continuum.space import FunctionSpace
    from mscouple.plasticity.solver import PlasticityProblem

    mesh = Mesh.box(comm, [2, 2, 2], simplex=False)
    # without the tangent predictor: it leaves 2 iterations per step here, too few to see a rate
    pb = PlasticityProblem(FunctionSpace(mesh, 3), MAT, gnd=False, rtol=1e-13, predictor=False)
    for k, face in enumerate(("xmin", "ymin", "zmin")):
        pb.add_dirichlet(face, 0.0, [k])
    pb.add_dirichlet("xmax", EPS_MAX, [0])
    pb.solve(1.0, 5)
    for rec in pb.history[1:]:
        r = np.array(rec.residuals) / rec.residuals[0]
        # quadratic: r_{k+1} <= C r_k^2 once in the basin (r_k < 1e-2), C measured 0.5-2.5
        pairs = [(a, b) for a, b in zip(r[:-1], r[1:]) if a < 1e-2 and b > 1e-14]
        assert len(pairs) >= 2, rec.residuals
        assert all(b <= 10.0 * a * a for a, b in pairs), rec.residuals
        assert len(rec.residuals) <= 7


def test_consistent_tangent_matches_finite_differences():
    rng = np.random.default_rng(3)
    n = 20
    st = PointState.initial(n, HD.rho0)
    st.ep_bar[:] = rng.uniform(0, 0.02, n)
    st.sqrt_rho[:] = np.sqrt(HD.rho_ssd(st.ep_bar))
    st.rho_g[:] = rng.uniform(0, 50.0, n)
    e = rng.normal(size=(n, 3, 3)) * 4e-3
    eps = 0.5 * (e + e.transpose(0, 2, 1))
    sig, D, new, dg = MAT.return_map(eps, st)
    assert (dg > 0).sum() > n // 2  # most points yield
    h = 1e-8
    for k, l in [(0, 0), (1, 2), (2, 2), (0, 1)]:
        de = np.zeros((3, 3))
        de[k, l] += 0.5 * h
        de[l, k] += 0.5 * h
        sp_, _, _, _ = MAT.return_map(eps + de, st)
        sm_, _, _, _ = MAT.return_map(eps - de, st)
        fd = (sp_ - sm_) / (2 * h)
        an = 0.5 * (D[:, :, :, k, l] + D[:, :, :, l, k])
        assert np.abs(fd - an).max() < 1e-5 * np.abs(D).max()
    # consistency of the returned state: q = σ_f on yielding points, εᵖ deviatoric
    from mscouple.plasticity.j2 import von_mises

    yl = dg > 0
    sf, _ = HD.flow_stress(new.sqrt_rho[yl], 0 * dg[yl], new.rho_g[yl])
    assert np.allclose(von_mises(sig)[yl], sf, rtol=1e-11)
    assert np.abs(np.trace(new.eps_p, axis1=1, axis2=2)).max() < 1e-15


def test_cut_backs_recover_the_same_curve(comm):
    """With at most 4 Newton iterations per try (and no tangent predictor, with which 2
    iterations suffice), large steps fail and are halved: the curve reached through the
    cut-backs is the same closed form."""
    from mscouple.continuum.mesh import Mesh
    from mscouple.continuum.space import FunctionSpace
    from mscouple.plasticity.solver import PlasticityProblem

    mesh = Mesh.box(comm, [2, 2, 2], simplex=False)
    pb = PlasticityProblem(FunctionSpace(mesh, 3), MAT, gnd=False, rtol=1e-10, max_newton=4, predictor=False)
    for k, face in enumerate(("xmin", "ymin", "zmin")):
        pb.add_dirichlet(face, 0.0, [k])
    pb.add_dirichlet("xmax", EPS_MAX, [0])
    pb.solve(1.0, 2)
    assert len(pb.history) > 2  # steps were cut
    assert pb.t == pytest.approx(1.0)
    s = closed_form_stress(EPS_MAX)
    assert comm.allreduce(np.abs(pb.stress[:, 0, 0] / s - 1).max(initial=0.0), op=max_op()) < 1e-6
