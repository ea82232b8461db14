"""Lazy package exports (PEP 562): a package names what it exports and from which
submodule; the submodule is imported on first access only. Keeps ``import mscouple.x``
free of PETSc and the compiled kernels until a name that needs them is used (the patch
ranks never import petsc4py: tests/test_imports.py)."""
from __future__ import annotations

import importlib
from typing import Any, Callable, Mapping


def lazy_exports(package: str, namespace: dict, exports: Mapping[str, str]
                 ) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for *package* whose ``exports`` map name → submodule;
    a resolved name is cached in the package's *namespace* (its ``globals()``)."""

    def __getattr__(name: str) -> Any:
        try:
            module = exports[name]
        except KeyError:
            raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(list(namespace) + list(exports))

    return __getattr__, __dir__
