"""A coupled run with the NNP (examples/nnp_cu/coupled_case.toml, 60 steps): the Cauchy–Born
continuum built from the model and the patch running it keep the ledger as the EAM does.

Continuum on 1 rank, patch on 1 (``mpirun -n 2 mscouple run``): a longitudinal packet enters
a 384-atom fcc Cu patch across a bridging-domain band. The same case with the EAM it was
trained on (its own zero-stress a0) is the peer. Measured at 150 steps: max ledger drift
1.35e-5 (NNP) and 3.9e-5 (EAM) of the packet energy.
"""
import json
import os
import shutil
import subprocess

import pytest
from helpers.mpi_launch import ROOT, clean_env

EXAMPLE = os.path.join(ROOT, "examples", "nnp_cu", "coupled_case.toml")
EAM_FILE = os.path.join(ROOT, "tests", "data", "Cu_zhou04.eam.alloy")


def _run(tmp_path, name: str, replace: dict) -> dict:
    text = open(EXAMPLE).read()
    for a, b in replace.items():
        assert a in text
        text = text.replace(a, b)
    text = text.replace("steps = 150", "steps = 60").replace(
        'directory = "runs/nnp_cu_coupled"', f'directory = "{tmp_path / ("out_" + name)}"')
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    mpirun = shutil.which("mpirun")
    cmd = [mpirun, "--oversubscribe", "-n", "2", os.path.join(ROOT, ".venv", "bin", "python"), "-m",
           "mscouple.cli.main", "run", str(path)]
    res = subprocess.run(cmd, capture_output=True, text=True, env=clean_env(), cwd=str(tmp_path),
                         timeout=300)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    return json.load(open(tmp_path / ("out_" + name) / "summary.json"))


@pytest.mark.skipif(shutil.which("mpirun") is None, reason="needs mpirun")
def test_coupled_packet_ledger_with_nnp_as_with_eam(tmp_path):
    shutil.copy(os.path.join(ROOT, "examples", "nnp_cu", "cu_nnp.npz"), tmp_path / "cu_nnp.npz")
    nnp = _run(tmp_path, "nnp", {})
    eam = _run(tmp_path, "eam", {'{ kind = "nnp", file = "cu_nnp.npz" }': f'{{ kind = "eam", file = "{EAM_FILE}" }}',
                                 "constant = 3.614318564": "constant = 3.614960129"})
    assert nnp["status"] == eam["status"] == "ok"
    assert nnp["energy_scale"] == pytest.approx(eam["energy_scale"], rel=0.05)  # same packet
    assert abs(nnp["energy_drift_max"]) < 1e-4
    assert abs(nnp["energy_drift_max"]) < 3 * max(abs(eam["energy_drift_max"]), 1e-6)
