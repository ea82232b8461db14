"""Ghost forces of the energy-blended handshake and the dead-load correction.

Under a homogeneous deformation the exact solution is at rest; any force left on an atom or
node of the coupled model is a *ghost force* (Shenoy et al., JMPS 47 (1999) 611; Badia et al.,
SIAM MMS 7 (2008) 381). With energy blending they vanish for nearest-neighbour interactions
only if the continuum cell weights are consistent with the atoms' pair weights
(:func:`~mscouple.validation.patch_test.consistent_cell_weights`: band edges on atoms and nodes,
``w_c |c| + Σ_b β_b |b ∩ c| = |c|``; 1D, per-atom multipliers), and not for longer-ranged
ones (LJ with 1st + 2nd neighbours: 0.22, 0.096, 0.055, 0.029 of |V'(a)| for bands of 2, 4,
8, 16 elements, h = a, with that weighting; 0.14, 0.055, 0.029, 0.015 with the centroid rule). The dead-load correction measures them once, in the
configuration of interest, and applies their negatives as constant external forces
(Shenoy et al. 1999), so that this configuration is an equilibrium of the corrected model.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["GhostForces", "measure_ghost_forces", "DeadLoadCorrection"]


@dataclass
class GhostForces:
    """atoms [m, k] and nodes [n, k] residual forces; ``relative`` = max |f| / typical bond force."""

    atoms: np.ndarray
    nodes: np.ndarray
    relative: float


def measure_ghost_forces(f_atoms: np.ndarray, f_nodes: np.ndarray, typical_force: float,
                         bdm=None, band_atoms: np.ndarray | None = None) -> GhostForces:
    """Residual forces of a coupled configuration meant to be at equilibrium.

    Without ``bdm`` these are the raw forces. With a :class:`~mscouple.coupling.bdm.BridgingDomain`
    (and the band atoms' indices ``band_atoms`` into ``f_atoms``) the band entries are replaced by
    the constrained residuals ``m a``, ``M a`` with ``a = P M⁻¹ f`` — the forces the constrained
    system actually moves under.
    """
    fa = np.array(f_atoms, dtype=float)
    fn = np.array(f_nodes, dtype=float)
    if bdm is not None:
        ia = slice(None) if band_atoms is None else band_atoms
        aa, an = bdm.constrained_accelerations(fa[ia], fn[bdm.nodes])
        sh = (-1,) + (1,) * (aa.ndim - 1)
        fa[ia] = aa * bdm.m.reshape(sh)
        fn[bdm.nodes] = an * bdm.M.reshape(sh)
    big = max(np.max(np.abs(fa), initial=0.0), np.max(np.abs(fn), initial=0.0))
    return GhostForces(fa, fn, float(big / typical_force))


class DeadLoadCorrection:
    """Constant external forces ``−f_ghost`` on atoms [m, k] and nodes [n, k]."""

    def __init__(self, ghost_atoms: np.ndarray, ghost_nodes: np.ndarray) -> None:
        self.atom_force = -np.array(ghost_atoms, dtype=float)
        self.node_force = -np.array(ghost_nodes, dtype=float)

    def work(self, du_atoms: np.ndarray, du_nodes: np.ndarray) -> float:
        """Work done by the dead loads over displacement increments (for the ledger)."""
        return float(np.sum(self.atom_force * du_atoms) + np.sum(self.node_force * du_nodes))
