"""Perfect crystals and simple defects: fcc, bcc, sc, 2D triangular, 1D chain.

Every builder returns ``(positions [N,3], box)``. Orientation: ``orient`` is a 3x3 matrix
whose rows are the crystal directions (Miller indices, any length) to put along x, y, z;
they must be mutually orthogonal, and the box must hold whole periods along them (the
repeat lengths are found automatically for integer directions). Defects operate on
positions: :func:`cut_region` removes atoms inside a region (cracks, holes),
:func:`remove_atoms` makes vacancies.
"""
from __future__ import annotations

import itertools
from typing import Callable

import numpy as np

from ..errors import ConfigError
from .box import Box

_BASIS = {
    "sc": np.array([[0.0, 0.0, 0.0]]),
    "bcc": np.array([[0.0, 0.0, 0.0], [0.5, 0.5, 0.5]]),
    "fcc": np.array([[0.0, 0.0, 0.0], [0.5, 0.5, 0.0], [0.5, 0.0, 0.5], [0.0, 0.5, 0.5]]),
}


def _repeat_length(direction: np.ndarray, kind: str) -> float:
    """Shortest lattice translation along an integer direction (units of a)."""
    d = np.asarray(direction, dtype=int)
    g = np.gcd.reduce(np.abs(d[d != 0])) if np.any(d) else 1
    d = d // g
    L = np.linalg.norm(d)
    if kind == "fcc" and np.sum(d) % 2 == 0:
        return 0.5 * L
    if kind == "bcc" and np.all(d % 2 == 1):
        return 0.5 * L
    return L


def cubic(kind: str, a: float, reps, orient=None, periodic=(True, True, True),
          origin=(0.0, 0.0, 0.0)):
    """fcc, bcc or sc crystal of lattice constant ``a`` with ``reps = (n1, n2, n3)`` periods.

    Without ``orient`` the period is the cubic cell; with it, the shortest lattice repeat
    along each oriented direction. Returns ``(x [N,3], Box)``.
    """
    if kind not in _BASIS:
        raise ConfigError(f"lattice kind {kind!r}: expected one of {sorted(_BASIS)}")
    reps = np.broadcast_to(np.asarray(reps, dtype=int), (3,))
    if np.any(reps < 1):
        raise ConfigError(f"reps must be >= 1, got {reps.tolist()}")
    basis = _BASIS[kind]
    if orient is None:
        R = np.eye(3)
        period = np.ones(3)
    else:
        O = np.asarray(orient, dtype=float)
        if O.shape != (3, 3):
            raise ConfigError("orient must be a 3x3 matrix of crystal directions (rows)")
        G = O @ O.T
        if np.max(np.abs(G - np.diag(np.diag(G)))) > 1e-9 * np.max(np.abs(G)):
            raise ConfigError("orient rows must be mutually orthogonal")
        R = O / np.linalg.norm(O, axis=1)[:, None]
        period = np.array([_repeat_length(o, kind) for o in O])
    Lbox = period * reps * a
    # enumerate enough cubic cells to cover the rotated box, then keep atoms inside it
    corners = np.array(list(itertools.product(*[(0, L) for L in Lbox])))
    cube = corners @ R  # box corners in crystal coordinates
    lo = np.floor(cube.min(axis=0) / a) - 1
    hi = np.ceil(cube.max(axis=0) / a) + 1
    cells = np.array(list(itertools.product(*[np.arange(l, h) for l, h in zip(lo, hi)])))
    pts = ((cells[:, None, :] + basis[None]).reshape(-1, 3)) * a
    y = pts @ R.T
    tol = 1e-8 * a
    keep = np.all((y > -tol) & (y < Lbox - tol), axis=1)
    y = y[keep]
    y[np.abs(y) < tol] = 0.0
    x = y + np.asarray(origin, float)
    box = Box(np.asarray(origin, float), np.asarray(origin, float) + Lbox, periodic)
    return x, box


def fcc(a: float, reps, **kw):
    return cubic("fcc", a, reps, **kw)


def bcc(a: float, reps, **kw):
    return cubic("bcc", a, reps, **kw)


def sc(a: float, reps, **kw):
    return cubic("sc", a, reps, **kw)


def triangular(a: float, reps, thickness: float = 10.0, periodic=(True, True, False)):
    """2D triangular (close-packed) lattice in the z = thickness/2 plane: nearest-neighbour
    distance ``a``, ``reps = (nx, ny)`` rectangular cells of 2 atoms (a x sqrt(3) a)."""
    nx, ny = (int(r) for r in reps)
    if nx < 1 or ny < 1:
        raise ConfigError("reps must be >= 1")
    h = np.sqrt(3.0) * a
    base = np.array([[0.0, 0.0], [0.5 * a, 0.5 * h]])
    g = np.array([[i * a, j * h] for i in range(nx) for j in range(ny)])
    xy = (g[:, None, :] + base[None]).reshape(-1, 2)
    x = np.column_stack([xy, np.full(len(xy), 0.5 * thickness)])
    return x, Box([0, 0, 0], [nx * a, ny * h, thickness], periodic)


def chain(a: float, n: int, width: float = 10.0, periodic: bool = True):
    """1D chain of ``n`` atoms along x with spacing ``a``, centred in a ``width`` x ``width``
    cross-section (free in y and z)."""
    if int(n) < 1:
        raise ConfigError("n must be >= 1")
    x = np.zeros((int(n), 3))
    x[:, 0] = a * np.arange(int(n))
    x[:, 1:] = 0.5 * width
    return x, Box([0, 0, 0], [n * a, width, width], (periodic, False, False))


def cut_region(x: np.ndarray, inside: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Boolean mask ``[N]`` of atoms to keep: those for which ``inside(x)`` is False."""
    return ~np.asarray(inside(np.asarray(x)), dtype=bool)


def remove_atoms(x: np.ndarray, indices) -> np.ndarray:
    """Mask ``[N]`` keeping every atom except ``indices`` (vacancies)."""
    keep = np.ones(len(x), dtype=bool)
    keep[np.asarray(indices, dtype=int)] = False
    return keep


def sphere(center, radius: float) -> Callable[[np.ndarray], np.ndarray]:
    c = np.asarray(center, float)
    return lambda x: np.sum((x - c) ** 2, axis=1) < radius ** 2


def slab(axis: int, lo: float, hi: float) -> Callable[[np.ndarray], np.ndarray]:
    return lambda x: (x[:, axis] >= lo) & (x[:, axis] < hi)


def crack(length: float, tip, opening: float, axis: int = 0, normal: int = 1):
    """A slit crack: atoms with x[axis] < tip[axis] (within ``length`` of the tip) and
    |x[normal] - tip[normal]| < opening/2 are removed."""
    t = np.asarray(tip, float)
    return lambda x: ((x[:, axis] < t[axis]) & (x[:, axis] > t[axis] - length)
                      & (np.abs(x[:, normal] - t[normal]) < 0.5 * opening))
