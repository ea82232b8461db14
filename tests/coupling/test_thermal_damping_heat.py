"""Energy the mechanical damping band removes is handed to the heat equation as heat:
mechanical + thermal energy of both scales is conserved."""

import numpy as np
import pytest

from mscouple.coupling.ledger import EnergyLedger
from mscouple.coupling.thermal import DampingToHeat
from mscouple.validation import wave1d as W
from mscouple.validation.models1d import Heat1D


def test_damped_energy_becomes_continuum_heat_exactly():
    s = W.build(120, ratio=4, band_elements=6, bar_elements=40, multipliers="nodes", damping=0.5)
    W.launch(s.chain, 2 * np.pi / 5, 8.0, s.chain.x0[s.interior[0], 0] + 70)  # too short for the mesh
    bar = s.bar
    heat = Heat1D(bar.x0[:, 0], bar.cells, conductivity=0.3, rho_c=1.0, cell_weight=bar.cell_weight)
    heat.T[:] = 0.0  # temperature excess over the background: round-off relative to the heat itself
    d2h = DampingToHeat(s.coupler, heat)
    thermal = EnergyLedger()
    none = np.zeros(0, np.int64)
    dt = 0.05
    E_th0 = heat.thermal_energy()
    mech = s.coupler.energies()
    thermal.set_state(thermal_energy=E_th0)
    e0 = EnergyLedger.combine(mech, thermal).balance
    mech0 = mech.mechanical + mech.damping_removed  # legacy balance: damping energy counted as lost
    for _ in range(3000):
        s.coupler.step(dt, 1)
        d2h.hand_over(dt)
        heat.step(dt, none, np.zeros(0))
    mech = s.coupler.energies()
    thermal.set_state(thermal_energy=heat.thermal_energy())
    tot = EnergyLedger.combine(mech, thermal)
    removed = mech.damping_removed
    assert removed > 0.5 * mech0  # most of the short wave was absorbed ...
    # ... and every joule of it is now continuum heat (bookkeeping to round-off)
    assert heat.thermal_energy() - E_th0 == pytest.approx(removed, rel=1e-12, abs=0)
    assert mech.damping_heat == pytest.approx(removed, rel=1e-12, abs=0)
    # the combined total changes only by the mechanical integrator's error, identical to the
    # mechanics-only ledger (damping counted as lost) to round-off
    legacy = mech.mechanical + mech.damping_removed - mech0
    assert tot.balance - e0 == pytest.approx(legacy, rel=0, abs=1e-12 * mech0)
    assert abs(tot.balance - e0) < 1e-3 * mech0
    print(f"removed {removed:.6g} of {mech0:.6g}; heat - removed {heat.thermal_energy() - E_th0 - removed:.3g}; "
          f"balance drift {(tot.balance - e0) / mech0:.3g} (rel. to wave energy)")
    # the heat appeared at the band nodes only (where the damping acts)
    rise = heat.T
    band_nodes = s.coupler.bdm.nodes
    assert rise[band_nodes].sum() > 0
    assert heat.source[np.setdiff1d(np.arange(heat.T.size), band_nodes)].max(initial=0.0) == 0.0
