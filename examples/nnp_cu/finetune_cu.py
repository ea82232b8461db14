"""Stages 4 and 5 of the shipped Cu NNP: fine-tuning for the elastic constants and the vacancy.

    .venv/bin/python examples/nnp_cu/finetune_cu.py --stage 4 --init S3.npz --out DIR4
    .venv/bin/python examples/nnp_cu/finetune_cu.py --stage 5 --init DIR4/cu_nnp.npz --out DIR5

Stage 3 (``mscouple train examples/nnp_cu/train.toml``) brought the held-out force RMSE from
95 to 32 meV/Å but left C11/C12/C44 1.7-2.0 % high. Both stages here warm-start from the
previous one (same 33 symmetry functions and network) on stage 3's data and split, adding:

* stage 4: 16 unrattled perfect cells at small normal strains (±1 %, cubic and [110] axes:
  the latter are shears of the cubic frame), virial scale σ_W 5 meV/atom (400 iterations);
* stage 5: also the perfect 108-atom cell at the EAM a0 and the EAM-relaxed vacancy in it,
  their energies weighted 30x, the other vacancy frames 10x (300 iterations): the formation
  energy is a 50 meV difference of 100-atom energies.

The held-out test frames (``cu_test_frames.npz``, seed 4242) are evaluated, never fitted.
"""
import argparse
import json
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
A0_EAM = 3.61496  # the EAM's zero-pressure lattice constant (accuracy.json)


def main(argv=None):
    from mscouple.atomistic.box import Box
    from mscouple.atomistic.eam import EAM
    from mscouple.atomistic.lattice import fcc
    from mscouple.mlip.data import _frame, _relaxed, cu_reference_set, load_frames, split
    from mscouple.mlip.train import TrainSettings, errors, train

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--stage", type=int, choices=(4, 5), required=True)
    p.add_argument("--init", required=True, help="the previous stage's model")
    p.add_argument("--out", required=True, help="folder for cu_nnp.npz")
    a = p.parse_args(argv)
    t0 = time.time()
    eam = EAM.from_file(os.path.join(ROOT, "tests", "data", "Cu_zhou04.eam.alloy"))
    tr, va, _ = split(cu_reference_set(eam, seed=2026, scale=2), (0.9, 0.1, 0.0), seed=2026)
    rng = np.random.default_rng(77)
    o110 = [[1, 1, 0], [-1, 1, 0], [0, 0, 1]]
    for orient, reps, tag in ((None, (3, 3, 3), "elastic100"), (o110, (4, 4, 3), "elastic110")):
        x, box = fcc(A0_EAM, reps, orient=orient)
        for _ in range(8):
            F = np.diag(1 + rng.uniform(-0.01, 0.01, 3))
            tr.append(_frame(eam, x @ F, Box(box.lo * np.diag(F), box.hi * np.diag(F), box.periodic), tag))
    if a.stage == 5:
        x, box = fcc(A0_EAM, (3, 3, 3))
        perfect = _frame(eam, x, box, "perfect")
        vac = _frame(eam, _relaxed(eam, np.delete(x, 13, axis=0), box), box, "vacancy_relaxed")
        perfect.energy_weight = vac.energy_weight = 30.0
        for f in tr:
            if f.tag == "vacancy":
                f.energy_weight = 10.0
        tr += [perfect, vac]
    s = TrainSettings(sigma_e=0.001, sigma_f=0.04, sigma_w=0.005, force_fraction=0.4,
                      max_iter=400 if a.stage == 4 else 300, chunk=100, patience=3, seed=12, init=a.init)
    model = train(tr, va, ["Cu"], [63.546], s, log=lambda m: print(m, flush=True))
    model.metadata["data"] = {
        "reference": "EAM tests/data/Cu_zhou04.eam.alloy (Zhou et al. PRB 69 144113)",
        "generator": "mscouple.mlip.data.cu_reference_set", "seed": 2026, "scale": 2,
        "split": {"fractions": [0.9, 0.1, 0.0], "seed": 2026, "stratified_by": "tag"},
        "extra": f"examples/nnp_cu/finetune_cu.py --stage {a.stage}",
        "test": {"generator": "mscouple.mlip.data.cu_reference_set", "seed": 4242, "scale": 1}}
    model.metadata["test"] = errors(model, load_frames(os.path.join(HERE, "cu_test_frames.npz")), by_tag=True)
    model.metadata["validation"] = errors(model, va, by_tag=True)
    model.metadata["train"] = errors(model, tr)
    os.makedirs(a.out, exist_ok=True)
    model.save(os.path.join(a.out, "cu_nnp.npz"))
    print(json.dumps({k: {q: v for q, v in model.metadata[k].items() if q != "by_tag"}
                      for k in ("train", "validation", "test")}, indent=1))
    print(f"total {time.time() - t0:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
