"""Validation level 7: SSD + GND dislocation-density plasticity (``mscouple validate --level 7``).

Analytic checks — FE homogeneous tension against the closed-form Kocks–Mecking/Taylor
curve, Newton's quadratic rate, the reduced torsion model against the integral of the shear
curve, the atomistic shear modulus — and the size effect against experiments (Fleck et al.
1994 wire torsion; Stölken & Evans 1998 foil bending, full run only), fitted on the
thickest specimen. The experimental curves are approximate (provenance in
:mod:`mscouple.plasticity.experiments`), so the per-size errors are reported as info; what
passes or fails is the trend (thinner is stronger, in order of size) and that the GND model
predicts every thinner specimen better than the size-independent model (ρ_G = 0).
Runs serially (rank 0 of the comm, on COMM_SELF).
"""
from __future__ import annotations

import os
from typing import Any

import numpy as np

from .checks import Check, LevelResult

TITLE = "plasticity (SSD+GND)"
_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _tension(level: int) -> list[Check]:
    from mpi4py import MPI
    from scipy.optimize import brentq

    from ..continuum.mesh import Mesh
    from ..continuum.space import FunctionSpace
    from ..plasticity.size_effect import material
    from ..plasticity.solver import PlasticityProblem

    mat = material(48000.0, 137000.0, 2.556e-4, 0.3, 200.0, 5.0, rho0=10.0)
    hd, E = mat.hardening, mat.youngs_modulus
    mesh = Mesh.box(MPI.COMM_SELF, [2, 2, 2], simplex=False)
    pb = PlasticityProblem(FunctionSpace(mesh, 3), mat, gnd=True, rtol=1e-12)
    for k, face in enumerate(("xmin", "ymin", "zmin")):
        pb.add_dirichlet(face, 0.0, [k])
    pb.add_dirichlet("xmax", 0.02, [0])
    err = []

    def check(p):
        eps = 0.02 * p.t
        ep = brentq(lambda x: hd.uniaxial_stress(x) / E + x - eps, 0.0, eps, xtol=1e-16)
        err.append(float(np.abs(p.stress[:, 0, 0] / hd.uniaxial_stress(ep) - 1).max()))

    pb.solve(1.0, 10, callback=check)
    pb.destroy()
    # the rate of Newton itself: without the tangent predictor (which leaves 2 iterations per
    # step, too few to measure) and with rho_G of the previous step (the monolithic update
    # puts this homogeneous state on the kink of |grad ep|, where Newton is semismooth)
    pb = PlasticityProblem(FunctionSpace(mesh, 3), mat, gnd=True, rtol=1e-12, predictor=False,
                           gnd_update="staggered")
    for k, face in enumerate(("xmin", "ymin", "zmin")):
        pb.add_dirichlet(face, 0.0, [k])
    pb.add_dirichlet("xmax", 0.02, [0])
    pb.solve(1.0, 10)
    C = []
    for rec in pb.history[1:]:
        r = np.array(rec.residuals) / rec.residuals[0]
        C += [b / (a * a) for a, b in zip(r[:-1], r[1:]) if a < 1e-2 and b > 1e-14]
    pb.destroy()
    return [Check(level, "FE uniaxial tension (3D Q1, GND on): max |sigma/closed form - 1|", max(err), 0.0, 1e-6,
                  kind="abs"),
            Check(level, "Newton (no predictor): max r_k+1 / r_k^2 in the basin (quadratic)", max(C), (0.0, 10.0),
                  None, kind="between")]


def _torsion_local(level: int) -> Check:
    from scipy.integrate import quad
    from scipy.optimize import brentq

    from ..plasticity.reduced import torsion_curve
    from ..plasticity.size_effect import material

    mat = material(47658.0, 137968.0, 2.556e-4, 0.24, 77.4, 20.95)
    hd, mu = mat.hardening, mat.shear

    def tau(g):
        if mu * g <= hd.uniaxial_stress(0.0) / np.sqrt(3):
            return mu * g
        ep = brentq(lambda e: hd.uniaxial_stress(e) / np.sqrt(3) / mu + np.sqrt(3) * e - g, 0, g / np.sqrt(3),
                    xtol=1e-16)
        return hd.uniaxial_stress(ep) / np.sqrt(3)

    exact = 2 * np.pi * quad(lambda s: tau(0.2 * s) * s * s, 0, 1, epsrel=1e-12, limit=200)[0]
    q = torsion_curve(mat, 10.0, np.array([0.2]), gnd=False, elements=64, steps=100)[0]
    return Check(level, "torsion, rho_G = 0: radial model Q/a^3 vs integral of the shear curve", q, exact, 1e-3)


def _size_effect(level: int, test: str) -> list[Check]:
    from ..plasticity import experiments as ex
    from ..plasticity.parameters import copper_parameters
    from ..plasticity.size_effect import fit_and_predict

    if test == "torsion":
        cu = copper_parameters(os.path.join(_ROOT, "tests", "data", "Cu_zhou04.eam.alloy"))
        data, x, consts, kw = ex.TORSION_Q_A3, ex.TORSION_STRAIN, (cu.shear, cu.bulk, cu.burgers), {}
        name, lab = "Cu wire torsion (Fleck 1994)", "2a ="
    else:
        data, x, kw = ex.BENDING_M_WH2, ex.BENDING_STRAIN, {"steps": 80, "elements": 12}
        consts = (ex.NICKEL["shear"], ex.NICKEL["bulk"], ex.NICKEL["burgers"])
        name, lab = "Ni foil bending (Stolken-Evans 1998)", "h ="
    res = fit_and_predict(test, data, x, *consts, **kw)
    thick = max(data)
    out = [Check(level, f"{name}, {lab} {thick:g} um: fit error (alpha={res.alpha:.3g}, k1={res.k1:.3g}, k2={res.k2:.3g})",
                 res.error[thick], None, None, kind="info")]
    better = []
    for s in res.sizes[1:]:
        local = float(np.mean(np.abs(res.model[thick] / data[s] - 1.0)))
        out.append(Check(level, f"{name}, {lab} {s:g} um: predicted mean error (data approx. +-20 %)", res.error[s], None, None,
                         kind="info", note=f"size-independent model: {local:.3f}"))
        better.append(res.error[s] < local)
    last = [res.model[s][-1] for s in res.sizes]
    out.append(Check(level, f"{name}: model strength increases as size decreases (1 = yes)",
                     float(all(b > a for a, b in zip(last[:-1], last[1:]))), 1.0, 0.0, kind="abs"))
    out.append(Check(level, f"{name}: GND model beats rho_G = 0 for every thinner size (1 = yes)",
                     float(all(better)), 1.0, 0.0, kind="abs"))
    return out


def level_7(quick: bool, comm: Any = None) -> LevelResult:
    """The plasticity level (serial; < 20 s with ``quick``, about a minute more without)."""
    from ..plasticity.parameters import copper_parameters

    res = LevelResult(7, TITLE)
    res.checks += _tension(7)
    res.checks.append(_torsion_local(7))
    cu = copper_parameters(os.path.join(_ROOT, "tests", "data", "Cu_zhou04.eam.alloy"))
    res.checks.append(Check(7, "Cu shear modulus (Hill average of EAM Cauchy-Born) vs 48 GPa (MPa)", cu.shear,
                            48.0e3, 0.03))
    res.checks += _size_effect(7, "torsion")
    if not quick:
        res.checks += _size_effect(7, "bending")
    return res
