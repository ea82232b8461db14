"""Size effect of SSD + GND plasticity against experiments: torsion of thin Cu wires
(Fleck et al. 1994) and bending of thin Ni foils (Stölken & Evans 1998).

Cu: μ, K (Hill average of the Cauchy–Born constants) and b = a₀/√2 from the EAM potential
``tests/data/Cu_zhou04.eam.alloy``; Ni: handbook constants (no Ni potential in the project).
α, k₁, k₂ are fitted on the thickest specimen only (170 μm wire, 50 μm foil); the thinner
ones are predicted. The experimental curves are approximate (see the provenance note in
:mod:`mscouple.plasticity.experiments`). Torsion uses the 1D radial reduction of the wire
(checked against the 3D FE solver in tests/plasticity/test_reduced.py), bending the 1D
through-thickness reduction of a plane-strain foil.

    .venv/bin/python examples/size_effect/size_effect.py     # ~1-2 min; writes size_effect.png, summary.txt
"""
from __future__ import annotations

import os
import sys

import numpy as np

from mscouple.plasticity import experiments as ex
from mscouple.plasticity.parameters import copper_parameters
from mscouple.plasticity.size_effect import fit_and_predict

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def main(out_dir: str = HERE) -> dict:
    cu = copper_parameters(os.path.join(ROOT, "tests", "data", "Cu_zhou04.eam.alloy"))
    tor = fit_and_predict("torsion", ex.TORSION_Q_A3, ex.TORSION_STRAIN, cu.shear, cu.bulk, cu.burgers)
    ben = fit_and_predict("bending", ex.BENDING_M_WH2, ex.BENDING_STRAIN, ex.NICKEL["shear"], ex.NICKEL["bulk"],
                          ex.NICKEL["burgers"], steps=80, elements=12)
    lines = [f"Cu from EAM (Hill): mu = {cu.shear:.0f} MPa, K = {cu.bulk:.0f} MPa, b = {cu.burgers * 1e4:.4f} A",
             "rho0 = 1 um^-2 (1e12 m^-2), M = 3.06, rbar = 1.90; data approximate (+-20 %)",
             f"torsion fit on 170 um: alpha = {tor.alpha:.3f}, k1 = {tor.k1:.1f} /um, k2 = {tor.k2:.2f}",
             f"bending fit on 50 um:  alpha = {ben.alpha:.3f}, k1 = {ben.k1:.1f} /um, k2 = {ben.k2:.2f}",
             "size  test     mean |model/exp - 1|  model/exp at the largest strain"]
    for name, res, data in (("torsion", tor, ex.TORSION_Q_A3), ("bending", ben, ex.BENDING_M_WH2)):
        for s in res.sizes:
            lines.append(f"{s:6.1f} {name:8s} {res.error[s]:8.3f}            {res.model[s][-1] / data[s][-1]:.3f}"
                         + ("   (fitted)" if s == max(data) else ""))
    text = "\n".join(lines)
    print(text)
    with open(os.path.join(out_dir, "summary.txt"), "w") as f:
        f.write(text + "\n")
    plot(tor, ben, os.path.join(out_dir, "size_effect.png"))
    return {"torsion": tor, "bending": ben}


def plot(tor, ben, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 2, figsize=(12, 5))
    for axis, res, data, x, xl, yl, title in (
            (ax[0], tor, ex.TORSION_Q_A3, ex.TORSION_STRAIN, "surface shear strain κa", "Q/a³ (MPa)",
             "Cu wire torsion (Fleck et al. 1994), 2a in μm"),
            (ax[1], ben, ex.BENDING_M_WH2, ex.BENDING_STRAIN, "surface strain κh/2", "M/(w h²) (MPa)",
             "Ni foil bending (Stölken & Evans 1998), h in μm")):
        for i, s in enumerate(res.sizes):
            c = f"C{i}"
            axis.plot(x, data[s], "o", color=c, label=f"{s:g} exp. (approx.)")
            axis.plot(x, res.model[s], "-", color=c, label=f"{s:g} model" + (" (fit)" if s == max(data) else ""))
        axis.set_xlabel(xl)
        axis.set_ylabel(yl)
        axis.set_title(title, fontsize=10)
        axis.legend(fontsize=7, ncol=2)
    fig.suptitle("SSD + GND (Taylor, Kocks–Mecking, ρ_G = r̄|∇ε̄ᵖ|/b): fit on the thickest, predict the rest")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else HERE)
