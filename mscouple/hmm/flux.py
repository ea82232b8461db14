"""Heat-flux micro model for HMM: the flux at a local temperature gradient from a periodic MD cell.

The macro heat solver asks, at each quadrature point, for the heat flux ``q`` at the local
state ``(T, dT/dx[, dT/dy, dT/dz])``. :class:`MDFluxCellModel` answers by measuring the
thermal conductivity of a small periodic Lennard-Jones fcc cell at temperature ``T`` by
non-equilibrium MD with an imposed heat flux (Jund & Jullien, PRB 59 (1999) 13707; the
measurement of :func:`mscouple.coupling.thermal.nemd_conductivity`, run step for step by a
PETSc-free copy, :func:`_nemd_conductivity`) and returning Fourier's
law with that conductivity,

    q = -kappa(T) grad T          (energy / (time length^{d-1}); LJ units eps / (tau sigma^2)).

Physics and limits
------------------
* **Linear response.** The macro gradient enters only through Fourier's law, which is the
  linear-response limit: valid while the temperature changes little over the phonon mean free
  path / the cell, ``|grad T| a << T`` (a: lattice constant). Each evaluation records
  ``|grad T| a / T`` and warns (``RuntimeWarning``) once it exceeds ``max_gradient_ratio``.
  Within linear response the MD cell does not need to be driven at the macro gradient: the
  NEMD cell imposes its own (small, fixed-power) gradient and ``kappa`` is a material property.
* **Isotropy.** The cell is cubic fcc, whose conductivity tensor is ``kappa I`` (cubic
  symmetry), so one transport direction (x) gives the full tensor: the flux is exactly
  antiparallel to the gradient and exactly linear in it (for the same ``T``).
* **Temperature.** The NEMD run starts from velocities at ``2 T`` (half of the kinetic energy
  goes to the lattice); its measured mean temperature (``T_mean``, about 1-2 % above ``T`` at
  T = 0.3) is recorded. The lattice constant is fixed (no thermal expansion), and ``kappa`` is
  that of a cell of ``cells[0]`` unit cells along the flux: phonons longer than the cell are
  missing (finite-size effect, see :func:`~mscouple.coupling.thermal.conductivity_extrapolation`).
* **Noise.** ``kappa`` is a time average over ``t_avg`` of a fluctuating temperature profile:
  one run of the default cell (8x3x3 fcc cells, 288 atoms, power 16, t_avg = 40) at T = 0.3
  has a relative standard deviation of about 10 % over seeds (measured: mean 14.9, sd 1.45 over
  8 seeds); ``replicas`` independent runs (seeds ``seed + r``) are averaged, reducing it by
  ``1/sqrt(replicas)``, and ``kappa_sem`` is reported. The noise is **not** re-drawn on
  repeated requests: the answer is a deterministic function of the state (see the cache).

Cache and purity
----------------
``kappa`` is measured once per temperature *bin*: with ``t_tol > 0`` the temperature is
rounded to the nearest multiple of ``t_tol`` (``T_key = t_tol round(T / t_tol)``), and the
NEMD run is done at ``T_key``; with ``t_tol = 0`` every distinct ``T`` is a bin. So the answer
depends on the state only (not on the order of requests or on which farm worker answers),
states with any gradient at a cached ``T`` cost nothing, and the oracle farm reproduces the
serial oracle bit for bit (same seeds). Choose ``t_tol`` no larger than the temperature change
over which ``kappa`` may be taken constant; the oracle's own ``tol`` on the whole state is a
separate, usually tighter, cache.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from ..atomistic.nemd import nemd_conductivity as _nemd_conductivity
from ..errors import ConfigError, ConvergenceError

__all__ = ["MDFluxCellModel", "steady_conduction_1d"]


class MDFluxCellModel:
    """Heat flux ``q = -kappa(T) grad T`` with ``kappa(T)`` from NEMD on a periodic LJ fcc cell.

    Micro-model contract of :mod:`mscouple.hmm.oracle`: ``model(states [m, 1 + dim]) ->
    answers [m, dim]`` with state rows ``[T, dT/dx_1, ..., dT/dx_dim]`` and answer rows the
    heat flux ``[q_1, ..., q_dim]``; pure (same state, same answer), no communicator (each
    oracle worker runs its cells on ``MPI.COMM_SELF``). LJ units throughout.

    Parameters
    ----------
    dim : 1, 2 or 3 (macro dimension; the MD cell is always 3D).
    cells : fcc unit cells of the NEMD cell (x: transport direction, >= 8).
    power : energy per time pumped from the cold to the hot slab; keep ``power / (cells[1]
        cells[2])`` such that the cell's own gradient stays small against ``T`` (the cold slab
        must not run out of kinetic energy: :class:`SimulationError` then).
    a, dt, every, t_equil, t_avg, cutoff : as in :func:`~mscouple.coupling.thermal.nemd_conductivity`.
    seed : seed of the first replica; replica r uses ``seed + r``.
    replicas : independent NEMD runs averaged per temperature bin.
    t_tol : width of the temperature bins of the ``kappa`` cache (0: exact ``T``).
    max_gradient_ratio : warn when ``|grad T| a / T`` exceeds it (linear response).
    """

    def __init__(self, dim: int = 1, *, cells=(8, 3, 3), power: float = 16.0, a: float = 1.56,
                 dt: float = 0.005, every: int = 10, t_equil: float = 10.0, t_avg: float = 40.0,
                 seed: int = 3, cutoff: float = 2.5, replicas: int = 1, t_tol: float = 0.0,
                 max_gradient_ratio: float = 0.1):
        if int(dim) not in (1, 2, 3):
            raise ConfigError(f"dim = {dim}: expected 1, 2 or 3")
        if len(cells) != 3 or int(cells[0]) < 8 or min(int(c) for c in cells) < 1:
            raise ConfigError(f"cells = {tuple(cells)}: need 3 counts with cells[0] >= 8 (room for a gradient)")
        if not power > 0:
            raise ConfigError(f"power = {power}: must be > 0")
        if int(replicas) < 1:
            raise ConfigError(f"replicas = {replicas}: must be >= 1")
        if t_tol < 0:
            raise ConfigError(f"t_tol = {t_tol}: must be >= 0")
        self.dim = int(dim)
        self.state_size, self.answer_size = 1 + self.dim, self.dim
        self.cells = tuple(int(c) for c in cells)
        self.power, self.a, self.dt, self.every = float(power), float(a), float(dt), int(every)
        self.t_equil, self.t_avg, self.cutoff = float(t_equil), float(t_avg), float(cutoff)
        self.seed, self.replicas, self.t_tol = int(seed), int(replicas), float(t_tol)
        self.max_gradient_ratio = float(max_gradient_ratio)
        self.name = (f"NEMD flux cell (LJ fcc {'x'.join(map(str, self.cells))}, "
                     f"{4 * math.prod(self.cells)} atoms, {self.replicas} replica(s))")
        #: per temperature bin T_key: {"kappa", "kappa_sem", "kappas", "T_mean", "gradient"}
        self.measurements: dict[float, dict] = {}
        self.n_md_runs = 0
        self.n_evaluations = 0
        self.max_seen_ratio = 0.0
        self._warned = False

    # ------------------------------------------------------------------ kappa(T)
    def bin_temperature(self, T: float) -> float:
        """The temperature at which ``kappa`` is measured for a state at ``T``."""
        T = float(T)
        if not (math.isfinite(T) and T > 0):
            raise ConfigError(f"T = {T}: the MD flux cell needs a finite temperature > 0")
        if self.t_tol == 0:
            return T
        Tk = round(self.t_tol * round(T / self.t_tol), 12)  # 0.3, not 0.30000000000000004
        if Tk <= 0:
            raise ConfigError(f"T = {T} falls in the temperature bin 0 (t_tol = {self.t_tol}); lower t_tol")
        return Tk

    def measure(self, T: float) -> dict:
        """NEMD measurement at the bin temperature of ``T`` (cached): ``kappa`` (mean over the
        replicas), ``kappa_sem`` (standard error, NaN for one replica), ``kappas`` [replicas],
        ``T_mean`` [replicas] (measured mean temperatures), ``gradient`` [replicas] (the
        NEMD cell's own temperature gradient)."""
        Tk = self.bin_temperature(T)
        hit = self.measurements.get(Tk)
        if hit is not None:
            return hit
        runs = [_nemd_conductivity(self.cells, T=Tk, power=self.power, a=self.a, dt=self.dt, every=self.every,
                                  t_equil=self.t_equil, t_avg=self.t_avg, seed=self.seed + r, cutoff=self.cutoff)
                for r in range(self.replicas)]
        self.n_md_runs += self.replicas
        k = np.array([r["kappa"] for r in runs])
        res = {"T": Tk, "kappa": float(k.mean()),
               "kappa_sem": float(k.std(ddof=1) / math.sqrt(len(k))) if len(k) > 1 else float("nan"),
               "kappas": k, "T_mean": np.array([r["T_mean"] for r in runs]),
               "gradient": np.array([r["gradient"] for r in runs])}
        self.measurements[Tk] = res
        return res

    def conductivity(self, T: float) -> float:
        """``kappa`` at the bin temperature of ``T`` (LJ units k_B / (sigma tau))."""
        return self.measure(T)["kappa"]

    # ------------------------------------------------------------------ the contract
    def __call__(self, states) -> np.ndarray:
        s = np.asarray(states, dtype=float).reshape(-1, self.state_size)
        out = np.empty((len(s), self.dim))
        for i, row in enumerate(s):
            T, g = row[0], row[1:]
            kappa = self.conductivity(T)
            ratio = float(np.linalg.norm(g)) * self.a / T
            self.max_seen_ratio = max(self.max_seen_ratio, ratio)
            if ratio > self.max_gradient_ratio and not self._warned:
                self._warned = True
                warnings.warn(f"MDFluxCellModel: |grad T| a / T = {ratio:.3g} > {self.max_gradient_ratio:g} at "
                              f"T = {T:g}: beyond linear response, Fourier's law with kappa(T) is questionable",
                              RuntimeWarning, stacklevel=2)
            out[i] = -kappa * g
            self.n_evaluations += 1
        return out


def steady_conduction_1d(oracle, T_left: float, T_right: float, length: float, n: int, *,
                         max_iter: int = 50) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Steady 1D conduction ``-(kappa(T) T')' = 0`` on ``(0, length)``, ``T(0) = T_left``,
    ``T(length) = T_right``, with the flux from an HMM oracle (state ``[T, dT/dx]``).

    P1 elements, one oracle batch per Picard iteration: element states (midpoint T, slope)
    -> fluxes ``q_e`` -> secant conductances ``kappa_e = -q_e / slope_e`` -> linear solve,
    until the conductances repeat exactly (with a binned ``kappa`` this is a fixed point
    after a few iterations). Returns ``(x [n+1], T [n+1], q [n])``; at the fixed point the
    element fluxes are equal (no source) and ``q = -(T_right - T_left) / sum_e(h / kappa_e)``.
    Raises :class:`ConvergenceError` if the conductances do not settle in ``max_iter``.
    """
    if n < 2 or not length > 0:
        raise ConfigError("need n >= 2 elements and length > 0")
    x = np.linspace(0.0, float(length), n + 1)
    h = np.diff(x)
    T = T_left + (T_right - T_left) * x / length
    kappa = None
    for _ in range(max_iter):
        g = np.diff(T) / h
        q = np.asarray(oracle.evaluate(np.column_stack([0.5 * (T[1:] + T[:-1]), g])), dtype=float)[:, 0]
        k_new = np.where(g != 0, -q / np.where(g != 0, g, 1.0), 1.0 if kappa is None else kappa)
        if np.any(k_new <= 0):
            raise ConfigError("the oracle returned a non-positive conductivity (flux along the gradient)")
        if kappa is not None and np.array_equal(k_new, kappa):
            return x, T, q
        kappa = k_new
        # series conductances: nodal temperatures of the 1D P1 system with Dirichlet ends
        r = np.concatenate([[0.0], np.cumsum(h / kappa)])
        T = T_left + (T_right - T_left) * r / r[-1]
    raise ConvergenceError(f"steady_conduction_1d: conductances still changing after {max_iter} iterations")

