"""The quasi-static plasticity part of the continuum (``material.model = "dislocation_density"``).

Same contract as :class:`~mscouple.run.models.ElasticStaticsPart` (advance, ledger_terms,
fields, cell_fields, finite, restore, set_solution).

* **Continuum only**: one call to :meth:`PlasticStaticsPart.advance` runs the whole
  proportional loading (``material.load_steps`` steps of
  :class:`~mscouple.plasticity.solver.PlasticityProblem`, with cut-backs) under the case's
  displacement/traction boundaries.
* **Around an atomistic patch** (Schwarz statics, ``run/build.py: _schwarz``): the part's
  :attr:`PlasticStaticsPart.schwarz_continuum` (a
  :class:`~mscouple.plasticity.coupled.PlasticSchwarzContinuum`) is the driver's continuum,
  and :class:`PlasticSchwarzContinuumHalf` / :class:`PlasticSchwarzPatchHalf` run the
  loading as ``material.load_steps`` increments, one converged Schwarz solve each
  (:func:`~mscouple.plasticity.coupled.schwarz_load_steps`), in one run step. No cut-backs
  there: an increment whose Newton fails stops the run with one line (use more load steps).

Fields: nodal displacement and recovered ε̄ᵖ (``ep_bar``); per cell the Cauchy stress
(``stress``, [n_cells, dim, dim] as the elastic parts write it), ``sigma_eq`` (von Mises),
``sigma_flow`` (the current flow stress σ_f(ρ_S, ρ_G): a cell with ε̄ᵖ growing has
sigma_eq = sigma_flow), ``rho_S``, ``rho_G`` and ``ep_bar_cell`` (cell means).

Energies: ``E_strain_continuum`` (state) is the stored elastic energy ∫ ½ σ:(ε − εᵖ) dx
(with the Schwarz energy partition's cell weights when coupled); below yield it is the
elastic parts' ½ uᵀKu. The plastic work and the hardening's stored energy are not booked:
a plastic run has no conserved total, and the ledger's drift is not a check here.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ConfigError, ConvergenceError
from . import ledger as L
from .couplers import SchwarzContinuum, SchwarzPatch


class PlasticStaticsPart:
    name = "plastic"

    def __init__(self, model: Any, cell_weight: np.ndarray | None, energy_weight: np.ndarray | None = None):
        from ..plasticity.case import material_from_spec
        from ..plasticity.coupled import PlasticSchwarzContinuum
        from ..plasticity.solver import PlasticityProblem

        if cell_weight is not None:
            raise ConfigError("continuum.material.model = 'dislocation_density' couples to a patch by "
                              "Schwarz statics only (no bridging-domain band)")
        case = model.case
        c = case.continuum
        patch = case.patch(c.material.patch) if c.material.patch else None
        coupled = bool(case.patches)
        opts = dict(ksp_type="preonly", pc_type="lu") if coupled else {}  # small 2D/3D meshes, one rank
        self.problem = PlasticityProblem(model.vspace, material_from_spec(c.material, patch), gnd=c.material.gnd,
                                         gnd_length=c.material.gnd_length, **opts)
        for i, b in enumerate(c.boundary):
            value = list(b.value)
            comps = list(getattr(b, "components", ()) or ())
            if b.kind == "displacement" and comps:  # rollers: the listed components take the values
                full = np.zeros(model.vspace.ncomp)
                full[comps] = value
                self.problem.add_dirichlet(b.where, full, comps)
            elif b.kind == "displacement":
                self.problem.add_dirichlet(b.where, value[0] if len(value) == 1 else value)
            elif b.kind == "traction":
                self.problem.add_traction(b.where, value)
            else:
                raise ConfigError(f"continuum.boundary[{i}].kind = {b.kind!r}: expected 'displacement' or "
                                  "'traction' with model = 'dislocation_density'")
        self.steps = c.material.load_steps
        self.vspace, self.mesh = model.vspace, model.mesh
        self.dim = model.mesh.dim
        self.energy_weight = energy_weight  # per cell (the Schwarz energy partition) or None
        self.schwarz_continuum = PlasticSchwarzContinuum(self.problem) if coupled else None
        self.solved = False

    def advance(self, nsteps: int) -> None:
        if self.schwarz_continuum is not None:  # the Schwarz halves drive the loading
            return
        if not self.solved:
            self.problem.solve(1.0, self.steps)
            self.solved = True

    def set_solution(self, u) -> None:
        """The coupled loading is done (its converged increments committed to the problem)."""
        self.solved = True

    # ------------------------------------------------------------------ energies
    def stored_energy(self) -> float:
        """∫ w ½ σ:(ε − εᵖ) dx of the committed state (collective)."""
        pb = self.problem
        ee = pb.strain(pb.u) - pb.state.eps_p
        dens = 0.5 * np.einsum("nij,nij->n", pb.stress, ee).reshape(self.mesh.n_cells, pb.nq)
        per_cell = (dens * pb.wdet).sum(axis=1)
        if self.energy_weight is not None:
            per_cell = per_cell * self.energy_weight
        return float(pb.comm.allreduce(float(per_cell.sum())))

    def ledger_terms(self) -> list:
        if not self.solved:
            return []
        return [L.state("E_strain_continuum", self.stored_energy())]

    # ------------------------------------------------------------------ output
    def fields(self) -> dict[str, np.ndarray]:
        own = self.mesh.owned_nodes
        return {"displacement": np.array(self.vspace.owned(self.problem.u)),
                "ep_bar": np.asarray(self.problem.ep_nodal[own])}

    def cell_fields(self) -> dict[str, np.ndarray]:
        from ..plasticity.j2 import von_mises

        pb, d = self.problem, self.dim
        st, hd = pb.state, pb.material.hardening
        nc, nq = self.mesh.n_cells, pb.nq
        wq = pb.wdet / pb.wdet.sum(axis=1)[:, None]
        sig = np.einsum("cq,cqij->cij", wq, pb.stress.reshape(nc, nq, 3, 3))[:, :d, :d]
        flow, _ = hd.flow_stress(st.sqrt_rho, np.zeros_like(st.sqrt_rho), st.rho_g)
        return {"stress": np.ascontiguousarray(sig), "sigma_eq": pb.cell_average(von_mises(pb.stress)),
                "sigma_flow": pb.cell_average(flow), "rho_S": pb.cell_average(st.rho_s),
                "rho_G": pb.cell_average(st.rho_g), "ep_bar_cell": pb.cell_average(st.ep_bar)}

    def finite(self) -> bool:
        return bool(np.all(np.isfinite(self.problem.u.getArray())))

    def restore(self, take, time: float) -> None:  # one loading history per run: nothing carried over
        pass


# ---------------------------------------------------------------------------------------
# Schwarz statics with the plastic continuum: the loading as increments

class _PlasticLoading:
    """``advance``: the whole proportional loading, ``n_increments`` converged Schwarz solves
    (both halves, collective), once per run. ``continuum``: the
    :class:`PlasticSchwarzContinuum` on continuum ranks, None on patch ranks."""

    continuum = None
    n_increments = 1

    def advance(self, n: int) -> None:
        if self.result is not None:
            return
        from ..plasticity.coupled import schwarz_load_steps

        phase = "md.relax" if self.model.kind == "patch" else "fe.solve"
        with self.timers.phase(phase):
            try:
                results = schwarz_load_steps(self.sw, self.continuum, self.n_increments)
            except ConvergenceError as exc:
                # every rank of both groups raised here (Schwarz agrees on failures); the
                # continuum's own message (Newton) goes to the patch ranks, so whichever rank
                # aborts first says what failed
                why = (self.continuum.failure if self.continuum is not None else None) or str(exc)
                why = self._share(why)
                raise ConvergenceError(f"{why} (continuum.material.load_steps = {self.n_increments})") from None
        self.iterations = [int(r.iterations) for r in results]
        self.converged = all(bool(r.converged) for r in results)
        self.result = results[-1]
        self._solved()

    def _share(self, why: str) -> str:
        """The continuum root's message on every rank of the link (collective)."""
        from mpi4py import MPI

        ic = self.sw.links[0].intercomm
        if ic is None:
            return why
        if self.continuum is not None:
            ic.bcast(why, root=MPI.ROOT if ic.Get_rank() == 0 else MPI.PROC_NULL)
            return why
        return ic.bcast(None, root=0)

    def summary(self) -> dict:
        out = super().summary()
        if self.result is not None:
            out.update(schwarz_converged=bool(self.converged), load_increments=len(self.iterations),
                       schwarz_iterations_total=int(sum(self.iterations)),
                       schwarz_iterations_max=int(max(self.iterations)))
        return out


class PlasticSchwarzContinuumHalf(_PlasticLoading, SchwarzContinuum):
    """Continuum half: the plastic part's :class:`PlasticSchwarzContinuum` is the driver's
    continuum; ``schwarz_iterations`` in the rows is the last increment's count."""

    def __init__(self, schwarz, model, continuum, n_increments: int):
        super().__init__(schwarz, model)
        self.continuum, self.n_increments = continuum, int(n_increments)


class PlasticSchwarzPatchHalf(_PlasticLoading, SchwarzPatch):
    """Patch half: one FIRE-relaxed Schwarz solve per load increment."""

    def __init__(self, schwarz, model, n_increments: int):
        super().__init__(schwarz, model)
        self.n_increments = int(n_increments)
