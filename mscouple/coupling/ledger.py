"""The energy ledger of a coupled run.

State terms are set every output step; flux terms accumulate. The conserved combination
(without external loads) is

    balance = E_mech + E_thermal + (E_damped − E_damped→heat) − W_external − Q_boundary

with ``E_mech = KE_atoms + PE_atoms + KE_continuum + strain`` (atoms with their (1−w) masses
and blended energies, the continuum with its w-weighted density and stiffness). When the
damping band hands its energy to the continuum as heat (``damping_heat``, accumulated by
:class:`~mscouple.coupling.thermal.DampingToHeat`), that energy is already in ``E_thermal``
and only the part not yet handed over (``damping_removed − damping_heat``) is added. The
legacy flag ``damping_to_heat = True`` drops the damping term altogether.

A thermo-mechanical run keeps two ledgers (the bridging-domain coupler's and the thermal
coupler's); :meth:`EnergyLedger.combine` merges them into one whose ``balance`` is the
conserved total of both scales.

The constraint work (kinetic energy changed by the bridging-domain projections) and the
thermostat work (energy the power-matched thermostat injected into the atoms, with the energy
the continuum asked for) are diagnostics: they are *inside* the state terms already.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field, fields

__all__ = ["EnergyLedger"]

_STATE = ("atomic_kinetic", "atomic_potential", "continuum_kinetic", "continuum_strain", "thermal_energy")
_FLUX = ("constraint_work", "damping_removed", "damping_heat", "external_work", "boundary_heat",
         "thermostat_work", "thermostat_requested")


@dataclass
class EnergyLedger:
    """Energies in the case's energy unit. See the module docstring for the balance."""

    atomic_kinetic: float = 0.0
    atomic_potential: float = 0.0
    continuum_kinetic: float = 0.0
    continuum_strain: float = 0.0
    thermal_energy: float = 0.0
    constraint_work: float = 0.0
    damping_removed: float = 0.0
    damping_heat: float = 0.0
    external_work: float = 0.0
    boundary_heat: float = 0.0
    thermostat_work: float = 0.0
    thermostat_requested: float = 0.0
    damping_to_heat: bool = False
    rows: list = field(default_factory=list, repr=False)

    def set_state(self, **terms: float) -> None:
        """Set state terms (``atomic_kinetic=…``); unknown names raise ``TypeError``."""
        for k, v in terms.items():
            if k not in _STATE:
                raise TypeError(f"{k!r} is not a ledger state term; expected one of {_STATE}")
            setattr(self, k, float(v))

    def add(self, **fluxes: float) -> None:
        """Accumulate flux terms (``damping_removed=…``)."""
        for k, v in fluxes.items():
            if k not in _FLUX:
                raise TypeError(f"{k!r} is not a ledger flux term; expected one of {_FLUX}")
            setattr(self, k, getattr(self, k) + float(v))

    @property
    def mechanical(self) -> float:
        return self.atomic_kinetic + self.atomic_potential + self.continuum_kinetic + self.continuum_strain

    @property
    def balance(self) -> float:
        """The conserved total (constant to integrator accuracy in a closed system)."""
        lost = 0.0 if self.damping_to_heat else self.damping_removed - self.damping_heat
        return self.mechanical + self.thermal_energy + lost - self.external_work - self.boundary_heat

    @classmethod
    def combine(cls, mechanical: "EnergyLedger", thermal: "EnergyLedger") -> "EnergyLedger":
        """One ledger for a thermo-mechanical run: mechanical state terms from the
        bridging-domain coupler's ledger, the thermal energy from the thermal coupler's, every
        flux term summed (each is booked by one coupler only)."""
        out = cls()
        for k in _STATE:
            setattr(out, k, getattr(mechanical, k))
        out.thermal_energy = thermal.thermal_energy
        for k in _FLUX:
            setattr(out, k, getattr(mechanical, k) + getattr(thermal, k))
        out.damping_to_heat = mechanical.damping_to_heat
        return out

    def as_dict(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in fields(self) if f.name in _STATE + _FLUX}
        d["mechanical"] = self.mechanical
        d["balance"] = self.balance
        return d

    def record(self, step: int, time: float) -> dict:
        """Append a row (step, time, every term, mechanical, balance) and return it."""
        row = {"step": int(step), "time": float(time), **self.as_dict()}
        self.rows.append(row)
        return row

    def write_csv(self, path: str) -> None:
        if not self.rows:
            return
        with open(path, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(self.rows[0]))
            w.writeheader()
            w.writerows(self.rows)

    def write_hdf5(self, group) -> None:
        """Write the rows as one dataset per column into an open ``h5py`` group."""
        import numpy as np

        if not self.rows:
            return
        for k in self.rows[0]:
            data = np.array([r[k] for r in self.rows])
            if k in group:
                del group[k]
            group.create_dataset(k, data=data)
