"""Blended statics (mscouple/coupling/blended_statics.py): the reduced functional's gradient
against finite differences of the blended energy, the minimiser's residuals, and the
homogeneous state (one-rank local form, 2D triangular lattice of tests/coupling/schwarz_cases.py)."""
import numpy as np
import pytest
from mpi4py import MPI

from mscouple.coupling.blended_statics import BlendedStatics

from .schwarz_cases import EPS, ROT, affine, build

SELF = MPI.COMM_SELF


def _energy(bs) -> float:
    """Π at the current state: Σ w e (weighted patch energy) + ½ uᵀ K_{1−w} u − f·u."""
    bs._weights(True)
    e = bs.system.potential_energy() + bs.energy()
    return float(e)


def _set_u(bs, u_free: np.ndarray) -> None:
    arr = bs.u.getArray()
    arr[bs._free_dofs] = u_free
    bs.u.stateIncrease()
    bs._place_slaved(bs._interpolate_slaved()[0])


def test_gradient_equals_finite_difference_of_the_blended_energy():
    """g(u) = K_{1−w} u − f − Nᵀ f_S equals the central difference of Π with the free atoms
    held (the envelope theorem's partial derivative) at a perturbed state, LJ with a vacancy:
    every checked dof to rtol 1e-6 of max|g| (measured: ~1e-9)."""
    R, st, s, a, pot = build("lj", SELF, SELF, field=affine(EPS + ROT), vacancy=True)
    bs = BlendedStatics(R, statics=st, system=s, tol=1e-6, fmax=1e-8, direct=True, predict=False)
    bs.solve()
    rng = np.random.default_rng(7)
    u0 = bs.u.getArray()[bs._free_dofs].copy() + 0.01 * rng.standard_normal(int(bs._free_dofs.sum()))
    _set_u(bs, u0)
    bs._weights(True)
    rows = bs._rows(bs.links[0].slave_ids)
    f_s = np.array(s.f[rows, :2])
    g = bs._gradient([f_s])[bs._free_dofs]
    # dofs the slaved atoms and the weighted cells see (a node in the overlap, one outside)
    order = np.argsort(-np.abs(g))
    pick = np.r_[order[:6], order[len(order) // 2:len(order) // 2 + 2]]
    h = 1e-5
    for j in pick:
        e = []
        for sgn in (1, -1):
            u = u0.copy()
            u[j] += sgn * h
            _set_u(bs, u)
            e.append(_energy(bs))
        fd = (e[0] - e[1]) / (2 * h)
        assert abs(fd - g[j]) <= 1e-6 * np.abs(g).max(), (j, fd, g[j])
    bs._weights(False)
    bs.destroy()


@pytest.mark.parametrize("kind", ["springs", "lj"])
def test_converges_with_small_residuals(kind):
    """From rest (a vacancy in the patch, far field (ε + ω) X on the outer boundary): the
    minimiser's nodal gradient and free-atom forces are at the tolerance; the patch carries
    no weights outside the solve."""
    R, st, s, a, pot = build(kind, SELF, SELF, field=affine(EPS + ROT), vacancy=True)
    bs = BlendedStatics(R, statics=st, system=s, tol=1e-8, fmax=1e-10, direct=True)
    res = bs.solve()
    assert res.converged and res.history[-1] <= 1e-8
    fa, fn = bs.residuals()
    assert fa < 1e-10 and fn < 1e-5, (fa, fn)
    assert np.all(s.energy_weight == 1.0)
    # slaved atoms (w < 1) sit exactly at N u
    rows = bs._rows(bs.links[0].slave_ids)
    assert np.abs(s.displacements()[rows, :2] - bs._interpolate_slaved()[0]).max() < 1e-12
    bs.destroy()


def test_eam_energy_weights_are_the_partition_of_per_atom_energies():
    """The blended functional's atoms' part: with MDSystem.energy_weight = w, EAM Cu's energy is
    Σ_i w_i e_i with the unweighted per-atom energies e_i (what the ledger's E_atoms_w sums;
    embedding × w_i, pair × (w_i + w_j)/2) to round-off, and the weighted forces are its
    gradient (central differences, rtol 1e-6 of max|f|)."""
    import os

    from mscouple.atomistic.eam import EAM
    from mscouple.atomistic.lattice import fcc
    from mscouple.atomistic.system import MDSystem

    pot = EAM.from_file(os.path.join(os.path.dirname(__file__), "..", "data", "Cu_zhou04.eam.alloy"))
    x, box = fcc(3.615, 3)
    rng = np.random.default_rng(3)
    x = x + 0.08 * rng.standard_normal(x.shape)
    w = rng.uniform(0.0, 1.0, len(x))
    s = MDSystem(SELF, box, x, pot)
    e = np.array(s.per_atom_energy())
    s.energy_weight[:] = w
    s.compute_forces()
    assert s.potential_energy() == pytest.approx(float(np.dot(w, e)), rel=1e-12)
    f = np.array(s.f)
    h = 1e-5
    for i in (0, 17, 60):
        for c in range(3):
            ep = []
            for sgn in (1, -1):
                s.x[i, c] += sgn * h
                s.invalidate_neighbors()
                s.compute_forces()
                ep.append(s.potential_energy())
                s.x[i, c] -= sgn * h
            fd = -(ep[0] - ep[1]) / (2 * h)
            assert abs(fd - f[i, c]) <= 1e-6 * np.abs(f).max(), (i, c, fd, f[i, c])


def test_stops_where_the_minimiser_is_within_the_tolerance():
    """The stopping measure (the step's move of the slaved atoms and of the nodes outside the
    patch, not of the core's nodes, which Π barely determines) is a step size, not an error
    bound: stopped at tol = 1e-4, the atoms and the nodes outside the patch are within 10 tol
    of the minimiser found by continuing to tol = 1e-10 (LJ, vacancy, far field (ε + ω) X;
    measured 5.7 tol, with max|K⁻¹g| over every node 2.5 tol in one more iteration)."""
    R, st, s, a, pot = build("lj", SELF, SELF, field=affine(EPS + ROT), vacancy=True)
    bs = BlendedStatics(R, statics=st, system=s, tol=1e-4, fmax=1e-10, direct=True)
    assert bs.solve().converged
    x_loose, u_loose = s.displacements()[:, :2].copy(), bs.u.getArray().copy()
    bs.tol = 1e-10
    res = bs.solve()
    assert res.converged and res.history[-1] <= 1e-10
    dx = np.abs(s.displacements()[:, :2] - x_loose).max()
    du = np.abs(bs.u.getArray() - u_loose)[bs._far_dofs].max()
    assert bs._far_dofs.any() and dx <= 1e-3 and du <= 1e-3, (dx, du)
    bs.destroy()
