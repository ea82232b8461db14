"""A coupling interval that asks the band atoms for more kinetic energy than they hold:
the error names the node, requested vs available energy, and the right fix."""
from __future__ import annotations

import re

import numpy as np
import pytest
import scipy.sparse as sp

from mscouple.coupling.thermostat import PowerMatchedThermostat
from mscouple.errors import SimulationError


def test_overdraw_names_node_energies_and_fix():
    # 4 atoms, 2 nodes (global ids 7 and 8): atoms 0,1 on node 7, atoms 2,3 on node 8
    rows = np.zeros((4, 9))
    rows[[0, 1], 7] = 1.0
    rows[[2, 3], 8] = 1.0
    N = sp.csr_matrix(rows)
    th = PowerMatchedThermostat(N, mass=np.ones(4))
    v = np.array([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0], [1.0, 0, 0]])
    ke = 0.5 * np.sum(v ** 2, axis=1)  # 0.5 each: 1.0 per node
    ok = th.scale_factors(v, np.array([-0.5, 0.2]))  # remove half of node 7's energy: fine
    assert np.isclose(0.5 * np.sum(ke[:2] * 2 * (ok[:2] ** 2 - 1)) / 1.0, -0.5)
    with pytest.raises(SimulationError) as exc:
        th.scale_factors(v, np.array([-1.5, 0.1]))  # 1.5 asked of node 7, which holds 1.0
    msg = str(exc.value)
    assert "node 7" in msg and "1.5 of kinetic energy" in msg and "hold only 1 " in msg
    assert "run.dt" in msg and "handshake.thermal_every" in msg and "wider handshake band" in msg
    assert "\n" not in msg
    assert re.search(r"2 atom\(s\)", msg)
