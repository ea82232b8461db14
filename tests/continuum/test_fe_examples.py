"""The continuum examples run and check their own numbers (serially here)."""
from __future__ import annotations

import importlib.util
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _load(name):
    path = os.path.join(ROOT, "examples", name, "run.py")
    spec = importlib.util.spec_from_file_location(f"example_{name}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("name", ["fe_bar_pulse", "fe_heat_composite"])
def test_example_checks_pass(serial_comm, name):
    assert _load(name).main(serial_comm) == 0
