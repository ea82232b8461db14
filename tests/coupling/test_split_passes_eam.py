"""The overlapped patch step's EAM force passes (csrc/eam_step.pyx: split_cutoff,
force_range): the phase-by-phase step's densities and embedding derivatives, then the
cutoff list split into pairs with a flagged (band) atom and the rest, pass A then pass B in
chunks with the periodic images' forces reverse-summed after each, give the one-pass
weighted EAM forces (``EAM.compute``, the loop a coupled patch takes) — bit for bit on band
atoms (their pairs all lie in pass A, in the one-pass order, through the same compiled
loop), to 1e-13 of the largest force elsewhere (interior atoms next to the band sum their
pairs in another order) — for the Cu table and a two-element alloy table, and every pair
of the cutoff list lands in exactly one pass."""
import os

import numpy as np
import pytest
from mpi4py import MPI

from mscouple._kernels import eam_step as ke
from mscouple._kernels import pair as kp
from mscouple.atomistic.eam import EAM
from mscouple.atomistic.lattice import fcc
from mscouple.atomistic.system import MDSystem

CU = os.path.join(os.path.dirname(__file__), "..", "data", "Cu_zhou04.eam.alloy")


def alloy(rc: float = 5.0, n: int = 2001) -> EAM:
    """A smooth two-element analytic EAM (all functions vanish at rc), tabulated (the table
    of tests/atomistic/test_eam_fused.py)."""
    r = np.arange(n) * rc / (n - 1) * 1.001
    p = np.arange(n) * 0.02
    cut = np.clip(rc - r, 0, None)
    rho = [cut ** 4 / rc ** 3, 1.4 * cut ** 4 / rc ** 3 * np.exp(-0.2 * r)]
    F = [-np.sqrt(p + 1.0), -1.3 * np.sqrt(p + 0.5) + 0.01 * p]
    z = [[r * 2.0 * cut ** 3 / rc ** 3, r * 1.5 * cut ** 3 / rc ** 3],
         [r * 1.5 * cut ** 3 / rc ** 3, r * 2.5 * cut ** 3 / rc ** 3]]
    return EAM(["A", "B"], F, 0.02, rho, z, r[1], rc, masses=[27.0, 58.7])


@pytest.mark.parametrize("kind", ["cu", "alloy"])
def test_band_first_eam_passes_equal_the_one_pass_forces(kind):
    rng = np.random.default_rng(5)
    if kind == "cu":
        pot, a = EAM.from_file(CU), 3.615
    else:
        pot, a = alloy(), 4.05
    x, box = fcc(a, 5)  # 500 atoms, periodic: ghosts are images on this rank
    x = x + 0.08 * rng.standard_normal(x.shape)
    types = None if kind == "cu" else rng.integers(0, 2, len(x)).astype(np.int32)
    masses = 63.546 if kind == "cu" else pot.masses
    s = MDSystem(MPI.COMM_SELF, box, x, pot, types=types, masses=masses, units="metal", skin=0.5)
    xs = np.asarray(s.x)
    w = np.where(xs[:, 0] < 2 * a, 0.1 + 0.8 * xs[:, 0] / (2 * a), 1.0)  # a band along one face
    s.energy_weight[:] = w
    s.compute_forces(energy=False, virial=False)  # the phase-by-phase (one-pass) weighted step
    n, nall = s.nlocal, s.nlocal + s.nghost
    assert s.nghost > 0 and s._weights_active
    ref = s.f.copy()
    band = np.flatnonzero(w < 1.0)
    flag = np.zeros(nall, np.uint8)
    flag[band] = 1
    flag[n:nall] = np.isin(s.ghost_ids, s.ids[band])
    # the overlapped step's preparation: densities, ghost sums, embedding, forward
    rho, fp = np.zeros(nall), np.zeros(nall)
    m = int(s._nstart[n])
    cs, cj, cr = np.zeros(n + 1, np.int32), np.zeros(m, np.int32), np.zeros(m)
    inv_dr, inv_drho = 1.0 / pot.dr, 1.0 / pot.drho
    ke.density(s._xall, s._tall, n, nall, s._nstart, s._nlist, pot.rz_tab, pot.f_tab, inv_dr,
               inv_drho, pot.cutoff ** 2, rho, cs, cj, cr)
    kp.ghosts_reverse(rho, n, s.decomp.gsrc)
    ke.embed(rho, s._tall, s._wall, n, pot.rz_tab, pot.f_tab, inv_drho, fp, None)
    s.decomp.forward(fp)
    la = (np.zeros(n + 1, np.int32), np.zeros(m, np.int32), np.zeros(m))
    lb = (np.zeros(n + 1, np.int32), np.zeros(m, np.int32), np.zeros(m))
    na, nb = ke.split_cutoff(n, cs, cj, cr, flag, *la, *lb)
    assert na + nb == cs[n] and na > 1000 and nb > 1000
    for i in rng.choice(n, 20, replace=False):  # each atom's pairs, split, in order
        mine = cj[cs[i]:cs[i + 1]]
        in_a = (flag[i] == 1) | (flag[mine] == 1)
        assert np.array_equal(la[1][la[0][i]:la[0][i + 1]], mine[in_a])
        assert np.array_equal(lb[1][lb[0][i]:lb[0][i + 1]], mine[~in_a])
        assert np.array_equal(la[2][la[0][i]:la[0][i + 1]], cr[cs[i]:cs[i + 1]][in_a])
    f = np.zeros_like(s._fall)
    ke.force_range(s._xall, s._tall, s._wall, 0, n, *la, fp, pot.rz_tab, pot.f_tab, inv_dr, f)
    kp.ghosts_reverse(f[:nall], n, s.decomp.gsrc)
    f[n:nall] = 0.0
    assert np.array_equal(f[band], ref[band])  # band forces complete, bit for bit, after pass A
    for i0 in range(0, n, 97):  # interior pairs in chunks, unweighted (all their weights are 1)
        ke.force_range(s._xall, s._tall, None, i0, min(n, i0 + 97), *lb, fp, pot.rz_tab,
                       pot.f_tab, inv_dr, f)
    kp.ghosts_reverse(f[:nall], n, s.decomp.gsrc)
    assert np.array_equal(f[band], ref[band])
    scale = np.abs(ref).max()
    assert np.abs(f[:n] - ref).max() <= 1e-13 * scale
    # pass B matters: without it the interior forces are far off
    assert np.abs(ref[w == 1.0]).max() > 1e-3 * scale


def test_applies_picks_the_overlapped_step_for_one_rank_lj_and_eam_only():
    """``OverlappedPatchStep.applies``: one-rank single-type LJ and EAM (one element or an
    alloy) patches over an intercommunicator take the overlapped step; a thermostat on the
    patch, a Morse or a two-type LJ potential, more than 3 band components, a local
    (same-rank) exchange or band routing on a one-rank patch keep the phase-by-phase one
    (patches on several ranks with their routing take the overlapped step too:
    tests/coupling/test_overlapped_multirank.py)."""
    from types import SimpleNamespace

    from mscouple.atomistic.potentials import LennardJones, Morse
    from mscouple.atomistic.thermostats import Langevin
    from mscouple.coupling.overlap import OverlappedPatchStep as O

    x, box = fcc(3.615, 3)

    def system(pot, **kw):
        return MDSystem(MPI.COMM_SELF, box, x, pot, units="metal", skin=0.5, **kw)

    def cp(**kw):
        ex = SimpleNamespace(intercomm=object(), side="patch")
        base = dict(ex=ex, routing=None, k=3)
        base.update(kw)
        return SimpleNamespace(**base)

    cu = system(EAM.from_file(CU), masses=63.546)
    types = (np.arange(len(x)) % 2).astype(np.int32)
    al = system(alloy(), types=types, masses=alloy().masses)
    lj = system(LennardJones(cutoff=5.0, epsilon=0.4, sigma=2.3, mode="shift"), masses=63.5)
    assert O.applies(cu, cp()) and O.applies(al, cp()) and O.applies(lj, cp())
    assert not O.applies(cu, cp(k=4))
    assert not O.applies(cu, cp(routing=object()))
    assert not O.applies(cu, cp(ex=SimpleNamespace(intercomm=None, side="patch")))
    assert not O.applies(cu, cp(), indenter=object())
    lj2 = system(LennardJones(ntypes=2, cutoff=5.0, epsilon=0.4, sigma=2.3, mode="shift"),
                 types=types, masses=63.5)
    assert not O.applies(lj2, cp())
    mo = system(Morse(D0=0.3, alpha=1.4, r0=2.5, cutoff=5.0), masses=63.5)
    assert not O.applies(mo, cp())
    cu.thermostat = Langevin(temperature=300.0, damping=0.1, seed=3)
    assert not O.applies(cu, cp())
