"""Blended statics (``handshake.statics = "blended"``, mscouple/coupling/blended_statics.py)
through the case file: the reduced EAM Cu(001) indentation of
tests/run/test_indentation.py::test_eam_coupled_energy_ledger_of_both_scales (9 x 9 x 6-cell
patch in a 13 x 13 x 9-cell block, sphere R = 8 Å, six 0.25 Å increments, run.tolerance
1e-3), against alternating Schwarz and the fully atomistic block with the same sites; checks 1
and 4 under blended statics; and ``mscouple check`` accepting / refusing the key."""
from __future__ import annotations

import csv
import importlib.util
import json
import os
import shutil
import sys

import numpy as np
import pytest

from helpers.mpi_launch import ROOT, mpirun
from mscouple.cli.main import main

EXAMPLE = os.path.join(ROOT, "examples", "nanoindentation")


def _make_case():
    spec = importlib.util.spec_from_file_location("make_case", os.path.join(EXAMPLE, "make_case.py"))
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    return m


def _cases(tmp_path) -> dict:
    """Case files: 'blended', 'schwarz' (coupled, 1 + 1 ranks as written) and 'md' (the block)."""
    m = _make_case()
    shutil.copy(os.path.join(EXAMPLE, m.POTENTIAL), tmp_path / m.POTENTIAL)
    out = {}
    for name in ("blended", "schwarz"):
        text = m.coupled_case((9, 9, 6), (13, 13, 9), cells=(12, 12, 9), coarsening=2.0,
                              width=5.0, radius=8.0, increment=0.25, steps=6,
                              out=str(tmp_path / name), fields_every=0, atoms_every=0, statics=name)
        out[name] = tmp_path / f"{name}.toml"
        out[name].write_text(text)
    out["md"] = tmp_path / "md.toml"
    out["md"].write_text(m.md_case((13, 13, 9), radius=8.0, increment=0.25, steps=6, out=str(tmp_path / "md"),
                                   atoms_every=0))
    return out


def _columns(path) -> dict:
    rows = list(csv.DictReader(open(path / "run.csv")))
    return {k: np.array([float(r[k]) for r in rows]) for k in rows[0]}


def test_blended_statics_closes_the_ledger_of_both_scales(tmp_path):
    """The ledger of both scales under the partition of unity (``ledger_residual`` = E_atoms_w
    + E_continuum_w + dE_indenter − W_indenter, definition unchanged) closes with the blended
    energy minimised, where alternating Schwarz leaves the stress-mismatch work.

    Measured (1 + 2 ranks, overlap 5 Å; W = 3.99 eV at 1.5 Å): |residual| ≤ 0.012 eV at every
    increment (+0.0032, +0.0045, −0.0109, −0.0109, −0.0087, −0.0120 eV at d = 0.25 … 1.5 Å);
    Schwarz on the same case: −0.045 eV (−1.1 % of W) at 1.5 Å.
    The floor is the quadrature of W_indenter from the relaxed end loads of each increment (and
    the relaxation tolerance): the fully atomistic block's own ledger E_pot + ΔE_indenter −
    W_indenter was +0.0044, +0.0049, −0.012, −0.0094, −0.0048, −0.0089 eV at the same depths.
    Asserted: |residual| ≤ 0.01 eV + 0.2 % of W at every increment, and Schwarz's at 1.5 Å more
    than twice that. Stopped at 1.5 Å: at 1.75 Å blended statics' band watch (which reaches a
    nearest-neighbour distance into the core of this small patch) sees a defect under the tip.

    P(d) against the fully atomistic block (6,084 atoms): blended −2.3 % at 0.25 Å, −0.9 … +2.2 %
    at 0.5 … 1.5 Å (+0.7 % at 1.5 Å); Schwarz +4.8 % at 1.5 Å. Asserted: within 3 % at
    d ≥ 0.5 Å (5 % at 0.25 Å), and closer than Schwarz at 1.5 Å.

    The same first two increments on 1 + 1 and on 2 + 1 ranks give the same columns (measured to
    1e-12 eV; asserted rtol 1e-8). Iterations per increment (reference solve first): blended 5, 4,
    4, 6, 7, 11, 18; Schwarz 5, 5, 6, 7, 6, 6, 8."""
    cases = _cases(tmp_path)
    exe = [sys.executable, "-m", "mscouple.cli.main", "run"]
    runs = [("blended", 3, cases["blended"], ["--set", "layout.patches.tip=2"]),
            ("one", 2, cases["blended"], ["--set", "run.steps=2"]),
            ("two_fe", 3, cases["blended"], ["--set", "run.steps=2", "--set", "layout.continuum=2"]),
            ("schwarz", 2, cases["schwarz"], []),
            ("md", 1, cases["md"], [])]
    for name, n, case, extra in runs:
        r = mpirun([(n, exe + [str(case), "--output", str(tmp_path / name), *extra])], timeout=600)
        assert r.returncode == 0, (name, r.stdout[-2000:] + r.stderr[-2000:])
    bl, one, two, sw, md = (_columns(tmp_path / n) for n in ("blended", "one", "two_fe", "schwarz", "md"))
    d, W = bl["indenter_depth"], bl["W_indenter"]
    assert np.allclose(d, 0.25 * np.arange(7))
    # the ledger's definition is the Schwarz one; the pad-work columns are Schwarz's only
    dEi = bl["E_indenter"] - bl["E_indenter"][0]
    res = bl["ledger_residual"]
    assert np.allclose(res, bl["E_atoms_w"] + bl["E_continuum_w"] + dEi - W, rtol=0, atol=1e-9)
    assert "W_pad" not in bl and "ledger_atoms" not in bl and "W_pad" in sw
    bound = 0.01 + 2e-3 * W
    assert np.all(np.abs(res) <= bound), res
    assert abs(sw["ledger_residual"][-1]) > 2 * bound[-1], sw["ledger_residual"]
    # both shares are there
    assert np.all(bl["E_continuum_w"][2:] > 0.2 * W[2:]) and np.all(bl["E_atoms_w"][2:] > 0.3 * W[2:])
    summ = json.loads((tmp_path / "blended" / "summary.json").read_text())
    assert summ["schwarz_converged"] and summ["ledger_residual"] == pytest.approx(res[-1], abs=1e-9)
    assert np.all(bl["schwarz_iterations"] <= 40) and np.all(bl["residual_atoms"] <= 1e-3)
    # P(d) against the fully atomistic block and Schwarz
    assert np.allclose(md["indenter_depth"], d)
    P, Pmd, Psw = bl["indenter_load"], md["indenter_load"], sw["indenter_load"]
    rel = P[1:] / Pmd[1:] - 1
    assert abs(rel[0]) < 0.05 and np.all(np.abs(rel[1:]) < 0.03), rel
    assert abs(P[-1] / Pmd[-1] - 1) < abs(Psw[-1] / Pmd[-1] - 1), (P[-1], Psw[-1], Pmd[-1])
    # rank-count independence: 1 + 1 and 2 + 1 (MUMPS, ghost nodes) against 1 + 2
    for k in ("indenter_load", "W_indenter", "E_atoms_w", "E_continuum_w", "dE_indenter", "ledger_residual",
              "E_atoms", "schwarz_iterations"):
        for other in (one, two):
            assert np.allclose(other[k], bl[k][:3], rtol=1e-8, atol=1e-10), (k, other[k], bl[k][:3])


def test_blended_hertz_branch_popin_and_defect_in_band(tmp_path):
    """Checks 1 and 4 under blended statics with the 1 Å overlap make_case uses with it
    (tests/run/test_indentation.py::test_eam_coupled_hertz_branch_popin_and_defect_in_band's
    case: a 10 x 10 x 7-cell patch in a 30 x 30 x 20-cell block, 14 x 14 x 10 graded cells,
    1 + 2 ranks, 1 Å increments of a sphere R = 8 Å). The overlap's atoms follow the continuum,
    so a defect stops at the free atoms next to them: the band watched reaches one
    nearest-neighbour distance (2.56 Å) into the core, but not toward the indented surface
    (watched there, the atoms under the tip tripped it at 2 Å). Measured:

    * contact radius 2.54, 3.64, 5.26 Å at d = 1, 2, 3 (Hertz 2.83, 4.00, 4.90), P / P_Hertz =
      1.13, 1.15, 0.91 (Schwarz on this case: 1.14, 1.19, 0.96); asserted as there: radii
      within one nearest-neighbour distance, ratios in [0.85, 1.25];
    * ledger residual −0.119, −0.011, +0.022 eV at 1, 2, 3 Å (W 1.44, 8.21, 20.8 eV; the 1 Å
      value is W's quadrature over the first contact); asserted ≤ 0.01 eV + 1 % of W at 2, 3 Å;
    * pop-in: the load drops from 18.05 eV/Å at 4 Å to 15.86 at 5 Å (announced);
    * increment 5 (depth 5): a defect reached the band 9.09 Å inside the patch's nearest side
      face (pad 6.5 Å, overlap 1 Å, nearest neighbours 2.56 Å: asserted between 6.5 and 10.06 Å), one line,
      the run stopped with P(d) on disk."""
    import re

    from helpers.indentation import check_elastic_branch_and_drop

    m = _make_case()
    shutil.copy(os.path.join(EXAMPLE, m.POTENTIAL), tmp_path / m.POTENTIAL)
    text = m.coupled_case((10, 10, 7), (30, 30, 20), cells=(14, 14, 10), coarsening=3.0,
                          width=m.default_width("blended"), radius=8.0, increment=1.0, steps=6,
                          out=str(tmp_path / "run"), atoms_every=0, fields_every=0, ranks=(1, 2), statics="blended")
    (tmp_path / "case.toml").write_text(text)
    r = mpirun([(3, [sys.executable, "-m", "mscouple.cli.main", "run", str(tmp_path / "case.toml")])], timeout=600)
    assert r.returncode != 0
    log = r.stdout + r.stderr
    lines = sorted({re.sub(r"^\[rank \d+\] ", "", ln) for ln in log.splitlines()
                    if "defect reached the handshake band" in ln})
    assert len(lines) == 1, log[-3000:]
    hit = re.search(r"increment (\d+) \(depth ([0-9.]+)\): a defect reached the handshake band at "
                    r"\(([-0-9.e]+), ([-0-9.e]+), ([-0-9.e]+)\)", lines[0])
    assert hit and int(hit.group(1)) == 5, lines[0]
    pos = np.array([float(hit.group(k)) for k in (3, 4, 5)])
    lo, hi, _, _ = m.geometry((10, 10, 7), (30, 30, 20))
    inner = min(np.min(pos[:2] - np.array(lo[:2])), np.min(np.array(hi[:2]) - pos[:2]), pos[2] - lo[2])
    assert 6.5 < inner < 6.5 + 1.0 + 3.615 / np.sqrt(2), (pos, lo, hi)
    assert "pop-in: load drop after increment 4 at depth 4" in log
    t = list(csv.DictReader(open(tmp_path / "run" / "indentation.csv")))
    d, P, a, W, res = (np.array([float(row[k]) for row in t])
                       for k in ("depth", "load", "contact_radius", "W_indenter", "ledger_residual"))
    check_elastic_branch_and_drop(d, P, a, drop=0.95)
    assert np.all(np.abs(res[2:4]) <= 0.01 + 0.01 * W[2:4]), res
    # make_case writes indenter.thickness (apex to the fixed bottom): the Hertz load on a bonded
    # layer, with ν of the Hill average of the Cauchy–Born constants (0.345)
    from mscouple.atomistic.indenter import bonded_layer_factor
    from mscouple.config import load_case
    from mscouple.run.indentation import hertz_poisson

    case = load_case(str(tmp_path / "case.toml"))
    nu = hertz_poisson(case)
    hz, hl = (np.array([float(row[k]) for row in t]) for k in ("hertz_load", "hertz_load_layer"))
    assert 0.33 < nu < 0.36 and case.indenter.thickness == pytest.approx(lo[2] + 7 * 3.61496 - 0.25 * 3.61496)
    assert np.allclose(hl, hz * bonded_layer_factor(d, 8.0, case.indenter.thickness, nu), rtol=1e-9, atol=1e-12)
    assert np.all(hl[1:] > hz[1:])


def test_check_accepts_and_refuses_the_key(tmp_path, capsys):
    """``mscouple check``: the blended indentation case is valid; an unknown value, a dynamics
    case and the dislocation-density continuum are refused with one line naming the key."""
    cases = _cases(tmp_path)
    assert main(["check", str(cases["blended"])]) == 0
    capsys.readouterr()
    bad = [([str(cases["blended"]), "--set", "handshake.statics=blend"], "expected one of 'schwarz', 'blended'"),
           ([os.path.join(ROOT, "examples", "coarse_absorber", "case.toml"), "--set", "handshake.statics=blended"],
            "quasi-static method"),
           ([os.path.join(ROOT, "examples", "plastic_patch", "case.toml"), "--set", "handshake.statics=blended"],
            "linear elastic continuum")]
    for argv, words in bad:
        assert main(["check", *argv]) == 2
        err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
        assert len(err) == 1 and "handshake.statics" in err[0] and words in err[0], err


def test_check_applies_the_fit_rule_to_schwarz_only(tmp_path, capsys):
    """Schwarz's core nodes take the atoms' fit, so ``mscouple check`` wants the elements at the
    core boundary inside the patch less its pad; blended statics has no fit and runs on such a
    mesh (a 15 x 15 x 9 patch in 14 x 14 x 10 graded cells, overlap 5 Å: the elements reach
    0.23 Å into the pad)."""
    m = _make_case()
    shutil.copy(os.path.join(EXAMPLE, m.POTENTIAL), tmp_path / m.POTENTIAL)
    case = tmp_path / "wide.toml"
    case.write_text(m.coupled_case((15, 15, 9), (24, 24, 12), cells=(14, 14, 10), coarsening=3.0, width=5.0,
                                   radius=8.0, increment=0.5, steps=1, out=str(tmp_path / "wide"),
                                   statics="blended"))
    assert main(["check", str(case)]) == 0
    capsys.readouterr()
    assert main(["check", str(case), "--set", "handshake.statics=schwarz"]) == 2
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(err) == 1 and "handshake.width" in err[0] and "into the pad" in err[0], err
