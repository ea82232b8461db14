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
    # the overlapped step passes halved weights (one multiplication less per pair): the same bits
    fh = np.zeros_like(s._fall)
    ki.lj_pass(coef, s._xall, 0.5 * s._wall, 0, n, sa, la, fh, True)
    kp.ghosts_reverse(fh[:nall], n, s.decomp.gsrc)
    fh[n:nall] = 0.0
    assert np.array_equal(fh, f)
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


@pytest.mark.parametrize("times", [1, 2])
def test_kicks_without_an_external_force_equal_a_zero_one(times):
    """The overlapped step passes ``fext=None`` where the external force is zero: the band
    and interior kicks then give the bits of the same kicks with a zero array (fixed atoms
    included), and a non-zero external force is not silently skipped."""
    rng = np.random.default_rng(7)
    n = 300
    v0, f0 = rng.standard_normal((n, 3)), rng.standard_normal((n, 3))
    mass = rng.uniform(0.5, 2.0, n)
    fixed = (rng.uniform(size=n) < 0.1).astype(np.uint8)
    band = np.sort(rng.permutation(n)[:90]).astype(np.int64)
    flag = np.zeros(n, np.uint8)
    flag[band] = 1
    zero = np.zeros((n, 3))
    for want in (0, 1):
        v1, f1, v2, f2 = v0.copy(), f0.copy(), v0.copy(), f0.copy()
        ki.force_kick_select(v1, f1, zero, mass, fixed, flag, want, n, 0.01, times)
        ki.force_kick_select(v2, f2, None, mass, fixed, flag, want, n, 0.01, times)
        assert np.array_equal(v1, v2) and np.array_equal(f1, f2)
    out1, out2 = np.empty((band.size, 3)), np.empty((band.size, 3))
    v1, f1, v2, f2 = v0.copy(), f0.copy(), v0.copy(), f0.copy()
    ki.band_kick_gather(v1, f1, zero, mass, fixed, band, 0.01, times, out1)
    ki.band_kick_gather(v2, f2, None, mass, fixed, band, 0.01, times, out2)
    assert np.array_equal(v1, v2) and np.array_equal(out1, out2)
    v3, f3 = v0.copy(), f0.copy()
    ki.force_kick_select(v3, f3, np.ones((n, 3)), mass, fixed, flag, 0, n, 0.01, times)
    assert not np.array_equal(f3, f0)
    with pytest.raises(ValueError, match="fext"):
        ki.force_kick_select(v3, f3, np.ones((n - 1, 3)), mass, fixed, flag, 0, n, 0.01, times)


def test_drift_displacement_is_the_drift_then_the_list_check():
    """csrc/integrate.pyx: drift_displacement (the overlapped step's drift with its
    neighbour-list check in the same pass) moves the atoms as ``drift`` does and returns
    ``max_displacement_sq`` of the moved atoms, bit for bit; fixed atoms stay, and their
    displacement since the last build still counts."""
    from mscouple._kernels import neighbor as kn

    rng = np.random.default_rng(9)
    n = 500
    x0, v = rng.standard_normal((n, 3)), rng.standard_normal((n, 3))
    xhold = x0 + 0.01 * rng.standard_normal((n, 3))
    fixed = (rng.uniform(size=n) < 0.1).astype(np.uint8)
    x1, x2 = x0.copy(), x0.copy()
    ki.drift(x1, v, fixed, n, 0.003)
    ref = kn.max_displacement_sq(x1, xhold, n)
    got = ki.drift_displacement(x2, v, fixed, n, 0.003, xhold)
    assert np.array_equal(x1, x2) and got == ref
    assert np.array_equal(x2[fixed == 1], x0[fixed == 1]) and not np.array_equal(x2, x0)
    # a fixed atom far from its build position alone sets the maximum
    i = int(np.flatnonzero(fixed)[0])
    xhold[i] = x0[i] + 10.0
    assert ki.drift_displacement(x0.copy(), v, fixed, n, 0.003, xhold) == pytest.approx(300.0)


@pytest.mark.parametrize("times, k", [(1, 3), (2, 3), (2, 2)])
def test_fused_step_end_passes_equal_the_separate_calls(times, k):
    """The one-rank overlapped step's fused passes (csrc/integrate.pyx: kick_drift_select,
    band_add_drift) give the bits of the separate calls they replace — the interior kick
    then the next drift, the band's corrections (``rows_add``) then the drift — with the
    forces reset to zero and the list check's max displacement² over the atoms they moved;
    together they cover every atom once."""
    from mscouple._kernels import bandproj as kb
    from mscouple._kernels import neighbor as kn

    rng = np.random.default_rng(11)
    n = 400
    x0, v0, f0 = rng.standard_normal((n, 3)), rng.standard_normal((n, 3)), rng.standard_normal((n, 3))
    fext = rng.standard_normal((n, 3))
    xhold = x0 + 0.01 * rng.standard_normal((n, 3))
    mass = rng.uniform(0.5, 2.0, n)
    fixed = (rng.uniform(size=n) < 0.1).astype(np.uint8)
    band = np.sort(rng.permutation(n)[:150]).astype(np.int64)
    flag = np.zeros(n, np.uint8)
    flag[band] = 1
    corr = rng.standard_normal((band.size, k))
    dt, dtf = 0.003, 0.01
    # the separate calls
    x1, v1, f1 = x0.copy(), v0.copy(), f0.copy()
    ki.force_kick_select(v1, f1, fext, mass, fixed, flag, 0, n, dtf, times)
    kb.rows_add(v1, band, corr)
    ki.drift(x1, v1, fixed, n, dt)
    ref = kn.max_displacement_sq(x1, xhold, n)
    # fused
    x2, v2, f2 = x0.copy(), v0.copy(), f0.copy()
    d_int = ki.kick_drift_select(v2, f2, fext, mass, fixed, flag, 0, n, dtf, times, x2, dt, xhold)
    d_band = ki.band_add_drift(v2, corr, band, x2, fixed, dt, xhold, f2)
    assert np.array_equal(x2, x1) and np.array_equal(v2, v1)
    assert max(d_int, d_band) == ref
    assert not f2.any()  # reset for the next force pass
    inner = flag == 0
    assert d_int == kn.max_displacement_sq(np.ascontiguousarray(x1[inner]), np.ascontiguousarray(xhold[inner]),
                                           int(inner.sum()))
    assert np.array_equal(x2[fixed == 1], x0[fixed == 1]) and not np.array_equal(x2, x0)
