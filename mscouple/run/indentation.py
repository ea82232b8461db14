"""The case file's ``[indenter]``: an :class:`~mscouple.atomistic.indenter.Indenter` on a
patch, its loading path, its ledger columns and its P(d) table and plot.

:class:`IndenterDriver` is a coupler (:mod:`mscouple.run.couplers` contract) on the patch
ranks. It attaches the indenter to the patch's MD system as a force fix and

* **pure MD** (it *drives*): statics — one increment per run step: the depth grows by
  ``depth_increment`` or to the next of ``depths`` (displacement control) or is found by a bracketed secant search so
  that the relaxed load equals ``k · load_increment`` (load control), the atoms relaxed with
  FIRE to ``run.tolerance`` at each trial depth; dynamics — the tip moves at ``speed``
  (its depth set before each velocity-Verlet step's force evaluation);
* **coupled** (it only books; ``drives = False``): the Schwarz halves call
  :meth:`begin_increment` / :meth:`end_increment` around one Schwarz solve per run step, the
  bridging patch half calls :meth:`move` before each force evaluation and :meth:`book_step`
  after it.

Ledger (energy unit of the case): ``E_indenter`` (state: Σ K/3 (R − r)³), ``W_indenter``
(flux, sign −1: the work ∫ P dz the indenter did on the atoms — over the relaxed increments
in statics by :func:`~mscouple.atomistic.indenter.increment_work`, exact for the shape's elastic contact
law; the trapezoid over the MD steps in dynamics), ``indenter_load`` (P, force),
``indenter_depth`` (length), ``indenter_contacts``. In statics E_pot + E_indenter − W_indenter
is constant to the quadrature error (zero for a Hertz load) and the relaxation tolerance.

Coupled statics (alternating Schwarz) books the ledger of both scales (below: the partition of
unity) and, as diagnostics, the same with a sharp cut between the atoms and the continuum at
the patch box, measured from the relaxed depth-0 reference (info columns; E_total keeps its
own partition). The argument: at every relaxed increment the
free atoms are in equilibrium, ∂(E_atoms + E_indenter)/∂x_free = 0, so along the loading path

    d(E_atoms + E_indenter) = P dd − Σ_pad F·dx_pad      (F = −∂E_atoms/∂x on a pad atom)

with E_atoms the energy of *every* patch atom, pad included: ``E_atoms + ΔE_indenter −
W_indenter + W_pad = 0`` (``ledger_atoms``; W_pad = ∫ Σ_pad F·dx, the work the atoms do on
their moving pad, i.e. the energy they hand to the continuum; trapezoid in x over the relaxed
increments) to the relaxation tolerance and the quadrature. The stored energy of both scales
is E_atoms + the continuum's strain energy outside the patch box (``E_strain_outside``,
:class:`~mscouple.run.couplers.SchwarzContinuum`), so

    E_atoms + E_strain_outside + ΔE_indenter − W_indenter = E_strain_outside − W_pad,

the mismatch between what the continuum stores outside the box and what the atoms hand to the
pad. Both carry first-order terms of the pre-stressed reference (surface stress; the pad atoms
held against it): the atoms' is the work of the reference pad reactions ``W_pad_ref`` = Σ F⁰·Δx
(F⁰ at depth 0), the continuum's σ(u⁰):ε(Δu), which a stress-free linear Cauchy–Born continuum
cannot balance. Without them the ledger reads E_atoms + W_pad_ref + E_strain_outside_2 +
ΔE_indenter − W_indenter = E_strain_outside_2 − (W_pad − W_pad_ref). Measured
(``tests/run/test_indentation.py::test_eam_coupled_energy_ledger_of_both_scales``): the atoms'
ledger closes to 0.11 % of W at 2 Å (0.25 Å increments); the second-order ledger of both scales
is −2.2 … −3.2 % of W at d = 0.75–2 Å (the continuum outside the box stores 0.99 of the
atoms' second-order work on the pad at 0.25 Å, 0.68 at 2 Å: alternating Schwarz has no common
energy functional), with the first-order terms +6.2 %.

**The ledger of both scales** (coupled statics; ``ledger_residual``, the last four columns of
the P(d) table, ``ledger_*`` in the summary, one line at the end of the run): the crystal's
stored energy is split by a partition of unity over the Schwarz overlap
(:meth:`~mscouple.coupling.schwarz.SchwarzRegions.atom_weight`: the atoms' share w is 0 in the
pad, rises linearly with the ∞-distance across the overlap, 1 in the core; the continuum's
cells carry the cell mean of 1 − w), relative to the relaxed depth-0 state:

    W_indenter = ΔE_atoms,w + ΔE_continuum,w + ΔE_indenter + residual,
    ΔE_atoms,w = Σ_α w(X_α) ΔE_α  (``E_atoms_w``),  ΔE_continuum,w = Σ_c (1 − w̄_c) ΔE_c  (``E_continuum_w``).

Alternating Schwarz is not variational: testing each model's equilibrium with w v (zero on the
pad) and (1 − w) v (zero on the core) gives dΦ_w/dd − P = ∫_overlap ∇w · (σ_c − σ_a) · v dV (plus
the difference of the two models' displacement rates v there), the work of the two models'
stress mismatch across the overlap. It vanishes in the patch test (a homogeneous strain,
Cauchy–Born exact) and is first order in the mismatch (linear Cauchy–Born against the
nonlinear atoms, the P1 strain over cells as wide as the overlap, the surface's and the
reference state's pre-stress). Measured on the test's case (9 x 9 x 6 patch, overlap 5 Å):
≤ 0.7 % of W to d = 1.5 Å, −1.8 % at 2 Å; it depends on the overlap width and the patch (README
"Energy ledger"). After a pop-in the residual drops by the energy the quasi-static path
dissipates at the instability (``ledger_popin_released``).

Depth 0 (statics): ``zero = "position"`` — the apex at ``position``; ``zero = "contact"`` — at
first contact with the surface relaxed at depth 0 (pure MD: one FIRE relaxation; coupled: one
Schwarz solve, both before the increment-0 record, so the ledger's reference is the relaxed
state), as an experimentalist measures depth; the shift is ``indenter_zero_shift``.

Output (patch rank 0): ``<output>.csv`` (increment/step, depth, load, E_indenter, W_indenter,
Hertz load, contact radius of the atoms — the largest distance from the indenter's axis of an
atom in contact — and Hertz's (R d)^{1/2}; with ``indenter.thickness`` also
``hertz_load_layer``, Hertz on a layer of that thickness bonded to a rigid base,
:func:`~mscouple.atomistic.indenter.bonded_layer_factor` with ν of :func:`hertz_poisson`)
rewritten at every record, ``<output>.png`` (P(d) with the Hertz curve for a sphere, E* = the
Vlassak–Nix modulus of :func:`hertz_modulus`) at the end of the run. Pop-in: the first load drop under displacement control is announced (one
line on the patch's rank 0) and kept in the summary (``indenter_popin_*``).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..atomistic.indenter import Indenter, bonded_layer_factor, contact_radius, hertz_load, increment_work
from ..atomistic.minimize import fire
from ..atomistic.csp import DEFECT_CSP
from ..errors import ConvergenceError, SimulationError
from . import ledger as L
from .timers import PhaseTimers

__all__ = ["IndenterDriver", "DefectInBand", "make_indenter", "hertz_modulus", "hertz_poisson", "both_scales_columns"]


def both_scales_columns(row: dict) -> dict:
    """The ledger of both scales of a coupled statics row (every rank: the row is global):
    ``ledger_residual`` = E_atoms_w + E_continuum_w + dE_indenter − W_indenter, the stored
    energy of the crystal under the partition of unity (atoms weighted by w, the continuum's
    cells by 1 − w) plus the indenter's, minus the indenter's work; {} for other rows."""
    keys = ("E_atoms_w", "E_continuum_w", "dE_indenter", "W_indenter")
    if not all(k in row for k in keys):
        return {}
    return {"ledger_residual": row["E_atoms_w"] + row["E_continuum_w"] + row["dE_indenter"] - row["W_indenter"]}


class DefectInBand(SimulationError):
    """A defect (centro-symmetry above the lattice's) reached the Schwarz overlap band."""


def make_indenter(spec) -> Indenter:
    """The :class:`Indenter` of an ``[indenter]`` section (depth 0)."""
    return Indenter(spec.kind, radius=spec.radius, stiffness=spec.stiffness, position=spec.position,
                    direction=spec.direction, axis=spec.axis)


def _elastic_constants(case):
    """The constants the Hertz curve uses: ("cubic", (c11, c12, c44)) from the continuum's
    material (``cubic``; ``from_patch``: the Cauchy–Born constants of its patch) or else from
    the Cauchy–Born constants of the indented patch (pair or one-species EAM, cubic lattices);
    ("isotropic", (E, ν)); None when none are known (chains, sheets)."""
    from ..builders import patch_constants

    c = case.continuum
    if c is not None and c.material.model == "cubic":
        return "cubic", (c.material.c11, c.material.c12, c.material.c44)
    if c is not None and c.material.model == "isotropic":
        return "isotropic", (c.material.youngs_modulus, c.material.poisson_ratio)
    name = c.material.patch if c is not None else (case.indenter.patch or case.patches[0].name)
    p = case.patch(name)
    if p.lattice.kind not in ("fcc", "bcc", "sc"):
        return None
    cb = patch_constants(p)
    return "cubic", (cb.c11, cb.c12, cb.c44)


def hertz_poisson(case) -> float | None:
    """Poisson's ratio for the finite-thickness correction of the Hertz curve
    (:func:`~mscouple.atomistic.indenter.bonded_layer_factor`): of the Hill average of the
    cubic constants :func:`hertz_modulus` uses, or the isotropic material's; None without."""
    from ..atomistic.indenter import hill_average

    got = _elastic_constants(case)
    if got is None:
        return None
    kind, k = got
    return float(k[1]) if kind == "isotropic" else hill_average(*k).poisson


def hertz_modulus(case) -> float | None:
    """The indentation modulus M for the Hertz curve (:func:`hertz_load` with E* = M): for
    cubic constants (:func:`_elastic_constants`) the Vlassak–Nix modulus along the indenter's
    direction (:func:`~mscouple.atomistic.indenter.vlassak_nix_modulus`); isotropic:
    E/(1 − ν²). None when no constants are known (chains, sheets)."""
    from ..atomistic.indenter import vlassak_nix_modulus

    got = _elastic_constants(case)
    if got is None:
        return None
    kind, k = got
    if kind == "isotropic":
        return k[0] / (1.0 - k[1] ** 2)
    return vlassak_nix_modulus(*k, case.indenter.direction)


class IndenterDriver:
    """Coupler of the ``[indenter]`` (see the module docstring).

    model: the :class:`~mscouple.run.models.PatchModel`; spec: the case's ``IndenterSpec``;
    mode: ``"statics"`` or ``"dynamics"``; dt: run.dt; fmax: relaxation tolerance (force);
    drives: True in pure MD; outdir: where the P(d) table goes; modulus: E* or None.
    """

    def __init__(self, model, spec, *, mode: str, dt: float, fmax: float, drives: bool, outdir: Path,
                 modulus: float | None = None, max_steps: int = 200000, atoms_every: int = 0,
                 poisson: float | None = None):
        self.model, self.spec, self.mode = model, spec, mode
        self.dt, self.fmax, self.max_steps = float(dt), float(fmax), int(max_steps)
        self.drives = bool(drives)
        self.outdir = Path(outdir)
        self.modulus = modulus
        #: Hertz on a layer of spec.thickness bonded to a rigid base (a CSV column and a curve)
        self.layer = (float(spec.thickness), float(poisson)) if (
            getattr(spec, "thickness", 0.0) > 0 and spec.kind == "sphere" and modulus is not None
            and poisson is not None) else None
        self.timers = PhaseTimers()
        self.indenter = make_indenter(spec)
        md = model.system
        md.fixes.append(self.indenter)
        md.compute_forces()
        self.comm = md.comm
        self.work = 0.0
        self.increment = 0
        self.relax_steps = 0
        self._P = self.indenter.load(self.comm)
        self.rows: list[tuple] = []
        self.popin: tuple | None = None  # (step, depth, load) at the first load drop
        self.atoms_every = int(atoms_every) if mode == "statics" else 0
        self._frames = 0
        self._band_ids = None
        self._d_first = 0.0
        self._steps = 0
        self.zero_shift = 0.0
        self._pad = None  # coupled statics: (ids, x, f) of the prescribed atoms at the last record (rank 0)
        self._pad_ref = None  # ... and at the reference (depth 0, relaxed)
        self._books_pad = False  # every patch rank: the pad's work is booked (collective)
        self._coupled_ref = False  # coupled statics: the relaxed depth-0 reference is taken
        #: coupled statics: book the work the atoms do on their prescribed atoms (W_pad,
        #: W_pad_ref, ledger_atoms); the builder turns it off for blended statics, whose free
        #: atoms are in equilibrium under the weighted energy, not the plain one these use
        self.pad_ledger = True
        self.pad_work = self.pad_work_ref = 0.0
        self._E_atoms_ref = self._E_ind_ref = 0.0
        #: coupled statics: the Schwarz regions whose partition of unity splits the stored
        #: energy (:meth:`~mscouple.coupling.schwarz.SchwarzRegions.atom_weight`; set by the builder)
        self.partition = None
        self._Ew_ref = 0.0
        self.ledger: dict[int, tuple] = {}  # increment -> (dE_atoms, dE_continuum, dE_indenter, residual)
        if self.drives and mode == "statics":
            self._relax()  # the reference: the relaxed block (free surfaces) at depth 0
            self.start()
        elif mode == "dynamics":
            self._record(0)
        # coupled statics: the Schwarz halves relax both scales at depth 0, then call start()

    def start(self) -> None:
        """Statics, after the relaxation at depth 0 (collective over the patch comm): with
        ``zero = "contact"`` the indenter moves along its direction until it touches the
        relaxed surface (depth 0 = first contact, as an experimentalist measures it; the
        shift is :attr:`zero_shift`), then the increment-0 record and atoms frame."""
        if self.spec.zero == "contact":
            md = self.model.system
            s = self.indenter.contact_shift(md.x, md.box)  # owned atoms
            if self.comm.Get_size() > 1:
                from mpi4py import MPI

                s = self.comm.allreduce(s, op=MPI.MIN)
            if not np.isfinite(s):
                raise SimulationError("indenter.zero = 'contact': no atom lies in the indenter's footprint "
                                      f"below position {self.indenter.position.tolist()}")
            self.zero_shift = float(s)
            self.indenter.position = self.indenter.position + s * self.indenter.direction
            md.compute_forces()
        self._P = self.load()
        if not self.drives:
            self._E_atoms_ref = float(md.potential_energy())
            self._E_ind_ref = self.indenter.energy(self.comm)
            self._coupled_ref = True
            if self.pad_ledger:
                self._pad = self._pad_ref = self._pad_state()
                self._books_pad = True
            if self.partition is not None:
                self._Ew_ref = self._weighted_atoms()
        self._record(0)
        if self.atoms_every:
            self.after_increment()

    # -- measurements -------------------------------------------------------------------------
    @property
    def depth(self) -> float:
        return self.indenter.depth

    def load(self) -> float:
        """P at the last force evaluation (collective over the patch comm)."""
        return self.indenter.load(self.comm)

    def _record(self, index: int) -> None:
        E = self.indenter.energy(self.comm)
        hz = (float(hertz_load(self.depth, self.indenter.radius, self.modulus))
              if self.modulus is not None and self.indenter.shape == "sphere" else float("nan"))
        hz_a = (float(contact_radius(self.depth, self.indenter.radius))
                if self.indenter.shape == "sphere" else float("nan"))
        a = self.indenter.contact_radius(self.comm)
        row = (index, self.depth, self._P, E, self.work, hz, a, hz_a)
        if self.layer is not None:
            row += (hz * float(bonded_layer_factor(self.depth, self.indenter.radius, *self.layer)),)
        self.rows.append(row)
        self._detect_popin()
        if self.comm.Get_rank() == 0 and self.mode == "statics":
            self._write_csv()

    def _write_csv(self) -> None:
        from ..io.commit import commit_text as atomic_write_text

        head = "step,depth,load,E_indenter,W_indenter,hertz_load,contact_radius,hertz_contact_radius"
        if self.layer is not None:
            head += ",hertz_load_layer"
        if self.ledger:
            head += ",dE_atoms,dE_continuum,dE_indenter,ledger_residual"
        lines = [head]
        nan = (float("nan"),) * 4
        lines += [",".join(f"{v:.12g}" for v in (r + self.ledger.get(r[0], nan) if self.ledger else r))
                  for r in self.rows]
        atomic_write_text(str(self.outdir / f"{self.spec.output}.csv"), "\n".join(lines) + "\n")

    # -- atoms: frames with per-atom energy and CSP; defects reaching the handshake band ------
    def watch_band(self, regions, lattice_constant: float, kind: str = "fcc", inner=None) -> None:
        """Coupled statics: after every increment, stop the run when an atom of the overlap
        band (atoms deeper than the pad inside the patch box and outside the box ``inner``,
        by default the core: pad < depth ≤ pad + overlap; reference positions) has a
        centro-symmetry parameter above its reference value by more than
        :data:`~mscouple.atomistic.csp.DEFECT_CSP` · a² (a dislocation or stacking fault has
        reached the band: the continuum beyond it would carry wrong physics). ``inner`` (lo, hi)
        smaller than the core: the band reaches into it (blended statics, whose overlap atoms
        follow the continuum and stop a defect at the free atoms next to them)."""
        from ..atomistic.csp import NEIGHBOURS
        from ..coupling.schwarz import box_signed_distance

        md = self.model.system
        depth = -regions.patch_distance(md.x0)
        self._band_regions = regions
        self._band_k = NEIGHBOURS.get(kind, 12)
        self._band_threshold = DEFECT_CSP * lattice_constant ** 2
        lo, hi = (regions.core_lo, regions.core_hi) if inner is None else inner
        lo, hi = np.asarray(lo, float), np.asarray(hi, float)
        inside = box_signed_distance(md.x0[:, :lo.size], lo, hi) < 0
        mine = np.asarray(md.ids)[(depth > regions.pad) & ~inside]
        # every rank's band atoms (the check runs on the patch's rank 0 over the gathered atoms;
        # with the local ids only, a band atom owned by another rank was never watched)
        self._band_ids = (np.concatenate(self.comm.allgather(mine)) if self.comm.Get_size() > 1 else mine)
        self._band_ref = None
        self._band_a = float(lattice_constant)

    def _gathered(self, with_energy: bool):
        """(ids, x [n,3], x0 [n,3], energy [n] or None) of every patch atom, id order, on the
        patch's rank 0 (None elsewhere; collective)."""
        md = self.model.system
        e = np.asarray(md.per_atom_energy()) if with_energy else None
        part = (np.asarray(md.ids), md.unwrapped_positions(), np.asarray(md.x0), e)
        parts = self.comm.gather(part, root=0) if self.comm.Get_size() > 1 else [part]
        if parts is None:
            return None
        ids = np.concatenate([q[0] for q in parts])
        o = np.argsort(ids, kind="stable")
        cat = [np.concatenate([q[k] for q in parts])[o] for k in (1, 2)]
        en = np.concatenate([q[3] for q in parts])[o] if with_energy else None
        return ids[o], cat[0], cat[1], en

    def _csp(self, x: np.ndarray, rows=None) -> np.ndarray:
        from ..atomistic.csp import centrosymmetry

        b = self.model.system.box
        return centrosymmetry(x, self._band_k if hasattr(self, "_band_k") else 12, lo=b.lo, lengths=b.lengths,
                              periodic=b.periodic, rows=rows)

    def _bulk_rows(self, x0: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """The *rows* whose first shell is complete in the reference lattice: atoms on or next
        to a free surface have ties among their 12 nearest sites (second-shell distances) and
        a CSP that jumps with any relaxation, so they are not watched."""
        from scipy.spatial import cKDTree

        if len(rows) == 0:
            return rows
        # between the first and second shells: fcc 0.71 a | a, bcc 0.87 a | a, sc a | 1.41 a
        cut = {12: 0.85, 8: 0.93, 6: 1.2}.get(self._band_k, 0.85) * self._band_a
        counts = np.array([len(n) for n in cKDTree(x0).query_ball_point(x0[rows], cut)]) - 1
        return rows[counts >= self._band_k]

    def after_increment(self) -> None:
        """Atoms frame (every ``atoms_every`` increments) and the band's defect check."""
        want_frame = self.atoms_every > 0 and self.increment % self.atoms_every == 0
        watch = getattr(self, "_band_ids", None) is not None
        if not (want_frame or watch):
            return
        g = self._gathered(with_energy=want_frame)
        msg = None
        if g is not None:
            ids, x, x0, e = g
            if want_frame:
                self._write_atoms(ids, x, e, self._csp(x))
            if watch:
                if self._band_ref is None:
                    self._band_rows = self._bulk_rows(x0, np.flatnonzero(np.isin(ids, self._band_ids)))
                    self._band_ref = self._csp(x0, self._band_rows)
                rows = self._band_rows
                dc = self._csp(x, rows) - self._band_ref
                k = int(np.argmax(dc)) if len(dc) else 0
                if len(dc) and dc[k] > self._band_threshold:
                    p = x[rows[k]]
                    msg = (f"increment {self.increment} (depth {self.depth:.6g}): a defect reached the handshake "
                           f"band at ({p[0]:.4g}, {p[1]:.4g}, {p[2]:.4g}) (atom {int(ids[rows[k]])}: centro-symmetry "
                           f"{dc[k]:.3g} above the lattice's, threshold {self._band_threshold:.3g}); enlarge the patch "
                           "(patches.<name>.region) or stop the loading earlier")
        if watch:
            msg = self.comm.bcast(msg, root=0) if self.comm.Get_size() > 1 else msg
            if msg is not None:
                self._write_csv_anyway()
                raise DefectInBand(msg)

    def _write_csv_anyway(self) -> None:
        if self.comm.Get_rank() == 0:
            self._write_csv()

    def _write_atoms(self, ids, x, e, csp) -> None:
        """Append one extxyz frame (OVITO/ASE): species, pos, id, c_pe (energy), csp (length²)."""
        md = self.model.system
        b = md.box
        names = getattr(md.potential, "elements", None)
        sym = names[0] if names else "X"
        L = np.asarray(b.lengths, float)
        lat = " ".join(f"{v:.10g}" for v in np.diag(L).ravel())
        pbc = " ".join("T" if q else "F" for q in b.periodic)
        head = (f"{len(ids)}\nLattice=\"{lat}\" Origin=\"{' '.join(f'{v:.10g}' for v in b.lo)}\" "
                f"Properties=species:S:1:pos:R:3:id:I:1:c_pe:R:1:csp:R:1 Step={self.increment} "
                f"depth={self.depth:.10g} load={self._P:.10g} pbc=\"{pbc}\"\n")
        body = "".join(f"{sym} {p[0]:.8f} {p[1]:.8f} {p[2]:.8f} {int(i)} {en:.8g} {c:.6g}\n"
                       for i, p, en, c in zip(ids, x, e, csp))
        path = self.outdir / f"{self.spec.output}_atoms.xyz"
        with open(path, "w" if self._frames == 0 else "a") as fh:
            fh.write(head + body)
        self._frames += 1

    def _detect_popin(self) -> None:
        """The first load drop under displacement control (pop-in: dislocation nucleation
        under a sphere, Kelchner, Plimpton & Hamilton 1998): the first record whose load is
        below the previous one by more than 1e-6 of it. Kept as ``(step, depth, load)`` of
        the last record *before* the drop (the peak) and announced once on rank 0."""
        if (self.popin is not None or len(self.rows) < 2 or self.spec.control != "displacement"
                or self.mode != "statics"):  # in dynamics the load fluctuates thermally
            return
        (i0, d0, p0, *_), (i1, d1, p1, *_) = self.rows[-2], self.rows[-1]
        if p0 > 0 and p1 < p0 * (1.0 - 1e-6):
            self.popin = (int(i0), float(d0), float(p0))
            if self.comm.Get_rank() == 0:
                print(f"pop-in: load drop after increment {i0} at depth {d0:.6g} (load {p0:.6g} -> "
                      f"{p1:.6g} at depth {d1:.6g})", flush=True)

    # -- statics ---------------------------------------------------------------------------
    def begin_increment(self) -> None:
        """Displacement control: the next depth (the relaxation follows)."""
        self._d_old, self._P_old = self.depth, self._P
        if self.spec.control == "displacement":
            self.indenter.depth = self.next_depth(self.depth)

    def next_depth(self, depth: float) -> float:
        """Displacement control: the depth after *depth* — the next of ``indenter.depths``
        (a schedule, e.g. fine increments near the pop-in; found by value, so a restart
        continues it), else ``depth + depth_increment``."""
        if self.spec.depths:
            later = [d for d in self.spec.depths if d > depth + 1e-9]
            if not later:
                raise SimulationError(f"indenter.depths: no depth after {depth:g} (the schedule has "
                                      f"{len(self.spec.depths)}; run.steps asks for more increments)")
            return float(later[0])
        return depth + self.spec.depth_increment

    def end_increment(self) -> None:
        """After the relaxation: the load, the work increment (trapezoid), a record, the
        atoms frame and the band's defect check (:meth:`after_increment`)."""
        self._P = self.load()
        self.work += self.work_increment(self._d_old, self.depth, self._P_old, self._P)
        if self._books_pad:
            self._book_pad()
        self.increment += 1
        self._record(self.increment)
        self.after_increment()

    # -- the coupled ledger: every atom's energy and the work the atoms hand to their pad --------
    def _pad_state(self):
        """(ids, x [m,3], f [m,3]) of the prescribed (pad) atoms, id order, on the patch's rank
        0 (None elsewhere; collective). The forces are re-evaluated at the current positions."""
        md = self.model.system
        md.compute_forces()
        sel = np.asarray(md.fixed) != 0
        part = (np.asarray(md.ids)[sel], md.unwrapped_positions()[sel], np.array(md.f[sel]))
        parts = self.comm.gather(part, root=0) if self.comm.Get_size() > 1 else [part]
        if parts is None:
            return None
        ids = np.concatenate([q[0] for q in parts])
        o = np.argsort(ids, kind="stable")
        return ids[o], np.concatenate([q[1] for q in parts])[o], np.concatenate([q[2] for q in parts])[o]

    def _book_pad(self) -> None:
        """After a relaxed increment: the work the atoms did on their moving pad over it,
        ½ Σ (F_old + F_new)·(x_new − x_old) (exact where F is linear along a straight path of
        the pad), and the first-order part Σ F⁰·(x − x⁰) (the reference pad reactions)."""
        new = self._pad_state()
        if new is not None:
            (i0, x0, f0), (i1, x1, f1) = self._pad, new
            if not np.array_equal(i0, i1):
                raise SimulationError("indenter ledger: the set of prescribed (pad) atoms changed")
            self.pad_work += 0.5 * float(np.sum((f0 + f1) * (x1 - x0)))
            ir, xr, fr = self._pad_ref
            self.pad_work_ref = float(np.sum(fr * (x1 - xr)))
            self._pad = new

    def _weighted_atoms(self) -> float:
        """Σ_α w(X_α) E_α over the patch atoms (collective), w the atoms' share of the
        partition of unity at the atom's reference site (0 in the pad, 1 in the core)."""
        md = self.model.system
        e = np.asarray(md.per_atom_energy())
        w = self.partition.atom_weight(np.asarray(md.x0)[:len(e)])
        v = float(np.dot(w, e))
        return float(self.comm.allreduce(v)) if self.comm.Get_size() > 1 else v

    def on_row(self, row: dict) -> None:
        """After each ledger row (every rank holds the same row): the ledger of both scales of
        this increment into the P(d) table (patch rank 0 rewrites it)."""
        if "ledger_residual" not in row:
            return
        self.ledger[self.increment] = (row["E_atoms_w"], row["E_continuum_w"], row["dE_indenter"],
                                       row["ledger_residual"])
        if self.comm.Get_rank() == 0:
            self._write_csv()

    def ledger_stats(self) -> dict:
        """The ledger of both scales at the last increment (``ledger_W``, ``ledger_dE_atoms``,
        ``ledger_dE_continuum``, ``ledger_dE_indenter``, ``ledger_residual``,
        ``ledger_residual_of_W``), the largest |residual| / W over the increments before the
        pop-in (``ledger_max_residual_of_W_before_popin``, from increment 2 on: the first carries
        the single-atom contact's quadrature) and the energy released at the pop-in
        (``ledger_popin_released``: the residual's drop over the increment of the load drop,
        energy the quasi-static path dissipates at the instability). {} without a ledger."""
        if not self.ledger:
            return {}
        k = max(self.ledger)
        ea, ec, ei, res = self.ledger[k]
        W = float(self.rows[k][4])
        last = self.popin[0] if self.popin is not None else k
        rel = [abs(v[3]) / self.rows[i][4] for i, v in self.ledger.items() if 2 <= i <= last and self.rows[i][4] > 0]
        out = {"ledger_W": W, "ledger_dE_atoms": ea, "ledger_dE_continuum": ec, "ledger_dE_indenter": ei,
               "ledger_residual": res, "ledger_residual_of_W": res / W if W > 0 else None,
               "ledger_max_residual_of_W_before_popin": max(rel) if rel else None, "ledger_popin_released": None}
        if self.popin is not None and last in self.ledger and last + 1 in self.ledger:
            out["ledger_popin_released"] = self.ledger[last][3] - self.ledger[last + 1][3]
        return out

    def ledger_line(self) -> str | None:
        """One line: the ledger of both scales at the last increment, its largest residual
        before the pop-in and the energy released at the pop-in."""
        st = self.ledger_stats()
        if not st or not st["ledger_W"] > 0:
            return None
        k = max(self.ledger)
        W, res = st["ledger_W"], st["ledger_residual"]
        line = (f"energy ledger at depth {self.rows[k][1]:.6g} (increment {k}): W_indenter {W:.6g} = dE_atoms "
                f"{st['ledger_dE_atoms']:.6g} + dE_continuum {st['ledger_dE_continuum']:.6g} + dE_indenter "
                f"{st['ledger_dE_indenter']:.6g} + residual {res:.4g} ({100 * res / W:.3g} % of W)")
        m = st["ledger_max_residual_of_W_before_popin"]
        if m is not None:
            line += f"; |residual| <= {100 * m:.3g} % of W at increments 2-{self.popin[0] if self.popin else k}"
        if st["ledger_popin_released"] is not None:
            line += f"; released at the pop-in {st['ledger_popin_released']:.4g}"
        return line

    def coupled_ledger_terms(self) -> list[L.Term]:
        """Coupled statics (info columns; see :mod:`mscouple.run.couplers` ``SchwarzContinuum``
        for the continuum's and the definition of the stored energy of both scales):
        ``E_atoms`` = E_pot(every patch atom, pad included) − its reference; ``W_pad`` = ∫ Σ F·dx
        over the pad atoms (the energy the atoms handed to the pad, i.e. to the continuum);
        ``W_pad_ref`` = Σ F⁰·Δx (its first-order part: the reference pad reactions);
        ``ledger_atoms`` = E_atoms + ΔE_indenter − W_indenter + W_pad (zero to the relaxation
        tolerance and the quadrature: the free atoms are in equilibrium at every record).
        Without :attr:`pad_ledger` (blended statics) only ``E_atoms``, ``dE_indenter`` and
        ``E_atoms_w``."""
        if not self._coupled_ref:
            return []
        ea = float(self.model.system.potential_energy()) - self._E_atoms_ref
        ei = self.indenter.energy(self.comm) - self._E_ind_ref
        out = [L.info("E_atoms", ea)]
        if self._books_pad:
            pw, pr = (self.pad_work, self.pad_work_ref)
            if self.comm.Get_size() > 1:
                pw, pr = self.comm.bcast((pw, pr), root=0)
            out += [L.info("W_pad", pw), L.info("W_pad_ref", pr), L.info("ledger_atoms", ea + ei - self.work + pw)]
        out.append(L.info("dE_indenter", ei))
        if self.partition is not None:
            out.append(L.info("E_atoms_w", self._weighted_atoms() - self._Ew_ref))
        return out

    def work_increment(self, d0: float, d1: float, p0: float, p1: float) -> float:
        """∫ P dd over one relaxed increment: :func:`~mscouple.atomistic.indenter.increment_work`."""
        return increment_work(self.indenter.shape, d0, d1, p0, p1)

    def _relax(self) -> float:
        md = self.model.system
        with self.timers.phase("md.relax"):
            res = fire(md, fmax=self.fmax, max_steps=self.max_steps, raise_on_failure=False)
        self.relax_steps += res.steps
        if not res.converged:
            raise ConvergenceError(f"indenter increment {self.increment + 1}: FIRE did not reach max|f| < "
                                   f"{self.fmax:g} in {self.max_steps} steps (max|f| = {res.fmax:.3g}); "
                                   "reduce indenter.depth_increment or loosen run.tolerance")
        return self.load()

    def _solve_load(self, target: float) -> None:
        """Depth at which the relaxed load is ``target``: bracket by doubling steps, then
        regula falsi (Illinois) to |P − target| ≤ 1e-4 target (P(d) increases with d)."""
        ind = self.indenter
        d0, p0 = ind.depth, self._P
        step = (self.depth - self._d_first) / max(self.increment, 1) if self.increment else 0.05 * ind.radius
        lo, plo = d0, p0
        hi = d0 + max(step, 1e-3 * ind.radius)
        ind.depth = hi
        phi = self._relax()
        while phi < target:
            lo, plo = hi, phi
            hi = hi + 2 * (hi - d0)
            ind.depth = hi
            phi = self._relax()
        side = 0
        for _ in range(60):
            if abs(phi - target) <= 1e-4 * abs(target):
                return
            d = hi - (phi - target) * (hi - lo) / (phi - plo)
            ind.depth = d
            p = self._relax()
            if p < target:
                lo, plo = d, p
                if side == -1:
                    phi = target + 0.5 * (phi - target)
                side = -1
            else:
                hi, phi = d, p
                if side == 1:
                    plo = target + 0.5 * (plo - target)
                side = 1
            if abs(p - target) <= 1e-4 * abs(target):
                return
        raise ConvergenceError(f"indenter increment {self.increment + 1}: no depth found for the load "
                               f"{target:g} in 60 relaxations; reduce indenter.load_increment")

    # -- the coupler contract -------------------------------------------------------------
    def advance(self, n: int) -> None:
        if not self.drives:
            return
        if self.mode == "dynamics":
            self._dynamics(n)
            return
        for _ in range(n):
            self.begin_increment()
            if self.spec.control == "load":
                self._solve_load((self.increment + 1) * self.spec.load_increment)
            else:
                self._relax()
            self.end_increment()

    def move(self, dt: float) -> None:
        """Dynamics: the tip advances ``speed · dt`` (call before the force evaluation)."""
        self._d_old, self._P_old = self.depth, self._P
        self.indenter.depth += self.spec.speed * dt

    def book_step(self) -> None:
        """Dynamics: after the force evaluation, the work of the step (trapezoid)."""
        self._P = self.load()
        self.work += 0.5 * (self._P_old + self._P) * (self.depth - self._d_old)
        self._steps += 1

    def _dynamics(self, n: int) -> None:
        md = self.model.system
        for _ in range(n):
            self.move(self.dt)
            md.run(1)
            self.book_step()

    def ledger_terms(self) -> list[L.Term]:
        E = self.indenter.energy(self.comm)
        if self.mode == "dynamics" and self._steps and self.rows[-1][0] != self._steps:
            self._record(self._steps)
        return [L.state("E_indenter", E), L.flux("W_indenter", self.work, sign=-1.0),
                L.info("indenter_load", self._P), L.info("indenter_depth", self.depth),
                L.info("indenter_contacts", self.indenter.contacts(self.comm))] + self.coupled_ledger_terms()

    def checkpoint_arrays(self) -> dict:
        if self.comm.Get_rank() != 0:
            return {}
        return {"indenter/state": (np.arange(3, dtype=np.int64), np.array([self.depth, self.work, self._P]))}

    def restore(self, ckpt) -> None:
        from .models import _reread

        ck = _reread(ckpt, self.comm)
        root = self.comm.Get_rank() == 0
        st = ck.take("indenter/state", np.arange(3 if root else 0, dtype=np.int64))
        st = self.comm.bcast(np.asarray(st) if root else None, root=0)
        self.indenter.depth, self.work, self._P = (float(v) for v in st)
        self.model.system.compute_forces()

    def summary(self) -> dict:
        if self.comm.Get_rank() != 0:
            return {}
        if self.mode == "dynamics":
            self._write_csv()
        self._plot()
        P = [r[2] for r in self.rows]
        pop = self.popin
        line = self.ledger_line()
        if line is not None:
            print(line, flush=True)
        return {**self.ledger_stats(),"indenter_max_load": float(max(P)), "indenter_final_depth": float(self.depth),
                "indenter_popin_step": None if pop is None else pop[0],
                "indenter_popin_depth": None if pop is None else pop[1],
                "indenter_popin_load": None if pop is None else pop[2],
                "indenter_contact_radius": float(self.rows[-1][6]),
                "indenter_work": float(self.work), "indenter_modulus": self.modulus,
                "indenter_relax_steps": int(self.relax_steps), "indenter_zero_shift": self.zero_shift}

    def _plot(self) -> None:
        import matplotlib

        matplotlib.use("Agg", force=False)
        from matplotlib.figure import Figure

        d = np.array([r[1] for r in self.rows])
        P = np.array([r[2] for r in self.rows])
        fig = Figure(figsize=(5, 4))
        ax = fig.add_subplot()
        ax.plot(d, P, "o-", ms=3, label=f"{self.indenter.shape} (atoms)")
        if self.modulus is not None and self.indenter.shape == "sphere":
            dd = np.linspace(0, max(d.max(), 1e-12), 200)
            ax.plot(dd, hertz_load(dd, self.indenter.radius, self.modulus), "k--",
                    label=f"Hertz, E* = {self.modulus:.4g}")
            if self.layer is not None:
                ax.plot(dd, hertz_load(dd, self.indenter.radius, self.modulus)
                        * bonded_layer_factor(dd, self.indenter.radius, *self.layer), "k:",
                        label=f"Hertz on a bonded layer, h = {self.layer[0]:.4g}")
        ax.set_xlabel("depth d")
        ax.set_ylabel("load P")
        ax.legend()
        fig.tight_layout()
        fig.savefig(self.outdir / f"{self.spec.output}.png", dpi=120)
