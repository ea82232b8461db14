"""Fast version of examples/crack_2d: Schwarz statics at a crack tip against the fully
atomistic solution of the same domain."""

import numpy as np

from mscouple.validation import crack2d as C


def test_crack_tip_patch_matches_full_atomistic():
    """4300-atom plate, 14σ patch (≈ 830 atoms): every patch atom's displacement agrees with
    the fully atomistic run to < 2 % of the tip opening (measured 1.34 %), with fewer than
    half the degrees of freedom; both models are relaxed (free-atom forces < 1e-5, free-node
    residual round-off)."""
    out = C.run(nx=48, ny=28, patch_half=14.0)
    assert out["delta"] > 0.1  # the crack is open (mode I, K = 4)
    assert out["err_max"] < 0.02
    na, nc = out["dof_coupled"]
    assert na + nc < 0.6 * out["dof_full"]
    fa, fn = out["residuals"]
    assert fa < 1e-5 and fn < 1e-9
    # the crack faces open symmetrically about the crack plane in both models (mode I)
    x, u = out["x"], out["u_full"]
    face = (x[:, 0] < -2) & (np.abs(x[:, 1]) < 0.6) & (x[:, 0] > -8)
    up, dn = face & (x[:, 1] > 0), face & (x[:, 1] < 0)
    assert np.all(u[up, 1] > 0) and np.all(u[dn, 1] < 0)


def test_kfield_is_mode_one_and_scales_with_sqrt_r():
    X = np.array([[-1.0, 1e-9], [-1.0, -1e-9], [-4.0, 1e-9], [2.0, 0.0]])
    u = C.kfield(X, K=2.0, mu=1.0, nu=0.25)
    assert np.isclose(u[0, 1], -u[1, 1]) and np.isclose(u[0, 0], u[1, 0])
    assert np.isclose(u[2, 1] / u[0, 1], 2.0)  # sqrt(4)
    assert abs(u[3, 1]) < 1e-15  # no opening ahead of the tip
    # crack opening behind the tip: (kappa + 1) K / mu sqrt(r / 2 pi), kappa = 3 - 4 nu
    assert np.isclose(u[0, 1] - u[1, 1], 3.0 * 2.0 / 1.0 * np.sqrt(1 / (2 * np.pi)))
