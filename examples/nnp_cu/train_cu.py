"""Stages 1-2 of the shipped Cu NNP against our EAM engine, reproducibly (docs/nnp.md).

    .venv/bin/python examples/nnp_cu/train_cu.py [--scale 2] [--max-iter 3000] [--out DIR]

``examples/nnp_cu/cu_nnp_stage2.npz`` is stage 2 of: ``train_cu.py --out /tmp/stage1`` then
``train_cu.py --init /tmp/stage1/cu_nnp.npz --sigma-e 0.001 --sigma-f 0.04 --max-iter 1500
--out /tmp/stage2``; stages 3-5 (the shipped ``cu_nnp.npz``) are ``mscouple train
examples/nnp_cu/train.toml`` and ``finetune_cu.py --stage 4 / 5`` (docs/nnp.md).

1. reference data from ``tests/data/Cu_zhou04.eam.alloy`` (Zhou, Johnson & Wadley 2004) by
   our MD engine: MD 300–1500 K, strained cells ±5 % (cubic and [110] axes), a vacancy,
   (100)/(111) slabs, the binding curve (:func:`mscouple.mlip.data.cu_reference_set`);
2. a stratified 80/10/10 train/validation/test split (seeded);
3. the energy + force + virial fit with early stopping (:mod:`mscouple.mlip.train`);
4. the model (one .npz), the held-out test frames, and the accuracy report (JSON) vs EAM.
"""
import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def main(argv=None):
    from mscouple.atomistic.eam import EAM
    from mscouple.mlip.data import cu_reference_set, save_frames, split
    from mscouple.mlip.train import TrainSettings, errors, train

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scale", type=int, default=2, help="frames of each kind x scale")
    p.add_argument("--max-iter", type=int, default=3000)
    p.add_argument("--chunk", type=int, default=250)
    p.add_argument("--out", required=True, help="folder for cu_nnp.npz and its test split (not the shipped files)")
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--sigma-e", type=float, default=0.002, help="energy scale of the loss (eV/atom)")
    p.add_argument("--sigma-f", type=float, default=0.05, help="force scale of the loss (eV/A)")
    p.add_argument("--init", default="", help="warm start from this model file (same data, seed and split)")
    a = p.parse_args(argv)
    t0 = time.time()
    eam = EAM.from_file(os.path.join(ROOT, "tests", "data", "Cu_zhou04.eam.alloy"))
    frames = cu_reference_set(eam, seed=a.seed, scale=a.scale)
    tr, va, te = split(frames, seed=a.seed)
    print(f"{len(frames)} frames ({sum(f.natoms for f in frames)} atoms) in {time.time() - t0:.0f} s: "
          f"train {len(tr)}, validation {len(va)}, test {len(te)}", flush=True)
    s = TrainSettings(max_iter=a.max_iter, chunk=a.chunk, init=a.init, sigma_e=a.sigma_e,
                      sigma_f=a.sigma_f)
    model = train(tr, va, ["Cu"], [63.546], s, log=lambda m: print(m, flush=True))
    model.metadata["data"] = {"reference": "EAM tests/data/Cu_zhou04.eam.alloy (Zhou et al. PRB 69 144113)",
                              "generator": "mscouple.mlip.data.cu_reference_set", "seed": a.seed,
                              "scale": a.scale, "split": "stratified 80/10/10 by tag, seed = data seed"}
    model.metadata["test"] = errors(model, te)
    model.metadata["validation"] = errors(model, va)
    model.metadata["train"] = errors(model, tr)
    os.makedirs(a.out, exist_ok=True)
    model.save(os.path.join(a.out, "cu_nnp.npz"))
    save_frames(os.path.join(a.out, "cu_test_frames.npz"), te)
    print(json.dumps({k: model.metadata[k] for k in ("train", "validation", "test")}, indent=1))
    print(f"total {time.time() - t0:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
