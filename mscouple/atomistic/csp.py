"""Centro-symmetry parameter (CSP) of atoms in a cubic crystal, and its use as a defect detector.

Kelchner, Plimpton & Hamilton, PRB 58, 11085 (1998): for an atom with ``k`` nearest
neighbours at vectors R_j (k = 12 in fcc, 8 in bcc),

    P = Σ_{pairs} |R_i + R_j|²    over the k/2 pairs with the smallest |R_i + R_j|²

chosen among all k(k−1)/2 pairs (the rule of LAMMPS ``compute centro/atom``). A perfect
centro-symmetric lattice has P = 0, and so has any homogeneous (affine) deformation of it;
an elastic field with gradients gives P of order (a ∇ε a)², tiny; a partial dislocation core,
a stacking fault or a surface gives P of order a²/10 to a² (Kelchner et al.: Au, partials
0.5–8 Å², stacking fault 8–21 Å², surface > 24 Å², a = 4.08 Å). Units: length² of the
positions.

:func:`centrosymmetry` is NumPy + ``scipy.spatial.cKDTree`` on one rank (callers gather the
atoms they need: a handshake band or an output frame); no potential or communicator.
"""
from __future__ import annotations

import numpy as np

__all__ = ["centrosymmetry", "NEIGHBOURS", "DEFECT_CSP"]

#: nearest neighbours per lattice (the first shell)
NEIGHBOURS = {"fcc": 12, "bcc": 8, "sc": 6}

#: a band atom whose CSP grew by more than this fraction of a² since the reference lattice
#: is taken as part of a defect (Cu, a = 3.615 Å: 1.3 Å², below Kelchner's partial-dislocation
#: range scaled to Cu, far above elastic fields: 0 for any affine strain)
DEFECT_CSP = 0.1


def centrosymmetry(x: np.ndarray, k: int = 12, *, lo=None, lengths=None, periodic=(False, False, False),
                   rows: np.ndarray | None = None) -> np.ndarray:
    """CSP ``[m]`` (length²) of the atoms ``rows`` (default all) among positions ``x [n, 3]``.

    lo, lengths, periodic: the box (minimum image along periodic axes; needed only when any
    axis is periodic). ``k`` nearest neighbours (12 fcc, 8 bcc); needs n > k.
    """
    from scipy.spatial import cKDTree

    x = np.asarray(x, dtype=float)
    rows = np.arange(len(x)) if rows is None else np.asarray(rows, dtype=np.int64)
    if len(x) <= k or len(rows) == 0:
        return np.zeros(len(rows))
    per = np.asarray(periodic, bool)
    if per.any():
        lo = np.asarray(lo, float)
        L = np.asarray(lengths, float)
        y = x - lo
        span = np.ptp(y, axis=0) + 1.0
        box = np.where(per, L, 3.0 * np.maximum(span, 1.0))  # non-periodic axes: no wrap within reach
        y = np.where(per, np.mod(y, L), y - y.min(axis=0))
        y = np.minimum(y, np.nextafter(box, 0))
        tree = cKDTree(y, boxsize=box)
        _, nb = tree.query(y[rows], k=k + 1)
        d = y[nb[:, 1:]] - y[rows][:, None, :]
        d -= np.where(per, box, 0.0) * np.round(d / np.where(per, box, np.inf))
    else:
        tree = cKDTree(x)
        _, nb = tree.query(x[rows], k=k + 1)
        d = x[nb[:, 1:]] - x[rows][:, None, :]  # [m, k, 3] (column 0 is the atom itself)
    i, j = np.triu_indices(k, 1)
    s = d[:, i, :] + d[:, j, :]
    q = np.einsum("mpc,mpc->mp", s, s)  # [m, k(k-1)/2]
    q.partition(k // 2 - 1, axis=1)
    return q[:, : k // 2].sum(axis=1)
