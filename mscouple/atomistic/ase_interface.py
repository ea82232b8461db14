"""ASE interoperability: ``Atoms`` in and out, and an ASE calculator backed by the kernels.

ASE works in eV, Angstrom and amu, with its own time unit; an :class:`MDSystem` in
``metal`` units matches except for velocities (Angstrom/ps here). With ``lj`` units the
numbers are passed through unchanged (ASE then simply carries reduced units).
Only orthogonal cells are supported (the MD box is orthogonal).
"""
from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from .box import Box

try:  # ASE is optional (extra "io")
    from ase import Atoms
    from ase import units as _ase_units
    from ase.calculators.calculator import Calculator, all_changes
except ImportError:  # pragma: no cover
    Atoms = None
    Calculator = object
    all_changes = []


def _velocity_factor(units: str) -> float:
    """Multiply an MD velocity by this to get ASE's velocity unit."""
    return _ase_units.Ang / (1000.0 * _ase_units.fs) if units == "metal" else 1.0


def _require_ase():
    if Atoms is None:
        raise ImportError("this needs ASE: pip install ase")


def box_from_atoms(atoms) -> Box:
    cell = np.asarray(atoms.cell.array)
    if np.any(np.abs(cell - np.diag(np.diag(cell))) > 1e-12 * max(1.0, np.abs(cell).max())):
        raise ConfigError("only orthogonal ASE cells can become an MD box: use "
                          "ase.build.make_supercell or an orthogonal orientation")
    L = np.diag(cell).copy()
    pbc = tuple(bool(p) for p in atoms.pbc)
    if np.any(L <= 0):
        pos = atoms.positions
        for d in range(3):
            if L[d] <= 0:
                if pbc[d]:
                    raise ConfigError("a periodic direction needs a positive cell length")
                L[d] = max(pos[:, d].max() - pos[:, d].min(), 1.0) + 10.0
    return Box([0.0, 0.0, 0.0], L, pbc)


def from_ase(comm, atoms, potential, species=None, units: str = "metal", **kwargs):
    """An :class:`MDSystem` on ``comm`` from an ASE ``Atoms`` (same on every rank).

    ``species``: chemical symbols in type order (default: sorted unique symbols).
    Masses come from ``atoms.get_masses()`` (amu) unless ``masses=`` is given.
    """
    from .system import MDSystem

    _require_ase()
    syms = atoms.get_chemical_symbols()
    species = sorted(set(syms)) if species is None else list(species)
    try:
        types = np.array([species.index(s) for s in syms], dtype=np.int32)
    except ValueError as exc:
        raise ConfigError(f"species {species} lacks a symbol of these atoms: {exc}") from None
    kwargs.setdefault("masses", atoms.get_masses() if units == "metal" else 1.0)
    box = box_from_atoms(atoms)
    v = atoms.get_velocities() / _velocity_factor(units)
    return MDSystem(comm, box, atoms.positions, potential, types=types, velocities=v,
                    units=units, **kwargs)


def to_ase(system, species=None):
    """ASE ``Atoms`` (ordered by global id) of a system (collective; same on every rank)."""
    _require_ase()
    x = system.gather("x")
    v = system.gather("v")
    t = system.gather("types")
    m = system.gather("mass")
    if species is None:
        species = ["H", "He", "Li", "Be", "B", "C", "N", "O", "F", "Ne"][:int(t.max()) + 1]
    atoms = Atoms(symbols=[species[i] for i in t], positions=x - system.box.lo,
                  cell=np.diag(system.box.lengths), pbc=system.box.periodic)
    atoms.set_masses(m)
    atoms.set_velocities(v * _velocity_factor(system.units.name))
    return atoms


class MDCalculator(Calculator):
    """ASE calculator evaluating ``potential`` with mscouple's kernels (one rank).

    ``implemented_properties``: energy, free_energy, forces, stress (static, ASE's Voigt
    order xx yy zz yz xz xy, = (1/V) dE/d(strain)), energies (per atom).
    """

    implemented_properties = ["energy", "free_energy", "forces", "stress", "energies"]

    def __init__(self, potential, species=None, skin: float = 0.5, **kwargs):
        _require_ase()
        super().__init__(**kwargs)
        self.potential = potential
        self.species = species
        self.skin = skin

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        from mpi4py import MPI

        super().calculate(atoms, properties, system_changes)
        s = from_ase(MPI.COMM_SELF, self.atoms, self.potential, species=self.species,
                     skin=self.skin, sort_every=0)
        s.compute_forces(energy=True, virial=True, per_atom=True)
        f = np.empty((s.natoms, 3))
        f[s.ids] = s.f
        e_at = np.empty(s.natoms)
        e_at[s.ids] = s.per_atom_energy()
        W = s.virial()
        vol = self.atoms.get_volume() if all(self.atoms.pbc) else s.box.volume
        e = s.potential_energy()
        self.results = {
            "energy": e, "free_energy": e, "forces": f, "energies": e_at,
            "stress": -np.array([W[0], W[1], W[2], W[5], W[4], W[3]]) / vol,
        }
