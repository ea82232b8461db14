"""A small PKA cascade in Cu (Zhou EAM + ZBL): energy balance with the adaptive step
(NVE; then with the border Langevin layer and electronic stopping, whose energies are
booked), Frenkel pairs created and partly recombined, vacancies = interstitials in every
frame, one extxyz frame per row."""
import os

import numpy as np
import pytest
from mpi4py import MPI

from mscouple.atomistic.eam import EAM
from mscouple.atomistic.lattice import fcc
from mscouple.atomistic.system import MDSystem
from mscouple.cascade.run import CascadeSpec, run_cascade
from mscouple.cascade.zbl import join_zbl
from mscouple.errors import ConfigError

CU = os.path.join(os.path.dirname(__file__), "..", "data", "Cu_zhou04.eam.alloy")
A = 3.615


@pytest.fixture(scope="module")
def pot():
    return join_zbl(EAM.from_file(CU), [29])


def block(pot, n=5):
    x, box = fcc(A, (n, n, n))
    s = MDSystem(MPI.COMM_SELF, box, x, pot, masses=63.546, units="metal", dt=1e-3,
                 skin=1.0, sort_every=0)
    return s, x


def test_nve_cascade_conserves_energy(pot, tmp_path):
    s, x = block(pot)
    spec = CascadeSpec(energy=150.0, direction=(0.13, 0.35, 0.93), duration=0.15,
                       xmax=0.01, frame_every=0.03, relax_fmax=0.0)
    r = run_cascade(s, x, spec, frames_path=tmp_path / "f.xyz")
    e = r.history["e_balance"]
    # 150 eV given to one atom: the total is conserved to 1e-4 of it (measured 3e-5; adaptive step)
    assert np.max(np.abs(e - e[0])) < 1e-4 * 150.0, np.max(np.abs(e - e[0]))
    assert r.peak.n_frenkel >= 1
    np.testing.assert_array_equal(r.history["n_vacancies"], r.history["n_interstitials"])
    # steps adapt: tiny while the PKA is fast, larger once the energy has spread
    assert r.history["dt"][1] < 0.5 * np.max(r.history["dt"][2:-1])
    text = (tmp_path / "f.xyz").read_text().splitlines()
    nframes = sum(1 for ln in text if ln.startswith("Lattice="))
    assert nframes == len(r.history["time"]) + 1  # + the final (unrelaxed: relax off) state


def test_border_layer_and_stopping_are_booked(pot):
    s, x = block(pot)
    spec = CascadeSpec(energy=150.0, direction=(0.13, 0.35, 0.93), duration=0.3,
                       xmax=0.01, frame_every=0.05, border_width=2.5, border_damping=0.05,
                       stopping_gamma=2.0, stopping_cut=10.0, relax_fmax=0.05)
    r = run_cascade(s, x, spec)
    assert r.stopping_loss > 0.1          # eV taken by the electrons while the PKA is hot
    assert r.border_heat < -1.0           # the 0 K layer took heat out
    e = r.history["e_balance"]
    assert np.max(np.abs(e - e[0])) < 3e-4 * 150.0, np.max(np.abs(e - e[0]))  # measured 1.5e-4
    assert r.history["temperature"][-1] < r.history["temperature"][1]
    assert r.final.n_frenkel <= r.peak.n_frenkel
    assert r.final.n_vacancies == r.final.n_interstitials


def test_spec_refusals():
    with pytest.raises(ConfigError, match="cascade.energy"):
        CascadeSpec(energy=-1.0)
    with pytest.raises(ConfigError, match="dt_min"):
        CascadeSpec(energy=1.0, dt_min=1.0, dt_max=0.1)
