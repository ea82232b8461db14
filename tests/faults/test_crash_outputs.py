"""SIGKILL mid-run: every completed frame of every output is readable, and a restart
continues each series with the right steps and times, no duplicate and no phantom frame.

Each test runs an example case under ``mpirun`` as a subprocess in its own process group,
waits (polling the files) until frames and a checkpoint are on disk, kills the whole group
with SIGKILL, then opens every output with the program users read it with (h5py, csv,
ASE, MDAnalysis, meshio). It then restarts from the newest checkpoint into the same
folder with a shorter ``run.steps`` and compares every series with an uninterrupted run of
that length: same steps and times, values equal to round-off (a restart is bit for bit).
"""
from __future__ import annotations

import csv
import os
import signal
import subprocess
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from helpers.mpi_launch import MSCOUPLE, ROOT, clean_env, mpirun
from mscouple.io.atoms import _dump_frames, _extxyz_frames
from mscouple.io.checkpoint import latest_checkpoint
from mscouple.io.series import read_series

SUFFIX = {"extxyz": "xyz", "lammps-dump": "dump", "h5md": "h5md"}


def _start(case: str, out: Path, sets: list[str]) -> subprocess.Popen:
    import shutil

    argv = [shutil.which("mpirun"), "--oversubscribe", "-n", "1", *MSCOUPLE, "run", case, "--output", str(out)]
    for s in sets:
        argv += ["--set", s]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=clean_env(), cwd=ROOT,
                            start_new_session=True)


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (Open MPI puts each rank in its own process group)."""
    children: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(d.name))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def _gone(pid: int) -> bool:
    """Exited and reaped (a zombie still answers ``kill(pid, 0)``, which the run folder's
    lock takes for a live owner)."""
    return not Path(f"/proc/{pid}").exists()


def _kill_when(proc: subprocess.Popen, ready, timeout: float = 120.0) -> None:
    """Once ``ready()`` holds: SIGKILL the rank processes (as a node failure would),
    then ``mpirun``; return when every one of them has exited."""
    t0 = time.monotonic()
    try:
        while not ready():
            if proc.poll() is not None:
                pytest.fail("the run ended before it could be killed:\n" + proc.stdout.read().decode())
            if time.monotonic() - t0 > timeout:
                pytest.fail(f"no output after {timeout} s")
            time.sleep(0.02)
    finally:
        victims = _descendants(proc.pid)
        for pid in victims:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=30)
        proc.stdout.close()
        t1 = time.monotonic()
        while not all(_gone(p) for p in victims) and time.monotonic() - t1 < 30:
            time.sleep(0.05)


def _run(case: str, out: Path, sets: list[str], restart: Path | None = None) -> None:
    argv = MSCOUPLE + ["run", case, "--output", str(out)] + [a for s in sets for a in ("--set", s)]
    if restart is not None:
        argv += ["--restart", str(restart)]
    r = mpirun([(1, argv)], timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr


def _check_series(out: Path, dt: float, every: int) -> np.ndarray:
    """run.h5 and run.csv after a kill: consistent steps/times; returns the steps."""
    s = read_series(out / "run.h5")
    steps = s["step"]
    assert len(steps) >= 2 and steps[0] == 0
    assert np.all(np.diff(steps) == every)  # no gap, no duplicate
    np.testing.assert_array_equal(s["time"], steps * dt)
    with open(out / "run.csv", newline="") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    assert header[:2] == ["step", "time"]
    # the row is appended to run.h5 first, then to run.csv: at most one row behind
    assert len(steps) - 1 <= len(body) <= len(steps)
    for r in body:
        assert len(r) == len(header)
    csv_steps = np.array([int(r[0]) for r in body])
    np.testing.assert_array_equal(csv_steps, steps[: len(body)])
    for j, name in enumerate(header[2:], start=2):
        np.testing.assert_array_equal(np.array([float(r[j]) for r in body]), s[name][: len(body)])
    return steps


def _complete_prefix(path: Path, frames) -> tuple[bytes, int]:
    """The file's bytes up to its last complete frame, and the number of frames."""
    with open(path, newline="") as fh:
        lines = fh.readlines()
    n, pos = 0, 0
    for _, k in frames(lines):
        pos += k
        n += 1
    data = "".join(lines[:pos]).encode()
    return data, n


def _read_atoms(path: Path, fmt: str, tmp: Path) -> tuple[list[int], list[float], list[np.ndarray]]:
    """(steps, times, positions per frame) as ASE / MDAnalysis read them."""
    if fmt == "h5md":
        import MDAnalysis as mda

        with h5py.File(path, "r") as h:
            g = h["particles/trajectory/position"]
            steps, times = g["step"][...].tolist(), g["time"][...].tolist()
        u = mda.Universe(str(path))
        pos = [u.atoms.positions.copy() for _ in u.trajectory]
        u.trajectory.close()
        assert len(pos) == len(steps)
        return steps, times, pos
    from ase.io import read

    splitter = _extxyz_frames if fmt == "extxyz" else _dump_frames
    data, n = _complete_prefix(path, splitter)
    size = path.stat().st_size
    if len(data) != size:  # killed inside the write of the last frame: a torn tail
        assert size - len(data) < len(data) / max(n, 1) + 1, "more than one frame is torn"
        path = tmp / ("prefix." + path.suffix.lstrip("."))
        path.write_bytes(data)
    if fmt == "extxyz":
        images = read(path, index=":", format="extxyz")
        steps = [int(a.info["Step"]) for a in images]
        times = [float(a.info["Time"]) for a in images]
    else:
        images = read(path, index=":", format="lammps-dump-text")
        with open(path) as fh:
            lines = fh.read().splitlines()
        steps = [int(lines[i + 1]) for i, x in enumerate(lines) if x == "ITEM: TIMESTEP"]
        times = [float(lines[i + 1]) for i, x in enumerate(lines) if x == "ITEM: TIME"]
    assert len(images) == n
    return steps, times, [a.get_positions() for a in images]


@pytest.mark.parametrize("fmt", ["extxyz", "lammps-dump", "h5md"])
def test_md_kill_then_restart(tmp_path, fmt):
    """examples/md_lj (256 LJ atoms): frames every 50 steps, checkpoints every 500."""
    case = os.path.join(ROOT, "examples", "md_lj", "case.toml")
    dt, every = 0.005, 50
    common = [f'output.atoms_format="{fmt}"', f"output.atoms_every={every}", f"output.every={every}",
              "output.checkpoint_every=500"]
    out = tmp_path / "run"
    atoms = out / f"atoms_crystal.{SUFFIX[fmt]}"
    proc = _start(case, out, common + ["run.steps=1000000"])
    _kill_when(proc, lambda: (out / "checkpoint_00001000.h5").exists())

    steps = _check_series(out, dt, every)
    a_steps, a_times, pos = _read_atoms(atoms, fmt, tmp_path)
    assert a_steps[0] == 0 and np.all(np.diff(a_steps) == every) and len(a_steps) >= 21
    np.testing.assert_allclose(a_times, np.array(a_steps) * dt, rtol=1e-15, atol=0)
    assert a_steps[-1] <= steps[-1] + every
    assert all(p.shape == (256, 3) and np.all(np.isfinite(p)) for p in pos)

    # restart from the newest checkpoint, to step 1500; compare with an uninterrupted run
    ck = latest_checkpoint(out)
    _run(case, out, common + ["run.steps=1500"], restart=ck)
    ref = tmp_path / "ref"
    _run(case, ref, common + ["run.steps=1500"])
    got, want = read_series(out / "run.h5"), read_series(ref / "run.h5")
    np.testing.assert_array_equal(got["step"], np.arange(0, 1501, every))
    np.testing.assert_array_equal(got["time"], want["time"])
    for name in want["columns"]:
        np.testing.assert_allclose(got[name], want[name], rtol=1e-12, atol=1e-12, err_msg=name)
    assert (out / "run.csv").read_text().splitlines()[0] == (ref / "run.csv").read_text().splitlines()[0]
    assert len((out / "run.csv").read_text().splitlines()) == 1 + len(want["step"])
    g_steps, g_times, g_pos = _read_atoms(atoms, fmt, tmp_path)
    w_steps, w_times, w_pos = _read_atoms(ref / atoms.name, fmt, tmp_path)
    assert g_steps == w_steps == list(range(0, 1501, every))
    assert g_times == w_times
    for a, b in zip(g_pos, w_pos):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-9)


def test_continuum_kill_then_restart(tmp_path):
    """examples/continuum_wave (1D bar, 400 cells): fields every 10 steps into
    continuum.h5 + continuum.xdmf, checkpoints every 250."""
    import meshio

    case = os.path.join(ROOT, "examples", "continuum_wave", "case.toml")
    dt, every = 0.5, 10
    common = [f"output.fields_every={every}", f"output.every={every}", "output.checkpoint_every=250"]
    out = tmp_path / "run"
    proc = _start(case, out, common + ["run.steps=1000000"])
    _kill_when(proc, lambda: (out / "checkpoint_00000500.h5").exists())

    _check_series(out, dt, every)

    def fields(folder: Path) -> tuple[list[float], list[np.ndarray]]:
        with meshio.xdmf.TimeSeriesReader(str(folder / "continuum.xdmf")) as r:
            points, cells = r.read_points_cells()
            assert len(points) == 401
            out_t, out_u = [], []
            for k in range(r.num_steps):
                t, pd, _ = r.read_data(k)
                out_t.append(t)
                out_u.append(np.asarray(pd["displacement"]))
        with h5py.File(folder / "continuum.h5", "r") as h:  # the index lists flushed outputs only
            h5_steps = h["fields/step"][...]
            h5_times = h["fields/time"][...]
        assert len(h5_steps) in (len(out_t), len(out_t) + 1)
        np.testing.assert_array_equal(h5_times[: len(out_t)], out_t)
        np.testing.assert_array_equal(h5_times, h5_steps * dt)
        return out_t, out_u

    t_killed, u_killed = fields(out)
    assert len(t_killed) >= 51 and t_killed[0] == 0.0
    np.testing.assert_allclose(np.diff(t_killed), every * dt, rtol=0, atol=0)
    assert all(np.all(np.isfinite(u)) for u in u_killed)

    ck = latest_checkpoint(out)
    _run(case, out, common + ["run.steps=800"], restart=ck)
    ref = tmp_path / "ref"
    _run(case, ref, common + ["run.steps=800"])
    t_got, u_got = fields(out)
    t_want, u_want = fields(ref)
    assert t_got == t_want == [every * dt * k for k in range(81)]
    for a, b in zip(u_got, u_want):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)
    got, want = read_series(out / "run.h5"), read_series(ref / "run.h5")
    np.testing.assert_array_equal(got["step"], want["step"])
    for name in want["columns"]:
        np.testing.assert_allclose(got[name], want[name], rtol=1e-12, atol=1e-15, err_msg=name)
