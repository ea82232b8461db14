"""The handshake between the continuum and atomistic patches (DESIGN.md §4, docs/coupling.md).

Transfer operators, handshake bands and weights, bridging-domain constraints, interface
exchange over intercommunicators, the coupled dynamics driver, damping band, power-matched
thermostat, ghost forces and the energy ledger.
"""
from __future__ import annotations

from .adapters import ElastodynamicsSide, HeatConductionSide  # noqa: F401
from .band import BoxShellBand, SlabBand, continuum_weight, validate_band  # noqa: F401
from .bdm import BridgingDomain, ProjectionResult  # noqa: F401
from .damping import ConstrainedDampingBand, DampingBand, counter_normal, stadium_profile  # noqa: F401
from .dynamics import BridgingDomainCoupler  # noqa: F401
from .exchange import InterfaceExchange  # noqa: F401
from .ghost import DeadLoadCorrection, GhostForces, measure_ghost_forces  # noqa: F401
from .ledger import EnergyLedger  # noqa: F401
from .schwarz import SchwarzRegions, SchwarzResult, SchwarzStatics, cauchy_born_triangular  # noqa: F401
from .thermal import DampingToHeat, ThermalCoupler, conductivity_extrapolation, nemd_conductivity  # noqa: F401
from .thermostat import PowerMatchedThermostat, ThermostatStep  # noqa: F401
from .transfer import TransferOperator, build_transfer, locate_points, shape_functions  # noqa: F401
