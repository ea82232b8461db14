"""Indenters (LAMMPS fix indent law) as force fixes of MDSystem."""
import numpy as np
import pytest
from mpi4py import MPI

from mscouple.atomistic.indenter import Indenter, hertz_load, hill_average, increment_work, indentation_modulus
from mscouple.atomistic.lattice import fcc
from mscouple.atomistic.minimize import fire
from mscouple.atomistic.potentials import LennardJones
from mscouple.atomistic.box import Box
from mscouple.atomistic.system import MDSystem

SHAPES = {
    "sphere": dict(shape="sphere", radius=2.0, stiffness=10.0, position=(0.1, -0.2, 0.3)),
    "cylinder": dict(shape="cylinder", radius=2.0, stiffness=10.0, position=(0.1, -0.2, 0.3), axis=(1, 1, 0)),
    "punch": dict(shape="punch", radius=1.5, stiffness=10.0, position=(0.1, -0.2, 0.3)),
}


def _cloud(n=60, seed=3):
    # atoms in a slab below the apex (the material side: direction (0,0,-1))
    rng = np.random.default_rng(seed)
    return np.column_stack([rng.uniform(-1.8, 1.8, n), rng.uniform(-1.8, 1.8, n), rng.uniform(-1.0, 0.3, n)])


@pytest.mark.parametrize("kind", sorted(SHAPES))
def test_forces_are_minus_energy_gradient(kind):
    """F = −∇U by central differences (h = 1e-6) to 1e-7 relative, for every shape."""
    ind = Indenter(**SHAPES[kind], depth=0.8)
    x = _cloud()
    rows, f, e = ind.evaluate(x)
    assert len(rows) > 5 and e > 0
    F = np.zeros_like(x)
    F[rows] = f
    h = 1e-6
    num = np.zeros_like(x)
    for i in range(len(x)):
        for k in range(3):
            xp, xm = x.copy(), x.copy()
            xp[i, k] += h
            xm[i, k] -= h
            num[i, k] = -(ind.evaluate(xp)[2] - ind.evaluate(xm)[2]) / (2 * h)
    assert np.max(np.abs(num - F)) < 1e-7 * np.max(np.abs(F))


@pytest.mark.parametrize("kind", sorted(SHAPES))
def test_load_is_energy_derivative_along_motion(kind):
    """P = Σ F_i·a = dU/d(depth) at fixed atoms: the reaction on the indenter is −P
    (Newton's third law and energy consistency), to 1e-7."""
    ind = Indenter(**SHAPES[kind], depth=0.4)
    x = _cloud()
    rows, f, e = ind.evaluate(x)
    P = float(f.sum(axis=0) @ ind.direction)
    h = 1e-6
    ind.depth = 0.4 + h
    ep = ind.evaluate(x)[2]
    ind.depth = 0.4 - h
    em = ind.evaluate(x)[2]
    assert P > 0
    assert (ep - em) / (2 * h) == pytest.approx(P, rel=1e-7)


@pytest.mark.parametrize("kind", sorted(SHAPES))
def test_contact_shift_moves_the_indenter_onto_the_first_atom(kind):
    """Depth 0 at first contact: after moving the indenter by ``contact_shift`` no atom is
    inside it, and 1e-6 further exactly one atom is (the first one touched)."""
    ind = Indenter(**SHAPES[kind], depth=-2.0)  # well above the slab
    x = _cloud()
    s = ind.contact_shift(x)
    assert np.isfinite(s) and s > 1.0
    ind.depth += s - 1e-9
    assert len(ind.evaluate(x)[0]) == 0
    ind.depth += 2e-6
    assert len(ind.evaluate(x)[0]) == 1
    far = Indenter(**{**SHAPES[kind], "position": (50.0, -50.0, 0.3)})  # across the cylinder too
    assert far.contact_shift(x) == np.inf


def test_increment_work_is_exact_for_the_elastic_contact_laws():
    """Σ increment_work over 5 increments of 0.5: Hertz P = c d^{3/2} (sphere) gives
    (2/5) c d^{5/2} and a linear load (punch) c d²/2, both to 1e-13; the trapezoid on the
    Hertz load is 1.2 % high over the same increments (quadrature error the rule removes)."""
    d = np.linspace(0.0, 2.5, 6)
    P = 3.0 * d ** 1.5
    W = sum(increment_work("sphere", d[k], d[k + 1], P[k], P[k + 1]) for k in range(5))
    exact = 0.4 * 3.0 * 2.5 ** 2.5
    assert W == pytest.approx(exact, rel=1e-13)
    trap = sum(increment_work("punch", d[k], d[k + 1], P[k], P[k + 1]) for k in range(5))
    assert 0.01 < trap / exact - 1 < 0.015
    Wl = sum(increment_work("punch", d[k], d[k + 1], 2 * d[k], 2 * d[k + 1]) for k in range(5))
    assert Wl == pytest.approx(2.5 ** 2, rel=1e-13)


def test_single_atom_equilibrates_where_indenter_balances_external_force():
    """One atom under a sphere, pulled towards it by f0: FIRE puts it at r = R − sqrt(f0/K)
    from the centre (K (R − r)² = f0), to 1e-7."""
    R, K, f0 = 2.0, 50.0, 3.0
    box = Box([-10, -10, -10], [10, 10, 10], (False, False, False))
    s = MDSystem(MPI.COMM_SELF, box, [[0.0, 0.0, -0.5]], LennardJones(cutoff=1.0), dt=0.01)
    ind = Indenter("sphere", radius=R, stiffness=K, position=(0, 0, 0), depth=0.0)  # centre (0,0,2)
    s.fixes.append(ind)
    s.external_force[:] = [0.0, 0.0, f0]  # towards the indenter (against its motion)
    res = fire(s, fmax=1e-10)
    assert res.converged
    r = np.linalg.norm(s.x[0] - ind.centre)
    assert r == pytest.approx(R - np.sqrt(f0 / K), abs=1e-7)
    # the load balances the external force: P = −f0 along −z ... P = F·a with a = −z
    assert ind.load() == pytest.approx(f0, rel=1e-8)


def _block(n=4):
    a = 1.5496  # near the LJ (rc 2.5, smooth) fcc lattice constant
    x, box = fcc(a, n)
    box = Box(box.lo, box.hi, (True, True, False))
    return x, box, a


def test_newton_third_law_in_a_block():
    """In a free-standing LJ block the pair forces sum to zero, so the sum of all forces
    equals the indenter's total force on the atoms (= P along the motion), to 1e-10."""
    x, box, a = _block()
    top = x[:, 2].max()
    s = MDSystem(MPI.COMM_SELF, box, x, LennardJones(cutoff=2.5, mode="smooth"))
    ind = Indenter("sphere", radius=2.0, stiffness=10.0, position=(box.hi[0] / 2, box.hi[1] / 2, top), depth=0.3)
    s.fixes.append(ind)
    s.compute_forces()
    Ftot = s.f.sum(axis=0)
    assert ind.contacts() > 0
    assert np.allclose(Ftot, ind.force(), atol=1e-10 * abs(ind.load()))
    assert ind.load() == pytest.approx(-Ftot[2], rel=1e-12)


def _energy_error(dt):
    x, box, a = _block(3)
    top = x[:, 2].max()
    s = MDSystem(MPI.COMM_SELF, box, x, LennardJones(cutoff=2.5, mode="smooth"), dt=dt)
    s.set_velocities(0.05, seed=1)
    ind = Indenter("sphere", radius=1.5, stiffness=10.0, position=(box.hi[0] / 2, box.hi[1] / 2, top), depth=0.2)
    s.fixes.append(ind)
    s.compute_forces()
    e0 = s.kinetic_energy() + s.potential_energy() + ind.energy()
    s.run(int(round(0.8 / dt)))
    assert not s._fused_last and ind.contacts() > 0
    return s.kinetic_energy() + s.potential_energy() + ind.energy() - e0, s.kinetic_energy()


def test_dynamics_with_fix_conserves_energy_and_skips_fused_loop():
    """A resting sphere on a block in velocity-Verlet MD (time 0.8): the error of
    KE + PE + U_indenter is the integrator's, second order in dt (ratio 4 ± 0.5 when dt
    halves; 2e-4 of KE at dt = 0.002); the compiled fused loop is not used with fixes."""
    e1, ke = _energy_error(0.002)
    e2, _ = _energy_error(0.001)
    assert abs(e1) < 5e-4 * ke
    assert 3.5 < e1 / e2 < 4.5


def test_hill_average_of_copper_matches_published_polycrystal_values():
    """Cu (Simmons & Wang: C11 168.4, C12 121.4, C44 75.4 GPa): the Hill average gives
    G = 47.3, E = 127.4 GPa, ν = 0.345 against the polycrystal's 48, 128 GPa, 0.34
    (e.g. Hirth & Lothe, *Theory of Dislocations*, table of isotropic constants)."""
    h = hill_average(168.4, 121.4, 75.4)
    assert h.bulk == pytest.approx(137.07, rel=1e-3)
    assert h.shear == pytest.approx(48.0, rel=0.02)
    assert h.youngs == pytest.approx(128.0, rel=0.02)
    assert h.poisson == pytest.approx(0.34, abs=0.01)
    assert indentation_modulus(168.4, 121.4, 75.4) == pytest.approx(h.youngs / (1 - h.poisson ** 2))
    # isotropic constants (C11 − C12 = 2 C44) reproduce E and ν exactly
    E, nu = 2.0, 0.25
    lam, mu = E * nu / ((1 + nu) * (1 - 2 * nu)), E / (2 * (1 + nu))
    iso = hill_average(lam + 2 * mu, lam, mu)
    assert iso.youngs == pytest.approx(E, rel=1e-12) and iso.poisson == pytest.approx(nu, rel=1e-12)
    assert hertz_load(1.0, 4.0, 3.0) == pytest.approx(8.0)
