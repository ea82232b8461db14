"""Validation level 8: object kinetic Monte Carlo (mscouple.kmc) against analytic answers.

Units: Å, s, eV, K.

* a vacancy's random walk: D = ν a² exp(−E_m/k_B T) (= Γ b²/6 with Γ = 12 ν e^{−E_m/kT},
  b = a/√2), from the mean-square displacement over non-overlapping windows;
* a V–I pair's recombination probability by time t vs Smoluchowski,
  P = (R/r0) erfc((r0 − R)/√(4Dt)), with the capture sphere moved in by Siegmund's
  discrete-jump correction 0.5826 σ_⊥ (σ_⊥ = b/√3);
* an immobile divacancy's mean waiting time × its emission rate = 1;
* the compiled loop reproduces its NumPy reference event for event; events/s (info).
"""
from __future__ import annotations

import time
from typing import Any

import numpy as np
from scipy.special import erfc

from .checks import Check, LevelResult

LEVEL, TITLE = 8, "kinetic Monte Carlo"
A = 3.615
B = A / np.sqrt(2)


def _params(**kw):
    from ..kmc.engine import KMCParams

    base = dict(a=A, temperature=300.0, em_vacancy=0.551, em_interstitial=0.1)
    base.update(kw)
    return KMCParams(**base)


def _diffusion(n_windows: int) -> tuple[Check, float]:
    from ..kmc.engine import KMC

    p = _params()
    G = p.jump_rate(-1, 1)
    D = G * B * B / 6
    k = KMC([0] * 3, [100 * A] * 3, True, ["V"], [1], [[0, 0, 0]], p, seed=7)
    tau = 10.0 / G
    xs = []
    k.run(n_windows * tau, observe=lambda kk, t: xs.append(kk.pos[0].copy()),
          observe_times=np.arange(1, n_windows + 1) * tau)
    dx = np.diff(np.vstack([[0, 0, 0], xs]), axis=0)
    r2 = np.einsum("ij,ij->i", dx, dx)
    sem = r2.std() / np.sqrt(n_windows) / r2.mean()
    return (Check(LEVEL, "vacancy D / (nu a^2 exp(-E_m/kT)) (MSD, 10-jump windows)",
                  r2.mean() / (6 * tau) / D, 1.0, 0.02, note=f"{n_windows} windows, s.e. {sem:.2%}"),
            k.stats.events_per_second)


def _smoluchowski(n: int) -> Check:
    from ..kmc.engine import KMC

    R = 6 * A
    p = _params(em_vacancy=5.0, r_vacancy=R / 2, r_interstitial=R / 2)
    D = p.jump_rate(1, 1) * B * B / 6
    r0 = 12 * A
    t = r0 ** 2 / (4 * D)
    L = 200 * A
    hits = 0
    for s in range(n):
        k = KMC([-L / 2] * 3, [L / 2] * 3, True, ["V", "I"], [1, 1], [[0, 0, 0], [r0, 0, 0]], p,
                seed=5000 + s)
        k.run(t)
        hits += k.stats.recombined
    P = hits / n
    sig = np.sqrt(P * (1 - P) / n)
    Re = R - 0.5826 * B / np.sqrt(3)
    Ps = Re / r0 * erfc((r0 - Re) / np.sqrt(4 * D * t))
    return Check(LEVEL, "V-I recombination probability at 4Dt = r0^2 (r0 = 2R) vs Smoluchowski",
                 P, Ps, 3 * sig, kind="abs", note=f"{n} pairs; tolerance 3 sigma")


def _emission(n: int) -> Check:
    from ..kmc.engine import KMC

    p = _params(ef_vacancy=1.276, eb_divacancy=0.157, temperature=500.0)
    r = p.emission_rate(-1, 2)
    ts = []
    for s in range(n):
        k = KMC([0] * 3, [30 * A] * 3, True, ["V"], [2], [[0, 0, 0]], p, seed=s)
        k.advance(np.inf, max_events=1)
        ts.append(k.time)
    return Check(LEVEL, "divacancy mean waiting time x emission rate", float(np.mean(ts) * r), 1.0,
                 3 / np.sqrt(n), kind="abs", note=f"{n} runs; tolerance 3 sigma")


def _backends() -> Check:
    from ..kmc.engine import KMC

    rng = np.random.default_rng(0)
    L = 24 * A
    g = rng.integers(0, 48, size=(40, 3))
    g[:, 2] -= g.sum(axis=1) % 2
    p = _params(temperature=600.0, ef_vacancy=1.276, eb_divacancy=0.157, em_clusters={"V2": 0.45})
    runs = []
    for be in ("numpy", "compiled"):
        k = KMC([0] * 3, [L] * 3, (True, True, False), ["V"] * 20 + ["I"] * 20, [1] * 40,
                g * A / 2, p, seed=11, backend=be)
        k.advance(1.0, max_events=2000)
        runs.append(k)
    a, b = runs
    same = (a.time == b.time and np.array_equal(a.size, b.size)
            and a.pos.shape == b.pos.shape and np.allclose(a.pos, b.pos, atol=1e-9))
    return Check(LEVEL, "compiled loop = NumPy reference, 2000 events with reactions (1 = yes)",
                 float(same), 1.0, 0.0, kind="abs")


def level_8(quick: bool, comm: Any = None) -> LevelResult:
    """The KMC level (serial; about 5 s with ``quick``)."""
    res = LevelResult(LEVEL, TITLE)
    t0 = time.perf_counter()
    c, _ = _diffusion(30000 if quick else 100000)
    res.checks.append(c)
    res.checks.append(_smoluchowski(3000 if quick else 10000))
    res.checks.append(_emission(2000 if quick else 10000))
    res.checks.append(_backends())
    from ..kmc.engine import KMC

    k = KMC([0] * 3, [100 * A] * 3, True, ["V"], [1], [[0, 0, 0]], _params(), seed=1)
    k.advance(np.inf, max_events=1_000_000)
    res.checks.append(Check(LEVEL, "KMC events per second (one vacancy, compiled loop)",
                            k.stats.events_per_second, None, None, kind="info",
                            note=f"level wall {time.perf_counter() - t0:.1f} s"))
    return res
