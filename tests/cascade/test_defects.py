"""Wigner–Seitz defect analysis against an fcc reference lattice: known vacancies,
interstitials, Frenkel pairs across the periodic boundary, clusters by connectivity,
antisites, the extxyz frame and the hand-off file round trip."""
import numpy as np
import pytest

from mscouple.atomistic.lattice import fcc
from mscouple.cascade.defects import (analyse, clusters, extxyz_frame, read_defect_list,
                                      write_defect_list)
from mscouple.errors import ConfigError

A = 3.615
CUT = A  # second-neighbour distance


@pytest.fixture(scope="module")
def lattice():
    return fcc(A, (5, 5, 5))


def test_perfect_and_thermal_lattice_has_no_defects(lattice):
    x, box = lattice
    st = analyse(x, x, box, CUT)
    assert len(st.kinds) == 0 and np.all(st.occupancy == 1)
    rng = np.random.default_rng(0)
    # 0.1 Å rms displacements (about the 300 K amplitude of Cu) change nothing
    st = analyse(x, x + rng.normal(scale=0.1, size=x.shape), box, CUT)
    assert st.n_vacancies == 0 and st.n_interstitials == 0


def test_free_block_with_atoms_beyond_its_faces():
    """A free block (the continuum-bath cascade): thermal displacements carry surface atoms
    outside the box; sites and atoms must be shifted alike along free directions."""
    x, box = fcc(A, (5, 5, 5), periodic=(False, False, False))
    rng = np.random.default_rng(1)
    y = x + rng.normal(scale=0.1, size=x.shape)
    y[x[:, 0] == 0.0, 0] -= 0.3  # the x = 0 face relaxed 0.3 Å outward, outside the box
    assert np.min(y[:, 0]) < box.lo[0]
    st = analyse(x, y, box, CUT)
    assert st.n_vacancies == 0 and st.n_interstitials == 0
    y[0] = x[0] + [0.0, 0.0, 40.0]  # one atom sputtered far beyond the box: one vacancy,
    st = analyse(x, y, box, CUT)      # and the atom sits on the nearest surface site
    assert st.n_vacancies == 1 and st.n_interstitials == 1


def test_frenkel_pair_across_the_boundary(lattice):
    x, box = lattice
    y = x.copy()
    i = int(np.argmin(np.linalg.norm(x - [0, 0, 0], axis=1)))  # the corner atom
    # move it through the periodic boundary, past the octahedral site at -a/2 (its image
    # L - a/2): it now shares the Wigner-Seitz cell of the site at L - a (0.45 a away)
    y[i] = [box.hi[0] - 0.55 * A, 0.0, 0.0]
    st = analyse(x, y, box, CUT)
    assert st.n_vacancies == 1 and st.n_interstitials == 1 and st.n_frenkel == 1
    v = st.sites[st.kinds == "V"][0]
    np.testing.assert_allclose(v, x[i])
    ip = st.positions[st.kinds == "I"][0]
    np.testing.assert_allclose(ip, y[i])


def test_vacancy_clusters(lattice):
    x, box = lattice
    c = np.array([2.5, 2.5, 2.5]) * A
    d = np.linalg.norm(x - c, axis=1)
    divac = np.argsort(d)[:2]          # two nearest-neighbour sites
    far = int(np.argmax(d))            # a lone vacancy far away
    keep = np.setdiff1d(np.arange(len(x)), np.r_[divac, far])
    st = analyse(x, x[keep], box, CUT)
    assert st.n_vacancies == 3 and st.n_interstitials == 0
    np.testing.assert_array_equal(st.cluster_sizes("V"), [2, 1])
    # connectivity is transitive: a chain of three points 3 Å apart is one cluster
    pts = np.array([[1.0, 1, 1], [4.0, 1, 1], [7.0, 1, 1], [15.0, 9, 9]])
    lab = clusters(pts, box, 3.5)
    assert lab[0] == lab[1] == lab[2] != lab[3]
    # and periodic: points at 0.5 and L - 0.5 are neighbours
    lab = clusters(np.array([[0.5, 5, 5], [box.hi[0] - 0.5, 5, 5]]), box, 1.5)
    assert lab[0] == lab[1]


def test_antisites(lattice):
    x, box = lattice
    st_types = np.zeros(len(x), int)
    at_types = st_types.copy()
    at_types[[3, 7]] = 1
    st = analyse(x, x, box, CUT, site_types=st_types, atom_types=at_types)
    assert st.antisites == 2


def test_extxyz_and_handoff_roundtrip(lattice, tmp_path):
    x, box = lattice
    y = np.delete(x, [10, 11], axis=0)
    y = np.vstack([y, x[50] + [0.9, 0.9, 0.0], x[80] + [0.0, 1.2, 0.6]])
    st = analyse(x, y, box, CUT)
    assert st.n_vacancies == 2 and st.n_interstitials == 2
    text = extxyz_frame(st, box, 1.5, 300)
    lines = text.splitlines()
    assert int(lines[0]) == 4 and "defect:I:1" in lines[1]
    assert sorted(int(ln.split()[4]) for ln in lines[2:]) == [-1, -1, 1, 1]
    p = tmp_path / "defects.txt"
    write_defect_list(p, st, box, "fcc", A, 12.5)
    dl = read_defect_list(p)
    assert list(dl.kinds) == list(st.kinds) and dl.a == A and dl.time == 12.5
    np.testing.assert_array_equal(dl.sites, st.sites)
    np.testing.assert_array_equal(dl.cluster, st.cluster)
    assert dl.periodic == (True, True, True) and dl.label == "relaxed"
    (tmp_path / "bad.txt").write_text("hello\n")
    with pytest.raises(ConfigError, match="not an mscouple defect list"):
        read_defect_list(tmp_path / "bad.txt")
    with pytest.raises(ConfigError, match="label"):
        write_defect_list(p, st, box, "fcc", A, 1.0, label="max")
