"""Adiabatic elastic constants of a cubic crystal at finite temperature, by MD.

Why: the continuum of a coupled run at temperature T should carry the constants of the
patch at T (the 0 K Cauchy–Born constants of :mod:`.elastic` are 2–3 % too stiff for Cu at
300 K; issue 12). Units: those of the potential (metal: Å, ps, eV, g/mol, K; constants and
pressure in eV/Å³).

Estimator (LAMMPS' ELASTIC example, with a canonical strain): a periodic supercell of the
lattice in the [110]/[-110]/[001] orientation (so that normal strains see C44) is held at the
reference lattice constant ``a`` (the continuum's reference configuration), equilibrated with
a Langevin thermostat at T, then at each of ``origins`` independent states (``gap`` of NVT
apart) strained along x', y', z' by ±eps with the canonical point transformation
x -> F x, v -> F^-1 v (F diagonal). That map changes the energy by exactly the reversible work
(kinetic part included) to first order, so the NVE response is the *adiabatic* one; remapping
x only (LAMMPS' ``change_box ... remap``) adds N k_B T eps of heat and lowers C11 by about
(dP/dT)_V T/3 (≈ 0.008 eV/Å³ for Cu at 300 K). The Cauchy stress (virial + kinetic) is
averaged over ``average`` of NVE after each strain; the ± runs start from the same state, so
their noise is correlated and (σ(+eps) − σ(−eps))/(2 eps) converges in ~0.5 ps.

The nine derivatives dσ_aa/dε_bb of each origin are fitted (least squares) by the cubic
constants rotated into the cell frame: C11 from z'z', C'11 = (C11 + C12 + 2 C44)/2 from x'x'
and y'y', C'12 = (C11 + C12 − 2 C44)/2 from x'y', C12 from the four z' couplings. The
result is the mean over origins, the error bar their standard error (independent blocks).

These are the stress–strain coefficients B of the state under its thermal pressure P
(Wallace): for a hydrostatic pre-stress they give the long-wave speeds directly,
ρ c² = B_ijkl n_j n_l (longitudinal along <100>: B11 = C11 − P). The pressure is reported.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError

O110 = ((1, 1, 0), (-1, 1, 0), (0, 0, 1))


@dataclass(frozen=True)
class ThermalConstants:
    """Adiabatic constants at ``temperature`` and lattice constant ``a``: C11, C12, C44 and
    their standard errors (energy/length³), the mean pressure (positive compressive), the
    density (mass/length³), the atom count and the estimator's settings."""

    temperature: float
    a: float
    c11: float
    c12: float
    c44: float
    c11_err: float
    c12_err: float
    c44_err: float
    pressure: float
    pressure_err: float
    density: float
    natoms: int
    origins: int
    strain: float

    @property
    def C(self) -> np.ndarray:
        """Voigt stiffness [6, 6]."""
        C = np.zeros((6, 6))
        C[:3, :3] = self.c12
        C[np.diag_indices(3)] = self.c11
        C[3, 3] = C[4, 4] = C[5, 5] = self.c44
        return C

    def longitudinal_speed(self, mvv2e: float = 1.0) -> float:
        """√(C11/(ρ mvv2e)) along <100> (length/time)."""
        return math.sqrt(self.c11 / (self.density * mvv2e))

    def as_dict(self) -> dict:
        return {k: (float(v) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


def _fit(D: np.ndarray) -> np.ndarray:
    """(C11, C12, C44) of one origin from D[a, b] = dσ_aa/dε_bb in the O110 frame."""
    # rows: observation = A @ (C11, C12, C44)
    A = np.array([[0.5, 0.5, 1.0], [0.5, 0.5, 1.0],            # x'x', y'y': C'11
                  [0.5, 0.5, -1.0], [0.5, 0.5, -1.0],          # x'y', y'x': C'12
                  [0.0, 1.0, 0.0], [0.0, 1.0, 0.0], [0.0, 1.0, 0.0], [0.0, 1.0, 0.0],  # C12
                  [1.0, 0.0, 0.0]])                            # z'z': C11
    y = np.array([D[0, 0], D[1, 1], D[0, 1], D[1, 0], D[0, 2], D[1, 2], D[2, 0], D[2, 1], D[2, 2]])
    return np.linalg.lstsq(A, y, rcond=None)[0]


def thermal_elastic_constants(potential, kind: str, a: float, mass: float, temperature: float, *,
                              seed: int = 1, reps=(8, 8, 6), dt: float = 0.002, strain: float = 0.01,
                              equilibrate: float = 2.0, gap: float = 0.5, average: float = 0.6,
                              origins: int = 4, damping: float = 0.1, units: str = "metal",
                              skin: float = 1.0, remap_velocities: bool = True,
                              comm=None) -> ThermalConstants:
    """Adiabatic C11, C12, C44 of the ``kind`` (fcc, bcc, sc) lattice of a one-species
    ``potential`` at lattice constant ``a`` and ``temperature`` (see the module doc).
    Times in the unit system's time unit; deterministic for a seed. Runs on ``comm``
    (default COMM_SELF). ``remap_velocities=False`` strains positions only (LAMMPS'
    ``change_box ... remap``; not adiabatic, kept to compare with LAMMPS)."""
    from mpi4py import MPI

    from .box import Box
    from .lattice import cubic
    from .system import MDSystem
    from .thermostats import Langevin

    if kind not in ("fcc", "bcc", "sc"):
        raise ConfigError(f"lattice kind = {kind!r}: finite-temperature constants need a cubic lattice "
                          "(fcc, bcc or sc)")
    if not temperature > 0:
        raise ConfigError(f"temperature = {temperature}: expected > 0 (0 K: the Cauchy–Born constants)")
    if not 0 < strain <= 0.05:
        raise ConfigError(f"strain = {strain}: expected 0 < strain <= 0.05")
    if int(origins) < 2:
        raise ConfigError(f"origins = {origins}: expected >= 2 (the error bar needs two blocks)")
    comm = MPI.COMM_SELF if comm is None else comm
    x, box = cubic(kind, a, reps, orient=O110)
    kw = dict(masses=mass, units=units, dt=dt, skin=skin, neigh_every=5)
    nstep = lambda t: max(int(round(t / dt)), 1)  # noqa: E731
    sys_ = MDSystem(comm, box, x, potential, thermostat=Langevin(temperature, damping, seed=int(seed)), **kw)
    sys_.set_velocities(2.0 * temperature, seed=int(seed) + 1)
    sys_.run(nstep(equilibrate))
    every = 5
    nav = max(nstep(average) // every, 1)
    fits, press = [], []
    for _ in range(int(origins)):
        sys_.run(nstep(gap))
        xu = sys_.gather("x") + sys_.gather("image") * sys_.box.lengths
        v = sys_.gather("v")
        press.append(float(np.mean(sys_.pressure_tensor()[:3])))
        D = np.zeros((3, 3))
        for b in range(3):
            mean = {}
            for sg in (1.0, -1.0):
                F = np.ones(3)
                F[b] += sg * strain
                s = MDSystem(comm, Box(box.lo * F, box.hi * F), xu * F, potential, velocities=v / F if remap_velocities else v, **kw)
                acc = np.zeros(3)
                for _k in range(nav):
                    s.run(every)
                    acc += s.pressure_tensor()[:3]
                mean[sg] = acc / nav
            D[:, b] = -(mean[1.0] - mean[-1.0]) / (2.0 * strain)
        fits.append(_fit(D))
    fits = np.array(fits)
    m, e = fits.mean(axis=0), fits.std(axis=0, ddof=1) / math.sqrt(len(fits))
    natoms = len(x)
    density = mass * natoms / box.volume
    p = np.array(press)
    return ThermalConstants(float(temperature), float(a), float(m[0]), float(m[1]), float(m[2]),
                            float(e[0]), float(e[1]), float(e[2]), float(p.mean()),
                            float(p.std(ddof=1) / math.sqrt(len(p))), float(density), natoms,
                            int(origins), float(strain))
