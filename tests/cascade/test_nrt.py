"""NRT and arc-dpa damage functions: thresholds, continuity of ξ at 2E_d/0.8, the
high-energy limit ξ → c, and the ~1/3 of NRT at keV energies quoted for metals."""
import numpy as np
import pytest

from mscouple.cascade.nrt import CU_ARC, arc_dpa, arc_efficiency, nrt


def test_nrt_thresholds_and_linear_regime():
    ed = CU_ARC[0]
    np.testing.assert_array_equal(nrt([0.5 * ed, 1.5 * ed]), [0.0, 1.0])
    assert float(nrt(1000.0)) == pytest.approx(0.8 * 1000 / (2 * ed))


def test_arc_efficiency_continuity_and_limits():
    ed, b, c = CU_ARC
    t0 = 2 * ed / 0.8
    assert float(arc_efficiency(t0 * (1 + 1e-12))) == pytest.approx(1.0, abs=1e-10)
    assert float(arc_efficiency(1e12)) == pytest.approx(c, abs=1e-3)
    xi = arc_efficiency(np.array([1e3, 5e3, 2e4]))
    assert np.all(np.diff(xi) < 0)
    # "survivors ≈ 1/3 of NRT at keV energies" (Nordlund et al. 2018)
    assert 0.2 < float(arc_dpa(1000.0) / nrt(1000.0)) < 0.45
