"""Coupling studies: expand a base case over parameter lists, run, collect one table.

A study file names a base case and, under ``[parameters]``, lists of values for dotted key
paths of the case (``"handshake.width" = [2.0, 4.0]``). The cases are the full product of
the lists (or, with ``combine = "zip"``, the lists taken side by side). Each case is
validated like any case file *before* anything runs, written to ``<output>/case_NNN/``,
run (in sequence locally, or as a Slurm job array), and each run's ``summary.json``
is collected into ``<output>/study.csv`` plus a PNG plot.
"""
from __future__ import annotations

import copy
import csv
import io
import itertools
import json
import os
import shlex
import tomllib
from dataclasses import dataclass, field
from typing import Any

from .config import parse_case
from .errors import ConfigError
from .io.commit import atomic_path, commit_text as atomic_write_text


@dataclass
class StudyCase:
    index: int
    values: dict[str, Any]
    text: str
    directory: str

    @property
    def case_path(self) -> str:
        return os.path.join(self.directory, "case.toml")


@dataclass
class Study:
    source: str
    base: str
    parameters: dict[str, list]
    combine: str = "product"
    ranks: int = 0
    output: str = "study"
    collect: list[str] = field(default_factory=list)
    plot_x: str = ""
    plot_y: list[str] = field(default_factory=list)
    cases: list[StudyCase] = field(default_factory=list)


_KEYS = {"base", "parameters", "combine", "ranks", "output", "collect", "plot"}


def _set_path(table: dict, dotted: str, value: Any, where: str) -> None:
    keys = dotted.split(".")
    cur = table
    for k in keys[:-1]:
        nxt = cur.get(k)
        if nxt is None:
            nxt = cur[k] = {}
        if not isinstance(nxt, dict):
            raise ConfigError(f"{where}: parameters.\"{dotted}\": '{k}' is not a table in the base case")
        cur = nxt
    cur[keys[-1]] = value


def load_study(path: str) -> Study:
    """Read, expand and validate a study file (every case validated, nothing run)."""
    try:
        with open(path, "rb") as fh:
            table = tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read study file ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    for k in table:
        if k not in _KEYS:
            import difflib

            near = difflib.get_close_matches(k, sorted(_KEYS), n=1)
            raise ConfigError(f"{path}: unknown key '{k}'" + (f" (did you mean '{near[0]}'?)" if near else ""))
    here = os.path.dirname(os.path.abspath(path))
    base = table.get("base")
    if not isinstance(base, str):
        raise ConfigError(f"{path}: base = {base!r}: expected the path of a case file")
    base_path = base if os.path.isabs(base) else os.path.join(here, base)
    if not os.path.isfile(base_path):
        raise ConfigError(f"{path}: base = {base!r}: expected an existing case file (looked for {base_path})")
    params = table.get("parameters")
    if not isinstance(params, dict) or not params:
        raise ConfigError(f"{path}: [parameters]: expected a table of 'key.path' = [values, ...]")
    for k, v in params.items():
        if not isinstance(v, list) or not v:
            raise ConfigError(f"{path}: parameters.\"{k}\" = {v!r}: expected a non-empty list of values")
    combine = table.get("combine", "product")
    if combine not in ("product", "zip"):
        raise ConfigError(f"{path}: combine = {combine!r}: expected 'product' or 'zip'")
    if combine == "zip" and len({len(v) for v in params.values()}) != 1:
        raise ConfigError(f"{path}: combine = 'zip': expected parameter lists of equal length")
    ranks = table.get("ranks", 0)
    if isinstance(ranks, bool) or not isinstance(ranks, int) or ranks < 0:
        raise ConfigError(f"{path}: ranks = {ranks!r}: expected ranks per case (0: the base case's layout)")
    out = table.get("output", "study")
    out = out if os.path.isabs(out) else os.path.join(here, out)
    plot = table.get("plot", {})
    if not isinstance(plot, dict):
        raise ConfigError(f"{path}: plot = {plot!r}: expected a table {{ x = 'key', y = ['quantity'] }}")
    plot_x = plot.get("x", next(iter(params)))
    plot_y = plot.get("y", table.get("collect", []))
    if isinstance(plot_y, str):
        plot_y = [plot_y]
    st = Study(path, base_path, params, combine, ranks, out, list(table.get("collect", [])), plot_x, list(plot_y))

    try:
        with open(base_path, "rb") as fh:
            base_table = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{base_path}: not valid TOML: {exc} (the base case of {path})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{base_path}: expected a UTF-8 TOML text file (the base case of {path})") from None
    import tomli_w

    from .check import check
    from .layout import RankPlan

    names = list(params)
    combos = itertools.product(*params.values()) if combine == "product" else zip(*params.values())
    for i, combo in enumerate(combos):
        values = dict(zip(names, combo))
        t = copy.deepcopy(base_table)
        for k, v in values.items():
            _set_path(t, k, v, path)
        # keep relative file references of the base case valid from the case folder
        text = tomli_w.dumps(t)
        cdir = os.path.join(out, f"case_{i:03d}")
        label = ", ".join(f"{k}={v}" for k, v in values.items())
        try:
            case = parse_case(text, f"{path} case {i} ({label})")
            # the whole pre-flight check of `mscouple run` (stability, geometry, layout,
            # memory), before any case is launched
            check(case, RankPlan.from_counts(case.layout.continuum, case.layout.patches))
        except ConfigError as exc:
            raise ConfigError(str(exc)) from None
        if st.ranks and st.ranks < case.total_ranks:
            raise ConfigError(f"{path}: ranks = {st.ranks}: case {i} ({label}) needs {case.total_ranks} "
                              "ranks by its [layout]; raise ranks or drop it (0: each case's own layout)")
        st.cases.append(StudyCase(i, values, text, cdir))
        st.ranks = st.ranks or case.total_ranks
    return st


def write_cases(st: Study) -> None:
    for c in st.cases:
        os.makedirs(c.directory, exist_ok=True)
        header = "# generated by mscouple study from " + os.path.relpath(st.source, c.directory) + "\n"
        header += "".join(f"# {k} = {json.dumps(v)}\n" for k, v in c.values.items())
        atomic_write_text(c.case_path, header + c.text)


def run_command(st: Study, c: StudyCase, launcher: str) -> list[str]:
    import sys

    cmd = shlex.split(launcher.format(n=st.ranks)) if st.ranks > 1 or "{n}" not in launcher else []
    # --overwrite: a re-run replaces the case's earlier outputs (its summary.json included),
    # so a failed run can never leave the previous run's row behind
    return cmd + [sys.executable, "-m", "mscouple.cli.main", "run", c.case_path, "--output", c.directory,
                  "--overwrite"]


# what an MPI launcher sets for its own processes (Open MPI's ORTE/PMIx, MPICH's Hydra, Slurm's
# PMI): rank, size, daemon URIs, session directories, and the MCA settings mpirun injects
_LAUNCH_STATE = ("OMPI_COMM_WORLD_", "OMPI_UNIVERSE_SIZE", "OMPI_APP_CTX_", "OMPI_NUM_APP_CTX",
                 "OMPI_FIRST_RANKS", "OMPI_COMMAND", "OMPI_ARGV", "OMPI_FILE_LOCATION",
                 "OMPI_MCA_orte_", "OMPI_MCA_ess", "OMPI_MCA_pmix", "OMPI_MCA_initial_wdir",
                 "OMPI_MCA_mpi_oversubscribe", "OMPI_MCA_shmem_RUNTIME_QUERY_hint",
                 "OMPI_MCA_mpi_yield_when_idle", "PMIX_", "PMI_", "HYDRA_", "MPI_LOCALNRANKS",
                 "MPI_LOCALRANKID")


def launch_env(environ: dict | None = None) -> dict:
    """The environment for launching a case: the parent's, less the state an MPI launcher
    left for *this* process (rank, size, daemon URIs, PMIx server, …). An inner ``mpirun``
    that inherits it believes it is part of the parent job and fails; the user's own
    settings (other ``OMPI_MCA_*``, the run-as-root switches) are kept."""
    env = dict(os.environ if environ is None else environ)
    return {k: v for k, v in env.items() if not k.startswith(_LAUNCH_STATE)}


def slurm_array_script(st: Study, time: str = "01:00:00") -> str:
    n = len(st.cases)
    return f"""#!/bin/bash
#SBATCH --job-name=mscouple-study
#SBATCH --array=0-{n - 1}
#SBATCH --ntasks={st.ranks}
#SBATCH --time={time}
#SBATCH --output={st.output}/case_%3a/slurm-%A_%a.out
set -euo pipefail
case_dir=$(printf '{st.output}/case_%03d' "$SLURM_ARRAY_TASK_ID")
srun mscouple run "$case_dir/case.toml" --output "$case_dir" --overwrite
# when all tasks have finished: mscouple study {st.source} --collect
"""


def collect(st: Study, exit_codes: dict[int, int] | None = None) -> tuple[str, list[dict]]:
    """Gather each case's summary.json into ``study.csv``; return its path and rows.
    ``exit_codes`` (case index → exit status of this invocation's launch): a case whose run
    failed is reported as failed whatever lies in its folder."""
    rows = []
    exit_codes = exit_codes or {}
    for c in st.cases:
        row: dict[str, Any] = {"case": c.index}
        row.update({k: _scalar(v) for k, v in c.values.items()})
        summ = os.path.join(c.directory, "summary.json")
        status = "missing"
        if os.path.isfile(summ):
            with open(summ) as fh:
                data = json.load(fh)
            status = data.get("status", "ok")
            keys = st.collect or sorted(k for k, v in data.items() if isinstance(v, (int, float)))
            for k in keys:
                row[k] = data.get(k, "")
        rc = exit_codes.get(c.index, 0)
        if rc not in (0,):
            row = {"case": c.index, **{k: _scalar(v) for k, v in c.values.items()}}
            status = f"failed (exit {rc})"
        row["status"] = status
        rows.append(row)
    cols: list[str] = []
    for r in rows:
        for k in r:
            if k not in cols:
                cols.append(k)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols)
    w.writeheader()
    for r in rows:
        w.writerow(r)
    path = os.path.join(st.output, "study.csv")
    atomic_write_text(path, buf.getvalue())
    return path, rows


def _scalar(v):
    return json.dumps(v) if isinstance(v, (list, dict)) else v


def plot(st: Study, rows: list[dict]) -> str | None:
    """Quantities vs the first (or chosen) parameter, one line per other-parameter combo."""
    ys = [y for y in (st.plot_y or st.collect) if any(isinstance(r.get(y), (int, float)) for r in rows)]
    if not ys:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = st.plot_x
    others = [k for k in st.parameters if k != x]
    fig, axes = plt.subplots(1, len(ys), figsize=(5 * len(ys), 4), squeeze=False)
    for ax, y in zip(axes[0], ys):
        groups: dict[tuple, list] = {}
        for r in rows:
            if isinstance(r.get(y), (int, float)):
                groups.setdefault(tuple(r[o] for o in others), []).append((r[x], r[y]))
        for key, pts in groups.items():
            pts.sort(key=lambda p: p[0])
            label = ", ".join(f"{o}={v}" for o, v in zip(others, key)) or None
            ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-", label=label)
        ax.set_xlabel(x)
        ax.set_ylabel(y)
        if others:
            ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    path = os.path.join(st.output, "study.png")
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=110, format="png")
    finally:
        plt.close(fig)
    return path
