"""Arrival of the packet on the far side of the patch (examples/cu_wave_3d).

Usage::

    python examples/cu_wave_3d/arrival.py RUN [case.toml] [--minus RUN_MINUS] [--x1 X1 --x2 X2]
                                          [--set KEY=VALUE ...]   (the run's own --set overrides)

The cross-section mean of u_x (the nodes of one x-plane) is recorded at a plane before the
patch (x1) and one after it (x2); the transit time is the lag that maximises their
cross-correlation (parabolic interpolation between output frames), the transit speed is
(x2 − x1)/lag. Default stations: the node planes at or beyond two handshake widths outside
the patch region (case_arrival.toml: x = 101.22 and 166.29 Å; case.toml: 108.45 and
180.75 Å — its README's T = 0 figures used --x1 101.22 --x2 187.98).

``--minus``: a second run of the same case with the initial amplitude negated. The signals
are then (s₊ − s₋)/2, the part odd in the amplitude: the patch's own start-up (at 0 K its
weighted free surfaces relax, contracting the patch by ~0.05 Å, and send that step along
the bar, the same in both runs) and every even-order anharmonic response cancel exactly;
what is left is the linear pulse to O(A³).

The speed is compared with

* the Cauchy–Born longitudinal speed c = √(C11/ρ) of the patch's potential, and
* the discretisation's prediction, from the two models each alone:
  - the mesh: for a plane-uniform u_x(x) the P1 tets with rollers reduce exactly to a
    lumped 1D chain of spacing h (each node's lumped mass is ρh times its share of the
    plane's area, the same share that weighs the stress acting on it; no transverse force
    on interior nodes), whose central-difference dispersion is
    ω = (2/dt) asin((c dt/h) sin(kh/2)), v_g = c cos(kh/2) / √(1 − (c dt/h)² sin²(kh/2)).
    :func:`chain_signals` integrates that chain (same h, dt, initial u and v, stations,
    frames, cross-correlation) for the transit speed v_mesh of this packet;
    :func:`mesh3d_signals` runs the case's own 3D continuum alone to show they agree
    (tests/run/test_cu_wave_3d_arrival.py: 1e-6 in speed);
  - the lattice: a chain of (100) planes with the potential's interplanar force constants
    (:func:`interplanar_constants`), integrated the same way, for v_lattice;
  the expected coupled transit time is (lo − x1 + x2 − hi)/v_mesh + (hi − lo)/v_lattice.
  What the coupled run adds beyond that is the handshake's own delay.

The continuum's mass is lumped (the only choice of the explicit dynamics and of the
bridging constraint); a consistent mass would lead instead of lag (v_g ≈ c (1 + k²h²/8)
against c (1 − k²h²/8)), and their average would cancel the k²h² term.

Lengths in Å, times in ps (metal units).
"""
from __future__ import annotations

import argparse
import math
import os

import h5py
import numpy as np

from mscouple.builders import initial_field, initial_gradient, patch_constants
from mscouple.config import load_case
from mscouple.units import get_units


def plane_signal(path: str, x: float):
    """(t [frames], mean u_x over the node plane X = x [frames]) of a run's continuum.h5."""
    with h5py.File(os.path.join(path, "continuum.h5"), "r", locking=False) as f:
        X = f["mesh/geometry"][...]
        plane = np.abs(X[:, 0] - x) < 1e-6
        if not plane.any():
            raise ValueError(f"x = {x}: not a node plane of the mesh in {path}")
        steps = sorted(f["fields/displacement"].keys(), key=int)
        t = f["fields/time"][...]
        s = np.array([f[f"fields/displacement/{k}"][...][plane, 0].mean() for k in steps])
    return t, s


def transit_time(t, s1, s2) -> float:
    """Lag of s2 behind s1 at the maximum of their cross-correlation (t uniform)."""
    lags = np.arange(1, len(t) - 2)
    cc = np.array([np.sum(s1[:len(t) - L] * s2[L:]) for L in lags])
    i = int(np.argmax(cc[1:-1])) + 1
    y0, y1, y2 = cc[i - 1], cc[i], cc[i + 1]
    return float((lags[i] + 0.5 * (y0 - y2) / (y0 - 2 * y1 + y2)) * (t[1] - t[0]))


def frame_dt(t) -> float:
    """The uniform interval of the output frames (the last frame of a run may be off-grid)."""
    return float(np.median(np.diff(t)))


def on_grid(t) -> np.ndarray:
    """Frames on the uniform grid of the output interval (a run's last frame may be off it)."""
    d = frame_dt(t)
    return np.abs((t - t[0]) / d - np.round((t - t[0]) / d)) < 1e-6


def interplanar_constants(patch, planes: int = 5) -> tuple[float, np.ndarray, float]:
    """Force constants between (100) planes of the patch's lattice: a periodic block of 12 x 6
    x 6 cubic cells at the patch's constant, one plane displaced by δ = 1e-4 Å along x; the
    force per atom on plane n per unit δ is C_n. Returns (plane spacing d, [C_1 .. C_planes]
    (energy/length² per atom), atomic mass). A plane wave along [100] then obeys
    m ω² = 2 Σ_n C_n (1 − cos(n k d)) (fcc, cubic cell a: d = a/2)."""
    import dataclasses

    from mpi4py import MPI

    from mscouple.builders import build_patch

    a = patch.lattice.constant
    if patch.lattice.kind not in ("fcc", "bcc", "sc"):
        raise ValueError(f"interplanar constants of a {patch.lattice.kind} lattice: expected a cubic one")
    d = a / 2 if patch.lattice.kind in ("fcc", "bcc") else a
    region = dataclasses.replace(patch.region, lo=(0.0, 0.0, 0.0), hi=(12 * a, 6 * a, 6 * a))
    spec = dataclasses.replace(patch, region=region, periodic=(1, 1, 1), temperature=0.0, initial=None)
    md = build_patch(MPI.COMM_SELF, spec, units="metal", dt=1e-3, dim=3)
    n = md.nlocal
    x = np.array(md.x[:n])
    plane = np.round(x[:, 0] / d).astype(int) % int(round(12 * a / d))
    md.compute_forces()
    f0 = np.array(md.f[:n, 0])
    delta = 1e-4
    md.x[:n][plane == 0, 0] += delta
    md.invalidate_neighbors()
    md.compute_forces()
    df = np.array(md.f[:n, 0]) - f0
    per_plane = np.sum(plane == 0)
    C = np.array([df[plane == k].sum() / per_plane / delta for k in range(1, planes + 1)])
    return d, C, float(np.asarray(md.mass)[0])


def lattice_signals(case, x1: float, x2: float, steps: int, every: int, constants=None):
    """The lattice alone along x: a chain of (100) planes with the interplanar constants,
    velocity Verlet with the run's dt, the case's initial u and v = −c f′ (c of these
    constants, = the Cauchy–Born speed), a periodic chain long enough that nothing comes
    round. Returns (t, u(x1, t), u(x2', t), x2' − x1), x2' the plane nearest x2."""
    mesh, init, dt = case.continuum.mesh, case.continuum.initial, case.run.dt
    mvv2e = get_units(case.units).mvv2e
    d, C, mass = constants or interplanar_constants(case.patches[0])
    c = math.sqrt(np.sum(C * (np.arange(1, len(C) + 1) * d) ** 2) / (mass * mvv2e))
    L = 2 * (mesh.hi[0] - mesh.lo[0])
    n1 = int(round((x1 - mesh.lo[0] + L / 4) / d))
    x = x1 + d * (np.arange(int(L / d)) - n1)  # a plane at x1
    X = x[:, None]
    u = initial_field(init, 1)(X)
    v = -init.direction * c * initial_gradient(init, 1)(X)
    i1, i2 = n1, int(np.argmin(np.abs(x - x2)))

    def acc(u):
        a = np.zeros_like(u)
        for k, Ck in enumerate(C, start=1):
            a += Ck * (np.roll(u, k) + np.roll(u, -k) - 2 * u)
        return a / (mass * mvv2e)

    f = acc(u)
    t, s1, s2 = [0.0], [u[i1]], [u[i2]]
    for k in range(1, steps + 1):
        v += 0.5 * dt * f
        u += dt * v
        f = acc(u)
        v += 0.5 * dt * f
        if k % every == 0:
            t.append(k * dt)
            s1.append(u[i1])
            s2.append(u[i2])
    return np.array(t), np.array(s1), np.array(s2), float(x[i2] - x[i1])


def chain_signals(case, x1: float, x2: float, c: float, steps: int, every: int):
    """The mesh alone along x: the 1D lumped-P1 chain of spacing h, central differences with
    the run's dt, the case's initial u and v = −c f′ (as the engine sets them), free ends.
    Returns (t, u(x1, t), u(x2, t))."""
    mesh, init, dt = case.continuum.mesh, case.continuum.initial, case.run.dt
    n = mesh.cells[0]
    x = np.linspace(mesh.lo[0], mesh.hi[0], n + 1)
    h = x[1] - x[0]
    m = np.full(n + 1, h)
    m[[0, -1]] = h / 2  # ρ = 1, stiffness c² (only c matters)
    X = x[:, None]
    u = initial_field(init, 1)(X)
    v = -init.direction * c * initial_gradient(init, 1)(X)
    i1, i2 = int(np.argmin(np.abs(x - x1))), int(np.argmin(np.abs(x - x2)))

    def force(u):
        s = c * c / h * np.diff(u)
        f = np.zeros_like(u)
        f[:-1] += s
        f[1:] -= s
        return f

    f = force(u)
    t, s1, s2 = [0.0], [u[i1]], [u[i2]]
    for k in range(1, steps + 1):
        v += 0.5 * dt * f / m
        u += dt * v
        f = force(u)
        v += 0.5 * dt * f / m
        if k % every == 0:
            t.append(k * dt)
            s1.append(u[i1])
            s2.append(u[i2])
    return np.array(t), np.array(s1), np.array(s2)


def mesh3d_signals(case, x1: float, x2: float, steps: int, every: int):
    """The case's own continuum alone (no patch, one rank, PETSc): the 3D P1 bar with its
    rollers, the same initial pulse and stations. Returns (t, u(x1, t), u(x2, t)) as plane
    means — the check that the chain of :func:`chain_signals` is this mesh's plane mean."""
    from pathlib import Path

    from mpi4py import MPI

    from mscouple.run.models import ContinuumModel

    model = ContinuumModel(MPI.COMM_SELF, case, Path("."))
    X = model.mesh.coordinates[model.mesh.owned_nodes]
    p1, p2 = np.abs(X[:, 0] - x1) < 1e-6, np.abs(X[:, 0] - x2) < 1e-6
    prob = model.elastic.problem
    t, s1, s2 = [0.0], [prob.displacement[p1, 0].mean()], [prob.displacement[p2, 0].mean()]
    for k in range(every, steps + 1, every):
        model.advance(every)
        t.append(k * case.run.dt)
        s1.append(prob.displacement[p1, 0].mean())
        s2.append(prob.displacement[p2, 0].mean())
    return np.array(t), np.array(s1), np.array(s2)


def default_stations(case) -> tuple[float, float]:
    """Node planes at or beyond two handshake widths before and after the patch region."""
    mesh, p = case.continuum.mesh, case.patches[0]
    h = (mesh.hi[0] - mesh.lo[0]) / mesh.cells[0]
    D = 2 * case.handshake.width
    i1 = math.floor((p.region.lo[0] - D - mesh.lo[0]) / h + 1e-9)
    i2 = math.ceil((p.region.hi[0] + D - mesh.lo[0]) / h - 1e-9)
    return mesh.lo[0] + i1 * h, mesh.lo[0] + i2 * h


def main(run: str, case_file: str, minus: str | None = None, x1: float | None = None,
         x2: float | None = None, sets: list[str] | None = None, patch_modulus_ratio: float = 1.0,
         c_T: float | None = None) -> dict:
    """The transit speed of ``run`` (antisymmetrised with ``minus``) and its predictions.
    ``patch_modulus_ratio``: r = (c_patch / c_lattice(0 K))², the patch's squared longitudinal
    speed in reference coordinates relative to the 0 K lattice's (at T > 0 the patch is softer:
    README, "At 300 K"); ``predicted_r`` uses v_lattice √r over the patch length.

    With ``continuum.material.temperature`` = T > 0 the speed is also compared with
    c_L(T) = √(C11(T)/ρ) of the adiabatic constants the continuum carried (``c_T``, or
    measured here as the run did: same seed, same numbers, ~25 s). With ``minus``, the even
    part (s₊ + s₋)/2 of the stations' distance (x2 − x1 stations) is reported too: its mean
    over the second half of the run is the patch's expansion along x (0 if it stays at its
    reference length)."""
    case = load_case(case_file, sets or [])
    c_spec, p = case.continuum, case.patches[0]
    c = patch_constants(p).longitudinal_speed(get_units(case.units).mvv2e)
    h = (c_spec.mesh.hi[0] - c_spec.mesh.lo[0]) / c_spec.mesh.cells[0]
    if x1 is None or x2 is None:
        x1, x2 = default_stations(case)
    lo, hi = p.region.lo[0], p.region.hi[0]
    t, s1 = plane_signal(run, x1)
    _, s2 = plane_signal(run, x2)
    if minus is not None:
        tm, m1 = plane_signal(minus, x1)
        _, m2 = plane_signal(minus, x2)
        if len(tm) != len(t) or np.max(np.abs(tm - t)) > 1e-9:
            raise ValueError(f"{run} and {minus} have different output frames")
        even = 0.5 * (s2 + m2) - 0.5 * (s1 + m1)  # change of the stations' distance, even in A
        s1, s2 = 0.5 * (s1 - m1), 0.5 * (s2 - m2)
    keep = on_grid(t)
    t, s1, s2 = t[keep], s1[keep], s2[keep]
    lag = transit_time(t, s1, s2)
    speed = (x2 - x1) / lag
    # the mesh alone: the same stations, frames and run length
    every = max(1, round(frame_dt(t) / case.run.dt))
    tc, c1, c2 = chain_signals(case, x1, x2, c, int(round(t[-1] / case.run.dt)), every)
    v_mesh = (x2 - x1) / transit_time(tc, c1, c2)
    # the lattice alone: its (100) planes with the potential's interplanar constants
    nsteps = int(round(t[-1] / case.run.dt))
    tl, l1, l2, dx = lattice_signals(case, x1, x2, nsteps, every)
    v_lattice = dx / transit_time(tl, l1, l2)
    predicted = (x2 - x1) / ((lo - x1 + x2 - hi) / v_mesh + (hi - lo) / v_lattice)
    predicted_r = (x2 - x1) / ((lo - x1 + x2 - hi) / v_mesh + (hi - lo) / (v_lattice * math.sqrt(patch_modulus_ratio)))
    # carrier wavenumber of the packet (0 for a Gaussian pulse) and its analytic group velocity
    k0 = 2 * math.pi / c_spec.initial.wavelength if c_spec.initial.kind == "wave_packet" else 0.0
    nu = c * case.run.dt / h
    vg_k0 = c * math.cos(k0 * h / 2) / math.sqrt(1 - (nu * math.sin(k0 * h / 2)) ** 2)
    extra = {}
    T = c_spec.material.temperature if c_spec.material.model == "from_patch" else 0.0
    if T > 0:
        if c_T is None:
            from mscouple.builders import thermal_patch_constants

            c_T = thermal_patch_constants(p, T).longitudinal_speed(get_units(case.units).mvv2e)
        extra = {"c_L(T)": c_T, "speed/c_L(T) - 1": speed / c_T - 1}
    if minus is not None:
        extra["expansion (even part, 2nd half)"] = float(even[len(even) // 2:].mean())
    return {**extra, "x1": x1, "x2": x2, "h": h, "transit_time": lag, "speed": speed, "cauchy_born": c,
            "speed/cauchy_born - 1": speed / c - 1,
            "v_mesh": v_mesh, "v_mesh/cauchy_born - 1": v_mesh / c - 1,
            "v_lattice": v_lattice, "v_lattice/cauchy_born - 1": v_lattice / c - 1,
            "group_velocity(k0)": vg_k0, "predicted": predicted,
            "predicted/cauchy_born - 1": predicted / c - 1, "speed/predicted - 1": speed / predicted - 1,
            "predicted_r": predicted_r, "speed/predicted_r - 1": speed / predicted_r - 1,
            "amplitude_ratio": float(np.abs(s2).max() / np.abs(s1).max()),
            "amplitude_ratio_mesh": float(np.abs(c2).max() / np.abs(c1).max()),
            "peak_x1": float(np.abs(s1).max())}


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("run")
    ap.add_argument("case", nargs="?", default=os.path.join(here, "case.toml"))
    ap.add_argument("--minus", help="the same case run with the amplitude negated")
    ap.add_argument("--x1", type=float)
    ap.add_argument("--x2", type=float)
    ap.add_argument("--set", action="append", default=[], help="the run's --set overrides (dt, ...)")
    ap.add_argument("--patch-modulus-ratio", type=float, default=1.0,
                    help="(c_patch / c_lattice(0 K))^2 for predicted_r (README: 300 K)")
    ap.add_argument("--c-T", type=float, help="c_L(T) of the continuum's constants at T (default: "
                    "measured as the run did when continuum.material.temperature > 0)")
    a = ap.parse_args()
    out = main(a.run, a.case, a.minus, a.x1, a.x2, a.set, a.patch_modulus_ratio, a.c_T)
    for key, val in out.items():
        print(f"{key:26s} {val:.6g}")
