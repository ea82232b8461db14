"""Slow NumPy reference of the NNP energy, forces and virial (all periodic images; tests only).

Mirrors ``csrc/nnp.pyx`` with independent code: brute-force neighbour search over images,
descriptors from :func:`mscouple.mlip.descriptors.atom_descriptors`, networks from
:mod:`mscouple.mlip.network`. Units: eV, Å. Virial W = Σ_atoms x ⊗ f in the order
xx yy zz xy xz yz (W = −Σ_i Σ_j r_ij ⊗ ∂E_i/∂r_ij, r_ij = x_j − x_i).
"""
from __future__ import annotations

import itertools

import numpy as np

from .descriptors import atom_descriptors
from .network import evaluate

_VOIGT = ((0, 0), (1, 1), (2, 2), (0, 1), (0, 2), (1, 2))


def neighbours(x: np.ndarray, lengths, periodic, rc: float):
    """Per atom i: (indices j [nn], vectors r_ij [nn, 3]) of every atom or periodic image
    within rc (self excluded), by brute force over images."""
    x = np.asarray(x, float)
    ks = [range(-int(np.ceil(rc / L)) - 1, int(np.ceil(rc / L)) + 2) if p else range(1)
          for L, p in zip(lengths, periodic)]
    shifts = np.array(list(itertools.product(*ks)), float) * np.asarray(lengths, float)
    out = []
    for i in range(len(x)):
        d = x[None, :, :] + shifts[:, None, :] - x[i]  # [nshift, N, 3]
        r = np.linalg.norm(d, axis=2)
        m = (r < rc) & (r > 0)
        s, j = np.nonzero(m)
        out.append((j, d[s, j]))
    return out


def nnp_reference(model, x, lengths, periodic=(True, True, True), types=None, weight=None):
    """Energy, forces [N,3], virial [6] and per-atom energies [N] of ``model`` (an
    :class:`~mscouple.mlip.model.NNPModel`) for atoms x [N,3] in an orthogonal box."""
    x = np.asarray(x, float)
    N = len(x)
    types = np.zeros(N, int) if types is None else np.asarray(types, int)
    w = np.ones(N) if weight is None else np.asarray(weight, float)
    nb = neighbours(x, lengths, periodic, model.cutoff)
    nsf = model.nsf
    G = np.zeros((N, nsf))
    dGs = []
    for i, (j, rv) in enumerate(nb):
        G[i], dG = atom_descriptors(rv, types[j], model.sf, model.cutoff)
        dGs.append(dG)
    Gn = (G - model.g_shift) / model.g_scale
    E_at = np.zeros(N)
    Y = np.zeros((N, nsf))
    for t in range(len(model.elements)):
        m = types == t
        if m.any():
            e, y, _ = evaluate(model.weights[t], model.layers, model.activation, Gn[m])
            E_at[m] = model.e0[t] + e
            Y[m] = y
    E_at *= w
    Y = Y * (w[:, None] / model.g_scale)
    f = np.zeros((N, 3))
    W = np.zeros((3, 3))
    for i, (j, rv) in enumerate(nb):
        g = np.einsum("s,nsd->nd", Y[i], dGs[i])  # dE_i/dr_ij
        f[i] += g.sum(axis=0)
        np.add.at(f, j, -g)
        W -= rv.T @ g
    vir = np.array([0.5 * (W[p, q] + W[q, p]) for p, q in _VOIGT])
    return E_at.sum(), f, vir, E_at
