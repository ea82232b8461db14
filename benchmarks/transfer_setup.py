"""Set-up of the handshake operators against the number of atoms (issue 13, item 6).

Geometry of ``benchmarks/coupled_3d.py``: an fcc block of 4 n³ atoms (a = 1.56 σ), its band
two lattice constants deep, inside a P1 tetrahedral box mesh of element size 2a with a
four-element margin. Timed, for n = 10 and n = 20 (4,000 and 32,000 atoms):

``locate``   :func:`mscouple.coupling.transfer.locate_points` — the band atoms' cells and
             shape values (vectorised: k-d trees, one inverse Jacobian per cell);
``peer``     the same search as it was before (one ``query_ball_point`` list per cell and a
             Python generator over the candidate pairs, a dense solve per pair), measured in
             the same run;
``bdm``      :class:`mscouple.coupling.bdm.BridgingDomain` — the band's mass system and its
             sparse LU (once per run).

Prints JSON: seconds per item and size, µs per band atom, and the ratios locate/peer and
(time at n = 20)/(time at n = 10) next to the band-atom ratio (linear set-up: equal).

    .venv/bin/python benchmarks/transfer_setup.py
"""
from __future__ import annotations

import json
import time

import numpy as np
from scipy.spatial import cKDTree

from mscouple.continuum.meshgen import box
from mscouple.coupling.bdm import BridgingDomain
from mscouple.coupling.transfer import TransferOperator, _inside, locate_points, shape_functions

A = 1.56


def geometry(n: int):
    g = np.arange(n) * A
    base = np.array([[0, 0, 0], [.5, .5, 0], [.5, 0, .5], [0, .5, .5]]) * A
    X = (np.stack(np.meshgrid(g, g, g, indexing="ij"), -1).reshape(-1, 1, 3) + base[None]).reshape(-1, 3)
    lo, hi = -0.25 * A, (n - 0.25) * A
    band = np.min(np.minimum(X - lo, hi - X), axis=1) < 2 * A
    h, margin = 2 * A, 4
    nm = int(round((hi - lo) / h)) + 2 * margin
    mlo = lo - margin * h
    mesh = box([nm] * 3, [mlo] * 3, [mlo + nm * h] * 3, simplex=True)
    return X, band, mesh


def peer_locate(nodes, cells, points, tol=1e-10):
    """The search before vectorisation (P1), kept here only as the benchmark's peer."""
    cells = np.asarray(cells, dtype=np.int64)
    m, npc = points.shape[0], cells.shape[1]
    cell_of, values = np.full(m, -1, dtype=np.int64), np.zeros((m, npc))
    xc = nodes[cells]
    centre = xc.mean(axis=1)
    radius = np.linalg.norm(xc - centre[:, None, :], axis=2).max(axis=1)
    lists = cKDTree(points).query_ball_point(centre, radius * (1.0 + 1e-9) + 1e-12 * (1.0 + radius))
    counts = np.fromiter((len(l) for l in lists), dtype=np.int64, count=len(lists))
    pair_cell = np.repeat(np.arange(cells.shape[0], dtype=np.int64), counts)
    pair_pt = np.fromiter((i for l in lists for i in l), dtype=np.int64, count=int(counts.sum()))
    jac = np.transpose(xc[pair_cell, 1:, :] - xc[pair_cell, :1, :], (0, 2, 1))
    xi = np.linalg.solve(jac, (points[pair_pt] - xc[pair_cell, 0, :])[..., None])[..., 0]
    ok = _inside("P1", xi, tol)
    pair_cell, pair_pt, xi = pair_cell[ok], pair_pt[ok], xi[ok]
    order = np.lexsort((pair_cell, pair_pt))
    pair_cell, pair_pt, xi = pair_cell[order], pair_pt[order], xi[order]
    first = np.ones(pair_pt.size, dtype=bool)
    first[1:] = pair_pt[1:] != pair_pt[:-1]
    cell_of[pair_pt[first]] = pair_cell[first]
    values[pair_pt[first]] = shape_functions("P1", xi[first])
    return cell_of, values


def best(fn, repeat: int = 3) -> tuple[float, object]:
    t, out = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        t = min(t, time.perf_counter() - t0)
    return t, out


def main() -> None:
    rows = {}
    for n in (10, 20):
        X, band, mesh = geometry(n)
        pts = X[band]
        t_loc, (cell, vals) = best(lambda: locate_points(mesh.coordinates, mesh.cells, pts, "P1"))
        t_peer, (cell_p, _) = best(lambda: peer_locate(mesh.coordinates, mesh.cells, pts))
        assert np.array_equal(cell, cell_p)
        T = TransferOperator.from_located(mesh.cells, cell, vals, len(mesh.coordinates))
        t_bdm, bdm = best(lambda: BridgingDomain(T.matrix, np.ones(len(pts)), np.ones(len(mesh.coordinates))))
        rows[n] = {"atoms": int(X.shape[0]), "band_atoms": int(band.sum()), "cells": int(len(mesh.cells)),
                   "band_system_rows": int(bdm.system_size), "locate_s": t_loc, "peer_s": t_peer, "bdm_s": t_bdm,
                   "locate_us_per_band_atom": 1e6 * t_loc / band.sum(), "locate_over_peer": t_loc / t_peer}
    a, b = rows[10], rows[20]
    out = {"sizes": rows, "band_atom_ratio": b["band_atoms"] / a["band_atoms"],
           "locate_time_ratio": b["locate_s"] / a["locate_s"], "bdm_time_ratio": b["bdm_s"] / a["bdm_s"]}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
