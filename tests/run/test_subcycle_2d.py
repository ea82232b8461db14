"""handshake.subcycle = 10 (impulse r-RESPA of the continuum, mscouple.coupling.subcycle) on
the 2D wave example (triangular LJ patch in P1 triangles, atom multipliers) through
``mscouple run`` on 1 + 1 ranks, against subcycle = 1.

Reflection: the energy left in the patch once the packet has run through it (E_kin + E_pot −
E_pot(0) of the patch at step 1600; the packet leaves at ~1300), as a fraction of the
packet's energy E_p. The patch is consistent at rest (no energy of its own without the
packet). Measured 0.0322 (k = 1) and 0.0326 (k = 10); the bar is 2× (the issue's).

Ledger: with k = 10 E_total carries the slow step's shadow-Hamiltonian offset, which the run
reports as E_subcycle_error. Measured peak-to-peak over the run: E_total 4.1e-5 E_p (k = 1),
5.0e-3 E_p (k = 10), E_total − E_subcycle_error 5.9e-4 E_p (k = 10). Stated tolerances:
1.5e-3 corrected, 2e-2 raw; the correction must explain most of the raw fluctuation.
"""
from helpers.subcycle_cases import ledger, packet_energy, run


def test_subcycle_10_in_2d(tmp_path):
    out = {}
    for k in (1, 10):
        r = run(tmp_path, "wave_2d", 1600, k)
        e_p = packet_energy(r)
        last = r.rows[-1]
        refl = (last["E_kin_core"] + last["E_pot_core"] - r.rows[0]["E_pot_core"]) / e_p
        out[k] = (refl, *ledger(r, e_p))
        assert max(r.col("E_kin_core")) > 0.1 * e_p  # the packet went through the patch
    print("2D (reflection, ledger ptp, corrected ptp):", out)
    (r1, raw1, cor1), (r10, raw10, cor10) = out[1], out[10]
    assert r10 < 2 * r1 and r1 < 0.05
    assert raw1 < 1e-3 and cor1 == raw1
    assert cor10 < 1.5e-3 and raw10 < 2e-2 and cor10 < 0.2 * raw10
