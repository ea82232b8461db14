"""EAM: tables generated from an analytic EAM, written as setfl/funcfl, read back."""
import itertools

import numpy as np
import pytest
from mpi4py import MPI

from mscouple.atomistic.eam import EAM, HARTREE_BOHR
from mscouple.atomistic.lattice import fcc
from mscouple.atomistic.system import MDSystem

RC = 5.0
NR, NRHO = 5001, 5001
DR = RC / (NR - 1) * 1.0002  # table reaches just past the cutoff
DRHO = 40.0 / (NRHO - 1)


def analytic(el):
    """Smooth analytic EAM functions of element ``el`` (0 or 1), all vanishing at RC."""
    A = (1.0, 1.3)[el]
    B = (0.4, 0.25)[el]

    def rho(r):
        return np.where(r < RC, A * (RC - r) ** 4 / RC ** 4 * np.exp(-0.3 * r) * 10, 0.0)

    def F(p):
        return -np.sqrt(p + 1.0) * (1.5 + 0.2 * el) + B * 0.05 * p

    def Zr(r):  # funcfl effective charge; phi = HARTREE_BOHR Z^2 / r >= 0
        return np.where(r < RC, (RC - r) ** 3 / RC ** 3 * (0.6 + 0.1 * el), 0.0)

    return rho, F, Zr


def phi_pair(a, b, r):
    return HARTREE_BOHR * analytic(a)[2](r) * analytic(b)[2](r) / r


def build_eam(ne):
    r = np.arange(NR) * DR
    p = np.arange(NRHO) * DRHO
    F = [analytic(e)[1](p) for e in range(ne)]
    rho = [analytic(e)[0](r) for e in range(ne)]
    z = [[r * phi_pair(a, b, np.maximum(r, 1e-9)) for b in range(ne)] for a in range(ne)]
    return EAM(["A", "B"][:ne], F, DRHO, rho, z, DR, RC, masses=[27.0, 58.0][:ne])


def reference_energy(x, box, types):
    """Analytic EAM energy, all periodic images."""
    N = len(x)
    rho_i = np.zeros(N)
    E = 0.0
    for s in itertools.product(range(-2, 3), repeat=3):
        d = x[:, None, :] - x[None, :, :] - np.array(s) * box.lengths
        r = np.linalg.norm(d, axis=2)
        m = (r > 0) & (r < RC)
        rs = np.where(m, r, 1.0)
        for b in range(types.max() + 1):
            rho_i += np.sum(np.where(m & (types[None, :] == b), analytic(b)[0](rs), 0), axis=1)
        for a in range(types.max() + 1):
            for b in range(types.max() + 1):
                mm = m & (types[:, None] == a) & (types[None, :] == b)
                E += 0.5 * np.sum(np.where(mm, phi_pair(a, b, rs), 0.0))
    for a in range(types.max() + 1):
        E += np.sum(analytic(a)[1](rho_i[types == a]))
    return E


def config(seed=0):
    x, box = fcc(4.05, 2)
    rng = np.random.default_rng(seed)
    return x + 0.1 * rng.standard_normal(x.shape), box


@pytest.fixture(scope="module")
def setfl_two(tmp_path_factory):
    path = tmp_path_factory.mktemp("eam") / "AB.eam.alloy"
    build_eam(2).write_setfl(str(path))
    return EAM.from_setfl(str(path))


def make(pot, x, box, types, **kw):
    return MDSystem(MPI.COMM_SELF, box, x, pot, types=types, masses=[27.0, 58.0][:pot.ntypes]
                    if pot.ntypes == 2 else 27.0, units="metal", skin=0.5, **kw)


def test_setfl_energy_matches_analytic(setfl_two):
    x, box = config()
    types = (np.arange(len(x)) % 3 == 0).astype(np.int32)
    s = make(setfl_two, x, box, types)
    E = reference_energy(x, box, types)
    assert s.potential_energy() == pytest.approx(E, rel=1e-9)
    e = np.zeros(len(x))
    e[s.ids] = s.per_atom_energy()
    assert e.sum() == pytest.approx(E, rel=1e-9)


def test_forces_and_virial_are_derivatives(setfl_two):
    x, box = config(1)
    types = (np.arange(len(x)) % 2).astype(np.int32)
    s = make(setfl_two, x, box, types)
    s.compute_forces()
    f = s.gather("f")
    h = 1e-5
    for i, d in [(0, 0), (5, 1), (17, 2), (30, 0)]:
        e = []
        for sg in (1, -1):
            y = x.copy()
            y[i, d] += sg * h
            e.append(make(setfl_two, y, box, types).potential_energy())
        assert -(e[0] - e[1]) / (2 * h) == pytest.approx(f[i, d], abs=1e-6 * max(1, abs(f[i, d])))
        # and the analytic model agrees to interpolation accuracy
        ea = []
        for sg in (1, -1):
            y = x.copy()
            y[i, d] += sg * h
            ea.append(reference_energy(y, box, types))
        assert -(ea[0] - ea[1]) / (2 * h) == pytest.approx(f[i, d], abs=1e-5 * max(1, abs(f[i, d])))
    W = s.virial()
    for c in range(3):
        e = []
        for sg in (1, -1):
            F = np.eye(3)
            F[c, c] += sg * h
            e.append(make(setfl_two, x @ F.T, box.deformed(F), types).potential_energy())
        assert (e[0] - e[1]) / (2 * h) == pytest.approx(-W[c], rel=1e-6)
    np.testing.assert_allclose(s.per_atom_virial().sum(axis=0), W, rtol=1e-10, atol=1e-10)


def test_funcfl_equals_setfl(tmp_path):
    r = np.arange(NR) * DR
    p = np.arange(NRHO) * DRHO
    rho, F, Zr = analytic(0)
    path = tmp_path / "A.eam"
    with open(path, "w") as fh:
        fh.write("analytic test element\n13 27.0 4.05 fcc\n")
        fh.write(f"{NRHO} {DRHO:.16e} {NR} {DR:.16e} {RC:.16e}\n")
        for arr in (F(p), Zr(r), rho(r)):
            for k in range(0, len(arr), 5):
                fh.write(" ".join(f"{v:.16e}" for v in arr[k:k + 5]) + "\n")
    pot = EAM.from_funcfl(str(path))
    x, box = config(2)
    types = np.zeros(len(x), np.int32)
    e1 = make(pot, x, box, types).potential_energy()
    e2 = make(build_eam(1), x, box, types).potential_energy()
    assert e1 == pytest.approx(e2, rel=1e-12)
    assert e1 == pytest.approx(reference_energy(x, box, types), rel=1e-9)


def test_energy_weights_scale_embedding_and_pairs(setfl_two):
    """With all weights w the energy is exactly w E (embedding x w_i, pairs x w)."""
    x, box = config(3)
    types = (np.arange(len(x)) % 2).astype(np.int32)
    s = make(setfl_two, x, box, types)
    s.compute_forces()
    E = s.potential_energy()
    f = s.f.copy()
    s.energy_weight[:] = 0.25
    s.compute_forces()
    assert s.potential_energy() == pytest.approx(0.25 * E, rel=1e-12)
    np.testing.assert_allclose(s.f, 0.25 * f, atol=1e-12)


def test_eam_nve_runs_and_conserves_energy(setfl_two):
    x, box = config(4)
    types = (np.arange(len(x)) % 2).astype(np.int32)
    s = make(setfl_two, x, box, types, dt=0.001)
    s.set_velocities(300.0, seed=2)
    E0 = s.total_energy()
    s.run(200)
    assert abs(s.total_energy() - E0) / s.natoms < 1e-4
