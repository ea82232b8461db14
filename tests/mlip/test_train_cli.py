"""``mscouple train``: a tiny fit from a training file (loss decreases, the written model
loads, runs in the MD kernel and is invariant), and one-line refusals of bad input."""
import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))
from nnp_helpers import rattled_cell  # noqa: E402

from mscouple.atomistic.box import Box  # noqa: E402
from mscouple.atomistic.eam import EAM  # noqa: E402
from mscouple.atomistic.nnp import NNP  # noqa: E402
from mscouple.cli.main import main  # noqa: E402
from mscouple.mlip.data import Frame, label, save_frames  # noqa: E402
from mscouple.mlip.model import load_model  # noqa: E402

EAM_FILE = os.path.join(os.path.dirname(__file__), "..", "data", "Cu_zhou04.eam.alloy")

SPEC = """
[data]
file = "frames.npz"
[split]
fractions = [0.6, 0.4, 0.0]
seed = 3
[model]
cutoff = 4.2
n_radial = 4
centred = [0.05]
hidden = [6]
[fit]
max_iter = 60
chunk = 20
patience = 3
force_fraction = 0.5
[output]
model = "out/model.npz"
"""


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    d = tmp_path_factory.mktemp("train")
    eam = EAM.from_file(EAM_FILE)
    frames = []
    for k in range(5):
        x, box = rattled_cell((2, 2, 2), 0.08 + 0.02 * k, seed=k, a=3.615 * (1 + 0.01 * (k - 2)))
        e, f, w = label(eam, x, box)
        frames.append(Frame(x, box.lengths, box.periodic, np.zeros(len(x), np.int32), e, f, w, "bulk"))
    save_frames(str(d / "frames.npz"), frames)
    (d / "out").mkdir()
    return d


def _write(d, text, name="train.toml"):
    p = d / name
    p.write_text(text)
    return str(p)


def test_train_command_fits_and_writes_an_invariant_model(workdir, capsys):
    assert main(["train", _write(workdir, SPEC), "--quiet"]) == 0
    model = load_model(str(workdir / "out" / "model.npz"))
    hist = model.metadata["history"]
    assert hist[-1][1] < 0.5 * hist[0][1]  # training loss fell (after 20 vs 60 iterations)
    assert model.metadata["data"]["split"]["fractions"] == [0.6, 0.4, 0.0]
    assert model.nsf == 4 + 1 + 12 and list(model.layers) == [17, 6, 1]
    # the written model runs in the MD kernel; rotation + translation + permutation invariant
    x, box = rattled_cell((2, 2, 2), 0.1, seed=9)
    c = x.mean(axis=0)
    xf = x - c + 20.0
    big = Box(np.zeros(3), np.full(3, 40.0), (False, False, False))
    pot = NNP(model)
    e1, f1, _ = label(pot, xf, big)
    q, _ = np.linalg.qr(np.random.default_rng(2).standard_normal((3, 3)))
    perm = np.random.default_rng(4).permutation(len(x))
    xr = (x - c) @ q.T + 20.3
    e2, f2, _ = label(pot, xr[perm], big)
    assert abs(e2 - e1) <= 1e-12 * abs(e1)
    assert np.abs(f2 - (f1 @ q.T)[perm]).max() <= 1e-11 * max(1.0, np.abs(f1).max())
    out = capsys.readouterr().out
    assert '"validation"' in out


@pytest.mark.parametrize("edit,needle", [
    (("max_iter = 60", "max_iter = 0"), "fit.max_iter = 0: expected an integer >= 1"),
    (("chunk = 20", "chunck = 20"), "unknown key fit.chunck (did you mean fit.chunk?)"),
    (("fractions = [0.6, 0.4, 0.0]", "fractions = [0.6, 0.6, 0.0]"), "split.fractions = [0.6, 0.6, 0.0]: expected"),
    (('file = "frames.npz"', 'file = "nope.npz"'), "data.file = 'nope.npz': expected an existing file"),
    (('hidden = [6]', 'hidden = []'), "model.hidden = []: expected a non-empty list"),
    (('activation', 'activation'), None),
])
def test_bad_training_files_are_refused_in_one_line(workdir, capfd, edit, needle):
    if needle is None:  # an activation that does not exist
        text = SPEC.replace("hidden = [6]", 'hidden = [6]\nactivation = "relu"')
        needle = "model.activation = 'relu': expected 'tanh' or 'softplus'"
    else:
        text = SPEC.replace(*edit)
    assert main(["train", _write(workdir, text, "bad.toml")]) == 2
    err = capfd.readouterr().err.strip()
    assert needle in err and len(err.splitlines()) == 1, err
    assert not os.path.exists(workdir / "out" / "bad.npz")
