"""Descriptors and their gradients for whole frames (training), from the compiled kernel.

For a frame of N atoms in an orthogonal box, periodic images within r_c of the box are added
as ghosts, the full neighbour list is built (``csrc/nnp.pyx: full_list``) and the kernel
returns G [N, nsf] and dG/dr_ij [P, nsf, 3] for every neighbour pair p = (i, j) of the list
(r_ij = x_j − x_i, Å; j mapped back to its atom in the frame). Forces and virial are then
linear in y = ∂E/∂G:  g_p = Σ_s y_{i_p s} dG_{p s},  f_i += g_p,  f_j −= g_p,
W = −Σ_p r_p ⊗ g_p.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np


@dataclass
class FrameFeatures:
    """G [N, nsf]; centre [P], neigh [P] (frame-local atom indices), rvec [P, 3] Å,
    dG [P, nsf, 3]."""

    G: np.ndarray
    centre: np.ndarray
    neigh: np.ndarray
    rvec: np.ndarray
    dG: np.ndarray


def with_images(x: np.ndarray, lengths, periodic, rc: float):
    """(x_all [nall, 3], owner [nall]): the atoms (wrapped into the box along periodic
    directions) followed by every periodic image within rc of the box."""
    x = np.array(x, float)
    L = np.asarray(lengths, float)
    for d in range(3):
        if periodic[d]:
            x[:, d] -= np.floor(x[:, d] / L[d]) * L[d]
    lo, hi = x.min(axis=0) - rc, x.max(axis=0) + rc
    ks = [range(-int(np.ceil(rc / L[d])), int(np.ceil(rc / L[d])) + 1) if periodic[d] else (0,)
          for d in range(3)]
    xs, own = [x], [np.arange(len(x))]
    for k in itertools.product(*ks):
        if k == (0, 0, 0):
            continue
        y = x + np.array(k) * L
        m = np.all((y >= lo) & (y <= hi), axis=1)
        xs.append(y[m])
        own.append(np.nonzero(m)[0])
    return np.ascontiguousarray(np.concatenate(xs)), np.concatenate(own)


def frame_features(frame, sf: np.ndarray, rc: float, gradients: bool = True) -> FrameFeatures:
    """Descriptors (and gradients) of every atom of ``frame`` (:class:`~.data.Frame`)."""
    from .._kernels.nnp import descriptors, full_list

    N = frame.natoms
    xa, own = with_images(frame.x, frame.lengths, frame.periodic, rc)
    ta = np.ascontiguousarray(np.asarray(frame.types, np.int32)[own])
    fstart = np.zeros(N + 1, np.int32)
    flist = np.zeros(64 * N + 64, np.int32)
    cnt = full_list(xa, N, len(xa), rc, fstart, flist)
    if cnt > len(flist):
        flist = np.zeros(cnt, np.int32)
        full_list(xa, N, len(xa), rc, fstart, flist)
    flist = flist[:cnt]
    G = np.zeros((N, len(sf)))
    dG = np.zeros((cnt, len(sf), 3)) if gradients else None
    descriptors(xa, ta, N, fstart, flist, np.ascontiguousarray(sf, float), rc, G, dG)
    centre = np.repeat(np.arange(N), np.diff(fstart))
    return FrameFeatures(G, centre, own[flist], xa[flist] - xa[centre],
                         dG)
