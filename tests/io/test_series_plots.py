"""Scalar series (HDF5 + CSV) and the standard plots drawn from them."""
from __future__ import annotations

import csv

import numpy as np

from mscouple.io.plots import make_figures, plot_series
from mscouple.io.series import ScalarSeries, read_series


def _fill(s, steps):
    for k in steps:
        t = 0.01 * k
        s.append(k, t, {"E_kin": np.cos(t) ** 2, "E_pot": np.sin(t) ** 2, "E_total": 1.0, "T_patch0": 300 + k, "P_interface": -k * 0.5})


def test_table_hdf5_and_csv_agree(serial_comm, tmp_path):
    path = tmp_path / "series.h5"
    with ScalarSeries(serial_comm, path, columns={"E_kin": ("energy", "eV")}, flush_every=3) as s:
        _fill(s, range(0, 50, 5))
        s.append(50, 0.5, {"R_wave": 0.25})  # a late column: earlier rows are NaN
    d = read_series(path)
    np.testing.assert_array_equal(d["step"], np.arange(0, 55, 5))
    np.testing.assert_array_equal(d["E_kin"][:-1], np.cos(0.01 * np.arange(0, 50, 5)) ** 2)
    assert d["columns"]["E_kin"] == {"kind": "energy", "unit": "eV"}
    assert d["columns"]["T_patch0"]["kind"] == "temperature" and d["columns"]["P_interface"]["kind"] == "power"
    assert np.isnan(d["R_wave"][0]) and d["R_wave"][-1] == 0.25
    with open(path.with_suffix(".csv")) as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 11
    for i, r in enumerate(rows[:-1]):
        assert int(r["step"]) == 5 * i
        assert float(r["E_pot"]) == d["E_pot"][i]  # %.17g: exact
    # the ledger identity survives the round trip to machine precision
    np.testing.assert_allclose(d["E_kin"][:-1] + d["E_pot"][:-1], d["E_total"][:-1], rtol=0, atol=1e-15)  # a few ulp


def test_resume_drops_rows_after_checkpoint(serial_comm, tmp_path):
    path = tmp_path / "series.h5"
    with ScalarSeries(serial_comm, path) as s:
        _fill(s, range(0, 100, 10))  # ran to 90, checkpoint at 40, then killed
    with ScalarSeries(serial_comm, path, resume_step=40) as s:
        _fill(s, range(50, 100, 10))
    d = read_series(path)
    np.testing.assert_array_equal(d["step"], np.arange(0, 100, 10))
    np.testing.assert_array_equal(d["T_patch0"], 300.0 + np.arange(0, 100, 10))


def test_plots_show_the_table(serial_comm, tmp_path):
    path = tmp_path / "series.h5"
    with ScalarSeries(serial_comm, path) as s:
        _fill(s, range(0, 30))
    d = read_series(path)
    figs = make_figures(d)
    assert set(figs) == {"energy", "temperature", "power"}
    lines = {ln.get_label(): ln for ln in figs["energy"].axes[0].get_lines()}
    np.testing.assert_array_equal(lines["E_kin"].get_ydata(), d["E_kin"])
    drift = figs["energy"].axes[1].get_lines()[0].get_ydata()
    assert np.all(drift == 0.0)  # E_total is constant in this table
    pngs = plot_series(path, tmp_path / "fig")
    import matplotlib.image as mpimg

    for kind, p in pngs.items():
        img = mpimg.imread(p)
        assert img.shape[0] >= 400 and img.shape[1] == 700  # 7 in × 100 dpi
