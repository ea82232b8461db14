"""Cascade dynamics: adaptive time step, border thermostat layer, electronic stopping.

Units: those of the system (metal for cascades: Å, ps, eV, amu, K).

* :func:`adaptive_dt` -- the time step for the next velocity-Verlet step, bounded by the
  largest displacement per step (as LAMMPS ``fix dt/reset``): the smallest root over the
  mobile atoms of |v| dt + ½ |a| dt² = xmax, clipped to [dt_min, dt_max].
* :func:`border_mask` / :func:`thermostat_border` -- atoms within ``width`` of the box
  faces get the Langevin friction; the interior runs NVE (the cascade's heat leaves
  through the border, as in Nordlund et al., PRB 57 (1998) 7556).
* :class:`ElectronicStopping` -- a force fix: friction F = −γ_e m v on atoms whose kinetic
  energy exceeds ``e_cut`` (10 eV is customary; the electronic energy loss of the
  Lindhard–Scharff regime is linear in v). Energy removed is tallied in ``energy_lost``.
"""
from __future__ import annotations

import numpy as np

from ..atomistic.thermostats import Langevin
from ..errors import ConfigError


def adaptive_dt(system, xmax: float, dt_min: float, dt_max: float) -> float:
    """Time step [time] so that no mobile atom moves more than ``xmax`` [length] in it
    (collective). Uses the current velocities and the last forces."""
    if not (xmax > 0 and 0 < dt_min <= dt_max):
        raise ConfigError(f"adaptive dt: need xmax > 0 and 0 < dt_min <= dt_max, got "
                          f"xmax={xmax}, dt_min={dt_min}, dt_max={dt_max}")
    if not system._forces_valid:
        system.compute_forces(energy=False, virial=False)
    mob = system.fixed == 0
    v = np.sqrt(np.einsum("ij,ij->i", system.v[mob], system.v[mob]))
    a = np.sqrt(np.einsum("ij,ij->i", system.f[mob], system.f[mob])) \
        * system.units.ftm2v / system.mass[mob]
    # positive root of ½ a t² + v t − xmax = 0, written to avoid cancellation
    t = 2.0 * xmax / (v + np.sqrt(v * v + 2.0 * a * xmax) + 1e-300)
    local = float(t.min()) if len(t) else dt_max
    if system.decomp.size > 1:
        from mpi4py import MPI
        local = system.comm.allreduce(local, op=MPI.MIN)
    return float(min(max(local, dt_min), dt_max))


def border_mask(x: np.ndarray, box, width: float) -> np.ndarray:
    """[n] bool: positions ``x [n,3]`` within ``width`` of any box face."""
    x = np.asarray(x, dtype=float)
    d = np.minimum(x - box.lo, box.hi - x)
    return np.any(d < width, axis=1)


def thermostat_border(system, temperature: float, damping: float, width: float,
                      seed: int = 2024) -> np.ndarray:
    """Langevin friction (1/``damping``) on the atoms within ``width`` of the box faces
    only; returns the local border mask. The per-atom friction travels with the atoms."""
    if not width > 0:
        raise ConfigError(f"border width = {width}: expected > 0")
    system.thermostat = Langevin(temperature, damping, seed)
    mask = border_mask(system.x, system.box, width)
    system.langevin_gamma[~mask] = 0.0
    return mask


class ElectronicStopping:
    """Friction force fix (see the module docstring). ``gamma`` [1/time], ``e_cut`` [energy].

    Attach with ``system.fixes.append(stop)``. ``energy_lost`` (local) accumulates
    −Σ F·v dt with the system's current ``dt`` at every force evaluation.
    """

    def __init__(self, gamma: float, e_cut: float = 10.0) -> None:
        if not gamma >= 0 or not e_cut >= 0:
            raise ConfigError(f"electronic stopping gamma = {gamma}, e_cut = {e_cut}: expected >= 0")
        self.gamma = float(gamma)
        self.e_cut = float(e_cut)
        self.energy_lost = 0.0

    def post_force(self, system) -> None:
        ke = system.per_atom_kinetic_energy()
        hot = ke > self.e_cut
        if not np.any(hot):
            return
        m = system.mass[hot, None]
        fr = -self.gamma * m * system.v[hot] * system.units.mvv2e  # amu Å/ps² -> eV/Å
        system.f[hot] += fr
        self.energy_lost -= float(np.sum(fr * system.v[hot])) * system.dt


def velocity_verlet_step(system, dt: float) -> None:
    """One step of the system's integrator (thermostat included) with time step ``dt``."""
    system.dt = float(dt)
    system.run(1)
