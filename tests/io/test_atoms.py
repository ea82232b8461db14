"""Atom trajectory writers: H5MD structure per the 1.1 spec, MDAnalysis, ASE round trips."""
from __future__ import annotations


import h5py
import numpy as np
import pytest

from mscouple.io.atoms import ExtxyzWriter, H5MDWriter, LammpsDumpWriter

EDGES = np.array([4.0, 5.0, 6.0])
LO = np.array([-1.0, 0.0, 0.5])


def _frames(n=11, nframes=3, dim=3, seed=3):
    """Atoms given in a shuffled order each frame (ids 1..n), with known sorted values."""
    rng = np.random.default_rng(seed)
    out = []
    for k in range(nframes):
        ids = np.arange(1, n + 1)
        pos = LO[:dim] + rng.random((n, dim)) * EDGES[:dim]
        vel = rng.normal(size=(n, dim))
        typ = 1 + (ids % 2)
        perm = rng.permutation(n)
        out.append(dict(step=10 * k, time=0.005 * 10 * k, ids=ids[perm], pos=pos[perm], vel=vel[perm], typ=typ[perm], sorted=(pos, vel, typ)))
    return out


def _check_h5md_structure(h, group, n, nframes, dim, units):
    """The H5MD 1.1 requirements (https://www.nongnu.org/h5md/h5md.html) we rely on."""
    assert list(h["h5md"].attrs["version"]) == [1, 1]
    assert h["h5md/author"].attrs["name"]
    assert h["h5md/creator"].attrs["name"] == "mscouple" and h["h5md/creator"].attrs["version"]
    g = h[f"particles/{group}"]
    box = g["box"]
    assert int(box.attrs["dimension"]) == dim
    assert [b.decode() if isinstance(b, bytes) else b for b in box.attrs["boundary"]] == ["periodic"] * dim
    for name in ("box/edges", "position", "velocity"):
        el = g[name]
        assert isinstance(el, h5py.Group)  # a time-dependent element is a group
        assert el["value"].shape[0] == nframes and el["value"].maxshape[0] is None  # extensible
        assert el["step"].shape == (nframes,) and el["step"].dtype.kind == "i"
        assert el["time"].shape == (nframes,) and el["time"].dtype.kind == "f"
    assert g["position/value"].shape == (nframes, n, dim)
    assert g["species"].shape == (n,) and g["species"].dtype.kind == "i"
    assert g["id"].shape == (n,) and g["id"].dtype.kind == "i"
    if units == "metal":
        assert g["position/value"].attrs["unit"] == "Angstrom"
        assert g["position/time"].attrs["unit"] == "ps"


@pytest.mark.parametrize("dim", [2, 3])
def test_h5md_structure_and_values(serial_comm, tmp_path, dim):
    fr = _frames(dim=dim)
    path = tmp_path / "atoms.h5"
    with H5MDWriter(serial_comm, path, box_edges=EDGES[:dim], units="metal") as w:
        for f in fr:
            w.write(f["step"], f["time"], f["ids"], f["pos"], f["vel"], types=f["typ"])
    with h5py.File(path, "r") as h:
        _check_h5md_structure(h, "trajectory", 11, 3, dim, "metal")
        g = h["particles/trajectory"]
        np.testing.assert_array_equal(g["id"][...], np.arange(1, 12))
        np.testing.assert_array_equal(g["species"][...], fr[0]["sorted"][2])
        for k, f in enumerate(fr):
            np.testing.assert_array_equal(g["position/value"][k], f["sorted"][0])
            np.testing.assert_array_equal(g["velocity/value"][k], f["sorted"][1])
            assert g["position/step"][k] == f["step"] and g["position/time"][k] == f["time"]
            np.testing.assert_array_equal(g["box/edges/value"][k], EDGES[:dim])
        assert h.attrs["creator"] == "mscouple"  # run metadata rides along


def test_h5md_refuses_changing_atom_set(serial_comm, tmp_path):
    fr = _frames()
    with pytest.raises(ValueError, match="atom set changed"):
        with H5MDWriter(serial_comm, tmp_path / "a.h5", box_edges=EDGES) as w:
            w.write(0, 0.0, fr[0]["ids"], fr[0]["pos"])
            w.write(1, 0.1, fr[1]["ids"][:-1], fr[1]["pos"][:-1])
    with h5py.File(tmp_path / "a.h5", "r") as h:  # the completed first frame stays readable
        g = h["particles/trajectory/position"]
        assert g["value"].shape == (1, 11, 3) and list(g["step"][...]) == [0]
        np.testing.assert_array_equal(g["value"][0], fr[0]["sorted"][0])


def test_failure_before_first_frame_leaves_nothing(serial_comm, tmp_path):
    for cls, kw in ((H5MDWriter, dict(box_edges=EDGES)), (ExtxyzWriter, dict(box_lo=LO, box_edges=EDGES)),
                    (LammpsDumpWriter, dict(box_lo=LO, box_edges=EDGES))):
        with pytest.raises(RuntimeError):
            with cls(serial_comm, tmp_path / f"a.{cls.__name__}", **kw):
                raise RuntimeError("set-up failed")
    assert not list(tmp_path.iterdir())


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("units", ["metal", "lj"])
def test_mdanalysis_loads_h5md(serial_comm, tmp_path, units):
    import MDAnalysis as mda  # in requirements-dev.txt (make setup): a missing one fails, not skips
    fr = _frames()
    path = tmp_path / "atoms.h5md"
    with H5MDWriter(serial_comm, path, box_edges=EDGES, units=units) as w:
        for f in fr:
            w.write(f["step"], f["time"], f["ids"], f["pos"], f["vel"], types=f["typ"])
    u = mda.Universe(str(path))  # plain: LJ files carry the identity unit labels
    assert len(u.atoms) == 11 and len(u.trajectory) == 3
    for k, ts in enumerate(u.trajectory):
        # MDAnalysis stores float32: agreement to float32 rounding (2^-24 relative)
        np.testing.assert_allclose(u.atoms.positions, fr[k]["sorted"][0], rtol=1.2e-7, atol=1e-6)
        np.testing.assert_allclose(u.atoms.velocities, fr[k]["sorted"][1], rtol=1.2e-7, atol=1e-6)
        np.testing.assert_allclose(ts.dimensions[:3], EDGES, rtol=1.2e-7)
        assert ts.time == pytest.approx(fr[k]["time"], rel=1e-12)
    with h5py.File(path, "r") as h:
        assert h["particles/trajectory"].attrs["mscouple_units"] == units


def test_extxyz_read_by_ase(serial_comm, tmp_path):
    from ase.io import read

    fr = _frames()
    path = tmp_path / "atoms.extxyz"
    with ExtxyzWriter(serial_comm, path, box_lo=LO, box_edges=EDGES, species_names=["Ar", "Kr"]) as w:
        for f in fr:
            w.write(f["step"], f["time"], f["ids"], f["pos"], f["vel"], types=f["typ"])
    images = read(path, index=":", format="extxyz")
    assert len(images) == 3
    for k, at in enumerate(images):
        pos, vel, typ = fr[k]["sorted"]
        # positions relative to the box corner: the cell starts at 0 in ASE (no Origin)
        np.testing.assert_array_equal(at.get_positions(), pos - LO)  # %.17g round-trips exactly
        np.testing.assert_array_equal(at.get_positions() + at.info["box_lo"], pos)
        np.testing.assert_array_equal(at.get_velocities(), vel)  # momenta / masses, unit masses
        np.testing.assert_array_equal(at.arrays["velo"], vel)  # OVITO's Velocity column
        np.testing.assert_array_equal(at.arrays["id"], np.arange(1, 12))
        assert at.get_chemical_symbols() == ["Ar" if t == 1 else "Kr" for t in typ]
        np.testing.assert_array_equal(at.cell.lengths(), EDGES)
        np.testing.assert_array_equal(at.get_celldisp().ravel(), 0.0)
        frac = at.get_scaled_positions(wrap=False)  # every atom inside ASE's cell
        assert np.all((frac >= 0) & (frac < 1))
        assert at.info["Step"] == fr[k]["step"] and at.info["Time"] == pytest.approx(fr[k]["time"], rel=1e-15)


def test_extxyz_masses_give_momenta(serial_comm, tmp_path):
    from ase.io import read

    f = _frames(nframes=1)[0]
    path = tmp_path / "atoms.extxyz"
    masses = [39.948, 83.798]
    with ExtxyzWriter(serial_comm, path, box_lo=LO, box_edges=EDGES, species_names=["Ar", "Kr"], masses=masses) as w:
        w.write(f["step"], f["time"], f["ids"], f["pos"], f["vel"], types=f["typ"])
    at = read(path, format="extxyz")
    pos, vel, typ = f["sorted"]
    m = np.array(masses)[typ - 1]
    np.testing.assert_array_equal(at.get_masses(), m)
    np.testing.assert_array_equal(at.get_momenta(), vel * m[:, None])
    np.testing.assert_allclose(at.get_velocities(), vel, rtol=2.3e-16, atol=0)  # (m v) / m: one rounding


def test_lammps_dump_read_by_ase(serial_comm, tmp_path):
    from ase.io import read

    fr = _frames()
    path = tmp_path / "atoms.dump"
    with LammpsDumpWriter(serial_comm, path, box_lo=LO, box_edges=EDGES) as w:
        for f in fr:
            w.write(f["step"], f["time"], f["ids"], f["pos"], f["vel"], types=f["typ"])
    images = read(path, index=":", format="lammps-dump-text")
    assert len(images) == 3
    for k, at in enumerate(images):
        pos, vel, typ = fr[k]["sorted"]
        np.testing.assert_allclose(at.get_positions(), pos, rtol=0, atol=1e-12)
        np.testing.assert_allclose(at.get_celldisp().ravel(), LO, rtol=0, atol=1e-15)
        np.testing.assert_array_equal(at.get_atomic_numbers(), typ)
    text = path.read_text().splitlines()
    assert text[:4] == ["ITEM: TIME", "0", "ITEM: TIMESTEP", "0"]
    assert [int(r.split()[0]) for r in text[11:22]] == list(range(2, 13))  # LAMMPS ids: ours + 1
    assert text[6] == "ITEM: BOX BOUNDS pp pp pp" and text[7] == "-1 3"
