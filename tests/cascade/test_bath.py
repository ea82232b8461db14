"""The cascade's heat leaves through a continuum heat bath (cascade.border = "continuum"):
a free Cu block (Zhou EAM + ZBL, 8³ cells, 2048 atoms) inside a P1 heat continuum, coupled
by the power-matched thermostat of ``mscouple run``'s heat physics. Energy ledger: the
energy the PKA kick gave = the atoms' energy change + the heat the continuum received
(from the continuum's own state: ΔE_thermal + heat out through its outer reservoirs); the
block cools toward the bath; Wigner–Seitz on the free block."""
import os

import numpy as np
import pytest
from mpi4py import MPI

from mscouple.atomistic.eam import EAM
from mscouple.atomistic.lattice import fcc
from mscouple.atomistic.system import MDSystem
from mscouple.atomistic.thermostats import Langevin
from mscouple.cascade.bath import ContinuumBath
from mscouple.cascade.run import CascadeSpec, run_cascade
from mscouple.cascade.zbl import join_zbl
from mscouple.errors import ConfigError

CU = os.path.join(os.path.dirname(__file__), "..", "data", "Cu_zhou04.eam.alloy")
A = 3.615
T_BATH = 300.0


@pytest.fixture(scope="module")
def pot():
    return join_zbl(EAM.from_file(CU), [29])


def free_block(pot, n):
    x, box = fcc(A, (n, n, n), periodic=(False, False, False))
    s = MDSystem(MPI.COMM_SELF, box, x, pot, masses=63.546, units="metal", dt=2e-3,
                 skin=1.0, sort_every=0)
    s.set_velocities(2.0 * T_BATH, seed=3)
    s.thermostat = Langevin(T_BATH, 0.05, seed=3)
    s.run(50)  # 0.1 ps: the free surfaces relax, the block thermalises near T_BATH
    s.thermostat = None
    return s, x


@pytest.fixture(scope="module")
def cascade(pot):
    s, x = free_block(pot, 8)
    bath = ContinuumBath(s, x, A, 8, T_BATH, conductivity=20.0, interval=1e-3, band_cells=2,
                         pad_cells=3)
    e0 = s.total_energy()
    spec = CascadeSpec(energy=200.0, direction=(0.13, 0.35, 0.93), duration=0.4, xmax=0.02,
                       frame_every=0.1, relax_fmax=0.0, border="continuum")
    r = run_cascade(s, x, spec, bath=bath)
    return r, bath, s.total_energy() - e0


def test_energy_ledger(cascade):
    r, bath, de_atoms = cascade
    given = r.extras["pka_energy_given"]
    assert abs(given - 200.0) < 15.0  # E plus the cross term with the PKA's thermal velocity
    # PKA energy = atoms' energy change + heat the continuum received (its own state),
    # to 2.5e-4 of the PKA energy (measured 3.4e-5: the adaptive-step MD's own error)
    err = given - (de_atoms + bath.heat_out())
    assert abs(err) < 2.5e-4 * given, err
    e = r.history["e_balance"]
    assert np.max(np.abs(e - e[0])) < 2.5e-4 * given
    # the hand-over itself is exact: what the thermostat took from the atoms is what the
    # continuum received (round-off; measured 4e-12 eV)
    assert abs(bath.thermostat_work() + bath.heat_out()) < 1e-9 * given
    assert bath.couplings == 400  # one heat step per 1 fs coupling interval, on the clock


def test_block_cools_toward_the_bath(cascade):
    r, bath, de_atoms = cascade
    given = r.extras["pka_energy_given"]
    q = r.history["bath_heat"]
    T = r.history["temperature"]
    # heat leaves the block through the continuum, frame after frame
    assert np.all(np.diff(q) > 0), q
    # more than half of the PKA's energy has left the atoms after 0.4 ps (measured 0.61) ...
    assert q[-1] > 0.5 * given and de_atoms < 0.5 * given
    # ... and part of it already left the continuum through its outer faces (measured 0.21)
    assert bath.reservoir_heat() > 0.1 * given
    # the block's temperature falls toward the bath's and stays above it
    assert T_BATH < T[-1] < T[1] < T[0]
    assert T_BATH < bath.interface_temperature() < T[1]
    # Wigner–Seitz on the free block: vacancies = interstitials, a few survivors
    np.testing.assert_array_equal(r.history["n_vacancies"], r.history["n_interstitials"])
    assert r.history["n_frenkel"][0] == 0 and r.peak.n_frenkel >= 1


def test_refusals(pot):
    x, box = fcc(A, (6, 6, 6))
    s = MDSystem(MPI.COMM_SELF, box, x, pot, masses=63.546, units="metal", dt=1e-3, skin=1.0,
                 sort_every=0)
    with pytest.raises(ConfigError, match="must be free"):
        ContinuumBath(s, x, A, 6, T_BATH)
    with pytest.raises(ConfigError, match="cascade.border"):
        CascadeSpec(energy=1.0, border="vacuum")
    with pytest.raises(ConfigError, match="pass the continuum bath"):
        run_cascade(s, x, CascadeSpec(energy=10.0, duration=0.01, border="continuum"))
    xf, boxf = fcc(A, (6, 6, 6), periodic=(False,) * 3)
    sf = MDSystem(MPI.COMM_SELF, boxf, xf, pot, masses=63.546, units="metal", dt=1e-3, skin=1.0,
                  sort_every=0)
    with pytest.raises(ConfigError, match="cells >= 2 band_cells"):
        ContinuumBath(sf, xf, A, 6, T_BATH, band_cells=4)  # 6 < 2·4 + 2
    with pytest.raises(ConfigError, match="not a multiple of band_cells"):
        ContinuumBath(sf, xf, A, 9, T_BATH, band_cells=2)  # the core's faces off the mesh
    with pytest.raises(ConfigError, match="temperature"):
        ContinuumBath(sf, xf, A, 6, 0.0)
