"""Fast/slow problems: convergence to the homogenized solution, with the dimensionless numbers.

    python examples/hmm_fastslow/fastslow.py [--out DIR]

1. -(a(x, x/eps) u')' = 1, a = (1 + x)(1 + sin(2 pi x/eps)/2): fully resolved solutions for
   eps = 1/4 .. 1/128 against the homogenized u_0 (rate 1 in eps), and the HMM (macro FE +
   periodic cell problems through an oracle) against u_0 (rate 2 in H).
2. A <-> B fast reaction (rate k, K = 1) with slow diffusion of A (D = 1): the exact stiff
   solution against the retarded-diffusion solution (rate 1 in 1/Da), and coarse projective
   integration at Da = 1e5.

Writes ``fastslow.png`` and ``fastslow.csv`` to ``--out`` (default: this folder); exits 1 if
a measured rate is off.
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np

from mscouple.homogenization.scales import scale_numbers
from mscouple.hmm.fastslow import (FastReactionDiffusion, example_coefficient, example_homogenized,
                                   fine_scale_solution, hmm_diffusion, projective_euler)
from mscouple.hmm.micro import ConductionCellModel
from mscouple.hmm.oracle import LocalOracle


def one(x):
    return np.ones_like(x)


def main(out: str) -> int:
    rows = []
    eps_list = [1 / 4, 1 / 8, 1 / 16, 1 / 32, 1 / 64, 1 / 128]
    e_eps = []
    for eps in eps_list:
        x, u = fine_scale_solution(example_coefficient, one, eps, int(64 / eps))
        e_eps.append(np.abs(u - example_homogenized(x)).max())
        rows.append(("oscillating", eps, e_eps[-1]))
    model = ConductionCellModel(lambda x, y: example_coefficient(x[0], y[:, 0]), dim=1, cells=32)
    oracle = LocalOracle(model)
    Hs = [4, 8, 16, 32, 64]
    e_H = []
    for n in Hs:
        x, u = hmm_diffusion(oracle, one, n)
        e_H.append(np.abs(u - example_homogenized(x)).max())
        rows.append(("hmm", 1 / n, e_H[-1]))
    ks = [100.0, 200.0, 400.0, 800.0, 1600.0]
    e_k = []
    for k in ks:
        p = FastReactionDiffusion(1.0, 1.0, k, 16)
        e_k.append(np.abs(p.total(p.exact(0.1)) - p.homogenized(0.1)).max())
        rows.append(("fast_reaction", 1 / k, e_k[-1]))
    p = FastReactionDiffusion(1.0, 1.0, 1e5, 32)
    y, st = projective_euler(p.rhs, p.initial(), 0.1, 1 / p.fast_rate, 2, 4e-4)
    e_pi = np.abs(p.total(y) - p.homogenized(0.1)).max()

    def rate(e):
        return np.log2(np.asarray(e[:-1]) / np.asarray(e[1:]))

    r_eps, r_H, r_k = rate(e_eps), rate(e_H), rate(e_k)
    print("oscillating coefficient: |u_eps - u_0|_inf =", " ".join(f"{e:.3e}" for e in e_eps))
    print("   rates in eps:", " ".join(f"{r:.2f}" for r in r_eps))
    print("HMM with cell problems:  |u_H - u_0|_inf   =", " ".join(f"{e:.3e}" for e in e_H))
    print("   rates in H:", " ".join(f"{r:.2f}" for r in r_H), f"  ({model.n_evaluations} cell problems)")
    print("fast reaction:           |c - c_0|_inf     =", " ".join(f"{e:.3e}" for e in e_k))
    print("   rates in 1/Da:", " ".join(f"{r:.2f}" for r in r_k))
    print(f"projective integration at Da = {p.damkohler:.0e}: |c - c_0| = {e_pi:.2e}, "
          f"{st.inner_steps} micro steps instead of {int(0.1 * p.fast_rate)}")
    # HMM: period eps = 1/256 represented by the cell problem, macro element H = 1/16;
    # fast reaction: domain length 1, micro (inner) step vs projective step
    for s in (scale_numbers(micro_length=1 / 256, macro_length=1 / 16)
              + scale_numbers(macro_length=1.0, diffusivity=p.D, rate=p.k, dt_micro=1 / p.fast_rate, dt_macro=4e-4)):
        print(f"   {s.name:<20} {s.value:.4g}" + (f"   WARNING: {s.note}" if s.note else ""))
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "fastslow.csv"), "w") as fh:
        fh.write("problem,parameter,max_error\n")
        for r in rows:
            fh.write(f"{r[0]},{r[1]:.8g},{r[2]:.8e}\n")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 4.5))
        ax.loglog(eps_list, e_eps, "o-", label="oscillating coeff. (param = eps)")
        ax.loglog(1 / np.array(ks), e_k, "s-", label="fast reaction (param = 1/Da)")
        ax.loglog(1 / np.array(Hs), e_H, "^-", label="HMM (param = H)")
        ax.set(xlabel="parameter", ylabel="max error vs homogenized")
        ax.legend()
        fig.tight_layout()
        fig.savefig(os.path.join(out, "fastslow.png"), dpi=90)
    except ImportError:
        print("matplotlib not installed: no PNG")
    ok = abs(r_eps[-1] - 1) < 0.1 and abs(r_H[-1] - 2) < 0.1 and abs(r_k[-1] - 1) < 0.1 and e_pi < 1e-3
    return 0 if ok else 1


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)))
    sys.exit(main(ap.parse_args().out))
