"""The wave_1d set-up on the real engines: ``MDSystem`` (Cython kernels) for the chain and
``ExplicitElastodynamics`` (PETSc) for the bars, coupled by ``BridgingDomainCoupler``.

The continuum is one 1D mesh spanning the whole chain; its cells carry the continuum weight
w (zero in the atomistic interior, where its nodes have no mass and are not integrated).
The chain is a line of atoms along x in a 3D box (free in x, periodic in y, z), with
nearest-neighbour harmonic springs; atoms carry masses (1−w) m and energy weights 1−w.

``build_engines(...)`` returns the same :class:`wave1d.Setup` as the NumPy reference, so
``reflection``-style measurements run unchanged on both.
"""
from __future__ import annotations

import numpy as np
from mpi4py import MPI

from mscouple.atomistic.box import Box
from mscouple.atomistic.potentials import HarmonicSprings
from mscouple.atomistic.system import MDSystem
from mscouple.continuum import ElasticMaterial, ExplicitElastodynamics, FunctionSpace, Mesh
from mscouple.coupling.adapters import ElastodynamicsSide
from mscouple.coupling.band import SlabBand, continuum_weight
from mscouple.coupling.dynamics import BridgingDomainCoupler
from mscouple.coupling.exchange import InterfaceExchange


class MDChain:
    """Present an ``MDSystem`` chain with the reference chain's ``x0``/``u`` views for the example."""

    def __init__(self, md: MDSystem) -> None:
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


def _layout(n_interior: int, ratio: int, band_elements: int, bar_elements: int):
    h = float(ratio)
    width = band_elements * h
    na = n_interior + 2 * int(round(width))
    if (na % ratio) != 0:
        raise ValueError("n_interior must keep the chain length a multiple of the element ratio")
    ce_l, ce_r = -0.5, na - 0.5
    bands = [SlabBand(0, ce_l, ce_l + width), SlabBand(0, ce_r, ce_r - width)]
    off = 0.5 if ratio == 1 else 0.0
    return h, width, na, bands, ce_l + off - h * bar_elements, ce_r - off + h * bar_elements


def make_continuum(comm, n_interior: int, ratio: int = 1, band_elements: int = 8, bar_elements: int = 200):
    """The bars: one 1D mesh over the whole chain, continuum weight per cell (collective on ``comm``)."""
    h, width, na, bands, x_lo, x_hi = _layout(n_interior, ratio, band_elements, bar_elements)
    mesh = Mesh.box(comm, [int(round((x_hi - x_lo) / h))], [x_lo], [x_hi])
    space = FunctionSpace(mesh, 1)
    wc = continuum_weight(bands, mesh.cell_centroids())
    mat = ElasticMaterial.isotropic(1.0, 0.25, density=1.0)  # 1D: E = 1/S11 = 1, ρA = 1
    return ElastodynamicsSide(ExplicitElastodynamics(space, mat, cell_weight=wc))


def make_patch(comm, n_interior: int, ratio: int = 1, band_elements: int = 8, dt: float = 0.1):
    """The chain: MDSystem on ``comm``; returns (md, local band-atom indices)."""
    h, width, na, bands, _, _ = _layout(n_interior, ratio, band_elements, 1)
    x = np.zeros((na, 3))
    x[:, 0] = np.arange(na)
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
                  multipliers: str = "atoms", dt: float = 0.1, comm=MPI.COMM_SELF):
    """Both models on this rank: ``(md, fe_side, coupler, interior, band_atoms)``."""
    fe = make_continuum(comm, n_interior, ratio, band_elements, bar_elements)
    md, band = make_patch(comm, n_interior, ratio, band_elements, dt)
    ex = InterfaceExchange.local(md.ids[band], md.x0[band, :1], fe.nodes, fe.cells, "P1")
    cp = BridgingDomainCoupler(ex, patch=md, continuum=fe, band_atoms=band, components=1,
                               multipliers=multipliers)
    w_int = np.ones(md.nlocal, bool)
    w_int[band] = False
    return md, fe, cp, np.flatnonzero(w_int), band
