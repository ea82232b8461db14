"""Alternating Schwarz statics: patch test (no ghost forces), convergence, Cauchy–Born
constants of the triangular lattice, errors."""
import numpy as np
import pytest
from mpi4py import MPI

from mscouple.errors import ConfigError, ConvergenceError
from mscouple.coupling.schwarz import SchwarzRegions, SchwarzStatics, cauchy_born_triangular

from .schwarz_cases import EPS, ROT, SHIFT, affine, build, typical_bond_force

SELF = MPI.COMM_SELF


def _set_atoms(s, field):
    s.x[:, :2] = s.x0[:, :2] + field(s.x0)
    s.invalidate_neighbors()


@pytest.mark.parametrize("kind", ["springs", "lj"])
@pytest.mark.parametrize("load", ["strain", "translation"])
def test_patch_test_no_ghost_forces(kind, load):
    """Homogeneous far field (strain + rotation, or a rigid translation) with the atoms and
    nodes in the exact homogeneous state: the state is a fixed point of the Schwarz map
    (second change ≤ 1e-12 of the displacement scale) and every free atom and free node
    feels a force ≤ 1e-10 of a typical bond force."""
    field = affine(EPS + ROT) if load == "strain" else affine(np.zeros((2, 2)), SHIFT)
    R, st, s, a, pot = build(kind, SELF, SELF, field=field)
    _set_atoms(s, field)
    sw = SchwarzStatics(R, statics=st, system=s, tol=1e-12, fmax=1e-12, direct=True)
    res = sw.solve()
    scale = 0.2  # |u| at the patch edge ~ 1e-2 * 8 (strain) or |SHIFT| (translation)
    assert res.converged and res.iterations == 2
    assert res.history[1] <= 1e-12 * scale
    fa, fn = sw.residuals()
    ftyp = typical_bond_force(pot, a)
    assert fa <= 1e-10 * ftyp, (fa, ftyp)
    assert fn <= 1e-10 * ftyp, (fn, ftyp)
    # and the homogeneous field itself is reproduced by both models
    assert np.abs(s.displacements()[:, :2] - field(s.x0)).max() <= 1e-12
    sp = st.space
    X = sp.mesh.coordinates[sp.mesh.owned_nodes]
    free = sw._free_dofs.reshape(-1, 2)[:, 0]
    assert np.abs(sp.owned(sw.u)[free] - field(X[free])).max() <= 1e-12
    sw.destroy()


def test_converges_to_homogeneous_solution_from_rest():
    """From undeformed atoms the iteration converges (geometrically, Aitken-accelerated) to
    the homogeneous solution: atoms and free nodes within 10 tol of u = (ε + ω) X."""
    field = affine(EPS + ROT)
    R, st, s, a, pot = build("springs", SELF, SELF, field=field)
    tol = 1e-9
    sw = SchwarzStatics(R, statics=st, system=s, tol=tol, fmax=1e-10, direct=True)
    res = sw.solve()
    assert res.converged and res.iterations < 40
    assert res.history[-1] <= tol < res.history[1]
    assert np.abs(s.displacements()[:, :2] - field(s.x0)).max() < 10 * tol
    sp = st.space
    X = sp.mesh.coordinates[sp.mesh.owned_nodes]
    free = sw._free_dofs.reshape(-1, 2)[:, 0]
    assert np.abs(sp.owned(sw.u)[free] - field(X[free])).max() < 10 * tol
    fa, fn = sw.residuals()
    assert fa < 1e-10 and fn < 1e-10 * typical_bond_force(pot, a)
    sw.destroy()


def test_aitken_and_plain_iteration_reach_the_same_fixed_point():
    """Non-homogeneous case (a vacancy in the patch): Aitken relaxation changes the path, not
    the answer, and needs fewer iterations."""
    field = affine(EPS)
    out = {}
    for aitken in (False, True):
        R, st, s, a, pot = build("springs", SELF, SELF, field=field, vacancy=True)
        sw = SchwarzStatics(R, statics=st, system=s, tol=1e-10, fmax=1e-11, direct=True,
                            aitken=aitken, relax_reduction=0.0)
        res = sw.solve()
        out[aitken] = (res.iterations, s.gather("x")[:, :2].copy())
        sw.destroy()
    assert out[True][0] < out[False][0]
    assert np.abs(out[True][1] - out[False][1]).max() < 1e-8


def test_cauchy_born_triangular_matches_md_stress():
    """The lattice-sum constants equal the MD virial stress response of a periodic
    triangular crystal (central differences, strain 1e-5), and the lattice is stress-free."""
    from mscouple.atomistic.lattice import triangular
    from mscouple.atomistic.potentials import LennardJones
    from mscouple.atomistic.system import MDSystem

    pot = LennardJones(cutoff=2.5, mode="smooth")
    material, a, C2 = cauchy_born_triangular(pot)
    x, box = triangular(a, (8, 5))

    def stress(F):
        y = x.copy()
        y[:, :2] = x[:, :2] @ F.T
        b = box.deformed(np.diag([F[0, 0], F[1, 1], 1.0]))
        s = MDSystem(SELF, b, y, pot)
        area = b.lengths[0] * b.lengths[1]
        v = -s.virial() / area  # Cauchy stress, tension positive (energy / area)
        return np.array([v[0], v[1], v[3]])

    assert np.abs(stress(np.eye(2))).max() < 1e-10
    h = 1e-5
    for col, F in enumerate([np.diag([1 + h, 1.0]), np.diag([1.0, 1 + h])]):
        Fm = 2 * np.eye(2) - F
        dsig = (stress(F) - stress(Fm)) / (2 * h)
        assert np.allclose(dsig, C2[:, col], rtol=1e-6, atol=1e-6 * C2[0, 0])
    # the continuum material carries the 2D block in plane strain
    assert np.allclose(material.voigt(2, "plane_strain"), C2)


def test_not_converging_raises_with_advice():
    field = affine(EPS)
    R, st, s, a, pot = build("springs", SELF, SELF, field=field)
    sw = SchwarzStatics(R, statics=st, system=s, tol=1e-12, max_iter=3, direct=True)
    with pytest.raises(ConvergenceError, match="did not converge in 3 iterations.*widen the overlap"):
        sw.solve()
    sw.destroy()


def test_geometry_errors():
    field = affine(EPS)
    with pytest.raises(ConfigError, match="too small"):
        SchwarzRegions([-3, -3], [3, 3], pad=2.0, overlap=1.5)
    # elements (size 4) larger than the overlap (1): the atom->node fit would use pad atoms
    R, st, s, a, pot = build("springs", SELF, SELF, field=field, ncell=8, overlap=1.0)
    with pytest.raises(ConfigError, match="overlap"):
        SchwarzStatics(R, statics=st, system=s)
    # pad narrower than the cutoff of LJ
    R, st, s, a, pot = build("lj", SELF, SELF, field=field)
    R2 = SchwarzRegions(R.patch_lo, R.patch_hi, pad=2.0, overlap=R.overlap + 0.51)
    with pytest.raises(ConfigError, match="pad width"):
        SchwarzStatics(R2, statics=st, system=s)


def test_affine_predictor_moves_free_atoms_with_the_pad():
    """The predictor (``predict=True``, the default) moves the free atoms by the affine fit of
    the pad's move: a homogeneous pad move (strain + rotation + translation) puts every free
    atom on the homogeneous field to round-off, where it feels no force (≤ 1e-10 of a typical
    bond force); without it the free atoms stay at rest."""
    field = affine(EPS + ROT, SHIFT)
    for predict in (True, False):
        R, st, s, a, pot = build("springs", SELF, SELF, field=field)
        sw = SchwarzStatics(R, statics=st, system=s, tol=1e-10, direct=True, predict=predict)
        rows = sw._rows(sw.links[0].pad_ids)
        sw._place_pad(field(s.x0[rows]))
        free = s.fixed == 0
        err = np.abs(s.displacements()[free, :2] - field(s.x0[free])).max()
        if predict:
            assert err <= 1e-12, err
            assert sw.atom_residual() <= 1e-10 * typical_bond_force(pot, a)
        else:
            assert np.abs(s.displacements()[free, :2]).max() == 0.0
        sw.destroy()
