"""NNP kernel (csrc/nnp.pyx) through MDSystem: symmetry, derivatives, NumPy reference, file.

Random untrained models exercise every code path (G2/G4/G5, two elements, tanh/softplus).
"""
import os
import sys

import numpy as np
import pytest
from mpi4py import MPI

sys.path.insert(0, os.path.dirname(__file__))
from nnp_helpers import random_model, rattled_cell  # noqa: E402

from mscouple.atomistic.box import Box  # noqa: E402
from mscouple.atomistic.nnp import NNP  # noqa: E402
from mscouple.atomistic.system import MDSystem  # noqa: E402
from mscouple.errors import ConfigError  # noqa: E402
from mscouple.mlip.model import load_model  # noqa: E402
from mscouple.mlip.reference import nnp_reference  # noqa: E402


def evaluate(model, x, box, types=None, weight=None, comm=MPI.COMM_SELF):
    """(E, forces [N,3] by id, virial [6], per-atom energies by id) from the compiled path."""
    s = MDSystem(comm, box, x, NNP(model), types=types, units="metal", dt=0.001, skin=0.3)
    if weight is not None:
        s.energy_weight[:] = np.asarray(weight)[s.ids]
    s.compute_forces(per_atom=True)
    ea = np.zeros(len(x))
    ea[s.ids] = s.per_atom_energy()
    ea = comm.allreduce(ea) if comm.Get_size() > 1 else ea
    return s.potential_energy(), s.gather("f"), s.virial(), ea


def cluster(n_side=3, seed=5):
    """A rattled fcc cluster (free boundaries) centred in a large box."""
    x, _ = rattled_cell((n_side, n_side, n_side), amp=0.12, seed=seed)
    x = x[np.linalg.norm(x - x.mean(0), axis=1) < 6.0]
    x = x - x.mean(0) + 15.0
    return x, Box.from_lengths((30.0, 30.0, 30.0), periodic=(False, False, False))


def random_rotation(rng):
    q, r = np.linalg.qr(rng.standard_normal((3, 3)))
    q = q * np.sign(np.diag(r))
    return q if np.linalg.det(q) > 0 else -q


@pytest.mark.parametrize("ne,act", [(1, "tanh"), (2, "softplus")])
def test_invariance_rotation_translation_permutation(ne, act):
    model = random_model(ne, act)
    rng = np.random.default_rng(8)
    x, box = cluster()
    types = (np.arange(len(x)) % ne).astype(np.int32)
    E, F, _, _ = evaluate(model, x, box, types)
    fscale = np.abs(F).max()
    for trial in range(3):
        R = random_rotation(rng)
        t = rng.uniform(-2, 2, 3)
        c = x.mean(0)
        y = (x - c) @ R.T + c + t
        perm = rng.permutation(len(x))
        E2, F2, _, _ = evaluate(model, y[perm], box, types[perm])
        assert abs(E2 - E) <= 1e-12 * abs(E)
        F2_orig = np.empty_like(F2)
        F2_orig[perm] = F2
        assert np.abs(F2_orig - F @ R.T).max() <= 1e-12 * fscale


def test_periodic_translation_and_permutation():
    model = random_model(2, "tanh")
    x, box = rattled_cell((2, 2, 2), seed=4)
    types = (np.arange(len(x)) % 2).astype(np.int32)
    E, F, W, _ = evaluate(model, x, box, types)
    rng = np.random.default_rng(1)
    perm = rng.permutation(len(x))
    y = x[perm] + rng.uniform(-5, 5, 3)
    box.wrap(y)
    E2, F2, W2, _ = evaluate(model, y, box, types[perm])
    assert abs(E2 - E) <= 1e-12 * abs(E)
    assert np.abs(F2 - F[perm]).max() <= 1e-12 * np.abs(F).max()
    assert np.abs(W2 - W).max() <= 1e-11 * np.abs(W).max()


@pytest.mark.parametrize("ne,act", [(1, "tanh"), (2, "softplus")])
def test_forces_are_minus_energy_gradient(ne, act):
    model = random_model(ne, act)
    x, box = rattled_cell((2, 2, 2), seed=2)
    types = (np.arange(len(x)) % ne).astype(np.int32)
    _, F, _, _ = evaluate(model, x, box, types)
    h = 1e-5
    worst = 0.0
    for i, d in [(0, 0), (5, 1), (17, 2), (31, 0), (12, 1)]:
        xp, xm = x.copy(), x.copy()
        xp[i, d] += h
        xm[i, d] -= h
        fd = -(evaluate(model, xp, box, types)[0] - evaluate(model, xm, box, types)[0]) / (2 * h)
        worst = max(worst, abs(fd - F[i, d]))
    assert worst < 1e-7  # eV/A (forces ~ 0.1 eV/A)


def test_virial_is_strain_derivative():
    """Periodic cell: dE/d eps_aa = -W_aa (box and atoms scaled); free cluster: every
    component, shears included, dE/d eps_ab = -W_ab (symmetric part)."""
    model = random_model(1, "tanh")
    x, box = rattled_cell((2, 2, 2), seed=6)
    _, _, W, _ = evaluate(model, x, box)
    h = 1e-6
    for a in range(3):
        e = np.zeros(3)
        e[a] = h
        Ep = evaluate(model, x * (1 + e), Box(box.lo * (1 + e), box.hi * (1 + e)))[0]
        Em = evaluate(model, x * (1 - e), Box(box.lo * (1 - e), box.hi * (1 - e)))[0]
        assert abs(-(Ep - Em) / (2 * h) - W[a]) < 1e-6 * np.abs(W).max()
    xc, bc = cluster()
    _, _, Wc, _ = evaluate(model, xc, bc)
    c = xc.mean(0)
    for k, (a, b) in enumerate(((0, 0), (1, 1), (2, 2), (0, 1), (0, 2), (1, 2))):
        eps = np.zeros((3, 3))
        eps[a, b] = eps[b, a] = h if a != b else h
        Ep = evaluate(model, (xc - c) @ (np.eye(3) + eps).T + c, bc)[0]
        Em = evaluate(model, (xc - c) @ (np.eye(3) - eps).T + c, bc)[0]
        dE = (Ep - Em) / (2 * h)
        target = -Wc[k] * (2 if a != b else 1)  # eps_ab and eps_ba both moved
        assert abs(dE - target) < 1e-6 * np.abs(Wc).max()


@pytest.mark.parametrize("ne,act", [(1, "tanh"), (2, "tanh"), (2, "softplus")])
def test_compiled_equals_numpy_reference(ne, act):
    model = random_model(ne, act, seed=ne + 7)
    x, box = rattled_cell((2, 2, 2), seed=3)
    types = (np.arange(len(x)) % ne).astype(np.int32)
    w = np.random.default_rng(0).uniform(0.2, 1.0, len(x))  # bridging-domain energy weights
    E, F, W, ea = evaluate(model, x, box, types, w)
    Er, Fr, Wr, ear = nnp_reference(model, x, box.lengths, types=types, weight=w)
    assert abs(E - Er) <= 1e-12 * abs(Er)
    assert np.abs(F - Fr).max() <= 1e-12 * np.abs(Fr).max()
    assert np.abs(W - Wr).max() <= 1e-12 * np.abs(Wr).max()
    assert np.abs(ea - ear).max() <= 1e-12 * np.abs(ear).max()


def test_momentum_and_angular_momentum_free_forces():
    """Invariance implies sum F = 0 (translation) and sum x x F = 0 (rotation, free cluster)."""
    model = random_model(2, "tanh")
    x, box = cluster()
    types = (np.arange(len(x)) % 2).astype(np.int32)
    _, F, _, _ = evaluate(model, x, box, types)
    s = np.abs(F).max() * len(x)
    assert np.abs(F.sum(0)).max() < 1e-13 * s
    assert np.abs(np.cross(x - x.mean(0), F).sum(0)).max() < 1e-13 * s * 10


def test_model_file_round_trip_and_refusals(tmp_path):
    model = random_model(2, "softplus")
    p = tmp_path / "m.npz"
    model.save(str(p))
    m2 = load_model(str(p))
    assert m2.elements == model.elements and m2.activation == "softplus"
    assert np.array_equal(m2.weights, model.weights) and m2.metadata == model.metadata
    x, box = rattled_cell((2, 2, 2))
    types = (np.arange(len(x)) % 2).astype(np.int32)
    assert evaluate(model, x, box, types)[0] == evaluate(m2, x, box, types)[0]
    with pytest.raises(ConfigError, match="cannot read"):
        load_model(str(tmp_path / "missing.npz"))
    bad = tmp_path / "bad.npz"
    bad.write_text("not a model\n")
    with pytest.raises(ConfigError, match="not an NNP model file"):
        load_model(str(bad))
    np.savez(tmp_path / "other.npz", format=np.array("something-else"))
    with pytest.raises(ConfigError, match="lacks"):
        load_model(str(tmp_path / "other.npz"))
    with pytest.raises(ConfigError, match="weights"):
        type(model)(**{**model.__dict__, "weights": model.weights[:, :-1]})


@pytest.mark.mpi(min_size=2)
def test_one_and_two_ranks_agree(comm):
    """1 vs 2 ranks (and 4 when the job has them): energy, forces, virial, per-atom
    energies, and a 20-step NVE trajectory."""
    model = random_model(2, "tanh")
    x, box = rattled_cell((3, 3, 3), seed=9)
    types = (np.arange(len(x)) % 2).astype(np.int32)
    E1, F1, W1, ea1 = evaluate(model, x, box, types, comm=MPI.COMM_SELF)
    ref = None
    for n in (2, 4):
        if comm.size < n:
            continue
        sub = comm.Split(0 if comm.rank < n else 1, comm.rank)
        if comm.rank < n:
            E2, F2, W2, ea2 = evaluate(model, x, box, types, comm=sub)
            assert abs(E2 - E1) <= 1e-12 * abs(E1)
            assert np.abs(F2 - F1).max() <= 1e-12 * np.abs(F1).max()
            assert np.abs(W2 - W1).max() <= 1e-11 * np.abs(W1).max()
            assert np.abs(ea2 - ea1).max() <= 1e-12 * np.abs(ea1).max()
            trajs = []
            for c in ((MPI.COMM_SELF, sub) if ref is None else (sub,)):
                s = MDSystem(c, box, x, NNP(model), types=types, masses=[63.5, 58.7], units="metal",
                             dt=0.002, skin=0.4)
                s.set_velocities(600.0, seed=3)
                s.run(20)
                trajs.append((s.gather("x"), s.potential_energy()))
            ref = trajs[0] if ref is None else ref
            assert np.abs(trajs[-1][0] - ref[0]).max() < 1e-11
            assert abs(trajs[-1][1] - ref[1]) < 1e-11 * abs(ref[1])
        sub.Free()
