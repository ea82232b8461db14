import pytest

from mscouple.errors import ConfigError
from mscouple.homogenization import scales as s


def test_numbers_closed_form():
    assert s.peclet(-2.0, 3.0, 0.5) == pytest.approx(12.0, rel=1e-15)
    assert s.damkohler(4.0, 0.5, diffusivity=0.1) == pytest.approx(10.0, rel=1e-15)
    assert s.damkohler(4.0, 0.5, velocity=2.0) == pytest.approx(1.0, rel=1e-15)
    assert s.length_ratio(1.0, 50.0) == pytest.approx(0.02, rel=1e-15)
    assert s.timestep_ratio(0.002, 0.5) == pytest.approx(0.004, rel=1e-15)
    with pytest.raises(ConfigError):
        s.damkohler(1.0, 1.0)
    with pytest.raises(ConfigError):
        s.length_ratio(0.0, 1.0)


def test_warnings_where_separation_fails():
    good = s.scale_numbers(micro_length=1.0, macro_length=100.0, diffusivity=1.0, rate=1.0,
                           velocity=0.1, dt_micro=0.001, dt_macro=1.0)
    assert {n.name for n in good} == {"l/H", "Pe", "Da", "dt_micro/dt_macro"}
    assert all(n.ok for n in good)
    bad = {n.name: n for n in s.scale_numbers(micro_length=30.0, macro_length=100.0, diffusivity=1e4,
                                               rate=1.0, dt_micro=0.5, dt_macro=1.0)}
    assert not bad["l/H"].ok and not bad["Da"].ok and not bad["dt_micro/dt_macro"].ok
    assert "Pe" not in bad  # no velocity given
