"""Validation level 6, restart part: a checkpointed MD run continues identically.

``validation_checks(6, quick, comm)`` runs a hot Lennard-Jones crystal (T = 1, atoms cross
sub-box faces, lists rebuilt, cells re-sorted) on ``comm``:

* straight through for 2k steps, and k steps → checkpoint file → a new system restored from
  it → k steps: the positions and velocities must agree **bit for bit** (same layout);
* the checkpoint read back on one rank (COMM_SELF of rank 0) — another rank count — must
  give the same kinetic and potential energy to round-off (1e-12 relative).

The files go through :func:`~mscouple.io.checkpoint.write_checkpoint` (atomic, checksummed),
exactly as ``mscouple run --restart`` uses them. Lengths/energies in LJ units.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from typing import Any

import numpy as np

__all__ = ["validation_checks"]


def _system(comm):
    from ..atomistic.lattice import fcc
    from ..atomistic.potentials import LennardJones
    from ..atomistic.system import MDSystem

    x, box = fcc(1.6796, (6, 4, 4))  # 384 atoms; sub-boxes ≥ rc + skin on up to 4 ranks
    s = MDSystem(comm, box, x, LennardJones(cutoff=2.5, mode="smooth"), skin=0.3, sort_every=2)
    s.set_velocities(1.0, seed=5)
    return s


def validation_checks(level: int, quick: bool, comm: Any) -> list:
    from mpi4py import MPI

    from ..validation.checks import Check
    from .checkpoint import read_checkpoint, write_checkpoint

    if level != 6:
        return []
    k = 20 if quick else 60
    folder = comm.bcast(tempfile.mkdtemp(prefix="mscouple-validate-") if comm.Get_rank() == 0 else None, root=0)
    try:
        a = _system(comm)
        a.run(2 * k)
        xa, va = a.gather("x"), a.gather("v")
        b = _system(comm)
        b.run(k)
        path = os.path.join(folder, "ck.h5")
        arrays, _ = b.checkpoint_state()
        write_checkpoint(comm, path, step=b.step_count, time=b.time, case="validate-6", arrays=arrays)
        ke_b, pe_b = b.kinetic_energy(), b.potential_energy()
        c = _system(comm)
        ck = read_checkpoint(comm, path, case="validate-6")
        c.restore_state(lambda name, ids: ck.take(name, ids))
        c.run(k)
        xc, vc = c.gather("x"), c.gather("v")
        diff = float(max(np.abs(xa - xc).max(), np.abs(va - vc).max()))
        other = 0.0
        if comm.Get_rank() == 0:  # the same checkpoint on another rank count (1)
            one = _system(MPI.COMM_SELF)
            ck1 = read_checkpoint(MPI.COMM_SELF, path, case="validate-6")
            one.restore_state(lambda name, ids: ck1.take(name, ids))
            other = max(abs(one.kinetic_energy() / ke_b - 1), abs(one.potential_energy() / pe_b - 1))
        other = comm.bcast(other, root=0)
    finally:
        comm.Barrier()
        if comm.Get_rank() == 0:
            shutil.rmtree(folder, ignore_errors=True)
    n = comm.Get_size()
    return [Check(6, f"MD restart on {n} ranks vs uninterrupted ({k}+{k} steps): max |Δx|, |Δv|", diff, 0.0, 0.0, "abs"),
            Check(6, f"checkpoint of {n} ranks restored on 1 rank: energy rel. diff", other, 0.0, 1e-12, "abs")]
