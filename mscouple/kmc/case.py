"""The ``[kmc]`` section of a cascade → KMC case file (TOML), validated once at the edge.

Units: Å, s, eV, K. The one key of the hand-off is ``initial_defects`` (a defect-list file
written by the cascade, relative to the case file); ``handoff = "peak"`` must be set to
start from a peak-damage file (refused otherwise).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from ..schema import nonnegative, opt, positive
from .engine import KMCParams


def _optional_energy(x) -> bool:
    return x >= 0


@dataclass(frozen=True, kw_only=True)
class KMCSection:
    initial_defects: str = opt("str", help="defect-list file written by the cascade (relative to the case file)")
    handoff: str = opt("str", "relaxed", choices=("relaxed", "peak"),
                       help="which MD state the file must hold; 'peak' only on purpose")
    temperature: float = opt("float", expect="a temperature > 0 K", check=positive)
    t_end: float = opt("float", expect="a time > 0 s", check=positive)
    t_start: float = opt("float", 1e-12, expect="a time > 0 s (first output)", check=positive)
    outputs_per_decade: int = opt("int", 5, expect="an integer >= 1", check=lambda n: n >= 1)
    nu: float = opt("float", 1e13, expect="an attempt frequency > 0 (1/s)", check=positive)
    em_vacancy: float = opt("float", None, expect="an energy >= 0 eV (absent: computed by NEB)",
                            check=_optional_energy)
    em_interstitial: float = opt("float", None, expect="an energy >= 0 eV (absent: computed by NEB)",
                                 check=nonnegative)
    em_clusters: dict = opt("table_int", {}, help="migration energies of mobile clusters, e.g. {V2 = 0.45}")
    sia_glide: int = opt("int", 0, expect="0 (no 1D glide) or a cluster size >= 2",
                         check=lambda n: n == 0 or n >= 2,
                         help="SIA clusters of this size and larger glide 1D along <110> (mobile ones: em_clusters)")
    eb_trivacancy: float = opt("float", None, expect="an energy >= 0 eV (absent: computed by relaxation)",
                               check=nonnegative,
                               help="binding of a vacancy to a divacancy (replaces the capillary law at n = 3)")
    vacancy_emission: bool = opt("bool", True, help="vacancy clusters emit with NEB-computed binding")
    capture_radius: float = opt("float", 0.6, expect="a multiple of a > 0", check=positive)
    surfaces: tuple = opt("strs", (), expect="a list of directions among 'x', 'y', 'z'",
                          check=lambda s: set(s) <= {"x", "y", "z"})
    box_scale: int = opt("int", 1, expect="an integer >= 1 (KMC box edge / MD block edge)",
                         check=lambda n: n >= 1)
    seed: int = opt("int", 1, expect="an integer >= 0", check=lambda n: n >= 0)
    max_events: int = opt("int", 100_000_000, expect="an integer >= 1", check=lambda n: n >= 1)

    def params(self, a: float, em_vacancy: float, ef_vacancy=None, eb_divacancy=None,
               em_interstitial=None, eb_trivacancy=None) -> KMCParams:
        """The engine's parameters (migration/binding energies from the engine's NEB when
        not given in the file)."""
        em = self.em_vacancy if self.em_vacancy is not None else em_vacancy
        emi = self.em_interstitial if self.em_interstitial is not None else em_interstitial
        emit = self.vacancy_emission and ef_vacancy is not None
        eb3 = self.eb_trivacancy if self.eb_trivacancy is not None else eb_trivacancy
        return KMCParams(a=a, temperature=self.temperature, em_vacancy=em,
                         em_interstitial=emi, nu=self.nu,
                         em_clusters={k: float(v) for k, v in self.em_clusters.items()},
                         ef_vacancy=ef_vacancy if emit else None,
                         eb_divacancy=eb_divacancy if emit else None,
                         r_vacancy=self.capture_radius * a, r_interstitial=self.capture_radius * a,
                         sia_glide=self.sia_glide,
                         eb_vacancy_clusters={3: float(eb3)} if (emit and eb3 is not None) else {})

    def output_times(self, t0: float = 0.0) -> list:
        """Log-spaced output times [s] from t_start to t_end."""
        n = max(1, int(math.ceil(self.outputs_per_decade * math.log10(self.t_end / self.t_start))))
        return [self.t_start * (self.t_end / self.t_start) ** (i / n) for i in range(n + 1)]
