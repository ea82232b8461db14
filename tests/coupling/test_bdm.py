import numpy as np
import pytest
import scipy.sparse as sp

from mscouple.coupling.bdm import BridgingDomain
from mscouple.coupling.band import SlabBand
from mscouple.coupling.transfer import build_transfer
from mscouple.errors import ConfigError

from .meshes import p1_mesh, q1_mesh


def _band_2d(ratio=2):
    """A Q1 mesh over [0, 8]x[0, 4] and a square lattice (spacing 1/ratio) in the band x∈[2, 6]."""
    nodes, cells = q1_mesh((4, 2), h=2.0)
    a = 1.0 / ratio
    g = np.arange(2.0 + a / 2, 6.0, a)
    atoms = np.stack(np.meshgrid(g, np.arange(a / 2, 4.0, a), indexing="ij"), -1).reshape(-1, 2)
    band = SlabBand(0, 2.0, 6.0)
    w_atoms = band.continuum_weight(atoms)
    T = build_transfer(nodes, cells, atoms, "Q1")
    cw = band.continuum_weight(nodes[cells].mean(axis=1))  # per-cell weight
    lumped = np.zeros(len(nodes))
    np.add.at(lumped, cells.ravel(), np.repeat(cw * 4.0 / 4, 4))
    lumped = np.where(lumped > 0, lumped, 1.0)
    return T, (1.0 - w_atoms) * 1.0, lumped


@pytest.mark.parametrize("mult", ["atoms", "nodes"])
def test_projection_satisfies_constraint_conserves_momentum_and_is_idempotent(mult):
    T, m, M = _band_2d()
    bdm = BridgingDomain(T.matrix, m, M, multipliers=mult)
    rng = np.random.default_rng(0)
    va = rng.normal(size=(bdm.n_atoms, 2))
    vn = rng.normal(size=(len(M), 2))
    p0 = (m[:, None] * va).sum(0) + (M[bdm.nodes, None] * vn[bdm.nodes]).sum(0)
    ke0 = 0.5 * (np.sum(m[:, None] * va ** 2) + np.sum(M[bdm.nodes, None] * vn[bdm.nodes] ** 2))
    res = bdm.project(va, vn)
    g = bdm.gap(va, vn[bdm.nodes])
    C = sp.identity(bdm.n_atoms) if mult == "atoms" else bdm.N
    assert np.abs(C.T @ g).max() < 1e-12
    p1 = (m[:, None] * va).sum(0) + (M[bdm.nodes, None] * vn[bdm.nodes]).sum(0)
    np.testing.assert_allclose(p1, p0, atol=1e-12)
    ke1 = 0.5 * (np.sum(m[:, None] * va ** 2) + np.sum(M[bdm.nodes, None] * vn[bdm.nodes] ** 2))
    assert res.work == pytest.approx(ke1 - ke0, rel=1e-12)
    assert res.work < 0  # an M-orthogonal projection only removes energy
    res2 = bdm.project(va, vn)
    assert np.abs(res2.dv_atoms).max() < 1e-13 and np.abs(res2.dv_nodes).max() < 1e-13


def test_rigid_and_linear_motion_pass_untouched():
    T, m, M = _band_2d()
    bdm = BridgingDomain(T.matrix, m, M, multipliers="atoms")
    nodes, _ = q1_mesh((4, 2), h=2.0)
    L = np.array([[0.1, 0.3], [-0.2, 0.05]])
    vn = nodes @ L + np.array([1.0, -2.0])
    va = T.interpolate(vn)
    res = bdm.solve(va, vn[bdm.nodes])
    assert np.abs(res.dv_atoms).max() < 1e-13 and np.abs(res.impulse).max() < 1e-13


def test_zero_mass_is_config_error():
    T, m, M = _band_2d()
    m[0] = 0.0
    with pytest.raises(ConfigError, match="zero dynamical mass"):
        BridgingDomain(T.matrix, m, M)
    with pytest.raises(ConfigError, match="multipliers"):
        BridgingDomain(T.matrix, np.ones_like(m), M, multipliers="edges")
