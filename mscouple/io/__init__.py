"""Output, checkpoints and run control.

Every collective object takes the communicator as its first argument; nothing here reads
``MPI.COMM_WORLD``. See ``docs/output.md`` for the file formats and the API.

* :mod:`.hdf5` — ``open_h5`` (atomic HDF5 files, mpio or gathered), ``run_metadata``
* :mod:`.xdmf` — ``XdmfWriter`` (continuum fields → HDF5 + XDMF for ParaView)
* :mod:`.atoms` — ``H5MDWriter``, ``ExtxyzWriter``, ``LammpsDumpWriter``
* :mod:`.series` — ``ScalarSeries`` (HDF5 table + CSV), ``read_series``
* :mod:`.checkpoint` — ``write_checkpoint``, ``read_checkpoint`` → ``Checkpoint``
* :mod:`.signals` / :mod:`.triggers` / :mod:`.progress` — ``SignalGuard``, ``Periodic``,
  ``Progress``
* :mod:`.plots` — ``plot_series`` (matplotlib Agg, imported on use)
"""
from __future__ import annotations

from .atoms import ExtxyzWriter, H5MDWriter, LammpsDumpWriter  # noqa: F401
from .checkpoint import (  # noqa: F401
    Checkpoint,
    checkpoint_path,
    latest_checkpoint,
    read_checkpoint,
    write_checkpoint,
)
from .hdf5 import H5File, case_fingerprint, h5py_is_parallel, open_h5, run_metadata  # noqa: F401
from .progress import Progress  # noqa: F401
from .series import ScalarSeries, read_series  # noqa: F401
from .signals import EXIT_STOPPED, SignalGuard  # noqa: F401
from .triggers import At, Never, Periodic, as_trigger  # noqa: F401
from .xdmf import XdmfWriter  # noqa: F401
