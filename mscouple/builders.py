"""Turn validated case sections into engine objects, each on the communicator it is given.

Nothing here reads ``COMM_WORLD``: the caller (the simulation facade) passes the role
communicator from :class:`mscouple.layout.Layout`. Each builder receives only its own
section objects.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from .config import ContinuumSpec, InitialSpec, PatchSpec, PotentialSpec
from .errors import ConfigError


# ---------------------------------------------------------------------------------------
# atomistic

def make_potential(pot: PotentialSpec, path: str = "potential"):
    """The potential object of a ``[patches.X.potential]`` table."""
    from .atomistic import potentials as P

    if pot.kind == "lj":
        return P.LennardJones(epsilon=pot.epsilon, sigma=pot.sigma, cutoff=pot.cutoff, mode=pot.mode)
    if pot.kind == "morse":
        return P.Morse(D0=pot.depth, alpha=pot.alpha, r0=pot.r0, cutoff=pot.cutoff, mode=pot.mode)
    if pot.kind == "harmonic":
        # nearest-neighbour springs: the cutoff sits between first and second neighbours
        return P.HarmonicSprings(k=pot.stiffness, r0=pot.r0, cutoff=min(pot.cutoff, 1.5 * pot.r0))
    if pot.kind == "eam":
        from .atomistic.eam import EAM

        return EAM.from_file(pot.file)
    raise ConfigError(f"{path}.kind = {pot.kind!r}: not supported")  # pragma: no cover


def patch_lattice(spec: PatchSpec, dim: int, coupled_dims: int = 0):
    """Positions ``[N, 3]`` and :class:`~mscouple.atomistic.box.Box` filling the patch region.

    The lattice is laid from ``region.lo``; the number of periods along each direction is
    the region extent over the lattice period, rounded. Directions coupled to a continuum
    (the first ``coupled_dims``) are free (non-periodic) unless ``periodic`` says otherwise;
    the others are periodic.
    """
    from .atomistic import lattice as L
    from .atomistic.box import Box

    a = spec.lattice.constant
    lo = list(spec.region.lo) + [0.0] * (3 - len(spec.region.lo))
    ext = [h - l for l, h in zip(spec.region.lo, spec.region.hi)]
    periodic = [k >= coupled_dims for k in range(3)]
    if spec.periodic:
        periodic = [bool(p) for p in spec.periodic]
    kind = spec.lattice.kind
    if kind == "chain":
        n = max(1, int(round(ext[0] / a)))
        x, box = L.chain(a, n, periodic=periodic[0])
        # coupled: atoms half a spacing inside the region, so none sits on the band's outer edge
        x[:, 0] += lo[0] + (0.5 * a if coupled_dims >= 1 else 0.0)
        x[:, 1:] = 0.0 if dim >= 2 else x[:, 1:]
        width = box.hi[1] - box.lo[1]
        box = Box([lo[0], -0.5 * width, -0.5 * width] if dim == 1 else [lo[0], lo[1] - 0.5 * width, -0.5 * width],
                  [lo[0] + n * a, 0.5 * width, 0.5 * width] if dim == 1 else [lo[0] + n * a, lo[1] + 0.5 * width, 0.5 * width],
                  tuple(periodic))
        if dim == 1:
            x[:, 1:] = 0.0
        return x, box
    if kind == "triangular":
        h = math.sqrt(3.0) * a
        nx = max(1, int(round(ext[0] / a)))
        ny = max(1, int(round((ext[1] if len(ext) > 1 else h) / h)))
        x, box = L.triangular(a, (nx, ny), periodic=(periodic[0], periodic[1], False))
        shift = np.array([lo[0], lo[1], -0.5 * (box.hi[2] - box.lo[2])])
        inset = np.array([0.25 * a if coupled_dims >= 1 else 0.0, 0.25 * h if coupled_dims >= 2 else 0.0, 0.0])
        return x + shift + inset, Box(np.asarray(box.lo) + shift, np.asarray(box.hi) + shift, box.periodic)
    reps = [max(1, int(round((ext[k] if k < len(ext) else a) / a))) for k in range(3)]
    x, box = L.cubic(kind, a, reps, periodic=tuple(periodic), origin=tuple(lo))
    inset = np.array([0.25 * a if k < coupled_dims else 0.0 for k in range(3)])
    return x + inset, box


def build_patch(comm: Any, spec: PatchSpec, *, units: str, dt: float, dim: int, coupled_dims: int = 0):
    """An :class:`~mscouple.atomistic.system.MDSystem` for one patch, on *comm* (collective)."""
    from .atomistic.system import MDSystem

    x, box = patch_lattice(spec, dim, coupled_dims)
    pot = make_potential(spec.potential, f"patches.{spec.name}.potential")
    # a chain moves along its line and a triangular lattice in its plane
    dimension = {"chain": 1, "triangular": 2}.get(spec.lattice.kind, 3)
    system = MDSystem(comm, box, x, pot, masses=spec.mass, units=units, dt=dt, skin=spec.skin,
                      dimension=dimension)
    if spec.temperature > 0:
        system.set_velocities(spec.temperature, seed=spec.seed)
    if spec.initial is not None and spec.initial.kind == "wave_packet":
        launch_chain_packet(system, spec, pot)
    return system


def launch_chain_packet(system, spec: PatchSpec, pot) -> None:
    """A longitudinal wave packet u = A g(x) cos(k(x − x_c)) in a chain, moving along
    ``direction``: velocities from the chain's dispersion ω(k) = 2 √(K/m) sin(k a / 2),
    K = φ''(a) the nearest-neighbour bond stiffness (slowly varying envelope g)."""
    init = spec.initial
    if spec.lattice.kind != "chain" or init.field != "displacement":
        raise ConfigError(f"patches.{spec.name}.initial: a wave packet is set on chain lattices "
                          f"(field = 'displacement'); got lattice {spec.lattice.kind!r}")
    a = spec.lattice.constant
    h = 1e-4 * a
    _, f_plus = pot.energy_force([a + h])
    _, f_minus = pot.energy_force([a - h])
    K = -(f_plus[0] - f_minus[0]) / (2 * h)  # F = −φ′ ⇒ φ″ = −dF/dr
    if not K > 0:
        raise ConfigError(f"patches.{spec.name}.potential: bond stiffness at the lattice spacing "
                          f"is {K:g}; expected a stable chain (K > 0)")
    k = 2 * math.pi / init.wavelength
    omega = 2 * math.sqrt(K / spec.mass) * abs(math.sin(0.5 * k * a))
    X = np.asarray(system.x0)[:, 0]
    g = init.amplitude * np.exp(-0.5 * ((X - init.center) / init.width) ** 2)
    phase = k * (X - init.center)
    system.x[:, 0] += g * np.cos(phase)
    system.v[:, 0] += init.direction * omega * g * np.sin(phase)
    system.invalidate_neighbors()


# ---------------------------------------------------------------------------------------
# continuum

def build_mesh(comm: Any, spec: ContinuumSpec, source: str = ""):
    from .config import _resolve
    from .continuum.mesh import Mesh

    m = spec.mesh
    if m.kind == "box":
        return Mesh.box(comm, m.cells, m.lo, m.hi, simplex=m.simplex)
    if m.kind == "graded":
        return Mesh.graded_box(comm, m.cells, m.lo, m.hi, m.fine_lo, m.fine_hi, m.coarsening, simplex=m.simplex)
    return Mesh.from_gmsh(comm, _resolve(source, m.file), dim=spec.dim)


def elastic_material(spec: ContinuumSpec, patch_constants: dict | None = None):
    from .continuum.materials import ElasticMaterial

    mat = spec.material
    if mat.model == "cubic":
        return ElasticMaterial.cubic(mat.c11, mat.c12, mat.c44, density=mat.density)
    if mat.model == "from_patch":
        return cauchy_born_material(patch_constants)
    return ElasticMaterial.isotropic(mat.youngs_modulus, mat.poisson_ratio, density=mat.density)


def cauchy_born_material(patch: PatchSpec):
    """Continuum constants from the patch's own potential (Cauchy–Born lattice sums), so
    that both models agree at the interface. Triangular (2D) lattices for now."""
    if patch is None:
        raise ConfigError("continuum.material.model = 'from_patch' needs continuum.material.patch")
    if patch.lattice.kind != "triangular":
        raise ConfigError(f"continuum.material.model = 'from_patch': patch {patch.name!r} has a "
                          f"{patch.lattice.kind!r} lattice; Cauchy–Born constants are computed for "
                          "'triangular' lattices (give c11/c12/c44 for the others)")
    from .coupling.schwarz import cauchy_born_triangular

    pot = make_potential(patch.potential)
    rho = patch.mass / (patch.lattice.constant ** 2 * 3 ** 0.5 / 2)
    material, _a, _C2 = cauchy_born_triangular(pot, patch.lattice.constant, density=rho)
    return material


def initial_field(init: InitialSpec | None, dim: int):
    """A callable X [n, dim] -> values for the initial condition (None: at rest)."""
    if init is None or init.kind == "rest":
        return None
    c, w, A = init.center, init.width, init.amplitude
    if init.kind == "gaussian":
        return lambda X: A * np.exp(-0.5 * ((X[:, 0] - c) / w) ** 2)
    k = 2 * math.pi / init.wavelength
    # wave packet: Gaussian envelope times a cosine carrier, longitudinal along x
    return lambda X: A * np.exp(-0.5 * ((X[:, 0] - c) / w) ** 2) * np.cos(k * (X[:, 0] - c))
