"""The bridging-domain patch's force loop (energy weights, forces only) is the compiled
single-type LJ loop of pure MD with each pair scaled by (w_i + w_j)/2: its forces agree
bit for bit with the general weighted kernel (the path with energy and virial) and with
the NumPy reference, and with all weights 1 they are exactly the unweighted forces."""
import numpy as np
from mpi4py import MPI

from mscouple.atomistic.lattice import fcc
from mscouple.atomistic.potentials import LennardJones
from mscouple.atomistic.reference import pair_reference
from mscouple.atomistic.system import MDSystem


def _system(mode: str = "shift"):
    rng = np.random.default_rng(3)
    x, box = fcc(1.56, 4)  # 256 atoms, periodic
    x = x + 0.05 * rng.standard_normal(x.shape)
    pot = LennardJones(cutoff=2.5, mode=mode)
    return MDSystem(MPI.COMM_SELF, box, x, pot, skin=0.3), x, box, pot


def _forces(s, energy: bool) -> np.ndarray:
    s.compute_forces(energy=energy, virial=energy)
    return s.gather("f").copy()


def test_weighted_forces_only_equal_the_general_kernel_bit_for_bit():
    s, x, box, pot = _system()
    w = np.linspace(0.05, 1.0, len(x))  # a ramp like a handshake band's (1 − w)
    s.energy_weight[:] = w[s.ids]
    fast = _forces(s, energy=False)  # lj_force_1type_w
    full = _forces(s, energy=True)  # pair_general (weights, energy, virial)
    assert np.array_equal(fast, full)
    _, f_ref, _, _ = pair_reference(pot, box, x, np.zeros(len(x), np.int32), w)
    np.testing.assert_allclose(fast, f_ref, rtol=0, atol=1e-11 * np.abs(f_ref).max())
    # the weights matter: the unweighted forces differ by far more than round-off
    _, f_unw, _, _ = pair_reference(pot, box, x, np.zeros(len(x), np.int32), None)
    assert np.abs(f_unw - f_ref).max() > 0.1 * np.abs(f_ref).max()
    # energies are still evaluated on demand (the ledger's potential energy)
    s.compute_forces(energy=False, virial=False)
    E_ref, _, _, _ = pair_reference(pot, box, x, np.zeros(len(x), np.int32), w)
    assert abs(s.potential_energy() - E_ref) < 1e-12 * abs(E_ref)


def test_unit_weights_give_the_pure_md_forces():
    s, x, box, pot = _system()
    plain = _forces(s, energy=False)  # lj_force_1type
    s.energy_weight[:] = 0.5
    half = _forces(s, energy=False)
    assert np.array_equal(half, 0.5 * plain)  # (0.5 + 0.5)/2 scales every pair exactly
