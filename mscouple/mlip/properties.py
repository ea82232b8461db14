"""Material properties of fcc crystals computed by our MD engine for *any* potential object
(EAM, NNP, pairs), so a learned model and its reference are measured the same way.

Units: lattice constant Å, energies eV, elastic constants GPa, surface energies J/m².
Elastic constants are strain derivatives of the virial at the zero-stress lattice constant:
V0 C_abcd = ∂²E/∂ε_ab∂ε_cd = −∂W_ab/∂ε_cd (W = Σ x ⊗ f, central differences). The box is
orthogonal, so C44 comes from the [110]/[−110]/[001] cell, where C'11 − C'12 = 2 C44 (cubic
symmetry). fcc is a Bravais lattice: homogeneous strain needs no internal relaxation.
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import brentq

from ..atomistic.box import Box
from ..atomistic.lattice import fcc

EV_A3_GPA = 160.21766208  # eV/Å³ in GPa
EV_A2_JM2 = 16.021766208  # eV/Å² in J/m²
O110 = ((1, 1, 0), (-1, 1, 0), (0, 0, 1))
O111 = ((1, -1, 0), (1, 1, -2), (1, 1, 1))


def _system(pot, x, box, mass=63.546):
    from mpi4py import MPI

    from ..atomistic.system import MDSystem

    return MDSystem(MPI.COMM_SELF, box, x, pot, masses=mass, units="metal", dt=0.002, skin=0.3,
                    sort_every=0)


def energy_virial(pot, x, box):
    """(E eV, W [6] eV) of atoms x in box."""
    s = _system(pot, x, box)
    s.compute_forces()
    return s.potential_energy(), s.virial()


def lattice_constant(pot, guess: float = 3.615, reps=(2, 2, 2)) -> float:
    """Zero-pressure fcc lattice constant (trace of the virial = 0), brentq to 1e-10 Å."""
    def p(a):
        x, box = fcc(a, reps)
        return float(np.sum(energy_virial(pot, x, box)[1][:3]))

    lo, hi = 0.97 * guess, 1.03 * guess
    return float(brentq(p, lo, hi, xtol=1e-10))


def cohesive_energy(pot, a: float) -> float:
    """Energy per atom (eV) of the perfect fcc crystal at lattice constant a."""
    x, box = fcc(a, (2, 2, 2))
    return energy_virial(pot, x, box)[0] / len(x)


def elastic_constants(pot, a: float, h: float = 1e-4) -> dict:
    """{'C11', 'C12', 'C44'} in GPa at lattice constant a (see the module doc)."""
    out = {}
    for orient, reps, names in ((None, (2, 2, 2), ("C11", "C12")), (O110, (3, 3, 2), ("C11p", "C12p"))):
        x, box = fcc(a, reps, orient=orient)
        V = box.volume
        Ws = []
        for sgn in (1.0, -1.0):
            F = np.array([1.0 + sgn * h, 1.0, 1.0])
            Ws.append(energy_virial(pot, x * F, Box(box.lo * F, box.hi * F))[1])
        dW = (Ws[0] - Ws[1]) / (2 * h)
        out[names[0]] = -dW[0] / V * EV_A3_GPA
        out[names[1]] = -dW[1] / V * EV_A3_GPA
    out["C44"] = 0.5 * (out.pop("C11p") - out.pop("C12p"))
    return out


def _relaxed_energy(pot, x, box, fmax: float) -> float:
    from ..atomistic.minimize import fire

    s = _system(pot, x, box)
    fire(s, fmax=fmax, max_steps=20000)
    return s.potential_energy()


def vacancy_formation(pot, a: float, reps=(3, 3, 3), fmax: float = 1e-3) -> float:
    """E_f = E(N−1, relaxed at fixed box) − (N−1)/N E(N) in eV."""
    x, box = fcc(a, reps)
    E0 = energy_virial(pot, x, box)[0]
    xv = np.delete(x, len(x) // 2, axis=0)
    return _relaxed_energy(pot, xv, box, fmax) - (len(x) - 1) / len(x) * E0


def surface_energy(pot, a: float, plane: str = "100", layers_reps: int = 4,
                   fmax: float = 1e-3) -> float:
    """γ = (E_slab, relaxed − N e_coh) / (2 A) in J/m² for a (100) or (111) slab, free in z."""
    orient, reps = {"100": (None, (2, 2, layers_reps)), "111": (O111, (2, 1, layers_reps))}[plane]
    x, box = fcc(a, reps, orient=orient)
    ecoh = cohesive_energy(pot, a)
    sbox = Box(box.lo - [0, 0, 10.0], box.hi + [0, 0, 10.0], (True, True, False))
    E = _relaxed_energy(pot, x, sbox, fmax)
    A = box.lengths[0] * box.lengths[1]
    return (E - len(x) * ecoh) / (2 * A) * EV_A2_JM2


def fcc_report(pot, guess: float = 3.615) -> dict:
    """Every property above for one potential (a dict of floats)."""
    a0 = lattice_constant(pot, guess)
    out = {"a0": a0, "Ecoh": cohesive_energy(pot, a0)}
    out.update(elastic_constants(pot, a0))
    out["Evac"] = vacancy_formation(pot, a0)
    out["gamma100"] = surface_energy(pot, a0, "100")
    out["gamma111"] = surface_energy(pot, a0, "111")
    return out


def cauchy_born_engine(pot, kind: str, a: float, mass: float):
    """:class:`~mscouple.atomistic.elastic.CauchyBornConstants` of an fcc lattice from our
    engine (zero-pressure a0 near *a*, C in eV/Å³ from virial strain derivatives) — for
    potentials without lattice sums (the NNP). ConfigError for other lattices."""
    from ..atomistic.elastic import CauchyBornConstants
    from ..errors import ConfigError

    if kind != "fcc":
        raise ConfigError(f"lattice {kind!r}: Cauchy–Born constants of this potential are computed for fcc only")
    try:
        a0 = lattice_constant(pot, a)
    except ValueError:
        raise ConfigError(f"no zero-pressure fcc lattice constant within 3 % of {a:g} Å") from None
    c = elastic_constants(pot, a0)
    C = np.zeros((6, 6))
    C[:3, :3] = c["C12"]
    C[range(3), range(3)] = c["C11"]
    C[3, 3] = C[4, 4] = C[5, 5] = c["C44"]
    x, box = fcc(a0, (2, 2, 2))
    W = energy_virial(pot, x, box)[1]
    return CauchyBornConstants(kind, a0, C / EV_A3_GPA, float(mass) / (a0 ** 3 / 4),
                               float(np.max(np.abs(W)) / box.volume))
