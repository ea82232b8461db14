"""Reduced (one-dimensional) models of wire torsion and foil bending with the same material point.

Both tests of the size effect have a kinematically known strain field, so the FE problem
collapses to a line of material points (the J2 return mapping of :mod:`.j2`, in 3D) and a
1D P1 mesh across the specimen on which ε̄ᵖ is recovered and differentiated for ρ_G
(:mod:`.gnd`, the same lumped-L² recovery as the FE solver, with the measure of the
cross-section):

* **Torsion of a round wire** (radius a, twist per length κ): Saint-Venant's solution of
  a circular bar, whose material varies only with r, has no warping — u = κ z e_z × x —
  so ε_θz = κ r / 2 at every radius and nothing else; the torque is
  Q = 2π ∫₀ᵃ τ_θz r² dr, and ρ_G = r̄ |dε̄ᵖ/dr| / b. The measure is 2π r dr. This
  axisymmetric reduction is checked against the 3D FE solver in tests/plasticity/test_reduced.py.
* **Plane-strain bending of a foil** (thickness h, curvature κ): ε_xx = κ y (Euler–Bernoulli),
  ε_zz = 0 (plane strain across a wide foil), σ_yy = 0 (free faces of a thin foil); ε_yy
  is found per point by Newton with the consistent tangent. Moment per width
  M/w = ∫ σ_xx y dy, normalised as M/(w h²) against the surface strain κh/2 (Stölken &
  Evans 1998). ρ_G = r̄ |dε̄ᵖ/dy| / b.

ρ_G is staggered (from the previous converged increment), as in the FE solver; the
increments are small (``steps``) and the tests check the result's step-size convergence.
Units: those of the material (the examples: MPa and μm, so Q/a³ and M/(w h²) come in MPa).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mscouple.errors import ConvergenceError

from .gnd import gnd_density
from .j2 import J2DislocationMaterial, PointState

_G2 = 0.5 / np.sqrt(3.0)


@dataclass
class LineMesh:
    """P1 mesh of [lo, hi] with 2 Gauss points per element; ``measure(x)`` weights the integrals
    (2πr for a wire cross-section, 1 for a foil per unit width)."""

    nodes: np.ndarray  # [n+1]
    xq: np.ndarray  # [n, 2] quadrature points
    wq: np.ndarray  # [n, 2] weights including the measure
    Nq: np.ndarray  # [2, 2] shape functions at the Gauss points
    dN: np.ndarray  # [n, 2] dN/dx of the element's two nodes (±1/h)

    @classmethod
    def build(cls, lo: float, hi: float, n: int, measure) -> "LineMesh":
        x = np.linspace(lo, hi, n + 1)
        h = np.diff(x)
        xi = np.array([0.5 - _G2, 0.5 + _G2])
        xq = x[:-1, None] + h[:, None] * xi[None, :]
        wq = 0.5 * h[:, None] * measure(xq)
        Nq = np.stack([1 - xi, xi], axis=1)  # [q, a]
        dN = np.stack([-1 / h, 1 / h], axis=1)
        return cls(x, xq, wq, Nq, dN)

    def recover(self, values_q: np.ndarray) -> np.ndarray:
        """Lumped L² projection of a quadrature field [n, 2] onto the nodes [n+1]."""
        num = np.einsum("cq,cq,qa->ca", self.wq, values_q, self.Nq)
        den = np.einsum("cq,qa->ca", self.wq, self.Nq)
        idx = np.stack([np.arange(len(self.wq)), np.arange(1, len(self.wq) + 1)], axis=1).ravel()
        n = len(self.nodes)
        return np.bincount(idx, num.ravel(), n) / np.bincount(idx, den.ravel(), n)

    def gradient(self, nodal: np.ndarray) -> np.ndarray:
        """d/dx of a nodal field at the quadrature points [n, 2] (constant per element)."""
        g = nodal[:-1] * self.dN[:, 0] + nodal[1:] * self.dN[:, 1]
        return np.repeat(g[:, None], 2, axis=1)


def _gnd(mesh: LineMesh, state: PointState, mat: J2DislocationMaterial, gnd: bool) -> None:
    if not gnd:
        return
    hd = mat.hardening
    ep = mesh.recover(state.ep_bar.reshape(mesh.xq.shape))
    state.rho_g = gnd_density(np.abs(mesh.gradient(ep)).ravel(), hd.b, hd.rbar)


def torsion_curve(mat: J2DislocationMaterial, radius: float, surface_strain: np.ndarray, gnd: bool = True,
                  elements: int = 24, steps: int = 200) -> np.ndarray:
    """Normalised torque Q/a³ (stress) at the surface shear strains κa in ``surface_strain``
    (monotonic twist from 0, ``steps`` equal increments up to the largest)."""
    targets = np.asarray(surface_strain, dtype=float)
    mesh = LineMesh.build(0.0, radius, elements, lambda r: 2 * np.pi * r)
    r = mesh.xq.ravel()
    state = PointState.initial(len(r), mat.hardening.rho0)
    gmax = targets.max()
    grid = np.linspace(0.0, gmax, steps + 1)[1:]
    torque = np.zeros(len(grid))
    for k, g in enumerate(grid):
        kappa = g / radius
        eps = np.zeros((len(r), 3, 3))
        eps[:, 1, 2] = eps[:, 2, 1] = 0.5 * kappa * r  # (r, θ, z) frame: ε_θz
        stress, _, state, _ = mat.return_map(eps, state)
        torque[k] = float((mesh.wq.ravel() * stress[:, 1, 2] * r).sum())
        _gnd(mesh, state, mat, gnd)
    q = np.interp(targets, np.concatenate([[0.0], grid]), np.concatenate([[0.0], torque]))
    return q / radius ** 3


def bending_curve(mat: J2DislocationMaterial, thickness: float, surface_strain: np.ndarray, gnd: bool = True,
                  elements: int = 24, steps: int = 200, tol: float = 1e-10) -> np.ndarray:
    """Normalised moment M/(w h²) (stress) at the surface strains κh/2 in ``surface_strain``."""
    targets = np.asarray(surface_strain, dtype=float)
    h = thickness
    mesh = LineMesh.build(-0.5 * h, 0.5 * h, elements, lambda y: np.ones_like(y))
    y = mesh.xq.ravel()
    state = PointState.initial(len(y), mat.hardening.rho0)
    eyy = np.zeros(len(y))
    grid = np.linspace(0.0, targets.max(), steps + 1)[1:]
    moment = np.zeros(len(grid))
    for k, g in enumerate(grid):
        kappa = 2 * g / h
        eps = np.zeros((len(y), 3, 3))
        eps[:, 0, 0] = kappa * y
        for _ in range(30):  # σ_yy = 0 by Newton on ε_yy with the consistent tangent
            eps[:, 1, 1] = eyy
            stress, D, new, _ = mat.return_map(eps, state)
            if np.abs(stress[:, 1, 1]).max() <= tol * max(np.abs(stress[:, 0, 0]).max(), 1e-300):
                break
            eyy = eyy - stress[:, 1, 1] / D[:, 1, 1, 1, 1]
        else:
            raise ConvergenceError("bending: σ_yy = 0 not reached in 30 Newton iterations")
        state = new
        moment[k] = float((mesh.wq.ravel() * stress[:, 0, 0] * y).sum())
        _gnd(mesh, state, mat, gnd)
    m = np.interp(targets, np.concatenate([[0.0], grid]), np.concatenate([[0.0], moment]))
    return m / h ** 2
