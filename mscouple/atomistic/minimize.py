"""Energy minimisers for statics (alternating-Schwarz relaxation, defect energies).

Both are collective on the system's comm and leave ``fixed`` atoms where they are;
external forces count as (dead) loads. Convergence: max |f| over mobile atoms < ``fmax``.

* :func:`fire` -- FIRE (Bitzek, Koskinen, Gaehler, Moseler & Gumbsch, PRL 97, 170201
  (2006)), with the velocity-Verlet pieces of the system.
* :func:`conjugate_gradient` -- Polak-Ribiere nonlinear CG with a secant line search on
  the directional force (no energy evaluations needed).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ConvergenceError


@dataclass
class MinimizeResult:
    converged: bool
    steps: int
    fmax: float
    energy: float


def _dot(system, a, b) -> float:
    mob = system.fixed == 0
    return float(system._sum(float(np.sum(a[mob] * b[mob]))))


def _fmax(system) -> float:
    mob = system.fixed == 0
    f = system.f[mob]
    local = float(np.sqrt((f * f).sum(axis=1).max())) if len(f) else 0.0
    return float(system.comm.allreduce(local, op=_mpi_max())) if system.decomp.size > 1 else local


def _mpi_max():
    from mpi4py import MPI

    return MPI.MAX


def fire(system, fmax: float = 1e-6, max_steps: int = 100000, dt: float | None = None,
         dt_max: float | None = None, n_min: int = 5, f_inc: float = 1.1, f_dec: float = 0.5,
         alpha_start: float = 0.1, f_alpha: float = 0.99, raise_on_failure: bool = True
         ) -> MinimizeResult:
    """Relax ``system`` with FIRE; velocities are zeroed on return."""
    dt = system.dt if dt is None else float(dt)
    dt_max = 10.0 * dt if dt_max is None else float(dt_max)
    alpha, n_pos = alpha_start, 0
    system.v[...] = 0.0
    system.compute_forces(energy=False, virial=False)
    step = 0
    fm = _fmax(system)
    while fm > fmax and step < max_steps:
        v, f = system.v, system.f
        P = _dot(system, f, v)
        if P > 0:
            vn = np.sqrt(_dot(system, v, v))
            fn = np.sqrt(_dot(system, f, f))
            if fn > 0:
                v *= 1.0 - alpha
                v += alpha * (vn / fn) * f
            n_pos += 1
            if n_pos > n_min:
                dt = min(dt * f_inc, dt_max)
                alpha *= f_alpha
        else:
            v[...] = 0.0
            dt *= f_dec
            alpha, n_pos = alpha_start, 0
        system.kick(0.5 * dt)
        system.drift(dt)
        system.compute_forces(energy=False, virial=False)
        system.kick(0.5 * dt)
        step += 1
        fm = _fmax(system)
    system.v[...] = 0.0
    res = MinimizeResult(fm <= fmax, step, fm, system.potential_energy())
    if not res.converged and raise_on_failure:
        raise ConvergenceError(f"FIRE did not reach max|f| < {fmax:g} in {max_steps} steps "
                               f"(max|f| = {fm:.3g}): raise max_steps or loosen fmax")
    return res


def conjugate_gradient(system, fmax: float = 1e-6, max_steps: int = 10000,
                       max_move: float = 0.1, raise_on_failure: bool = True) -> MinimizeResult:
    """Polak-Ribiere CG; each line search finds a zero of the force along the direction
    by secant steps (at most ``max_move`` per step). The search direction, previous
    gradient and line-search origin are per-atom arrays that migrate with the atoms."""
    system.v[...] = 0.0
    system.compute_forces(energy=False, virial=False)
    names = ("_cg_d", "_cg_g", "_cg_x")
    for nm in names:
        system.add_per_atom(nm, (3,))
    P = system.per_atom

    def masked_f():
        return system.f * (system.fixed == 0)[:, None]

    try:
        P("_cg_g")[...] = masked_f()
        P("_cg_d")[...] = P("_cg_g")
        step = 0
        fm = _fmax(system)
        while fm > fmax and step < max_steps:
            dn = np.sqrt(_dot(system, P("_cg_d"), P("_cg_d")))
            if dn == 0:
                break
            P("_cg_d")[...] /= dn
            P("_cg_x")[...] = system.x
            a0, s0 = 0.0, _dot(system, system.f, P("_cg_d"))
            a1 = min(max_move, 1e-3 + abs(s0) * 1e-2)
            for _ in range(30):
                system.x[...] = P("_cg_x") + a1 * P("_cg_d") * (system.fixed == 0)[:, None]
                system.compute_forces(energy=False, virial=False)
                s1 = _dot(system, system.f, P("_cg_d"))
                if abs(s1) <= 1e-4 * abs(s0) or s1 == s0:
                    break
                a2 = a1 - s1 * (a1 - a0) / (s1 - s0)
                a2 = float(np.clip(a2, a1 - max_move, a1 + max_move))
                a0, s0, a1 = a1, s1, a2
            gn = masked_f()
            g = P("_cg_g")
            beta = max(0.0, _dot(system, gn, gn - g) / max(_dot(system, g, g), 1e-300))
            step += 1
            if step % 50 == 0:
                beta = 0.0
            P("_cg_d")[...] = gn + beta * dn * P("_cg_d")
            P("_cg_g")[...] = gn
            fm = _fmax(system)
    finally:
        for nm in names:
            system._loc.pop(nm, None)
    res = MinimizeResult(fm <= fmax, step, fm, system.potential_energy())
    if not res.converged and raise_on_failure:
        raise ConvergenceError(f"CG did not reach max|f| < {fmax:g} in {max_steps} steps "
                               f"(max|f| = {fm:.3g}): raise max_steps or use fire()")
    return res
