"""HMM of a 1D LJ bar: oracle stresses (MD cells) = Cauchy-Born FE exactly at 0 K, and both
match the fully atomistic relaxed chain under the same loads to well below 1 %."""
import numpy as np
import pytest
from mpi4py import MPI

from mscouple.atomistic.box import Box
from mscouple.atomistic.potentials import LennardJones
from mscouple.atomistic.system import MDSystem
from mscouple.hmm.bar import atomistic_bar, solve_bar
from mscouple.hmm.cauchy_born import equilibrium_spacing
from mscouple.hmm.micro import CauchyBornModel, MDCellModel
from mscouple.hmm.oracle import LocalOracle

LJ = LennardJones(cutoff=2.5, mode="smooth")
A0 = equilibrium_spacing(LJ, "chain")
N = 100
L = N * A0
P, B = 1.0, 1.0 / L  # end force and body force per length: strains 1.6 % .. 3.2 %


@pytest.fixture(scope="module")
def solutions():
    hmm = solve_bar(LocalOracle(MDCellModel(LJ, "chain", A0, 8)), L, 10, B, P)
    cb = solve_bar(LocalOracle(CauchyBornModel(LJ, "chain", A0)), L, 10, B, P)
    atom = atomistic_bar(LJ, A0, N, B, P)
    return hmm, cb, atom


def test_hmm_equals_cauchy_born_at_0K(solutions):
    hmm, cb, _ = solutions
    assert np.abs(hmm.u - cb.u).max() < 1e-10 * cb.u[-1]
    # equilibrium: element stress = P + b (L - x_mid) exactly (statically determinate)
    xm = 0.5 * (hmm.x[1:] + hmm.x[:-1])
    assert np.abs(hmm.stress - (P + B * (L - xm))).max() < 1e-10
    assert hmm.iterations <= 8  # Newton: quadratic convergence


def test_hmm_matches_fully_atomistic_chain(solutions):
    hmm, _, atom = solutions
    u_at = np.interp(hmm.x, atom.x, atom.u)
    rel = np.abs(hmm.u[1:] - u_at[1:]) / np.abs(u_at[1:])
    assert rel.max() < 0.01  # the criterion; measured 0.2 % (surface effect O(a/L))
    assert abs(hmm.u[-1] - atom.u[-1]) / atom.u[-1] < 1e-3


def test_atomistic_chain_is_in_equilibrium_in_the_md_engine(solutions):
    """The reference chain, put into the MD engine with the same external forces, feels zero net force."""
    _, _, atom = solutions
    xs = atom.positions  # loaded positions
    pos = np.zeros((N + 1, 3))
    pos[:, 0] = xs - xs.min() + 5.0
    pos[:, 1:] = 5.0
    box = Box([0, 0, 0], [xs.max() - xs.min() + 10.0, 10.0, 10.0], (False, False, False))
    s = MDSystem(MPI.COMM_SELF, box, pos, LJ, skin=0.3)
    s.compute_forces()
    f = s.gather("f")[:, 0]
    fext = np.full(N + 1, B * A0)
    fext[-1] = 0.5 * B * A0 + P
    assert np.abs(f[1:] + fext[1:]).max() < 1e-9
    assert f[0] == pytest.approx(np.sum(fext[1:]), rel=1e-12)  # internal forces sum to zero
