"""Cascade → KMC chain on a tiny case: the relaxed survivors are handed over through one
file and one case key; the peak-damage file is refused unless asked for; KMC starts at the
MD time and conserves V − I in a periodic box; case files are validated with one-line
errors."""
import csv
import json
import os

import numpy as np
import pytest
from mpi4py import MPI

from helpers.cascade_case import CU, tiny_case

from mscouple.cascade.case import load_case
from mscouple.cascade.defects import read_defect_list
from mscouple.cascade.pipeline import plot_counts, run_kmc, run_md
from mscouple.errors import ConfigError

CASE = tiny_case(0.15)


@pytest.fixture(scope="module")
def done(tmp_path_factory):
    d = tmp_path_factory.mktemp("case")
    (d / "case.toml").write_text(CASE)
    case = load_case(d / "case.toml")
    md = run_md(MPI.COMM_SELF, case, str(d / "out"))
    return d, case, md


def test_md_half_writes_the_handoff(done):
    d, case, md = done
    dl = read_defect_list(d / "out" / "defects_relaxed.txt")
    pk = read_defect_list(d / "out" / "defects_peak.txt")
    assert dl.label == "relaxed" and pk.label == "peak"
    assert np.sum(dl.kinds == "V") == np.sum(dl.kinds == "I") == md["surviving_frenkel"]
    assert md["peak_frenkel"] >= md["surviving_frenkel"] and md["peak_frenkel"] >= 1
    assert dl.time == pytest.approx(md["md_time_ps"])
    rows = list(csv.DictReader(open(d / "out" / "md_history.csv")))
    assert max(int(r["n_vacancies"]) for r in rows) == md["peak_frenkel"]
    assert json.load(open(d / "out" / "md_summary.json"))["natoms"] == 500


def test_kmc_half_from_the_relaxed_survivors(done):
    d, case, md = done
    s = run_kmc(MPI.COMM_SELF, case, str(d / "out"))
    rows = np.array(s["rows"])
    assert rows[0, 0] == pytest.approx(md["md_time_ps"] * 1e-12)
    assert np.all(np.diff(rows[:, 0]) > 0) and rows[-1, 0] == pytest.approx(1e-6)
    # periodic box, no sinks: vacancies − interstitials is conserved (= 0 for Frenkel pairs)
    np.testing.assert_array_equal(rows[:, 1] - rows[:, 2], 0)
    assert rows[0, 1] == md["surviving_frenkel"]
    assert s["final"]["vacancies"] == md["surviving_frenkel"] - s["recombined"]
    plot_counts(str(d / "out"), str(d / "out" / "md_history.csv"),
                {"relaxed": str(d / "out" / "kmc_history.csv")}, str(d / "out" / "counts.png"))
    assert (d / "out" / "counts.png").stat().st_size > 1000


def test_peak_handoff_only_explicitly(done):
    d, case, md = done
    with pytest.raises(ConfigError, match="peak"):
        run_kmc(MPI.COMM_SELF, case, str(d / "out"), initial="out/defects_peak.txt")
    s = run_kmc(MPI.COMM_SELF, case, str(d / "out"), initial="out/defects_peak.txt",
                handoff="peak", tag="_peak")
    assert s["rows"][0][1] == md["peak_frenkel"]


def test_case_refusals(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text(CASE.replace("t_end = 1e-6", "t_end = -1.0"))
    with pytest.raises(ConfigError, match=r"kmc.t_end = -1: expected a time > 0 s"):
        load_case(p)
    p.write_text(CASE.replace("handoff", "x").replace("seed = 3", "hand_off = \"peak\""))
    with pytest.raises(ConfigError, match="did you mean 'kmc.handoff'"):
        load_case(p)
    p.write_text(CASE.replace("[kmc]", "[kmc]\nhandoff = \"max\""))
    with pytest.raises(ConfigError, match="kmc.handoff = 'max'"):
        load_case(p)


def test_absent_migration_energies_come_from_the_engine(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text(CASE.replace("em_vacancy = 0.551\n", "").replace("em_interstitial = 0.1\n", ""))
    k = load_case(p).kmc
    assert k.em_vacancy is None and k.em_interstitial is None
    prm = k.params(3.615, 0.5512, 1.276, 0.157, 0.0602)
    assert prm.em_vacancy == 0.5512 and prm.em_interstitial == 0.0602
    assert prm.eb_divacancy is None        # vacancy_emission = false in this case
    assert prm.eb_vacancy_clusters == {}
    p.write_text(CASE.replace("vacancy_emission = false", "eb_trivacancy = 0.567"))
    k = load_case(p).kmc
    prm = k.params(3.615, 0.5512, 1.276, 0.157, 0.0602, eb_trivacancy=0.4)
    assert prm.eb_vacancy_clusters == {3: 0.567}  # the case's value wins over a computed one
    assert prm.binding(3) == 0.567 and prm.eb_divacancy == 0.157


def test_example_case_at_reduced_size(tmp_path):
    """examples/cascade_kmc/case.toml itself (potential path, ZBL join, border layer, the
    relaxed hand-off key, KMC box scale), shrunk to 5³ cells, 150 eV and 0.15 ps, with the
    migration energies our NEB computed given in the case so no NEB runs: the relaxed survivors are
    no more than the peak damage, each a Frenkel pair, and KMC from them reaches its end
    time with V − I conserved (periodic box)."""
    import tomllib

    import tomli_w

    ex = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "cascade_kmc", "case.toml")
    with open(ex, "rb") as fh:
        t = tomllib.load(fh)
    t["material"]["potential"] = CU
    t["cascade"].update(cells=5, energy=150.0, duration=0.15, equilibrate=0.02, frame_every=0.05,
                        relax_fmax=0.05)
    t["kmc"].update(t_end=1e-6, em_vacancy=0.551, em_interstitial=0.060, eb_trivacancy=0.567)
    (tmp_path / "case.toml").write_text(tomli_w.dumps(t))
    case = load_case(tmp_path / "case.toml")
    assert case.kmc.handoff == "relaxed"
    md = run_md(MPI.COMM_SELF, case, str(tmp_path / "out"))
    assert 1 <= md["peak_frenkel"] and md["surviving_frenkel"] <= md["peak_frenkel"]
    s = run_kmc(MPI.COMM_SELF, case, str(tmp_path / "out"))
    rows = np.array(s["rows"])
    assert rows[0, 1] == md["surviving_frenkel"]
    np.testing.assert_array_equal(rows[:, 1] - rows[:, 2], 0)
    assert rows[-1, 0] == pytest.approx(1e-6)
