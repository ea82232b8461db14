"""The shipped Cu NNP (examples/nnp_cu/cu_nnp.npz) against the EAM it learned (Zhou et al.
2004, tests/data/Cu_zhou04.eam.alloy): every number recomputed here by our engine.

Held-out test frames (examples/nnp_cu/cu_test_frames.npz: 83 frames generated with another
seed, never used for fitting or early stopping): energy and force RMSE against the issue's
targets (3 meV/atom, 80 meV/Å), and per MD temperature.
Properties by the same code for both potentials (mscouple.mlip.properties): lattice
constant within 0.2 %, C11/C12/C44 within 5 %, vacancy formation energy within 5 %,
(100)/(111) surface energies within 10 %.
"""
import os

import pytest
from helpers.mpi_launch import ROOT

from mscouple.atomistic.eam import EAM
from mscouple.atomistic.nnp import NNP
from mscouple.mlip import properties as P
from mscouple.mlip.data import load_frames
from mscouple.mlip.train import errors

HERE = os.path.join(ROOT, "examples", "nnp_cu")
#: per-temperature force RMSE bounds (meV/Å) on the held-out MD frames: measured
#: 11.3 / 20.0 / 27.7 / 37.6 / 42.6 at 300 / 600 / 900 / 1200 / 1500 K (accuracy.json), + ~10 %
MD_BOUNDS = {"md300": 12.5, "md600": 22.0, "md900": 30.5, "md1200": 41.5, "md1500": 47.0}


@pytest.fixture(scope="module")
def pots():
    return (NNP(os.path.join(HERE, "cu_nnp.npz")),
            EAM.from_file(os.path.join(ROOT, "tests", "data", "Cu_zhou04.eam.alloy")))


@pytest.fixture(scope="module")
def a0(pots):
    return P.lattice_constant(pots[0]), P.lattice_constant(pots[1])


def test_held_out_errors_meet_the_targets(pots):
    """83 held-out frames (8,709 atoms) generated with another seed than the training data
    (every kind: MD at 300-1500 K, strained cells, vacancy, slabs, binding curve), never
    fitted nor used for early stopping: the RMSEs recorded in the model file are the ones
    measured here, overall and per tag."""
    test = load_frames(os.path.join(HERE, "cu_test_frames.npz"))
    meta = pots[0].model.metadata
    assert len(test) >= 80 and sum(f.natoms for f in test) >= 8000
    assert meta["data"]["test"]["seed"] != meta["data"]["seed"]  # independent of the fitted frames
    tags = {f.tag for f in test}
    assert tags >= {"md300", "md600", "md900", "md1200", "md1500", "vacancy", "surf100", "surf111",
                    "strain100", "strain110", "lattice"}
    assert all(sum(f.tag == t for f in test) >= 6 for t in tags)
    err = errors(pots[0].model, test, by_tag=True)
    assert err["energy_rmse_meV_atom"] <= 3.0
    assert err["force_rmse_meV_A"] <= 80.0
    rec = meta["test"]
    assert err["force_rmse_meV_A"] == pytest.approx(rec["force_rmse_meV_A"], rel=1e-9)
    assert err["energy_rmse_meV_atom"] == pytest.approx(rec["energy_rmse_meV_atom"], rel=1e-6)
    for t in tags:
        assert err["by_tag"][t]["force_rmse_meV_A"] == pytest.approx(rec["by_tag"][t]["force_rmse_meV_A"], rel=1e-9)
    # force errors grow with temperature; MD_BOUNDS are the measured values + ~10 % (docs/nnp.md)
    for t, bound in MD_BOUNDS.items():
        assert err["by_tag"][t]["force_rmse_meV_A"] <= bound, (t, err["by_tag"][t])


def test_lattice_and_elastic_constants(pots, a0):
    assert abs(a0[0] - a0[1]) <= 0.002 * a0[1]
    cn, ce = P.elastic_constants(pots[0], a0[0]), P.elastic_constants(pots[1], a0[1])
    for k in ("C11", "C12", "C44"):
        assert abs(cn[k] - ce[k]) <= 0.05 * ce[k], (k, cn[k], ce[k])


def test_surface_energies(pots, a0):
    for plane in ("100", "111"):
        gn, ge = P.surface_energy(pots[0], a0[0], plane), P.surface_energy(pots[1], a0[1], plane)
        assert abs(gn - ge) <= 0.10 * ge, (plane, gn, ge)


@pytest.fixture(scope="module")
def vacancy(pots, a0):
    return P.vacancy_formation(pots[0], a0[0]), P.vacancy_formation(pots[1], a0[1])


def test_vacancy_formation_energy(vacancy):
    """Relaxed at fixed box, 108-site cell: measured 1.2869 (NNP) vs 1.2801 eV (EAM), +0.53 %."""
    en, ee = vacancy
    assert abs(en - ee) <= 0.05 * ee


def test_nve_energy_error_comparable_to_eam(pots):
    """108 atoms from 300 K, 150 steps of 2 fs: the NNP's max |E(t) − E(0)| within 3x of the
    EAM's at the same dt (both smooth; the NNP's 5.2 Å cosine cutoff vs the EAM's tables)."""
    from mpi4py import MPI

    from mscouple.atomistic.lattice import fcc
    from mscouple.atomistic.system import MDSystem

    errs = []
    for pot in pots:
        x, box = fcc(3.615, (3, 3, 3))
        s = MDSystem(MPI.COMM_SELF, box, x, pot, masses=63.546, units="metal", dt=0.002, skin=1.0)
        s.set_velocities(300.0, seed=11)
        e0, err = s.total_energy(), 0.0
        for _ in range(30):
            s.run(5)
            err = max(err, abs(s.total_energy() - e0))
        errs.append(err / s.natoms)
    assert errs[0] < 3.0 * errs[1], errs
    assert errs[0] < 1e-4  # eV/atom


def test_hmm_oracle_md_cell_with_the_model(pots, a0):
    """The HMM oracle's MD cell runs the NNP like any potential: at T = 0 a small normal
    strain answers σ = (C11, C12, C12) ε with the model's own constants (to 1 %)."""
    from mscouple.hmm.micro import MDCellModel

    cell = MDCellModel(pots[0], "fcc", a0[0], (2, 2, 2), units="metal", mass=63.546)
    eps = 2e-4
    sig = cell([[eps, 0.0, 0.0]])[0] * P.EV_A3_GPA  # eV/Å³ → GPa
    c = P.elastic_constants(pots[0], a0[0])
    assert sig[0] == pytest.approx(c["C11"] * eps, rel=0.01)
    assert sig[1] == pytest.approx(c["C12"] * eps, rel=0.01)
    assert sig[2] == pytest.approx(c["C12"] * eps, rel=0.01)
