"""Launch mpirun from a serial test, with a clean environment (no inherited MPI state)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MSCOUPLE = [sys.executable, "-m", "mscouple.cli.main"]


def clean_env() -> dict:
    env = {k: v for k, v in os.environ.items()
           if not (k.startswith("OMPI_") or k.startswith("PMIX_") or k.startswith("PMI_"))}
    env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_rmaps_base_oversubscribe="1", OMPI_MCA_btl_vader_single_copy_mechanism="none",
               OMP_NUM_THREADS="1", PYTHONPATH=ROOT)
    return env


def mpirun(blocks, timeout=120, cwd=None):
    """blocks: list of (nranks, argv). Returns CompletedProcess (text)."""
    exe = shutil.which("mpirun") or shutil.which("mpiexec")
    cmd = [exe, "--oversubscribe"]
    for i, (n, argv) in enumerate(blocks):
        if i:
            cmd.append(":")
        cmd += ["-n", str(n)] + list(argv)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=clean_env(), cwd=cwd or ROOT)
