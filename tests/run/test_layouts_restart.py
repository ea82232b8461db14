"""The answer does not depend on the rank layout, and a restart continues bit for bit.

Layouts: the bridging-domain cases in 1D (wave_transit), 2D (wave_2d) and 3D (wave_3d) on 1+1, 2+2,
1+3 and 3+1 ranks (continuum + patch). Sums over ranks are reduced in another order, so E_total and
the fields agree to round-off, not bitwise: 1e-10 of the packet's energy / amplitude
(measured ~1e-12 in 2D, ~1e-16 in 1D).

Restart: for each coupler kind (bridging dynamics, power-matched thermal, thermo-mechanical
damping-to-heat), 2N steps in one go against N steps with a checkpoint at N, then --restart
to 2N on the same layout: the final summary numbers, ledger row and fields are identical.
"""
from __future__ import annotations

import sys

import numpy as np
import pytest

from helpers.cases import Run, example, run_case
from helpers.mpi_launch import mpirun

# continuum on 2 and 3 ranks: the band system is solved distributed over them
# (coupling/bdm.py: DistributedBand; no damping band in these cases)
LAYOUTS = [(1, 1), (2, 2), (1, 3), (3, 1)]


@pytest.mark.parametrize("name, patch, steps, sets", [
    ("wave_transit", "chain", 500, ("continuum.initial.center=110",)),
    ("wave_2d", "core", 400, ()),
    ("wave_3d", "core", 500, ()),
])
def test_layouts_agree(tmp_path, name, patch, steps, sets):
    # by `steps` the packet is inside the handshake and the patch (constraints active)
    runs = [run_case(example(name), tmp_path / f"{c}+{p}", f"run.steps={steps}", "output.every=100", *sets,
                     f"output.fields_every={steps}", f"output.atoms_every={steps}",
                     f"layout.continuum={c}", f"layout.patches.{patch}={p}") for c, p in LAYOUTS]
    ref = runs[0]
    scale = ref.summary["energy_scale"]
    assert ref.summary[f"E_kin_{patch}"] > 1e-2 * scale         # the patch is in the game
    u_ref, x_ref = ref.last_field(), ref.last_atoms(patch)
    for r in runs[1:]:
        assert r.summary["ranks"] == 4
        assert abs(r.summary["E_total"] - ref.summary["E_total"]) <= (
            1e-10 * scale + ref.summary["atoms"] * 2.3e-16 * abs(ref.summary["E_total"]))
        for a, b in zip(ref.rows, r.rows):
            # + the round-off of a sum of N per-atom energies reordered (≤ N ε |E_total|;
            # 3D: 3240 atoms, |E_total| 1.3e4 → 9e-9; measured 1e-9)
            tol = 1e-10 * scale + ref.summary["atoms"] * 2.3e-16 * abs(a["E_total"])
            assert abs(a["E_total"] - b["E_total"]) <= tol, a["step"]
        u = r.last_field()
        assert u.shape == u_ref.shape
        assert np.max(np.abs(u - u_ref)) <= 1e-10 * np.max(np.abs(u_ref))
        x = r.last_atoms(patch)
        assert np.max(np.abs(x - x_ref)) <= 1e-10 * max(1.0, np.max(np.abs(x_ref)))


_NOT_NUMBERS = {"wall_seconds", "timing_ms_per_step"}
# Summary entries a restarted run does not yet carry over (reported to the run layer):
# energy_drift_max covers only the rows after the restart; thermal_intervals counts only
# the heat steps after it.
_KNOWN_RESTART_GAPS = {"energy_drift_max", "thermal_intervals"}

RESTART = {
    "bridging": ("wave_transit", 300, ("continuum.initial.center=110", "output.every=50")),
    "thermal": ("heat_pulse", 200, ("output.every=40",)),
    "thermo-mechanical": ("flagship", 500, ("patches.chain.initial.center=440", "output.every=100")),
}


_PAIRS: dict[str, tuple[Run, Run]] = {}


@pytest.fixture(scope="module")
def restart_pair(tmp_path_factory):
    """``kind -> (uninterrupted run, restarted run)``, each pair run once per module."""
    def get(kind: str) -> tuple[Run, Run]:
        if kind not in _PAIRS:
            _PAIRS[kind] = _restart_pair(tmp_path_factory.mktemp(f"restart-{kind}"), kind)
        return _PAIRS[kind]

    return get


def _restart_pair(tmp_path, kind: str) -> tuple[Run, Run]:
    name, n, sets = RESTART[kind]
    full = run_case(example(name), tmp_path / "full", f"run.steps={2 * n}", *sets)
    half = tmp_path / "half"
    run_case(example(name), half, f"run.steps={n}", f"output.checkpoint_every={n}", *sets)
    resumed = run_case(example(name), half, f"run.steps={2 * n}", f"output.checkpoint_every={n}", *sets,
                       restart=str(half / f"checkpoint_{n:08d}.h5"))
    return full, resumed


@pytest.mark.parametrize("kind", list(RESTART))
def test_restart_is_bit_for_bit(restart_pair, kind):
    full, resumed = restart_pair(kind)
    a, b = full.summary, resumed.summary
    assert set(a) == set(b)
    differ = {k: (a[k], b[k]) for k in a
              if k not in _NOT_NUMBERS | _KNOWN_RESTART_GAPS and a[k] != b[k]}
    assert not differ, differ
    assert a["step"] == 2 * RESTART[kind][1]
    # every ledger row (those before the checkpoint were written by the first half run)
    assert [r["step"] for r in full.rows] == [r["step"] for r in resumed.rows]
    assert full.same_rows(resumed)
    # the physics moved between the checkpoint and the end (not a trivially frozen state)
    mid = next(r for r in full.rows if r["step"] == RESTART[kind][1])
    assert mid["E_total"] != full.rows[-1]["E_total"]
    if "E_damping_heat" in a:
        assert a["E_damping_heat"] > mid["E_damping_heat"] > 0


@pytest.mark.parametrize("kind", ["bridging", "thermal"])
def test_restart_keeps_run_long_summaries(restart_pair, kind):
    full, resumed = restart_pair(kind)
    for k in _KNOWN_RESTART_GAPS & set(full.summary):
        assert full.summary[k] == resumed.summary[k], (k, full.summary[k], resumed.summary[k])


def test_restart_with_another_case_is_refused(restart_pair):
    """--set changes that are physics enter the restart fingerprint; run length does not."""
    name, n, sets = RESTART["bridging"]
    half = restart_pair("bridging")[1].out   # holds the checkpoint at step n
    argv = [sys.executable, "-m", "mscouple.cli.main", "run", example(name), "--output", str(half),
            "--restart", str(half / f"checkpoint_{n:08d}.h5"), "--set", f"run.steps={2 * n}",
            "--set", "continuum.initial.amplitude=0.02", *[x for s in sets for x in ("--set", s)]]
    r = mpirun([(2, argv)], timeout=120)
    assert r.returncode != 0
    assert "different case" in r.stderr, r.stderr[-2000:]


def test_damping_to_heat_on_several_continuum_ranks(tmp_path):
    """Thermo-mechanics (flagship: damping band → heat equation) on 1 and 2 continuum ranks:
    the band system is gathered on the continuum root, which scatters the heat source to the
    owners of the band nodes. Same heat and total energy to round-off (1e-10 of the packet's
    energy; measured 6e-11 of it in E_total, 5e-14 absolute in E_thermal)."""
    sets = ("patches.chain.initial.center=440", "output.every=100", "run.steps=1000",
            "output.fields_every=1000", "output.atoms_every=1000")
    one, two = (run_case(example("flagship"), tmp_path / f"c{c}", *sets, f"layout.continuum={c}")
                for c in (1, 2))
    assert two.summary["ranks"] == 3
    scale = one.summary["energy_scale"]
    assert one.summary["E_damping_heat"] > 0.1 * scale   # the band turned real energy into heat
    for k in ("E_thermal_continuum", "E_damping_heat", "E_total", "E_kin_chain"):
        assert abs(one.summary[k] - two.summary[k]) <= 1e-10 * scale, k
    assert abs(one.summary["energy_drift"]) < 2e-3
    u1, u2 = one.last_field(), two.last_field()
    assert np.max(np.abs(u1 - u2)) <= 1e-10 * np.max(np.abs(u1))
