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
            if mat.model == "cubic":
                modulus = mat.c11
            else:
                E, nu = mat.youngs_modulus, mat.poisson_ratio
                modulus = E if dim == 1 else E * (1 - nu) / ((1 + nu) * (1 - 2 * nu))
            cw = math.sqrt(modulus / mat.density)
            cfl = cw * dt / h
            out.append(Estimate("longitudinal wave speed c", cw))
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
            if n.name == "dt_micro/dt_macro" and macro_dt == dt:
                note = "synchronous stepping (continuum steps with the MD time step)"
            out.append(Estimate(f"{n.name} (MD / continuum time step)" if n.name.startswith("dt") else n.name,
                                n.value, note))
    if case.handshake is not None:
        for p in case.patches:
            out.append(Estimate(f"handshake width / lattice constant ({p.name})",
                                case.handshake.width / p.lattice.constant,
                                "band narrower than 2 lattice constants" if case.handshake.width < 2 * p.lattice.constant else ""))
    return out


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
