"""Case-file validation: every mistake is one clear line, exit code 2, nothing written."""
from __future__ import annotations

import glob
import os
import subprocess
import sys

import pytest

from mscouple.config import load_case, parse_case
from mscouple.errors import ConfigError

HERE = os.path.dirname(__file__)
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
BROKEN = sorted(glob.glob(os.path.join(HERE, "broken_cases", "*.toml")))
def _sections(path: str) -> set:
    import tomllib

    with open(path, "rb") as fh:
        return set(tomllib.load(fh))


def _is_train_spec(path: str) -> bool:
    """Training files of `mscouple train` (`mscouple.mlip.spec.load_spec`)."""
    return {"data", "fit"} <= _sections(path)


def _is_run_case(path: str) -> bool:
    """Case files of `mscouple run` with the run schema (the cascade → KMC chain has its own
    schema and loader, `mscouple.cascade.case.load_case`; training files are not cases)."""
    return not ({"cascade", "kmc"} & _sections(path)) and not _is_train_spec(path)


ALL = sorted(glob.glob(os.path.join(ROOT, "examples", "**", "*.toml"), recursive=True))
GOOD = [p for p in ALL if _is_run_case(p)]
TRAIN = [p for p in ALL if _is_train_spec(p)]
CHAIN = sorted(set(ALL) - set(GOOD) - set(TRAIN))


def expected_message(path: str) -> str:
    with open(path) as fh:
        first = fh.readline()
    assert first.startswith("# expect: ")
    return first[len("# expect: "):].strip()


def test_at_least_a_dozen_broken_cases():
    assert len(BROKEN) >= 12


@pytest.mark.parametrize("path", BROKEN, ids=[os.path.basename(p)[:-5] for p in BROKEN])
def test_broken_case_names_key_and_expectation(path):
    with pytest.raises(ConfigError) as exc:
        load_case(path)
    msg = str(exc.value)
    assert msg.startswith(path + ":"), msg  # names the file
    assert expected_message(path) in msg, msg  # names the key path / value / expectation
    assert "\n" not in msg


@pytest.mark.parametrize("path", BROKEN[:4] + BROKEN[-2:], ids=lambda p: os.path.basename(p)[:-5])
def test_cli_check_exit_code_two_one_line_no_traceback(path, tmp_path):
    out = tmp_path / "out"
    env = dict(os.environ, PYTHONPATH=ROOT)
    proc = subprocess.run([sys.executable, "-m", "mscouple.cli.main", "check", path],
                          capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
    assert proc.returncode == 2
    lines = [l for l in proc.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ") and "Traceback" not in proc.stderr
    assert not out.exists() and list(tmp_path.iterdir()) == []  # nothing created


def test_run_with_broken_case_creates_no_output(tmp_path):
    bad = tmp_path / "bad.toml"
    text = open(BROKEN[0]).read().replace("[run]", '[output]\ndirectory = "results"\n[run]')
    bad.write_text(text)
    proc = subprocess.run([sys.executable, "-m", "mscouple.cli.main", "run", str(bad)],
                          capture_output=True, text=True, cwd=tmp_path,
                          env=dict(os.environ, PYTHONPATH=ROOT), timeout=120)
    assert proc.returncode == 2
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize("path", GOOD, ids=lambda p: os.path.relpath(p, ROOT))
def test_example_cases_are_valid(path):
    case = load_case(path)
    assert case.total_ranks >= 1
    assert case.run.dt > 0


@pytest.mark.parametrize("path", CHAIN, ids=lambda p: os.path.relpath(p, ROOT))
def test_cascade_chain_cases_are_valid(path):
    from mscouple.cascade.case import load_case as load_chain

    load_chain(path)


@pytest.mark.parametrize("path", TRAIN, ids=lambda p: os.path.relpath(p, ROOT))
def test_training_files_are_valid(path):
    from mscouple.mlip.spec import load_spec

    load_spec(path)


def test_typed_values_and_defaults():
    case = parse_case(
        """
units = "metal"
[layout]
continuum = 0
patches = { box = 2 }
[patches.box]
region = { lo = [0, 0, 0], hi = [20, 20, 20] }
lattice = { kind = "fcc", constant = 3.6 }
potential = { kind = "morse", depth = 0.34, alpha = 1.36, r0 = 2.5, cutoff = 6 }
[run]
dt = 0.001
steps = 5
""",
        "inline.toml",
    )
    p = case.patch("box")
    assert p.region.lo == (0.0, 0.0, 0.0) and isinstance(p.region.lo[0], float)
    assert p.potential.cutoff == 6.0 and isinstance(p.potential.cutoff, float)
    assert case.total_ranks == 2 and case.continuum is None
    assert case.output.every == 100  # default
    assert len(case.digest) == 64


def test_unknown_nested_key_suggests_nearest():
    with pytest.raises(ConfigError, match=r"unknown key 'patches\.a\.potential\.epsilom' \(did you mean 'patches\.a\.potential\.epsilon'\?\)"):
        parse_case(
            """
units = "lj"
[layout]
continuum = 0
patches = { a = 1 }
[patches.a]
region = { lo = [0, 0, 0], hi = [10, 10, 10] }
lattice = { kind = "fcc", constant = 1.5 }
potential = { kind = "lj", epsilom = 1.0 }
[run]
dt = 0.005
steps = 1
""",
            "x.toml",
        )
