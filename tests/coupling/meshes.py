"""Small structured meshes for the coupling tests (P1 simplices and Q1 cells, 1D–3D)."""
from __future__ import annotations

import itertools

import numpy as np


def grid_nodes(shape, h=1.0, origin=0.0):
    axes = [origin + h * np.arange(n + 1) for n in shape]
    g = np.meshgrid(*axes, indexing="ij")
    return np.stack([a.ravel() for a in g], axis=1)


def _vid(shape):
    return np.arange(np.prod([n + 1 for n in shape])).reshape([n + 1 for n in shape])


def q1_mesh(shape, h=1.0):
    dim = len(shape)
    nodes = grid_nodes(shape, h)
    vid = _vid(shape)
    corners = {1: [(0,), (1,)], 2: [(0, 0), (1, 0), (1, 1), (0, 1)],
               3: [(0, 0, 0), (1, 0, 0), (1, 1, 0), (0, 1, 0), (0, 0, 1), (1, 0, 1), (1, 1, 1), (0, 1, 1)]}[dim]
    cells = []
    for idx in itertools.product(*[range(n) for n in shape]):
        cells.append([vid[tuple(i + c for i, c in zip(idx, cc))] for cc in corners])
    return nodes, np.array(cells)


def p1_mesh(shape, h=1.0):
    dim = len(shape)
    nodes = grid_nodes(shape, h)
    vid = _vid(shape)
    cells = []
    for idx in itertools.product(*[range(n) for n in shape]):
        if dim == 1:
            cells.append([vid[idx[0]], vid[idx[0] + 1]])
            continue
        # Kuhn subdivision: one simplex per permutation of the axes
        for perm in itertools.permutations(range(dim)):
            c = list(idx)
            simplex = [vid[tuple(c)]]
            for ax in perm:
                c[ax] += 1
                simplex.append(vid[tuple(c)])
            cells.append(simplex)
    return nodes, np.array(cells)
