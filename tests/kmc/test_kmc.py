"""Object KMC: the compiled loop equals its NumPy reference event for event; a vacancy's
random walk gives D = ν a² exp(−E_m/kT) (= Γ b²/6, Γ = 12 ν exp(−E_m/kT), b = a/√2) within
2 %; a vacancy–interstitial pair recombines with the diffusion-limited (Smoluchowski)
probability; reactions, sinks, emission rates and seeds behave as documented."""
import numpy as np
import pytest
from scipy.special import erfc

from mscouple.errors import ConfigError
from mscouple.kmc.engine import KMC, KMCParams

A = 3.615
B = A / np.sqrt(2)


def params(**kw):
    base = dict(a=A, temperature=300.0, em_vacancy=0.551, em_interstitial=0.1)
    base.update(kw)
    return KMCParams(**base)


def fcc_sites(rng, n, L):
    """n random fcc sites (integer multiples of a/2 with an even sum) in [0, L)."""
    m = int(L / (A / 2))
    g = rng.integers(0, m, size=(n, 3))
    g[:, 2] -= g.sum(axis=1) % 2
    return g * A / 2


def test_compiled_equals_numpy_reference():
    rng = np.random.default_rng(0)
    L = 24 * A
    x = fcc_sites(rng, 40, L)
    p = params(temperature=600.0, ef_vacancy=1.276, eb_divacancy=0.157, em_clusters={"V2": 0.45})
    runs = []
    for be in ("numpy", "compiled"):
        k = KMC([0, 0, 0], [L] * 3, (True, True, False), ["V"] * 20 + ["I"] * 20, [1] * 40, x, p,
                seed=11, backend=be)
        k.advance(1.0, max_events=4000)
        runs.append(k)
    a, b = runs
    assert a.stats.events == b.stats.events > 1000
    for f in ("events", "jumps", "emissions", "recombined", "clustered", "absorbed"):
        assert getattr(a.stats, f) == getattr(b.stats, f), f
    assert a.time == b.time
    np.testing.assert_array_equal(a.kind, b.kind)
    np.testing.assert_array_equal(a.size, b.size)
    np.testing.assert_allclose(a.pos, b.pos, rtol=0, atol=1e-9)
    # the defects are conserved: V − I changes only at the sinks
    c = b.counts()
    assert b.stats.recombined + b.stats.absorbed > 0
    assert c["vacancies"] + c["interstitials"] + 2 * b.stats.recombined + b.stats.absorbed == 40


def test_vacancy_diffusion_coefficient():
    p = params()
    G = p.jump_rate(-1, 1)
    D = G * B * B / 6
    assert D == pytest.approx(p.nu * A * A * np.exp(-0.551 / p.kT), rel=1e-12)
    k = KMC([0] * 3, [100 * A] * 3, True, ["V"], [1], [[0, 0, 0]], p, seed=7)
    tau, M = 10.0 / G, 30000        # windows of 10 jumps on average
    xs = []
    k.run(M * tau, observe=lambda kk, t: xs.append(kk.pos[0].copy()),
          observe_times=np.arange(1, M + 1) * tau)
    dx = np.diff(np.vstack([[0, 0, 0], xs]), axis=0)
    r2 = np.einsum("ij,ij->i", dx, dx)
    ratio = r2.mean() / (6 * tau) / D
    sem = r2.std() / np.sqrt(M) / r2.mean()
    assert sem < 0.007                 # statistics: 3e5 jumps, 3e4 windows
    assert abs(ratio - 1) < 0.02, (ratio, sem)


def test_recombination_probability_smoluchowski():
    """Immobile vacancy, interstitial starting at r0 = 2R from it (R = 6a: capture
    distance): P(t) = (R/r0) erfc((r0 − R)/√(4 D t)) at 4Dt = r0². A walk in finite jumps
    crosses the absorbing sphere between jumps: the boundary moves in by ζ σ_⊥ (Siegmund's
    correction, ζ = −ζ_R(1/2)/√(2π) = 0.5826, σ_⊥ = b/√3 the rms normal jump)."""
    R = 6 * A
    p = params(em_vacancy=5.0, r_vacancy=R / 2, r_interstitial=R / 2)
    D = p.jump_rate(1, 1) * B * B / 6
    r0 = 12 * A
    t = r0 ** 2 / (4 * D)
    n, hits = 6000, 0
    L = 200 * A
    for s in range(n):
        k = KMC([-L / 2] * 3, [L / 2] * 3, True, ["V", "I"], [1, 1], [[0, 0, 0], [r0, 0, 0]], p,
                seed=5000 + s)
        k.run(t)
        hits += k.stats.recombined
    P = hits / n
    sig = np.sqrt(P * (1 - P) / n)
    Re = R - 0.5826 * B / np.sqrt(3)
    P_s = Re / r0 * erfc((r0 - Re) / np.sqrt(4 * D * t))
    assert abs(P - P_s) < 3 * sig, (P, P_s, sig)
    # the uncorrected continuum value lies within 10 %
    assert P == pytest.approx(R / r0 * erfc((r0 - R) / r0), rel=0.10)


def test_reactions_and_sinks():
    p = params(em_vacancy=5.0, em_interstitial=5.0)  # nothing moves: reactions at set-up only
    L = 20 * A
    # V and I within capture distance annihilate; two V cluster; V3 + I -> V2
    k = KMC([0] * 3, [L] * 3, True, ["V", "I"], [1, 1], [[0, 0, 0], [A, 0, 0]], p)
    assert len(k.kind) == 0 and k.stats.recombined == 1
    k = KMC([0] * 3, [L] * 3, True, ["V", "V"], [1, 1], [[0, 0, 0], [A / 2, A / 2, 0]], p)
    assert list(k.size) == [2] and k.stats.clustered == 1
    k = KMC([0] * 3, [L] * 3, True, ["V", "I"], [3, 1], [[0, 0, 0], [A, A, 0]], p)
    assert list(k.size) == [2] and k.kind[0] == -1
    # capture across the periodic boundary
    k = KMC([0] * 3, [L] * 3, True, ["V", "I"], [1, 1], [[0, 0, 0], [L - A / 2, 0, A / 2]], p)
    assert len(k.kind) == 0
    # a fast interstitial next to a free surface is absorbed
    p2 = params(em_interstitial=0.1)
    k = KMC([0] * 3, [L] * 3, (True, True, False), ["I"], [1], [[L / 2, L / 2, A / 2]], p2, seed=3)
    k.run(1e-6)
    assert k.stats.absorbed == 1 and len(k.kind) == 0


def test_emission_rate():
    """An immobile divacancy's only event is the emission: mean waiting time 1/r_emit."""
    p = params(ef_vacancy=1.276, eb_divacancy=0.157, temperature=500.0)
    r = p.emission_rate(-1, 2)
    assert r == pytest.approx(12 * 1e13 * np.exp(-(0.551 + 0.157) / p.kT))
    assert p.binding(2) == pytest.approx(0.157)
    eb = [p.binding(n) for n in (2, 3, 10, 100, 10 ** 6)]
    assert np.all(np.diff(eb) > 0) and eb[-1] == pytest.approx(1.276, abs=0.02)  # → E_f as n^(-1/3)
    ts = []
    for s in range(3000):
        k = KMC([0] * 3, [30 * A] * 3, True, ["V"], [2], [[0, 0, 0]], p, seed=s)
        k.advance(np.inf, max_events=1)
        assert k.stats.emissions == 1 and sorted(k.size) == [1, 1]
        ts.append(k.time)
    assert np.mean(ts) * r == pytest.approx(1.0, abs=3 / np.sqrt(3000))
    # a computed tri-vacancy binding replaces the capillary law at n = 3 only
    q = params(ef_vacancy=1.276, eb_divacancy=0.157, temperature=500.0,
               eb_vacancy_clusters={3: 0.567})
    assert q.binding(3) == 0.567 and p.binding(3) == pytest.approx(0.337, abs=1e-3)
    assert q.binding(4) == p.binding(4)
    assert q.emission_rate(-1, 3) == pytest.approx(12 * 1e13 * np.exp(-(0.551 + 0.567) / q.kT))
    with pytest.raises(ConfigError, match="eb_vacancy_clusters"):
        params(ef_vacancy=1.276, eb_divacancy=0.157, eb_vacancy_clusters={2: 0.2})


def test_seeds_and_refusals():
    rng = np.random.default_rng(1)
    x = fcc_sites(rng, 10, 20 * A)
    runs = [KMC([0] * 3, [20 * A] * 3, True, ["V"] * 5 + ["I"] * 5, [1] * 10, x, params(), seed=s)
            for s in (1, 1, 2)]
    for k in runs:
        k.advance(1.0, max_events=500)
    assert runs[0].time == runs[1].time and runs[0].time != runs[2].time
    with pytest.raises(ConfigError, match="kmc.temperature"):
        params(temperature=0.0)
    with pytest.raises(ConfigError, match="em_clusters"):
        params(em_clusters={"X2": 0.1})
    with pytest.raises(ConfigError, match="eb_divacancy"):
        params(eb_divacancy=0.1)


def test_sia_cluster_glides_one_dimensionally():
    """An I3 cluster with sia_glide = 2 jumps ±b along its <110> axis only: along the axis
    ⟨x²⟩ = 2 D₁ t with D₁ = ν b² exp(−E_m/kT) within 2 % (6e5 jumps, 6e4 windows: 3.4 standard errors), across
    it the displacement is zero to round-off; the rate is the 1D one (z = 2)."""
    em = 0.05
    p = params(em_clusters={"I3": em}, sia_glide=2)
    G = p.jump_rate(1, 3)
    assert G == pytest.approx(2 * p.nu * np.exp(-em / p.kT), rel=1e-12)
    assert p.jump_rate(1, 1) == pytest.approx(12 * p.nu * np.exp(-0.1 / p.kT), rel=1e-12)
    D1 = p.nu * B * B * np.exp(-em / p.kT)
    k = KMC([0] * 3, [100 * A] * 3, True, ["I"], [3], [[0, 0, 0]], p, seed=5, axes=[3])
    e = np.array([1.0, 0.0, -1.0]) / np.sqrt(2)  # GLIDE[3] = [10-1]
    tau, M = 10.0 / G, 60000
    xs = []
    k.run(M * tau, observe=lambda kk, t: xs.append(kk.pos[0].copy()),
          observe_times=np.arange(1, M + 1) * tau)
    dx = np.diff(np.vstack([[0, 0, 0], xs]), axis=0)
    along = dx @ e
    across = dx - along[:, None] * e
    assert np.max(np.abs(across)) < 1e-9
    r2 = along * along
    ratio = r2.mean() / (2 * tau) / D1
    sem = r2.std() / np.sqrt(M) / r2.mean()
    assert sem < 0.006  # 1D: Var(x²) = 2⟨x²⟩², twice the 3D walk's relative spread
    assert abs(ratio - 1) < 0.02, (ratio, sem)


def test_merged_sia_cluster_takes_the_nearest_axis_and_glides():
    """Two SIAs within capture distance along [110] merge into an I2 whose glide axis is
    [110] (the pair's separation); the I2 then moves only along [110]; the compiled loop
    and the NumPy reference agree (kinds, sizes, positions, axes) with gliders present."""
    p = params(em_clusters={"I2": 0.05}, sia_glide=2)
    k = KMC([0] * 3, [40 * A] * 3, True, ["I", "I"], [1, 1], [[0, 0, 0], [A / 2, A / 2, 0]], p,
            seed=2)
    assert len(k.kind) == 1 and k.size[0] == 2 and k.axis[0] == 0
    x0 = k.pos[0].copy()
    k.advance(np.inf, max_events=200)
    d = k.pos[0] - x0
    assert abs(d[2]) < 1e-12 and abs(d[0] - d[1]) < 1e-12 and k.stats.jumps == 200
    rng = np.random.default_rng(4)
    L = 16 * A
    x = fcc_sites(rng, 40, L)
    p = params(temperature=600.0, em_clusters={"I2": 0.05, "I3": 0.08, "I4": 0.1}, sia_glide=2)
    runs = []
    for be in ("numpy", "compiled"):
        kk = KMC([0, 0, 0], [L] * 3, True, ["V"] * 10 + ["I"] * 30, [1] * 40, x, p, seed=9,
                 backend=be)
        kk.advance(1.0, max_events=3000)
        runs.append(kk)
    a, b = runs
    assert a.stats.clustered == b.stats.clustered > 3 and a.stats.events == b.stats.events
    assert np.any(b.axis >= 0)  # gliders formed by reactions
    np.testing.assert_array_equal(a.kind, b.kind)
    np.testing.assert_array_equal(a.size, b.size)
    np.testing.assert_array_equal(a.axis, b.axis)
    np.testing.assert_allclose(a.pos, b.pos, rtol=0, atol=1e-9)
    with pytest.raises(ConfigError, match="sia_glide"):
        params(sia_glide=1)


def test_handoff_box_scale_centres_the_block(tmp_path):
    """kmc.box_scale = s: the KMC box is s block edges wide with the MD block in its middle
    (shifted by whole block edges: the sites stay lattice sites); the objects keep their
    positions, so with free surfaces they start ⌊(s−1)/2⌋ block edges from every sink."""
    from mscouple.atomistic.lattice import fcc
    from mscouple.cascade.defects import analyse, write_defect_list
    from mscouple.kmc.handoff import kmc_from_file

    x, box = fcc(A, (4, 4, 4))
    y = x.copy()
    y[0] = x[0] + [A / 2, 0.0, 0.0] + [0.0, A / 4, A / 4]  # one Frenkel pair
    st = analyse(x, np.delete(np.vstack([y, [[A, A, A / 2]]]), 5, axis=0), box, A)
    f = tmp_path / "d.txt"
    write_defect_list(f, st, box, "fcc", A, 1.0)
    for s, shift in ((1, 0), (3, 1), (4, 1), (9, 4)):
        k = kmc_from_file(f, params(), box_scale=s, periodic=(False,) * 3)
        np.testing.assert_allclose(k.lo, box.lo - shift * box.lengths)
        np.testing.assert_allclose(k.hi - k.lo, s * box.lengths)
        assert np.all((k.pos >= k.lo) & (k.pos < k.hi))
