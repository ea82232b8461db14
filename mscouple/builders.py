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

        try:
            eam = EAM.from_file(pot.file, pot.format, pot.elements)
            for name in pot.elements:
                eam.type_of(name)
        except ConfigError as exc:
            msg = str(exc)
            msg = msg[len(pot.file) + 2:] if msg.startswith(f"{pot.file}: ") else msg
            raise ConfigError(f"{path}.file = {pot.file!r}: {msg}") from None
        return eam
    if pot.kind == "nnp":
        from .atomistic.nnp import NNP

        try:
            nnp = NNP.from_file(pot.file)
            for name in pot.elements:
                nnp.type_of(name)
        except ConfigError as exc:
            msg = str(exc)
            msg = msg[len(pot.file) + 2:] if msg.startswith(f"{pot.file}: ") else msg
            raise ConfigError(f"{path}.file = {pot.file!r}: {msg}") from None
        return nnp
    raise ConfigError(f"{path}.kind = {pot.kind!r}: not supported")  # pragma: no cover


#: basis sites of each lattice's conventional cell (fractions of the lattice constant)
_SITES = {"chain": 1, "triangular": 1, "sc": 1, "bcc": 2, "fcc": 4}


def site_species(spec: PatchSpec, pot, x: np.ndarray, coupled_dims: int = 0):
    """Types ``[N]`` (int32) and per-atom masses ``[N]`` of the patch atoms at lattice sites
    ``x [N, 3]`` (as laid by :func:`patch_lattice`), or ``(None, spec.mass)`` for one-type
    potentials.

    EAM: ``potential.elements`` names the element of each basis site of the conventional
    cell (one name: every site); the masses are the EAM file's (g/mol). The basis site of
    an atom is found from its position in the cubic cell (fcc order: corner, xy, xz, yz
    face centres; bcc: corner, centre).
    """
    if getattr(pot, "ntypes", 1) == 1 and not getattr(pot, "elements", None):
        return None, spec.mass
    key = f"patches.{spec.name}.potential.elements"
    names = list(spec.potential.elements) or [pot.elements[0]]
    nsite = _SITES[spec.lattice.kind]
    if len(names) not in (1, nsite):
        raise ConfigError(f"{key} = {names}: expected 1 name or {nsite} (one per basis site of the "
                          f"{spec.lattice.kind} cell)")
    per_site = np.array([pot.type_of(n) for n in names], dtype=np.int32)
    if len(per_site) == 1:
        types = np.full(len(x), per_site[0], dtype=np.int32)
    else:
        from .atomistic.lattice import _BASIS

        a = spec.lattice.constant
        lo = np.array(list(spec.region.lo) + [0.0] * (3 - len(spec.region.lo)))
        inset = np.array([0.25 * a if k < coupled_dims else 0.0 for k in range(3)])
        frac = np.mod((np.asarray(x) - lo - inset) / a + 1e-6, 1.0) - 1e-6
        d = np.abs(frac[:, None, :] - _BASIS[spec.lattice.kind][None, :, :]).sum(axis=2)
        types = per_site[np.argmin(d, axis=1)]
    masses = pot.masses if pot.masses is not None else np.ones(pot.ntypes)
    return types, np.asarray(masses, float)[types]


def patch_mass(spec: PatchSpec, pot=None) -> float:
    """Mean atomic mass of the patch (g/mol or m): the EAM (or NNP model) file's masses
    averaged over the basis sites, else ``spec.mass``."""
    if spec.potential.kind not in ("eam", "nnp"):
        return spec.mass
    pot = pot if pot is not None else make_potential(spec.potential)
    names = list(spec.potential.elements) or [pot.elements[0]]
    m = pot.masses if pot.masses is not None else np.ones(pot.ntypes)
    return float(np.mean([m[pot.type_of(n)] for n in names]))


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
    types, masses = site_species(spec, pot, x, coupled_dims)
    # a chain moves along its line and a triangular lattice in its plane
    dimension = {"chain": 1, "triangular": 2}.get(spec.lattice.kind, 3)
    system = MDSystem(comm, box, x, pot, types=types, masses=masses, units=units, dt=dt, skin=spec.skin,
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
    omega = 2 * math.sqrt(K / (patch_mass(spec, pot) * system.units.mvv2e)) * abs(math.sin(0.5 * k * a))
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


def elastic_material(spec: ContinuumSpec, patch: PatchSpec | None = None):
    """The :class:`~mscouple.continuum.materials.ElasticMaterial` of ``[continuum.material]``
    in the case's unit system (``spec.units``: the inertia factor mvv2e is set once here).
    ``model = "from_patch"`` takes the Cauchy–Born constants of *patch*'s lattice and
    potential (:func:`cauchy_born_material`)."""
    from .continuum.materials import ElasticMaterial
    from .units import get_units

    mvv2e = get_units(getattr(spec, "units", "lj")).mvv2e
    mat = spec.material
    if mat.model == "cubic":
        return ElasticMaterial.cubic(mat.c11, mat.c12, mat.c44, density=mat.density, mvv2e=mvv2e)
    if mat.model == "from_patch":
        return cauchy_born_material(patch, spec.dim, mvv2e, temperature=mat.temperature)
    return ElasticMaterial.isotropic(mat.youngs_modulus, mat.poisson_ratio, density=mat.density, mvv2e=mvv2e)


def patch_constants(patch: PatchSpec):
    """Cauchy–Born constants (:class:`~mscouple.atomistic.elastic.CauchyBornConstants`) of
    the patch's lattice and potential at the lattice constant of zero stress nearest to
    ``lattice.constant``; density from the atomic mass (the EAM file's for EAM)."""
    from .atomistic.elastic import cauchy_born

    if patch is None:
        raise ConfigError("continuum.material.model = 'from_patch' needs continuum.material.patch")
    key = f"patches.{patch.name}"
    pot = make_potential(patch.potential, f"{key}.potential")
    element = 0
    if patch.potential.kind == "nnp":
        from .mlip.properties import cauchy_born_engine

        try:
            return cauchy_born_engine(pot, patch.lattice.kind, patch.lattice.constant, patch_mass(patch, pot))
        except ConfigError as exc:
            raise ConfigError(f"continuum.material.model = 'from_patch' (patch {patch.name!r}): {exc}") from None
    if patch.potential.kind == "eam":
        names = list(patch.potential.elements) or [pot.elements[0]]
        if len(set(names)) > 1:
            raise ConfigError(f"continuum.material.model = 'from_patch': patch {patch.name!r} has several "
                              f"species ({key}.potential.elements = {names}); Cauchy–Born constants are "
                              "computed for one-species lattices: give c11/c12/c44 (model = 'cubic')")
        element = pot.type_of(names[0])
    try:
        return cauchy_born(pot, patch.lattice.kind, patch.lattice.constant, patch_mass(patch, pot), element)
    except ConfigError as exc:
        raise ConfigError(f"continuum.material.model = 'from_patch' (patch {patch.name!r}): {exc}") from None


_THERMAL_CACHE: dict = {}


def thermal_patch_constants(patch: PatchSpec, temperature: float):
    """Adiabatic constants (:class:`~mscouple.atomistic.thermoelastic.ThermalConstants`) of
    the patch's cubic lattice at ``temperature`` and its zero-stress constant a0 (the
    continuum's reference), seed ``patches.X.seed``; memoised per process (check + build)."""
    from .atomistic.thermoelastic import thermal_elastic_constants

    cb = patch_constants(patch)
    pot = make_potential(patch.potential, f"patches.{patch.name}.potential")
    key = (patch.name, repr(patch.potential), cb.a0, float(temperature), int(patch.seed))
    if key not in _THERMAL_CACHE:
        _THERMAL_CACHE[key] = thermal_elastic_constants(pot, patch.lattice.kind, cb.a0, patch_mass(patch, pot),
                                                        float(temperature), seed=int(patch.seed))
    return _THERMAL_CACHE[key]


def thermal_prestress(spec: ContinuumSpec, patch: PatchSpec | None) -> float:
    """Pressure P (energy/length³, positive compressive) of the continuum's reference state:
    the patch's thermal pressure at ``continuum.material.temperature`` and its zero-stress
    constant a0, measured with the constants (:func:`thermal_patch_constants`, the same
    memoised run), when ``material.prestress = "thermal"`` and the temperature is > 0;
    0.0 otherwise. The continuum carries it as the uniform pre-stress −P I
    (:func:`mscouple.continuum.elasticity.prestress_load`): the constants were measured about
    the crystal at T held at a0, i.e. under P, and without it the stress-free continuum lets
    the patch expand (examples/cu_wave_3d/README.md)."""
    mat = spec.material
    if mat.model != "from_patch" or not mat.temperature > 0 or mat.prestress != "thermal":
        return 0.0
    return float(thermal_patch_constants(patch, mat.temperature).pressure)


def cauchy_born_material(patch: PatchSpec, dim: int = 2, mvv2e: float = 1.0, temperature: float = 0.0):
    """Continuum constants from the patch's own potential (Cauchy–Born lattice sums at the
    zero-stress lattice constant), so that both models carry waves at the same long-wave
    speeds. Chain, triangular, sc, bcc and fcc lattices; pair and one-species EAM potentials.

    dim = 1: a bar next to a patch that is periodic (held) across — uniaxial strain, the
    modulus is C11 (lateral entries decoupled). dim = 2: plane strain of a cubic lattice, or
    the triangular sheet's own 2D constants (out-of-plane entries are decoupled fillers).
    The reduced stiffness must be positive definite (sc and bcc lattices of pair potentials
    are not): refused otherwise, with the constants.
    """
    from .atomistic.elastic import LATTICE_DIM
    from .continuum.materials import ElasticMaterial

    cb = patch_constants(patch)
    kind = patch.lattice.kind
    ld = LATTICE_DIM[kind]
    if dim > ld:
        raise ConfigError(f"continuum.material.model = 'from_patch': patch {patch.name!r} has a {kind} "
                          f"lattice ({ld}D); its constants fill a continuum of dim <= {ld}, not {dim}")
    C = cb.C
    density = cb.density
    if temperature > 0:
        tc = thermal_patch_constants(patch, temperature)
        C, density = tc.C, tc.density
    if dim == 1:
        C6 = np.eye(6) * C[0, 0]
    elif ld == 2:
        idx = [0, 1, 5]
        C6 = np.zeros((6, 6))
        C6[np.ix_(idx, idx)] = C[np.ix_(idx, idx)]
        C6[2, 2] = C6[3, 3] = C6[4, 4] = float(np.max(np.diag(C)[idx]))
    else:
        C6 = C.copy()
    block = [0, 1, 5] if dim == 2 else list(range(6)) if dim == 3 else [0]
    if np.linalg.eigvalsh(C6[np.ix_(block, block)]).min() <= 1e-12 * cb.c11:
        raise ConfigError(f"continuum.material.model = 'from_patch': the {kind} lattice of patch "
                          f"{patch.name!r} is not mechanically stable with its potential (C11 = {cb.c11:.6g}, "
                          f"C12 = {cb.c12:.6g}, C44 = {cb.c44:.6g} at a0 = {cb.a0:.10g}): use another lattice "
                          "or give c11/c12/c44 (model = 'cubic')")
    return ElasticMaterial(C6, density, mvv2e)


def initial_gradient(init: InitialSpec | None, dim: int):
    """d/dx of :func:`initial_field` (callable X [n, dim] -> [n]; None: at rest), exact, for
    the velocity v = −direction · c · f′(x) of a travelling packet (a finite difference of
    f at coordinates X ≫ ε loses ulp(X)/ε ≈ 1e-9 of it, differently in each unit system)."""
    if init is None or init.kind == "rest":
        return None
    c, w, A = init.center, init.width, init.amplitude

    def gauss(X):
        return A * np.exp(-0.5 * ((X[:, 0] - c) / w) ** 2)

    if init.kind == "gaussian":
        return lambda X: -(X[:, 0] - c) / w ** 2 * gauss(X)
    k = 2 * math.pi / init.wavelength
    return lambda X: gauss(X) * (-(X[:, 0] - c) / w ** 2 * np.cos(k * (X[:, 0] - c))
                                 - k * np.sin(k * (X[:, 0] - c)))


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
