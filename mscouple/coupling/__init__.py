"""The handshake between the continuum and atomistic patches (DESIGN.md §4, docs/coupling.md).

Coupling methods only: transfer operators, handshake bands and weights, where the handshake
lies in a case (``geometry``), bridging-domain constraints and dynamics, interface exchange
over intercommunicators and home routing of migrating atoms, damping band, power-matched
thermostat and thermal coupling, Schwarz statics and blended statics, the energy ledger. The 1D reference
models, the validation scenarios and the ghost-force/patch-test tools live in
:mod:`mscouple.validation`.

Imports are lazy (PEP 562): ``import mscouple.coupling.band`` (or ``transfer``,
``exchange``, ``bdm``, ``thermostat``, ``damping``, …: the patch side) never imports
petsc4py, so MD ranks do not initialise PETSc. Only :mod:`.schwarz`, :mod:`.blended_statics` and :mod:`.adapters`
(continuum side) touch PETSc objects, and only when used.
"""
from __future__ import annotations

from .._lazy import lazy_exports

_EXPORTS = {
    "ElastodynamicsSide": "adapters", "HeatConductionSide": "adapters",
    "BoxShellBand": "band", "SlabBand": "band", "continuum_weight": "band", "validate_band": "band",
    "BridgingDomain": "bdm", "ProjectionResult": "bdm",
    "BlendedStatics": "blended_statics",
    "ConstrainedDampingBand": "damping", "DampingBand": "damping", "counter_normal": "damping",
    "stadium_profile": "damping",
    "BridgingDomainCoupler": "dynamics",
    "InterfaceExchange": "exchange",
    "EnergyLedger": "ledger",
    "SchwarzRegions": "schwarz", "SchwarzResult": "schwarz", "SchwarzStatics": "schwarz",
    "cauchy_born_triangular": "schwarz",
    "DampingToHeat": "thermal", "ThermalCoupler": "thermal",
    "PowerMatchedThermostat": "thermostat", "ThermostatStep": "thermostat",
    "TransferOperator": "transfer", "build_transfer": "transfer", "locate_points": "transfer",
    "shape_functions": "transfer",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
