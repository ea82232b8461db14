"""Handshake-band geometry and the bridging-domain energy weight.

The handshake (overlap) band Ω_h is where both models exist. The *continuum* weight
``w(X)`` is 1 where only the continuum exists, 0 where only atoms exist, and ramps
linearly across the band; atoms carry ``1 − w`` (Xiao & Belytschko, CMAME 193 (2004) 1645).

Two shapes:

* :class:`SlabBand` — a slab normal to one axis, ``w = 1`` on the ``continuum_edge`` side.
  Use two slabs for a patch between two continuum regions (a chain between two bars).
* :class:`BoxShellBand` — a patch that is a box inside the continuum: ``w = 0`` inside the
  inner box, ``w = 1`` outside the inner box grown by ``width`` (∞-norm distance).

Several bands combine by taking the largest continuum weight (:func:`continuum_weight`).
:func:`validate_band` checks, with :class:`ConfigError`, that the band lies inside both
models and that the mesh resolves it.

The consistent (patch-test exact) cell weighting of nearest-neighbour bonds is an analysis
tool, not a case option: :mod:`mscouple.validation.patch_test`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence, Union

import numpy as np

from ..errors import ConfigError

__all__ = ["SlabBand", "BoxShellBand", "continuum_weight", "validate_band"]


def _as_points(x: np.ndarray, dim: int) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    if x.shape[1] < dim:
        raise ConfigError(f"positions have {x.shape[1]} components; the band is {dim}D")
    return x


@dataclass(frozen=True)
class SlabBand:
    """Slab band ``min(c, a) ≤ X[axis] ≤ max(c, a)`` with w(c) = 1, w(a) = 0.

    Parameters
    ----------
    axis : 0, 1 or 2.
    continuum_edge : coordinate where the continuum weight reaches 1 (length units).
    atomistic_edge : coordinate where it reaches 0.
    """

    axis: int
    continuum_edge: float
    atomistic_edge: float

    def __post_init__(self) -> None:
        if self.axis not in (0, 1, 2):
            raise ConfigError(f"band axis = {self.axis!r}: expected 0, 1 or 2")
        if not np.isfinite(self.continuum_edge) or not np.isfinite(self.atomistic_edge):
            raise ConfigError("band edges must be finite numbers")
        if self.continuum_edge == self.atomistic_edge:
            raise ConfigError(
                f"handshake band has zero width (both edges at {self.continuum_edge}); "
                "give it a width of a few lattice spacings and at least one element")

    @property
    def width(self) -> float:
        return abs(self.continuum_edge - self.atomistic_edge)

    @property
    def bounds(self) -> tuple[float, float]:
        return (min(self.continuum_edge, self.atomistic_edge), max(self.continuum_edge, self.atomistic_edge))

    def continuum_weight(self, x: np.ndarray) -> np.ndarray:
        """w(X) ∈ [0, 1] for positions ``x[m, ≥axis+1]`` → [m]."""
        s = _as_points(x, self.axis + 1)[:, self.axis]
        return np.clip((s - self.atomistic_edge) / (self.continuum_edge - self.atomistic_edge), 0.0, 1.0)

    def contains(self, x: np.ndarray, tol: float = 0.0) -> np.ndarray:
        """Mask [m] of positions inside the closed band (widened by ``tol``)."""
        s = _as_points(x, self.axis + 1)[:, self.axis]
        lo, hi = self.bounds
        return (s >= lo - tol) & (s <= hi + tol)

    def normal_coordinate(self, x: np.ndarray) -> np.ndarray:
        """Distance into the band from its atomistic edge towards the continuum, [m]."""
        return self.continuum_weight(x) * self.width


@dataclass(frozen=True)
class BoxShellBand:
    """Shell band around an atomistic box ``lo ≤ X ≤ hi``, of thickness ``width``.

    w = 0 inside the box, ramps with the ∞-norm distance d(X) to the box, w = 1 for
    d ≥ width.
    """

    lo: tuple
    hi: tuple
    width: float

    def __post_init__(self) -> None:
        if len(self.lo) != len(self.hi) or len(self.lo) not in (1, 2, 3):
            raise ConfigError("box band: lo and hi need the same length, 1 to 3")
        if any(h <= l for l, h in zip(self.lo, self.hi)):
            raise ConfigError(f"box band: need lo < hi in every direction, got lo={self.lo}, hi={self.hi}")
        if not self.width > 0:
            raise ConfigError(f"box band width = {self.width}: expected a positive length")

    @property
    def dim(self) -> int:
        return len(self.lo)

    def distance(self, x: np.ndarray) -> np.ndarray:
        x = _as_points(x, self.dim)[:, : self.dim]
        lo, hi = np.asarray(self.lo, float), np.asarray(self.hi, float)
        d = np.maximum(lo - x, x - hi)
        return np.maximum(d.max(axis=1), 0.0)

    def continuum_weight(self, x: np.ndarray) -> np.ndarray:
        return np.clip(self.distance(x) / self.width, 0.0, 1.0)

    def contains(self, x: np.ndarray, tol: float = 0.0) -> np.ndarray:
        x = _as_points(x, self.dim)[:, : self.dim]
        lo, hi = np.asarray(self.lo, float), np.asarray(self.hi, float)
        inside_outer = np.all((x >= lo - self.width - tol) & (x <= hi + self.width + tol), axis=1)
        inside_inner = np.all((x > lo + tol) & (x < hi - tol), axis=1)
        return inside_outer & ~inside_inner


Band = Union[SlabBand, BoxShellBand]


def continuum_weight(bands: Sequence[Band], x: np.ndarray) -> np.ndarray:
    """Combined continuum weight of several bands: the largest one, [m]."""
    if not bands:
        raise ConfigError("a coupled case needs at least one handshake band")
    w = bands[0].continuum_weight(x)
    for b in bands[1:]:
        w = np.maximum(w, b.continuum_weight(x))
    return w


def validate_band(band: Band, atom_positions: np.ndarray, nodes: np.ndarray, cells: np.ndarray,
                  spacing: float | None = None, min_elements: float = 1.0) -> None:
    """Check that ``band`` is covered by both models and resolved by the mesh.

    Parameters
    ----------
    atom_positions : [m, dim] reference positions of the patch's atoms (all of them).
    nodes, cells : the continuum mesh near the band ([n, dim], [n_cells, npc]).
    spacing : typical interatomic spacing; estimated from nearest neighbours if omitted.
        The atoms must reach each edge of the band within one spacing.
    min_elements : the band must be at least this many element sizes wide (the element
        size is the largest extent of the cells that meet the band).

    Raises
    ------
    ConfigError naming the failed condition and the fix.
    """
    x = np.asarray(atom_positions, dtype=float)
    nodes = np.asarray(nodes, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    if nodes.ndim == 1:
        nodes = nodes[:, None]
    dim = nodes.shape[1]
    x = x[:, :dim]
    in_band = band.contains(x)
    if not np.any(in_band):
        raise ConfigError("no atom lies in the handshake band: move the band into the atomistic patch "
                          "or enlarge the patch")
    if spacing is None:
        from scipy.spatial import cKDTree
        d, _ = cKDTree(x).query(x, k=2)
        spacing = float(np.median(d[:, 1])) if x.shape[0] > 1 else band_width(band)
    # band inside the atomistic model: atoms reach both edges
    if isinstance(band, SlabBand):
        ax = band.axis
        lo, hi = band.bounds
        s = x[:, ax]
        if s.min() > lo + spacing or s.max() < hi - spacing:
            raise ConfigError(
                f"handshake band [{lo}, {hi}] along axis {ax} is not inside the atomistic patch "
                f"(atoms span [{s.min():.6g}, {s.max():.6g}]): extend the patch or move the band")
        ns = nodes[:, ax]
        if ns.min() > lo + 1e-9 * max(1.0, abs(lo)) or ns.max() < hi - 1e-9 * max(1.0, abs(hi)):
            raise ConfigError(
                f"handshake band [{lo}, {hi}] along axis {ax} is not inside the continuum mesh "
                f"(nodes span [{ns.min():.6g}, {ns.max():.6g}]): extend the mesh or move the band")
        w = band.width
    else:
        d = band.distance(x)
        if d.max() < band.width - spacing:
            raise ConfigError("the atomistic patch does not reach the outer edge of the handshake band: "
                              "enlarge the patch or thin the band")
        w = band.width
    # mesh resolution in the band
    cells = np.asarray(cells, dtype=np.int64)
    xc = nodes[cells]
    centre = xc.mean(axis=1)
    extent = (xc.max(axis=1) - xc.min(axis=1)).max(axis=1)
    meets = band.contains(centre, tol=0.5 * extent.max()) if extent.size else np.zeros(0, bool)
    if not np.any(meets):
        raise ConfigError("no continuum element meets the handshake band: the mesh must overlap the patch")
    h = float(extent[meets].max())
    if h * min_elements > w * (1.0 + 1e-9):
        raise ConfigError(
            f"mesh too coarse in the handshake band: element size {h:.6g} but the band is {w:.6g} wide "
            f"(need at least {min_elements:g} element(s) across); refine the mesh there or widen the band")


def band_width(band: Band) -> float:
    return float(band.width)
