"""mscouple.perfmodel: the band of a box patch, who waits, and the suggested split."""
from __future__ import annotations

import pytest

from mscouple.perfmodel import Costs, band_atoms, predict, suggest_layout


def test_band_of_a_cube_and_of_a_slab():
    # 10 × 10 × 10 box, band 1 wide on every face: 1 − 8³/10³ of the atoms
    assert band_atoms(1000, [10, 10, 10], 1.0) == pytest.approx(1000 * (1 - 0.512))
    # periodic in y and z: only the two x faces
    assert band_atoms(1000, [10, 10, 10], 1.0, [True, False, False]) == pytest.approx(200)


def test_subcycling_moves_the_wait_and_the_best_split():
    p1 = predict(32000, 200000, 15616, 1, 1, subcycle=1)
    p10 = predict(32000, 200000, 15616, 1, 1, subcycle=10)
    assert p1.waits == "patch" and p10.waits == "continuum"
    assert p10.t_fe == pytest.approx(p1.t_fe / 10)
    band = band_atoms(1e6, [98.0] * 3, 3.12)
    best = suggest_layout(64, 1e6, 1e5, band, band_distributed=True)
    assert best.p_fe + best.p_md == 64
    assert all(best.t_step <= predict(1e6, 1e5, band, 64 - q, q, band_distributed=True).t_step
               for q in range(1, 64))


def test_merged_projection_halves_the_serial_points_and_the_bytes():
    # one projection per MD step (merged, the default) against two (damping band):
    # the serial part (band solve + messages) and the bytes per step are exactly halved
    one = predict(32000, 23000, 15616, 1, 1, projections=1)
    two = predict(32000, 23000, 15616, 1, 1, projections=2)
    assert two.bytes_per_step == pytest.approx(2 * one.bytes_per_step)
    assert one.bytes_per_step == pytest.approx(2 * 8 * 3 * 15616)   # both directions, 3D doubles
    serial = lambda p: p.t_step - max(p.t_md, p.t_fe)  # noqa: E731
    assert serial(two) == pytest.approx(2 * serial(one))
    with pytest.raises(ValueError, match="projections"):
        predict(32000, 23000, 15616, 1, 1, projections=3)


def test_overlapped_step_hides_the_band_solve_behind_the_interior_pairs():
    # 32,000 atoms, half in the band, 1 + 1 ranks: the round trip (solve + messages) is
    # shorter than the interior half of the MD step, so the step is the MD step itself
    plain = predict(32000, 23000, 15616, 1, 1)
    over = predict(32000, 23000, 15616, 1, 1, overlap=True)
    assert over.t_step == pytest.approx(over.t_md)
    assert plain.t_step - over.t_step == pytest.approx(plain.t_band + plain.t_msg)
    # a band solve longer than the interior's pairs shows again (a band-heavy patch)
    slow = predict(32000, 23000, 15616, 1, 1, overlap=True, costs=Costs(c_band=6.6e-7))
    assert slow.t_step == pytest.approx(15616 / 32000 * slow.t_md + slow.t_band + 2 * slow.t_msg)
    assert slow.t_step > slow.t_md
    # a second projection per step (damping band) stays serial
    two = predict(32000, 23000, 15616, 1, 1, overlap=True, projections=2)
    assert two.t_step == pytest.approx(over.t_step + two.t_band + two.t_msg)


def test_band_weights_set_a_floor_under_the_coupled_step():
    # a band pair's energy weight costs c_weight of an atom's MD work: the patch's MD time is
    # (1 + c_weight B/N) that of the unweighted patch, and with free messages, no band solve
    # and an idle continuum the coupled step is still that much above pure MD of the patch
    free = dict(c_band=0.0, latency=0.0, bandwidth=float("inf"))
    plain = predict(32000, 23000, 15616, 1, 1, overlap=True, costs=Costs(c_weight=0.0, **free))
    weighted = predict(32000, 23000, 15616, 1, 1, overlap=True, costs=Costs(**free))
    floor = 1.0 + Costs().c_weight * 15616 / 32000
    assert weighted.t_md == pytest.approx(floor * plain.t_md)
    assert weighted.t_step / plain.t_step == pytest.approx(floor)
    assert 1.04 < floor < 1.05  # the 32,000-atom benchmark: its band holds 49 % of the atoms
    # the floor falls with the band's share: a 10^6-atom cube with the same band width
    band = band_atoms(1e6, [98.0] * 3, 3.12)
    big = predict(1e6, 1e5, band, 63, 1, costs=Costs(**free)).t_md
    assert big / predict(1e6, 1e5, band, 63, 1, costs=Costs(c_weight=0.0, **free)).t_md < 1.02


def test_check_prints_the_models_numbers_for_a_coupled_case():
    """`mscouple check`'s model lines (perfmodel.advice) on examples/wave_3d: the planned
    layout's step and phases are predict()'s, with the band solve distributed over the
    continuum ranks (no damping band), the overlapped step's line is predict(overlap=True)'s,
    and the suggested split is suggest_layout()'s."""
    import math
    import re

    from helpers.cases import example
    from mscouple.config import load_case
    from mscouple.perfmodel import advice
    from mscouple.scales import atom_estimate

    case = load_case(example("wave_3d"), ["layout.continuum=1"])
    lines = advice(case, 8)
    assert "band solve distributed over the continuum ranks" in lines[0]
    hs, c = case.handshake, case.continuum
    atoms = float(sum(atom_estimate(p) for p in case.patches))
    nums = [float(x) for x in re.findall(r"~([0-9.e+]+)", lines[0])[:2]]
    assert nums[0] == pytest.approx(atoms, rel=1e-2)
    band = nums[1]
    nodes = float(math.prod(n + 1 for n in c.mesh.cells))
    kw = dict(subcycle=hs.subcycle, dim=c.dim, projections=1 if hs.damping == 0 else 2,
              band_distributed=True)
    p_md = sum(case.layout.patches.values())
    want = predict(atoms, nodes, band, p_md, 1, **kw)
    got = re.search(r"planned +1 continuum \+ (\d+) patch ranks: ([0-9.e+-]+) ms per MD step "
                    r"\(MD ([0-9.e+-]+), FE ([0-9.e+-]+), band ([0-9.e+-]+)", lines[1])
    assert int(got.group(1)) == p_md
    # printed with 3 significant digits (band atoms read back from the line: 3 digits too)
    for val, ref in zip(got.groups()[1:], (want.t_step, want.t_md, want.t_fe, want.projections * want.t_band)):
        assert float(val) == pytest.approx(1e3 * ref, rel=2e-2)
    # wave_3d: one LJ patch rank, so the overlapped step applies; its numbers are predict()'s
    ov = predict(atoms, nodes, band, p_md, 1, overlap=True, **kw)
    got = re.search(r"overlapped patch step: applies .*: ([0-9.e+-]+) ms per MD step, hides ([0-9.e+-]+) ms",
                    lines[2])
    assert float(got.group(1)) == pytest.approx(1e3 * ov.t_step, rel=2e-2)
    assert float(got.group(2)) == pytest.approx(1e3 * (want.t_step - ov.t_step), rel=5e-2)
    assert ov.t_step < want.t_step
    # the patch on two ranks: the overlapped step applies there too (coupling/overlap.py),
    # with predict()'s numbers for 2 patch ranks
    more = advice(load_case(example("wave_3d"), ["layout.continuum=1", "layout.patches.core=2"]), 8)
    ov2 = predict(atoms, nodes, band, 2, 1, overlap=True, **kw)
    got = [m for m in (re.search(r"overlapped patch step: applies .*: ([0-9.e+-]+) ms per MD step", x)
                       for x in more) if m]
    assert len(got) == 1 and float(got[0].group(1)) == pytest.approx(1e3 * ov2.t_step, rel=2e-2)
    best = suggest_layout(8, atoms, nodes, band, **kw)
    if len(lines) > 3:
        assert f"[layout] continuum = {best.p_fe}, patches total {best.p_md}" in lines[3]
    else:
        assert (best.p_fe, best.p_md) == (1, p_md)
