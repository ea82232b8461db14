"""ZBL joined to the Cu EAM pair term (Zhou et al. 2004): the analytic ZBL below r1, the
EAM above r2, energy and force continuous through the join, and a head-on dimer collision
integrated with the displacement-bounded adaptive step conserves energy to 1e-6."""
import os

import numpy as np
import pytest
from mpi4py import MPI

from mscouple.atomistic.box import Box
from mscouple.atomistic.eam import EAM
from mscouple.atomistic.system import MDSystem
from mscouple.cascade.dynamics import adaptive_dt
from mscouple.cascade.zbl import join_zbl, switch, zbl
from mscouple.errors import ConfigError

CU = os.path.join(os.path.dirname(__file__), "..", "data", "Cu_zhou04.eam.alloy")
R1, R2 = 1.0, 2.0


@pytest.fixture(scope="module")
def pots():
    eam = EAM.from_file(CU)
    return eam, join_zbl(eam, [29], R1, R2)


def test_zbl_analytic_derivative():
    r = np.linspace(0.2, 3.0, 50)
    e, de = zbl(r, 29, 29)
    h = 1e-6
    fd = (zbl(r + h, 29, 29)[0] - zbl(r - h, 29, 29)[0]) / (2 * h)
    np.testing.assert_allclose(de, fd, rtol=1e-7)
    # r -> 0: bare Coulomb 14.4 Z^2 / r
    assert zbl(np.array([1e-6]), 29, 29)[0][0] * 1e-6 == pytest.approx(14.399645 * 29 * 29, rel=1e-4)


def test_join_regions(pots):
    eam, joined = pots
    r = np.linspace(0.3, R1, 40)
    phi, dphi, _ = joined.radial("phi", 0, 0, r)
    e, de = zbl(r, 29, 29)
    np.testing.assert_allclose(phi, e, rtol=2e-4)       # table interpolation error only
    np.testing.assert_allclose(dphi, de, rtol=2e-3)
    r = np.linspace(R2 + 3 * eam.dr, 6.0, 200)  # Hermite slopes use 2 knots each side
    np.testing.assert_allclose(joined.radial("phi", 0, 0, r)[0], eam.radial("phi", 0, 0, r)[0],
                               rtol=1e-12, atol=1e-12)
    # densities and embedding untouched
    np.testing.assert_array_equal(joined.rho_tab, eam.rho_tab)
    np.testing.assert_array_equal(joined.f_tab, eam.f_tab)


def test_energy_and_force_continuous_through_join(pots):
    _, joined = pots
    for r0 in (R1, R2):
        h = 1e-7
        (p,), (d,), _ = joined.radial("phi", 0, 0, np.array([r0 - h]))
        (q,), (e,), _ = joined.radial("phi", 0, 0, np.array([r0 + h]))
        assert abs(q - p) < 1e-5 * max(1.0, abs(p))
        assert abs(e - d) < 1e-4 * max(1.0, abs(d))
    # no kinks anywhere: the finite-difference force equals the table force on a fine grid
    r = np.linspace(0.5, 2.5, 4001)
    phi, dphi, _ = joined.radial("phi", 0, 0, r)
    fd = np.gradient(phi, r)
    np.testing.assert_allclose(fd[1:-1], dphi[1:-1], rtol=2e-3, atol=1e-3)
    s, ds = switch(np.array([R1, R2]), R1, R2)
    np.testing.assert_allclose(s, [0, 1])
    np.testing.assert_allclose(ds, [0, 0])


def test_join_refusals(pots):
    eam, _ = pots
    with pytest.raises(ConfigError, match="r1"):
        join_zbl(eam, [29], 2.0, 1.0)
    with pytest.raises(ConfigError, match="atomic_numbers"):
        join_zbl(eam, [29, 29])


def test_head_on_dimer_conserves_energy(pots):
    """Two Cu atoms, 100 eV each, head on (closest approach ~0.8 Å, deep in the ZBL
    region); the adaptive step (max 1e-4 Å per step) keeps |ΔE| < 1e-6 of E."""
    _, joined = pots
    m, E = 63.546, 100.0
    box = Box.from_lengths([40, 40, 40], periodic=(False,) * 3, origin=(-20, -20, -20))
    s = MDSystem(MPI.COMM_SELF, box, [[-3.0, 0, 0], [3.0, 0, 0]], joined, masses=m,
                 units="metal", dt=1e-5, skin=1.0, sort_every=0)
    v = np.sqrt(2 * E / (m * s.units.mvv2e))
    s.v[:] = [[v, 0, 0], [-v, 0, 0]]
    E0 = s.total_energy()
    err, rmin, steps = 0.0, 10.0, 0
    while True:
        s.dt = adaptive_dt(s, 1e-4, 1e-8, 1e-3)
        s.run(1)
        steps += 1
        d = s.x[1, 0] - s.x[0, 0]
        rmin = min(rmin, abs(d))
        if steps % 20 == 0 or rmin < 1.2:
            err = max(err, abs(s.total_energy() - E0))
        if rmin < 2 and abs(d) > 3.0:
            break
    assert rmin < 1.0                        # the collision went through the ZBL join
    assert err / E0 < 1e-6, (err / E0, steps)
