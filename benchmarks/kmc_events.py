"""Object KMC events per second: the compiled BKL loop (csrc/okmc.pyx) against its NumPy
reference on the identical run (same seed, same events: checked).

System: fcc Cu lattice (a = 3.615 Å) in a periodic ``--cells``^3 box (default 40^3), 20
vacancies and 20 self-interstitials at random sites, 600 K, E_m(V) = 0.551 eV (the NEB
value of mscouple.cascade.energetics), E_m(I) = 0.10 eV, vacancy emission from clusters
(E_f = 1.276 eV, divacancy E_b = 0.157 eV); ``--events`` events (default 20,000).

Prints one JSON line: events/s of both (CPU time, ``process_time``), the ratio, and whether
the trajectories agree.

    .venv/bin/python benchmarks/kmc_events.py [--cells 40] [--events 20000]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main() -> int:
    from mscouple.kmc.engine import KMC, KMCParams

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cells", type=int, default=40)
    ap.add_argument("--events", type=int, default=20000)
    a = ap.parse_args()
    A = 3.615
    L = a.cells * A
    rng = np.random.default_rng(0)
    g = rng.integers(0, 2 * a.cells, size=(40, 3))
    g[:, 2] -= g.sum(axis=1) % 2
    p = KMCParams(a=A, temperature=600.0, em_vacancy=0.551, em_interstitial=0.10,
                  ef_vacancy=1.276, eb_divacancy=0.157)
    out, runs = {}, []
    for be in ("compiled", "numpy"):
        k = KMC([0] * 3, [L] * 3, True, ["V"] * 20 + ["I"] * 20, [1] * 40, g * A / 2, p, seed=1,
                backend=be)
        c0 = time.process_time()
        k.advance(np.inf, max_events=a.events)
        out[f"{be}_events_per_s"] = k.stats.events / (time.process_time() - c0)
        runs.append(k)
    out["ratio_compiled_over_numpy"] = out["compiled_events_per_s"] / out["numpy_events_per_s"]
    out["same_trajectory"] = bool(runs[0].time == runs[1].time
                                  and np.array_equal(runs[0].size, runs[1].size))
    out["events"] = a.events
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
