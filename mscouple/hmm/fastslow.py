"""Fast/slow model problems with analytic homogenized answers, and the solvers that use them.

1. Rapidly oscillating coefficient (elliptic homogenization, 1D)::

       -(a(x, x/eps) u')' = f   on (0, 1),   u(0) = u(1) = 0

   a(x, y) is 1-periodic in y. As eps -> 0, u_eps -> u_0 with ``|u_eps - u_0|_inf = O(eps)``,
   where u_0 solves the same problem with the harmonic mean ``a*(x) = <1/a(x, .)>^-1``
   (Bensoussan, Lions & Papanicolaou 1978). :func:`fine_scale_solution` resolves eps;
   :func:`hmm_diffusion` is the HMM: a macro P1 FE whose element conductivity is the flux
   answer of a micro periodic cell problem (:class:`mscouple.hmm.micro.ConductionCellModel`)
   asked through an oracle at each macro quadrature point (error O(H^2), independent of eps).
   :func:`example_coefficient` / :func:`example_homogenized` give a(x, y) =
   (1 + x)(1 + 1/2 sin 2 pi y), f = 1, whose homogenized solution is
   ``u_0 = (ln(1 + x)/ln 2 - x) / sqrt(3/4)``.

2. Fast reversible reaction with slow transport (A <-> B, only A diffuses/is advected)::

       a_t + U a_x = D a_xx - k (K a - b),   b_t = k (K a - b)    on (0, 1)

   For Da = k L^2 / D >> 1, b = K a (local equilibrium) and c = a + b obeys
   ``c_t + U/(1+K) c_x = D/(1+K) c_xx`` (retarded transport); errors O(1/Da).
   Pe = U L / D measures advection against diffusion.
   :class:`FastReactionDiffusion` is the stiff micro system on a cell-centred grid,
   with its exact solution (matrix exponential) and the homogenized analytic solution
   ``c = exp(-D lambda_h t/(1+K)) cos(q x - U s_h t/(1+K))`` (lambda_h, s_h the grid's
   symbols of -d^2/dx^2 and d/dx for the mode q; -> q^2, q as h -> 0). :func:`projective_euler` is coarse projective
   integration (Gear & Kevrekidis, SIAM J. Sci. Comput. 24, 1091, 2003): a few explicit
   inner steps that damp the fast reaction, then one long extrapolation step.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import scipy.linalg as sl

from ..errors import ConfigError

# ------------------------------------------------------------------ oscillating coefficient


def example_coefficient(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """a(x, y) = (1 + x)(1 + sin(2 pi y)/2) for broadcastable arrays x (macro), y (cell)."""
    return (1.0 + np.asarray(x)) * (1.0 + 0.5 * np.sin(2 * np.pi * np.asarray(y)))


def example_homogenized(x: np.ndarray) -> np.ndarray:
    """u_0(x) for :func:`example_coefficient`, f = 1."""
    x = np.asarray(x, dtype=float)
    return (np.log1p(x) / math.log(2.0) - x) / math.sqrt(0.75)


def _solve_dirichlet_1d(k_el: np.ndarray, load: np.ndarray) -> np.ndarray:
    """P1 stiffness with element conductances k_el/h [n] and nodal loads [n+1]; u = 0 at ends."""
    n = len(k_el)
    if n < 2:
        raise ConfigError("need at least 2 elements")
    ab = np.zeros((3, n - 1))
    ab[1] = k_el[:-1] + k_el[1:]
    ab[0, 1:] = -k_el[1:-1]
    ab[2, :-1] = -k_el[1:-1]
    u = np.zeros(n + 1)
    u[1:-1] = sl.solve_banded((1, 1), ab, load[1:-1])
    return u


def fine_scale_solution(a: Callable[[np.ndarray, np.ndarray], np.ndarray], f: Callable[[np.ndarray], np.ndarray],
                        eps: float, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Fully resolved P1 solution (``n`` elements, midpoint rule) -> (x [n+1], u [n+1])."""
    if not eps > 0:
        raise ConfigError("eps must be > 0")
    x = np.linspace(0.0, 1.0, n + 1)
    h = 1.0 / n
    xm = 0.5 * (x[1:] + x[:-1])
    k_el = a(xm, xm / eps) / h
    fm = f(xm) * h
    load = np.zeros(n + 1)
    load[:-1] += 0.5 * fm
    load[1:] += 0.5 * fm
    return x, _solve_dirichlet_1d(k_el, load)


def hmm_diffusion(oracle, f: Callable[[np.ndarray], np.ndarray], n_macro: int) -> tuple[np.ndarray, np.ndarray]:
    """HMM macro solve: one oracle batch of states ``[x_mid, G=1]`` -> fluxes -> element
    conductivities ``a*(x_mid) = -q``; returns (x [n+1], u [n+1])."""
    n = int(n_macro)
    x = np.linspace(0.0, 1.0, n + 1)
    h = 1.0 / n
    xm = 0.5 * (x[1:] + x[:-1])
    q = oracle.evaluate(np.column_stack([xm, np.ones(n)]))[:, 0]
    a_star = -q
    if np.any(a_star <= 0):
        raise ConfigError("the oracle returned a non-positive effective conductivity")
    fm = f(xm) * h
    load = np.zeros(n + 1)
    load[:-1] += 0.5 * fm
    load[1:] += 0.5 * fm
    return x, _solve_dirichlet_1d(a_star / h, load)


# ------------------------------------------------------------------ fast reaction, slow diffusion


@dataclass
class FastReactionDiffusion:
    """A <-> B with rate k (equilibrium constant K = b/a); A diffuses (D) and, optionally, is
    advected with velocity U; B is immobile. n cells on (0, 1).

    State ``y = [a (n), b (n)]`` on the cell centres ``x_i = (i + 1/2)/n``. Ends: no-flux
    (``periodic=False``, initial c = cos(pi x)) or periodic (initial c = cos(2 pi x); required
    when U != 0; central differences). The homogenized limit is
    ``c_t + U/(1+K) c_x = D/(1+K) c_xx`` (retardation by the immobile partner).
    """

    D: float
    K: float
    k: float
    n: int = 32
    velocity: float = 0.0
    periodic: bool = False

    def __post_init__(self):
        if not (self.D > 0 and self.K > 0 and self.k > 0 and self.n >= 4):
            raise ConfigError("need D, K, k > 0 and n >= 4")
        if self.velocity != 0.0 and not self.periodic:
            raise ConfigError("advection (velocity != 0) needs periodic=True")
        h = 1.0 / self.n
        self.x = (np.arange(self.n) + 0.5) * h
        n = self.n
        i = np.arange(n)
        L = np.zeros((n, n))
        L[i, i] = -2.0
        G = np.zeros((n, n))
        if self.periodic:
            L[i, (i + 1) % n] += 1.0
            L[i, (i - 1) % n] += 1.0
            G[i, (i + 1) % n] += 0.5
            G[i, (i - 1) % n] -= 0.5
            self.wavenumber = 2 * math.pi
            self.lambda_h = 4.0 / h**2 * math.sin(math.pi * h) ** 2
            self.advect_h = math.sin(2 * math.pi * h) / h  # central-difference symbol of d/dx
        else:
            L[i[1:], i[:-1]] = 1.0
            L[i[:-1], i[1:]] = 1.0
            L[0, 0] = L[-1, -1] = -1.0  # no-flux (ghost cell mirror)
            self.wavenumber = math.pi
            self.lambda_h = 4.0 / h**2 * math.sin(math.pi * h / 2) ** 2
            self.advect_h = 0.0
        self.lap = L / h**2
        self.grad = G / h

    @property
    def damkohler(self) -> float:
        """Da = k L^2 / D with L = 1."""
        return self.k / self.D

    @property
    def peclet(self) -> float:
        """Pe = |U| L / D with L = 1."""
        return abs(self.velocity) / self.D

    @property
    def fast_rate(self) -> float:
        """|eigenvalue| of the local reaction, k (1 + K)."""
        return self.k * (1.0 + self.K)

    def _transport(self) -> np.ndarray:
        return self.D * self.lap - self.velocity * self.grad

    def rhs(self, y: np.ndarray) -> np.ndarray:
        a, b = y[:self.n], y[self.n:]
        r = self.k * (self.K * a - b)
        return np.concatenate([self._transport() @ a - r, r])

    def matrix(self) -> np.ndarray:
        I = np.eye(self.n)
        return np.block([[self._transport() - self.k * self.K * I, self.k * I], [self.k * self.K * I, -self.k * I]])

    def initial(self) -> np.ndarray:
        """Local equilibrium with c = a + b = cos(q x): a = c/(1+K), b = K c/(1+K)."""
        c = np.cos(self.wavenumber * self.x)
        return np.concatenate([c / (1 + self.K), self.K * c / (1 + self.K)])

    def total(self, y: np.ndarray) -> np.ndarray:
        return y[:self.n] + y[self.n:]

    def exact(self, t: float) -> np.ndarray:
        """Exact solution y(t) of the (stiff) semi-discrete micro system."""
        return sl.expm(self.matrix() * t) @ self.initial()

    def homogenized(self, t: float) -> np.ndarray:
        """Analytic c(x_i, t) of the homogenized equation on the same grid (discrete symbols)."""
        decay = np.exp(-self.D * self.lambda_h * t / (1 + self.K))
        shift = self.velocity * self.advect_h * t / (1 + self.K)
        return decay * np.cos(self.wavenumber * self.x - shift)


@dataclass
class ProjectiveStats:
    """Inner (micro) steps taken, outer (projective) steps, and the time reached."""

    inner_steps: int
    outer_steps: int
    t: float


def projective_euler(rhs: Callable[[np.ndarray], np.ndarray], y0: np.ndarray, t_end: float,
                     dt_inner: float, n_inner: int, delta: float) -> tuple[np.ndarray, ProjectiveStats]:
    """Projective forward Euler: ``n_inner + 1`` forward-Euler steps of ``dt_inner``, then
    ``y <- y + delta (y - y_prev)/dt_inner``; repeated to ``t_end`` (the last step shortened).

    Stable when the inner steps damp the fast modes (choose ``dt_inner`` ~ 1/fast_rate) and
    ``delta`` times the largest slow rate is < 1. Returns (y(t_end), stats).
    """
    if not (dt_inner > 0 and delta >= 0 and n_inner >= 0 and t_end > 0):
        raise ConfigError("need dt_inner > 0, delta >= 0, n_inner >= 0 and t_end > 0")
    y = np.array(y0, dtype=float)
    t, inner, outer = 0.0, 0, 0
    while t < t_end * (1 - 1e-12):
        prev = y
        for _ in range(n_inner + 1):
            prev = y
            y = y + dt_inner * rhs(y)
            inner += 1
        t += (n_inner + 1) * dt_inner
        jump = min(delta, t_end - t)
        if jump > 0:
            y = y + jump * (y - prev) / dt_inner
            t += jump
        outer += 1
    return y, ProjectiveStats(inner, outer, t)
