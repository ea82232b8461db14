"""Periodic RVE by FE: laminates are exactly Voigt/Reuss (Backus), other microstructures lie
between the Voigt/Reuss and Hashin-Shtrikman bounds; parallel answers equal serial ones."""
import numpy as np
import pytest
from mpi4py import MPI

from mscouple.homogenization import bounds as b
from mscouple.homogenization.rve import PeriodicRVE, inclusion_phases, laminate_phases, random_phases

K_PH = [1.0, 10.0]


def _C(dim):
    l1, m1 = b.lame_from_young(1.0, 0.3)
    l2, m2 = b.lame_from_young(20.0, 0.2)
    return np.array([b.isotropic_stiffness(l1, m1, dim), b.isotropic_stiffness(l2, m2, dim)]), (l1, m1, l2, m2)


@pytest.mark.parametrize("shape", [(10,), (8, 6), (6, 3, 3)])
def test_laminate_conductivity_is_voigt_reuss(shape):
    rve = PeriodicRVE(MPI.COMM_SELF, laminate_phases(shape, 3, period_cubes=shape[0] // 2 if shape[0] % 2 == 0 and shape[0] > 6 else None))
    eff = rve.conductivity(K_PH).tensor
    f = rve.fractions
    assert abs(eff[0, 0] - b.reuss(K_PH, f)) < 1e-10
    for i in range(1, len(shape)):
        assert abs(eff[i, i] - b.voigt(K_PH, f)) < 1e-10
    assert np.abs(eff - np.diag(np.diag(eff))).max() < 1e-10


@pytest.mark.parametrize("dim", [2, 3])
def test_laminate_stiffness_is_exact(dim):
    shape = (8, 4) if dim == 2 else (6, 2, 2)
    rve = PeriodicRVE(MPI.COMM_SELF, laminate_phases(shape, 3 if dim == 2 else 2))
    C, (l1, m1, l2, m2) = _C(dim)
    eff = rve.stiffness(C).tensor
    f = rve.fractions
    assert np.abs(eff - b.laminate_stiffness(C, f, dim)).max() < 1e-10
    # the two components that are plain Reuss bounds
    assert abs(eff[0, 0] - b.reuss([l1 + 2 * m1, l2 + 2 * m2], f)) < 1e-10
    assert abs(eff[-1, -1] - 2 * b.reuss([m1, m2], f)) < 1e-10


@pytest.mark.parametrize("micro", ["random_symmetric", "inclusion"])
def test_isotropic_microstructures_within_hashin_shtrikman(micro):
    ph = random_phases((24, 24), 0.4, seed=1, square_symmetric=True) if micro != "inclusion" \
        else inclusion_phases((24, 24), 0.3)
    rve = PeriodicRVE(MPI.COMM_SELF, ph)
    f = rve.fractions
    eff = rve.conductivity(K_PH).tensor
    assert abs(eff[0, 0] - eff[1, 1]) < 1e-9 and abs(eff[0, 1]) < 1e-9  # square symmetry -> isotropic
    lo, hi = b.hashin_shtrikman_conductivity(K_PH, f, 2)
    assert lo < eff[0, 0] < hi
    C, (l1, m1, l2, m2) = _C(2)
    T = rve.stiffness(C).tensor
    K2 = 0.5 * (T[0, 0] + T[0, 1])  # plane-strain area bulk modulus
    (klo, khi), _ = b.hashin_shtrikman_elastic([l1 + m1, l2 + m2], [m1, m2], f, 2)
    assert klo < K2 < khi


def test_anisotropic_random_between_tensor_bounds():
    rve = PeriodicRVE(MPI.COMM_SELF, random_phases((20, 20), 0.5, seed=3))
    f = rve.fractions
    C, _ = _C(2)
    T = rve.stiffness(C).tensor
    assert np.linalg.eigvalsh(b.voigt_tensor(C, f) - T).min() > 0
    assert np.linalg.eigvalsh(T - b.reuss_tensor(C, f)).min() > 0
    k = rve.conductivity(K_PH).tensor
    ev = np.linalg.eigvalsh(k)
    assert b.reuss(K_PH, f) < ev.min() and ev.max() < b.voigt(K_PH, f)


@pytest.mark.mpi(min_size=2)
def test_rve_parallel_equals_serial(comm):
    ph = random_phases((12, 10), 0.35, seed=7)
    C, _ = _C(2)
    par = PeriodicRVE(comm, ph)
    ser = PeriodicRVE(MPI.COMM_SELF, ph)
    for fn in ("conductivity", "stiffness"):
        arg = K_PH if fn == "conductivity" else C
        tp = getattr(par, fn)(arg).tensor
        ts = getattr(ser, fn)(arg).tensor
        assert np.abs(tp - ts).max() < 1e-10 * np.abs(ts).max()
    # every rank holds the same answer
    assert np.array_equal(comm.bcast(tp, root=0), tp)
