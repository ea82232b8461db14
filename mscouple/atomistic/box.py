"""Orthogonal simulation box with periodic or free boundaries per direction."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import ConfigError


@dataclass(frozen=True)
class Box:
    """Axis-aligned box ``[lo, hi)`` (length units) with ``periodic[d]`` per direction.

    In a free (non-periodic) direction the box only sets the domain decomposition: atoms
    may leave it (the outermost ranks keep them), nothing reflects or removes them.
    """

    lo: np.ndarray
    hi: np.ndarray
    periodic: tuple = (True, True, True)
    lengths: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        lo = np.asarray(self.lo, dtype=float).reshape(3)
        hi = np.asarray(self.hi, dtype=float).reshape(3)
        per = tuple(bool(p) for p in np.broadcast_to(np.asarray(self.periodic), (3,)))
        if not np.all(np.isfinite(lo)) or not np.all(np.isfinite(hi)) or np.any(hi <= lo):
            raise ConfigError(f"box: need finite lo < hi in every direction, got lo={lo}, hi={hi}")
        object.__setattr__(self, "lo", lo)
        object.__setattr__(self, "hi", hi)
        object.__setattr__(self, "periodic", per)
        object.__setattr__(self, "lengths", hi - lo)

    @classmethod
    def from_lengths(cls, lengths, periodic=(True, True, True), origin=(0.0, 0.0, 0.0)) -> "Box":
        o = np.asarray(origin, dtype=float)
        return cls(o, o + np.asarray(lengths, dtype=float), periodic)

    @property
    def volume(self) -> float:
        return float(np.prod(self.lengths))

    def wrap(self, x: np.ndarray, image: np.ndarray | None = None) -> None:
        """Map positions ``x [n,3]`` into ``[lo, hi)`` along periodic directions, in place,
        counting the crossings in ``image [n,3]`` (so that x + image*L is continuous)."""
        for d in range(3):
            if not self.periodic[d]:
                continue
            L = self.lengths[d]
            k = np.floor((x[:, d] - self.lo[d]) / L)
            moved = k != 0
            if np.any(moved):
                x[moved, d] -= k[moved] * L
                # guard against round-off landing exactly on hi
                x[:, d] = np.where(x[:, d] >= self.hi[d], x[:, d] - L, x[:, d])
                x[:, d] = np.where(x[:, d] < self.lo[d], self.lo[d], x[:, d])
                if image is not None:
                    image[moved, d] += k[moved].astype(image.dtype)

    def deformed(self, F: np.ndarray) -> "Box":
        """The box after the diagonal deformation ``F`` (only diag(F) may differ from I)."""
        F = np.asarray(F, dtype=float)
        if np.any(np.abs(F - np.diag(np.diag(F))) > 0):
            raise ConfigError("Box.deformed: only diagonal deformations keep the box orthogonal")
        d = np.diag(F)
        return Box(self.lo * d, self.hi * d, self.periodic)
