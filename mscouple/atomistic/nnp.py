"""Behler–Parrinello neural-network potential as an MD potential (``kind = "nnp"``).

Plugs into :class:`~mscouple.atomistic.system.MDSystem` like :class:`~.eam.EAM`: ``compute``
fills forces on owned and ghost atoms (the system reverse-sums the ghost part) and returns
the energy and virial of the owned atoms' atomic energies. The descriptors of an owned atom
need *all* its neighbours, so a full list within the model cutoff is built from owned +
ghost positions at every evaluation (``csrc/nnp.pyx: full_list``; the ghost shell of the
decomposition already covers cutoff + skin). Energy weights w (bridging domain) scale each
atom's energy: E = Σ_i w_i E_i. Units: metal (eV, Å); the model file is described in
:mod:`mscouple.mlip.model`.
"""
from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from ..mlip.model import NNPModel, load_model
from .potentials import ForceContext


class NNP:
    """MD potential from an :class:`~mscouple.mlip.model.NNPModel` (or a model file path)."""

    implemented_properties = ("energy", "forces", "virial", "energies", "virials")
    fusable = False

    def __init__(self, model: NNPModel | str) -> None:
        self.model = load_model(model) if isinstance(model, str) else model
        m = self.model
        self.elements = list(m.elements)
        self.ntypes = len(self.elements)
        self.cutoff = m.cutoff
        self.masses = m.masses
        self._fstart = np.zeros(1, np.int32)
        self._flist = np.zeros(0, np.int32)

    @classmethod
    def from_file(cls, path: str) -> "NNP":
        return cls(load_model(path))

    def type_of(self, element: str) -> int:
        try:
            return self.elements.index(element)
        except ValueError:
            raise ConfigError(f"element {element!r} is not in this NNP model (it has "
                              f"{', '.join(self.elements)})") from None

    def full_list(self, x: np.ndarray, nlocal: int, nall: int):
        """(fstart [nlocal+1], flist) of every atom within the cutoff of each owned atom."""
        from .._kernels.nnp import full_list

        if len(self._fstart) < nlocal + 1:
            self._fstart = np.zeros(nlocal + 1, np.int32)
        cnt = full_list(x, nlocal, nall, self.cutoff, self._fstart, self._flist)
        if cnt > len(self._flist):
            self._flist = np.zeros(int(1.2 * cnt) + 64, np.int32)
            cnt = full_list(x, nlocal, nall, self.cutoff, self._fstart, self._flist)
        return self._fstart, self._flist

    def compute(self, ctx: ForceContext, eflag: bool, vflag: bool, eatom, vatom):
        from .._kernels.nnp import nnp_forces

        m = self.model
        nall = ctx.nall
        if nall == 0:
            return 0.0, np.zeros(6)
        fstart, flist = self.full_list(ctx.x, ctx.nlocal, nall)
        return nnp_forces(ctx.x, ctx.types, ctx.weight, ctx.nlocal, nall, fstart, flist, m.sf,
                          m.cutoff, m.g_shift, m.g_scale, m.layers, m.act_code, m.weights, m.e0,
                          ctx.f, eatom, vatom, eflag, vflag)

    def __repr__(self) -> str:
        return (f"NNP(elements={self.elements}, cutoff={self.cutoff}, nsf={self.model.nsf}, "
                f"layers={self.model.layers.tolist()}, activation={self.model.activation!r})")
