import numpy as np
import pytest

from mscouple.coupling.band import BoxShellBand, SlabBand, continuum_weight, validate_band
from mscouple.errors import ConfigError

from .meshes import p1_mesh


def test_slab_weight_ramps_linearly_from_continuum_to_atoms():
    b = SlabBand(axis=0, continuum_edge=2.0, atomistic_edge=6.0)
    x = np.array([[0.0], [2.0], [3.0], [5.0], [6.0], [9.0]])
    np.testing.assert_allclose(b.continuum_weight(x), [1, 1, 0.75, 0.25, 0, 0])
    right = SlabBand(axis=0, continuum_edge=20.0, atomistic_edge=16.0)
    w = continuum_weight([b, right], np.array([[1.0], [10.0], [18.0], [25.0]]))
    np.testing.assert_allclose(w, [1, 0, 0.5, 1])


def test_box_shell_weight():
    b = BoxShellBand(lo=(0.0, 0.0), hi=(2.0, 2.0), width=1.0)
    x = np.array([[1.0, 1.0], [2.5, 1.0], [1.0, -0.25], [3.5, 3.5]])
    np.testing.assert_allclose(b.continuum_weight(x), [0, 0.5, 0.25, 1])
    assert list(b.contains(x)) == [False, True, True, False]


def test_zero_width_band_is_config_error():
    with pytest.raises(ConfigError, match="zero width"):
        SlabBand(0, 1.0, 1.0)


def test_validation_errors():
    nodes, cells = p1_mesh((10,), h=1.0)  # mesh covers [0, 10]
    atoms = np.arange(5.0, 20.0, 0.5)[:, None]  # atoms cover [5, 19.5]
    validate_band(SlabBand(0, 6.0, 9.0), atoms, nodes, cells)  # fine
    with pytest.raises(ConfigError, match="not inside the continuum mesh"):
        validate_band(SlabBand(0, 8.0, 12.0), atoms, nodes, cells)
    with pytest.raises(ConfigError, match="not inside the atomistic patch"):
        validate_band(SlabBand(0, 3.0, 6.5), np.arange(5.0, 9.0, 0.5)[:, None], nodes, cells)
    coarse_nodes, coarse_cells = p1_mesh((2,), h=5.0)
    with pytest.raises(ConfigError, match="mesh too coarse"):
        validate_band(SlabBand(0, 6.0, 9.0), atoms, coarse_nodes, coarse_cells)
    with pytest.raises(ConfigError, match="no atom"):
        validate_band(SlabBand(0, 1.0, 3.0), atoms, nodes, cells)
