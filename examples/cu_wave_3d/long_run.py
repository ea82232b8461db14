"""Band temperature and ledger of long cu_wave_3d runs (issue 12: 10^5 steps, several seeds).

Usage::

    python examples/cu_wave_3d/long_run.py RUN [RUN ...] [--t-ref 0.2] [--window 5.0] [--json OUT]

Each RUN is an output folder of ``mscouple run examples/cu_wave_3d/case.toml`` (for example
from ``jobscripts/cu_wave_3d_1e5.sbatch``, one folder per seed). For every run it reads
``run.csv`` and prints, over t ≥ t_ref (default 0.2 ps: the start from lattice sites at 2T
has equipartitioned, the packet is still far from the band):

* ``T_bath``: the band's temperature on its constraint manifold (column ``T_bath_<patch>``,
  band atoms and band nodes over the band's unconstrained degrees of freedom; see README):
  the mean over the run, the mean in consecutive windows of ``--window`` ps, and the largest
  deviation of a window mean from the bath's set temperature, relative to it (the issue's
  bound is 2 %);
* the ledger: X = max |E_total(t) − E_total(t_ref)| / E_p with E_p = 2 E_strain_continuum
  at step 0 (the packet's energy, a lower bound; README), for the rows as written and for
  E_total averaged over 0.1 ps windows (removes velocity Verlet's bounded oscillation,
  keeps any drift), and the least-squares drift rate of E_total in eV/ps.

Energies in eV, times in ps, temperatures in K (metal units).
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import sys

import numpy as np


def read_run(path: str) -> dict[str, np.ndarray]:
    """Columns of ``RUN/run.csv`` as float arrays, rows in step order, restarts de-duplicated."""
    with open(os.path.join(path, "run.csv"), newline="") as fh:
        rows = list(csv.DictReader(fh))
    if not rows:
        raise ValueError(f"{path}/run.csv has no rows")
    cols = {k: np.array([float(r[k]) for r in rows]) for k in rows[0]}
    # a restarted run appends from its checkpoint's step: keep the last row of every step
    step = cols["step"]
    _, last = np.unique(step[::-1], return_index=True)
    keep = np.sort(len(step) - 1 - last)
    return {k: v[keep] for k, v in cols.items()}


def window_means(t: np.ndarray, y: np.ndarray, t0: float, width: float) -> np.ndarray:
    """Means of y in consecutive windows [t0 + i·width, t0 + (i+1)·width) that are full."""
    n = int((t[-1] - t0) // width)
    out = []
    for i in range(n):
        sel = (t >= t0 + i * width) & (t < t0 + (i + 1) * width)
        if sel.any():
            out.append(float(y[sel].mean()))
    return np.array(out)


def analyse(path: str, t_ref: float, window: float, temperature: float) -> dict:
    """The figures above for one run folder."""
    c = read_run(path)
    t = c["time"]
    patch_cols = [k for k in c if k.startswith("T_bath_")]
    if not patch_cols:
        raise ValueError(f"{path}/run.csv has no T_bath_<patch> column (not a bridging run with a bath)")
    late = t >= t_ref - 1e-12
    E = c["E_total"]
    E_p = 2.0 * c["E_strain_continuum"][0]
    dE = np.abs(E[late] - E[late][0])
    e_win = window_means(t, E, t_ref, 0.1)
    slope = float(np.polyfit(t[late], E[late], 1)[0])
    out = {
        "run": path, "steps": int(c["step"][-1]), "t_end_ps": float(t[-1]),
        "E_packet_eV": float(E_p),
        "ledger_rows": float(dE.max() / E_p),
        "ledger_windows_0.1ps": float(np.abs(e_win - e_win[0]).max() / E_p) if len(e_win) else None,
        "E_total_drift_eV_per_ps": slope,
    }
    for col in patch_cols:
        T = c[col][late]
        wm = window_means(t, c[col], t_ref, window)
        out[col] = {
            "mean_K": float(T.mean()),
            "window_ps": window,
            "window_means_K": [round(x, 2) for x in wm],
            "max_window_deviation": float(np.abs(wm - temperature).max() / temperature) if len(wm) else None,
            "mean_deviation": float(abs(T.mean() - temperature) / temperature),
        }
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("runs", nargs="+")
    ap.add_argument("--t-ref", type=float, default=0.2)
    ap.add_argument("--window", type=float, default=5.0)
    ap.add_argument("--temperature", type=float, default=300.0)
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    res = [analyse(p, args.t_ref, args.window, args.temperature) for p in args.runs]
    text = json.dumps(res, indent=1)
    print(text)
    if args.json:
        tmp = args.json + ".tmp"
        with open(tmp, "w") as fh:
            fh.write(text + "\n")
        os.replace(tmp, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
