"""Write ``Cu_zhou04.eam.alloy``: the analytic EAM of Zhou, Johnson and Wadley for Cu,
tabulated in LAMMPS setfl format.

Reference: X. W. Zhou, R. A. Johnson, H. N. G. Wadley, "Misfit-energy-increasing
dislocations in vapor-deposited CoFe/NiFe multilayers", Phys. Rev. B 69, 144113 (2004),
Eqs. (1)-(5) and Table III (Cu row); the same functional form as Zhou et al., Acta Mater.
49, 4005 (2001). Energies in eV, distances in Å, mass in g/mol (LAMMPS ``metal`` units)::

    phi(r) = A e^{-alpha (r/re - 1)} / (1 + (r/re - kappa)^20)
           - B e^{-beta (r/re - 1)} / (1 + (r/re - lambda)^20)
    f(r)   = fe e^{-beta (r/re - 1)} / (1 + (r/re - lambda)^20)
    F(rho) = sum_i Fn_i (rho/rho_n - 1)^i          rho <  rho_n = 0.85 rho_e
           = sum_i F_i  (rho/rho_e - 1)^i          rho_n <= rho < rho_o = 1.15 rho_e
           = Fe (1 - ln (rho/rho_s)^eta) (rho/rho_s)^eta   rho >= rho_o

The grid (Nr, dr, Nrho, drho) is coarser than LAMMPS' ``Cu_zhou.eam.alloy`` so the file
stays small; the cutoff is the same (9.0375 Å). Run ``python make_cu_zhou_setfl.py`` in
this folder to regenerate it.
"""
from __future__ import annotations

import os

import numpy as np

CU = dict(re=2.556162, fe=1.554485, rhoe=21.175871, rhos=21.175395, alpha=8.127620, beta=4.334731,
          A=0.396620, B=0.548085, kappa=0.308782, lam=0.756515,
          Fn=(-2.170269, -0.263788, 1.088878, -0.817603), F=(-2.19, 0.0, 0.561830, -2.100595),
          eta=0.310490, Fe=-2.186568)
MASS, A0, LATTICE = 63.546, 3.615, "fcc"
CUTOFF = 9.0375
NR, NRHO = 1808, 1800


def pair(r, p=CU):
    x = r / p["re"]
    return (p["A"] * np.exp(-p["alpha"] * (x - 1)) / (1 + (x - p["kappa"]) ** 20)
            - p["B"] * np.exp(-p["beta"] * (x - 1)) / (1 + (x - p["lam"]) ** 20))


def density(r, p=CU):
    x = r / p["re"]
    return p["fe"] * np.exp(-p["beta"] * (x - 1)) / (1 + (x - p["lam"]) ** 20)


def embedding(rho, p=CU):
    rho = np.asarray(rho, float)
    rn, ro = 0.85 * p["rhoe"], 1.15 * p["rhoe"]
    low = sum(c * (rho / rn - 1) ** i for i, c in enumerate(p["Fn"]))
    mid = sum(c * (rho / p["rhoe"] - 1) ** i for i, c in enumerate(p["F"]))
    s = np.maximum(rho, 1e-300) / p["rhos"]
    high = p["Fe"] * (1 - p["eta"] * np.log(s)) * s ** p["eta"]
    return np.where(rho < rn, low, np.where(rho < ro, mid, high))


def write(path: str) -> None:
    dr = CUTOFF / (NR - 1)
    rhomax = 2.0 * 12 * density(np.array(0.85 * CU["re"]))  # well above any compressed fcc density
    drho = float(rhomax) / (NRHO - 1)
    r = np.arange(NR) * dr
    rho = np.arange(NRHO) * drho

    def block(a):
        return "\n".join(" ".join(f"{v:.14e}" for v in a[k:k + 5]) for k in range(0, len(a), 5)) + "\n"

    with open(path, "w") as fh:
        fh.write("Cu, analytic EAM of Zhou, Johnson, Wadley, PRB 69, 144113 (2004); UNITS: metal\n")
        fh.write("tabulated by mscouple tests/data/make_cu_zhou_setfl.py\n\n")
        fh.write("1 Cu\n")
        fh.write(f"{NRHO} {drho:.16e} {NR} {dr:.16e} {CUTOFF:.16e}\n")
        fh.write(f"29 {MASS} {A0} {LATTICE}\n")
        fh.write(block(embedding(rho)))
        fh.write(block(density(r)))
        fh.write(block(r * pair(r)))


if __name__ == "__main__":
    write(os.path.join(os.path.dirname(os.path.abspath(__file__)), "Cu_zhou04.eam.alloy"))
