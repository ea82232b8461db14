"""Elastic constants and Burgers vector of the plasticity model from an atomistic potential.

The shear modulus of the Taylor law and the isotropic elastic moduli come from the
Cauchy–Born constants (C11, C12, C44) of the potential's relaxed cubic lattice
(:func:`mscouple.atomistic.elastic.cauchy_born`), averaged over orientations: a
polycrystal of random cubic grains. Two averages are offered:

    Voigt (uniform strain):  μ_V = (C11 − C12 + 3 C44) / 5
    Reuss (uniform stress):  μ_R = 5 (C11 − C12) C44 / (4 C44 + 3 (C11 − C12))
    Hill:                    μ_H = (μ_V + μ_R) / 2;       K = (C11 + 2 C12) / 3 (all three)

(Hill, Proc. Phys. Soc. A 65 (1952) 349). The default is **Hill**, the usual estimate of
a random polycrystal's shear modulus. The Burgers vector of a perfect fcc dislocation is
the nearest-neighbour distance, b = a₀/√2, with a₀ the zero-stress lattice constant of the
same potential (bcc: a₀√3/2).

Units: the potential's (metal: eV/Å³ and Å); :func:`to_mpa_um` converts to MPa and μm.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from mscouple.errors import ConfigError

#: eV/Å³ in MPa
EV_PER_A3_IN_MPA = 1.602176634e-19 / 1e-30 / 1e6
#: Å in μm
ANGSTROM_IN_UM = 1e-4

_BURGERS = {"fcc": 1 / math.sqrt(2.0), "bcc": math.sqrt(3.0) / 2, "sc": 1.0}


def isotropic_average(c11: float, c12: float, c44: float, average: str = "hill") -> tuple[float, float]:
    """(bulk K, shear μ) of a random polycrystal of cubic grains: ``average`` = voigt/reuss/hill."""
    K = (c11 + 2 * c12) / 3
    mu_v = (c11 - c12 + 3 * c44) / 5
    mu_r = 5 * (c11 - c12) * c44 / (4 * c44 + 3 * (c11 - c12))
    table = {"voigt": mu_v, "reuss": mu_r, "hill": 0.5 * (mu_v + mu_r)}
    if average not in table:
        raise ConfigError(f"shear-modulus average {average!r}: expected one of {sorted(table)}")
    return K, table[average]


@dataclass(frozen=True)
class AtomisticParameters:
    """K, μ (stress), b, a₀ (length) of a lattice and potential, in the potential's units."""

    bulk: float
    shear: float
    burgers: float
    a0: float
    c11: float
    c12: float
    c44: float
    average: str

    def to_mpa_um(self) -> "AtomisticParameters":
        """The same constants in MPa and μm (from eV/Å³ and Å)."""
        s, L = EV_PER_A3_IN_MPA, ANGSTROM_IN_UM
        return AtomisticParameters(self.bulk * s, self.shear * s, self.burgers * L, self.a0 * L,
                                   self.c11 * s, self.c12 * s, self.c44 * s, self.average)


def from_potential(potential, kind: str, a_guess: float, mass: float = 1.0, element: int = 0,
                   average: str = "hill") -> AtomisticParameters:
    """K, μ and b of the *kind* lattice of *potential* relaxed near ``a_guess`` (potential units)."""
    from mscouple.atomistic.elastic import cauchy_born

    if kind not in _BURGERS:
        raise ConfigError(f"lattice kind {kind!r}: plasticity parameters need a cubic lattice (fcc, bcc, sc)")
    cb = cauchy_born(potential, kind, a_guess, mass, element)
    c11, c12, c44 = cb.c11, cb.c12, cb.c44
    if not (c11 > abs(c12) and c44 > 0):
        raise ConfigError(f"Cauchy–Born constants C11={c11:g}, C12={c12:g}, C44={c44:g} are not stable")
    K, mu = isotropic_average(c11, c12, c44, average)
    return AtomisticParameters(K, mu, _BURGERS[kind] * cb.a0, cb.a0, c11, c12, c44, average)


def copper_parameters(eam_file: str, average: str = "hill") -> AtomisticParameters:
    """K, μ, b of fcc Cu from an EAM setfl file (e.g. ``tests/data/Cu_zhou04.eam.alloy``), in MPa and μm."""
    from mscouple.atomistic.eam import EAM

    pot = EAM.from_file(eam_file)
    return from_potential(pot, "fcc", 3.615, 63.546, 0, average).to_mpa_um()

