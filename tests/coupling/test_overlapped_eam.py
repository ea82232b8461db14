"""The overlapped patch step for an EAM patch (mscouple.coupling.overlap: densities and
embedding of all atoms, band pairs, band velocities sent, interior pairs computed while the
continuum projects) is the phase-by-phase coupled step to round-off: a Cu EAM block (Zhou
2004 table, 2,048 atoms at 300 K, free surfaces, band 2a wide) inside P1 tets on 1 + 1
ranks, 240 steps of 1 fs in uneven advances (7, 1, 12, 20, 80, 120).

* atom multipliers, subcycle 1: end projections merged inside an advance (one trip a step);
* node multipliers, subcycle 3, a damping band that is a 300 K bath (as in
  examples/cu_wave_3d): every end projection runs (the bath acts in it, on the continuum's
  side), and inside an advance the next step's first projection is chained after it during
  the interior pass (234 chained trips).

Patch positions and velocities by atom id and the continuum's displacements and
velocities agree to 1e-12 of their scale (measured: ≤ 3e-14; band atoms get their forces
bit for bit, interior atoms next to the band sum their pairs in another order, and a 300 K
crystal amplifies that round-off over 240 steps), and every ledger term (E_kin, E_pot,
W_constraint, E_damped, the temperatures) to 1e-11 of its size (measured: ≤ 1e-13)."""
from __future__ import annotations

import json
import os
import sys

import pytest

from helpers.mpi_launch import ROOT, mpirun

DRIVER = os.path.join(ROOT, "tests", "coupling", "overlap_eam_driver.py")


@pytest.mark.parametrize("k,mult,damping", [(1, "atoms", 0.0), (3, "nodes", 10.0)])
def test_overlapped_eam_step_equals_the_phase_by_phase_step(tmp_path, k, mult, damping):
    r = mpirun([(2, [sys.executable, DRIVER, "8", str(k), mult, str(damping), str(tmp_path)])],
               timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    res = {role: json.loads((tmp_path / f"result_{role}.json").read_text()) for role in ("patch", "continuum")}
    p, c = res["patch"], res["continuum"]
    # the reference run took the phase-by-phase path, the other the overlapped EAM one, with
    # both passes busy
    assert p["used_a"] is False and p["used_b"] is True and p["eam"] is True
    assert min(p["pairs"]) > 10_000
    assert p["chained"] == (234 if damping > 0 else 0)
    assert p["dx"] <= 1e-12 * p["x_scale"]
    assert p["dv"] <= 1e-12 * p["v_scale"]
    assert c["du"] <= 1e-12 * c["u_scale"] and c["dv"] <= 1e-12 * c["v_scale"]
    for role in (p, c):
        a, b = role["terms_a"], role["terms_b"]
        assert a.keys() == b.keys()
        for key in a:
            assert abs(a[key] - b[key]) <= 1e-11 * max(abs(a[key]), 1.0), (key, a[key], b[key])
    assert abs(c["terms_a"]["W_constraint"]) > 1.0  # the handshake did work
    if damping > 0:
        assert c["terms_a"]["E_damped"] != 0.0 and 250 < c["terms_a"]["T_bath_block"] < 350
