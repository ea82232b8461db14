"""A 1D bar under load, solved three ways: HMM (FE + oracle stress), Cauchy–Born FE, and
fully atomistic (a relaxed pair-potential chain). The HMM validation problem.

Bar ``[0, L]``, fixed at x = 0, body force ``b`` (force per reference length) and end force
``P`` at x = L. Equilibrium ``d sigma/dx + b = 0``, ``sigma(L) = P`` with the constitutive
law ``sigma(eps)`` supplied by an oracle (stress in force units: a chain's force).

:func:`solve_bar`: P1 elements, one quadrature point each; Newton's method with the tangent
``d sigma/d eps`` by forward differences, the strains ``eps_e`` and ``eps_e + delta`` of
all elements sent to the oracle as ONE batch per Newton iteration.

:func:`atomistic_bar`: atoms at ``x_i = i a0`` (i = 0..N, atom 0 fixed), pair potential
(all pairs within the cutoff), external force ``b a0`` per atom (half on the end atom)
plus ``P`` on atom N; relaxed by Newton on the exact Hessian. Displacements are measured
from the relaxed *unloaded* chain, so the free-end surface relaxation cancels.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.linalg as sl

from ..errors import ConfigError, ConvergenceError
from .cauchy_born import radial_derivatives


@dataclass
class BarSolution:
    """Nodal positions ``x [N+1]`` and displacements ``u [N+1]``; per-element strain and
    stress ``[N]``; Newton iterations; oracle statistics."""

    x: np.ndarray
    u: np.ndarray
    strain: np.ndarray
    stress: np.ndarray
    iterations: int
    stats: dict = field(default_factory=dict)
    positions: np.ndarray | None = None  # atomistic_bar: loaded atom positions [N+1]


def _check(length, n, body_force, end_force):
    if not length > 0 or int(n) < 1:
        raise ConfigError("need length > 0 and at least one element")
    if not (np.isfinite(body_force) and np.isfinite(end_force)):
        raise ConfigError("loads must be finite")


def solve_bar(oracle, length: float, n_elements: int, body_force: float = 0.0, end_force: float = 0.0,
              rtol: float = 1e-12, max_iter: int = 50, delta: float = 1e-7) -> BarSolution:
    """Static nonlinear bar with ``sigma = oracle.evaluate([[eps]])`` (see module doc).

    The oracle's cache tolerance ``tol`` (on the strain) bounds the attainable residual by
    about ``tangent * tol``: keep ``tol`` well below ``rtol * |loads| / tangent`` and below
    ``delta``, or loosen ``rtol``.
    """
    _check(length, n_elements, body_force, end_force)
    n = int(n_elements)
    h = length / n
    x = np.linspace(0.0, length, n + 1)
    fext = np.full(n + 1, body_force * h)
    fext[-1] = 0.5 * body_force * h + end_force
    fext[0] = 0.0
    u = np.zeros(n + 1)
    scale = max(np.abs(fext).max(), 1e-300)
    for it in range(1, max_iter + 1):
        eps = np.diff(u) / h
        ans = oracle.evaluate(np.concatenate([eps, eps + delta])[:, None])[:, 0]
        sig, tan = ans[:n], (ans[n:] - ans[:n]) / delta
        fint = np.zeros(n + 1)
        fint[:-1] -= sig
        fint[1:] += sig
        r = fext - fint
        r[0] = 0.0
        if np.abs(r).max() <= rtol * scale:
            return BarSolution(x, u, eps, sig, it - 1, _stats(oracle))
        if np.any(tan <= 0):
            raise ConvergenceError("the oracle's tangent stiffness is not positive: the load exceeds the "
                                   "micro model's strength (reduce the load)")
        k = tan / h
        ab = np.zeros((3, n))  # unknowns u_1..u_n, symmetric tridiagonal
        ab[1] = k + np.append(k[1:], 0.0)
        ab[0, 1:] = -k[1:]
        ab[2, :-1] = -k[1:]
        u[1:] += sl.solve_banded((1, 1), ab, r[1:])
    raise ConvergenceError(f"bar Newton did not converge in {max_iter} iterations (residual "
                           f"{np.abs(r).max():.3g}, target {rtol * scale:.3g}); reduce the load, or the "
                           "oracle's cache tolerance (a stale cached stress limits the residual to about "
                           "stiffness x tol)")


def _stats(oracle) -> dict:
    return oracle.stats() if hasattr(oracle, "stats") else {}


def _chain_forces(xs, deriv, nmax):
    """Energy gradient (-force) and tridiagonal-band Hessian of a 1D chain, pairs up to nmax apart."""
    N = len(xs)
    g = np.zeros(N)
    H = np.zeros((2 * nmax + 1, N))  # banded storage, upper = lower = nmax
    for m in range(1, nmax + 1):
        r = xs[m:] - xs[:-m]
        d1, d2 = deriv.d1(r), deriv.d2(r)
        g[m:] += d1
        g[:-m] -= d1
        H[nmax, m:] += d2
        H[nmax, :-m] += d2
        H[nmax - m, m:] -= d2  # upper diagonal m
        H[nmax + m, :-m] -= d2  # lower diagonal m
    return g, H


def atomistic_bar(potential, a0: float, n_atoms: int, body_force: float = 0.0, end_force: float = 0.0,
                  rtol: float = 1e-12, max_iter: int = 60) -> BarSolution:
    """Relaxed chain of ``n_atoms + 1`` atoms under the bar's loads (see module doc).

    ``x`` are the reference sites ``i a0`` (the continuum coordinates), ``u`` the
    displacements from the relaxed unloaded chain; strain/stress per bond are not computed
    (zeros)."""
    _check(a0 * n_atoms, n_atoms, body_force, end_force)
    deriv = radial_derivatives(potential)
    N = int(n_atoms)
    nmax = max(1, int(np.floor(deriv.rc / (0.7 * a0))))
    nmax = min(nmax, N)
    ref = a0 * np.arange(N + 1)
    fext = np.full(N + 1, body_force * a0)
    fext[-1] = 0.5 * body_force * a0 + end_force
    fext[0] = 0.0

    def relax(load, start):
        xs = start.copy()
        scale = max(np.abs(load).max(), abs(deriv.d2(np.array([a0]))[0]) * a0)
        for it in range(max_iter):
            g, H = _chain_forces(xs, deriv, nmax)
            r = load - g
            r[0] = 0.0
            if np.abs(r[1:]).max() <= rtol * scale:
                return xs, it
            Hb = H[:, 1:]
            # drop couplings to the fixed atom 0 (columns before index 1 are outside)
            xs[1:] += sl.solve_banded((nmax, nmax), Hb, r[1:])
        raise ConvergenceError(f"atomistic chain relaxation did not converge in {max_iter} iterations")

    x_free, _ = relax(np.zeros(N + 1), ref)
    x_load, its = relax(fext, x_free)
    return BarSolution(ref, x_load - x_free, np.zeros(N), np.zeros(N), its, {}, x_load)
