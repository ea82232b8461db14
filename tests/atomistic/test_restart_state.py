"""Checkpoint/restart of an MD system: bit-for-bit on the same layout, energy-continuous on
another rank count (issue 7), through MDSystem.checkpoint_state/restore_state, the HDF5
checkpoint files and the ``mscouple run --restart`` command line."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile

import h5py
import numpy as np
import pytest
from mpi4py import MPI

from helpers.mpi_launch import MSCOUPLE, ROOT, clean_env, mpirun
from mscouple.atomistic.lattice import fcc
from mscouple.atomistic.potentials import LennardJones
from mscouple.atomistic.system import MDSystem
from mscouple.atomistic.thermostats import Langevin, NoseHooverChain
from mscouple.io.checkpoint import read_checkpoint, write_checkpoint

# 384 atoms, box 10.1 x 6.7 x 6.7: splits over 2, 3 and 4 ranks (sub-boxes >= rc + skin)
X, BOX = fcc(1.6796, (6, 4, 4))
N_TOTAL, K_SPLIT = 90, 37  # steps in all, and the step of the checkpoint

THERMOSTATS = {"nve": None, "langevin": Langevin(1.0, 0.5, seed=11),
               "nhc": NoseHooverChain(1.0, 0.4, length=3)}


def make(comm, thermostat=None, weights=False, use_fused=True):
    """A hot LJ crystal (T = 1: atoms cross sub-box faces, lists rebuilt with check, cell
    sorting every 2nd rebuild). ``weights``: the coupled-patch extras (energy weights,
    scaled masses, external forces, fixed atoms, a Langevin band)."""
    s = MDSystem(comm, BOX, X, LennardJones(cutoff=2.5, mode="smooth"), skin=0.3,
                 neigh_every=1, neigh_check=True, sort_every=2, thermostat=thermostat)
    s.use_fused = use_fused
    if weights:
        w = 0.6 + 0.4 * np.cos(2 * np.pi * s.x0[:, 0] / BOX.lengths[0])
        s.energy_weight[:] = w
        s.mass[:] *= w
        s.external_force[:, 1] = 0.02 * np.sin(s.x0[:, 2])
        s.fixed[:] = (s.ids % 53 == 0)
        if isinstance(thermostat, Langevin):
            s.langevin_gamma[:] = np.where(s.x0[:, 0] < 2.0, 2.0, 0.0)
    s.set_velocities(1.0, seed=5)
    return s


def _shared_dir(comm):
    return comm.bcast(tempfile.mkdtemp(prefix="mscouple-restart-") if comm.rank == 0 else None, root=0)


def _checkpoint(comm, system, path):
    arrays, _ = system.checkpoint_state()
    return write_checkpoint(comm, path, step=system.step_count, time=system.time, case="restart-test",
                            arrays=arrays)


def _assert_same_state(a, b):
    for name in ("x", "v", "image"):
        assert np.array_equal(a.gather(name), b.gather(name)), name
    assert a.step_count == b.step_count and a.rebuild_count == b.rebuild_count
    assert a.potential_energy() == b.potential_energy()
    assert np.array_equal(a.virial(), b.virial())
    assert a.langevin_heat() == b.langevin_heat() and a.nhc_energy() == b.nhc_energy()


# --------------------------------------------------------------------------- serial
@pytest.mark.parametrize("thermostat,weights,fused", [
    ("nve", False, True), ("langevin", False, True), ("nhc", False, True),
    ("langevin", True, True), ("nve", False, False)])
def test_same_layout_restart_is_bit_for_bit(tmp_path, thermostat, weights, fused):
    th = THERMOSTATS[thermostat]
    # the uninterrupted run, advanced in the same calls (the Langevin heat is summed per
    # call, so run(90) and run(37); run(53) differ in its last bit, not in the trajectory)
    ref = make(MPI.COMM_SELF, th, weights, fused)
    ref.run(K_SPLIT)
    ref.run(N_TOTAL - K_SPLIT)
    first = make(MPI.COMM_SELF, th, weights, fused)
    first.run(K_SPLIT)
    rebuilds_at_k = first.rebuild_count
    path = _checkpoint(MPI.COMM_SELF, first, tmp_path / "ck.h5")
    del first
    again = make(MPI.COMM_SELF, th, weights, fused)
    assert again.restore_state(read_checkpoint(MPI.COMM_SELF, path, case="restart-test").take)
    again.run(N_TOTAL - K_SPLIT)
    # lists were rebuilt (and atoms re-sorted) both before and after the checkpoint
    assert rebuilds_at_k >= 3 and ref.rebuild_count - rebuilds_at_k >= 3
    _assert_same_state(ref, again)


def test_redistributing_restore_is_energy_continuous(tmp_path):
    """The other-layout path (forced on one rank): owners by position, lists rebuilt,
    forces recomputed; total energy as stored to round-off, Langevin heat carried over."""
    th = THERMOSTATS["langevin"]
    first = make(MPI.COMM_SELF, th, weights=True)
    first.run(K_SPLIT)
    e0, heat0 = first.total_energy(), first.langevin_heat()
    path = _checkpoint(MPI.COMM_SELF, first, tmp_path / "ck.h5")
    again = make(MPI.COMM_SELF, th, weights=True)
    exact = again.restore_state(read_checkpoint(MPI.COMM_SELF, path).take, same_layout=False)
    assert not exact and again.step_count == K_SPLIT
    assert again.total_energy() == pytest.approx(e0, rel=1e-10)
    assert again.langevin_heat() == heat0
    np.testing.assert_array_equal(again.gather("v"), first.gather("v"))


def _run(args, cwd):
    return subprocess.run(MSCOUPLE + list(map(str, args)), cwd=cwd, capture_output=True, text=True,
                          env=clean_env(), timeout=300)


def _md_case(tmp_path, ranks, name):
    text = open(os.path.join(ROOT, "examples", "md_lj", "case.toml")).read()
    for old, new in (("every = 50\n", "every = 50\ncheckpoint_every = 200\n"),
                     ("crystal = 1", f"crystal = {ranks}")):
        assert old in text, old
        text = text.replace(old, new, 1)
    p = tmp_path / name
    p.write_text(text)
    return p


def _ckpt_arrays(path):
    out = {}
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset) and name.startswith("arrays/"):
                out[name] = obj[...]
        f.visititems(visit)
    return out


def _assert_checkpoints_equal(a, b):
    ref, got = _ckpt_arrays(a), _ckpt_arrays(b)
    assert sorted(ref) == sorted(got) and "arrays/crystal/atom/xhold/values" in ref
    for k in ref:
        assert np.array_equal(ref[k], got[k]), k


@pytest.mark.parametrize("ranks", [1, 2])
def test_cli_restart_from_middle_checkpoint_is_bit_for_bit(tmp_path, ranks):
    case = _md_case(tmp_path, ranks, "case.toml")
    if ranks == 1:
        def cli(args):
            return _run(args, tmp_path)
    else:
        def cli(args):
            return mpirun([(ranks, MSCOUPLE + list(map(str, args)))], cwd=tmp_path)
    proc = cli(["run", case, "--output", "a"])
    assert proc.returncode == 0, proc.stderr
    proc = cli(["run", case, "--output", "b", "--restart", tmp_path / "a" / "checkpoint_00000200.h5"])
    assert proc.returncode == 0, proc.stderr
    _assert_checkpoints_equal(tmp_path / "a" / "checkpoint_00000400.h5",
                              tmp_path / "b" / "checkpoint_00000400.h5")
    # the energy series from the restart step on (the restarted run records the state it
    # starts from) are the same numbers too
    rows_a = (tmp_path / "a" / "run.csv").read_text().splitlines()
    rows_b = (tmp_path / "b" / "run.csv").read_text().splitlines()
    assert rows_b[1:] == [r for r in rows_a[1:] if int(r.split(",")[0]) >= 200]


# --------------------------------------------------------------------------- parallel
@pytest.mark.mpi(min_size=2)
@pytest.mark.parametrize("thermostat,weights", [("nve", False), ("langevin", True)])
def test_same_layout_restart_is_bit_for_bit_parallel(comm, thermostat, weights):
    th = THERMOSTATS[thermostat]
    d = _shared_dir(comm)
    try:
        ref = make(comm, th, weights)
        ref.run(K_SPLIT)
        ref.run(N_TOTAL - K_SPLIT)
        first = make(comm, th, weights)
        first.run(K_SPLIT)
        moved = comm.allreduce(int(set(first.ids.tolist()) != set(make(comm).ids.tolist())))
        path = _checkpoint(comm, first, os.path.join(d, "ck.h5"))
        again = make(comm, th, weights)
        assert again.restore_state(read_checkpoint(comm, path, case="restart-test").take)
        assert np.array_equal(again.ids, first.ids)  # each rank's atoms, in its order
        again.run(N_TOTAL - K_SPLIT)
        assert moved  # atoms migrated between ranks before the checkpoint
        _assert_same_state(ref, again)
    finally:
        comm.Barrier()
        if comm.rank == 0:
            shutil.rmtree(d, ignore_errors=True)


@pytest.mark.mpi(min_size=2)
def test_restart_on_another_rank_count_is_energy_continuous(comm):
    """Written on all ranks, restored on one (every rank on its own), and written on one,
    restored on all: total energy at the restart step equal to round-off, Langevin heat
    and thermostat counters carried over, and the continuations agree."""
    th = THERMOSTATS["langevin"]
    d = _shared_dir(comm)
    try:
        par = make(comm, th, weights=True)
        par.run(K_SPLIT)
        e_par, heat_par = par.total_energy(), par.langevin_heat()
        p_par = _checkpoint(comm, par, os.path.join(d, "par.h5"))
        ser = make(MPI.COMM_SELF, th, weights=True)
        assert not ser.restore_state(read_checkpoint(MPI.COMM_SELF, p_par).take)
        assert ser.total_energy() == pytest.approx(e_par, rel=1e-10)
        assert ser.langevin_heat() == pytest.approx(heat_par, rel=1e-12)
        assert ser.step_count == K_SPLIT and ser.comm.allreduce(ser.nlocal) == ser.natoms
        # one rank writes, all read
        if comm.rank == 0:
            _checkpoint(MPI.COMM_SELF, ser, os.path.join(d, "ser.h5"))
        comm.Barrier()
        back = make(comm, th, weights=True)
        assert not back.restore_state(read_checkpoint(comm, os.path.join(d, "ser.h5")).take)
        assert back.total_energy() == pytest.approx(ser.total_energy(), rel=1e-10)
        assert comm.allreduce(back.nlocal) == back.natoms
        # the continuations stay together (Langevin noise is keyed by atom id and step)
        back.run(20)
        ser.run(20)
        np.testing.assert_allclose(back.gather("x"), ser.gather("x"), rtol=0, atol=1e-9)
        assert back.total_energy() == pytest.approx(ser.total_energy(), rel=1e-9)
    finally:
        comm.Barrier()
        if comm.rank == 0:
            shutil.rmtree(d, ignore_errors=True)


def _energies(model) -> dict:
    return {t.name: t.value for t in model.ledger_terms()}


@pytest.mark.mpi(min_size=2)
def test_patch_model_restart_on_another_rank_count(comm):
    """The run facade (PatchModel.checkpoint_arrays/restore) on the md_lj example with a box
    that splits over 2..4 ranks: a checkpoint written by the 1-rank patch and restored on
    all ranks (and back) has the same KE, PE and temperature to round-off."""
    from mscouple.config import parse_case
    from mscouple.run.models import PatchModel

    text = open(os.path.join(ROOT, "examples", "md_lj", "case.toml")).read()
    assert "hi = [6.7183," in text
    case = parse_case(text.replace("hi = [6.7183,", "hi = [10.0774,", 1), "case.toml")
    d = _shared_dir(comm)
    try:
        path = os.path.join(d, "one.h5")
        e_one = None
        if comm.rank == 0:
            one = PatchModel(MPI.COMM_SELF, case, "crystal", d, coupled=False)
            one.advance(60)
            e_one = _energies(one)
            write_checkpoint(MPI.COMM_SELF, path, step=60, time=0.3, case="md",
                             arrays=one.checkpoint_arrays())
        e_one = comm.bcast(e_one, root=0)
        many = PatchModel(comm, case, "crystal", d, coupled=False)
        many.restore(read_checkpoint(comm, path, case="md"))
        assert many.system.step_count == 60 and np.prod(many.system.decomp.grid) == comm.size
        e_many = _energies(many)
        for k, v in e_one.items():
            assert e_many[k] == pytest.approx(v, rel=1e-10), k
        # and back to one rank, from a checkpoint written by all
        many.advance(10)
        e_many = _energies(many)
        path2 = os.path.join(d, "many.h5")
        write_checkpoint(comm, path2, step=70, time=0.35, case="md", arrays=many.checkpoint_arrays())
        if comm.rank == 0:
            back = PatchModel(MPI.COMM_SELF, case, "crystal", d, coupled=False)
            back.restore(read_checkpoint(MPI.COMM_SELF, path2, case="md"))
            e_back = _energies(back)
            for k, v in e_many.items():
                assert e_back[k] == pytest.approx(v, rel=1e-10), k
    finally:
        comm.Barrier()
        if comm.rank == 0:
            shutil.rmtree(d, ignore_errors=True)
