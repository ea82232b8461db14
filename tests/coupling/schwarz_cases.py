"""Small Schwarz-statics set-ups shared by the serial and MPI tests (2D triangular lattice,
atomistic patch in the middle of a P1 box mesh)."""
from __future__ import annotations

import numpy as np

from mscouple.atomistic.box import Box
from mscouple.atomistic.lattice import triangular
from mscouple.atomistic.potentials import HarmonicSprings, LennardJones
from mscouple.atomistic.system import MDSystem
from mscouple.continuum import ElasticStatics, FunctionSpace, Mesh
from mscouple.coupling.schwarz import SchwarzRegions, cauchy_born_triangular

EPS = np.array([[0.01, 0.003], [0.003, -0.005]])  # far-field strain (symmetric) ...
ROT = np.array([[0.0, -0.002], [0.002, 0.0]])     # ... plus a small rotation
SHIFT = np.array([0.2, -0.1])                      # rigid translation (σ)


def potential(kind: str):
    if kind == "springs":
        return HarmonicSprings(k=1.0, r0=1.0, cutoff=1.3), 1.0
    pot = LennardJones(cutoff=2.5, mode="cut")
    return pot, None


def typical_bond_force(pot, a: float) -> float:
    """Force of a nearest-neighbour bond stretched by 1 %: a · 0.01 · |φ''(a)|."""
    from mscouple.hmm.cauchy_born import radial_derivatives

    return float(0.01 * a * abs(radial_derivatives(pot).d2(np.array([a]))[0]))


def build(kind: str, comm_c=None, comm_p=None, half: float = 8.0, L: float = 16.0, ncell: int = 16,
          overlap: float = 3.0, vacancy: bool = False, field=None):
    """(regions, statics or None, system or None, a, pot). The far field ``field(X [n,2])``
    is prescribed on the whole outer boundary of the box [-L, L]²."""
    pot, a = potential(kind)
    material, a, _ = cauchy_born_triangular(pot, a)
    pad = pot.cutoff + 0.01
    R = SchwarzRegions([-half, -half], [half, half], pad=pad, overlap=overlap)
    st = s = None
    if comm_p is not None:
        nx = int(2 * half / a) + 4
        x, _ = triangular(a, (nx, int(2 * half / (np.sqrt(3) * a)) + 4))
        x[:, :2] -= x[:, :2].mean(axis=0) + np.array([0.3 * a, 0.2 * a])
        keep = R.patch_distance(x[:, :2]) <= 0
        if vacancy:
            keep &= np.linalg.norm(x[:, :2] - np.array([0.7, 0.4]), axis=1) > 0.9 * a
        x = x[keep]
        box = Box([-half - 1, -half - 1, 0], [half + 1, half + 1, 10], (False, False, True))
        s = MDSystem(comm_p, box, x, pot, dt=0.02 if kind == "springs" else 0.005)
    if comm_c is not None:
        mesh = Mesh.box(comm_c, (ncell, ncell), [-L, -L], [L, L])
        sp = FunctionSpace(mesh, 2)
        st = ElasticStatics(sp, material)
        st.add_dirichlet(["left", "right", "top", "bottom"], field)
    return R, st, s, a, pot


def affine(grad: np.ndarray, shift=(0.0, 0.0)):
    g = np.asarray(grad, float)
    c = np.asarray(shift, float)
    return lambda X: np.asarray(X)[:, :2] @ g.T + c
