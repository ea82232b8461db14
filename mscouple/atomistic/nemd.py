"""Material consistency: thermal conductivity of the atomistic material by NEMD.

PETSc-free (only the MD engine), so it can be imported on MD-only ranks: importing
:mod:`mscouple.coupling` initialises PETSc, which is collective over all processes.
Units: the case's (LJ in the defaults).
"""
from __future__ import annotations

import numpy as np

from ..errors import ConfigError, SimulationError

def nemd_conductivity(cells=(8, 2, 2), T: float = 0.3, power: float = 4.0, a: float = 1.56, dt: float = 0.005,
                      every: int = 10, t_equil: float = 20.0, t_avg: float = 40.0, seed: int = 3,
                      cutoff: float = 2.5) -> dict:
    """Thermal conductivity of an LJ fcc crystal by non-equilibrium MD with an imposed heat flux.

    A periodic cell of ``cells`` fcc unit cells (x the transport direction) gets a hot slab
    at 0 ≤ x < a and a cold slab half a period away; every ``every`` steps ``power·Δt`` of
    kinetic energy is put into the hot slab and taken from the cold one by scaling the
    velocities relative to each slab's centre of mass (momentum and total energy conserved;
    Jund & Jullien, PRB 59 (1999) 13707). The heat flows both ways, so
    ``κ = power / (2 A |dT/dx|)`` with the gradient fitted on the plane temperatures between
    the slabs (both halves, mirrored) over ``t_avg`` after ``t_equil`` (LJ units).

    Returns ``kappa``, ``L`` (period), ``gradient``, ``T_mean`` and the profile.
    """
    from mpi4py import MPI

    from ..atomistic.box import Box
    from ..atomistic.lattice import fcc
    from ..atomistic.potentials import LennardJones
    from ..atomistic.system import MDSystem

    x, cbox = fcc(a, cells)
    L = cells[0] * a
    box = Box(np.zeros(3), np.asarray(cbox.hi, dtype=float), (True, True, True))
    md = MDSystem(MPI.COMM_SELF, box, x, LennardJones(cutoff=cutoff, mode="shift"), units="lj", dt=dt,
                  skin=0.3, sort_every=0)
    md.set_velocities(2.0 * T, seed=seed)
    X = np.asarray(md.x0[:, 0]) % L
    hot = np.flatnonzero(X < a - 1e-9)
    cold = np.flatnonzero((X >= 0.5 * L - 1e-9) & (X < 0.5 * L + a - 1e-9))
    m = np.asarray(md.mass)
    dE = power * every * dt

    def pump(idx, e):
        v = md.v[idx]
        vc = (m[idx, None] * v).sum(0) / m[idx].sum()
        u = v - vc
        ke = 0.5 * float(np.sum(m[idx, None] * u * u))
        if ke + e <= 0:
            raise SimulationError("NEMD: the cold slab ran out of kinetic energy; lower the power")
        md.v[idx] = vc + u * np.sqrt(1.0 + e / ke)

    plane = np.round(X / (0.5 * a)).astype(int) % int(round(2 * L / a))
    nplanes = int(round(2 * L / a))
    n_eq, n_av = int(round(t_equil / (every * dt))), int(round(t_avg / (every * dt)))
    Tp = np.zeros(nplanes)
    for k in range(n_eq + n_av):
        md.run(every)
        pump(hot, dE)
        pump(cold, -dE)
        if k >= n_eq:
            e = m * np.sum(np.asarray(md.v) ** 2, axis=1)
            Tp += np.bincount(plane, e, nplanes) / (3.0 * np.bincount(plane, None, nplanes))
    Tp /= n_av
    xp = np.arange(nplanes) * 0.5 * a
    # distance from the hot slab's centre along the shorter way, mirrored onto [0, L/2]
    s = np.abs(((xp - 0.5 * a) + 0.5 * L) % L - 0.5 * L)
    mid = (s > a) & (s < 0.5 * L - a)  # away from both slabs
    if np.count_nonzero(mid) < 3:
        raise ConfigError(f"NEMD: cell of {cells[0]} unit cells too short for a gradient; use >= 8")
    g, c0 = np.polyfit(s[mid], Tp[mid], 1)
    resid = Tp[mid] - (g * s[mid] + c0)
    area = cbox.hi[1] * cbox.hi[2]
    return {"kappa": power / (2 * area * abs(g)), "L": L, "gradient": float(g), "T_mean": float(Tp.mean()),
            "x": xp, "T": Tp, "fit_rms": float(np.sqrt(np.mean(resid ** 2)))}


def conductivity_extrapolation(lengths=(8, 12, 16), cross=(2, 2), **kw) -> dict:
    """Finite-size extrapolation of :func:`nemd_conductivity`: 1/κ(L) = 1/κ∞ + c/L
    (Schelling, Phillpot & Keblinski, PRB 65 (2002) 144306), fitted over the periods
    ``lengths`` (unit cells). Returns ``kappa_inf``, ``slope`` c, per-length ``L`` and ``kappa``."""
    res = [nemd_conductivity((n, cross[0], cross[1]), **kw) for n in lengths]
    L = np.array([r["L"] for r in res])
    k = np.array([r["kappa"] for r in res])
    c, inv = np.polyfit(1.0 / L, 1.0 / k, 1)
    return {"kappa_inf": float(1.0 / inv) if inv > 0 else float("inf"), "slope": float(c), "L": L, "kappa": k,
            "runs": res}
