"""Embedded-atom method potential from LAMMPS ``setfl`` (eam/alloy) or ``funcfl`` (eam) files.

Tables are interpolated by piecewise cubic Hermite polynomials whose nodal slopes come
from 4th-order finite differences (the scheme of LAMMPS' ``pair_eam``); forces are the
exact derivatives of the interpolated energy. Energy weights (bridging domain) scale each
atom's embedding energy by w_i and each pair term by (w_i + w_j)/2.

File formats (LAMMPS manual, ``pair_style eam``):

* setfl: 3 comment lines; ``Ne el1 el2 ...``; ``Nrho drho Nr dr cutoff``; per element
  ``Z mass a0 lattice`` then F(rho) [Nrho] and rho(r) [Nr]; then r*phi(r) [Nr] for every
  pair i >= j in the order (1,1), (2,1), (2,2), ...
* funcfl: 1 comment line; ``Z mass a0 lattice``; ``Nrho drho Nr dr cutoff``; F(rho)
  [Nrho]; Z(r) [Nr]; rho(r) [Nr]; pair r*phi = 27.2 * 0.529 * Z_i(r) Z_j(r) (Hartree*Bohr).

Compiled passes: ``csrc/eam_step.pyx``. On one rank :meth:`MDSystem.run` executes whole
chunks of velocity-Verlet steps there (density, embedding, forces, periodic ghost images and
integration in one loop); on several ranks :meth:`EAM.compute` calls the same passes and
the decomposition reverse-sums rho and forwards F'(rho) between them. The all-pairs NumPy
reference is :func:`mscouple.atomistic.reference.eam_reference`.
"""
from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from .potentials import ForceContext

HARTREE_BOHR = 27.2 * 0.529  # eV * Angstrom, the constant LAMMPS uses for funcfl files


def hermite_table(y: np.ndarray) -> np.ndarray:
    """Cubic coefficients ``[n, 4]`` (per unit grid step) interpolating samples ``y [n]``."""
    y = np.asarray(y, dtype=float)
    n = len(y)
    if n < 5:
        raise ConfigError("EAM tables need at least 5 points")
    d = np.empty(n)
    d[0] = y[1] - y[0]
    d[1] = 0.5 * (y[2] - y[0])
    d[n - 2] = 0.5 * (y[n - 1] - y[n - 3])
    d[n - 1] = y[n - 1] - y[n - 2]
    d[2:n - 2] = ((y[:n - 4] - y[4:]) + 8.0 * (y[3:n - 1] - y[1:n - 3])) / 12.0
    c = np.zeros((n, 4))
    dy = y[1:] - y[:-1]
    c[:, 0] = y
    c[:, 1] = d
    c[:-1, 2] = 3.0 * dy - 2.0 * d[:-1] - d[1:]
    c[:-1, 3] = d[:-1] + d[1:] - 2.0 * dy
    return c


def _spline(tab: np.ndarray, inv_dx: float, x: np.ndarray):
    """``(y, y', y'')`` of the Hermite table ``tab [n, 4]`` at *x* (same cell choice as the
    compiled ``spline``: k = floor(x/dx) clamped to 0..n−1)."""
    p = np.asarray(x, dtype=float) * inv_dx
    k = np.clip(np.floor(p).astype(np.int64), 0, len(tab) - 1)
    t = p - k
    c = tab[k]
    y = ((c[..., 3] * t + c[..., 2]) * t + c[..., 1]) * t + c[..., 0]
    d1 = ((3.0 * c[..., 3] * t + 2.0 * c[..., 2]) * t + c[..., 1]) * inv_dx
    d2 = (6.0 * c[..., 3] * t + 2.0 * c[..., 2]) * inv_dx * inv_dx
    return y, d1, d2


class EAM:
    """EAM potential for ``ntypes`` elements (types 0..ntypes-1 in ``elements`` order).

    F: [ne, nrho] embedding energies on rho_k = k drho; rho: [ne, nr] densities and
    z: [ne, ne, nr] r*phi(r) on r_k = k dr; cutoff in length units.
    """

    implemented_properties = ("energy", "forces", "virial", "energies", "virials")
    #: one rank runs whole chunks of steps in ``csrc/eam_step.pyx``'s ``run_fused``
    fusable = True

    def __init__(self, elements, F, drho: float, rho, z, dr: float, cutoff: float,
                 masses=None) -> None:
        self.elements = list(elements)
        ne = len(self.elements)
        F = np.asarray(F, float).reshape(ne, -1)
        rho = np.asarray(rho, float).reshape(ne, -1)
        z = np.asarray(z, float).reshape(ne, ne, -1)
        if rho.shape[1] != z.shape[2]:
            raise ConfigError("rho(r) and r*phi(r) tables must have the same length")
        if not (drho > 0 and dr > 0 and cutoff > 0):
            raise ConfigError("drho, dr and cutoff must be > 0")
        # LAMMPS' own files (e.g. Cu_zhou.eam.alloy) end up to one step short of the
        # cutoff; the last cell is extended, as in LAMMPS' pair_eam
        if rho.shape[1] * dr < cutoff * (1 - 1e-12):
            raise ConfigError("the r tables end before the cutoff")
        if not (np.all(np.isfinite(F)) and np.all(np.isfinite(rho)) and np.all(np.isfinite(z))):
            raise ConfigError("EAM tables contain non-finite values (nan/inf)")
        self.ntypes = ne
        self.cutoff = float(cutoff)
        self.drho, self.dr = float(drho), float(dr)
        self.masses = None if masses is None else np.asarray(masses, float)
        self.F_values, self.rho_values, self.z_values = F, rho, z
        self.f_tab = np.ascontiguousarray(np.stack([hermite_table(a) for a in F]))
        self.rho_tab = np.ascontiguousarray(np.stack([hermite_table(a) for a in rho]))
        self.z_tab = np.ascontiguousarray(
            np.stack([hermite_table(z[a, b]) for a in range(ne) for b in range(ne)]))
        # packed for the compiled passes: row (a, b) = [rho_b | z_ab] per r interval, so
        # that one pair evaluation reads one 64-byte line (csrc/eam_step.pyx)
        nr = rho.shape[1]
        rz = np.empty((ne, ne, nr, 8))
        for a in range(ne):
            for b in range(ne):
                rz[a, b, :, :4] = self.rho_tab[b]
                rz[a, b, :, 4:] = self.z_tab[a * ne + b]
        self.rz_tab = rz
        self._rho = np.zeros(0)
        self._fp = np.zeros(0)
        self._cstart = np.zeros(0, dtype=np.int32)
        self._cj = np.zeros(0, dtype=np.int32)
        self._cr = np.zeros(0)

    # ------------------------------------------------------------------ files
    @classmethod
    def from_file(cls, path: str, format: str = "auto", elements=()) -> "EAM":
        """Read a LAMMPS EAM table: ``setfl`` (``*.eam.alloy``, several elements) or
        ``funcfl`` (``*.eam``, one element). ``format = "auto"`` decides by the file name
        (``.eam`` → funcfl, anything else → setfl). ``elements`` names a funcfl file's
        element (funcfl files carry only its atomic number). Unreadable or malformed files
        raise a one-line :class:`~mscouple.errors.ConfigError` naming the file.
        """
        if format == "auto":
            format = "funcfl" if str(path).lower().endswith(".eam") else "setfl"
        if format not in ("setfl", "funcfl"):
            raise ConfigError(f"EAM format {format!r}: expected 'setfl', 'funcfl' or 'auto'")
        try:
            if format == "setfl":
                return cls.from_setfl(path)
            names = list(elements)[:1] or None
            return cls.from_funcfl(path, names)
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read the EAM file ({exc.strerror or exc})") from None
        except UnicodeDecodeError:
            raise ConfigError(f"{path}: not a text file (expected a LAMMPS {format} EAM table)") from None

    def type_of(self, element: str) -> int:
        """Type index (0-based, the file's order) of *element*; ConfigError naming the file's
        elements when it has none of that name."""
        try:
            return self.elements.index(element)
        except ValueError:
            raise ConfigError(f"element {element!r} is not in this EAM file (it has "
                              f"{', '.join(self.elements)})") from None

    def radial(self, table: str, a: int, b: int = 0, r=None):
        """Value, first and second derivative ``(y, y', y'')`` of an interpolated table at
        distances/densities *r* — ``table`` = ``"rho"`` (density contributed by element
        ``a``, per length), ``"phi"`` (pair energy φ_ab(r) = z_ab(r)/r) or ``"F"``
        (embedding energy of element ``a`` at host density *r*). The same piecewise cubic
        as the compiled kernels, so lattice sums agree with the forces to round-off.
        """
        r = np.asarray(r, dtype=float)
        if table == "F":
            return _spline(self.f_tab[a], 1.0 / self.drho, r)
        if table == "rho":
            return _spline(self.rho_tab[a], 1.0 / self.dr, r)
        if table != "phi":
            raise ValueError(f"table {table!r}: expected 'rho', 'phi' or 'F'")
        z, z1, z2 = _spline(self.z_tab[a * self.ntypes + b], 1.0 / self.dr, r)
        phi = z / r
        d1 = (z1 - phi) / r
        d2 = (z2 - 2.0 * d1) / r
        return phi, d1, d2

    @classmethod
    def from_setfl(cls, path: str) -> "EAM":
        with open(path) as fh:
            lines = fh.readlines()
        try:
            head = lines[3].split()
            ne = int(head[0])
            elements = head[1:1 + ne]
            nrho, drho, nr, dr, cut = lines[4].split()[:5]
            nrho, nr = int(nrho), int(nr)
            drho, dr, cut = float(drho), float(dr), float(cut)
            tok = " ".join(lines[5:]).split()
            need = ne * (4 + nrho + nr) + ne * (ne + 1) // 2 * nr
            if len(tok) < need:
                raise ValueError(f"the file ends early: {len(tok)} values after the header, {need} expected "
                                 f"for {ne} element(s), Nrho = {nrho}, Nr = {nr}")
            pos = 0
            F, rho, masses = [], [], []
            for _ in range(ne):
                masses.append(float(tok[pos + 1]))
                pos += 4
                F.append(np.array(tok[pos:pos + nrho], float))
                pos += nrho
                rho.append(np.array(tok[pos:pos + nr], float))
                pos += nr
            z = np.zeros((ne, ne, nr))
            for a in range(ne):
                for b in range(a + 1):
                    z[a, b] = z[b, a] = np.array(tok[pos:pos + nr], float)
                    pos += nr
            if pos > len(tok) or any(len(t) != nrho for t in F):
                raise ValueError("file ends early")
        except (IndexError, ValueError) as exc:
            raise ConfigError(f"{path}: not a valid setfl (eam/alloy) file ({exc})") from None
        return cls(elements, F, drho, rho, z, dr, cut, masses)

    @classmethod
    def from_funcfl(cls, paths, elements=None) -> "EAM":
        """One funcfl file per element (their grids must agree)."""
        paths = [paths] if isinstance(paths, str) else list(paths)
        F, rho, Z, masses, grid = [], [], [], [], None
        for p in paths:
            with open(p) as fh:
                lines = fh.readlines()
            try:
                masses.append(float(lines[1].split()[1]))
                nrho, drho, nr, dr, cut = lines[2].split()[:5]
                g = (int(nrho), float(drho), int(nr), float(dr), float(cut))
                tok = np.array(" ".join(lines[3:]).split()[:g[0] + 2 * g[2]], float)
                if len(tok) < g[0] + 2 * g[2]:
                    raise ValueError("file ends early")
            except (IndexError, ValueError) as exc:
                raise ConfigError(f"{p}: not a valid funcfl (eam) file ({exc})") from None
            if grid is not None and g != grid:
                raise ConfigError("funcfl files with different grids are not supported: "
                                  "convert them to one setfl file")
            grid = g
            F.append(tok[:g[0]])
            Z.append(tok[g[0]:g[0] + g[2]])
            rho.append(tok[g[0] + g[2]:])
        ne = len(paths)
        z = np.array([[HARTREE_BOHR * Z[a] * Z[b] for b in range(ne)] for a in range(ne)])
        elements = elements or [f"E{k}" for k in range(ne)]
        return cls(elements, F, grid[1], rho, z, grid[3], grid[4], masses)

    def write_setfl(self, path: str, comment: str = "written by mscouple") -> None:
        ne = self.ntypes
        nrho, nr = self.F_values.shape[1], self.rho_values.shape[1]
        m = self.masses if self.masses is not None else np.ones(ne)

        def block(a):
            return "\n".join(" ".join(f"{v:.16e}" for v in a[k:k + 5])
                             for k in range(0, len(a), 5)) + "\n"

        with open(path, "w") as fh:
            fh.write(f"{comment}\n\n\n")
            fh.write(f"{ne} {' '.join(self.elements)}\n")
            fh.write(f"{nrho} {self.drho:.16e} {nr} {self.dr:.16e} {self.cutoff:.16e}\n")
            for a in range(ne):
                fh.write(f"0 {m[a]:.10g} 0.0 none\n")
                fh.write(block(self.F_values[a]))
                fh.write(block(self.rho_values[a]))
            for a in range(ne):
                for b in range(a + 1):
                    fh.write(block(self.z_values[a, b]))

    # ------------------------------------------------------------------ compute
    def _scratch(self, n: int):
        """rho and fp buffers of at least n entries (owned + ghost atoms)."""
        if len(self._rho) < n:
            self._rho = np.zeros(n)
            self._fp = np.zeros(n)
        return self._rho, self._fp

    def _cutoff_list(self, nlocal: int, npairs: int):
        """Buffers of the pairs-inside-the-cutoff list (cstart [nlocal+1], cj, cr [npairs])."""
        if len(self._cstart) < nlocal + 1:
            self._cstart = np.zeros(int(1.2 * nlocal) + 2, dtype=np.int32)
        if len(self._cj) < npairs:
            self._cj = np.zeros(int(1.2 * npairs) + 16, dtype=np.int32)
            self._cr = np.zeros(len(self._cj))
        return self._cstart, self._cj, self._cr

    def compute(self, ctx: ForceContext, eflag: bool, vflag: bool, eatom, vatom):
        from .._kernels import eam_step as k

        nall = ctx.nall
        rho, fp = self._scratch(len(ctx.x))
        cutsq = self.cutoff ** 2
        inv_dr, inv_drho = 1.0 / self.dr, 1.0 / self.drho
        cl = self._cutoff_list(ctx.nlocal, int(ctx.nstart[ctx.nlocal]))
        k.density(ctx.x, ctx.types, ctx.nlocal, nall, ctx.nstart, ctx.nlist, self.rz_tab,
                  self.f_tab, inv_dr, inv_drho, cutsq, rho, *cl)
        ctx.reverse(rho)
        if eatom is not None:
            eatom[:nall] = 0.0
            vatom[:nall] = 0.0
        e_embed = k.embed(rho, ctx.types, ctx.weight, ctx.nlocal, self.rz_tab, self.f_tab,
                          inv_drho, fp, eatom)
        ctx.forward(fp)
        e_pair, vir = k.forces(ctx.x, ctx.types, ctx.weight, ctx.nlocal, nall, *cl, fp,
                               self.rz_tab, self.f_tab, inv_dr, ctx.f, eatom, vatom, eflag,
                               vflag)
        return e_embed + e_pair, vir

    def fused_kernel(self, capacity: int):
        """``(run_fused, args)``: the compiled one-rank run loop and this potential's
        arguments to it (tables, grid steps, cutoff², rho/fp scratch of ``capacity``), in
        the place where pair potentials pass ``(style, coef, ntypes)``."""
        from .._kernels import eam_step as k

        rho, fp = self._scratch(capacity)
        return k.run_fused, (self.rz_tab, self.f_tab, 1.0 / self.dr, 1.0 / self.drho,
                             self.cutoff ** 2, rho, fp)

    def densities(self) -> np.ndarray:
        """Host electron densities of the owned atoms from the last evaluation."""
        return self._rho
