"""The case file's ``[indenter]``: an :class:`~mscouple.atomistic.indenter.Indenter` on a
patch, its loading path, its ledger columns and its P(d) table and plot.

:class:`IndenterDriver` is a coupler (:mod:`mscouple.run.couplers` contract) on the patch
ranks. It attaches the indenter to the patch's MD system as a force fix and

* **pure MD** (it *drives*): statics — one increment per run step: the depth grows by
  ``depth_increment`` (displacement control) or is found by a bracketed secant search so
  that the relaxed load equals ``k · load_increment`` (load control), the atoms relaxed with
  FIRE to ``run.tolerance`` at each trial depth; dynamics — the tip moves at ``speed``
  (its depth set before each velocity-Verlet step's force evaluation);
* **coupled** (it only books; ``drives = False``): the Schwarz halves call
  :meth:`begin_increment` / :meth:`end_increment` around one Schwarz solve per run step, the
  bridging patch half calls :meth:`move` before each force evaluation and :meth:`book_step`
  after it.

Ledger (energy unit of the case): ``E_indenter`` (state: Σ K/3 (R − r)³), ``W_indenter``
(flux, sign −1: the work ∫ P dz the indenter did on the atoms — trapezoidal rule over the
relaxed increments in statics, over the MD steps in dynamics), ``indenter_load`` (P, force),
``indenter_depth`` (length), ``indenter_contacts``. In statics E_pot + E_indenter − W_indenter
is constant to the quadrature error O(Δd²) and the relaxation tolerance.

Output (patch rank 0): ``<output>.csv`` (increment/step, depth, load, E_indenter, W_indenter,
Hertz load) rewritten at every record, ``<output>.png`` (P(d) with the Hertz curve for a
sphere) at the end of the run.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..atomistic.indenter import Indenter, hertz_load
from ..atomistic.minimize import fire
from ..errors import ConvergenceError
from . import ledger as L
from .timers import PhaseTimers

__all__ = ["IndenterDriver", "make_indenter", "hertz_modulus"]


def make_indenter(spec) -> Indenter:
    """The :class:`Indenter` of an ``[indenter]`` section (depth 0)."""
    return Indenter(spec.kind, radius=spec.radius, stiffness=spec.stiffness, position=spec.position,
                    direction=spec.direction, axis=spec.axis)


def hertz_modulus(case) -> float | None:
    """E* for the Hertz curve: from the continuum's material (cubic: Hill average, see
    :func:`~mscouple.atomistic.indenter.indentation_modulus`; isotropic: E/(1 − ν²)), else
    the Cauchy–Born constants of the patch's pair potential for a cubic lattice; None when
    neither is known (EAM patch without a continuum)."""
    from ..atomistic.indenter import indentation_modulus

    c = case.continuum
    if c is not None and c.material.model == "cubic":
        m = c.material
        return indentation_modulus(m.c11, m.c12, m.c44)
    if c is not None and c.material.model == "isotropic":
        m = c.material
        return m.youngs_modulus / (1.0 - m.poisson_ratio ** 2)
    p = case.patch(case.indenter.patch or case.patches[0].name)
    if p.lattice.kind not in ("fcc", "bcc", "sc") or p.potential.kind == "eam":
        return None
    from ..builders import make_potential
    from ..hmm.cauchy_born import BravaisLattice, cb_elastic_constants, radial_derivatives

    pot = make_potential(p.potential)
    d = radial_derivatives(pot)
    C = cb_elastic_constants(d, BravaisLattice.build(p.lattice.kind, p.lattice.constant, 1.2 * d.rc))
    return indentation_modulus(C[0, 0, 0, 0], C[0, 0, 1, 1], C[1, 2, 1, 2])


class IndenterDriver:
    """Coupler of the ``[indenter]`` (see the module docstring).

    model: the :class:`~mscouple.run.models.PatchModel`; spec: the case's ``IndenterSpec``;
    mode: ``"statics"`` or ``"dynamics"``; dt: run.dt; fmax: relaxation tolerance (force);
    drives: True in pure MD; outdir: where the P(d) table goes; modulus: E* or None.
    """

    def __init__(self, model, spec, *, mode: str, dt: float, fmax: float, drives: bool, outdir: Path,
                 modulus: float | None = None, max_steps: int = 200000):
        self.model, self.spec, self.mode = model, spec, mode
        self.dt, self.fmax, self.max_steps = float(dt), float(fmax), int(max_steps)
        self.drives = bool(drives)
        self.outdir = Path(outdir)
        self.modulus = modulus
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
        self._d_first = 0.0
        self._steps = 0
        if self.drives and mode == "statics":
            self._relax()  # the reference: the relaxed block (free surfaces) at depth 0
            self._P = self.load()
        self._record(0)

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
        self.rows.append((index, self.depth, self._P, E, self.work, hz))
        if self.comm.Get_rank() == 0 and self.mode == "statics":
            self._write_csv()

    def _write_csv(self) -> None:
        from ..io.commit import commit_text as atomic_write_text

        lines = ["step,depth,load,E_indenter,W_indenter,hertz_load"]
        lines += [f"{i},{d:.12g},{p:.12g},{e:.12g},{w:.12g},{h:.12g}" for i, d, p, e, w, h in self.rows]
        atomic_write_text(str(self.outdir / f"{self.spec.output}.csv"), "\n".join(lines) + "\n")

    # -- statics ---------------------------------------------------------------------------
    def begin_increment(self) -> None:
        """Displacement control: the next depth (the relaxation follows)."""
        self._d_old, self._P_old = self.depth, self._P
        if self.spec.control == "displacement":
            self.indenter.depth += self.spec.depth_increment

    def end_increment(self) -> None:
        """After the relaxation: the load, the work increment (trapezoid), a record."""
        self._P = self.load()
        self.work += 0.5 * (self._P_old + self._P) * (self.depth - self._d_old)
        self.increment += 1
        self._record(self.increment)

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
                L.info("indenter_contacts", self.indenter.contacts(self.comm))]

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
        return {"indenter_max_load": float(max(P)), "indenter_final_depth": float(self.depth),
                "indenter_work": float(self.work), "indenter_modulus": self.modulus,
                "indenter_relax_steps": int(self.relax_steps)}

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
        ax.set_xlabel("depth d")
        ax.set_ylabel("load P")
        ax.legend()
        fig.tight_layout()
        fig.savefig(self.outdir / f"{self.spec.output}.png", dpi=120)
