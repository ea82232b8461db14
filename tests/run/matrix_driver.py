"""Runs several cases with ``mscouple run`` in one MPI job (one interpreter per rank, so
the start-up — imports, PETSc — is paid once): ``mpirun -n 2 python matrix_driver.py
CASE::OUT ...``. Prints ``RESULT {case: exit code}`` on rank 0. Used by test_matrix.py."""
from __future__ import annotations

import json
import sys

from mpi4py import MPI

from mscouple.cli.main import main

if __name__ == "__main__":
    codes = {}
    for spec in sys.argv[1:]:
        case, out = spec.split("::")
        codes[case] = main(["run", case, "--output", out, "--overwrite"])
    if MPI.COMM_WORLD.Get_rank() == 0:
        print("RESULT " + json.dumps(codes), flush=True)
