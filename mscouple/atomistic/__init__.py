"""Atomistic engine: spatially decomposed molecular dynamics on Cython kernels (``csrc/``).

Public API (see each module's docstring for shapes and units):

* :class:`MDSystem` / :class:`AtomisticPatch` (``system``) -- owned atoms, velocity-Verlet
  pieces (``kick``, ``drift``, ``compute_forces``), fused ``run``, observables.
* :class:`Box` (``box``); lattices ``fcc``, ``bcc``, ``sc``, ``triangular``, ``chain`` and
  defect helpers (``lattice``).
* potentials: :class:`LennardJones`, :class:`Morse`, :class:`HarmonicSprings`
  (``potentials``), :class:`EAM` (``eam``).
* thermostats: :class:`Langevin`, :class:`NoseHooverChain`, :class:`VelocityRescale`.
* minimisers: :func:`fire`, :func:`conjugate_gradient` (``minimize``).
* ASE: :func:`from_ase`, :func:`to_ase`, :class:`MDCalculator` (``ase_interface``).
* :class:`Decomposition` (``decomposition``): processor grid, ghosts, migration.
"""
from __future__ import annotations

from .box import Box
from .decomposition import Decomposition, choose_grid
from .eam import EAM
from .lattice import bcc, chain, crack, cubic, cut_region, fcc, remove_atoms, sc, slab, sphere, triangular
from .minimize import conjugate_gradient, fire
from .potentials import ForceContext, HarmonicSprings, LennardJones, Morse, PairPotential
from .system import AtomisticPatch, MDSystem
from .thermostats import Langevin, NoseHooverChain, VelocityRescale

__all__ = [
    "AtomisticPatch", "Box", "Decomposition", "EAM", "ForceContext", "HarmonicSprings",
    "Langevin", "LennardJones", "MDSystem", "Morse", "NoseHooverChain", "PairPotential",
    "VelocityRescale", "bcc", "chain", "choose_grid", "conjugate_gradient", "crack", "cubic",
    "cut_region", "fcc", "fire", "remove_atoms", "sc", "slab", "sphere", "triangular",
]
