"""Accuracy of the shipped Cu NNP against the EAM it learned, all computed by our engine.

    .venv/bin/python examples/nnp_cu/accuracy.py [--model M.npz --frames T.npz --out A.json]
    (default: the shipped model and test frames → examples/nnp_cu/accuracy.json)

Held-out test frames (``cu_test_frames.npz``, never seen in training or early stopping):
energy, force and virial RMSEs, overall and per tag (MD temperature, strain, vacancy,
surfaces). Material properties of both potentials by the same code
(:func:`mscouple.mlip.properties.fcc_report`): zero-pressure lattice constant, cohesive
energy, C11/C12/C44, relaxed vacancy formation energy, relaxed (100)/(111) surface energies;
relative errors against the EAM values and the issue's targets.
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

TARGETS = {"energy_rmse_meV_atom": 3.0, "force_rmse_meV_A": 80.0, "a0": 0.002, "C11": 0.05,
           "C12": 0.05, "C44": 0.05, "Evac": 0.05, "gamma100": 0.10, "gamma111": 0.10}


def main(argv=None):
    import argparse

    from mscouple.atomistic.eam import EAM
    from mscouple.atomistic.nnp import NNP
    from mscouple.mlip.data import load_frames
    from mscouple.mlip.properties import fcc_report
    from mscouple.mlip.train import errors

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default=os.path.join(HERE, "cu_nnp.npz"))
    p.add_argument("--frames", default=os.path.join(HERE, "cu_test_frames.npz"))
    p.add_argument("--out", default=os.path.join(HERE, "accuracy.json"))
    a = p.parse_args(argv)
    nnp = NNP(a.model)
    eam = EAM.from_file(os.path.join(ROOT, "tests", "data", "Cu_zhou04.eam.alloy"))
    test = errors(nnp.model, load_frames(a.frames), by_tag=True)
    pe, pn = fcc_report(eam), fcc_report(nnp)
    rel = {k: (pn[k] - pe[k]) / abs(pe[k]) for k in pe}
    out = {"test_set": test, "eam": pe, "nnp": pn, "relative_error": rel,
           "targets": TARGETS,
           "meets": {k: bool(test[k] <= v if k in test else abs(rel[k]) <= v) for k, v in TARGETS.items()}}
    tmp = a.out + ".tmp"
    with open(tmp, "w") as fh:
        json.dump(out, fh, indent=1, sort_keys=True)
    os.replace(tmp, a.out)
    print(json.dumps(out, indent=1, sort_keys=True))


if __name__ == "__main__":
    sys.exit(main())
