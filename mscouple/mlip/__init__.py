"""Machine-learned interatomic potentials: a Behler–Parrinello neural-network potential (NNP).

Why Behler–Parrinello. The energy is a sum of atomic energies, E = Σ_i N_{t_i}(G_i), where
each atom's network sees only its symmetry functions G_i — sums over neighbours of functions
of interatomic *distances* and *angles* inside a smooth cutoff (Behler & Parrinello, PRL 98,
146401 (2007); Behler, J. Chem. Phys. 134, 074106 (2011)). Distances and angles do not change
under rotation or translation of the whole system, and a sum over neighbours does not depend
on their order, so the energy is invariant under rotations, translations and permutations of
same-element atoms *by construction* (no data augmentation), and forces = −∇E are exactly
covariant. The same descriptors and a small dense network per element are simple to run in a
compiled kernel on our neighbour lists with ghost atoms, with analytic forces by
back-propagation through the descriptors (``csrc/nnp.pyx``).

Modules (units: metal — eV, Å, eV/Å — throughout):

* :mod:`.descriptors` — the symmetry-function table, a default set, the NumPy reference;
* :mod:`.network` — the per-element feed-forward networks (NumPy; training gradients);
* :mod:`.model` — :class:`NNPModel` and its one-file ``.npz`` format;
* :mod:`.reference` — slow NumPy energy/forces/virial, the check of the compiled kernel;
* :mod:`.data` — reference configurations from our EAM engine; extxyz (ASE) reader;
* :mod:`.train` — energy + force + stress fit (SciPy L-BFGS on analytic NumPy gradients);
* :mod:`.spec` — the training file of ``mscouple train`` (TOML), validated in one-line errors.

The MD plug-in is :class:`mscouple.atomistic.nnp.NNP` (``potential = { kind = "nnp", file = … }``).
"""
from .model import NNPModel, load_model

__all__ = ["NNPModel", "load_model"]
