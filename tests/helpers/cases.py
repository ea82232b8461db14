"""Run a case file through ``mscouple run`` under mpirun (a subprocess) and read its outputs."""
from __future__ import annotations

import csv
import json
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from helpers.mpi_launch import ROOT, mpirun

EXAMPLES = os.path.join(ROOT, "examples")


def example(name: str) -> str:
    return os.path.join(EXAMPLES, name, "case.toml")


def example_module(name: str, filename: str):
    """The script ``examples/<name>/<filename>`` imported as a module (the tests call its functions)."""
    import importlib.util
    path = os.path.join(EXAMPLES, name, filename)
    spec = importlib.util.spec_from_file_location(f"example_{name}_{filename[:-3]}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def all_examples() -> list[str]:
    """Every ``examples/<name>/case.toml`` of ``mscouple run``, by name (the cascade → KMC
    chain's case has its own schema and script: tests/cascade runs it)."""
    import tomllib

    def run_case_file(d: str) -> bool:
        if not os.path.isfile(example(d)):
            return False
        with open(example(d), "rb") as fh:
            return not {"cascade", "kmc"} & set(tomllib.load(fh))

    return sorted(d for d in os.listdir(EXAMPLES) if run_case_file(d))


@dataclass
class Run:
    """A finished run: its folder, ``summary.json`` and the ``run.csv`` rows (floats)."""

    out: Path
    summary: dict
    rows: list[dict]

    def col(self, name: str) -> np.ndarray:
        return np.array([r[name] for r in self.rows])

    def last_field(self, name: str = "displacement") -> np.ndarray:
        """The last continuum frame of *name*, rows sorted by node coordinates (layout-free)."""
        with h5py.File(self.out / "continuum.h5", "r") as h:
            g = h["mesh/geometry"][:]
            frames = h[f"fields/{name}"]
            u = frames[str(max(int(k) for k in frames))][:]
        return u[np.lexsort(g.T[::-1])]

    def last_atoms(self, patch: str) -> np.ndarray:
        """Positions and velocities ``[n, 6]`` of the last extxyz frame of *patch*, by atom id."""
        lines = (self.out / f"atoms_{patch}.xyz").read_text().splitlines()
        start, i = 0, 0
        while i < len(lines):  # frames: count line, comment line, count atom lines
            start = i
            i += int(lines[i]) + 2
        n = int(lines[start])
        props = re.search(r"Properties=(\S+)", lines[start + 1]).group(1).split(":")
        col, where = 0, {}
        for name, _kind, width in zip(props[::3], props[1::3], props[2::3]):
            where[name] = slice(col, col + int(width))
            col += int(width)
        rows = [ln.split() for ln in lines[start + 2: start + 2 + n]]
        ids = np.array([int(r[where["id"]][0]) for r in rows])
        vel = where["velo"] if "velo" in where else where["vel"]  # extxyz velocity column (OVITO's name)
        xv = np.array([[float(x) for x in r[where["pos"]] + r[vel]] for r in rows])
        return xv[np.argsort(ids)]

    def same_rows(self, other: "Run") -> bool:
        """Bitwise equal ledger rows (NaN equal to NaN)."""
        def key(rows):
            return [{k: ("nan" if v != v else v) for k, v in r.items()} for r in rows]

        return key(self.rows) == key(other.rows)


def run_case(case: str, out: Path, *sets: str, restart: str | None = None, timeout: int = 240) -> Run:
    """``mpirun -n <layout size> mscouple run case --output out --set …``; asserts exit 0."""
    from mscouple.config import load_case

    nranks = load_case(case, list(sets)).total_ranks
    argv = [sys.executable, "-m", "mscouple.cli.main", "run", case, "--output", str(out)]
    for s in sets:
        argv += ["--set", s]
    if restart:
        argv += ["--restart", restart]
    r = mpirun([(nranks, argv)], timeout=timeout)
    assert r.returncode == 0, f"{case} {sets}: exit {r.returncode}\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    summary = json.loads((out / "summary.json").read_text())
    with open(out / "run.csv") as fh:
        rows = [{k: float(v) for k, v in row.items()} for row in csv.DictReader(fh)]
    return Run(out, summary, rows)
