"""`mscouple run | check` accept the cascade → KMC case (one path for users): the MD half,
the hand-off through kmc.initial_defects, the KMC half, the figure and summary.json in the
run folder, written atomically; the run-folder rules (a non-empty folder needs --overwrite),
--set, and the refusals (--restart, a hand-off file the run does not write), each one line
with exit 2."""
import json
import os

import numpy as np
import pytest

from helpers.cascade_case import tiny_case

from mscouple.cli.main import main

CASE = tiny_case(0.1, head='title = "tiny cascade -> KMC"', tail="\n[output]\ndirectory = \"unused-here\"\n")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    case = d / "case.toml"
    case.write_text(CASE)
    out = d / "run"
    rc = main(["run", str(case), "--output", str(out)])
    return d, case, out, rc


def test_run_writes_the_chain(run):
    d, case, out, rc = run
    assert rc == 0
    names = set(os.listdir(out))
    for f in ("defects_relaxed.txt", "defects_peak.txt", "cascade_defects.xyz", "md_history.csv",
              "md_summary.json", "kmc_history.csv", "kmc_summary.json", "defect_counts.png",
              "summary.json"):
        assert f in names, f
    assert not [n for n in names if n.endswith(".tmp")]  # every output renamed into place
    s = json.load(open(out / "summary.json"))
    md, kmc = s["md"], s["kmc"]
    assert s["kind"] == "cascade_kmc" and md["natoms"] == 500 and md["border"] == "langevin"
    assert 0 <= md["surviving_frenkel"] <= md["peak_frenkel"] and md["peak_frenkel"] >= 1
    # energy booked (Langevin layer's heat): the balance drifts < 3e-4 of the PKA energy
    assert abs(md["energy_balance_drift_eV"]) < 3e-4 * 120.0
    # the KMC started from the run's own relaxed survivors, at the MD time, to t_end
    assert kmc["handoff"] == "relaxed" and kmc["initial_defects"] == 2 * md["surviving_frenkel"]
    assert kmc["t_end_s"] == pytest.approx(1e-6)
    rows = np.genfromtxt(out / "kmc_history.csv", delimiter=",", names=True)
    assert rows["time_s"][0] == pytest.approx(md["md_time_ps"] * 1e-12)
    np.testing.assert_array_equal(rows["vacancies"] - rows["interstitials"], 0)  # periodic, no sinks


def test_run_folder_rules_and_refusals(run, capsys):
    d, case, out, rc = run
    assert main(["run", str(case), "--output", str(out)]) == 2  # non-empty: --overwrite needed
    assert "--overwrite" in capsys.readouterr().err
    assert main(["run", str(case), "--output", str(d / "r2"), "--restart", "x.h5"]) == 2
    assert "no checkpoints" in capsys.readouterr().err
    bad = ["--set", 'kmc.initial_defects="elsewhere.txt"']
    assert main(["run", str(case), "--output", str(d / "r3"), *bad]) == 2
    err = capsys.readouterr().err
    assert "kmc.initial_defects = 'elsewhere.txt'" in err and "defects_relaxed.txt" in err
    assert main(["check", str(case), "--set", "cascade.energy=-5.0"]) == 2
    assert "cascade.energy = -5" in capsys.readouterr().err
    bath = ["--set", "cascade.border='continuum'", "--set", "cascade.cells=6"]
    assert main(["check", str(case), *bath]) == 2  # the bath needs moving atoms
    assert "cascade.temperature = 0: expected > 0 K" in capsys.readouterr().err
    assert main(["check", str(case), *bath, "--set", "cascade.temperature=300.0"]) == 0
    assert "heat continuum" in capsys.readouterr().out


def test_bath_case_refused_on_several_ranks():
    """cascade.border = "continuum" shares the MD's rank with the continuum: on 2 ranks the
    run is refused before anything is computed (one line naming the key)."""
    from types import SimpleNamespace

    from mscouple.cascade.case import load_case
    from mscouple.cascade.cli import refusals
    from mscouple.errors import ConfigError

    ex = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "cascade_kmc",
                      "case_bath.toml")
    case = load_case(ex)
    refusals(case, SimpleNamespace(restart=None), 1)
    with pytest.raises(ConfigError, match=r"cascade.border = 'continuum' on 2 ranks: expected 1"):
        refusals(case, SimpleNamespace(restart=None), 2)
