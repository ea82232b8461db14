"""Nudged elastic band (NEB) with a climbing image: minimum-energy paths and barriers.

Units: those of the system (metal: Å, eV).

Images R_0 … R_{M+1} (end points fixed) are relaxed together: each interior image feels
the true force perpendicular to the path and a spring force along it,

    F_i = F_i^true − (F_i^true·τ_i) τ_i + k (|R_{i+1} − R_i| − |R_i − R_{i−1}|) τ_i,

with the upwinding tangent τ_i of Henkelman & Jónsson, J. Chem. Phys. 113, 9978 (2000);
the climbing image (the highest one, after ``climb_after`` iterations) feels
F^true − 2 (F^true·τ) τ and no spring, so it converges to the saddle point (Henkelman,
Uberuaga & Jónsson, J. Chem. Phys. 113, 9901 (2000)). All images are relaxed together by
FIRE (Bitzek et al., PRL 97, 170201 (2006)) in the 3N(M) coordinates.

One :class:`~mscouple.atomistic.system.MDSystem` evaluates every image in turn (collective
on its comm: every rank holds all images; atoms are matched by id). Positions are
unwrapped: the end points must be given as continuous coordinates (the moving atom's final
position as initial + jump vector, not wrapped back into the box).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError, ConvergenceError


@dataclass
class NEBResult:
    """energies [M+2] (eV, absolute), images [M+2, N, 3], barrier = max(E) − E_0 (eV),
    saddle (index of the climbing image), iterations, converged, fmax (eV/Å)."""

    energies: np.ndarray
    images: np.ndarray
    barrier: float
    saddle: int
    iterations: int
    converged: bool
    fmax: float


def energy_and_forces(system, positions: np.ndarray) -> tuple[float, np.ndarray]:
    """E and forces ``[N,3]`` (id order) of ``system`` at global ``positions [N,3]``
    (collective)."""
    system.x[...] = positions[system.ids]
    system.invalidate_neighbors()
    system.compute_forces(energy=True, virial=False)
    return system.potential_energy(), system.gather("f")


def _tangent(R, E, i):
    tp, tm = R[i + 1] - R[i], R[i] - R[i - 1]
    ep, em = E[i + 1] - E[i], E[i] - E[i - 1]
    if ep > 0 and em > 0:
        t = tp
    elif ep < 0 and em < 0:
        t = tm
    else:
        hi, lo = max(abs(ep), abs(em)), min(abs(ep), abs(em))
        t = tp * hi + tm * lo if E[i + 1] > E[i - 1] else tp * lo + tm * hi
    return t / np.linalg.norm(t)


def neb(system, initial: np.ndarray, final: np.ndarray, images: int = 5, spring: float = 2.0,
        fmax: float = 0.01, max_iter: int = 2000, climb: bool = True, climb_after: int = 30,
        dt: float = 0.05, dt_max: float = 0.2, mask=None) -> NEBResult:
    """Minimum-energy path between the relaxed end points ``initial`` and ``final``
    ``[N,3]`` with ``images`` interior images (linear interpolation to start), spring
    constant ``spring`` [energy/length²]. ``mask [N]`` (bool): atoms that move (default
    all). Raises :class:`ConvergenceError` if max |F_NEB| > fmax after ``max_iter``."""
    R0, R1 = np.asarray(initial, float), np.asarray(final, float)
    if R0.shape != R1.shape or R0.shape != (system.natoms, 3):
        raise ConfigError(f"NEB end points: expected two [{system.natoms}, 3] arrays, got "
                          f"{R0.shape} and {R1.shape}")
    if images < 1:
        raise ConfigError(f"NEB images = {images}: expected >= 1")
    mob = np.ones(len(R0), bool) if mask is None else np.asarray(mask, bool)
    M = images + 2
    s = np.linspace(0.0, 1.0, M)[:, None, None]
    R = (1 - s) * R0 + s * R1
    E = np.zeros(M)
    F = np.zeros_like(R)
    for i in (0, M - 1):
        E[i], _ = energy_and_forces(system, R[i])
    V = np.zeros_like(R)
    alpha, n_pos, step = 0.1, 0, 0
    saddle, fm = 1, np.inf

    def neb_forces(it):
        nonlocal saddle
        for i in range(1, M - 1):
            E[i], F[i] = energy_and_forces(system, R[i])
        saddle = 1 + int(np.argmax(E[1:-1]))
        G = np.zeros_like(R)
        for i in range(1, M - 1):
            tau = _tangent(R, E, i)
            ft = np.sum(F[i] * tau)
            if climb and it >= climb_after and i == saddle:
                G[i] = F[i] - 2.0 * ft * tau
            else:
                dl = np.linalg.norm(R[i + 1] - R[i]) - np.linalg.norm(R[i] - R[i - 1])
                G[i] = F[i] - ft * tau + spring * dl * tau
            G[i][~mob] = 0.0
        return G

    G = neb_forces(0)
    while step < max_iter:
        fm = float(np.sqrt(np.max(np.sum(G ** 2, axis=2))))
        if fm < fmax and (not climb or step >= climb_after):
            break
        # FIRE on all images at once (unit masses)
        P = np.sum(G * V)
        if P > 0:
            vn, gn = np.linalg.norm(V), np.linalg.norm(G)
            V = (1 - alpha) * V + alpha * vn / gn * G
            n_pos += 1
            if n_pos > 5:
                dt = min(dt * 1.1, dt_max)
                alpha *= 0.99
        else:
            V[...] = 0.0
            dt *= 0.5
            alpha, n_pos = 0.1, 0
        V += dt * G
        R[1:-1] += dt * V[1:-1]
        step += 1
        G = neb_forces(step)
    fm = float(np.sqrt(np.max(np.sum(G ** 2, axis=2))))
    conv = fm < fmax
    res = NEBResult(E.copy(), R.copy(), float(E.max() - E[0]), saddle, step, conv, fm)
    if not conv:
        raise ConvergenceError(f"NEB did not reach max|F| < {fmax:g} in {max_iter} iterations "
                               f"(max|F| = {fm:.3g}): raise max_iter, add images or relax the "
                               "end points first")
    return res
