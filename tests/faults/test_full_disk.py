"""A full disk ends every rank with one line, the last checkpoint intact, no temp files.

Two ways to fill the device: a real tmpfs of a few hundred kB (needs root and mount rights;
skipped elsewhere), and an injected one (``os.statvfs`` reports no free space after the
N-th call, through a ``sitecustomize`` on ``PYTHONPATH``) that runs on any machine.
Layouts: pure MD on 1 rank, and a coupled run on 3 ranks (1 continuum + 2 patch ranks).
"""
from __future__ import annotations

import csv
import os
import shutil
import subprocess
import textwrap
import uuid

import h5py
import pytest

from helpers.mpi_launch import MSCOUPLE, ROOT, clean_env

MPIRUN = shutil.which("mpirun") or shutil.which("mpiexec")

# (name, ranks, case, --set overrides): every output at least every 50 steps, all kept
LAYOUTS = [
    ("md_1rank", 1, "examples/md_lj/case.toml",
     ["run.steps=4000", "output.every=50", "output.atoms_every=50", "output.checkpoint_every=50",
      "output.keep_checkpoints=0"]),
    ("coupled_3ranks", 3, "examples/flagship/case.toml",
     ["layout.patches.chain=2", "run.steps=4000", "output.every=50", "output.checkpoint_every=50",
      "output.keep_checkpoints=0"]),
]

FAKE_STATVFS = textwrap.dedent("""
    # injected full disk: after MSCOUPLE_TEST_STATVFS_OK calls, statvfs says 0 bytes free
    import os
    _real, _n = os.statvfs, [0]
    _ok = int(os.environ["MSCOUPLE_TEST_STATVFS_OK"])
    def statvfs(path):
        st = _real(path)
        _n[0] += 1
        if _n[0] <= _ok:
            return st
        return os.statvfs_result((st.f_bsize, st.f_frsize, st.f_blocks, 0, 0, st.f_files,
                                  st.f_ffree, st.f_favail, st.f_flag, st.f_namemax))
    os.statvfs = statvfs
""")


def _launch(ranks, case, sets, out, env):
    cmd = [MPIRUN, "--oversubscribe", "-n", str(ranks)] + MSCOUPLE + ["run", os.path.join(ROOT, case),
                                                                         "--output", str(out)]
    for s in sets:
        cmd += ["--set", s]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300, cwd=ROOT)


def _assert_clean_stop(p, out):
    """Exit 74, one line naming the folder, nothing half-written, every file readable."""
    assert p.returncode == 74, p.stdout[-2000:] + p.stderr[-3000:]
    ours = [l for l in p.stderr.splitlines() if l.startswith("error:")]
    assert len(ours) == 1, p.stderr
    assert "no space left" in ours[0] and str(out) in ours[0] and "step " in ours[0]
    assert "Traceback" not in p.stderr and "unexpected error" not in p.stderr
    names = os.listdir(out)
    assert not [n for n in names if n.endswith(".tmp")], names
    assert ".mscouple.lock" not in names
    checkpoints = sorted(n for n in names if n.startswith("checkpoint_"))
    assert checkpoints, "no checkpoint before the disk filled: make the device larger"
    assert f"last good checkpoint is {out / checkpoints[-1]}" in ours[0]
    for n in checkpoints:  # complete, and the restart reader accepts it (checksums)
        with h5py.File(out / n, "r") as f:
            assert int(f.attrs["complete"]) == 1
    with open(out / "run.csv", newline="") as fh:
        rows = list(csv.reader(fh))
    assert len(rows) >= 2 and all(len(r) == len(rows[0]) for r in rows)
    with h5py.File(out / "run.h5", "r", locking=False):
        pass
    return checkpoints


def _restart_reads(ranks, case, sets, out, checkpoint, tmp_path):
    """The last checkpoint restarts a run (into a fresh folder on a normal disk)."""
    again = tmp_path / f"again_{uuid.uuid4().hex[:6]}"
    sets = [s for s in sets if not s.startswith("run.steps")]
    step = int(checkpoint[len("checkpoint_"):-3])
    cmd_sets = sets + [f"run.steps={step + 50}"]
    cmd = [MPIRUN, "--oversubscribe", "-n", str(ranks)] + MSCOUPLE + [
        "run", os.path.join(ROOT, case), "--output", str(again), "--restart", str(out / checkpoint)]
    for s in cmd_sets:
        cmd += ["--set", s]
    p = subprocess.run(cmd, capture_output=True, text=True, env=clean_env(), timeout=300, cwd=ROOT)
    assert p.returncode == 0, p.stderr[-3000:]


def _can_mount_tmpfs(where) -> bool:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    os.makedirs(where, exist_ok=True)
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(where)], capture_output=True)
    if p.returncode != 0:
        return False
    subprocess.run(["umount", str(where)], capture_output=True)
    return True


@pytest.mark.parametrize("name,ranks,case,sets", LAYOUTS, ids=[l[0] for l in LAYOUTS])
def test_real_full_tmpfs(name, ranks, case, sets, tmp_path):
    dev = tmp_path / "dev"
    if not _can_mount_tmpfs(dev):
        pytest.skip("no rights to mount a tmpfs here (the injected test covers this machine)")
    # room for the first frames and a few checkpoints, far less than the run writes
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1000k", "tmpfs", str(dev)], check=True)
    try:
        out = dev / "run"
        p = _launch(ranks, case, sets, out, clean_env())
        checkpoints = _assert_clean_stop(p, out)
        _restart_reads(ranks, case, sets, out, checkpoints[-1], tmp_path)
    finally:
        subprocess.run(["umount", "-l", str(dev)], capture_output=True)


@pytest.mark.parametrize("name,ranks,case,sets", LAYOUTS, ids=[l[0] for l in LAYOUTS])
def test_injected_full_disk(name, ranks, case, sets, tmp_path):
    inject = tmp_path / "inject"
    inject.mkdir()
    (inject / "sitecustomize.py").write_text(FAKE_STATVFS)
    env = clean_env()
    env["PYTHONPATH"] = f"{inject}{os.pathsep}{env['PYTHONPATH']}"
    env["MSCOUPLE_TEST_STATVFS_OK"] = "6"  # a few outputs and checkpoints, then "full"
    out = tmp_path / "run"
    p = _launch(ranks, case, sets, out, env)
    checkpoints = _assert_clean_stop(p, out)
    _restart_reads(ranks, case, sets, out, checkpoints[-1], tmp_path)
