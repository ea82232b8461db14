"""The per-atom-multiplier projection solved on the band's nodes (M + Nᵀ m N, n_band rows)
equals the textbook RATTLE solve A μ = −g, A = m⁻¹ + N M⁻¹ Nᵀ (m_band rows), on a 3D P1
band: same corrections to 1e-12 of the velocities, a system 6× smaller here (and ~30× on
the benchmark's 3D block)."""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from mscouple.coupling.bdm import BridgingDomain
from mscouple.coupling.transfer import build_transfer

from .meshes import p1_mesh


def _band_3d():
    nodes, cells = p1_mesh((4, 4, 4), h=1.0)
    rng = np.random.default_rng(3)
    atoms = rng.uniform(0.05, 3.95, size=(900, 3))
    atoms = atoms[np.max(np.abs(atoms - 2.0), axis=1) > 1.0]  # a shell around the core
    T = build_transfer(nodes, cells, atoms, "P1")
    m = rng.uniform(0.2, 1.0, atoms.shape[0])
    M = rng.uniform(0.5, 2.0, nodes.shape[0])
    return T.matrix, m, M


def test_nodal_form_equals_the_atom_multiplier_kkt_solve():
    N, m, M = _band_3d()
    bdm = BridgingDomain(N, m, M, multipliers="atoms")
    Nb, Mb = bdm.N.toarray(), M[bdm.nodes]
    assert bdm.system_size == Nb.shape[1] and bdm.size == Nb.shape[0]
    assert bdm.system_size * 6 < bdm.size
    rng = np.random.default_rng(4)
    va, vn = rng.normal(size=(bdm.n_atoms, 3)), rng.normal(size=(Nb.shape[1], 3))
    A = np.diag(1.0 / m) + (Nb / Mb[None, :]) @ Nb.T
    mu = np.linalg.solve(A, -(va - Nb @ vn))
    res = bdm.solve(va, vn)
    scale = np.abs(va).max()
    assert np.abs(res.impulse - mu).max() < 1e-12 * scale
    assert np.abs(res.dv_atoms - mu / m[:, None]).max() < 1e-12 * scale
    assert np.abs(res.dv_nodes + (Nb.T @ mu) / Mb[:, None]).max() < 1e-12 * scale
    # on the constraint afterwards, and an M-orthogonal projection (only removes energy)
    assert np.abs(bdm.gap(va + res.dv_atoms, vn + res.dv_nodes)).max() < 1e-12 * scale
    assert res.work < 0
    assert sp.issparse(bdm.N)
