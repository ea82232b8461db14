"""HMM of a Lennard-Jones bar: the continuum asks MD cells for the stress.

Launch serially (the oracle runs on the same rank) or under MPI, where the rank layout is
the project's :class:`mscouple.layout.Layout` -- one continuum rank and a patch "oracle" of
the remaining ranks -- and stress requests go over the continuum<->patch intercommunicator
as a task farm (:class:`FarmClient` / :class:`FarmServer`)::

    python examples/hmm_bar/hmm_bar.py
    mpirun -n 3 python examples/hmm_bar/hmm_bar.py

The bar (100 lattice spacings, fixed at x = 0, end force P = 1 and a body force 1/L: strains
1.6 % to 3.2 %, well into the nonlinear range) is solved by Newton's method with one oracle
batch per iteration. The result is compared with the fully atomistic relaxed chain (criterion
1 %) and with the Cauchy–Born FE bar (identical at 0 K). Exits with status 1 if a check fails.
"""
from __future__ import annotations

import sys

import numpy as np
from mpi4py import MPI

from mscouple.atomistic.potentials import LennardJones
from mscouple.hmm.bar import atomistic_bar, solve_bar
from mscouple.hmm.cauchy_born import equilibrium_spacing
from mscouple.hmm.micro import CauchyBornModel, MDCellModel
from mscouple.hmm.oracle import FarmClient, FarmServer, LocalOracle
from mscouple.layout import Layout

N_ATOMS, N_ELEMENTS = 100, 10


def main(world) -> int:
    lj = LennardJones(cutoff=2.5, mode="smooth")
    a0 = equilibrium_spacing(lj, "chain")
    model = MDCellModel(lj, "chain", a0, 8)  # 8-atom periodic cell, 0 K
    L = N_ATOMS * a0
    P, B = 1.0, 1.0 / L
    layout = None
    if world.Get_size() == 1:
        oracle = LocalOracle(model)
    else:
        layout = Layout.build(world, 1, {"oracle": world.Get_size() - 1})
        if not layout.is_continuum:
            n = FarmServer(layout.intercomms["continuum"], model).serve()
            print(f"[oracle rank {layout.comm.Get_rank()}] evaluated {n} MD cells")
            layout.free()
            return 0
        oracle = FarmClient(layout.intercomms["oracle"], 1, 1)
    hmm = solve_bar(oracle, L, N_ELEMENTS, B, P)
    if layout is not None:
        oracle.close()
        layout.free()
    cb = solve_bar(LocalOracle(CauchyBornModel(lj, "chain", a0)), L, N_ELEMENTS, B, P)
    atom = atomistic_bar(lj, a0, N_ATOMS, B, P)
    u_at = np.interp(hmm.x, atom.x, atom.u)
    rel_atom = float(np.max(np.abs(hmm.u[1:] - u_at[1:]) / np.abs(u_at[1:])))
    rel_cb = float(np.max(np.abs(hmm.u - cb.u)) / cb.u[-1])
    print(f"HMM LJ bar: {N_ELEMENTS} elements, {hmm.iterations} Newton iterations, oracle {hmm.stats}")
    print(f"  tip displacement: HMM {hmm.u[-1]:.6f}, Cauchy-Born FE {cb.u[-1]:.6f}, atomistic {atom.u[-1]:.6f}")
    print(f"  max relative difference HMM vs atomistic: {rel_atom:.2e} (criterion 1e-2)")
    print(f"  max relative difference HMM vs Cauchy-Born: {rel_cb:.2e} (criterion 1e-10)")
    return 0 if rel_atom < 1e-2 and rel_cb < 1e-10 else 1


if __name__ == "__main__":
    world = MPI.COMM_WORLD
    try:
        rc = main(world)
    except Exception:  # noqa: BLE001 - the oracle ranks would wait forever: end every rank
        import traceback

        traceback.print_exc()
        sys.stderr.flush()
        world.Abort(1)
    rc = world.allreduce(rc, op=MPI.MAX) if world.Get_size() > 1 else rc
    sys.exit(rc)
