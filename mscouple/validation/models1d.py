"""One-dimensional NumPy models that implement the coupling contract of both engines.

They are the reference against which the couplers are tested and the models of the 1D
validation scenarios (:mod:`mscouple.validation.wave1d`, :mod:`mscouple.validation.heat_bar`,
``examples/wave_1d``), which run without the compiled MD and PETSc FE engines. Chain and bar
expose the *mechanical side* interface that
:class:`~mscouple.coupling.dynamics.BridgingDomainCoupler` drives:

``mass [n]`` dynamical masses (already weight-scaled), ``x0 [n, 1]`` reference positions,
``u, v [n, 1]`` displacement and velocity, ``external_force [n, 1]``, ``kick(h)``,
``drift(dt)``, ``compute_forces()``, ``kinetic_energy()``, ``potential_energy()``.

* :class:`Chain1D` — atoms on a line with nearest-neighbour harmonic springs (stiffness
  ``k``) or Lennard-Jones (nearest and next-nearest pairs); energy-blended: a pair i–j
  counts with weight (a_i + a_j)/2, a = 1 − w the atomistic weight.
* :class:`Bar1D` — linear P1 elements with lumped mass; a per-cell weight multiplies
  density and stiffness (DESIGN.md §4).
* :class:`Heat1D` — lumped-capacity P1 heat conduction (backward Euler) with the
  continuum-side interface of :class:`~mscouple.coupling.thermal.ThermalCoupler`.

Units: any consistent set (LJ in the examples).
"""
from __future__ import annotations

import numpy as np

from ..errors import ConfigError

__all__ = ["Chain1D", "Bar1D", "Heat1D", "chain_dispersion", "lumped_p1_dispersion"]


def chain_dispersion(q: np.ndarray, k: float = 1.0, m: float = 1.0, a: float = 1.0) -> np.ndarray:
    """ω(q) = 2 sqrt(k/m) |sin(q a / 2)| of a harmonic chain."""
    return 2.0 * np.sqrt(k / m) * np.abs(np.sin(0.5 * np.asarray(q) * a))


def lumped_p1_dispersion(q: np.ndarray, EA: float = 1.0, rhoA: float = 1.0, h: float = 1.0) -> np.ndarray:
    """ω(q) = (2/h) sqrt(EA/ρA) |sin(q h / 2)| of lumped-mass linear elements (q < π/h)."""
    return 2.0 / h * np.sqrt(EA / rhoA) * np.abs(np.sin(0.5 * np.asarray(q) * h))


class Chain1D:
    """Chain of ``n`` atoms at reference positions ``x0`` (sorted), free ends.

    Parameters
    ----------
    x0 : [n] reference positions.
    mass : atomic mass.
    weight : [n] atomistic energy weights a = 1 − w ∈ (0, 1] (masses become a·m).
    potential : ``"harmonic"`` (spring ``k``, rest length = reference spacing) or ``"lj"``
        (ε, σ; nearest and next-nearest neighbours, no cutoff beyond them).
    """

    def __init__(self, x0: np.ndarray, mass: float = 1.0, weight: np.ndarray | None = None,
                 potential: str = "harmonic", k: float = 1.0, epsilon: float = 1.0, sigma: float = 1.0) -> None:
        self.x0 = np.asarray(x0, dtype=float).reshape(-1, 1)
        n = self.x0.shape[0]
        self.weight = np.ones(n) if weight is None else np.asarray(weight, dtype=float)
        if np.any(self.weight <= 0) or np.any(self.weight > 1):
            raise ConfigError("atomistic weights must lie in (0, 1]: drop atoms where the continuum weight is 1")
        if potential not in ("harmonic", "lj"):
            raise ConfigError(f"potential = {potential!r}: expected 'harmonic' or 'lj'")
        self.potential = potential
        self.k, self.eps, self.sig = float(k), float(epsilon), float(sigma)
        self.mass = mass * self.weight
        self.u = np.zeros((n, 1))
        self.v = np.zeros((n, 1))
        self.f = np.zeros((n, 1))
        self.external_force = np.zeros((n, 1))
        self._epot = 0.0
        self.shifts = (1,) if potential == "harmonic" else (1, 2)
        self._pw = {s: 0.5 * (self.weight[:-s] + self.weight[s:]) for s in self.shifts}
        self._r0 = {s: self.x0[s:, 0] - self.x0[:-s, 0] for s in self.shifts}
        self.compute_forces()

    def _pair(self, r: np.ndarray, s: int) -> tuple[np.ndarray, np.ndarray]:
        """Pair energy and dE/dr."""
        if self.potential == "harmonic":
            d = r - self._r0[s]
            return 0.5 * self.k * d * d, self.k * d
        sr6 = (self.sig / r) ** 6
        return 4 * self.eps * (sr6 * sr6 - sr6), 4 * self.eps * (-12 * sr6 * sr6 + 6 * sr6) / r

    def compute_forces(self) -> None:
        x = self.x0[:, 0] + self.u[:, 0]
        f = np.zeros(x.size)
        e = 0.0
        for s in self.shifts:
            en, de = self._pair(x[s:] - x[:-s], s)
            w = self._pw[s]
            e += float(np.sum(w * en))
            g = w * de
            f[:-s] += g
            f[s:] -= g
        self._epot = e
        self.f[:, 0] = f + self.external_force[:, 0]

    def kick(self, h: float) -> None:
        self.v += h * self.f / self.mass[:, None]

    def drift(self, dt: float) -> None:
        self.u += dt * self.v

    def kinetic_energy(self) -> float:
        return 0.5 * float(np.sum(self.mass[:, None] * self.v ** 2))

    def potential_energy(self) -> float:
        return self._epot


class Bar1D:
    """P1 bar on ``nodes`` [n] with ``cells`` [nc, 2] and per-cell weights [nc] (0 < w ≤ 1).

    Lumped masses ``M_I = Σ_e w_e ρA |e| / 2``; element stiffness ``w_e EA / |e|``.
    Cells with weight 0 must be left out of the mesh.
    """

    def __init__(self, nodes: np.ndarray, cells: np.ndarray, cell_weight: np.ndarray | None = None,
                 EA: float = 1.0, rhoA: float = 1.0) -> None:
        self.x0 = np.asarray(nodes, dtype=float).reshape(-1, 1)
        self.cells = np.asarray(cells, dtype=np.int64)
        nc = self.cells.shape[0]
        self.cell_weight = np.ones(nc) if cell_weight is None else np.asarray(cell_weight, dtype=float)
        if np.any(self.cell_weight <= 0):
            raise ConfigError("a continuum cell has weight 0: leave it out of the mesh")
        L = np.abs(self.x0[self.cells[:, 1], 0] - self.x0[self.cells[:, 0], 0])
        self.ke = self.cell_weight * EA / L
        self.mass = np.zeros(self.x0.shape[0])
        np.add.at(self.mass, self.cells.ravel(), np.repeat(0.5 * self.cell_weight * rhoA * L, 2))
        if np.any(self.mass <= 0):
            raise ConfigError("a continuum node belongs to no cell")
        n = self.x0.shape[0]
        self.u = np.zeros((n, 1))
        self.v = np.zeros((n, 1))
        self.f = np.zeros((n, 1))
        self.external_force = np.zeros((n, 1))
        self._estrain = 0.0
        self.compute_forces()

    def compute_forces(self) -> None:
        i, j = self.cells[:, 0], self.cells[:, 1]
        d = self.u[j, 0] - self.u[i, 0]
        g = self.ke * d
        n = self.mass.size
        f = np.bincount(i, g, n) - np.bincount(j, g, n)
        self._estrain = 0.5 * float(np.sum(self.ke * d * d))
        self.f[:, 0] = f + self.external_force[:, 0]

    def kick(self, h: float) -> None:
        self.v += h * self.f / self.mass[:, None]

    def drift(self, dt: float) -> None:
        self.u += dt * self.v

    def kinetic_energy(self) -> float:
        return 0.5 * float(np.sum(self.mass[:, None] * self.v ** 2))

    def potential_energy(self) -> float:
        return self._estrain


class Heat1D:
    """Lumped-capacity P1 heat conduction on ``nodes`` [n] / ``cells`` [nc, 2], backward Euler.

    ``m_I (T_I' − T_I)/Δt = −(K T')_I + S_I`` on free nodes; nodes listed in :meth:`step`'s
    ``fixed`` get prescribed temperatures and report the *reaction power*

        P_I = −(K T')_I + S_I − m_I (T_I' − T_I)/Δt          (energy/time),

    the power the conducting continuum passes into node I beyond its own capacity. With
    ``E = Σ_all m_I T_I`` one has exactly ``ΔE = Δt (Σ S − Σ P)`` (K has zero row sums).

    Parameters: ``conductivity`` (k A, energy·length/time/temperature), ``rho_c`` (heat
    capacity per length, energy/temperature/length), ``cell_weight`` [nc] multiplies both.
    """

    def __init__(self, nodes: np.ndarray, cells: np.ndarray, conductivity: float, rho_c: float,
                 cell_weight: np.ndarray | None = None) -> None:
        import scipy.sparse as sp

        self.x = np.asarray(nodes, dtype=float).ravel()
        self.cells = np.asarray(cells, dtype=np.int64)
        n = self.x.size
        w = np.ones(len(self.cells)) if cell_weight is None else np.asarray(cell_weight, float)
        L = np.abs(self.x[self.cells[:, 1]] - self.x[self.cells[:, 0]])
        ke = w * conductivity / L
        i, j = self.cells[:, 0], self.cells[:, 1]
        rows = np.concatenate([i, j, i, j])
        cols = np.concatenate([i, j, j, i])
        vals = np.concatenate([ke, ke, -ke, -ke])
        self.K = sp.csr_matrix((vals, (rows, cols)), shape=(n, n))
        self.capacity = np.bincount(i, 0.5 * w * rho_c * L, n) + np.bincount(j, 0.5 * w * rho_c * L, n)
        if np.any(self.capacity <= 0):
            raise ConfigError("a heat node belongs to no cell")
        self.T = np.zeros(n)
        self.source = np.zeros(n)
        self._cache: dict = {}

    def thermal_energy(self) -> float:
        return float(np.sum(self.capacity * self.T))

    def step(self, dt: float, fixed: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Advance by ``dt`` with ``T[fixed] = values``; return the reaction powers [len(fixed)]."""
        import scipy.sparse as sp
        import scipy.sparse.linalg as spla

        fixed = np.asarray(fixed, dtype=np.int64)
        key = (float(dt), fixed.tobytes())
        if key not in self._cache:
            free = np.setdiff1d(np.arange(self.T.size), fixed)
            A = (sp.diags(self.capacity / dt) + self.K).tocsr()
            self._cache = {key: (free, spla.factorized(A[free][:, free].tocsc()), A[free][:, fixed].tocsr())}
        free, solve, Afx = self._cache[key]
        T_old = self.T.copy()
        rhs = self.capacity[free] / dt * T_old[free] + self.source[free] - Afx @ values
        self.T[fixed] = values
        self.T[free] = solve(rhs)
        KT = self.K @ self.T
        return -KT[fixed] + self.source[fixed] - self.capacity[fixed] * (self.T[fixed] - T_old[fixed]) / dt
