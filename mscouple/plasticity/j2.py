"""J2 (von Mises) small-strain plasticity: radial return and its consistent tangent.

Isotropic elasticity (bulk modulus K, shear modulus μ), associative flow along the
deviatoric stress, isotropic hardening by :class:`~.hardening.DislocationHardening` with
ρ_G frozen over the increment. For a total strain ε (3D tensors; plane strain is ε_zz = 0)
and the state at the start of the increment (εᵖ_n, ε̄ᵖ_n, √ρ_S,n):

    s* = 2μ dev(ε − εᵖ_n),  q* = √(3/2 s*:s*),  n = s*/|s*|
    q* − 3μΔ − σ_f(Δ) = 0                    (scalar Newton per point, if q* > σ_f(0))
    εᵖ = εᵖ_n + √(3/2) Δ n,  s = (1 − 3μΔ/q*) s*,  σ = s + K tr(ε) 1

and the algorithmic (consistent) tangent (Simo & Taylor, CMAME 48 (1985) 101; de Souza
Neto, Perić & Owen, *Computational Methods for Plasticity* (2008), Box 7.4)

    D = K 1⊗1 + 2μ (1 − 3μΔ/q*) I_dev + 6μ² (Δ/q* − 1/(3μ + H)) n⊗n,

H = dσ_f/dΔ at the converged Δ. For the monolithic GND coupling (:mod:`.solver`)
:meth:`J2DislocationMaterial.return_map_gnd` also gives the sensitivities to ρ_G (at fixed
ε) and of ε̄ᵖ to ε, from ∂Δ/∂q* = 1/(3μ + H), ∂Δ/∂ρ_G = −S/(3μ + H), S = ∂σ_f/∂ρ_G at
fixed Δ, ∂q*/∂ε = √6 μ n and σ = s* − √6 μ Δ n + K tr(ε) 1:

    ∂σ/∂ρ_G = √6 μ S/(3μ + H) n,   ∂ε̄ᵖ/∂ε = √6 μ/(3μ + H) n,   ∂ε̄ᵖ/∂ρ_G = −S/(3μ + H)

(zero at elastic points). Everything is vectorised over points: arrays [n, 3, 3]
(strain, stress, plastic strain) and [n, 3, 3, 3, 3] (tangent, σ_ij = D_ijkl ε_kl).
Units: those of the hardening law (stress, length).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mscouple.errors import ConfigError, ConvergenceError

from .hardening import DislocationHardening

_I = np.eye(3)
_II = np.einsum("ij,kl->ijkl", _I, _I)
_ISYM = 0.5 * (np.einsum("ik,jl->ijkl", _I, _I) + np.einsum("il,jk->ijkl", _I, _I))
_IDEV = _ISYM - _II / 3.0


@dataclass
class PointState:
    """Internal variables of n material points: εᵖ [n,3,3], ε̄ᵖ [n], √ρ_S [n], ρ_G [n]; and
    ``elastic`` [n] bool or None: points that never yield (e.g. where an atomistic patch is
    the material, :mod:`.coupled`)."""

    eps_p: np.ndarray
    ep_bar: np.ndarray
    sqrt_rho: np.ndarray
    rho_g: np.ndarray
    elastic: np.ndarray | None = None

    @classmethod
    def initial(cls, n: int, rho0: float) -> "PointState":
        return cls(np.zeros((n, 3, 3)), np.zeros(n), np.full(n, np.sqrt(rho0)), np.zeros(n))

    def copy(self) -> "PointState":
        return PointState(self.eps_p.copy(), self.ep_bar.copy(), self.sqrt_rho.copy(), self.rho_g.copy(),
                          None if self.elastic is None else self.elastic.copy())

    @property
    def rho_s(self) -> np.ndarray:
        return self.sqrt_rho ** 2


@dataclass(frozen=True)
class J2DislocationMaterial:
    """Von Mises plasticity with dislocation-density hardening.

    ``bulk``, ``shear``: elastic moduli K, μ (stress); ``hardening``: the flow-stress law
    (its ``mu`` is the Taylor-law modulus, normally the same μ).
    """

    bulk: float
    shear: float
    hardening: DislocationHardening

    def __post_init__(self):
        if not (self.bulk > 0 and self.shear > 0):
            raise ConfigError(f"J2 material needs bulk > 0 and shear > 0, got {self.bulk}, {self.shear}")

    @property
    def youngs_modulus(self) -> float:
        K, mu = self.bulk, self.shear
        return 9 * K * mu / (3 * K + mu)

    def elastic_tangent(self) -> np.ndarray:
        """[3,3,3,3] isotropic stiffness."""
        return self.bulk * _II + 2 * self.shear * _IDEV

    def return_map(self, eps: np.ndarray, state: PointState, tol: float = 1e-12, max_it: int = 60
                   ) -> tuple[np.ndarray, np.ndarray, PointState, np.ndarray]:
        """Stress [n,3,3], consistent tangent [n,3,3,3,3], the trial new state, and Δε̄ᵖ [n].

        ``state`` (the state at the start of the increment) is not modified.
        """
        return self._return(eps, state, tol, max_it)[:4]

    def return_map_gnd(self, eps: np.ndarray, state: PointState, tol: float = 1e-12, max_it: int = 60):
        """:meth:`return_map` plus (∂σ/∂ρ_G [n,3,3], ∂ε̄ᵖ/∂ε [n,3,3], ∂ε̄ᵖ/∂ρ_G [n]) at fixed
        ε resp. ρ_G (module docstring); ρ_G is ``state.rho_g``."""
        return self._return(eps, state, tol, max_it, derivatives=True)

    def _return(self, eps, state, tol, max_it, derivatives=False):
        eps = np.asarray(eps, dtype=float)
        K, mu, hd = self.bulk, self.shear, self.hardening
        tr = np.trace(eps, axis1=1, axis2=2)
        e = eps - state.eps_p
        dev = e - (np.trace(e, axis1=1, axis2=2) / 3.0)[:, None, None] * _I
        s_tr = 2 * mu * dev
        norm = np.sqrt(np.einsum("nij,nij->n", s_tr, s_tr))
        q_tr = np.sqrt(1.5) * norm
        sf0, _ = hd.flow_stress(state.sqrt_rho, np.zeros_like(q_tr), state.rho_g)
        plastic = q_tr > sf0 * (1.0 + 1e-12)
        if state.elastic is not None:
            plastic &= ~state.elastic
        dgam = np.zeros_like(q_tr)
        H = np.zeros_like(q_tr)
        if plastic.any():
            qp, x0, rg = q_tr[plastic], state.sqrt_rho[plastic], state.rho_g[plastic]
            d = np.zeros_like(qp)
            for _ in range(max_it):
                sf, h = hd.flow_stress(x0, d, rg)
                f = qp - 3 * mu * d - sf
                if (np.abs(f) <= tol * qp).all():
                    break
                d = np.maximum(d - f / (-3 * mu - h), 0.0)
            else:
                raise ConvergenceError("J2 return mapping: the scalar Newton iteration did not converge "
                                       f"in {max_it} iterations (is the hardening law softening?)")
            sf, h = hd.flow_stress(x0, d, rg)
            dgam[plastic], H[plastic] = d, h
        nhat = np.zeros_like(s_tr)
        ok = norm > 0
        nhat[ok] = s_tr[ok] / norm[ok, None, None]
        ratio = np.where(plastic, 3 * mu * dgam / np.where(q_tr > 0, q_tr, 1.0), 0.0)
        stress = (1.0 - ratio)[:, None, None] * s_tr + K * tr[:, None, None] * _I
        D = np.empty((len(eps), 3, 3, 3, 3))
        D[:] = K * _II
        D += (2 * mu * (1.0 - ratio))[:, None, None, None, None] * _IDEV
        coef = np.where(plastic, 6 * mu * mu * (dgam / np.where(q_tr > 0, q_tr, 1.0) - 1.0 / (3 * mu + H)), 0.0)
        D += coef[:, None, None, None, None] * np.einsum("nij,nkl->nijkl", nhat, nhat)
        x, _ = hd.sqrt_rho(state.sqrt_rho, dgam)
        new = PointState(state.eps_p + np.sqrt(1.5) * dgam[:, None, None] * nhat, state.ep_bar + dgam,
                         x, state.rho_g.copy(), state.elastic)
        if not derivatives:
            return stress, D, new, dgam
        root = np.sqrt(x * x + state.rho_g)
        S = np.where(plastic, 0.5 * hd.taylor_stress / np.where(root > 0, root, 1.0), 0.0)
        inv = np.where(plastic, 1.0 / (3 * mu + H), 0.0)
        c6 = np.sqrt(6.0) * mu * inv
        return (stress, D, new, dgam, (c6 * S)[:, None, None] * nhat, c6[:, None, None] * nhat, -S * inv)


def von_mises(stress: np.ndarray) -> np.ndarray:
    """Equivalent stress √(3/2 s:s) of stresses [n,3,3]."""
    s = stress - (np.trace(stress, axis1=1, axis2=2) / 3.0)[:, None, None] * _I
    return np.sqrt(1.5 * np.einsum("nij,nij->n", s, s))
