"""Scale estimates for a case: sizes, dimensionless numbers, memory — without computing.

Used by ``mscouple check`` to show, before a run, whether the scale separation and the
time steps a method assumes hold. Every number is a cheap closed-form estimate.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from .config import Case, PatchSpec

# Atoms per conventional cell and the cell's measure (length, area or volume) / a^dim.
_LATTICE = {
    "chain": (1, 1, 1.0),
    "triangular": (1, 2, math.sqrt(3) / 2),
    "sc": (1, 3, 1.0),
    "bcc": (2, 3, 1.0),
    "fcc": (4, 3, 1.0),
}


def atom_estimate(p: PatchSpec) -> int:
    """Number of atoms that fill the patch region with its lattice."""
    per_cell, ldim, measure = _LATTICE[p.lattice.kind]
    a = p.lattice.constant
    ext = [h - l for l, h in zip(p.region.lo, p.region.hi)]
    # a lattice of lower dimension than the region fills only its first ldim directions
    vol = 1.0
    for k in range(min(ldim, len(ext))):
        vol *= ext[k]
    if ldim > len(ext):  # 3D lattice in a 2D/1D region: one layer
        vol *= a ** (ldim - len(ext))
    return max(1, int(round(per_cell * vol / (measure * a ** ldim))))


def number_density(p: PatchSpec) -> float:
    per_cell, ldim, measure = _LATTICE[p.lattice.kind]
    return per_cell / (measure * p.lattice.constant ** ldim), ldim


def neighbour_estimate(p: PatchSpec) -> int:
    """Neighbours within cutoff + skin in a half list."""
    rho, ldim = number_density(p)
    rc = _cutoff(p) + p.skin
    ball = {1: 2 * rc, 2: math.pi * rc**2, 3: 4 / 3 * math.pi * rc**3}[ldim]
    return max(1, int(math.ceil(rho * ball / 2)))


def _cutoff(p: PatchSpec) -> float:
    pot = p.potential
    if pot.kind == "harmonic":
        return 1.2 * pot.r0
    return pot.cutoff


@dataclass
class Estimate:
    name: str
    value: float
    note: str = ""


def estimates(case: Case) -> list[Estimate]:
    """Dimensionless numbers and sizes that can be known from the case alone."""
    out: list[Estimate] = []
    dt = case.run.dt
    c = case.continuum
    if c is not None and c.mesh.kind in ("box", "graded"):
        dim = c.dim
        ext = [hi - lo for lo, hi in zip(c.mesh.lo, c.mesh.hi)]
        h = min(e / n for e, n in zip(ext, c.mesh.cells))
        if c.mesh.kind == "graded":
            h /= c.mesh.coarsening
        ncells = math.prod(c.mesh.cells) * (1 if not c.mesh.simplex or dim == 1 else (2 if dim == 2 else 6))
        nnodes = math.prod(n + 1 for n in c.mesh.cells)
        out.append(Estimate("continuum nodes", nnodes))
        out.append(Estimate("continuum cells", ncells))
        out.append(Estimate("smallest element size h", h))
        mat = c.material
        if c.physics in ("elastodynamics", "thermomechanics"):
            cw = continuum_wave_speed(case)
            if cw is not None:
                cfl = cw * dt / h
                out.append(Estimate("longitudinal wave speed c (along x)", cw))
                out.append(Estimate("CFL number c*dt/h", cfl,
                                    "unstable: must be < 1 for central differences" if cfl >= 1 else ""))
        if c.physics in ("heat", "thermomechanics"):
            alpha = mat.conductivity / (mat.density * mat.heat_capacity)
            out.append(Estimate("thermal diffusivity alpha", alpha))
            out.append(Estimate("diffusion number alpha*dt/h^2", alpha * dt / h**2))
        H = max(ext)
        for p in case.patches:
            ell = max(hi - lo for lo, hi in zip(p.region.lo, p.region.hi))
            out.append(Estimate(f"l/H (patch {p.name} / domain)", ell / H,
                                "weak scale separation" if ell / H > 0.5 else ""))
            out.append(Estimate(f"h/a (element / lattice, patch {p.name})", h / p.lattice.constant))
    for p in case.patches:
        out.append(Estimate(f"atoms in patch {p.name}", atom_estimate(p)))
        out.extend(lattice_estimates(case, p))
    # scale-separation numbers of the multiscale methods (mscouple.homogenization.scales)
    if c is not None and case.patches and c.mesh.kind in ("box", "graded"):
        from .homogenization.scales import scale_numbers

        H = max(hi - lo for lo, hi in zip(c.mesh.lo, c.mesh.hi))
        ell = max(max(hi - lo for lo, hi in zip(p.region.lo, p.region.hi)) for p in case.patches)
        macro_dt = dt
        if c.physics in ("heat", "thermomechanics") and case.handshake is not None:
            macro_dt = dt * case.handshake.thermal_every
        kwargs = dict(micro_length=ell, macro_length=H, dt_micro=dt, dt_macro=macro_dt)
        if c.physics in ("heat", "thermomechanics"):
            kwargs["diffusivity"] = c.material.conductivity / (c.material.density * c.material.heat_capacity)
        for n in scale_numbers(**kwargs):
            if n.name == "l/H":
                continue  # shown per patch above
            note = n.note
            if n.name == "dt_micro/dt_macro" and case.run.mode == "statics":
                note = ""  # quasi-static increments: no time steps to separate
            elif n.name == "dt_micro/dt_macro" and macro_dt == dt:
                note = "synchronous stepping (continuum steps with the MD time step)"
            out.append(Estimate(f"{n.name} (MD / continuum time step)" if n.name.startswith("dt") else n.name,
                                n.value, note))
    if case.handshake is not None:
        for p in case.patches:
            out.append(Estimate(f"handshake width / lattice constant ({p.name})",
                                case.handshake.width / p.lattice.constant,
                                # a dynamic band must damp and blend over a few lattice constants;
                                # in statics the overlap's width is only a partition (blended: 1 Å)
                                "band narrower than 2 lattice constants"
                                if case.handshake.width < 2 * p.lattice.constant and case.run.mode != "statics"
                                else ""))
    return out


def continuum_wave_speed(case: Case) -> float | None:
    """Longitudinal wave speed along x of the continuum material, √(C_xx/(ρ mvv2e)) in the
    case's units (the reduced stiffness the dynamics uses: 1D bar, plane strain/stress, 3D);
    None when the material cannot be built (``check`` refuses it with the reason)."""
    from .builders import elastic_material
    from .continuum.factory import plane_mode
    from .errors import ConfigError

    c = case.continuum
    try:
        patch = case.patch(c.material.patch) if c.material.model == "from_patch" else None
        mat = elastic_material(c, patch)
    except (ConfigError, KeyError):
        return None
    return math.sqrt(mat.voigt(c.dim, plane_mode(c.material))[0, 0] / mat.inertial_density)


def lattice_estimates(case: Case, p: PatchSpec) -> list[Estimate]:
    """Cauchy–Born numbers of a one-species patch: the zero-stress lattice constant (with a
    warning when ``lattice.constant`` differs from it), C11, C12, C44 and the long-wave
    longitudinal and transverse speeds along x (case units). Empty when they cannot be
    computed (alloys, no zero-stress constant near the case's)."""
    from .builders import patch_constants
    from .errors import ConfigError
    from .units import get_units

    try:
        cb = patch_constants(p)
    except ConfigError:
        return []
    a = p.lattice.constant
    off = abs(a - cb.a0) / cb.a0
    note = (f"lattice.constant = {a:g} is not at zero stress (relative misfit {off:.2g}): the patch "
            f"starts {'stretched' if a > cb.a0 else 'compressed'}; set it to {cb.a0:.10g} (or keep it if "
            "it is the thermally expanded constant at the patch temperature)" if off > 1e-6 else "")
    mvv2e = get_units(case.units).mvv2e
    out = [Estimate(f"zero-stress lattice constant a0 (patch {p.name})", cb.a0, note),
           Estimate(f"Cauchy-Born C11 (patch {p.name})", cb.c11)]
    if p.lattice.kind != "chain":
        out += [Estimate(f"Cauchy-Born C12 (patch {p.name})", cb.c12),
                Estimate(f"Cauchy-Born C44 (patch {p.name})", cb.c44,
                         "C44 <= 0: this lattice is not stable under shear" if cb.c44 <= 0 else "")]
    out.append(Estimate(f"long-wave longitudinal speed (patch {p.name})", cb.longitudinal_speed(mvv2e)))
    if p.lattice.kind != "chain":
        out.append(Estimate(f"long-wave transverse speed (patch {p.name})", cb.transverse_speed(mvv2e)))
    c = case.continuum
    T = c.material.temperature if c is not None and c.material.patch == p.name else 0.0
    if T > 0:
        from .builders import thermal_patch_constants

        tc = thermal_patch_constants(p, T)
        out += [Estimate(f"C11 at {T:g} K, adiabatic by MD at a0 (patch {p.name}; +- {tc.c11_err:.2g})", tc.c11),
                Estimate(f"C12 at {T:g} K (patch {p.name}; +- {tc.c12_err:.2g})", tc.c12),
                Estimate(f"C44 at {T:g} K (patch {p.name}; +- {tc.c44_err:.2g})", tc.c44),
                Estimate(f"thermal pressure at a0, {T:g} K (patch {p.name}; +- {tc.pressure_err:.2g})",
                         tc.pressure, _prestress_note(c, tc.pressure)),
                Estimate(f"long-wave longitudinal speed at {T:g} K (patch {p.name})", tc.longitudinal_speed(mvv2e))]
    return out


def _prestress_note(c, pressure: float) -> str:
    """Where the thermal pressure goes (continuum.material.prestress)."""
    if c.material.prestress != "thermal":
        return ("not in the continuum (material.prestress = 'none'): the patch expands against the "
                "stress-free continuum")
    return (f"the continuum's reference state carries it: uniform pre-stress -{pressure:.4g} I, held by the "
            "outer boundary; nodal forces on the handshake band nodes (where the continuum weight varies), "
            f"inward, {pressure:.4g} per unit area of each band face (material.prestress = 'thermal')")


def memory_estimate(case: Case) -> dict[str, float]:
    """Bytes per role, summed over that role's ranks (order of magnitude)."""
    mem: dict[str, float] = {}
    for p in case.patches:
        n = atom_estimate(p)
        # x, v, f, x0, external force (5x3 doubles), mass/weights/pe (3 doubles), ids, types,
        # neighbour list (int32), ghost copies (~30 % in 3D on a few ranks)
        per_atom = 15 * 8 + 3 * 8 + 8 + 4 + 4 * neighbour_estimate(p)
        mem[p.name] = 1.3 * n * per_atom
    c = case.continuum
    if c is not None and c.mesh.kind in ("box", "graded"):
        nnodes = math.prod(n + 1 for n in c.mesh.cells)
        dof = nnodes * (1 if c.physics == "heat" else c.dim)
        nnz_row = {1: 3, 2: 18, 3: 81}[c.dim] if c.physics != "heat" else {1: 3, 2: 7, 3: 27}[c.dim]
        # AIJ: 12 bytes per non-zero + vectors (u, v, a, f, mass, rhs ...) + AMG (~1.5x matrix)
        mem["continuum"] = dof * nnz_row * 12 * 2.5 + 12 * dof * 8
    return mem


def human_bytes(b: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if b < 1024 or unit == "TiB":
            return f"{b:.1f} {unit}"
        b /= 1024
    return f"{b:.1f} TiB"
