"""The NNP model and its file: one NumPy ``.npz`` archive (no pickles).

Units: metal — energies eV, lengths Å, forces eV/Å, masses g/mol. Keys of the file:

==================  ===============  ========================================================
``format``          str              ``"mscouple-nnp-1"``
``units``           str              ``"metal"``
``elements``        [ne] str         element names; type t of an atom = index in this list
``masses``          [ne] float       g/mol
``cutoff``          float            r_c of every symmetry function (Å)
``sf``              [nsf, 8] float   symmetry functions (:mod:`mscouple.mlip.descriptors`)
``g_shift``         [nsf] float      normalisation: Gn = (G − g_shift) / g_scale
``g_scale``         [nsf] float
``layers``          [L+1] int32      network sizes, nsf … 1 (same for every element)
``activation``      str              ``"tanh"`` or ``"softplus"``
``weights``         [ne, nparam]     flat parameters per element (:mod:`.network` layout)
``e0``              [ne] float       per-element atomic energy offset (eV): E_i = e0 + N(Gn_i)
``metadata``        str (JSON)       training data, split, optimiser, errors, date, seed
==================  ===============  ========================================================
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np

from ..errors import ConfigError
from .descriptors import check_table
from .network import ACTIVATIONS, n_params

FORMAT = "mscouple-nnp-1"


@dataclass
class NNPModel:
    """A Behler–Parrinello NNP (see the module doc for every field's meaning and unit)."""

    elements: list
    masses: np.ndarray
    cutoff: float
    sf: np.ndarray
    g_shift: np.ndarray
    g_scale: np.ndarray
    layers: np.ndarray
    activation: str
    weights: np.ndarray
    e0: np.ndarray
    metadata: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.elements = [str(e) for e in self.elements]
        ne = len(self.elements)
        if ne < 1:
            raise ConfigError("an NNP model needs at least one element")
        self.masses = np.asarray(self.masses, float).reshape(ne)
        self.cutoff = float(self.cutoff)
        if not self.cutoff > 0:
            raise ConfigError(f"NNP cutoff = {self.cutoff}: expected > 0 Å")
        self.sf = check_table(self.sf, ne)
        nsf = len(self.sf)
        self.g_shift = np.ascontiguousarray(np.asarray(self.g_shift, float).reshape(nsf))
        self.g_scale = np.ascontiguousarray(np.asarray(self.g_scale, float).reshape(nsf))
        if np.any(self.g_scale <= 0):
            raise ConfigError("NNP g_scale must be > 0")
        self.layers = np.ascontiguousarray(np.asarray(self.layers, np.int32))
        if self.layers[0] != nsf or self.layers[-1] != 1 or len(self.layers) < 2 or len(self.layers) > 16:
            raise ConfigError(f"NNP layers {self.layers.tolist()}: expected {nsf} inputs … 1 output")
        if self.activation not in ACTIVATIONS:
            raise ConfigError(f"NNP activation {self.activation!r}: expected one of {ACTIVATIONS}")
        self.weights = np.ascontiguousarray(np.asarray(self.weights, float).reshape(ne, -1))
        if self.weights.shape[1] != n_params(self.layers):
            raise ConfigError(f"NNP weights: {self.weights.shape[1]} per element, "
                              f"{n_params(self.layers)} expected for layers {self.layers.tolist()}")
        self.e0 = np.ascontiguousarray(np.asarray(self.e0, float).reshape(ne))
        for name in ("weights", "g_shift", "g_scale", "e0", "sf"):
            if not np.all(np.isfinite(getattr(self, name))):
                raise ConfigError(f"NNP {name} contains non-finite values")

    @property
    def nsf(self) -> int:
        return len(self.sf)

    @property
    def act_code(self) -> int:
        return ACTIVATIONS.index(self.activation)

    def save(self, path: str) -> None:
        """Write the one-file model (``.npz``; see the module doc) atomically: a temporary
        file in the same folder, then renamed over ``path``."""
        import os
        import tempfile

        fd, tmp = tempfile.mkstemp(suffix=".npz.tmp", dir=os.path.dirname(os.path.abspath(path)))
        try:
            with os.fdopen(fd, "wb") as fh:
                self._write(fh)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    def _write(self, fh) -> None:
        np.savez(fh, format=np.array(FORMAT), units=np.array("metal"),
                 elements=np.array(self.elements), masses=self.masses,
                 cutoff=np.array(self.cutoff), sf=self.sf, g_shift=self.g_shift,
                 g_scale=self.g_scale, layers=self.layers,
                 activation=np.array(self.activation), weights=self.weights, e0=self.e0,
                 metadata=np.array(json.dumps(self.metadata, sort_keys=True)))


def load_model(path: str) -> NNPModel:
    """Read a model file; one-line :class:`~mscouple.errors.ConfigError` naming the file when
    it is missing, not an npz archive, of another format or incomplete."""
    try:
        with np.load(path, allow_pickle=False) as z:
            keys = set(z.files)
            need = {"format", "units", "elements", "masses", "cutoff", "sf", "g_shift", "g_scale",
                    "layers", "activation", "weights", "e0", "metadata"}
            if not need <= keys:
                raise ConfigError(f"{path}: NNP model file lacks {sorted(need - keys)}")
            if str(z["format"]) != FORMAT:
                raise ConfigError(f"{path}: format {str(z['format'])!r}, expected {FORMAT!r}")
            if str(z["units"]) != "metal":
                raise ConfigError(f"{path}: units {str(z['units'])!r}, expected 'metal'")
            d = {k: z[k] for k in need - {"format", "units"}}
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the NNP model file ({exc.strerror or exc})") from None
    except ValueError as exc:
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(f"{path}: not an NNP model file (expected an .npz archive: {exc})") from None
    return NNPModel(elements=[str(e) for e in d["elements"]], masses=d["masses"],
                    cutoff=float(d["cutoff"]), sf=d["sf"], g_shift=d["g_shift"],
                    g_scale=d["g_scale"], layers=d["layers"], activation=str(d["activation"]),
                    weights=d["weights"], e0=d["e0"], metadata=json.loads(str(d["metadata"])))
