"""Shared builders of the NNP tests: a random (untrained) Cu-like model and small cells."""
from __future__ import annotations

import numpy as np

from mscouple.atomistic.lattice import fcc
from mscouple.mlip.descriptors import default_table
from mscouple.mlip.model import NNPModel
from mscouple.mlip.network import init_params, n_params

A_CU = 3.615


def random_model(nelements: int = 1, activation: str = "tanh", seed: int = 3,
                 cutoff: float = 4.6, with_g4: bool = True) -> NNPModel:
    """A model with random weights and G2 + G5 (+ G4) functions: every code path, no training."""
    rng = np.random.default_rng(seed)
    sf = default_table(nelements, cutoff, n_radial=4, angular=((0.01, 1.0), (0.03, 2.0)))
    if with_g4:
        g4 = [[4, 0.02, 0, lam, 2.0, -1, -1, 0] for lam in (1.0, -1.0)]
        if nelements > 1:
            g4.append([4, 0.01, 0, 1.0, 1.0, 0, 1, 0])
        sf = np.vstack([sf, g4])
    layers = [len(sf), 7, 5, 1]
    w = np.stack([init_params(layers, rng) for _ in range(nelements)])
    w += 0.05 * rng.standard_normal(w.shape)  # nonzero biases too
    assert w.shape[1] == n_params(layers)
    return NNPModel(elements=["Cu", "Ni"][:nelements], masses=[63.546, 58.69][:nelements],
                    cutoff=cutoff, sf=sf, g_shift=rng.uniform(0, 1, len(sf)),
                    g_scale=rng.uniform(0.5, 2.0, len(sf)), layers=layers,
                    activation=activation, weights=w, e0=[-3.5, -4.4][:nelements],
                    metadata={"note": "random test model"})


def rattled_cell(reps=(2, 2, 2), amp: float = 0.15, seed: int = 1, a: float = A_CU):
    """fcc cell with random displacements of rms ~amp Å: (x [N,3], Box)."""
    rng = np.random.default_rng(seed)
    x, box = fcc(a, reps)
    x = x + amp * rng.standard_normal(x.shape)
    box.wrap(x)
    return x, box
