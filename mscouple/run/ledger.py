"""The run's energy ledger: the one place where the conserved total is defined.

Every model and coupler declares its columns as :class:`Term` objects, saying what each one
*is* rather than relying on its name:

``state``     an energy the model holds now (kinetic, potential, strain, thermal). Enters
              ``E_total`` when ``conserved`` (all of them, unless a model says otherwise).
``flux``      energy accumulated across a boundary of the modelled system since step 0
              (removed by a damping band, injected by a reservoir). Enters ``E_total`` with
              its ``sign`` when ``conserved``: energy that left the model (``sign = +1``)
              is added back, energy that entered (``sign = -1``) is subtracted, so that
              ``E_total`` is constant to the integrators' accuracy.
``exchanged`` energy handed *between* the scales (constraint work, thermostat work, heat
              handed over). Never in ``E_total`` (it is inside the state terms already);
              its magnitude is the scale against which the drift is judged.
``info``      any other number worth a column (temperatures, residuals, iteration counts).

Drift is reported relative to the *exchanged energy* — the energy the run moves around
(the wave packet above the rest state, the heat handed over) — not to ``E_total``, which
in an atomistic patch is dominated by the cohesive energy (a 1.6e-4 error against the
wave's energy reads as 6e-8 against E_total).

Energies are in the case's energy unit (ε for ``units = "lj"``, eV for ``"metal"``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Literal

__all__ = ["Term", "state", "flux", "exchanged", "info", "combine", "EnergyScale"]

Kind = Literal["state", "flux", "exchanged", "info"]


@dataclass(frozen=True)
class Term:
    """One ledger column: its ``name``, ``value`` and what it is (see the module docstring).

    ``rest`` (state terms): the term's value in the rest state of the model (for an
    atomistic patch the cohesive energy of its reference lattice); the energy above rest is
    what a wave or a heat pulse carries.
    """

    name: str
    value: float
    kind: Kind = "state"
    conserved: bool = True
    sign: float = 1.0
    rest: float = 0.0


def state(name: str, value: float, rest: float = 0.0) -> Term:
    return Term(name, float(value), "state", True, 1.0, float(rest))


def flux(name: str, value: float, *, sign: float = 1.0, conserved: bool = True) -> Term:
    return Term(name, float(value), "flux", conserved, float(sign))


def exchanged(name: str, value: float) -> Term:
    return Term(name, float(value), "exchanged", False)


def info(name: str, value: float) -> Term:
    return Term(name, float(value), "info", False)


def combine(terms: Iterable[Term]) -> dict[str, float]:
    """The row of the series: every term's value plus ``E_total`` (the conserved total) and
    ``E_excess`` (state energy above rest, used for the drift scale). A name declared twice
    is an error in the model or coupler that declared it."""
    row: dict[str, float] = {}
    total = excess = 0.0
    seen: set[str] = set()
    for t in terms:
        if t.name in seen:
            raise ValueError(f"ledger column {t.name!r} declared twice")
        seen.add(t.name)
        row[t.name] = t.value
        if t.kind == "state" and t.conserved:
            total += t.value
            excess += t.value - t.rest
        elif t.kind == "flux" and t.conserved:
            total += t.sign * t.value
    row["E_total"] = total
    row["E_excess"] = excess
    return row


class EnergyScale:
    """The exchanged energy of a run: the largest of the initial energy above rest and the
    magnitudes of the flux/exchanged terms seen so far (heat handed over, thermostat work).
    ``drift = (E_total − E_total(0)) / scale``."""

    def __init__(self) -> None:
        self.value = 0.0

    def update(self, terms: Iterable[Term], row: dict[str, float], first: bool) -> None:
        if first:
            self.value = max(self.value, abs(row.get("E_excess", 0.0)))
        for t in terms:
            if t.kind in ("flux", "exchanged"):
                self.value = max(self.value, abs(t.value))
