"""The overlapped patch step's force passes (csrc/integrate.pyx: split_pairs, lj_pass): a
half neighbour list split into pairs with a flagged (band) atom and the rest gives, pass A
then pass B with the periodic images' forces reverse-summed after each, the one-pass
weighted forces — bit for bit on band atoms (their pairs all lie in pass A, in the one-pass
order), to round-off elsewhere — and every pair lands in exactly one pass."""
import numpy as np
import pytest
from mpi4py import MPI

from mscouple._kernels import integrate as ki
from mscouple._kernels import pair as kp
from mscouple.atomistic.lattice import fcc
from mscouple.atomistic.potentials import LennardJones
from mscouple.atomistic.system import MDSystem


def test_band_first_passes_equal_the_one_pass_forces():
    rng = np.random.default_rng(3)
    x, box = fcc(1.56, 5)  # 500 atoms, periodic: ghosts are images on this rank
    x = x + 0.05 * rng.standard_normal(x.shape)
    s = MDSystem(MPI.COMM_SELF, box, x, LennardJones(cutoff=2.5, mode="shift"), skin=0.3)
    xs = np.asarray(s.x)
    w = np.where(xs[:, 0] < 3.0, 0.1 + 0.8 * xs[:, 0] / 3.0, 1.0)  # a band along one face
    s.energy_weight[:] = w
    s.compute_forces(energy=False, virial=False)  # the one-pass weighted loop
    n, nall = s.nlocal, s.nlocal + s.nghost
    assert s.nghost > 0 and s._weights_active
    ref = s.f.copy()
    band = np.flatnonzero(w < 1.0)
    flag = np.zeros(nall, np.uint8)
    flag[band] = 1
    flag[n:nall] = np.isin(s.ghost_ids, s.ids[band])
    m = int(s._nstart[n])
    sa, la, sb, lb = np.zeros(n + 1, np.int32), np.zeros(m, np.int32), np.zeros(n + 1, np.int32), np.zeros(m, np.int32)
    na, nb = ki.split_pairs(n, s._nstart, s._nlist, flag, sa, la, sb, lb)
    assert na + nb == m and na > 1000 and nb > 1000
    for i in rng.choice(n, 20, replace=False):  # each atom's neighbours, split, in order
        mine = s._nlist[s._nstart[i]:s._nstart[i + 1]]
        band_pair = (flag[i] == 1) | (flag[mine] == 1)
        assert np.array_equal(la[sa[i]:sa[i + 1]], mine[band_pair])
        assert np.array_equal(lb[sb[i]:sb[i + 1]], mine[~band_pair])
    f = np.zeros_like(s._fall)
    coef = s.potential.coef
    ki.lj_pass(coef, s._xall, s._wall, 0, n, sa, la, f)
    kp.ghosts_reverse(f[:nall], n, s.decomp.gsrc)
    f[n:nall] = 0.0
    assert np.array_equal(f[band], ref[band])  # band forces complete after pass A
    for i0 in range(0, n, 97):  # interior pairs in chunks, unweighted (all their weights are 1)
        ki.lj_pass(coef, s._xall, None, i0, min(n, i0 + 97), sb, lb, f)
    kp.ghosts_reverse(f[:nall], n, s.decomp.gsrc)
    assert np.array_equal(f[band], ref[band])
    scale = np.abs(ref).max()
    assert np.abs(f[:n] - ref).max() <= 1e-13 * scale
    # pass B matters: without it the interior forces are far off
    assert np.abs(ref[w == 1.0]).max() > 1e-3 * scale


@pytest.mark.parametrize("times, k", [(1, 3), (2, 3), (2, 1)])
def test_band_kick_gather_equals_the_flagged_kick_and_the_gather(times, k):
    """The overlapped step's one-pass band kick + gather (csrc/integrate.pyx:
    band_kick_gather) gives the bits of force_kick_select(want=1) followed by the row gather,
    fixed atoms and an external force included."""
    from mscouple._kernels import bandproj as kb
    from mscouple._kernels import integrate as ki

    rng = np.random.default_rng(5)
    n = 400
    v0, f0, fext = rng.standard_normal((n, 3)), rng.standard_normal((n, 3)), rng.standard_normal((n, 3))
    mass = rng.uniform(0.5, 2.0, n)
    fixed = (rng.uniform(size=n) < 0.1).astype(np.uint8)
    band = np.sort(rng.permutation(n)[:150]).astype(np.int64)
    flag = np.zeros(n, np.uint8)
    flag[band] = 1
    v1, f1 = v0.copy(), f0.copy()
    ki.force_kick_select(v1, f1, fext, mass, fixed, flag, 1, n, 0.01, times)
    ref = np.empty((band.size, k))
    kb.rows_gather(v1, band, ref)
    v2, f2, out = v0.copy(), f0.copy(), np.empty((band.size, k))
    ki.band_kick_gather(v2, f2, fext, mass, fixed, band, 0.01, times, out)
    assert np.array_equal(v2, v1) and np.array_equal(f2, f1) and np.array_equal(out, ref)
    assert not np.array_equal(v2[band], v0[band])  # the kick happened
