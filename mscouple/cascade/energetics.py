"""Point-defect energetics of an fcc EAM metal with the cascade's own potential, for the
kinetic Monte Carlo rates: vacancy formation energy, vacancy migration energy (NEB with a
climbing image, :mod:`mscouple.atomistic.neb`) and the divacancy binding energy.

Units: metal (Å, eV). Cells: periodic ``reps³`` conventional fcc cells at lattice
constant ``a``; atoms relaxed by FIRE at fixed box to ``fmax``.

    E_f(V)   = E(N−1) − (N−1)/N · E(N)
    E_b(2V)  = 2 E(1V) − E(2V) − E(0)     (nearest-neighbour divacancy; > 0 = bound)
    E_m(V)   = max_NEB E − E(1V)          (one nearest-neighbour jump)
    E_f(I)   = E(N+1) − (N+1)/N · E(N)    (<100> dumbbell)
    E_m(I)   = max_NEB E − E(I)           (<100> dumbbell at A → <010> dumbbell at the
                                           nearest neighbour B = A + a/2 [110], the fcc
                                           translation–rotation jump)
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from mpi4py import MPI

from ..atomistic.lattice import fcc
from ..atomistic.minimize import fire
from ..atomistic.neb import NEBResult, energy_and_forces, neb
from ..errors import ConfigError
from ..atomistic.system import MDSystem


@dataclass
class VacancyEnergetics:
    """formation, migration, divacancy_binding [eV]; neb: the migration path."""

    formation: float
    migration: float
    divacancy_binding: float
    neb: NEBResult
    natoms: int


def _relaxed(comm, box, x, pot, mass, fmax):
    s = MDSystem(comm, box, x, pot, masses=mass, units="metal", dt=1e-3, skin=1.0, sort_every=0)
    res = fire(s, fmax=fmax, max_steps=5000, dt=1e-3, dt_max=5e-3)
    xu = s.gather("x") + s.gather("image") * box.lengths
    return res.energy, xu, s


def vacancy_energetics(pot, a: float, reps: int = 5, mass: float = 63.546, images: int = 5,
                       fmax: float = 2e-3, comm=MPI.COMM_SELF) -> VacancyEnergetics:
    """The energies of the module docstring for ``pot`` (an EAM or pair potential) in a
    ``reps³``-cell fcc block (collective on ``comm``)."""
    x, box = fcc(a, (reps, reps, reps))
    N = len(x)
    c = 0.5 * (box.lo + box.hi)
    order = np.argsort(np.linalg.norm(x - c, axis=1))
    v = order[0]
    d = np.linalg.norm(x - x[v], axis=1)
    nn = np.flatnonzero(np.abs(d - a / np.sqrt(2)) < 1e-6)
    j = nn[0]
    e0, _, _ = _relaxed(comm, box, x, pot, mass, fmax)
    keep = np.setdiff1d(np.arange(N), [v])
    e1, xi, s = _relaxed(comm, box, x[keep], pot, mass, fmax)
    xf0 = x[keep].copy()
    jj = int(np.flatnonzero(keep == j)[0])
    xf0[jj] = x[v]
    _, xf, _ = _relaxed(comm, box, xf0, pot, mass, fmax)
    # continuous coordinates: the final image must differ from the initial by the jump only
    dx = xf - xi
    dx -= box.lengths * np.round(dx / box.lengths)
    xf = xi + dx
    path = neb(s, xi, xf, images=images, fmax=max(fmax, 5e-3))
    keep2 = np.setdiff1d(np.arange(N), [v, j])
    e2, _, _ = _relaxed(comm, box, x[keep2], pot, mass, fmax)
    ef = e1 - (N - 1) / N * e0
    return VacancyEnergetics(ef, float(path.energies.max() - path.energies[0]),
                             2 * e1 - e2 - e0, path, N)


@dataclass
class InterstitialEnergetics:
    """formation, migration [eV] of the <100> dumbbell; neb: the migration path."""

    formation: float
    migration: float
    neb: NEBResult
    natoms: int


def interstitial_energetics(pot, a: float, reps: int = 4, mass: float = 63.546,
                            images: int = 5, fmax: float = 2e-3, split: float = 0.3,
                            comm=MPI.COMM_SELF) -> InterstitialEnergetics:
    """Self-interstitial energies of the module docstring (``split``: initial half-length
    of the dumbbell in units of a, before relaxation). Collective on ``comm``."""
    x, box = fcc(a, (reps, reps, reps))
    N = len(x)
    c = 0.5 * (box.lo + box.hi)
    iA = int(np.argmin(np.linalg.norm(x - c, axis=1)))
    A = x[iA]
    B = A + 0.5 * a * np.array([1.0, 1.0, 0.0])
    iB = int(np.argmin(np.linalg.norm(x - B, axis=1)))
    d = split * a
    y0 = np.vstack([x, [A + [d, 0, 0]]])
    y0[iA] = A - [d, 0, 0]
    y1 = np.vstack([x, [B - [0, d, 0]]])
    y1[iA] = A
    y1[iB] = B + [0, d, 0]
    e_perf, _, _ = _relaxed(comm, box, x, pot, mass, fmax)
    e0, xi, s = _relaxed(comm, box, y0, pot, mass, fmax)
    _, xf, _ = _relaxed(comm, box, y1, pot, mass, fmax)
    dx = xf - xi
    dx -= box.lengths * np.round(dx / box.lengths)
    path = neb(s, xi, xi + dx, images=images, fmax=max(fmax, 5e-3), max_iter=3000)
    return InterstitialEnergetics(e0 - (N + 1) / N * e_perf,
                                  float(path.energies.max() - path.energies[0]), path, N + 1)


@dataclass
class ClusterBinding:
    """Binding energies [eV] of small clusters (> 0: bound), relaxed energies with the same
    potential in one ``reps³`` block (``natoms`` sites):

    divacancy   = 2 E(1V) − E(2V) − E(0)          (nearest-neighbour pair)
    trivacancy  = 3 E(1V) − E(3V) − 2 E(0)        (total: into three vacancies; nn triangle)
    v_to_v2     = E(2V) + E(1V) − E(3V) − E(0)    (the third vacancy to a divacancy)
    di_interstitial = 2 E(I) − E(2I) − E(0)      (two parallel <100> dumbbells at nearest-
                                                   neighbour sites, the more bound of the
                                                   [011] (perpendicular) and [110] neighbours)
    di_interstitial_by: {"011": E_b, "110": E_b}
    """

    divacancy: float
    trivacancy: float
    v_to_v2: float
    di_interstitial: float
    di_interstitial_by: dict
    natoms: int


def cluster_binding(pot, a: float, reps: int = 5, mass: float = 63.546, fmax: float = 2e-3,
                    split: float = 0.3, comm=MPI.COMM_SELF) -> ClusterBinding:
    """The binding energies of :class:`ClusterBinding` by FIRE relaxation at fixed box
    (collective on ``comm``)."""
    x, box = fcc(a, (reps, reps, reps))
    N = len(x)
    c = 0.5 * (box.lo + box.hi)
    i0 = int(np.argmin(np.linalg.norm(x - c, axis=1)))
    A = x[i0]

    def site(off):
        p = A + 0.5 * a * np.asarray(off, float)
        j = int(np.argmin(np.linalg.norm(x - p, axis=1)))
        if np.linalg.norm(x[j] - p) > 1e-6 * a:  # the cluster must sit on lattice sites of the block
            raise ValueError(f"cluster_binding: offset {tuple(off)} (units a/2) is not an fcc site "
                             f"of the {reps}^3-cell block")
        return j

    def relaxed(y):
        return _relaxed(comm, box, y, pot, mass, fmax)[0]

    def without(idx):
        return x[np.setdiff1d(np.arange(N), idx)]

    e0 = relaxed(x)
    e1 = relaxed(without([i0]))
    e2 = relaxed(without([i0, site((1, 1, 0))]))
    e3 = relaxed(without([i0, site((1, 1, 0)), site((1, 0, 1))]))  # nn triangle in (1-11)
    d = split * a

    def dumbbells(sites_):
        y = x.copy()
        extra = []
        for j in sites_:
            extra.append(x[j] + [d, 0, 0])
            y[j] = x[j] - [d, 0, 0]
        return np.vstack([y, extra])

    eI = relaxed(dumbbells([i0]))
    by = {}
    for lab, off in (("011", (0, 1, 1)), ("110", (1, 1, 0))):
        by[lab] = 2 * eI - relaxed(dumbbells([i0, site(off)])) - e0
    return ClusterBinding(2 * e1 - e2 - e0, 3 * e1 - e3 - 2 * e0, e2 + e1 - e3 - e0,
                          max(by.values()), by, N)


@dataclass
class ClusterGlide:
    """Glide of an I_n SIA cluster by one Burgers vector b = a/2 [110] along its axis:
    migration = max_NEB E − E(start) [eV]; end_difference = E(end) − E(start) (0 up to
    rounding: the end state is the relaxed start translated by the lattice vector b and
    the atoms relabelled to the nearest sites); neb: the path; natoms; climbed: whether
    the path's top is a climbing image (False: flat within ``flat``)."""

    n: int
    migration: float
    end_difference: float
    neb: NEBResult
    natoms: int
    climbed: bool


def sia_cluster_glide(pot, a: float, n: int, reps: int = 4, mass: float = 63.546,
                      images: int = 5, fmax: float = 2e-3, split: float = 0.25,
                      max_iter: int = 3000, neb_fmax: float | None = None,
                      flat: float = 1e-4,
                      comm=MPI.COMM_SELF) -> ClusterGlide:
    """Glide barrier of the I_n cluster (n = 1…4) of parallel [110] dumbbells (crowdions
    after relaxation) on the nearest-neighbour rows 0, a/2(1,0,1), a/2(0,1,1),
    a/2(1,1,2) (a compact platelet), each dumbbell of half-length ``split``·a along
    [110] before relaxation. Start: the FIRE-relaxed cluster. End: the start translated
    rigidly by b = a/2 [110] (a lattice vector of the periodic ``reps³`` block, so the
    energy is the same), its atoms matched to the start's by the least total squared
    periodic displacement (scipy's assignment): only the cluster's rows move, each atom by
    a fraction of b (the crowdion mechanism). Then an NEB between them, repeated with a
    climbing image when the plain band's profile varies by more than ``flat`` eV
    (``climbed``; otherwise the path is flat within the resolution and migration is the
    plain band's maximum). Collective on ``comm``. The barriers are meV: ``fmax`` (relaxation and NEB, eV/Å)
    must be well below barrier / path length, not the 5e-3 of the vacancy jump."""
    from scipy.optimize import linear_sum_assignment

    if not 1 <= n <= 4:
        raise ConfigError(f"sia_cluster_glide n = {n}: expected 1 to 4")
    x, box = fcc(a, (reps, reps, reps))
    N = len(x)
    c = 0.5 * (box.lo + box.hi)
    A = x[int(np.argmin(np.linalg.norm(x - c, axis=1)))]
    u = np.array([1.0, 1.0, 0.0]) / np.sqrt(2.0)
    offs = [(0, 0, 0), (1, 0, 1), (0, 1, 1), (1, 1, 2)][:n]
    y = x.copy()
    extra = []
    for off in offs:
        p = A + 0.5 * a * np.asarray(off, float)
        j = int(np.argmin(np.linalg.norm(x - p, axis=1)))
        y[j] = x[j] - split * a * u
        extra.append(x[j] + split * a * u)
    y = np.vstack([y, extra])
    e0, xi, s = _relaxed(comm, box, y, pot, mass, fmax)
    L = box.lengths
    t = xi + 0.5 * a * np.sqrt(2.0) * u
    d = xi[:, None, :] - t[None, :, :]
    d -= L * np.round(d / L)
    _, col = linear_sum_assignment(np.sum(d ** 2, axis=2))
    dx = t[col] - xi
    dx -= L * np.round(dx / L)
    xf = xi + dx
    e1, _ = energy_and_forces(s, xf)
    nf = fmax if neb_fmax is None else neb_fmax
    # first without climbing: on a flat path (I2: the profile is flat to 1e-6 eV) the
    # climbing image has no saddle to find and drifts until FIRE diverges
    path = neb(s, xi, xf, images=images, fmax=nf, max_iter=max_iter, climb=False)
    climbed = bool(np.ptp(path.energies) > flat)
    if climbed:
        path = neb(s, xi, xf, images=images, fmax=nf, max_iter=max_iter)
    return ClusterGlide(n, float(path.energies.max() - path.energies[0]), float(e1 - e0),
                        path, N + n, climbed)
