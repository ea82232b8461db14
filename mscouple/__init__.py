"""mscouple: concurrent atomistic-to-continuum simulation on MPI.

Continuum finite elements on PETSc, atomistic patches in Cython MD kernels, each on their
own ranks, coupled through a handshake layer that exchanges displacements, forces and
energy fluxes. See ``docs/ARCHITECTURE.md``.
"""
from __future__ import annotations

__version__ = "0.1.0"

from .errors import (  # noqa: F401
    CheckpointError,
    ConfigError,
    ConvergenceError,
    LayoutError,
    MscoupleError,
    SimulationError,
)
from .units import LJ, METAL, UnitSystem, get_units  # noqa: F401
