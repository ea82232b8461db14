"""The coupled driver on the real engines (MDSystem + ExplicitElastodynamics) reproduces the
NumPy reference models of the same chain and bars."""
import os
import sys

import numpy as np
import pytest

pytest.importorskip("mscouple._kernels.pair")
pytest.importorskip("petsc4py")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "examples", "wave_1d"))
import engines as E  # noqa: E402
import wave1d as W  # noqa: E402


@pytest.mark.parametrize("ratio,multipliers", [(1, "atoms"), (4, "nodes")])
def test_engines_match_reference(ratio, multipliers):
    n_int, nb, bars = 120, 4, 20
    md, fe, cp, interior, band = E.build_engines(n_int, ratio, nb, bars, multipliers)
    s = W.build(n_int, ratio, nb, bars, multipliers)
    assert np.array_equal(interior, s.interior)
    W.launch(s.chain, 2 * np.pi / 16, 8.0, s.chain.x0[s.interior[0], 0] + 40)
    md.x[:, 0] = md.x0[:, 0] + s.chain.u[:, 0]
    md.v[:, 0] = s.chain.v[:, 0]
    md.compute_forces()
    e0 = cp.energies().mechanical
    assert e0 == pytest.approx(s.coupler.energies().mechanical, rel=1e-12)
    cp.step(0.1, 800)
    s.coupler.step(0.1, 800)
    u_ref = s.chain.u[:, 0]
    assert np.abs(s.bar.u).max() > 0.1 * np.abs(u_ref).max()  # the packet is crossing the band
    np.testing.assert_allclose(md.displacements()[:, 0], u_ref, rtol=0, atol=1e-8 * np.abs(u_ref).max())
    assert cp.energies().mechanical == pytest.approx(e0, rel=1e-3)
