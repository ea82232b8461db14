"""The 1D wave scenario on the real engines: ``MDSystem`` (Cython kernels) for the chain and
``ExplicitElastodynamics`` (PETSc) for the bars, coupled by ``BridgingDomainCoupler``.

Same chain and bands as the NumPy reference (:func:`.wave1d.chain_bands`). The continuum is
one 1D mesh spanning the whole chain; its cells carry the continuum weight w (zero in the
atomistic interior, where its nodes have no mass and are not integrated). The chain is a
line of atoms along x in a 3D box (free in x, periodic in y, z), with nearest-neighbour
harmonic springs (k = 1, r0 = a = 1); atoms carry masses (1−w) m and energy weights 1−w.
LJ units.

:func:`make_continuum` is collective on the continuum comm, :func:`make_patch` on the patch
comm, so the two halves run on their own ranks (tests/coupling/test_bdm_thermal_layout.py);
:func:`build_engines` puts both on one rank.
"""
from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from .wave1d import chain_bands

__all__ = ["MDChain", "make_continuum", "make_patch", "build_engines"]


class MDChain:
    """Present an ``MDSystem`` chain with the reference chain's ``x0``/``u``/``v``/``mass`` views
    ([n, 1] along x), so that :func:`.wave1d.launch`-style measurements run on it."""

    def __init__(self, md) -> None:
        self.md = md
        self.x0 = md.x0[:, :1]
        self.k = 1.0

    @property
    def u(self) -> np.ndarray:
        return self.md.displacements()[:, :1]

    @property
    def v(self) -> np.ndarray:
        return self.md.v[:, :1]

    @property
    def mass(self) -> np.ndarray:
        return self.md.mass


def _mesh_extent(n_interior: int, ratio: int, band_elements: int, bar_elements: int):
    h = float(ratio)
    x_atoms, bands, width, (node_lo, node_hi) = chain_bands(n_interior, ratio, band_elements)
    if (x_atoms.size % ratio) != 0:
        raise ConfigError(f"n_interior = {n_interior} gives a chain of {x_atoms.size} atoms, not a multiple of "
                          f"the element ratio {ratio}: choose n_interior so that the mesh nodes fall on the "
                          "band edges")
    return h, width, x_atoms, bands, node_lo - h * bar_elements, node_hi + h * bar_elements


def make_continuum(comm, n_interior: int, ratio: int = 1, band_elements: int = 8, bar_elements: int = 200):
    """The bars: one 1D mesh over the whole chain, continuum weight per cell (collective on ``comm``).
    Returns an :class:`~mscouple.coupling.adapters.ElastodynamicsSide` (E = 1, ρA = 1)."""
    from ..continuum import ElasticMaterial, ExplicitElastodynamics, FunctionSpace, Mesh
    from ..coupling.adapters import ElastodynamicsSide
    from ..coupling.band import continuum_weight

    h, width, _, bands, x_lo, x_hi = _mesh_extent(n_interior, ratio, band_elements, bar_elements)
    mesh = Mesh.box(comm, [int(round((x_hi - x_lo) / h))], [x_lo], [x_hi])
    space = FunctionSpace(mesh, 1)
    wc = continuum_weight(bands, mesh.cell_centroids())
    mat = ElasticMaterial.isotropic(1.0, 0.25, density=1.0)  # 1D: E = 1/S11 = 1, ρA = 1
    return ElastodynamicsSide(ExplicitElastodynamics(space, mat, cell_weight=wc))


def make_patch(comm, n_interior: int, ratio: int = 1, band_elements: int = 8, dt: float = 0.1):
    """The chain: ``MDSystem`` on ``comm``; returns ``(md, local band-atom indices)``."""
    from ..atomistic.box import Box
    from ..atomistic.potentials import HarmonicSprings
    from ..atomistic.system import MDSystem
    from ..coupling.band import continuum_weight

    _, width, x_atoms, bands, _, _ = _mesh_extent(n_interior, ratio, band_elements, 1)
    na = x_atoms.size
    x = np.zeros((na, 3))
    x[:, 0] = x_atoms
    box = Box(np.array([-0.5 - width - 1.0, -5.0, -5.0]), np.array([na + width + 1.0, 5.0, 5.0]),
              (False, True, True))
    md = MDSystem(comm, box, x, HarmonicSprings(k=1.0, r0=1.0, cutoff=1.5), masses=1.0, units="lj",
                  dt=dt, skin=0.3, sort_every=0)
    w = continuum_weight(bands, md.x0[:, :1])
    md.energy_weight[:] = 1.0 - w
    md.mass[:] = 1.0 - w
    md.invalidate_neighbors()
    md.compute_forces()
    return md, np.flatnonzero(w > 0)


def build_engines(n_interior: int, ratio: int = 1, band_elements: int = 8, bar_elements: int = 200,
                  multipliers: str = "atoms", dt: float = 0.1, comm=None):
    """Both models on this rank (``comm`` defaults to ``MPI.COMM_SELF``):
    ``(md, fe_side, coupler, interior, band_atoms)``."""
    from ..coupling.dynamics import BridgingDomainCoupler
    from ..coupling.exchange import InterfaceExchange

    if comm is None:
        from mpi4py import MPI

        comm = MPI.COMM_SELF
    fe = make_continuum(comm, n_interior, ratio, band_elements, bar_elements)
    md, band = make_patch(comm, n_interior, ratio, band_elements, dt)
    ex = InterfaceExchange.local(md.ids[band], md.x0[band, :1], fe.nodes, fe.cells, "P1")
    cp = BridgingDomainCoupler(ex, patch=md, continuum=fe, band_atoms=band, components=1,
                               multipliers=multipliers)
    w_int = np.ones(md.nlocal, bool)
    w_int[band] = False
    return md, fe, cp, np.flatnonzero(w_int), band
