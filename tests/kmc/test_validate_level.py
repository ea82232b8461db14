"""``mscouple validate --level 8 --quick``: every pass/fail check of the KMC level passes."""
from mscouple.validation.levels import run_level


def test_level_8_quick_passes(serial_comm):
    res = run_level(8, True, serial_comm)
    assert res.available and len(res.checks) == 5
    failed = [(c.quantity, c.computed, c.expected) for c in res.checks if c.passed is False]
    assert not failed
