"""Runs of the wave examples with handshake.subcycle = k (tests/run/test_subcycle_2d.py, _3d.py)."""
from __future__ import annotations

import numpy as np

from helpers.cases import example, run_case


def run(tmp_path, name: str, steps: int, k: int, amplitude: float | None = None):
    """``mscouple run`` of an example with ``handshake.subcycle = k`` (1 + 1 ranks)."""
    sets = [f"run.steps={steps}", "output.every=100", "output.fields_every=0",
            f"output.atoms_every={steps}", f"handshake.subcycle={k}"]
    if amplitude is not None:
        sets.append(f"continuum.initial.amplitude={amplitude}")
    return run_case(example(name), tmp_path / f"{name}_k{k}_{amplitude}", *sets)


def packet_energy(r) -> float:
    """The packet's energy E_p: the continuum's at step 0 (the patch is at rest)."""
    return r.rows[0]["E_kin_continuum"] + r.rows[0]["E_strain_continuum"]


def ledger(r, e_p: float) -> tuple[float, float]:
    """(peak-to-peak of E_total, of E_total − E_subcycle_error) over the run, relative to E_p."""
    tot = r.col("E_total")
    sub = r.col("E_subcycle_error") if "E_subcycle_error" in r.rows[0] else np.zeros_like(tot)
    return float(np.ptp(tot)) / e_p, float(np.ptp(tot - sub)) / e_p
