"""Steady heat conduction through a two-layer wall, and the layered-composite moduli.

Layers in series (k1 = 1 for x < 0.5, k2 = 4 for x > 0.5) with T = 1 at x = 0 and T = 0
at x = 1 carry the flux q = 1/(0.5/k1 + 0.5/k2) (harmonic mean: Reuss); the script checks
the computed flux (the reaction at the cold face) and the interface temperature
T = k1/(k1 + k2) to 1e-10, and exits with status 1 otherwise.

    mpirun -n 2 .venv/bin/python examples/fe_heat_composite/run.py
"""
from __future__ import annotations

import sys

import numpy as np
from mpi4py import MPI

from mscouple.continuum import FunctionSpace, HeatConduction, Mesh, ThermalMaterial


def main(comm=MPI.COMM_WORLD) -> int:
    k1, k2 = 1.0, 4.0
    mesh = Mesh.box(comm, (16, 4), simplex=True)
    V = FunctionSpace(mesh, 1)
    layer = (mesh.cell_centroids()[:, 0] > 0.5).astype(int)
    heat = HeatConduction(V, [ThermalMaterial(k1), ThermalMaterial(k2)], dt=1.0, cell_material=layer, rtol=1e-13)
    heat.add_dirichlet("xmin", 1.0)
    heat.add_dirichlet("xmax", 0.0)
    T = heat.solve_steady()
    X = mesh.coordinates[mesh.owned_nodes]
    mid = np.isclose(X[:, 0], 0.5)
    err_mid = np.abs(heat.temperature[mid] - k1 / (k1 + k2)).max() if mid.any() else 0.0
    err_mid = comm.allreduce(err_mid, op=MPI.MAX)
    # flux through the cold face = reaction (K T) summed over its nodes
    r = V.create_vec()
    heat.K.mult(T, r)
    cold = np.isclose(X[:, 0], 1.0)
    q = -comm.allreduce(float(V.owned(r)[cold, 0].sum()))
    q_exact = 1.0 / (0.5 / k1 + 0.5 / k2)
    if comm.Get_rank() == 0:
        print(f"flux {q:.12f} (Reuss {q_exact:.12f}), interface T error {err_mid:.1e}")
    r.destroy()
    heat.destroy()
    return 0 if abs(q - q_exact) < 1e-10 and err_mid < 1e-10 else 1


if __name__ == "__main__":
    sys.exit(main())
