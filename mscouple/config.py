"""Case files: TOML → typed, validated, frozen objects, before any rank computes.

A case describes one run: units, the rank layout, the continuum region, the atomistic
patches, the handshake between them, the run and its output. Every mistake is reported
as one ``ConfigError`` line naming the file, the key path, the value and what was expected
(``mscouple check`` prints it; exit code 2).

Lengths, times, energies are in the case's unit system (``units = "lj"`` or ``"metal"``,
see :mod:`mscouple.units`).
"""
from __future__ import annotations

import dataclasses
import hashlib
import os
import tomllib
from dataclasses import dataclass
from typing import Optional, Sequence

from .errors import ConfigError
from .overrides import apply_overrides, describe, parse_override
from .schema import Context, build, nonnegative, opt, positive

_POS = dict(check=positive, expect="a positive number")
_NONNEG = dict(check=nonnegative, expect="a number >= 0")


@dataclass(frozen=True, kw_only=True)
class Box:
    lo: tuple = opt("floats", help="lower corner, one value per dimension")
    hi: tuple = opt("floats", help="upper corner, one value per dimension")


@dataclass(frozen=True, kw_only=True)
class LayoutSpec:
    continuum: int = opt("int", 1, check=nonnegative, expect="a number of ranks >= 0",
                         help="ranks that run the continuum")
    patches: dict = opt("table_int", {}, help="ranks per atomistic patch: { name = ranks }")


@dataclass(frozen=True, kw_only=True)
class MeshSpec:
    kind: str = opt("str", "box", choices=("box", "graded", "gmsh"))
    lo: tuple = opt("floats", ())
    hi: tuple = opt("floats", ())
    cells: tuple = opt("ints", (), check=lambda c: all(n > 0 for n in c), expect="positive cell counts")
    simplex: bool = opt("bool", True)
    file: str = opt("str", "")
    fine_lo: tuple = opt("floats", (), help="graded mesh: region meshed finely (lower corner)")
    fine_hi: tuple = opt("floats", ())
    coarsening: float = opt("float", 1.0, check=lambda x: x >= 1, expect="a factor >= 1")


@dataclass(frozen=True, kw_only=True)
class MaterialSpec:
    model: str = opt("str", "isotropic", choices=("isotropic", "cubic", "from_patch", "dislocation_density"))
    youngs_modulus: float = opt("float", 1.0, **_POS)
    poisson_ratio: float = opt("float", 0.0, check=lambda x: -1 < x < 0.5, expect="a number in (-1, 0.5)")
    c11: float = opt("float", 0.0)
    c12: float = opt("float", 0.0)
    c44: float = opt("float", 0.0)
    density: float = opt("float", 1.0, **_POS)
    conductivity: float = opt("float", 1.0, **_POS)
    heat_capacity: float = opt("float", 1.0, **_POS, help="per unit mass")
    plane: str = opt("str", "strain", choices=("strain", "stress"))
    temperature: float = opt("float", 0.0, **_NONNEG, help="model = 'from_patch': adiabatic constants of the patch's "
                             "cubic lattice at this temperature, measured by MD at its reference constant "
                             "(mscouple/atomistic/thermoelastic.py, ~30 s); 0: the 0 K Cauchy-Born constants")
    prestress: str = opt("str", "thermal", choices=("thermal", "none"),
                         help="temperature > 0: 'thermal' puts the patch's measured thermal pressure P into the "
                              "continuum's reference state (uniform pre-stress -P I held by the outer boundary: "
                              "nodal forces on the handshake band that balance the patch at its reference "
                              "constant); 'none': the stress-free continuum (the patch expands against it)")
    patch: str = opt("str", "", help="model = 'from_patch' or 'dislocation_density': take the elastic constants "
                                     "(and b) from this patch's potential")
    # model = "dislocation_density" (J2 + Taylor/Kocks-Mecking SSD + GND; mscouple/plasticity):
    # elastic constants and b from an EAM file (Hill average of its Cauchy-Born constants,
    # b = nearest-neighbour distance), or from youngs_modulus, poisson_ratio and burgers
    alpha: float = opt("float", 0.3, **_POS, help="Taylor constant")
    k1: float = opt("float", 0.0, **_NONNEG, help="Kocks-Mecking storage coefficient (1/length)")
    k2: float = opt("float", 0.0, **_NONNEG, help="Kocks-Mecking recovery coefficient")
    rho0: float = opt("float", 1.0, **_POS, help="initial SSD density (1/length^2)")
    taylor_factor: float = opt("float", 3.06, **_POS)
    rbar: float = opt("float", 1.90, **_NONNEG, help="Nye factor of rho_G = rbar |grad ep| / b")
    gnd: bool = opt("bool", True, help="include rho_G from the plastic-strain gradient")
    gnd_length: float = opt("float", 0.0, **_NONNEG, help="recovery length l of the plastic strain for rho_G "
                            "((1 - l^2 lap) e = ep; 0: the lumped L2 projection); mscouple/plasticity/solver.py")
    burgers: float = opt("float", 0.0, **_NONNEG, help="Burgers vector (length); 0: from potential_file")
    potential_file: str = opt("str", "", help="EAM setfl file for mu, K, b (metal units)")
    lattice: str = opt("str", "fcc", choices=("fcc", "bcc"))
    lattice_constant: float = opt("float", 3.615, **_POS, help="guess of the zero-stress lattice constant")
    load_steps: int = opt("int", 10, check=lambda n: n >= 1, expect="an integer >= 1")


@dataclass(frozen=True, kw_only=True)
class BoundarySpec:
    where: str = opt("str", help="'xmin', 'xmax', 'ymin', ... or a mesh label")
    kind: str = opt("str", choices=("displacement", "traction", "force", "temperature", "heat_flux"))
    value: tuple = opt("floats", help="one value per component")
    components: tuple = opt("ints", (), help="displacement: the constrained components (0 = x, 1 = y, "
                                             "2 = z; default all), one value each (e.g. rollers)")


@dataclass(frozen=True, kw_only=True)
class InitialSpec:
    kind: str = opt("str", "rest", choices=("rest", "wave_packet", "gaussian"))
    field: str = opt("str", "displacement", choices=("displacement", "temperature"))
    center: float = opt("float", 0.0)
    width: float = opt("float", 1.0, **_POS)
    amplitude: float = opt("float", 0.0)
    wavelength: float = opt("float", 1.0, **_POS)
    direction: int = opt("int", 1, check=lambda d: d in (-1, 1), expect="+1 or -1 (direction of travel)")


@dataclass(frozen=True, kw_only=True)
class ContinuumSpec:
    dim: int = opt("int", check=lambda d: d in (1, 2, 3), expect="1, 2 or 3")
    physics: str = opt("str", "elastodynamics",
                       choices=("elastodynamics", "elastostatics", "heat", "thermomechanics"))
    mesh: MeshSpec = opt("table", section=MeshSpec)
    material: MaterialSpec = opt("table", MaterialSpec(), section=MaterialSpec)
    boundary: tuple = opt("tables", (), section=BoundarySpec)
    initial: Optional[InitialSpec] = opt("table", None, section=InitialSpec)
    temperature: float = opt("float", 0.0, **_NONNEG, help="initial/reference temperature")
    # not from the [continuum] table: the case's unit system, set by parse_case
    units: str = dataclasses.field(default="lj", compare=False, repr=False)


@dataclass(frozen=True, kw_only=True)
class LatticeSpec:
    kind: str = opt("str", choices=("fcc", "bcc", "sc", "triangular", "chain"))
    constant: float = opt("float", **_POS)


@dataclass(frozen=True, kw_only=True)
class PotentialSpec:
    kind: str = opt("str", choices=("lj", "morse", "harmonic", "eam", "nnp"))
    epsilon: float = opt("float", 1.0, **_POS)
    sigma: float = opt("float", 1.0, **_POS)
    cutoff: float = opt("float", 2.5, **_POS)
    mode: str = opt("str", "smooth", choices=("cut", "shift", "smooth"))
    depth: float = opt("float", 1.0, **_POS, help="Morse D0")
    alpha: float = opt("float", 1.0, **_POS, help="Morse alpha")
    r0: float = opt("float", 1.0, **_POS, help="Morse/harmonic equilibrium distance")
    stiffness: float = opt("float", 1.0, **_POS, help="harmonic spring constant k")
    file: str = opt("str", "", help="EAM table: setfl (*.eam.alloy) or funcfl (*.eam); NNP: a model .npz (mscouple.mlip.model); relative to the case file")
    format: str = opt("str", "auto", choices=("auto", "setfl", "funcfl"),
                      help="EAM file format; auto: funcfl for *.eam, setfl otherwise")
    elements: tuple = opt("strs", (), help="EAM: the element of each basis site of the conventional cell "
                          "(1 name for chain/triangular/sc or for every site; bcc: 2 = corner, centre; fcc: 4 = "
                          "corner, xy, xz, yz face centres, e.g. L1_2 Ni3Al = ['Al', 'Ni', 'Ni', 'Ni']); "
                          "default: the file's first element. Masses come from the EAM file.")


@dataclass(frozen=True, kw_only=True)
class PatchSpec:
    name: str = opt("str")
    region: Box = opt("table", section=Box)
    lattice: LatticeSpec = opt("table", section=LatticeSpec)
    potential: PotentialSpec = opt("table", section=PotentialSpec)
    mass: float = opt("float", 1.0, **_POS)
    temperature: float = opt("float", 0.0, **_NONNEG,
                             help="pure MD: initial velocities at this temperature; coupled: the "
                                  "temperature the patch is held at (velocities at 2T from the "
                                  "lattice sites equipartition to T; the damping band is a bath at T)")
    seed: int = opt("int", 12345, check=nonnegative, expect="an integer >= 0")
    skin: float = opt("float", 0.3, **_POS)
    periodic: tuple = opt("ints", (), expect="0/1 per dimension")
    initial: Optional[InitialSpec] = opt("table", None, section=InitialSpec,
                                         help="a longitudinal wave packet in the atoms (chains)")
    fixed: Optional[Box] = opt("table", None, section=Box,
                               help="pure MD: atoms whose lattice sites lie in this box are held fixed "
                                    "(e.g. the bottom layers of an indented block)")


@dataclass(frozen=True, kw_only=True)
class HandshakeSpec:
    width: float = opt("float", **_POS, help="overlap band width")
    damping_width: float = opt("float", 0.0, **_NONNEG)
    damping: float = opt("float", 0.0, **_NONNEG, help="Langevin friction in the damping band (1/time)")
    multipliers: str = opt("str", "atoms", choices=("atoms", "nodes"))
    thermal: bool = opt("bool", False)
    filter_time: float = opt("float", 1.0, **_POS)
    thermal_every: int = opt("int", 10, check=positive, expect="an integer > 0 (MD steps per heat step)")
    ghost_force_correction: bool = opt("bool", False)
    highpass_damping: float = opt("float", 0.0, **_NONNEG,
                                  help="rate of the high-pass band damper for waves above the mesh cut-off "
                                       "(0: off; temperature 0 only)")
    highpass_cutoff: float = opt("float", 0.0, **_NONNEG,
                                 help="its corner frequency (rad/time); 0: the mesh cut-off 2c/h")
    statics: str = opt("str", "schwarz", choices=("schwarz", "blended"),
                       help="coupled statics: 'schwarz' (alternating Schwarz, mscouple/coupling/schwarz.py) or "
                            "'blended' (the blended energy of both scales minimised, "
                            "mscouple/coupling/blended_statics.py)")
    subcycle: int = opt("int", 1, check=positive,
                        expect="an integer >= 1 (MD steps per continuum force evaluation)",
                        help="bridging domain: the continuum's forces once per k MD steps "
                             "(impulse multiple time stepping, r-RESPA)")


@dataclass(frozen=True, kw_only=True)
class IndenterSpec:
    """A rigid indenter on one patch (:mod:`mscouple.atomistic.indenter`): force law
    F = K (R − r)² (LAMMPS ``fix indent``); apex at ``position + depth · direction``."""

    kind: str = opt("str", "sphere", choices=("sphere", "cylinder", "punch"))
    radius: float = opt("float", **_POS, help="R (length)")
    stiffness: float = opt("float", **_POS, help="K (energy/length^3)")
    position: tuple = opt("floats", help="apex at depth 0 (3 values; put it on the surface)")
    zero: str = opt("str", "position", choices=("position", "contact"),
                    help="statics: depth 0 at 'position', or at first contact with the surface relaxed "
                         "at depth 0 (the apex moved along direction until it touches an atom)")
    direction: tuple = opt("floats", (0.0, 0.0, -1.0), help="motion into the material (3 values)")
    axis: tuple = opt("floats", (1.0, 0.0, 0.0), help="cylinder axis, normal to direction (3 values)")
    control: str = opt("str", "displacement", choices=("displacement", "load"))
    depth_increment: float = opt("float", 0.0, **_NONNEG,
                                 help="statics: depth per increment (one increment per run step)")
    depths: tuple = opt("floats", (), help="statics, displacement control: the depth of each increment (increasing, "
                                           "> 0; one per run step: at least run.steps), instead of depth_increment")
    load_increment: float = opt("float", 0.0, **_NONNEG, help="statics, control = 'load': load per increment")
    increments: int = opt("int", 0, check=nonnegative, expect="an integer >= 0 (0: run.steps)")
    speed: float = opt("float", 0.0, **_NONNEG, help="dynamics: constant speed along direction")
    patch: str = opt("str", "", help="the patch it acts on (default: the first)")
    output: str = opt("str", "indentation", help="basename of the P(d) table (.csv) and plot (.png)")
    thickness: float = opt("float", 0.0, **_NONNEG,
                           help="sphere: the body's thickness under the apex on its fixed base; > 0 adds "
                                "hertz_load_layer, Hertz with the finite-thickness correction of a layer bonded "
                                "to a rigid base (mscouple.atomistic.indenter.bonded_layer_factor)")


@dataclass(frozen=True, kw_only=True)
class RunSpec:
    dt: float = opt("float", **_POS, help="time step")
    steps: int = opt("int", check=nonnegative, expect="a number of steps >= 0")
    mode: str = opt("str", "dynamics", choices=("dynamics", "statics"))
    tolerance: float = opt("float", 1e-8, **_POS)
    max_iterations: int = opt("int", 100, check=positive, expect="an integer > 0")
    max_energy_change: float = opt("float", 0.05, **_NONNEG,
                                   help="stop if E_total changes between two outputs by more than this "
                                        "fraction of the energy exchanged so far (the run's energy scale: "
                                        "initial energy above rest, heat handed over, thermostat work); "
                                        "a blow-up detector, on by default (0: no check)")
    watchdog_s: float = opt("float", 0.0, **_NONNEG,
                            help="end the job (MPI_Abort) when a rank's heartbeat is older than this many "
                                 "wall seconds, naming the rank and its last step (0: off)")


@dataclass(frozen=True, kw_only=True)
class OutputSpec:
    directory: str = opt("str", "runs/out")
    every: int = opt("int", 100, check=positive, expect="an integer > 0 (steps)")
    fields_every: int = opt("int", 0, check=nonnegative, expect="an integer >= 0 (0: never)")
    atoms_every: int = opt("int", 0, check=nonnegative, expect="an integer >= 0 (0: never)")
    checkpoint_every: int = opt("int", 0, check=nonnegative, expect="an integer >= 0 (0: never)")
    atoms_format: str = opt("str", "extxyz", choices=("extxyz", "lammps-dump", "h5md"))
    keep_checkpoints: int = opt("int", 3, check=nonnegative,
                                expect="an integer >= 0 (newest checkpoints kept; 0: keep all)")
    pin_checkpoints: tuple = opt("ints", (), check=lambda s: all(k >= 0 for k in s),
                                 expect="steps >= 0 whose checkpoints are never pruned")


@dataclass(frozen=True, kw_only=True)
class Case:
    units: str = opt("str", choices=("lj", "metal"), help='"lj" or "metal"')
    layout: LayoutSpec = opt("table", section=LayoutSpec, help="ranks per role")
    run: RunSpec = opt("table", section=RunSpec, help="dt and steps")
    title: str = opt("str", "")
    continuum: Optional[ContinuumSpec] = opt("table", None, section=ContinuumSpec)
    patches: tuple = opt("tables", (), section=PatchSpec)
    handshake: Optional[HandshakeSpec] = opt("table", None, section=HandshakeSpec)
    indenter: Optional[IndenterSpec] = opt("table", None, section=IndenterSpec)
    output: OutputSpec = opt("table", OutputSpec(), section=OutputSpec)
    # not from the file:
    source: str = dataclasses.field(default="", compare=False, repr=False)
    text: str = dataclasses.field(default="", compare=False, repr=False)

    @property
    def total_ranks(self) -> int:
        return self.layout.continuum + sum(self.layout.patches.values())

    @property
    def digest(self) -> str:
        """SHA-256 of the case text (checkpoints refuse another case's digest)."""
        return hashlib.sha256(self.text.encode()).hexdigest()

    def patch(self, name: str) -> PatchSpec:
        for p in self.patches:
            if p.name == name:
                return p
        raise KeyError(name)


# ---------------------------------------------------------------------------------------
# Checks across sections (geometry, layout consistency), run after typed parsing.

def _check_case(case: Case, ctx: Context) -> None:
    lay = case.layout
    if lay.continuum > 0 and case.continuum is None:
        raise ctx.error("layout.continuum", lay.continuum, "0 when the case has no [continuum] section")
    if lay.continuum == 0 and case.continuum is not None:
        raise ctx.error("layout.continuum", 0, "at least 1 rank for the [continuum] section")
    names = [p.name for p in case.patches]
    if len(set(names)) != len(names):
        raise ctx.error("patches", names, "unique patch names")
    for name in lay.patches:
        if name not in names:
            raise ctx.error(f"layout.patches.{name}", lay.patches[name],
                            f"a patch defined as [patches.{name}] (defined: {', '.join(names) or 'none'})")
    for name in names:
        if name not in lay.patches:
            raise ctx.error("layout.patches", dict(lay.patches), f"a rank count for patch '{name}'")
    if case.total_ranks < 1:
        raise ctx.error("layout", "0 ranks", "at least one rank in all")

    dim = case.continuum.dim if case.continuum else None
    if case.continuum is not None:
        c = case.continuum
        m = c.mesh
        if m.kind in ("box", "graded"):
            for key, val in (("lo", m.lo), ("hi", m.hi), ("cells", m.cells)):
                if len(val) != dim:
                    raise ctx.error(f"continuum.mesh.{key}", list(val), f"{dim} values (continuum.dim = {dim})")
            for k in range(dim):
                if not m.hi[k] > m.lo[k]:
                    raise ctx.error(f"continuum.mesh.hi[{k}]", m.hi[k], f"a value > mesh.lo[{k}] = {m.lo[k]:g}")
        if m.kind == "graded" and (len(m.fine_lo) != dim or len(m.fine_hi) != dim):
            raise ctx.error("continuum.mesh.fine_lo", list(m.fine_lo), f"{dim} values for a graded mesh")
        if m.kind == "gmsh":
            if not m.file:
                raise ctx.error("continuum.mesh.file", "", "the path of a Gmsh .msh file")
            path = _resolve(case.source, m.file)
            if not os.path.isfile(path):
                raise ctx.error("continuum.mesh.file", m.file, f"an existing .msh file (looked for {path})")
        mat = c.material
        if mat.model == "cubic" and not (mat.c11 > 0 and mat.c44 > 0 and mat.c11 > abs(mat.c12)):
            raise ctx.error("continuum.material.c11", mat.c11, "positive-definite cubic constants (c11 > |c12|, c44 > 0)")
        if mat.model == "from_patch" and mat.patch not in names:
            raise ctx.error("continuum.material.patch", mat.patch, f"the name of a patch ({', '.join(names)})")
        if mat.temperature > 0 and mat.model != "from_patch":
            raise ctx.error("continuum.material.temperature", mat.temperature, "0 unless model = 'from_patch'")
        if mat.temperature > 0 and case.patch(mat.patch).lattice.kind not in ("fcc", "bcc", "sc"):
            raise ctx.error("continuum.material.temperature", mat.temperature,
                            "0 for a non-cubic patch lattice (finite-temperature constants: fcc, bcc, sc)")
        if mat.temperature > 0 and mat.prestress == "thermal":
            if c.physics not in ("elastodynamics", "thermomechanics"):
                raise ctx.error("continuum.material.prestress", mat.prestress,
                                f"'none' with physics = {c.physics!r} (the thermal pre-stress balances a patch "
                                "at temperature in bridging-domain dynamics; a statically relaxed patch is at 0 K)")
            if m.kind in ("box", "graded"):
                p = case.patch(mat.patch)
                touch = [k for k in range(dim) if p.region.lo[k] <= m.lo[k] or p.region.hi[k] >= m.hi[k]]
                if touch:
                    raise ctx.error("continuum.material.prestress", mat.prestress,
                                    f"'none' when patch {p.name!r} reaches the mesh boundary along axis "
                                    f"{touch[0]} (the pre-stress's boundary traction needs continuum weight 1 "
                                    "on the outer boundary)")
        if mat.model == "dislocation_density":
            if c.physics != "elastostatics":
                raise ctx.error("continuum.physics", c.physics, "'elastostatics' (model = 'dislocation_density' "
                                "is quasi-static plasticity)")
            if dim not in (2, 3) or mat.plane != "strain":
                raise ctx.error("continuum.dim", dim, "2 (plane strain) or 3 for model = 'dislocation_density'")
            if case.patches:  # around an atomistic patch: Schwarz statics only (mscouple/plasticity/coupled.py)
                if case.handshake is None or case.run.mode != "statics":
                    raise ctx.error("run.mode", case.run.mode, "'statics' with a [handshake] (the dislocation-density "
                                    "continuum couples to a patch by Schwarz statics only; no dynamics)")
                if len(case.patches) != 1 or case.indenter is not None:
                    raise ctx.error("patches", names, "one patch and no [indenter] around a dislocation-density "
                                    "continuum")
                if lay.continuum != 1:
                    raise ctx.error("layout.continuum", lay.continuum, "1 (the plastic continuum around a patch "
                                    "runs on one rank)")
            if mat.patch and mat.patch not in names:
                raise ctx.error("continuum.material.patch", mat.patch, f"the name of a patch ({', '.join(names)}) "
                                "whose Cauchy-Born constants give K, mu and b")
            if mat.patch and mat.potential_file:
                raise ctx.error("continuum.material.potential_file", mat.potential_file,
                                "no file with continuum.material.patch (K, mu and b from one source)")
            if mat.potential_file:
                if case.units != "metal":
                    raise ctx.error("units", case.units, "'metal' with continuum.material.potential_file (EAM)")
                if not os.path.isfile(_resolve(case.source, mat.potential_file)):
                    raise ctx.error("continuum.material.potential_file", mat.potential_file, "an existing EAM file")
            elif not (mat.burgers > 0 or mat.patch):
                raise ctx.error("continuum.material.burgers", mat.burgers, "a positive Burgers vector "
                                "(or continuum.material.potential_file, or continuum.material.patch)")
        ncomp = {"temperature": 1, "heat_flux": 1}
        for i, bc in enumerate(c.boundary):
            want = ncomp.get(bc.kind, dim)
            if bc.components:
                if bc.kind != "displacement":
                    raise ctx.error(f"continuum.boundary[{i}].components", list(bc.components),
                                    "no components for kind '" + bc.kind + "' (displacement conditions only)")
                if any(k < 0 or k >= dim for k in bc.components) or len(set(bc.components)) != len(bc.components):
                    raise ctx.error(f"continuum.boundary[{i}].components", list(bc.components),
                                    f"distinct components in 0..{dim - 1}")
                want = len(bc.components)
            if len(bc.value) != want:
                raise ctx.error(f"continuum.boundary[{i}].value", list(bc.value), f"{want} value(s) for kind '{bc.kind}'")
            if bc.where not in _SIDES[:2 * dim] and not bc.where:
                raise ctx.error(f"continuum.boundary[{i}].where", bc.where, f"one of {', '.join(_SIDES[:2 * dim])} or a mesh label")

    for i, p in enumerate(case.patches):
        key = f"patches.{p.name}"
        pd = dim if dim is not None else len(p.region.lo)
        for k2, val in (("lo", p.region.lo), ("hi", p.region.hi)):
            if len(val) != pd:
                raise ctx.error(f"{key}.region.{k2}", list(val), f"{pd} values")
        for k in range(pd):
            if not p.region.hi[k] > p.region.lo[k]:
                raise ctx.error(f"{key}.region.hi[{k}]", p.region.hi[k], f"a value > region.lo[{k}] = {p.region.lo[k]:g}")
        if case.continuum is not None and case.continuum.mesh.kind != "gmsh":
            m = case.continuum.mesh
            for k in range(pd):
                if p.region.lo[k] < m.lo[k] - 1e-12 or p.region.hi[k] > m.hi[k] + 1e-12:
                    raise ctx.error(f"{key}.region", {"lo": list(p.region.lo), "hi": list(p.region.hi)},
                                    f"a region inside the continuum domain {list(m.lo)}..{list(m.hi)}")
        if p.fixed is not None and (case.handshake is not None or len(p.fixed.lo) != 3 or len(p.fixed.hi) != 3):
            raise ctx.error(f"{key}.fixed", "a table", "lo and hi with 3 values each, in a pure-MD case (coupled "
                            "patches are held by the continuum)")
        if p.periodic and len(p.periodic) != 3:
            raise ctx.error(f"{key}.periodic", list(p.periodic), "3 flags (x, y, z)")
        pot = p.potential
        if pot.kind in ("eam", "nnp"):
            what = {"eam": "EAM", "nnp": "NNP"}[pot.kind]
            if case.units != "metal":
                raise ctx.error("units", case.units, f"'metal' for the {what} potential of patch '{p.name}' "
                                f"({what} files are in eV, Å and g/mol)")
            if not pot.file:
                raise ctx.error(f"{key}.potential.file", "", {"eam": "an EAM setfl/funcfl file for kind = 'eam'",
                                                              "nnp": "an NNP model file (.npz) for kind = 'nnp'"}[pot.kind])
            path = os.path.normpath(_resolve(case.source, pot.file))
            if not os.path.isfile(path):
                raise ctx.error(f"{key}.potential.file", pot.file, f"an existing {what} file (looked for {path})")
        smallest = min(p.region.hi[k] - p.region.lo[k] for k in range(pd))
        if p.lattice.constant > smallest:
            raise ctx.error(f"{key}.lattice.constant", p.lattice.constant,
                            f"a value smaller than the patch region ({smallest:g})")

    if case.handshake is not None:
        if not case.patches or case.continuum is None:
            raise ctx.error("handshake", "a table", "a case with both [continuum] and [patches.*]")
        for p in case.patches:
            half = min(p.region.hi[k] - p.region.lo[k] for k in range(len(p.region.lo))) / 2
            if case.handshake.width >= half:
                raise ctx.error("handshake.width", case.handshake.width,
                                f"a band narrower than half of patch '{p.name}' ({half:g})")
            if case.handshake.damping_width > case.handshake.width:
                raise ctx.error("handshake.damping_width", case.handshake.damping_width,
                                f"at most the band width {case.handshake.width:g} (damping acts inside the band)")
            m = case.continuum.mesh
            if m.kind == "box":
                h = max((m.hi[k] - m.lo[k]) / m.cells[k] for k in range(case.continuum.dim))
                if case.handshake.width < h - 1e-12:
                    raise ctx.error("handshake.width", case.handshake.width,
                                    f"a band at least one element wide (element size {h:g})")
    if case.indenter is not None:
        _check_indenter(case, ctx)


def _check_indenter(case: Case, ctx: Context) -> None:
    ind = case.indenter
    if not case.patches:
        raise ctx.error("indenter", "a table", "a case with an atomistic patch for the indenter to act on")
    names = [p.name for p in case.patches]
    if ind.patch and ind.patch not in names:
        raise ctx.error("indenter.patch", ind.patch, f"the name of a patch ({', '.join(names)})")
    for key in ("position", "direction", "axis"):
        if len(getattr(ind, key)) != 3:
            raise ctx.error(f"indenter.{key}", list(getattr(ind, key)), "3 values (x, y, z)")
    if ind.thickness and ind.kind != "sphere":
        raise ctx.error("indenter.thickness", ind.thickness, "0 unless kind = 'sphere' (the correction is Hertz's)")
    statics = case.run.mode == "statics"
    if statics:
        if ind.depths:
            d = list(ind.depths)
            if ind.control != "displacement" or ind.depth_increment:
                raise ctx.error("indenter.depths", d, "a schedule with control = 'displacement' and no depth_increment")
            if not (d[0] > 0 and all(b > a for a, b in zip(d, d[1:]))) or len(d) < case.run.steps:
                raise ctx.error("indenter.depths", d, f"increasing depths > 0, at least run.steps = {case.run.steps}")
        elif ind.control == "displacement" and not ind.depth_increment > 0:
            raise ctx.error("indenter.depth_increment", ind.depth_increment, "a depth per increment > 0 in statics")
        if ind.control == "load" and not ind.load_increment > 0:
            raise ctx.error("indenter.load_increment", ind.load_increment, "a load per increment > 0 (control = 'load')")
        if ind.increments and ind.increments != case.run.steps:
            raise ctx.error("indenter.increments", ind.increments,
                            f"run.steps = {case.run.steps} (statics: one increment per run step) or 0")
    elif ind.control == "load":
        raise ctx.error("indenter.control", "load", "'displacement' in dynamics (load control is for statics)")
    elif ind.zero != "position":
        raise ctx.error("indenter.zero", ind.zero, "'position' in dynamics (first contact is defined on the "
                        "surface relaxed at depth 0, in statics)")
    if case.handshake is None and case.run.mode == "statics" and case.continuum is not None:
        raise ctx.error("indenter", "a table", "a [handshake] (Schwarz statics) when the case has a continuum")
    if ind.control == "load" and case.handshake is not None:
        raise ctx.error("indenter.control", "load", "'displacement' in coupled runs (load control is pure-MD statics)")


_SIDES = ("xmin", "xmax", "ymin", "ymax", "zmin", "zmax")


def _resolve(source: str, path: str) -> str:
    if os.path.isabs(path) or not source:
        return path
    return os.path.join(os.path.dirname(os.path.abspath(source)), path)


def parse_case(text: str, filename: str = "<case>", overrides: Sequence[str] = ()) -> Case:
    """Validate TOML *text*; raise ``ConfigError`` with one clear line on the first problem.

    *overrides*: ``"key.path=value"`` items (``mscouple run --set``, :mod:`mscouple.overrides`)
    applied to the parsed table before validation. With overrides, ``Case.text`` is the
    effective case (a ``# with --set …`` comment line, then the table as TOML), so the output
    metadata and the restart fingerprint see what was run.
    """
    ctx = Context(filename)
    try:
        table = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{filename}: not valid TOML: {exc}") from None
    if overrides:
        import tomli_w

        apply_overrides(table, [parse_override(o) for o in overrides], filename)
        text = describe(overrides) + tomli_w.dumps(table)
    lay = table.get("layout")
    if isinstance(lay, dict) and "patches" in lay:
        pr = lay["patches"]
        if not isinstance(pr, dict):
            raise ctx.error("layout.patches", pr, "a table { name = ranks }")
        for k, v in pr.items():
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ctx.error(f"layout.patches.{k}", v, "a number of ranks >= 1")
    case = build(Case, table, ctx)
    case = dataclasses.replace(case, source=filename, text=text)
    _check_case(case, ctx)
    return _bind(case)


def _bind(case: Case) -> Case:
    """What later stages need from the whole case: potential files as absolute paths
    (resolved against the case file's folder) and the unit system on the continuum."""
    patches = tuple(p if not p.potential.file else dataclasses.replace(
        p, potential=dataclasses.replace(p.potential, file=os.path.normpath(_resolve(case.source, p.potential.file))))
        for p in case.patches)
    cont = case.continuum
    if cont is not None:
        cont = dataclasses.replace(cont, units=case.units)
        if cont.material.potential_file:
            cont = dataclasses.replace(cont, material=dataclasses.replace(
                cont.material, potential_file=os.path.normpath(_resolve(case.source, cont.material.potential_file))))
    return dataclasses.replace(case, patches=patches, continuum=cont)


def load_case(path: str, overrides: Sequence[str] = ()) -> Case:
    """Read and validate the case file at *path*, with ``--set`` *overrides* applied."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read case file ({exc.strerror})") from None
    return parse_case(decode_case_bytes(raw, path), path, overrides)


_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


def decode_case_bytes(raw: bytes, path: str) -> str:
    """The text of a case file, or a ``ConfigError`` naming what the file is instead of
    the expected UTF-8 TOML text (HDF5, UTF-16, other binary data, Latin-1 or other
    8-bit text)."""
    expected = "expected a UTF-8 TOML text file (the case)"
    if raw.startswith(_HDF5_MAGIC) or raw[512:520] == _HDF5_MAGIC:
        raise ConfigError(f"{path}: is an HDF5 file (a run output or checkpoint?), {expected}")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")) or (len(raw) > 3 and max(raw[0::2].count(0), raw[1::2].count(0)) > len(raw) // 4):
        raise ConfigError(f"{path}: is UTF-16 text, {expected}: save it as UTF-8")
    if b"\x00" in raw:
        raise ConfigError(f"{path}: is binary data (NUL bytes), {expected}")
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]  # a UTF-8 byte-order mark is harmless
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(f"{path}: line {line}: byte 0x{raw[exc.start]:02x} is not UTF-8 (Latin-1 or another "
                          f"8-bit encoding?), {expected}: save it as UTF-8") from None
