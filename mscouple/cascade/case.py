"""A cascade → KMC case file (TOML): ``[material]``, ``[cascade]`` and ``[kmc]`` sections
(and an optional ``[output]`` with the run folder of ``mscouple run``), validated once at
the edge (one-line errors naming file, key, value, expectation).

Units: metal for the MD (Å, ps, eV, amu, K); the KMC section in s (see
:mod:`mscouple.kmc.case`).
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass

from ..errors import ConfigError
from ..kmc.case import KMCSection
from ..schema import Context, build, nonnegative, opt, positive


@dataclass(frozen=True, kw_only=True)
class MaterialSection:
    potential: str = opt("str", help="EAM setfl/funcfl file (relative to the case file)")
    element: str = opt("str", "Cu")
    atomic_number: int = opt("int", expect="Z >= 1", check=lambda z: z >= 1)
    lattice: str = opt("str", "fcc", choices=("fcc",))
    a: float = opt("float", expect="a lattice constant > 0 Å", check=positive)
    zbl_r1: float = opt("float", 1.0, expect="> 0 Å", check=positive)
    zbl_r2: float = opt("float", 2.0, expect="> zbl_r1 Å", check=positive)


@dataclass(frozen=True, kw_only=True)
class CascadeSection:
    cells: int = opt("int", expect="conventional cells per edge >= 4", check=lambda n: n >= 4)
    energy: float = opt("float", expect="a PKA energy > 0 eV", check=positive)
    direction: tuple = opt("floats", None, expect="three numbers, not all zero",
                           check=lambda d: len(d) == 3 and any(d))
    temperature: float = opt("float", 0.0, expect="a temperature >= 0 K", check=nonnegative)
    equilibrate: float = opt("float", 0.0, expect="a time >= 0 ps", check=nonnegative)
    duration: float = opt("float", expect="a time > 0 ps", check=positive)
    xmax: float = opt("float", 0.05, expect="a distance > 0 Å", check=positive)
    dt_max: float = opt("float", 2e-3, expect="a time step > 0 ps", check=positive)
    border: str = opt("str", "langevin", choices=("langevin", "continuum"),
                      help="how the heat leaves: a Langevin layer at the faces of the periodic "
                           "block, or a heat continuum around a free block (power-matched coupling)")
    border_width: float = opt("float", 3.0, expect="a width >= 0 Å", check=nonnegative)
    border_damping: float = opt("float", 0.1, expect="a time > 0 ps", check=positive)
    bath_conductivity: float = opt("float", 20.0, expect="a conductivity > 0 W/(m K)", check=positive,
                                   help="border = 'continuum': conductivity of the heat bath")
    bath_interval: float = opt("float", 0.0005, expect="a time > 0 ps", check=positive,
                               help="border = 'continuum': coupling interval (one heat step; it also "
                                    "caps the MD step)")
    bath_filter: float = opt("float", 0.0, expect="a time >= 0 ps", check=nonnegative,
                             help="border = 'continuum': interface temperature filter time")
    bath_band_cells: int = opt("int", 2, expect="an integer >= 1", check=lambda n: n >= 1,
                               help="border = 'continuum': band width = mesh spacing, in cells")
    bath_pad_cells: int = opt("int", 3, expect="an integer >= 1", check=lambda n: n >= 1,
                              help="border = 'continuum': continuum layers beyond the block")
    stopping_gamma: float = opt("float", 0.0, expect="a friction >= 0 1/ps", check=nonnegative)
    stopping_cut: float = opt("float", 10.0, expect="an energy >= 0 eV", check=nonnegative)
    frame_every: float = opt("float", 0.05, expect="a time > 0 ps", check=positive)
    relax_fmax: float = opt("float", 0.01, expect="a force > 0 eV/Å", check=positive)
    seed: int = opt("int", 1, expect="an integer >= 0", check=lambda n: n >= 0)


@dataclass(frozen=True, kw_only=True)
class OutputSection:
    directory: str = opt("str", "runs/cascade_kmc",
                         help="the run folder of `mscouple run` (relative to the working directory)")


@dataclass(frozen=True, kw_only=True)
class CascadeCase:
    material: MaterialSection = opt("table", section=MaterialSection)
    cascade: CascadeSection = opt("table", section=CascadeSection)
    kmc: KMCSection = opt("table", section=KMCSection)
    output: OutputSection = opt("table", OutputSection(), section=OutputSection)
    title: str = opt("str", "")
    folder: str = ""

    def path(self, name: str) -> str:
        """A file name of the case resolved against the case file's folder."""
        return name if os.path.isabs(name) else os.path.join(self.folder, name)


def is_cascade_case(table: dict) -> bool:
    """A parsed case table is a cascade → KMC case (``mscouple run`` dispatches it to
    :mod:`mscouple.cascade.cli`) when it has a ``[cascade]`` section."""
    return isinstance(table.get("cascade"), dict)


def load_case(path: str | os.PathLike, overrides=()) -> CascadeCase:
    """Read and validate a cascade → KMC case file, with ``--set`` ``overrides``
    (``key=value`` strings, :mod:`mscouple.overrides`) applied first."""
    from ..overrides import apply_overrides, parse_override

    try:
        with open(path, "rb") as fh:
            table = tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the case file ({exc.strerror or exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    ctx = Context(os.path.basename(str(path)))
    if overrides:
        apply_overrides(table, [parse_override(o) for o in overrides], ctx.filename)
    case = build(CascadeCase, table, ctx)
    m = case.material
    if m.zbl_r2 <= m.zbl_r1:
        raise ConfigError(f"{ctx.filename}: material.zbl_r2 = {m.zbl_r2:g}: expected > material.zbl_r1 = {m.zbl_r1:g}")
    c = case.cascade
    if c.border == "continuum":
        if c.temperature <= 0:
            raise ConfigError(f"{ctx.filename}: cascade.temperature = {c.temperature:g}: expected > 0 K "
                              "with cascade.border = 'continuum' (the power-matched thermostat needs "
                              "moving atoms; the bath is at this temperature)")
        k = c.bath_band_cells
        if c.cells % k or c.cells < 2 * k + 2:
            raise ConfigError(f"{ctx.filename}: cascade.cells = {c.cells}: expected a multiple of "
                              f"cascade.bath_band_cells = {k} and >= {2 * k + 2} with border = 'continuum'")
    return CascadeCase(material=m, cascade=case.cascade, kmc=case.kmc, output=case.output,
                       title=case.title, folder=os.path.dirname(os.path.abspath(path)))
