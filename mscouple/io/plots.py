"""Standard figures of a run from its scalar series (``mscouple plot RUN_series.h5``).

One PNG per column kind present in the table (see :mod:`mscouple.io.series`):
``energy.png`` (the energy ledger: every energy column against time, plus the drift of
``E_total`` relative to its first value when that column exists), ``temperature.png``,
``power.png`` (interface power) and ``wave.png`` (reflection / transmission). Uses the
non-interactive Agg backend, so it runs on cluster nodes without a display.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from .commit import atomic_path
from .series import read_series

__all__ = ["make_figures", "plot_series"]

_TITLES = {
    "energy": "Energy ledger",
    "temperature": "Temperatures",
    "power": "Interface power",
    "wave": "Reflection / transmission",
    "other": "Other scalars",
}


def make_figures(data: Mapping[str, Any], time_unit: str = "") -> dict[str, Any]:
    """Matplotlib figures (Agg) per column kind from :func:`read_series` output."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    t = np.asarray(data["time"])
    by_kind: dict[str, list[str]] = {}
    for name, info in data["columns"].items():
        by_kind.setdefault(info["kind"], []).append(name)
    figs = {}
    for kind, names in by_kind.items():
        drift = kind == "energy" and "E_total" in names
        fig = Figure(figsize=(7, 6 if drift else 4), dpi=100)
        ax = fig.add_subplot(2 if drift else 1, 1, 1)
        for name in names:
            unit = data["columns"][name].get("unit", "")
            ax.plot(t, data[name], label=f"{name} [{unit}]" if unit else name)
        ax.set_title(_TITLES.get(kind, kind))
        ax.set_xlabel(f"time [{time_unit}]" if time_unit else "time")
        ax.legend(loc="best", fontsize="small")
        ax.grid(alpha=0.3)
        if drift:
            e = np.asarray(data["E_total"])
            ax2 = fig.add_subplot(2, 1, 2)
            ax2.plot(t, e - e[0], color="k", label="E_total − E_total(0)")
            ax2.set_xlabel(ax.get_xlabel())
            ax2.set_ylabel("drift")
            ax2.legend(loc="best", fontsize="small")
            ax2.grid(alpha=0.3)
        fig.tight_layout()
        figs[kind] = fig
    return figs


def plot_series(path: str | os.PathLike, out_dir: str | os.PathLike | None = None, time_unit: str = "") -> dict[str, Path]:
    """Draw the standard PNGs of series file ``path`` into ``out_dir`` (default: next to
    it); returns ``{kind: png path}``. Runs on one process (no communicator)."""
    data = read_series(path)
    out = Path(out_dir) if out_dir is not None else Path(path).parent
    out.mkdir(parents=True, exist_ok=True)
    written = {}
    for kind, fig in make_figures(data, time_unit).items():
        p = out / f"{kind}.png"
        with atomic_path(p) as tmp:
            fig.savefig(tmp, format="png")
        written[kind] = p
    return written
