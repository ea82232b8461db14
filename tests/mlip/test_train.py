"""NNP training: exact loss gradients, training maps = inference kernel, a short fit, extxyz."""
import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))
from nnp_helpers import rattled_cell  # noqa: E402

from mscouple.atomistic.box import Box  # noqa: E402
from mscouple.atomistic.eam import EAM  # noqa: E402
from mscouple.atomistic.nnp import NNP  # noqa: E402
from mscouple.mlip.data import Frame, label, read_extxyz  # noqa: E402
from mscouple.mlip.descriptors import default_table  # noqa: E402
from mscouple.mlip.model import NNPModel  # noqa: E402
from mscouple.mlip.network import init_params, n_params  # noqa: E402
from mscouple.mlip.train import Batch, Objective, TrainSettings, errors, train  # noqa: E402

HERE = os.path.dirname(__file__)
EAM_FILE = os.path.join(HERE, "..", "data", "Cu_zhou04.eam.alloy")
RC = 4.6


@pytest.fixture(scope="module")
def eam():
    return EAM.from_file(EAM_FILE)


@pytest.fixture(scope="module")
def frames(eam):
    out = []
    for k, (reps, amp, strain) in enumerate((((2, 2, 2), 0.1, 1.0), ((2, 2, 2), 0.15, 1.02))):
        x, box = rattled_cell(reps, amp, seed=k, a=3.615 * strain)
        e, f, w = label(eam, x, box)
        out.append(Frame(x, box.lengths, box.periodic, np.zeros(len(x), np.int32), e, f, w, "bulk"))
    # a slab (free in z): no virial label
    x, box = rattled_cell((2, 2, 2), 0.05, seed=5)
    sbox = Box(box.lo - [0, 0, 8.0], box.hi + [0, 0, 8.0], (True, True, False))
    e, f, _ = label(eam, x, sbox)
    out.append(Frame(x - sbox.lo, sbox.lengths, sbox.periodic, np.zeros(len(x), np.int32), e, f, None, "slab"))
    return out


def _objective(frames, act, fraction=1.0, weights=False):
    if weights:  # per-frame weights of the energy term
        from dataclasses import replace
        frames = [replace(f, energy_weight=w) for f, w in zip(frames, (3.0, 1.0, 0.5))]
    sf = default_table(1, RC, n_radial=4, angular=((0.01, 1.0), (0.02, 2.0)))
    sf = np.vstack([sf, [[4, 0.02, 0, 1.0, 2.0, -1, -1, 0]]])
    b = Batch(frames, sf, RC, fraction, seed=3)
    layers = [len(sf), 6, 4, 1]
    theta = np.concatenate([init_params(layers, np.random.default_rng(1)), [-3.4]])
    sd = b.G.std(0)
    return Objective(b, layers, act, 1, b.G.mean(0), np.where(sd > 0, sd, 1.0),
                     TrainSettings(sigma_e=0.002, sigma_f=0.05, sigma_w=0.01, l2=1e-4)), theta, sf


@pytest.mark.parametrize("act,fraction,weights", [("tanh", 1.0, False), ("softplus", 0.5, False),
                                                  ("tanh", 0.5, True)])
def test_loss_gradient_matches_finite_differences(frames, act, fraction, weights):
    obj, theta, _ = _objective(frames, act, fraction, weights)
    L, g = obj.loss_grad(theta)
    rng = np.random.default_rng(0)
    for k in list(rng.choice(len(theta) - 1, 6, replace=False)) + [len(theta) - 1]:
        h = 1e-6 * max(1.0, abs(theta[k]))
        e = np.zeros_like(theta)
        e[k] = h
        fd = (obj.loss_grad(theta + e)[0] - obj.loss_grad(theta - e)[0]) / (2 * h)
        assert abs(fd - g[k]) <= 1e-5 * max(abs(fd), 1e-3 * np.abs(g).max())


def test_training_maps_equal_the_md_kernel(frames):
    """Energies, forces and virials the trainer predicts = the compiled MD path's."""
    obj, theta, sf = _objective(frames, "tanh")
    Ef, F, W, _ = obj.predict(theta)
    npar = n_params(obj.layers)
    model = NNPModel(elements=["Cu"], masses=[63.546], cutoff=RC, sf=sf,
                     g_shift=obj.b.G.mean(0), g_scale=obj.g_scale, layers=obj.layers,
                     activation="tanh", weights=theta[:npar][None], e0=theta[npar:])
    off = 0
    for k, f in enumerate(frames):
        box = Box(np.zeros(3), f.lengths, f.periodic)
        e, fk, wk = label(NNP(model), f.x, box)
        assert abs(Ef[k] - e) < 1e-10 * abs(e)
        assert np.abs(F[off:off + f.natoms] - fk).max() < 1e-10
        if f.virial is not None:
            assert np.abs(W[k] - wk).max() < 1e-10 * np.abs(wk).max()
        off += f.natoms


def test_short_fit_reduces_errors_and_records_metadata(frames):
    s = TrainSettings(cutoff=RC, n_radial=4, hidden=(8,), chunk=40, max_iter=80, patience=2,
                      force_fraction=0.5)
    model = train(frames[:2], frames[2:], ["Cu"], [63.546], s, log=lambda m: None)
    start = model.metadata["history"][0][1]
    assert model.metadata["history"][-1][1] < start  # training loss went down
    assert model.metadata["optimizer"].startswith("scipy L-BFGS-B")
    err = errors(model, frames[:2])
    assert err["force_rmse_meV_A"] < 1e3 * np.sqrt(np.mean(np.concatenate([f.forces for f in frames[:2]]) ** 2))


def test_extxyz_as_ase_writes_it(tmp_path, eam):
    """ASE's MDCalculator (stress in ASE's convention) → extxyz → Frame: same labels as our
    engine (energy, forces, virial W = −σ V with the Voigt order mapped)."""
    ase_io = pytest.importorskip("ase.io")
    from ase import Atoms

    from mscouple.atomistic.ase_interface import MDCalculator

    x, box = rattled_cell((2, 2, 2), 0.1, seed=7)
    x = x @ np.diag([1.01, 0.99, 1.0])
    box = Box(box.lo, box.hi * [1.01, 0.99, 1.0])
    atoms = Atoms("Cu" * len(x), positions=x, cell=np.diag(box.lengths), pbc=True)
    atoms.calc = MDCalculator(eam, species=["Cu"])
    atoms.get_potential_energy()
    atoms.get_stress()
    p = tmp_path / "cu.extxyz"
    ase_io.write(str(p), [atoms], format="extxyz")
    (fr,) = read_extxyz(str(p), ["Cu"])
    e, f, w = label(eam, x, box)
    assert abs(fr.energy - e) < 1e-6 * abs(e)
    assert np.abs(fr.forces - f).max() < 1e-6
    assert np.abs(fr.virial - w).max() < 1e-6 * np.abs(w).max()
    assert np.abs(w[3:]).max() > 1e-3  # the shear components are non-trivial


def test_widened_warm_start_computes_the_same_model():
    """train(init=...) with more symmetry functions and wider layers starts from exactly the
    initial model's energies and forces (new inputs and units enter with zero weight)."""
    from nnp_helpers import random_model

    from mscouple.mlip.train import widen

    old = random_model()
    extra = [[2, 0.05, 0.0, 0, 1, -1, -1, 0], [2, 9.0, 2.3, 0, 1, -1, -1, 0]]
    sf = np.vstack([extra[:1], old.sf[:3], extra[1:], old.sf[3:]])
    layers = [len(sf), 11, 8, 1]
    rng = np.random.default_rng(0)
    w, shift, scale = widen(old, sf, layers, rng.uniform(0, 1, len(sf)), rng.uniform(1, 2, len(sf)), rng)
    new = NNPModel(elements=["Cu"], masses=[63.546], cutoff=old.cutoff, sf=sf, g_shift=shift,
                   g_scale=scale, layers=layers, activation=old.activation, weights=w, e0=old.e0)
    x, box = rattled_cell((2, 2, 2), 0.15, seed=4)
    e1, f1, w1 = label(NNP(old), x, box)
    e2, f2, w2 = label(NNP(new), x, box)
    assert abs(e2 - e1) <= 1e-12 * abs(e1)
    assert np.abs(f2 - f1).max() <= 1e-12 * np.abs(f1).max()
    assert np.abs(w2 - w1).max() <= 1e-12 * np.abs(w1).max()
    assert np.count_nonzero(w) > np.count_nonzero(old.weights)  # the new units are not dead
    with pytest.raises(Exception, match="not in the new set"):
        keep = np.arange(len(sf)) != 1  # drops the initial model's first function
        widen(old, sf[keep], [len(sf) - 1, 11, 8, 1], shift[keep], scale[keep], rng)
