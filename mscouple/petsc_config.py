"""What the site's PETSc was built with, read from its ``petscconf.h`` without importing petsc4py.

``mscouple check`` must not initialise PETSc (it runs before any rank computes, on a login
node too), yet a layout that needs a parallel direct solve is refused on a PETSc without
MUMPS. The header is found as petsc4py finds its library: ``PETSC_DIR`` / ``PETSC_ARCH`` from
the environment (a site's own build, ``module load petsc``), else from petsc4py's
``lib/petsc.cfg`` (Debian's packages), located with ``importlib.util.find_spec`` (which does not
run the package)."""
from __future__ import annotations

import importlib.util
import os
import re

__all__ = ["petscconf_path", "petsc_has_package"]


def _cfg_dirs() -> tuple[str, str] | None:
    spec = importlib.util.find_spec("petsc4py")
    if spec is None or not spec.origin:
        return None
    cfg = os.path.join(os.path.dirname(spec.origin), "lib", "petsc.cfg")
    try:
        text = open(cfg).read()
    except OSError:
        return None
    vals = dict(re.findall(r"^\s*(PETSC_DIR|PETSC_ARCH)\s*=\s*(.*?)\s*$", text, flags=re.M))
    return vals.get("PETSC_DIR", ""), vals.get("PETSC_ARCH", "")


def petscconf_path() -> str | None:
    """The ``petscconf.h`` of the PETSc petsc4py loads (None when none is found)."""
    d, a = os.environ.get("PETSC_DIR", ""), os.environ.get("PETSC_ARCH", "")
    if not d:
        found = _cfg_dirs()
        if found is None:
            return None
        d, cfg_arch = found
        a = a or cfg_arch
    for cand in (os.path.join(d, a, "include", "petscconf.h"), os.path.join(d, "include", "petscconf.h")):
        if os.path.isfile(cand):
            return cand
    return None


def petsc_has_package(name: str, path: str | None = None) -> bool | None:
    """Whether PETSc was configured with external package *name* (``PETSC_HAVE_<NAME>`` in
    its ``petscconf.h``, e.g. ``"mumps"``); None when the header is not found (unknown)."""
    path = path or petscconf_path()
    if path is None:
        return None
    try:
        text = open(path).read()
    except OSError:
        return None
    return re.search(rf"^\s*#define\s+PETSC_HAVE_{re.escape(name.upper())}\s+1\b", text, flags=re.M) is not None
