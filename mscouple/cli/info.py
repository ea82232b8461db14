"""``mscouple info``: what this installation is built on, as a user reports it in a bug."""
from __future__ import annotations

import importlib
import platform
import sys
from typing import Any

from .. import __version__


def _version(mod: str) -> str:
    try:
        m = importlib.import_module(mod)
    except Exception as exc:  # noqa: BLE001
        return f"not available ({exc.__class__.__name__})"
    return getattr(m, "__version__", "?")


def collect_info(comm: Any) -> list[str]:
    """Lines describing versions, parallel capabilities, kernel flags and the rank count."""
    from mpi4py import MPI

    lines = [
        f"mscouple    {__version__}",
        f"python      {platform.python_version()} ({sys.executable})",
        f"numpy       {_version('numpy')}",
        f"mpi4py      {_version('mpi4py')}",
    ]
    lib = MPI.Get_library_version().strip().splitlines()[0]
    lines.append(f"MPI         {lib} (standard {'.'.join(map(str, MPI.Get_version()))})")
    try:
        import petsc4py

        petsc4py.init(sys.argv[:1])
        from petsc4py import PETSc

        v = ".".join(map(str, PETSc.Sys.getVersion()))
        cfg = petsc4py.get_config()
        lines.append(f"PETSc       {v} (PETSC_DIR={cfg.get('PETSC_DIR', '?')}, PETSC_ARCH={cfg.get('PETSC_ARCH', '') or '-'})")
        lines.append(f"petsc4py    {petsc4py.__version__}")
        sc = PETSc.ScalarType
        lines.append(f"PETSc types scalar={sc.__name__ if hasattr(sc, '__name__') else sc}, int={PETSc.IntType.__name__}")
    except Exception as exc:  # noqa: BLE001
        lines.append(f"PETSc       not available ({exc})")
    try:
        import h5py

        par = "parallel (MPI-IO)" if h5py.get_config().mpi else "serial (output gathered to rank 0)"
        lines.append(f"h5py        {h5py.__version__}, HDF5 {h5py.version.hdf5_version}, {par}")
    except Exception as exc:  # noqa: BLE001
        lines.append(f"h5py        not available ({exc})")
    try:
        from .._kernels import _buildinfo

        lines.append(f"kernels     CFLAGS {' '.join(_buildinfo.CFLAGS)}")
    except ImportError:
        lines.append("kernels     not built (run 'make setup' or 'pip install .')")
    try:
        import pkgutil

        from .. import _kernels

        mods = sorted(m.name for m in pkgutil.iter_modules(_kernels.__path__) if not m.name.startswith("_"))
        lines.append(f"            compiled: {', '.join(mods) or 'none'}")
    except Exception:  # noqa: BLE001
        pass
    lines.append(f"ranks       {comm.Get_size()} (this is rank {comm.Get_rank()})")
    return lines
