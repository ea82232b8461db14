"""``--set key=value``: overrides applied to the case table before validation."""
from __future__ import annotations

import json
import os
import subprocess
import tomllib

import pytest

from helpers.mpi_launch import MSCOUPLE, ROOT, clean_env
from mscouple.config import load_case, parse_case
from mscouple.errors import ConfigError
from mscouple.overrides import apply_overrides, parse_override

MD_LJ = os.path.join(ROOT, "examples", "md_lj", "case.toml")
STATICS = os.path.join(ROOT, "examples", "statics_patch", "case.toml")


@pytest.mark.parametrize("item, key, value", [
    ("run.steps=200", "run.steps", 200),
    ("run.dt = 0.0025", "run.dt", 0.0025),
    ('units="metal"', "units", "metal"),
    ("units=metal", "units", "metal"),            # not TOML: taken as a string
    ("output.directory=runs/x", "output.directory", "runs/x"),
    ("continuum.mesh.cells=[10, 4]", "continuum.mesh.cells", [10, 4]),
    ('patches.core.potential={ kind = "lj", cutoff = 2.0 }', "patches.core.potential",
     {"kind": "lj", "cutoff": 2.0}),
    ("handshake.thermal=true", "handshake.thermal", True),
    ("title=a=b", "title", "a=b"),               # only the first '=' separates
])
def test_values_are_toml_literals(item, key, value):
    k, v = parse_override(item)
    assert k == key and v == value and type(v) is type(value)


@pytest.mark.parametrize("item", ["run.steps", "=3", "run..steps=1", "run steps=1"])
def test_malformed_item_is_one_line_config_error(item):
    with pytest.raises(ConfigError) as exc:
        parse_override(item)
    msg = str(exc.value)
    assert "\n" not in msg and ("key=value" in msg or "dotted key path" in msg), msg


def test_overrides_apply_in_order_and_create_tables():
    t = {"run": {"steps": 10}}
    apply_overrides(t, [("run.steps", 20), ("run.steps", 30), ("handshake.width", 4.0)])
    assert t == {"run": {"steps": 30}, "handshake": {"width": 4.0}}
    with pytest.raises(ConfigError, match=r"run\.steps = 30 is not a table"):
        apply_overrides(t, [("run.steps.x", 1)])


def test_case_sees_the_overrides_and_its_text_is_the_effective_case():
    plain = load_case(MD_LJ)
    with open(MD_LJ, encoding="utf-8") as fh:
        assert plain.text == fh.read()                      # no overrides: the file as written
    case = load_case(MD_LJ, ["run.steps=7", "patches.crystal.temperature=0.25",
                             "layout.patches.crystal=3"])
    assert case.run.steps == 7
    assert case.patch("crystal").temperature == 0.25
    assert case.total_ranks == 3
    assert case.run.dt == plain.run.dt                       # the rest untouched
    # the text (run metadata, restart fingerprint) holds the effective values
    assert case.text.startswith("# with --set run.steps=7 --set patches.crystal.temperature=0.25")
    t = tomllib.loads(case.text)
    assert t["run"]["steps"] == 7 and t["patches"]["crystal"]["temperature"] == 0.25
    # the same values written in the file give the same table (hence the same fingerprint)
    edited = tomllib.loads(plain.text)
    edited["run"]["steps"], edited["patches"]["crystal"]["temperature"] = 7, 0.25
    edited["layout"]["patches"]["crystal"] = 3
    assert json.dumps(t, sort_keys=True) == json.dumps(edited, sort_keys=True)


def test_bad_key_gets_the_schema_error_naming_it():
    with pytest.raises(ConfigError, match=r"unknown key 'run\.stepz' \(did you mean 'run\.steps'\?\)"):
        load_case(MD_LJ, ["run.stepz=5"])
    with pytest.raises(ConfigError, match=r"patches\.crystal\.temperature = -1: expected a number >= 0"):
        load_case(MD_LJ, ["patches.crystal.temperature=-1"])
    with pytest.raises(ConfigError, match=r"units = 'metl'.*did you mean 'metal'"):
        parse_case(open(MD_LJ).read(), MD_LJ, ["units=metl"])


def _check(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(MSCOUPLE + ["check", *args], capture_output=True, text=True,
                          env=clean_env(), timeout=120)


def test_cli_check_with_set():
    ok = _check(STATICS, "--set", "run.tolerance=1e-5", "--set", "layout.patches.core=2")
    assert ok.returncode == 0, ok.stderr
    assert "ranks    : 3 required" in ok.stdout
    for args, words in ((["--set", "run.steps"], "key=value"),
                        (["--set", "patches.core.lattice.konstant=1.1"], "patches.core.lattice.konstant")):
        bad = _check(STATICS, *args)
        assert bad.returncode == 2
        lines = bad.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error:") and words in lines[0], bad.stderr
