"""Reference data for NNP training: labelled frames, our EAM engine as the oracle, extxyz.

Units: metal — positions Å, energies eV, forces eV/Å, virial W = Σ x ⊗ f in eV (order xx yy
zz xy xz yz; the stress is σ = −W/V). A :class:`Frame` is one labelled configuration in an
orthogonal box (periodic or free per direction).

:func:`cu_reference_set` builds the issue's data set with our own engine, so the ground truth
is known: fcc Cu from the EAM of Zhou, Johnson & Wadley (PRB 69, 144113 (2004)) — MD
snapshots at 300–1500 K (Langevin, 108 atoms), cells strained by up to ±5 % in the cubic and
the [110] orientations (the latter are shears of the cubic axes), a vacancy, (100) and (111)
slabs, and the compressed/expanded perfect lattice.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError


@dataclass
class Frame:
    """One labelled configuration: x [N,3] Å, lengths [3] Å, periodic (3 bools), types [N],
    energy eV, forces [N,3] eV/Å, virial [6] eV or None (not periodic in 3D), a tag."""

    x: np.ndarray
    lengths: np.ndarray
    periodic: tuple
    types: np.ndarray
    energy: float
    forces: np.ndarray
    virial: np.ndarray | None
    tag: str = ""
    energy_weight: float = 1.0

    @property
    def natoms(self) -> int:
        return len(self.x)


def label(potential, x, box, types=None, comm=None):
    """(energy, forces [N,3] in input order, virial [6]) of ``potential`` by our MD engine."""
    from mpi4py import MPI

    from ..atomistic.system import MDSystem

    comm = MPI.COMM_SELF if comm is None else comm
    types = np.zeros(len(x), np.int32) if types is None else np.asarray(types, np.int32)
    s = MDSystem(comm, box, x, potential, types=types, units="metal", dt=0.001, skin=0.3,
                 sort_every=0)
    s.compute_forces()
    return s.potential_energy(), s.gather("f"), s.virial()


def _md_snapshots(potential, x, box, temperature, n, every, rng, mass=63.546, fixed=None):
    """n snapshots (positions in input order) of Langevin MD at ``temperature`` K."""
    from mpi4py import MPI

    from ..atomistic.system import MDSystem
    from ..atomistic.thermostats import Langevin

    s = MDSystem(MPI.COMM_SELF, box, x, potential, masses=mass, units="metal", dt=0.002,
                 skin=0.5, thermostat=Langevin(temperature, 0.1, int(rng.integers(1 << 30))))
    s.set_velocities(2.0 * temperature, seed=int(rng.integers(1 << 30)))
    s.run(400)
    out = []
    for _ in range(n):
        s.run(every)
        out.append(s.gather("x").copy())
    return out


def _relaxed(potential, x, box):
    from mpi4py import MPI

    from ..atomistic.minimize import fire
    from ..atomistic.system import MDSystem

    s = MDSystem(MPI.COMM_SELF, box, x, potential, masses=63.546, units="metal", dt=0.002,
                 skin=0.5)
    fire(s, fmax=1e-4, max_steps=5000)
    return s.gather("x").copy()


def _frame(potential, x, box, tag):
    e, f, w = label(potential, x, box)
    return Frame(np.array(x), box.lengths.copy(), tuple(box.periodic), np.zeros(len(x), np.int32),
                 float(e), f, np.array(w) if all(box.periodic) else None, tag)


def cu_reference_set(potential, seed: int = 2026, a0: float = 3.615, scale: int = 1) -> list:
    """The labelled Cu frames described in the module doc (``scale`` multiplies the number
    of frames of each kind). ``potential``: the EAM (or any MD potential) giving the labels."""
    from ..atomistic.box import Box
    from ..atomistic.lattice import fcc

    rng = np.random.default_rng(seed)
    frames = []
    o110 = [[1, 1, 0], [-1, 1, 0], [0, 0, 1]]
    o111 = [[1, -1, 0], [1, 1, -2], [1, 1, 1]]

    def strained(x, box, e):
        F = np.diag(1.0 + np.asarray(e))
        return x @ F, Box(box.lo * np.diag(F), box.hi * np.diag(F), box.periodic)

    # compressed / expanded perfect lattice (the binding curve)
    for eps in np.linspace(-0.06, 0.08, 8 * scale):
        x, box = fcc(a0 * (1 + eps), (2, 2, 2))
        frames.append(_frame(potential, x, box, "lattice"))
    # MD at 300..1500 K in cells expanded by 0..2 %
    for T in (300.0, 600.0, 900.0, 1200.0, 1500.0):
        x, box = fcc(a0 * (1 + 0.002 + 0.012 * (T / 1500.0)), (3, 3, 3))
        for xs in _md_snapshots(potential, x, box, T, 6 * scale, 60, rng):
            frames.append(_frame(potential, xs, box, f"md{int(T)}"))
    # strained cells +-5 % (cubic and [110] axes), rattled 0.02..0.1 A
    for orient, reps, tag in ((None, (3, 3, 3), "strain100"), (o110, (4, 4, 3), "strain110")):
        x, box = fcc(a0, reps, orient=orient)
        for _ in range(12 * scale):
            e = rng.uniform(-0.05, 0.05, 3)
            xs, bs = strained(x, box, e)
            xs = xs + rng.uniform(0.02, 0.1) * rng.standard_normal(xs.shape)
            bs.wrap(xs)
            frames.append(_frame(potential, xs, bs, tag))
    # vacancy: relaxed, and MD snapshots
    x, box = fcc(a0, (3, 3, 3))
    xv = np.delete(x, 13, axis=0)
    frames.append(_frame(potential, _relaxed(potential, xv, box), box, "vacancy"))
    for T in (300.0, 900.0):
        for xs in _md_snapshots(potential, xv, box, T, 3 * scale, 60, rng):
            frames.append(_frame(potential, xs, box, "vacancy"))
    # (100) and (111) slabs, free in z (10 A of vacuum each side for the box)
    for orient, reps, tag in ((None, (3, 3, 4), "surf100"), (o111, (4, 2, 3), "surf111")):
        x, box = fcc(a0, reps, orient=orient)
        sbox = Box(box.lo - [0, 0, 10.0], box.hi + [0, 0, 10.0], (True, True, False))
        xr = _relaxed(potential, x, sbox)
        frames.append(_frame(potential, xr, sbox, tag))
        for T in (300.0, 700.0, 1100.0):
            for xs in _md_snapshots(potential, xr, sbox, T, 2 * scale, 60, rng):
                frames.append(_frame(potential, xs, sbox, tag))
    return frames


def split(frames: list, fractions=(0.8, 0.1, 0.1), seed: int = 7):
    """Train / validation / test lists, drawn at random within each tag (stratified)."""
    rng = np.random.default_rng(seed)
    out = ([], [], [])
    for tag in sorted({f.tag for f in frames}):
        idx = [k for k, f in enumerate(frames) if f.tag == tag]
        rng.shuffle(idx)
        n = len(idx)
        nv = max(1, int(round(fractions[1] * n))) if n >= 3 and fractions[1] > 0 else 0
        nt = max(1, int(round(fractions[2] * n))) if n >= 3 and fractions[2] > 0 else 0
        for k in idx[:nt]:
            out[2].append(frames[k])
        for k in idx[nt:nt + nv]:
            out[1].append(frames[k])
        for k in idx[nt + nv:]:
            out[0].append(frames[k])
    return out


def save_frames(path: str, frames: list) -> None:
    """All frames in one .npz (concatenated arrays + per-frame offsets), written atomically
    (temporary file in the same folder, then renamed)."""
    import os
    import tempfile

    n = np.array([f.natoms for f in frames])
    fd, tmp = tempfile.mkstemp(suffix=".npz.tmp", dir=os.path.dirname(os.path.abspath(path)))
    try:
        with os.fdopen(fd, "wb") as fh:
            _savez_frames(fh, frames, n)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _savez_frames(fh, frames, n) -> None:
    np.savez_compressed(
        fh, natoms=n, x=np.concatenate([f.x for f in frames]),
        types=np.concatenate([f.types for f in frames]),
        forces=np.concatenate([f.forces for f in frames]),
        lengths=np.array([f.lengths for f in frames]),
        periodic=np.array([f.periodic for f in frames]),
        energy=np.array([f.energy for f in frames]),
        virial=np.array([f.virial if f.virial is not None else np.full(6, np.nan) for f in frames]),
        tag=np.array([f.tag for f in frames]))


def load_frames(path: str) -> list:
    with np.load(path, allow_pickle=False) as z:
        off = np.concatenate([[0], np.cumsum(z["natoms"])])
        out = []
        for k in range(len(z["natoms"])):
            s = slice(off[k], off[k + 1])
            v = z["virial"][k]
            out.append(Frame(z["x"][s], z["lengths"][k], tuple(bool(p) for p in z["periodic"][k]),
                             z["types"][s], float(z["energy"][k]), z["forces"][s],
                             None if np.any(np.isnan(v)) else v, str(z["tag"][k])))
    return out


def read_extxyz(path: str, elements: list) -> list:
    """Frames from an extended-XYZ file as ASE writes it (energy, forces, stress per frame;
    ASE's stress is σ = (1/V) ∂E/∂ε in eV/Å³, Voigt xx yy zz yz xz xy → W = −σ V here).
    Orthogonal cells only; ``elements`` gives the type order. Needs ASE."""
    try:
        from ase.io import read
    except ImportError:  # pragma: no cover
        raise ImportError("reading extxyz needs ASE: pip install ase") from None
    from ..atomistic.ase_interface import box_from_atoms

    out = []
    for k, atoms in enumerate(read(path, index=":", format="extxyz")):
        box = box_from_atoms(atoms)
        sym = atoms.get_chemical_symbols()
        bad = sorted(set(sym) - set(elements))
        if bad:
            raise ConfigError(f"{path}: frame {k} has elements {bad} not in {list(elements)}")
        types = np.array([elements.index(s) for s in sym], np.int32)
        calc = atoms.calc
        if calc is None or "energy" not in calc.results or "forces" not in calc.results:
            raise ConfigError(f"{path}: frame {k} lacks energy or forces")
        vir = None
        if "stress" in calc.results and all(atoms.pbc):
            s = np.asarray(calc.results["stress"])
            if s.shape == (3, 3):
                s = s[[0, 1, 2, 1, 0, 0], [0, 1, 2, 2, 2, 1]]
            vir = -atoms.get_volume() * s[[0, 1, 2, 5, 4, 3]]
        x = atoms.positions - box.lo
        out.append(Frame(np.array(x), box.lengths.copy(), tuple(box.periodic), types,
                         float(calc.results["energy"]), np.array(calc.results["forces"]), vir,
                         str(atoms.info.get("config_type", "extxyz"))))
    return out
