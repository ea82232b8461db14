"""Rigid indenters acting on atoms: sphere, cylinder and flat punch (LAMMPS ``fix indent``).

Force law (LAMMPS ``fix indent``; Kelchner, Plimpton & Hamilton, PRB 58, 11085 (1998)): an atom
at distance ``r`` from the indenter's centre (sphere: a point; cylinder: a line) with
``r < R`` is pushed out along the normal with

    F(r) = K (R − r)²,      energy  U(r) = K/3 (R − r)³,

``K`` in energy/length³. The flat punch is a plane face of radius ``R`` (a circle) normal to
the direction of motion; an atom behind the face by ``δ > 0`` and within ``R`` of the punch's
axis gets the same law along the normal: F = K δ², U = K/3 δ³ (the planar wall of LAMMPS'
``fix indent ... plane``, limited to the punch's footprint).

Geometry: the indenter moves along the unit ``direction`` **a** (into the material). Its
*apex* (the point of a sphere, the lowest line of a cylinder, the centre of a punch's face)
is at ``position + depth · a``; so ``depth = 0`` puts the apex at ``position`` (put it on the
surface for depths measured from first contact). The cylinder's ``axis`` is a unit vector
normal to **a**.

:class:`Indenter` is a force *fix* of :class:`~mscouple.atomistic.system.MDSystem`
(``system.fixes.append(indenter)``): ``post_force`` adds its forces to the owned atoms after
the pair forces in every evaluation (dynamics, FIRE and CG). It touches only atoms within the
indenter's bounding box, vectorised in NumPy. Its energy and total force are kept on the
indenter (not in the system's potential energy): :meth:`Indenter.energy`,
:meth:`Indenter.force`, :meth:`Indenter.load` (collective over the patch comm). The load
``P = Σ_i F_i · a`` is the force the indenter exerts on the atoms along its motion (the
reaction on the indenter is −P: Newton's third law). The indenter's virial is not added to
the system's (LAMMPS' default ``fix_modify virial no``).

Elastic reference (Hertz 1882; Johnson, *Contact Mechanics*, 1985, §4.2): a rigid sphere
pressed to depth ``d`` into an elastic half-space carries ``P = (4/3) E* R^{1/2} d^{3/2}``
with ``E* = E / (1 − ν²)`` (:func:`hertz_load`). For an anisotropic crystal the half-space
is replaced by its *indentation modulus* M (Vlassak & Nix, Phil. Mag. A 67, 1045 (1993) and
JMPS 42, 1223 (1994)): the normal surface displacement under a point load P is
``u(r, θ) = P h(θ) / r`` and, for a contact that is close to circular,

    1/M = (1/2π) ∮ ½ [Z(φ)⁻¹]_nn dφ,

Z(φ) the surface impedance of the half-space for a surface wave vector along the in-plane
direction φ (Stroh's sextic formalism: traction = k Z u on the surface; Ting, *Anisotropic
Elasticity*, 1996, §6–7): :func:`vlassak_nix_modulus`. It reduces to E/(1 − ν²) for an
isotropic solid. For a cubic crystal indented along ⟨001⟩ it differs from the
Voigt–Reuss–Hill value (:func:`hill_average`, :func:`indentation_modulus`) by the
anisotropy: Cu (Zhou EAM, A = 2C44/(C11 − C12) = 3.2) M = 0.842 eV/Å³ against the Hill
average's 0.908 (−7 %), as the ⟨001⟩ values of Vlassak & Nix (1994) lie below the
isotropic average for strongly anisotropic cubic metals.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError

__all__ = ["Indenter", "SHAPES", "hertz_load", "increment_work", "hill_average", "indentation_modulus", "vlassak_nix_modulus",
           "contact_radius", "bonded_layer_factor"]

SHAPES = ("sphere", "cylinder", "punch")


def _unit(v, what: str) -> np.ndarray:
    v = np.asarray(v, dtype=float).reshape(-1)
    if v.size != 3 or not np.all(np.isfinite(v)) or np.linalg.norm(v) == 0:
        raise ConfigError(f"indenter {what} {v.tolist()}: give a non-zero 3-vector")
    return v / np.linalg.norm(v)


class Indenter:
    """A rigid indenter as a force fix (see the module docstring).

    Parameters
    ----------
    shape: ``"sphere"``, ``"cylinder"`` or ``"punch"``.
    radius: R (length); stiffness: K (energy/length³).
    position: [3] apex at depth 0 (length). direction: [3] motion into the material.
    axis: [3] cylinder axis (normal to ``direction``); ignored for the other shapes.
    depth: initial depth (length).
    """

    def __init__(self, shape: str, *, radius: float, stiffness: float, position, direction=(0, 0, -1),
                 axis=(1, 0, 0), depth: float = 0.0):
        if shape not in SHAPES:
            raise ConfigError(f"indenter kind {shape!r}: expected one of {', '.join(SHAPES)}")
        if not (radius > 0 and stiffness > 0):
            raise ConfigError(f"indenter radius ({radius}) and stiffness ({stiffness}) must be > 0")
        self.shape = shape
        self.radius = float(radius)
        self.stiffness = float(stiffness)
        self.position = np.asarray(position, dtype=float).reshape(3)
        self.direction = _unit(direction, "direction")
        self.axis = _unit(axis, "axis")
        if shape == "cylinder" and abs(float(self.axis @ self.direction)) > 1e-9:
            raise ConfigError(f"cylinder axis {list(axis)} is not normal to the direction {list(direction)}: "
                              "the cylinder must lie across its motion")
        self.depth = float(depth)
        self._e_local = 0.0
        self._f_local = np.zeros(3)
        self._n_local = 0
        self._a_local = 0.0

    # -- geometry -------------------------------------------------------------------------
    @property
    def apex(self) -> np.ndarray:
        """[3] the apex at the current depth."""
        return self.position + self.depth * self.direction

    @property
    def centre(self) -> np.ndarray:
        """[3] sphere centre / a point of the cylinder's axis line / the punch's face centre."""
        if self.shape == "punch":
            return self.apex
        return self.apex - self.radius * self.direction

    # -- the law ----------------------------------------------------------------------------
    def evaluate(self, x: np.ndarray, box=None) -> tuple[np.ndarray, np.ndarray, float]:
        """Forces on atoms at ``x [n,3]``: ``(rows [m], forces [m,3], energy)`` for the atoms
        the indenter touches (minimum image along the periodic directions of ``box``). Local."""
        x = np.asarray(x, dtype=float)
        R, K, a = self.radius, self.stiffness, self.direction
        dx = x - self.centre
        if box is not None and np.any(box.periodic):
            per = np.asarray(box.periodic, bool)
            Lb = np.asarray(box.lengths, float)
            dx[:, per] -= Lb[per] * np.round(dx[:, per] / Lb[per])
        if self.shape == "sphere":
            rows = np.flatnonzero(np.all(np.abs(dx) < R, axis=1))  # bounding box first
            d = dx[rows]
            r = np.sqrt(np.einsum("ij,ij->i", d, d))
            hit = (r < R) & (r > 0)
            rows, d, r = rows[hit], d[hit], r[hit]
            g = R - r
            f = (K * g * g / r)[:, None] * d
            return rows, f, float(K / 3.0 * np.sum(g ** 3))
        if self.shape == "cylinder":
            along = dx @ a
            rows = np.flatnonzero(np.abs(along) < R)
            d = dx[rows] - np.outer(dx[rows] @ self.axis, self.axis)
            r = np.sqrt(np.einsum("ij,ij->i", d, d))
            hit = (r < R) & (r > 0)
            rows, d, r = rows[hit], d[hit], r[hit]
            g = R - r
            f = (K * g * g / r)[:, None] * d
            return rows, f, float(K / 3.0 * np.sum(g ** 3))
        # flat punch: atoms behind the face (δ = −dx·a > 0) within R of its axis
        s = dx @ a
        rows = np.flatnonzero(s < 0)
        lat = dx[rows] - np.outer(s[rows], a)
        hit = np.einsum("ij,ij->i", lat, lat) < R * R
        rows = rows[hit]
        delta = -s[rows]
        f = np.outer(K * delta * delta, a)
        return rows, f, float(K / 3.0 * np.sum(delta ** 3))

    def contact_shift(self, x: np.ndarray, box=None) -> float:
        """How far the indenter must move along ``direction`` from its current place until
        it first touches one of the atoms at ``x [n, 3]`` (local; ``inf`` when no atom lies
        in its footprint; negative when it already overlaps one). Sphere: an atom at lateral
        distance ρ < R from the axis and ``t`` ahead of the apex is reached after
        ``t + R − (R² − ρ²)^½``; cylinder: the same with ρ the distance across the axis;
        punch: ``t`` for ρ < R. Used to put depth 0 at first contact with a relaxed surface."""
        x = np.asarray(x, dtype=float)
        if len(x) == 0:
            return float("inf")
        R, a = self.radius, self.direction
        dx = x - self.apex
        if box is not None and np.any(box.periodic):
            per = np.asarray(box.periodic, bool)
            Lb = np.asarray(box.lengths, float)
            dx[:, per] -= Lb[per] * np.round(dx[:, per] / Lb[per])
        t = dx @ a
        if self.shape == "cylinder":
            e = np.cross(a, self.axis)
            rho2 = (dx @ e) ** 2
        else:
            lat = dx - np.outer(t, a)
            rho2 = np.einsum("ij,ij->i", lat, lat)
        inside = rho2 < R * R
        if not np.any(inside):
            return float("inf")
        if self.shape == "punch":
            return float(np.min(t[inside]))
        return float(np.min(t[inside] + R - np.sqrt(R * R - rho2[inside])))

    # -- the fix ----------------------------------------------------------------------------
    def post_force(self, system) -> None:
        """Add the indenter's forces to ``system.f`` of the owned atoms (local; called by
        :class:`~mscouple.atomistic.system.MDSystem` after the pair forces)."""
        rows, f, e = self.evaluate(system.x, system.box)
        system.f[rows] += f  # rows are distinct (np.flatnonzero)
        self._e_local = e
        self._f_local = f.sum(axis=0) if len(rows) else np.zeros(3)
        self._n_local = int(len(rows))
        if len(rows):
            dx = system.x[rows] - self.centre
            lat = dx - np.outer(dx @ self.direction, self.direction)
            self._a_local = float(np.sqrt(np.max(np.einsum("ij,ij->i", lat, lat))))
        else:
            self._a_local = 0.0

    def _sum(self, comm, value):
        return comm.allreduce(value) if comm is not None and comm.Get_size() > 1 else value

    def energy(self, comm=None) -> float:
        """Σ K/3 (R − r)³ over atoms at the last force evaluation (energy; collective)."""
        return float(self._sum(comm, self._e_local))

    def force(self, comm=None) -> np.ndarray:
        """[3] total force of the indenter on the atoms at the last evaluation (collective)."""
        return np.asarray(self._sum(comm, np.array(self._f_local)), dtype=float)

    def load(self, comm=None) -> float:
        """P = Σ_i F_i · direction (force; > 0 when pushing into the material; collective)."""
        return float(self.force(comm) @ self.direction)

    def contact_radius(self, comm=None) -> float:
        """Largest distance from the indenter's axis (normal to ``direction``) of an atom in
        contact at the last evaluation (length; 0 without contact; collective). Periodic
        images are not unwrapped: valid while the contact is smaller than half the box."""
        if comm is not None and comm.Get_size() > 1:
            from mpi4py import MPI

            return float(comm.allreduce(self._a_local, op=MPI.MAX))
        return float(self._a_local)

    def contacts(self, comm=None) -> int:
        """Number of atoms inside the indenter at the last evaluation (collective)."""
        return int(self._sum(comm, self._n_local))


# ---------------------------------------------------------------------------------------
# elastic references

@dataclass(frozen=True)
class IsotropicAverage:
    """Voigt–Reuss–Hill average of a cubic crystal (same units as the constants)."""

    bulk: float
    shear_voigt: float
    shear_reuss: float
    shear: float  # Hill: (Voigt + Reuss) / 2
    youngs: float
    poisson: float


def hill_average(c11: float, c12: float, c44: float) -> IsotropicAverage:
    """Isotropic moduli of a cubic crystal by the Voigt–Reuss–Hill average (Hill, Proc. Phys.
    Soc. A 65, 349 (1952)): B = (C11 + 2 C12)/3, G_V = (C11 − C12 + 3 C44)/5,
    G_R = 5 (C11 − C12) C44 / (4 C44 + 3 (C11 − C12)), G = (G_V + G_R)/2,
    E = 9 B G / (3 B + G), ν = (3 B − 2 G) / (2 (3 B + G))."""
    if not (c44 > 0 and c11 > abs(c12) and c11 + 2 * c12 > 0):
        raise ConfigError(f"cubic constants C11={c11:g}, C12={c12:g}, C44={c44:g} are not positive definite")
    B = (c11 + 2 * c12) / 3.0
    gv = (c11 - c12 + 3 * c44) / 5.0
    gr = 5 * (c11 - c12) * c44 / (4 * c44 + 3 * (c11 - c12))
    G = 0.5 * (gv + gr)
    E = 9 * B * G / (3 * B + G)
    nu = (3 * B - 2 * G) / (2 * (3 * B + G))
    return IsotropicAverage(B, gv, gr, G, E, nu)


def indentation_modulus(c11: float, c12: float, c44: float) -> float:
    """E* = E / (1 − ν²) of the Hill average (rigid indenter; see the module docstring)."""
    h = hill_average(c11, c12, c44)
    return h.youngs / (1.0 - h.poisson ** 2)


def cubic_stiffness(c11: float, c12: float, c44: float) -> np.ndarray:
    """C_ijkl [3,3,3,3] of a cubic crystal in its cube axes (same units as the constants)."""
    d = np.eye(3)
    C = (c12 * np.einsum("ij,kl->ijkl", d, d)
         + c44 * (np.einsum("ik,jl->ijkl", d, d) + np.einsum("il,jk->ijkl", d, d)))
    for i in range(3):
        C[i, i, i, i] = c11
    return C


def _surface_compliance_nn(C: np.ndarray, m: np.ndarray, n: np.ndarray) -> float:
    """[Z⁻¹]_nn of the half-space n·x > 0 for the surface wave vector along *m* (Stroh)."""
    Q = np.einsum("ijkl,j,l->ik", C, m, m)
    R = np.einsum("ijkl,j,l->ik", C, m, n)
    T = np.einsum("ijkl,j,l->ik", C, n, n)
    Ti = np.linalg.inv(T)
    N = np.block([[-Ti @ R.T, Ti], [R @ Ti @ R.T - Q, -R @ Ti]])
    p, xi = np.linalg.eig(N)
    sel = p.imag > 0  # modes decaying into the solid
    A, B = xi[:3, sel], xi[3:, sel]
    Z = -1j * B @ np.linalg.inv(A)  # applied surface traction = k Z u
    return float(np.real(n @ np.linalg.inv(Z) @ n))


def vlassak_nix_modulus(c11: float, c12: float, c44: float, normal=(0.0, 0.0, 1.0), samples: int = 360) -> float:
    """Indentation modulus M of a cubic crystal (cube axes) indented along *normal*:
    1/M = (1/2π) ∮ ½ [Z(φ)⁻¹]_nn dφ (see the module docstring; midpoint rule over *samples*
    in-plane directions, converged to < 1e-10 for 360). An isotropic set (C11 − C12 = 2 C44)
    makes Stroh's eigenproblem degenerate: E/(1 − ν²) is returned then."""
    hill_average(c11, c12, c44)  # the positive-definiteness refusal
    if abs(2.0 * c44 / (c11 - c12) - 1.0) < 1e-6:
        return indentation_modulus(c11, c12, c44)
    C = cubic_stiffness(c11, c12, c44)
    n = _unit(normal, "direction")
    e1 = np.cross(n, [1.0, 0.0, 0.0] if abs(n[0]) < 0.9 else [0.0, 1.0, 0.0])
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(n, e1)
    phi = (np.arange(samples) + 0.5) * (2.0 * np.pi / samples)
    s = [_surface_compliance_nn(C, np.cos(f) * e1 + np.sin(f) * e2, n) for f in phi]
    return float(1.0 / np.mean(0.5 * np.asarray(s)))


def contact_radius(depth, radius: float):
    """Hertz contact radius a = (R d)^{1/2} of a sphere at depth d (0 for d ≤ 0)."""
    return np.sqrt(radius * np.clip(np.asarray(depth, dtype=float), 0.0, None))


def hertz_load(depth, radius: float, modulus: float):
    """Hertz: P = (4/3) E* R^{1/2} d^{3/2} (0 for d ≤ 0); ``modulus`` is E*."""
    d = np.clip(np.asarray(depth, dtype=float), 0.0, None)
    return 4.0 / 3.0 * modulus * np.sqrt(radius) * d ** 1.5


def bonded_layer_factor(depth, radius: float, thickness: float, poisson: float):
    """P / P_Hertz of a sphere on an elastic layer of *thickness* h bonded to a rigid base
    (the block's fixed bottom), to fourth order in χ = (R d)^{1/2} / h (Dimitriadis, Horkay,
    Maresca, Kachar & Chadwick, Biophys. J. 82 (2002) 2798, bonded sample)::

        1 − (2α/π) χ + (4α²/π²) χ² − (8/π³)(α³ + 4π²β/15) χ³ − (16α/π⁴)(α³ + 3π²β/5) χ⁴,
        α = −(1.2876 − 1.4678 ν + 1.3442 ν²)/(1 − ν),  β = (0.6387 − 1.0277 ν + 1.5164 ν²)/(1 − ν)

    (ν = 0.5: 1 + 1.133 χ + 1.283 χ² + 0.769 χ³ + 0.0975 χ⁴, the paper's numeric series, whose
    χ⁴ sign the last term follows). Isotropic and laterally unbounded: for a cubic crystal use
    the ν of its Hill average; meant for χ ≲ 0.5."""
    if not (thickness > 0 and radius > 0 and -1.0 < poisson < 0.5 + 1e-12):
        raise ConfigError(f"bonded_layer_factor: thickness {thickness:g} and radius {radius:g} must be > 0 and "
                          f"Poisson's ratio {poisson:g} in (-1, 0.5]")
    nu = float(poisson)
    a = -(1.2876 - 1.4678 * nu + 1.3442 * nu * nu) / (1.0 - nu)
    b = (0.6387 - 1.0277 * nu + 1.5164 * nu * nu) / (1.0 - nu)
    chi = np.sqrt(radius * np.clip(np.asarray(depth, dtype=float), 0.0, None)) / float(thickness)
    pi = np.pi
    return (1.0 - 2 * a / pi * chi + 4 * a * a / pi ** 2 * chi ** 2
            - 8 / pi ** 3 * (a ** 3 + 4 * pi * pi * b / 15) * chi ** 3
            - 16 * a / pi ** 4 * (a ** 3 + 3 * pi * pi * b / 5) * chi ** 4)


def increment_work(shape: str, d0: float, d1: float, p0: float, p1: float) -> float:
    """∫ P dd over one quasi-static increment d0 → d1 from the relaxed loads at its ends:
    P^{1/m} interpolated linearly in d, m the exponent of the shape's elastic contact law
    (sphere: Hertz, P ∝ d^{3/2}, m = 3/2; cylinder and punch: P linear in d, m = 1, i.e. the
    trapezoid). The work of an elastic sphere contact from first contact is then exact,
    where the trapezoid over-counts the first increment of a d^{3/2} load by 25 % and later
    ones by ~h³P''/12. Closed form: h (q1^{m+1} − q0^{m+1}) / ((m + 1)(q1 − q0)) with
    q = P^{1/m}; a negative end load (a pulled tip) falls back to the trapezoid."""
    h = float(d1) - float(d0)
    p0, p1 = float(p0), float(p1)
    m = 1.5 if shape == "sphere" else 1.0
    if m == 1.0 or p0 < 0 or p1 < 0:
        return 0.5 * (p0 + p1) * h
    q0, q1 = p0 ** (1.0 / m), p1 ** (1.0 / m)
    if abs(q1 - q0) <= 1e-12 * max(q0, q1, 1e-300):
        return 0.5 * (p0 + p1) * h
    return h * (q1 ** (m + 1) - q0 ** (m + 1)) / ((m + 1) * (q1 - q0))
