"""benchmarks/coupled_3d.py builds valid cases: the coupled one is the pure-MD block inside a
mesh that covers it with a four-element margin on every side."""
from __future__ import annotations

import os
import sys

from helpers.mpi_launch import ROOT

from mscouple.config import parse_case

sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
import coupled_3d as B  # noqa: E402


def test_benchmark_cases_parse_and_share_the_block():
    md = parse_case(B.case_text(10, 20, False))
    cp = parse_case(B.case_text(10, 20, True, "nodes", 10))
    assert md.layout.continuum == 0 and cp.layout.continuum == 1
    assert md.patch("block").region == cp.patch("block").region
    assert cp.handshake.subcycle == 10 and cp.handshake.multipliers == "nodes"
    m, r = cp.continuum.mesh, cp.patch("block").region
    h = (m.hi[0] - m.lo[0]) / m.cells[0]
    assert abs(h - 2 * B.A) < 1e-9
    for d in range(3):  # four elements of margin around the patch
        assert r.lo[d] - m.lo[d] > 3.5 * h and m.hi[d] - r.hi[d] > 3.5 * h


def test_band_count_matches_the_built_patch():
    """The benchmark's band count (its ``weights_floor_model``'s B) is that of the patch
    ``mscouple run`` builds: atoms closer than the handshake width to a face of the region."""
    import numpy as np
    from mpi4py import MPI

    from mscouple.builders import build_patch

    n = 6
    case = parse_case(B.case_text(n, 10, True))
    spec = case.patch("block")
    md = build_patch(MPI.COMM_SELF, spec, units=case.units, dt=case.run.dt, dim=3, coupled_dims=3)
    x = np.asarray(md.x0)
    lo, hi = np.asarray(spec.region.lo), np.asarray(spec.region.hi)
    d = np.minimum(x - lo, hi - x).min(axis=1)
    assert md.natoms == 4 * n ** 3
    assert B.band_atoms_of(n) == int(np.count_nonzero(d < case.handshake.width))
    assert 0 < B.band_atoms_of(n) < 4 * n ** 3
