"""Dislocation-density plasticity as the continuum around an atomistic patch (Schwarz statics).

A plane-strain plate [-16, 16] × [-16, 48] (P1, h = 2) on rollers at the bottom, pressed up by a
rigid punch |x| ≤ 4 on the top edge (prescribed displacement D); a Lennard-Jones triangular
patch [-8, 8]² (Cauchy–Born moduli = the continuum's elastic moduli) sits far below the punch.
The same case is solved with the linear-elastic continuum (ElasticStatics) and with the
J2 + Taylor/Kocks–Mecking continuum (PlasticSchwarzContinuum, 4 load increments)."""
from __future__ import annotations

import os
import sys

import numpy as np
import pytest
from mpi4py import MPI

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "coupling"))

SELF = MPI.COMM_SELF


def _punch(X):
    return (X[:, 1] > 48 - 1e-9) & (np.abs(X[:, 0]) < 4 + 1e-9)


def _atom_gradient(s):
    """Least-squares displacement gradient of the free atoms (the strain the atoms see)."""
    x0 = s.gather("x0")[:, :2]
    u = (s.gather("x") - s.gather("x0"))[:, :2]
    free = s.gather("fixed") == 0
    A = np.c_[np.ones(free.sum()), x0[free]]
    c, *_ = np.linalg.lstsq(A, u[free], rcond=None)
    return c[1:].T


def _solve(D: float, plastic: bool, gnd: bool = False, steps: int = 4):
    """(continuum u on owned nodes, atoms' displacements by id, punch reaction, atoms' ∇u,
    ε̄ᵖ per cell or None, cell centres, free-node mask)."""
    from schwarz_cases import build

    from mscouple.continuum import ElasticStatics, FunctionSpace, Mesh
    from mscouple.coupling.schwarz import SchwarzStatics, cauchy_born_triangular
    from mscouple.plasticity.coupled import PlasticSchwarzContinuum, schwarz_load_steps
    from mscouple.plasticity.hardening import DislocationHardening
    from mscouple.plasticity.j2 import J2DislocationMaterial
    from mscouple.plasticity.solver import PlasticityProblem

    R, _, s, a, pot = build("lj", None, SELF)
    mat_el, a, C2 = cauchy_born_triangular(pot, a)
    mesh = Mesh.box(SELF, (16, 32), [-16, -16], [16, 48])
    sp = FunctionSpace(mesh, 2)
    if plastic:
        mu, lam = C2[2, 2], C2[0, 1]  # isotropic triangular lattice: C11 = λ + 2μ
        hd = DislocationHardening(mu=mu, b=a, alpha=0.3, k1=0.5, k2=10.0, rho0=6.8e-5)
        pb = PlasticityProblem(sp, J2DislocationMaterial(lam + 2 * mu / 3, mu, hd), gnd=gnd,
                               ksp_type="preonly", pc_type="lu")
        st = PlasticSchwarzContinuum(pb)
    else:
        st = pb = ElasticStatics(sp, mat_el, keep_unconstrained=True)
    pb.add_dirichlet("bottom", 0.0, [1])
    top = pb.add_dirichlet(_punch, [0.0, D])
    sw = SchwarzStatics(R, statics=st, system=s, tol=1e-9, fmax=1e-9, direct=not plastic)
    if plastic:
        for r in schwarz_load_steps(sw, st, steps):
            assert r.converged
        F = pb.reaction(top, 1)
        ep = pb.cell_average(pb.state.ep_bar)
    else:
        assert sw.solve().converged
        r = pb.reaction(sw.u)
        F = float(sp.owned(r)[top.nodes, 1].sum())
        r.destroy()
        ep = None
    fa, fn = sw.residuals()
    assert fa < 1e-8 and fn < 1e-8 * abs(F), (fa, fn, F)
    u = sp.owned(sw.u).copy()
    ua = (s.gather("x") - s.gather("x0"))[:, :2].copy()
    centres = mesh.coordinates[mesh.cells].mean(axis=1)
    free = sw._free_dofs.reshape(-1, 2)[:, 0].copy()
    grad = _atom_gradient(s)
    sw.destroy()
    return u, ua, F, grad, ep, centres, free


@pytest.mark.parametrize("gnd", [False, True], ids=["ssd", "ssd+gnd"])
def test_below_yield_the_coupled_answer_is_the_elastic_one(gnd):
    """D = 0.02 (no point reaches the flow stress, ε̄ᵖ ≡ 0): every increment is linear
    elastic with the Cauchy–Born moduli, so atoms and continuum equal the elastic coupled
    answer to round-off (measured 1e-15 of |u|)."""
    ue, uae, Fe, _, _, _, _ = _solve(0.02, plastic=False)
    up, uap, Fp, _, ep, _, _ = _solve(0.02, plastic=True, gnd=gnd, steps=1)
    assert ep.max() == 0.0
    scale = np.abs(ue).max()
    assert np.abs(up - ue).max() <= 1e-9 * scale
    assert np.abs(uap - uae).max() <= 1e-9 * scale
    assert abs(Fp / Fe - 1) < 1e-9


def test_plastic_flow_under_the_punch_reaches_the_atoms():
    """D = 0.3: the material under the punch flows (ε̄ᵖ up to ~2 %, only at y > 20), the
    punch force drops to ~0.76 of the elastic one, and the atoms far below see it: the
    patch is elastic and far from the plastic zone (Saint-Venant), so its strain scales with
    the resultant force — the atoms' ε_yy ratio (plastic / elastic) equals the force ratio
    within 3 % (measured 1.5 %: the anharmonicity of LJ between the two strains)."""
    ue, uae, Fe, ge, _, _, _ = _solve(0.3, plastic=False)
    up, uap, Fp, gp, ep, c, free = _solve(0.3, plastic=True)
    assert ep.max() > 5e-3
    assert ep[c[:, 1] < 20].max() == 0.0  # the patch and its surroundings stay elastic
    ratio = Fp / Fe
    assert 0.5 < ratio < 0.9, ratio
    assert abs(gp[1, 1] / ge[1, 1] / ratio - 1) < 0.03, (gp, ge, ratio)
    # the atoms' displacements differ from the elastic answer by more than the strain change
    assert np.abs(uap - uae).max() > 0.1 * np.abs(uae).max()
