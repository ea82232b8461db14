"""Where the handshake lies in a case: the band of a patch, its atoms-only core, the
directions in which a patch faces the continuum. Pure NumPy (no PETSc, no MPI), so the
pre-flight check, the run layer and the validation scenarios share one definition.

Geometry of one patch: the patch region R = [lo, hi] holds the atoms; the handshake band
is the outer shell of R of thickness ``handshake.width``; the continuum weight w(X) is 0 in
the atoms-only core [lo + width, hi − width] and ramps to 1 at the region boundary
(:class:`~mscouple.coupling.band.BoxShellBand`). Lengths in the case's length unit.
"""
from __future__ import annotations

import numpy as np

from .band import BoxShellBand

__all__ = ["handshake_band", "free_dirs", "thermal_core", "in_core"]


def handshake_band(case, name: str) -> BoxShellBand:
    """The band of patch *name*: shell of width ``handshake.width`` inside its region."""
    p = case.patch(name)
    W = case.handshake.width
    dim = case.continuum.dim
    lo = tuple(p.region.lo[k] + W for k in range(dim))
    hi = tuple(p.region.hi[k] - W for k in range(dim))
    return BoxShellBand(lo, hi, W)


def free_dirs(case, name: str) -> list[bool]:
    """Per continuum direction: is the patch free (non-periodic) there. A patch is periodic
    along the directions the continuum does not have, unless its ``periodic`` says otherwise."""
    p = case.patch(name)
    dim = case.continuum.dim
    per = [bool(f) for f in p.periodic] if p.periodic else [k >= dim for k in range(3)]
    return [not per[k] for k in range(dim)]


def thermal_core(case, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Core box [lo + width, hi − width] along the patch's free directions (±inf elsewhere)."""
    p = case.patch(name)
    W = case.handshake.width
    free = free_dirs(case, name)
    lo = np.array([p.region.lo[k] + W if free[k] else -np.inf for k in range(len(free))])
    hi = np.array([p.region.hi[k] - W if free[k] else np.inf for k in range(len(free))])
    return lo, hi


def in_core(X: np.ndarray, lo: np.ndarray, hi: np.ndarray, tol: float) -> np.ndarray:
    """Points strictly inside the core (by more than ``tol``): [m] bool."""
    X = np.asarray(X, float).reshape(len(X), -1)[:, :lo.size]
    return np.all((X > lo + tol) & (X < hi - tol), axis=1)
