"""Lattice builders: counts, densities, neighbour shells, orientation, defects."""
import numpy as np
import pytest

from mscouple.atomistic import bcc, chain, crack, fcc, remove_atoms, sc, sphere, triangular
from mscouple.errors import ConfigError


def nn_shell(x, box, k=1):
    d = x[:, None, :] - x[None, :, :]
    L = box.lengths
    per = np.array(box.periodic)
    d = np.where(per, d - L * np.round(d / L), d)
    r = np.linalg.norm(d, axis=2)
    r = r[r > 1e-9]
    vals = np.unique(np.round(r, 9))
    return vals[k - 1], int(np.sum(np.abs(r - vals[k - 1]) < 1e-8) / len(x))


@pytest.mark.parametrize("builder,per_cell,nn,z", [(fcc, 4, np.sqrt(0.5), 12),
                                                   (bcc, 2, np.sqrt(0.75), 8), (sc, 1, 1.0, 6)])
def test_cubic_lattices(builder, per_cell, nn, z):
    a = 1.7
    x, box = builder(a, (3, 4, 5))
    assert len(x) == per_cell * 60
    assert len(x) / box.volume == pytest.approx(per_cell / a**3)
    d, coord = nn_shell(x, box)
    assert d == pytest.approx(nn * a) and coord == z


@pytest.mark.parametrize("orient", [[[1, 1, 0], [-1, 1, 0], [0, 0, 1]],
                                    [[1, -1, 0], [1, 1, -2], [1, 1, 1]]])
def test_oriented_fcc_keeps_density_and_shell(orient):
    a = 1.6
    x, box = fcc(a, (4, 3, 3), orient=orient)
    assert len(x) / box.volume == pytest.approx(4 / a**3)
    d, coord = nn_shell(x, box)
    assert d == pytest.approx(a / np.sqrt(2)) and coord == 12


def test_triangular_and_chain():
    x, box = triangular(1.1, (4, 3))
    assert len(x) == 24
    d, coord = nn_shell(x, box)
    assert d == pytest.approx(1.1) and coord == 6
    x, box = chain(0.9, 10)
    d, coord = nn_shell(x, box)
    assert d == pytest.approx(0.9) and coord == 2 and box.periodic == (True, False, False)


def test_defects_and_errors():
    x, box = fcc(1.0, 3)
    keep = remove_atoms(x, [0, 5])
    assert keep.sum() == len(x) - 2
    hole = ~sphere(box.lengths / 2, 0.8)(x)
    assert 0 < len(x) - hole.sum() < 20
    cr = crack(1.0, (1.5, 1.5, 0), 0.3)(x)
    assert cr.any()
    with pytest.raises(ConfigError):
        fcc(1.0, 3, orient=[[1, 1, 0], [1, 0, 0], [0, 0, 1]])
    with pytest.raises(ConfigError):
        fcc(1.0, 0)
