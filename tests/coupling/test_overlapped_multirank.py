"""The overlapped patch step on a patch of several ranks (mscouple.coupling.overlap: band
flags by id over owned + ghost atoms, band-only ghost-force reverse before the band kick,
band rows routed home, every patch rank's share of the round trip in flight during the
interior pairs) is the phase-by-phase step on the same layout and the overlapped step on a
one-rank patch, to round-off.

Each case runs three times in one MPI job (tests/coupling/overlap_multirank_driver.py):
phase by phase on 1 + P ranks, overlapped on 1 + P, overlapped on 1 + 1; 200 steps in
uneven advances (7, 1, 12, 20, 60, 100). The whole coupled system (atoms and continuum
nodes) is given a uniform z velocity that carries every atom 0.15–0.3 lattice constants
along z, across the faces of the patch's z slabs (its processor grid), so atoms — band
atoms among them — migrate between patch ranks and band rows are routed to their home rank
(asserted). The driver's progress test waits for the continuum's reply, so where an end
projection's next first projection is chained during pass B and where after it is decided
by the routing state, not by the timing. Patch positions and velocities by id and the continuum's displacements and
velocities agree to 1e-12 of their scale (measured ≤ 8e-14: interior atoms next to the
band and ghosts sum their forces in another order), every ledger term to 1e-11 of its size
(measured ≤ 7e-13).

* LJ fcc block (benchmarks/coupled_3d.py, T = 0.3 ε/k_B), atom multipliers: 1 + 2 ranks,
  subcycle 1 (end projections merged), and 1 + 3 ranks, subcycle 3 (end projections at the
  junctions of subcycles, the next first projection chained after them: 6 of 9 during
  pass B, 3 after it while band atoms were away);
* Cu EAM block (benchmarks/overlap_ab.py, 300 K), node multipliers, subcycle 3, a damping
  band that is a 300 K bath (every end projection runs, 194 chained trips, 62 of them
  during pass B): 1 + 2 ranks.
"""
from __future__ import annotations

import json
import os
import sys

import pytest

from helpers.mpi_launch import ROOT, mpirun

DRIVER = os.path.join(ROOT, "tests", "coupling", "overlap_multirank_driver.py")

# (potential, cells n, patch ranks, subcycle, multipliers, damping, temperature, z velocity)
CASES = {
    "lj-1+2-k1": ("lj", 6, 2, 1, "atoms", 0.0, 0.3, 0.47),  # 0.3 a in 1 τ: across the mid-plane
    "lj-1+3-k3": ("lj", 7, 3, 3, "atoms", 0.0, 0.3, 0.234),  # 0.15 a: the faces are 0.083 a off
    "eam-1+2-k3-bath": ("eam", 6, 2, 3, "nodes", 10.0, 300.0, 5.4),  # 0.3 a in 0.2 ps (Å/ps)
}


@pytest.mark.parametrize("name", list(CASES))
def test_overlapped_multirank_step_equals_phase_by_phase_and_one_rank(tmp_path, name):
    pot, n, p, k, mult, damping, temp, drift = CASES[name]
    argv = [sys.executable, DRIVER, pot, str(n), str(p), str(k), mult, str(damping), str(temp),
            str(drift), str(tmp_path)]
    r = mpirun([(1 + p, argv)], timeout=240)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    res = json.loads((tmp_path / "result.json").read_text())
    # the reference took the phase-by-phase path, the others the overlapped one (multi-rank)
    assert res["used"] == {"phase": False, "over": True, "one": True}
    assert res["multi"] is True and res["grid"] == [1, 1, p]
    # the membership bookkeeping was exercised: atoms changed rank, band rows were routed
    assert res["migrated"] > 10 and res["routed_max"] > 0
    if k > 1:
        # end projections at subcycle junctions (and, with the bath, every step's): the next
        # first projection chained after each, as on one rank; during pass B while every band
        # atom is at home, after it while some are away (both happen: the driver's progress
        # test waits for the reply, so the timing does not decide)
        assert res["chained"] == res["chained_one_rank"] > 0
        assert res["chained_in_pass_b_one_rank"] == [res["chained"]]
        assert 0 < min(res["chained_in_pass_b"]) and max(res["chained_in_pass_b"]) < res["chained"]
    for ref in ("same_layout", "one_rank"):
        pa, co = res["patch"][ref], res["continuum"][ref]
        assert pa["dx"] <= 1e-12 * pa["x_scale"], (ref, pa["dx"])
        assert pa["dv"] <= 1e-12 * pa["v_scale"], (ref, pa["dv"])
        assert co["du"] <= 1e-12 * co["u_scale"] and co["dv"] <= 1e-12 * co["v_scale"], (ref, co)
        for role in (pa, co):
            a, b = role["terms_a"], role["terms_b"]
            assert a.keys() == b.keys()
            for key in a:
                assert abs(a[key] - b[key]) <= 1e-11 * max(abs(a[key]), 1.0), (ref, key, a[key], b[key])
    assert abs(res["continuum"]["same_layout"]["terms_a"]["W_constraint"]) > 1.0  # the band worked
