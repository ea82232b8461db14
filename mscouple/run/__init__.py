"""The run layer: checked case → models + couplers + writers → :class:`Simulation`.

``mscouple.run.models`` (one role each), ``mscouple.run.couplers`` (one contract, two
halves), ``mscouple.run.ledger`` (the conserved total), ``mscouple.run.build`` (the table
that composes them), ``mscouple.run.simulation`` (the facade and its step order).
Imports are lazy: importing this package imports neither PETSc nor the MD kernels.
"""
from __future__ import annotations

__all__ = ["Simulation", "build_simulation"]


def __getattr__(name: str):
    if name in __all__:
        from . import simulation

        return getattr(simulation, name)
    raise AttributeError(f"module 'mscouple.run' has no attribute {name!r}")
