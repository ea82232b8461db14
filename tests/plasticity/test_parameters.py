"""μ and b of the plasticity model come from the EAM Cu potential (Cauchy–Born, relaxed lattice)."""
from __future__ import annotations

import math
import os

import pytest

from mscouple.plasticity.parameters import copper_parameters, isotropic_average

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CU = os.path.join(ROOT, "tests", "data", "Cu_zhou04.eam.alloy")


def test_isotropic_crystal_has_one_shear_modulus():
    """C44 = (C11 − C12)/2: Voigt = Reuss = Hill = C44 exactly."""
    for av in ("voigt", "reuss", "hill"):
        K, mu = isotropic_average(200.0, 80.0, 60.0, av)
        assert mu == pytest.approx(60.0, rel=1e-14)
        assert K == pytest.approx(120.0, rel=1e-14)


def test_copper_from_eam():
    hill = copper_parameters(CU)
    v = copper_parameters(CU, "voigt")
    r = copper_parameters(CU, "reuss")
    assert r.shear < hill.shear < v.shear  # Hill's bounds
    assert hill.burgers == pytest.approx(hill.a0 / math.sqrt(2.0), rel=1e-14)
    # the Zhou et al. (2004) Cu potential is fitted to a0 = 3.615 Å and the measured C_ij:
    assert hill.a0 == pytest.approx(3.615e-4, rel=2e-3)            # μm; measured 3.61496 Å
    assert hill.burgers == pytest.approx(2.556e-4, rel=2e-3)       # μm
    assert (hill.c11, hill.c12, hill.c44) == pytest.approx((169.6e3, 122.1e3, 75.7e3), rel=5e-3)  # MPa
    # polycrystalline Cu: μ ≈ 48 GPa, K ≈ 138 GPa (Simmons & Wang 1971 single-crystal data averaged)
    assert hill.shear == pytest.approx(48.0e3, rel=0.03)
    assert hill.bulk == pytest.approx(138.0e3, rel=0.02)
