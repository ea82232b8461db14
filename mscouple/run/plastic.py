"""The quasi-static plasticity part of the continuum (``material.model = "dislocation_density"``).

Same contract as :class:`~mscouple.run.models.ElasticStaticsPart` (advance, ledger_terms,
fields, finite, restore): one call to :meth:`advance` runs the whole proportional loading
(``material.load_steps`` steps of :class:`~mscouple.plasticity.solver.PlasticityProblem`,
with cut-backs) under the case's displacement/traction boundaries; the fields are the
displacement and the recovered equivalent plastic strain. Energies: the work of the
boundary loads is not booked (plastic dissipation has no place in the conservative
ledger yet), so the part declares no ledger terms.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ConfigError


class PlasticStaticsPart:
    name = "plastic"

    def __init__(self, model: Any, cell_weight: np.ndarray | None, energy_weight: np.ndarray | None = None):
        from ..plasticity.case import material_from_spec
        from ..plasticity.solver import PlasticityProblem

        if cell_weight is not None or energy_weight is not None:
            raise ConfigError("continuum.material.model = 'dislocation_density' is for continuum-only cases")
        c = model.case.continuum
        self.problem = PlasticityProblem(model.vspace, material_from_spec(c.material), gnd=c.material.gnd)
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
        self.solved = False

    def advance(self, nsteps: int) -> None:
        if not self.solved:
            self.problem.solve(1.0, self.steps)
            self.solved = True

    def ledger_terms(self) -> list:
        return []

    def fields(self) -> dict[str, np.ndarray]:
        own = self.mesh.owned_nodes
        return {"displacement": np.array(self.vspace.owned(self.problem.u)),
                "ep_bar": np.asarray(self.problem.ep_nodal[own])}

    def finite(self) -> bool:
        return bool(np.all(np.isfinite(self.problem.u.getArray())))

    def restore(self, take, time: float) -> None:  # one loading history per run: nothing carried over
        pass
