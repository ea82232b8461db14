"""E_total with the bath on at dt = 1 fs (examples/cu_wave_3d; issue 12): velocity Verlet's
shadow energy, not the bath's booking.

Usage::

    python examples/cu_wave_3d/bath_shadow.py [case.toml] [--dt 0.001,0.002,0.004] [--t 1.0]
                                             [--cells 6] [--order BABO|BAOAB]

The bath's work is booked exactly: the damping band's step changes only velocities, and the
energy it removed is the kinetic energy it changed (``DampingBand.apply`` returns
KE_before − KE_after; the coupler books ``ConstrainedDampingBand``'s change of the band's
kinetic energy the same way). What moves is the mechanical energy H = KE + PE itself, which
is not velocity Verlet's invariant: Verlet conserves H̃ = H + (h²/12) vᵀ∂²U v − (h²/24)
|∂U|²_{M⁻¹} + O(h⁴), and for a harmonic system with velocities at full steps exactly

    H − (h²/8) Σ_α |f_α|² / m_α          (in metal units: × ftm2v; h = dt),

mode by mode ½v² + ½ω²x²(1 − ω²h²/4). Two consequences (README, "The rise of E_total"):

* heat content: E_total = H + E_removed follows the state function (h²/8) Σ|f|²/m
  ≈ (h²⟨ω²⟩/8) × (the heat content); net heat Q fed in by the bath raises E_total by
  (h²⟨ω²⟩/8) Q, ⟨ω²⟩ = tr(M⁻¹ ∂²U) / (3N) (1,195 (rad/ps)² for this Cu EAM): 1.5e-4 of Q at
  1 fs. It does not go away with a BAOAB splitting (the bath between two half drifts: the
  sign flips, the size stays). ``E_mod = E_total − (h²/8) Σ|f|²/m`` removes it. This module
  measures it.
* noise: the bath's kicks change (h²/12) vᵀ∂²U v at random; in an anharmonic lattice that
  accumulates to a random walk of E_total, ≈ (h²ω²k_BT/6) √(2γ t f) (f bath dofs) — the
  ±2.5e-3 eV over 2 ps of the example at 1 fs (seed 11 up, seed 12 down), and what is left
  of E_mod here (≈ 1e-3 at 2 fs).

The demonstration: a periodic fcc block of the case's potential (cells³ cubic cells), the
atoms with x < L/3 in the engine's Langevin bath (:class:`~mscouple.coupling.damping.DampingBand`,
exact Ornstein–Uhlenbeck step over dt after the second half kick — the coupler's order,
"BABO"), the rest plain velocity Verlet, start at rest on the lattice sites, bath at 300 K,
rate 10/ps. Measured (6³ = 864 atoms, 1 ps; loaded machine, numbers are not timings):

==========  ======  =========================  ======================
dt, order   Q (eV)  ΔE_total / (Q dt²)          ΔE_mod / ΔE_total
==========  ======  =========================  ======================
1 fs BABO   45.4    140                          −0.6 %
2 fs BABO   45.3    156 (prediction 149.4)       +6 %
4 fs BABO   44.6    152                          −4 %
4 fs BAOAB  44.6    −143                         (E_total + (h²/8)Σ|f|²/m is the invariant there)
==========  ======  =========================  ======================

tests/run/test_cu_wave_3d_bath_drift.py asserts it on a 4³ block. ``--walk N``: the noise,
at equilibrium, N seeds (rms of the 0.1 ps-windowed E_total change over 2 ps: 6.1e-4 /
1.55e-3 / 6.6e-3 eV at 1 / 2 / 4 fs with the bath, 2.0e-3 eV at 4 fs without it).
"""
from __future__ import annotations

import argparse
import dataclasses
import os

import numpy as np

from mscouple.builders import build_patch
from mscouple.config import load_case
from mscouple.coupling.damping import DampingBand
from mscouple.units import get_units


def block(case_file: str, dt: float, cells: int, seed: int = 11):
    """The case's first patch as a periodic cube of ``cells``³ cubic cells, at rest (COMM_SELF)."""
    from mpi4py import MPI

    p = load_case(case_file).patches[0]
    a = p.lattice.constant
    region = dataclasses.replace(p.region, lo=(0.0, 0.0, 0.0), hi=(cells * a,) * 3)
    spec = dataclasses.replace(p, region=region, periodic=(1, 1, 1), temperature=0.0, initial=None, seed=seed)
    return build_patch(MPI.COMM_SELF, spec, units="metal", dt=dt, dim=3), a


def block_with_bath(case_file: str, dt: float, cells: int, seed: int, t_bath: float, gamma: float,
                    t_start: float = 0.0):
    """:func:`block` with the engine's Langevin bath (rate ``gamma``, at ``t_bath``) on the atoms
    with x < L/3, velocities drawn at ``t_start`` (0: at rest), forces computed.
    Returns (md, units, n, band, m, bath)."""
    md, a = block(case_file, dt, cells, seed)
    if t_start > 0:
        md.set_velocities(t_start, seed=seed)
    u = get_units("metal")
    n = md.nlocal
    band = np.flatnonzero(np.asarray(md.x0)[:n, 0] < cells * a / 3)
    m = np.asarray(md.mass[:n], dtype=float)
    bath = DampingBand(np.full(band.size, gamma), m[band], np.asarray(md.ids[:n])[band], t_bath,
                       u.boltzmann, u.mvv2e, seed)
    md.compute_forces()
    return md, u, n, band, m, bath


def mean_omega2(case_file: str, cells: int = 4, delta: float = 1e-4) -> float:
    """⟨ω²⟩ = tr(M⁻¹ ∂²U) / (3N) of the perfect lattice (rad²/time²): one atom's self force
    constant (the same along x, y, z on a cubic lattice) over its mass, by a central difference."""
    md, _ = block(case_file, 1e-3, cells)
    f = []
    for s in (+1, -1):
        md.x[0, 0] += s * delta
        md.invalidate_neighbors()
        md.compute_forces()
        f.append(float(md.f[0, 0]))
        md.x[0, 0] -= s * delta
    K = -(f[0] - f[1]) / (2 * delta)
    return K * get_units("metal").ftm2v / float(md.mass[0])


def run(case_file: str, dt: float, t_end: float, cells: int = 6, t_bath: float = 300.0, gamma: float = 10.0,
        order: str = "BABO", every: int | None = None, seed: int = 11) -> dict:
    """Bath on the atoms with x < L/3, start at rest. Returns the series t, E_total
    (KE + PE + E_removed), E_mod (E_total − (h²/8) Σ|f|²/m: its sign flipped for BAOAB, whose
    full-step state carries the opposite offset), E_removed, T, and ``o_step_max``: the largest
    change of E_total over a bath step alone (the booking: round-off)."""
    if order not in ("BABO", "BAOAB"):
        raise ValueError(f"order = {order!r}: expected 'BABO' or 'BAOAB'")
    md, u, n, band, m, bath = block_with_bath(case_file, dt, cells, seed, t_bath, gamma)
    steps = int(round(t_end / dt))
    every = every or max(1, steps // 100)
    sign = 1.0 if order == "BABO" else -1.0
    removed, o_max, rows = 0.0, 0.0, []

    def row(k: int) -> None:
        f = np.asarray(md.f[:n])
        offset = dt * dt / 8 * u.ftm2v * float(np.sum(f * f / m[:, None]))
        E = md.kinetic_energy() + md.potential_energy() + removed
        rows.append((k * dt, E, E - sign * offset, removed, md.temperature()))

    row(0)
    for k in range(1, steps + 1):
        md.kick()
        if order == "BABO":       # the coupler's order: the bath over dt after the second half kick
            md.drift()
            md.compute_forces(energy=False, virial=False)
            md.kick()
        else:                     # BAOAB: the bath over dt between two half drifts
            md.drift(0.5 * dt)
        vb = np.array(md.v[band])
        ke0 = md.kinetic_energy()
        dq = bath.apply(vb, dt, k)
        md.v[band] = vb
        o_max = max(o_max, abs(md.kinetic_energy() + dq - ke0))  # E_total across the bath step
        removed += dq
        if order != "BABO":
            md.drift(0.5 * dt)
            md.compute_forces(energy=False, virial=False)
            md.kick()
        if k % every == 0 or k == steps:
            row(k)
    t, E, Em, R, T = np.array(rows).T
    return {"t": t, "E_total": E, "E_mod": Em, "E_removed": R, "T": T, "o_step_max": o_max,
            "Q": float(-(R[-1] - R[0])), "dE_total": float(E[-1] - E[0]), "dE_mod": float(Em[-1] - Em[0])}


def walk(case_file: str, dt: float, seed: int, cells: int = 6, t_eq: float = 0.5, t_run: float = 2.0,
         t_bath: float = 300.0, gamma: float = 10.0, bath_on: bool = True) -> tuple[float, float, float]:
    """The bath's noise on the shadow energy: the block started at 2 t_bath (velocities drawn
    with ``seed``), ``t_eq`` with the bath, then ``t_run`` more. Returns the change of the
    0.1 ps-windowed E_total and E_mod over ``t_run`` (first window to last) and the mean T."""
    md, u, n, band, m, bath = block_with_bath(case_file, dt, cells, seed, t_bath, gamma, t_start=2 * t_bath)
    removed, rows = 0.0, []
    ne, nr = int(round(t_eq / dt)), int(round(t_run / dt))
    for k in range(1, ne + nr + 1):
        md.kick()
        md.drift()
        md.compute_forces(energy=False, virial=False)
        md.kick()
        if bath_on:
            vb = np.array(md.v[band])
            removed += bath.apply(vb, dt, k)
            md.v[band] = vb
        if k >= ne and k % 5 == 0:
            f = np.asarray(md.f[:n])
            offset = dt * dt / 8 * u.ftm2v * float(np.sum(f * f / m[:, None]))
            E = md.kinetic_energy() + md.potential_energy() + removed
            rows.append((k * dt, E, E - offset, md.temperature()))
    r = np.array(rows)
    t = r[:, 0] - r[0, 0]
    first, last = t < 0.1, t >= t_run - 0.1 - 1e-9
    return (float(r[last, 1].mean() - r[first, 1].mean()), float(r[last, 2].mean() - r[first, 2].mean()),
            float(r[:, 3].mean()))


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("case", nargs="?", default=os.path.join(here, "case.toml"))
    ap.add_argument("--dt", default="0.001,0.002,0.004")
    ap.add_argument("--t", type=float, default=1.0)
    ap.add_argument("--cells", type=int, default=6)
    ap.add_argument("--order", default="BABO")
    ap.add_argument("--walk", type=int, default=0, help="the noise: this many seeds at equilibrium (walk())")
    ap.add_argument("--no-bath", action="store_true", help="with --walk: the bath off")
    a = ap.parse_args()
    if a.walk:
        for dt in (float(s) for s in a.dt.split(",")):
            res = np.array([walk(a.case, dt, s, a.cells, bath_on=not a.no_bath) for s in range(1, a.walk + 1)])
            print(f"dt {dt * 1e3:g} fs, bath {'off' if a.no_bath else 'on'}: 0.1 ps-windowed change over 2 ps, "
                  f"rms over {a.walk} seeds: E_total {np.sqrt(np.mean(res[:, 0] ** 2)):.2e} eV, "
                  f"E_mod {np.sqrt(np.mean(res[:, 1] ** 2)):.2e} eV; T {res[:, 2].mean():.0f} K")
        raise SystemExit(0)
    w2 = mean_omega2(a.case)
    print(f"<omega^2> = {w2:.1f} (rad/ps)^2: predicted dE_total / (Q dt^2) = {w2 / 8:.1f}")
    for dt in (float(s) for s in a.dt.split(",")):
        r = run(a.case, dt, a.t, a.cells, order=a.order)
        print(f"{a.order} dt {dt * 1e3:g} fs: Q {r['Q']:.3f} eV, T {r['T'][-1]:.1f} K, dE_total {r['dE_total']:+.3e} eV "
              f"= {r['dE_total'] / (r['Q'] * dt * dt):.1f} Q dt^2; dE_mod {r['dE_mod']:+.2e} eV; "
              f"bath step max |dE_total| {r['o_step_max']:.1e} eV")
