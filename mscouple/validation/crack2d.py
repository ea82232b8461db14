"""Mode-I crack tip in a 2D triangular Lennard-Jones crystal: alternating-Schwarz statics
(atomistic patch at the tip inside a graded P1 plate with Cauchy–Born constants) against a
fully atomistic run of the same domain (LJ units, lengths in σ).

Geometry (tip at the origin, crack along −x in the plane y = 0 midway between two atom
rows): the crack is a slit — atoms above (type 1) and below (type 2) the plane behind the
tip do not interact with each other (ε₁₂ = 0); everything else is LJ 2.5σ with a smoothed
(shifted-force) cutoff. The continuum plate has the same slit (duplicated nodes). Both
models get the isotropic plane K-field (Cauchy–Born μ, ν) on their outer boundary: the
continuum on its boundary nodes (except the two nodes of the crack mouth), the atoms on a
boundary layer of width ``pad`` (the full atomistic run).

:func:`run` is what ``examples/crack_2d`` (full size, figure) and
``tests/coupling/test_schwarz_crack.py`` (small) run. One rank (``MPI.COMM_SELF``).
"""
from __future__ import annotations

import time

import numpy as np
from mpi4py import MPI

from ..atomistic.box import Box
from ..atomistic.lattice import triangular
from ..atomistic.minimize import fire
from ..atomistic.potentials import LennardJones
from ..atomistic.system import MDSystem
from ..continuum import meshgen

__all__ = ["RC", "potential", "kfield", "crystal", "graded_axis", "slit_mesh", "full_atomistic", "coupled",
           "tip_opening", "run"]

RC = 2.5


def potential() -> LennardJones:
    eps = np.ones((3, 3))
    eps[1, 2] = eps[2, 1] = 0.0  # no bonds across the crack faces
    return LennardJones(epsilon=eps, sigma=1.0, cutoff=RC, mode="smooth", ntypes=3)


def kfield(X: np.ndarray, K: float, mu: float, nu: float) -> np.ndarray:
    """Plane-strain mode-I displacements [n, 2] at X [n, ≥2] (tip at 0, crack along −x);
    Anderson, *Fracture Mechanics*, Table 2.2."""
    r = np.hypot(X[:, 0], X[:, 1])
    th = np.arctan2(X[:, 1], X[:, 0])
    kappa = 3.0 - 4.0 * nu
    f = K / (2.0 * mu) * np.sqrt(r / (2.0 * np.pi))
    ux = f * np.cos(th / 2) * (kappa - 1 + 2 * np.sin(th / 2) ** 2)
    uy = f * np.sin(th / 2) * (kappa + 1 - 2 * np.cos(th / 2) ** 2)
    return np.column_stack([ux, uy])


def crystal(nx: int, ny: int, a: float):
    """Atoms [N,3] of an nx × ny (rectangular 2-atom cells) triangular crystal, shifted so the
    tip is at the origin, their types and the domain box (lo, hi) in x, y."""
    x, _ = triangular(a, (nx, ny))
    h = np.sqrt(3.0) * a
    tip = np.array([(nx // 2 + 0.25) * a, (ny - 0.5) * h / 2])
    x[:, :2] -= tip
    types = np.zeros(len(x), dtype=np.int32)
    behind = x[:, 0] < 0
    types[behind & (x[:, 1] > 0)] = 1
    types[behind & (x[:, 1] < 0)] = 2
    lo = x[:, :2].min(axis=0)
    hi = x[:, :2].max(axis=0)
    return x, types, lo, hi


def graded_axis(lo: float, hi: float, half: float, h: float, growth: float) -> np.ndarray:
    """Nodes on [lo, hi]: spacing h on [−half, half] (an even number of cells, 0 a node), then
    growing by ``growth`` per cell outwards, the last cell stretched to end at lo / hi."""
    n = int(np.ceil(half / h))
    fine = h * np.arange(-n, n + 1)

    def outward(start: float, end: float) -> list:
        pts, s, d = [], start, h
        while True:
            d *= growth
            if s + d >= end - 0.4 * d:
                pts.append(end)
                return pts
            s += d
            pts.append(s)

    right = outward(fine[-1], hi)
    left = [-p for p in outward(-fine[0], -lo)]
    return np.concatenate([left[::-1], fine, right])


def slit_mesh(comm, lo, hi, half: float, h: float, growth: float):
    """Graded P1 :class:`~mscouple.continuum.Mesh` of the box with a slit along y = 0, x < 0
    (duplicated nodes below); collective on ``comm``, built on its rank 0."""
    from ..continuum import Mesh

    data = None
    if comm.Get_rank() == 0:
        xs = graded_axis(lo[0], hi[0], half, h, growth)
        ys = graded_axis(lo[1], hi[1], half, h, growth)
        data = meshgen.box((len(xs) - 1, len(ys) - 1), simplex=True)
        I, J = np.meshgrid(np.arange(len(xs)), np.arange(len(ys)), indexing="xy")
        data.coordinates = np.column_stack([xs[I.ravel()], ys[J.ravel()]])
        X = data.coordinates
        on_slit = np.flatnonzero((np.abs(X[:, 1]) < 1e-12) & (X[:, 0] < -1e-12))
        X[np.abs(X[:, 1]) < 1e-12, 1] = 0.0
        dup = len(X) + np.arange(len(on_slit))
        data.coordinates = np.vstack([X, X[on_slit]])
        remap = np.arange(len(X))
        remap[on_slit] = dup
        below = data.coordinates[data.cells].mean(axis=1)[:, 1] < 0
        data.cells[below] = remap[data.cells[below]]
        fbelow = data.coordinates[data.facets].mean(axis=1)[:, 1] < 0
        data.facets[fbelow] = remap[data.facets[fbelow]]
    return Mesh(comm, data)


def full_atomistic(x, types, lo, hi, K, mu, nu, pad, fmax):
    """Relax the whole crystal with a K-field boundary layer; returns (displacements [N,2]
    ordered like x, seconds, FIRE steps)."""
    t0 = time.perf_counter()
    box = Box([lo[0] - 5, lo[1] - 5, 0], [hi[0] + 5, hi[1] + 5, 10], (False, False, True))
    y = x.copy()
    y[:, :2] += kfield(x, K, mu, nu)
    s = MDSystem(MPI.COMM_SELF, box, x, potential(), types=types, dt=0.005)
    s.x[...] = y[s.ids]
    s.invalidate_neighbors()
    d = np.min(np.stack([x[s.ids, 0] - lo[0], hi[0] - x[s.ids, 0], x[s.ids, 1] - lo[1],
                         hi[1] - x[s.ids, 1]]), axis=0)
    s.fixed[:] = (d < pad).astype(np.uint8)
    res = fire(s, fmax=fmax, max_steps=200000)
    u = s.gather("x")[:, :2] - x[:, :2]
    return u, time.perf_counter() - t0, res.steps, 2 * int(np.sum(s.fixed == 0))


def coupled(x, types, lo, hi, K, mu, nu, material, patch_half, pad, overlap, h, growth, tol,
            fmax, comm=MPI.COMM_SELF):
    """Schwarz statics on one rank; returns dict(ids, u [m,2], seconds, result, dofs, mesh, u_nodes)."""
    from ..continuum import ElasticStatics, FunctionSpace
    from ..coupling.schwarz import SchwarzRegions, SchwarzStatics

    t0 = time.perf_counter()
    R = SchwarzRegions([-patch_half, -patch_half], [patch_half, patch_half], pad=pad, overlap=overlap)
    inP = R.patch_distance(x[:, :2]) <= 0
    ids = np.flatnonzero(inP)
    box = Box([-patch_half - 5, -patch_half - 5, 0], [patch_half + 5, patch_half + 5, 10], (False, False, True))
    s = MDSystem(MPI.COMM_SELF, box, x[ids], potential(), types=types[ids], ids=ids, dt=0.005)
    s.x[:, :2] = s.x0[:, :2] + kfield(s.x0, K, mu, nu)  # the same initial guess as the full run
    s.invalidate_neighbors()
    mesh = slit_mesh(comm, lo, hi, patch_half + 2 * h, h, growth)
    sp = FunctionSpace(mesh, 2)
    st = ElasticStatics(sp, material)
    Xo = mesh.coordinates[mesh.owned_nodes]
    outer = sp.boundary_mask(["left", "right", "top", "bottom"])
    mouth = (np.abs(Xo[:, 1]) < 1e-12) & (Xo[:, 0] < 0)
    st.add_dirichlet(outer & ~mouth, lambda X: kfield(X, K, mu, nu))
    sw = SchwarzStatics(R, statics=st, system=s, tol=tol, fmax=fmax, direct=True, max_iter=100)
    res = sw.solve()
    secs = time.perf_counter() - t0
    order = np.argsort(s.ids)
    u = s.displacements()[order, :2]
    out = dict(ids=s.ids[order].copy(), u=u, seconds=secs, result=res, dofs=sw.dofs(),
               residuals=sw.residuals(), nodes=Xo.copy(), u_nodes=sp.owned(sw.u).copy(),
               cells=mesh.cells.copy(), coords=mesh.coordinates.copy(), core=(R.core_lo, R.core_hi),
               free_nodes=sw._free_dofs.reshape(-1, 2)[:, 0].copy(), fixed=s.fixed[order].copy())
    sw.destroy()
    return out


def tip_opening(x, u) -> float:
    """Opening u_y(above) − u_y(below) of the face atoms of the first column behind the tip."""
    beh = x[:, 0] < 0
    up = np.flatnonzero(beh & (x[:, 1] > 0) & (x[:, 1] < 0.6))
    dn = np.flatnonzero(beh & (x[:, 1] < 0) & (x[:, 1] > -0.6))
    iu = up[np.argmax(x[up, 0])]
    idn = dn[np.argmax(x[dn, 0])]
    return float(u[iu, 1] - u[idn, 1])


def run(nx=120, ny=72, patch_half=20.0, K=4.0, h=1.6, growth=1.3, overlap=5.0, tol=1e-5, fmax=1e-5):
    """Both models; returns a dict of the comparison numbers and arrays (``delta``: tip
    opening of the full run; ``err_max``/``err_free``/``err_rms``: patch displacement error
    relative to it; ``dof_coupled`` (atoms, nodes) vs ``dof_full``; ``residuals``)."""
    from ..coupling.schwarz import cauchy_born_triangular

    material, a, C2 = cauchy_born_triangular(potential())
    mu = C2[2, 2]
    lam = C2[0, 1]
    nu = lam / (2 * (lam + mu))  # plane-strain Poisson ratio of the 2D constants
    pad = RC + 0.1
    x, types, lo, hi = crystal(nx, ny, a)
    cp = coupled(x, types, lo, hi, K, mu, nu, material, patch_half, pad, overlap, h, growth, tol, fmax)
    u_full, t_full, steps_full, dof_full = full_atomistic(x, types, lo, hi, K, mu, nu, pad, fmax)
    ids = cp["ids"]
    delta = tip_opening(x, u_full)
    diff = np.linalg.norm(cp["u"] - u_full[ids], axis=1)
    free = cp["fixed"] == 0
    return dict(a=a, C2=C2, mu=mu, nu=nu, delta=delta, err_max=float(diff.max() / delta),
                err_free=float(diff[free].max() / delta), err_rms=float(np.sqrt(np.mean(diff ** 2)) / delta),
                t_coupled=cp["seconds"], t_full=t_full, steps_full=steps_full, dof_full=dof_full,
                dof_coupled=cp["dofs"], iterations=cp["result"].iterations, history=cp["result"].history,
                relax_steps=cp["result"].relax_steps, residuals=cp["residuals"], x=x, u_full=u_full,
                coupled=cp, natoms=len(x), npatch=len(ids))
