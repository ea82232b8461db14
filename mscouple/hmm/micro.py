"""Micro models an HMM oracle can ask: a small periodic MD cell, the Cauchy–Born law, and a
periodic conduction cell problem.

Contract (all models): ``model(states [m, state_size]) -> answers [m, answer_size]``, pure
(same state, same answer; no communicator), plus the attributes ``state_size`` and
``answer_size`` and a ``name``. Models are run serially by each oracle worker rank.

:class:`MDCellModel` *runs* the MD engine (:class:`mscouple.atomistic.system.MDSystem`,
on ``MPI.COMM_SELF``) on a small periodic crystal under a homogeneous strain and returns the
(time-averaged, at T > 0) virial stress. The engine's boxes are axis-aligned, so the state is
the normal strain: ``[eps_xx]`` for a chain (answer: the chain force ``sigma_xx`` = stress
times cross-section, force units), ``[eps_xx, eps_yy, eps_zz]`` for 3D lattices (answer:
``[sigma_xx, sigma_yy, sigma_zz]`` in energy/volume; tension positive). Shear states need a
triclinic box (not in the engine yet); :class:`CauchyBornModel` takes any strain at 0 K.

At 0 K a Bravais crystal needs no internal relaxation (centrosymmetry), so the MD answer
equals the Cauchy–Born lattice sum exactly (tested). At T > 0 the cell is thermalised with
the engine's Langevin thermostat for ``n_equil`` steps and the stress (virial + kinetic)
averaged over ``n_avg`` steps, sampled every ``sample_every``.
"""
from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from .cauchy_born import BravaisLattice, cb_stress, radial_derivatives


class MDCellModel:
    """Periodic MD cell answering stress at a normal strain (see the module docstring).

    Parameters
    ----------
    potential : an :mod:`mscouple.atomistic.potentials` object.
    kind : "chain", "sc", "bcc" or "fcc".
    a0 : reference lattice constant (length); reps: periods per direction (cells of the
        conventional lattice; for a chain, the number of atoms).
    temperature, n_equil, n_avg, sample_every, damping, dt, seed : finite-T sampling.
    units, mass : as in :class:`MDSystem`; width: cross-section of a chain's box.
    orient : crystal directions along x, y, z (rows), as in :func:`lattice.cubic`; e.g.
        ``[[1,1,0],[-1,1,0],[0,0,1]]`` gives C'11 = (C11 + C12)/2 + C44 from a normal strain.
    """

    def __init__(self, potential, kind: str, a0: float, reps, *, temperature: float = 0.0,
                 n_equil: int = 2000, n_avg: int = 20000, sample_every: int = 10,
                 damping: float = 1.0, dt: float = 0.005, seed: int = 1, units: str = "lj",
                 mass: float = 1.0, width: float = 10.0, skin: float = 0.3, orient=None):
        from ..atomistic import lattice as lat

        if kind not in ("chain", "sc", "bcc", "fcc"):
            raise ConfigError(f"kind = {kind!r}: expected chain, sc, bcc or fcc")
        if temperature < 0:
            raise ConfigError(f"temperature = {temperature}: must be >= 0")
        self.potential, self.kind, self.a0 = potential, kind, float(a0)
        self.temperature = float(temperature)
        self.n_equil, self.n_avg, self.sample_every = int(n_equil), int(n_avg), int(sample_every)
        self.damping, self.dt, self.seed, self.units, self.mass = damping, dt, seed, units, mass
        self.skin = skin
        if kind == "chain":
            self.x0, self.box0 = lat.chain(self.a0, int(reps), width=width)
            self.state_size = self.answer_size = 1
            self._axes = [0]
        else:
            self.x0, self.box0 = lat.cubic(kind, self.a0, reps, orient=orient)
            self.state_size = self.answer_size = 3
            self._axes = [0, 1, 2]
        self.name = f"MD cell ({kind}, {len(self.x0)} atoms, T={self.temperature:g})"
        self.n_evaluations = 0

    def _one(self, eps: np.ndarray) -> np.ndarray:
        from mpi4py import MPI

        from ..atomistic.box import Box
        from ..atomistic.system import MDSystem
        from ..atomistic.thermostats import Langevin

        stretch = np.ones(3)
        stretch[self._axes] += eps
        if np.any(stretch <= 0.5):
            raise ConfigError(f"strain {eps.tolist()} compresses the MD cell by more than half")
        box = Box(self.box0.lo * stretch, self.box0.hi * stretch, self.box0.periodic)
        x = self.box0.lo * stretch + (self.x0 - self.box0.lo) * stretch
        th = Langevin(self.temperature, self.damping, self.seed) if self.temperature > 0 else None
        s = MDSystem(MPI.COMM_SELF, box, x, self.potential, units=self.units, dt=self.dt,
                     masses=self.mass, skin=self.skin, thermostat=th)
        if self.temperature > 0:
            s.set_velocities(self.temperature, seed=self.seed)
            s.run(self.n_equil)
            acc, n = np.zeros(6), 0
            for _ in range(max(1, self.n_avg // self.sample_every)):
                s.run(self.sample_every)
                acc += s.pressure_tensor()
                n += 1
            p = acc / n
        else:
            p = s.pressure_tensor()
        sigma = -p[self._axes]
        if self.kind == "chain":  # force in the chain = stress x cross-section
            sigma = sigma * (box.volume / box.lengths[0])
        self.n_evaluations += 1
        return sigma

    def __call__(self, states) -> np.ndarray:
        s = np.asarray(states, dtype=float).reshape(-1, self.state_size)
        return np.array([self._one(row) for row in s]).reshape(-1, self.answer_size)


class CauchyBornModel:
    """0 K Cauchy–Born law of a Bravais crystal (lattice sums, no MD).

    ``mode="normal"`` takes the same states as :class:`MDCellModel` (normal strains);
    ``mode="full"`` takes the Mandel strain ``[6]`` (3D) and returns the Mandel Cauchy
    stress ``[6]`` (deformation gradient F = I + eps, symmetric).
    """

    def __init__(self, potential, kind: str, a0: float, mode: str = "normal"):
        from ..homogenization.bounds import from_mandel, to_mandel

        self._from, self._to = from_mandel, to_mandel
        self.deriv = radial_derivatives(potential)
        self.lattice = BravaisLattice.build(kind, a0, 1.5 * self.deriv.rc)
        self.kind, self.mode = kind, mode
        if mode not in ("normal", "full"):
            raise ConfigError("mode must be 'normal' or 'full'")
        if kind == "chain":
            self.state_size = self.answer_size = 1
        else:
            self.state_size = self.answer_size = 3 if mode == "normal" else 6
        self.name = f"Cauchy-Born ({kind})"

    def _F(self, s: np.ndarray) -> np.ndarray:
        if self.kind == "chain":
            return np.diag([1.0 + s[0], 1.0, 1.0])
        if self.mode == "normal":
            return np.eye(3) + np.diag(s)
        return np.eye(3) + self._from(s, 3)

    def __call__(self, states) -> np.ndarray:
        s = np.asarray(states, dtype=float).reshape(-1, self.state_size)
        out = []
        for row in s:
            sig = cb_stress(self.deriv, self.lattice, self._F(row))
            if self.kind == "chain":
                out.append([sig[0, 0]])
            elif self.mode == "normal":
                out.append(np.diag(sig))
            else:
                out.append(self._to(sig))
        return np.array(out).reshape(-1, self.answer_size)


class ConductionCellModel:
    """Flux oracle from a periodic conduction cell problem (the heat/diffusion HMM micro model).

    ``conductivity(x, y)`` gives the micro coefficient at macro position x [d] and fast
    variables y in the unit cell [n, d]; the cell [0, 1)^d (in units of the period epsilon)
    is meshed with ``cells`` cubes per direction and solved by :class:`PeriodicRVE` on
    ``MPI.COMM_SELF``. State: ``[x_1..x_d, G_1..G_d]`` (position, macro gradient);
    answer: flux ``q = -A*(x) G`` ``[d]``.
    """

    def __init__(self, conductivity, dim: int = 1, cells: int = 64):
        self.conductivity, self.dim, self.cells = conductivity, int(dim), int(cells)
        self.state_size, self.answer_size = 2 * self.dim, self.dim
        self.name = f"periodic conduction cell ({self.cells}^{self.dim} cubes)"
        self.n_evaluations = 0

    def effective(self, x) -> np.ndarray:
        """Homogenized conductivity tensor ``[d, d]`` at macro position x ``[d]``."""
        from mpi4py import MPI

        from ..homogenization.rve import PeriodicRVE

        d, n = self.dim, self.cells
        shape = (n,) * d
        phase = np.arange(n**d).reshape(shape)
        y = (np.indices(shape).reshape(d, -1).T + 0.5) / n
        k = np.asarray(self.conductivity(np.asarray(x, dtype=float), y), dtype=float).reshape(-1)
        self.n_evaluations += 1
        return PeriodicRVE(MPI.COMM_SELF, phase).conductivity(k).tensor

    def __call__(self, states) -> np.ndarray:
        s = np.asarray(states, dtype=float).reshape(-1, self.state_size)
        return np.array([-self.effective(r[:self.dim]) @ r[self.dim:] for r in s]).reshape(-1, self.dim)
