"""The overlapped patch step (mscouple.coupling.overlap: band pairs first, band velocities
sent, interior pairs computed while the continuum projects) is the phase-by-phase coupled
step to round-off: the benchmark's 3D fcc LJ block (2,048 atoms, band two lattice constants
wide) inside P1 tets on 1 + 1 ranks, 40 steps in uneven advances (7, 1, 12, 20: end
projections at every advance's last step, merged ones between), both multiplier kinds,
subcycle 1 and 3 (the latter with a uniform external force on the patch: the kicks' add of
it). Patch positions and velocities by atom id, the continuum's displacements
and velocities, and W_constraint agree to 1e-12 relative (band atoms get their forces bit
for bit; interior atoms next to the band sum their pairs in another order). The runs
rebuild the neighbour list several times (the fused end-of-step passes then hand over to
the system's rebuild) and, at subcycle 3, chain end projections; the round trips run on
persistent requests (``InterfaceExchange._trip_plan``)."""
from __future__ import annotations

import json
import os
import sys

import pytest

from helpers.mpi_launch import ROOT, mpirun

DRIVER = os.path.join(ROOT, "tests", "coupling", "overlap_driver.py")


@pytest.mark.parametrize("k,mult,fext", [(1, "atoms", 0.0), (3, "nodes", 0.02)])
def test_overlapped_step_equals_the_phase_by_phase_step(tmp_path, k, mult, fext):
    r = mpirun([(2, [sys.executable, DRIVER, "8", str(k), mult, str(tmp_path), str(fext)])], timeout=240)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    res = {role: json.loads((tmp_path / f"result_{role}.json").read_text()) for role in ("patch", "continuum")}
    p, c = res["patch"], res["continuum"]
    print(res)
    # the reference run took the old path, the other the overlapped one, with both passes busy
    assert p["used_a"] is False and p["used_b"] is True
    assert min(p["pairs"]) > 1000
    assert p["rebuilds"] >= 2
    assert p["persistent"] is True  # the round trips ran on persistent requests
    assert p["chained"] > 0 if k > 1 else True
    assert p["moved"] > 0.1  # a finite-temperature block: the atoms move
    assert p["dx"] <= 1e-12 * p["x_scale"]
    assert p["dv"] <= 1e-12 * p["v_scale"]
    assert c["du"] <= 1e-12 * c["u_scale"] and c["dv"] <= 1e-12 * c["v_scale"]
    assert abs(c["W_b"] - c["W_a"]) <= 1e-12 * abs(c["W_a"]) and abs(c["W_a"]) > 0
