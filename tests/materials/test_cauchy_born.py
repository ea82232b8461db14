"""Cauchy–Born constants from the patch for every lattice and potential (issue 12, item 3).

For chain, triangular, sc, bcc and fcc lattices of LJ, Morse and EAM (Cu, Zhou et al. 2004)
potentials, the continuum material built from ``material = { model = "from_patch" }``
carries longitudinal waves along x at the speed of the atoms' long waves. The atomistic
speed is measured independently with the MD engine (compiled kernels): ρ c² = dσ_xx/dε_xx
of the periodic crystal under a uniaxial strain ε (central difference, h = 1e-5: error
~h² ≈ 1e-10), which at zero stress is the long-wave limit of the dynamical matrix along x.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from mpi4py import MPI

from helpers.mpi_launch import ROOT
from mscouple.atomistic import lattice as L
from mscouple.atomistic.box import Box
from mscouple.atomistic.system import MDSystem
from mscouple.builders import elastic_material, make_potential, patch_constants, patch_mass
from mscouple.config import parse_case
from mscouple.continuum.factory import plane_mode
from mscouple.errors import ConfigError
from mscouple.scales import estimates
from mscouple.units import get_units

CU = f"{ROOT}/tests/data/Cu_zhou04.eam.alloy"
POTENTIALS = {
    "lj": ("lj", 'kind = "lj", epsilon = 1.0, sigma = 1.0, cutoff = 2.5, mode = "smooth"', 2.0),
    "morse": ("lj", 'kind = "morse", depth = 1.0, alpha = 5.0, r0 = 1.0, cutoff = 2.0, mode = "smooth"', 1.5),
    "eam": ("metal", f'kind = "eam", file = "{CU}"', None),
}
#: lattice constants near zero stress (the constants are computed at the exact a0)
GUESS = {
    "lj": {"chain": 1.12, "triangular": 1.11, "sc": 1.08, "bcc": 1.25, "fcc": 1.56},
    "morse": {"chain": 1.0, "triangular": 1.0, "sc": 0.94, "bcc": 1.09, "fcc": 1.37},
    "eam": {"chain": 2.26, "triangular": 2.45, "sc": 2.41, "bcc": 2.93, "fcc": 3.615},
}
DIM = {"chain": 1, "triangular": 2, "sc": 3, "bcc": 3, "fcc": 3}
STABLE_3D = {"fcc"}  # sc and bcc of these pair potentials and of this Cu EAM are unstable in shear


def make_case(pot: str, kind: str, dim: int, a: float | None = None):
    units, line, mass = POTENTIALS[pot]
    a = GUESS[pot][kind] if a is None else a
    lo, hi = [0.0] * dim, [20.0 * a] * dim
    mass_line = f"mass = {mass}" if mass else ""
    text = f"""
units = "{units}"
[layout]
continuum = 1
patches = {{ p = 1 }}
[continuum]
dim = {dim}
mesh = {{ kind = "box", cells = {[4] * dim}, lo = {lo}, hi = {hi} }}
material = {{ model = "from_patch", patch = "p" }}
[patches.p]
region = {{ lo = {[5.0 * a] * dim}, hi = {[15.0 * a] * dim} }}
lattice = {{ kind = "{kind}", constant = {a} }}
potential = {{ {line} }}
{mass_line}
[run]
dt = 0.001
steps = 1
"""
    return parse_case(text, "<test>")


def md_crystal(patch, units: str, a: float, eps: float):
    """A periodic crystal of the patch's lattice at constant a, stretched by 1 + eps
    along x; returns (system, atoms, volume per atom at the strained state)."""
    pot = make_potential(patch.potential)
    kind = patch.lattice.kind
    reach = 1.3 * (pot.cutoff + 0.1)
    if kind == "chain":
        n = int(math.ceil(reach / a)) + 1
        x = np.zeros((n, 3))
        x[:, 0] = a * np.arange(n)
        box = Box([0.0, -50.0, -50.0], [n * a, 50.0, 50.0], (True, False, False))
        omega = a
    elif kind == "triangular":
        n = int(math.ceil(reach / a)) + 1
        ny = 2 * int(math.ceil(reach / (math.sqrt(3) * a))) + 2
        x, box = L.triangular(a, (n, ny // 2), periodic=(True, True, False))
        omega = math.sqrt(3) / 2 * a * a
    else:
        n = int(math.ceil(reach / a)) + 1
        x, box = L.cubic(kind, a, (n, n, n), periodic=(True, True, True))
        omega = a ** 3 / {"sc": 1, "bcc": 2, "fcc": 4}[kind]
    s = np.array([1.0 + eps, 1.0, 1.0])
    box = Box(np.asarray(box.lo) * s, np.asarray(box.hi) * s, box.periodic)
    mass = patch_mass(patch, pot)
    md = MDSystem(MPI.COMM_SELF, box, np.asarray(x) * s, pot, masses=mass, skin=0.1, units=units)
    return md, len(x), omega * (1.0 + eps), mass


def md_longitudinal_speed(case, a0: float, h: float = 1e-5) -> tuple[float, float]:
    """(c, residual σ_xx / (ρ c²)) of the MD crystal at a0, from dσ_xx/dε (Cauchy stress)."""
    patch = case.patch("p")
    sig, rho = {}, None
    for eps in (-h, 0.0, h):
        md, n, vol, mass = md_crystal(patch, case.units, a0, eps)
        md.compute_forces(energy=True, virial=True)
        sig[eps] = -md.virial()[0] / (n * vol)  # Cauchy stress, tension positive
        if eps == 0.0:
            rho = mass / vol
    C11 = (sig[h] - sig[-h]) / (2 * h)
    mvv2e = get_units(case.units).mvv2e
    return math.sqrt(C11 / (rho * mvv2e)), sig[0.0] / C11


COMBOS = [(pot, kind) for pot in POTENTIALS for kind in DIM]


@pytest.mark.parametrize("pot, kind", COMBOS, ids=[f"{p}-{k}" for p, k in COMBOS])
def test_continuum_wave_speed_is_the_atomistic_long_wave_speed(pot, kind):
    dim = DIM[kind] if (DIM[kind] < 3 or kind in STABLE_3D) else 1
    case = make_case(pot, kind, dim)
    cb = patch_constants(case.patch("p"))
    assert abs(cb.a0 - GUESS[pot][kind]) < 0.03 * cb.a0
    c_md, residual = md_longitudinal_speed(case, cb.a0)
    assert abs(residual) < 1e-9  # a0 is at zero stress in the MD engine too
    mat = elastic_material(case.continuum, case.patch("p"))
    c_fe = math.sqrt(mat.voigt(dim, plane_mode(case.continuum.material))[0, 0] / mat.inertial_density)
    assert c_fe == pytest.approx(c_md, rel=1e-6)
    assert cb.longitudinal_speed(get_units(case.units).mvv2e) == pytest.approx(c_md, rel=1e-6)


@pytest.mark.parametrize("pot, kind", [(p, k) for p in POTENTIALS for k in ("sc", "bcc")])
def test_unstable_cubic_lattices_are_refused_in_2d_and_3d(pot, kind):
    with pytest.raises(ConfigError, match=rf"the {kind} lattice of patch 'p' is not mechanically stable .*C44 = "):
        case = make_case(pot, kind, 3)
        elastic_material(case.continuum, case.patch("p"))


def test_eam_copper_constants_are_copper():
    """Zhou et al.'s Cu: a0 = 3.615 Å, C11, C12, C44 = 169.6, 122.1, 75.7 GPa (fit targets
    170, 122.5, 75.8 within 1 %) and the [100] longitudinal speed √(C11/ρ) ≈ 4.36 km/s."""
    case = make_case("eam", "fcc", 3)
    cb = patch_constants(case.patch("p"))
    gpa = 160.21766208  # eV/Å³ in GPa
    assert cb.a0 == pytest.approx(3.615, rel=1e-4)
    assert [cb.c11 * gpa, cb.c12 * gpa, cb.c44 * gpa] == pytest.approx([170.0, 122.5, 75.8], rel=0.01)
    assert cb.density * 1.66053906660 == pytest.approx(8.93, rel=0.01)  # g/cm³
    assert cb.longitudinal_speed(get_units("metal").mvv2e) == pytest.approx(43.6, rel=0.01)  # Å/ps


def test_check_prints_constants_and_warns_off_zero_stress():
    cb = patch_constants(make_case("lj", "fcc", 3).patch("p"))
    case = make_case("lj", "fcc", 3, a=cb.a0)
    est = {e.name: e for e in estimates(case)}
    assert est["Cauchy-Born C11 (patch p)"].value == pytest.approx(cb.c11, rel=1e-14)
    assert est["long-wave longitudinal speed (patch p)"].value == pytest.approx(
        est["longitudinal wave speed c (along x)"].value, rel=1e-12)
    assert est["zero-stress lattice constant a0 (patch p)"].note == ""
    off = make_case("lj", "fcc", 3, a=1.60)
    note = {e.name: e for e in estimates(off)}["zero-stress lattice constant a0 (patch p)"].note
    assert "not at zero stress" in note and f"{cb.a0:.10g}" in note
