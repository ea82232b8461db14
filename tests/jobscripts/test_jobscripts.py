"""Slurm templates: shell syntax, #SBATCH options (names and values), mscouple commands."""
from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "jobscripts"
SCRIPTS = sorted(ROOT.glob("*.sbatch")) + sorted(ROOT.glob("*.sh"))

_TIME = re.compile(r"^(\d+|\d+:\d{2}|\d+:\d{2}:\d{2}|\d+-\d+|\d+-\d+:\d{2}|\d+-\d+:\d{2}:\d{2})$")
_INT = re.compile(r"^[1-9]\d*$")
_SIG = re.compile(r"^(?:(?:R|B|RB|BR):)?(?:USR1|USR2|TERM|INT|HUP|SIGUSR1|SIGUSR2|SIGTERM|\d+)(?:@\d+)?$")
_ARRAY = re.compile(r"^\d+(?:-\d+)?(?::\d+)?(?:,\d+(?:-\d+)?(?::\d+)?)*(?:%\d+)?$")
_DEP = re.compile(r"^(?:(?:after|afterok|afternotok|afterany|aftercorr):[\w$\"{}]+(?::[\w$\"{}]+)*|singleton)(?:[,?].+)?$")
_NAME = re.compile(r"^[\w.-]+$")
_PATTERN = re.compile(r"^[\w./%-]+$")

#: sbatch long options used in the templates → value check (None: a flag without value)
OPTIONS = {
    "job-name": _NAME.match,
    "nodes": lambda v: re.match(r"^[1-9]\d*(?:-[1-9]\d*)?$", v),
    "ntasks": _INT.match,
    "ntasks-per-node": _INT.match,
    "cpus-per-task": _INT.match,
    "time": _TIME.match,
    "output": _PATTERN.match,
    "error": _PATTERN.match,
    "signal": _SIG.match,
    "requeue": None,
    "open-mode": lambda v: v in ("append", "truncate"),
    "array": _ARRAY.match,
    "dependency": _DEP.match,
    "kill-on-invalid-dep": lambda v: v in ("yes", "no"),
    "parsable": None,
    "export": lambda v: re.match(r"^(ALL|NONE|[\w,=]+)$", v),
    "partition": _NAME.match,
    "account": _NAME.match,
    "mem": lambda v: re.match(r"^\d+[KMGT]?$", v),
}


def _check_option(opt: str, where: str) -> str:
    m = re.match(r"^--([a-z-]+)(?:=(.*))?$", opt)
    assert m, f"{where}: {opt!r} is not a --long-option"
    name, value = m.group(1), m.group(2)
    assert name in OPTIONS, f"{where}: unknown sbatch option --{name}"
    check = OPTIONS[name]
    if check is None:
        assert value is None, f"{where}: --{name} takes no value"
    else:
        assert value is not None and check(value), f"{where}: bad value for --{name}: {value!r}"
    return name


def _sbatch_block(path: Path) -> tuple[list[str], list[str]]:
    """(#SBATCH options in the header, #SBATCH lines after the first command)."""
    header, late, in_header = [], [], True
    for line in path.read_text().splitlines()[1:]:
        s = line.strip()
        if s.startswith("#SBATCH"):
            (header if in_header else late).append(s.split(None, 1)[1].split("#")[0].strip())
        elif s and not s.startswith("#"):
            in_header = False  # sbatch stops reading directives at the first command
    return header, late


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.name)
def test_bash_syntax(path):
    bash = shutil.which("bash")
    r = subprocess.run([bash, "-n", str(path)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert path.read_text().startswith("#!/bin/bash\n")


@pytest.mark.parametrize("path", sorted(ROOT.glob("*.sbatch")), ids=lambda p: p.name)
def test_sbatch_directives(path):
    header, late = _sbatch_block(path)
    assert not late, f"{path.name}: #SBATCH after the first command is ignored by sbatch: {late}"
    names = [_check_option(o, path.name) for o in header]
    assert len(names) == len(set(names)), f"{path.name}: repeated option"
    assert {"job-name", "time", "output"} <= set(names)
    assert "ntasks" in names  # the rank count must match the case's [layout]


def test_restart_patterns():
    req = dict(o[2:].split("=", 1) if "=" in o else (o[2:], "") for o in _sbatch_block(ROOT / "restart_requeue.sbatch")[0])
    assert req["signal"].startswith("B:USR1@") and "requeue" in req and req["open-mode"] == "append"
    # the warning must leave time for a checkpoint but come before the limit
    lead = int(req["signal"].split("@")[1])
    h, m, s = (int(x) for x in req["time"].split(":"))
    assert 60 <= lead < 3600 * h + 60 * m + s
    text = (ROOT / "restart_requeue.sbatch").read_text()
    assert "trap" in text and "kill -USR1" in text and "scontrol requeue" in text and "-eq 75" in text
    chain = (ROOT / "chain_submit.sh").read_text()
    opts = [t for line in chain.splitlines() if "sbatch " in line for t in shlex.split(line.split("$(", 1)[1].rstrip(")")) if t.startswith("--")]
    assert any(o.startswith("--dependency=afterok:") for o in opts)
    for o in opts:
        _check_option(o, "chain_submit.sh")


def test_exit_code_matches_the_run_loop():
    from mscouple.io.signals import EXIT_STOPPED

    assert EXIT_STOPPED == 75  # the scripts test for 75


def test_array_covers_study_cases():
    header, _ = _sbatch_block(ROOT / "study_array.sbatch")
    spec = dict(o[2:].split("=", 1) for o in header if "=" in o)["array"]
    lo, hi = (int(x) for x in spec.split("%")[0].split("-"))
    assert (lo, hi) == (0, 5)  # six cases, as in the documented example
    assert "case_%03d" in (ROOT / "study_array.sbatch").read_text()


def test_mpmd_conf_covers_all_tasks():
    header, _ = _sbatch_block(ROOT / "mpmd.sbatch")
    ntasks = int(dict(o[2:].split("=", 1) for o in header if "=" in o)["ntasks"])
    covered = []
    for line in (ROOT / "mpmd.conf").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            ranks = line.split()[0]
            for part in ranks.split(","):
                a, _, b = part.partition("-")
                covered += list(range(int(a), int(b or a) + 1))
    assert sorted(covered) == list(range(ntasks))


def _mscouple_commands():
    for path in list(ROOT.glob("*.sbatch")) + [ROOT / "mpmd.conf"]:
        for line in path.read_text().splitlines():
            if not re.match(r"^\s*(?:srun\s+|[\d,-]+\s+)mscouple\s", line):
                continue
            cmd = line[line.index("mscouple ") :].split(">")[0].split("&")[0]
            cmd = cmd.replace('"${restart[@]}"', "--restart ck.h5")
            toks = [re.sub(r"\$\{?\w+\}?", "X", t) for t in shlex.split(cmd)]
            yield path.name, toks[1:]


@pytest.mark.parametrize("where,argv", list(_mscouple_commands()), ids=lambda x: str(x))
def test_mscouple_commands_parse(where, argv):
    from mscouple.cli.main import build_parser

    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # argparse error
        pytest.fail(f"{where}: 'mscouple {' '.join(argv)}' is not a valid command ({exc})")
    assert args.command in ("run", "check")


@pytest.mark.parametrize("bad", ["--tiem=01:00:00", "--time=1h", "--signal=USR1@", "--ntasks=0",
                                 "--array=0-5%", "--open-mode=add", "--requeue=yes", "-n 4"])
def test_checker_rejects_bad_directives(bad):
    with pytest.raises(AssertionError):
        _check_option(bad, "example")
