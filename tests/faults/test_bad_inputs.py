"""A table of bad inputs (case files and command lines): each one is refused with exit
code 2, exactly one line on stderr naming the file, key or argument, no traceback, and
nothing written (no output folder, no file in the working folder).

The table runs ``mscouple.cli.main.main`` in-process (one interpreter, ~0.05 s a row); a few
rows are repeated as real subprocesses to check the process exit code itself.
"""
from __future__ import annotations

import glob
import os
import subprocess

import h5py
import numpy as np
import pytest

from helpers.mpi_launch import MSCOUPLE, ROOT, clean_env
from mscouple.cli.main import main

BROKEN = sorted(glob.glob(os.path.join(ROOT, "tests", "foundation", "broken_cases", "*.toml")))
GOOD_TEXT = open(os.path.join(ROOT, "examples", "md_lj", "case.toml"), encoding="utf-8").read() \
    .replace('directory = "runs/md_lj"', 'directory = "out"').replace("steps = 400", "steps = 2")


def _files(tmp):
    """Every file the working folder holds: written by the fixture or by the row."""
    def h5(name, checkpoint=False, series=False):
        with h5py.File(tmp / name, "w") as h:
            if checkpoint:
                h.attrs["checkpoint_format"] = 1
            if series:
                h["series"] = np.zeros(3)
            h["x"] = np.arange(3)
    (tmp / "good.toml").write_text(GOOD_TEXT, encoding="utf-8")
    (tmp / "latin1.toml").write_bytes(GOOD_TEXT.replace('title = "LJ fcc crystal, NVE"',
                                                        'title = "Kristall à 0.5"').encode("latin-1"))
    (tmp / "utf16.toml").write_bytes(GOOD_TEXT.encode("utf-16"))
    (tmp / "utf16be.toml").write_bytes(GOOD_TEXT.encode("utf-16-be"))
    (tmp / "binary.toml").write_bytes(bytes(range(256)) * 4)
    (tmp / "nul.toml").write_bytes(GOOD_TEXT.encode() + b"\x00\x00junk")
    (tmp / "empty.toml").write_bytes(b"")
    (tmp / "notes.txt").write_text("hello\n")
    (tmp / "afile").write_text("a file where a folder is expected\n")
    (tmp / "adir").mkdir()
    h5("data.h5")
    h5("ck.h5", checkpoint=True)
    h5("series_nocols.h5", series=True)


# (id, argv, words the one line must contain)
ROWS = [
    # --- case files that are not UTF-8 TOML text
    ("hdf5-case", ["run", "data.h5"], ["data.h5", "HDF5", "UTF-8 TOML"]),
    ("hdf5-case-check", ["check", "ck.h5"], ["ck.h5", "HDF5"]),
    ("latin1-case", ["run", "latin1.toml"], ["latin1.toml", "not UTF-8"]),
    ("latin1-check", ["check", "latin1.toml"], ["latin1.toml", "line 3"]),
    ("utf16-case", ["run", "utf16.toml"], ["utf16.toml", "UTF-16"]),
    ("utf16be-case", ["check", "utf16be.toml"], ["utf16be.toml", "UTF-16"]),
    ("binary-case", ["run", "binary.toml"], ["binary.toml", "binary"]),
    ("nul-case", ["run", "nul.toml"], ["nul.toml", "NUL"]),
    ("empty-case", ["run", "empty.toml"], ["empty.toml"]),
    ("missing-case", ["run", "nope.toml"], ["nope.toml", "cannot read"]),
    ("missing-case-check", ["check", "nope.toml"], ["nope.toml"]),
    ("dir-as-case", ["run", "adir"], ["adir", "cannot read"]),
    ("text-not-toml", ["run", "notes.txt"], ["notes.txt", "TOML"]),
    # --- command lines
    ("restrat", ["run", "good.toml", "--restrat=ck.h5"], ["--restrat", "did you mean --restart"]),
    ("ouptut", ["run", "good.toml", "--ouptut=out2"], ["--ouptut", "did you mean --output"]),
    ("ouptut-space", ["run", "good.toml", "--ouptut", "out2"], ["--ouptut", "--output"]),
    ("overwirte", ["run", "good.toml", "--overwirte"], ["--overwirte", "--overwrite"]),
    ("abbrev-out", ["run", "good.toml", "--out", "x"], ["--out"]),
    ("abbrev-rest", ["run", "good.toml", "--rest", "ck.h5"], ["--rest"]),
    ("sett", ["run", "good.toml", "--sett", "run.steps=3"], ["--sett", "--set"]),
    ("single-dash-unknown", ["run", "good.toml", "-output", "x"], ["-output"]),
    ("petsc-unknown-prefix", ["run", "good.toml", "-foo_bar", "1"], ["-foo_bar"]),
    ("stray-positional", ["run", "good.toml", "extra.toml"], ["extra.toml"]),
    ("check-stray", ["check", "good.toml", "more"], ["more"]),
    ("check-restart", ["check", "good.toml", "--restart", "ck.h5"], ["--restart"]),
    ("run-no-case", ["run"], ["case"]),
    ("check-no-case", ["check"], ["case"]),
    ("no-command", [], ["command"]),
    ("bad-command", ["runn", "good.toml"], ["runn"]),
    ("info-extra", ["info", "--verbose"], ["--verbose"]),
    ("validate-bogus", ["validate", "--bogus"], ["--bogus"]),
    ("validate-level", ["validate", "--level", "9"], ["--level", "9"]),
    ("validate-level-word", ["validate", "--level", "all"], ["--level"]),
    ("validate-quik", ["validate", "--quik"], ["--quik", "--quick"]),
    ("plot-missing", ["plot", "nope.h5"], ["nope.h5", "no such file"]),
    ("plot-text", ["plot", "good.toml"], ["good.toml", "not an HDF5"]),
    ("plot-checkpoint", ["plot", "ck.h5"], ["ck.h5", "checkpoint"]),
    ("plot-other-hdf5", ["plot", "data.h5"], ["data.h5", "series"]),
    ("plot-series-no-columns", ["plot", "series_nocols.h5"], ["series_nocols.h5", "series"]),
    ("plot-folder", ["plot", "adir"], ["adir", "folder"]),
    ("plot-bogus", ["plot", "ck.h5", "--bogus"], ["--bogus"]),
    ("set-unknown-key", ["run", "good.toml", "--set", "run.stepz=3"], ["run.stepz"]),
    ("set-no-equals", ["run", "good.toml", "--set", "run.steps"], ["run.steps"]),
    ("set-negative-steps", ["run", "good.toml", "--set", "run.steps=-1"], ["run.steps"]),
    ("set-keep-negative", ["run", "good.toml", "--set", "output.keep_checkpoints=-1"], ["output.keep_checkpoints"]),
    ("set-pin-negative", ["run", "good.toml", "--set", "output.pin_checkpoints=[-5]"], ["output.pin_checkpoints"]),
    ("set-pin-type", ["run", "good.toml", "--set", 'output.pin_checkpoints="all"'], ["output.pin_checkpoints"]),
    ("set-watchdog-negative", ["run", "good.toml", "--set", "run.watchdog_s=-1"], ["run.watchdog_s"]),
    ("set-energy-negative", ["run", "good.toml", "--set", "run.max_energy_change=-0.1"], ["run.max_energy_change"]),
    ("set-watchdog-typo", ["run", "good.toml", "--set", "run.watchdog=10"], ["run.watchdog"]),
    ("output-is-file", ["run", "good.toml", "--output", "afile"], ["afile", "is a file"]),
    ("output-under-file", ["run", "good.toml", "--output", "afile/sub"], ["afile/sub"]),
    ("output-too-long", ["run", "good.toml", "--output", "x" * 300], ["xxxx", "too long"]),
    ("output-unwritable", ["run", "good.toml", "--output", "/proc/mscouple-nope/out"], ["/proc/mscouple-nope/out"]),
    ("restart-and-overwrite", ["run", "good.toml", "--restart", "ck.h5", "--overwrite"], ["--overwrite", "--restart"]),
]
ROWS += [(f"broken-{os.path.basename(p)[:-5]}", ["run", p], [os.path.basename(p)]) for p in BROKEN]


def test_table_has_sixty_rows():
    assert len(ROWS) >= 60


@pytest.mark.parametrize("argv, words", [r[1:] for r in ROWS], ids=[r[0] for r in ROWS])
def test_bad_input_one_line_exit_2_nothing_written(argv, words, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    _files(tmp_path)
    before = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    rc = main(list(argv))
    out, err = capsys.readouterr()
    lines = [l for l in err.splitlines() if l.strip()]
    assert rc == 2, (rc, err)
    assert len(lines) == 1, err
    assert "Traceback" not in err and "Traceback" not in out
    for w in words:
        assert w in lines[0], (w, lines[0])
    after = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    assert after == before  # no output folder, no lock, no temporary file


@pytest.mark.parametrize("argv", [["run", "latin1.toml"], ["run", "good.toml", "--restrat=ck.h5"],
                                  ["plot", "ck.h5"]], ids=["latin1", "restrat", "plot-ckpt"])
def test_bad_input_real_process_exit_code(argv, tmp_path):
    _files(tmp_path)
    proc = subprocess.run(MSCOUPLE + argv, capture_output=True, text=True, env=clean_env(), cwd=tmp_path, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()
