"""Object kinetic Monte Carlo (OKMC) of vacancies, self-interstitials and their clusters on
an fcc lattice: residence-time (BKL) algorithm, Arrhenius rates, capture radii, sinks.

Units: length Å, time s, energy eV, temperature K.

Objects are point defects or clusters of one kind (V or I) and size n, sitting on lattice
sites of the fcc lattice of constant ``a``. Events and rates (attempt frequency ν):

* a mobile object jumps to one of the z = 12 nearest-neighbour sites (jump length
  b = a/√2): total rate z ν exp(−E_m/k_B T) (E_m per kind and size; None = immobile);
* a glissile self-interstitial cluster I_n (n ≥ ``sia_glide`` > 0, mobile: E_m given) glides
  one-dimensionally along its ⟨110⟩ axis (Osetsky et al., Phil. Mag. A 80 (2000) 2131:
  small SIA clusters in fcc Cu are crowdion bundles gliding along ⟨110⟩): it jumps to one of
  the 2 neighbours along the axis, total rate 2 ν exp(−E_m/k_B T), so that along the axis
  ⟨x²⟩ = 2 D₁ t with D₁ = ν b² exp(−E_m/k_B T), and nothing across. Its axis is drawn from the
  seed when the object is handed over, or, for a cluster formed by a reaction, the ⟨110⟩
  axis nearest to the separation of the two objects that met;
* a vacancy cluster V_n (n ≥ 2) emits one vacancy: z ν exp(−(E_m(V) + E_b(n))/k_B T), with
  E_b(2) given and E_b(n > 2) from the capillary law (e.g. Soneda & Diaz de la Rubia, Phil.
  Mag. A 78 (1998) 995): E_b(n) = E_f + (E_b(2) − E_f)(n^{2/3} − (n−1)^{2/3})/(2^{2/3} − 1). Sizes in ``eb_vacancy_clusters``
  (e.g. {3: E_b(3)} from :func:`mscouple.cascade.energetics.cluster_binding`) take their
  computed value instead.

Residence-time algorithm (Bortz, Kalos & Lebowitz, J. Comput. Phys. 17 (1975) 10): with
total rate R = Σ r_k, pick event k with probability r_k/R, advance time by −ln(u)/R.

Reactions after every move: two objects whose distance (minimum image along periodic
directions) is ≤ r_p + r_q, with capture radius r(n) = r0_kind · n^{1/3}, react:
same kind → one cluster of the summed size (at the larger one's site); V_n + I_m →
|n − m| of the larger kind (recombination of min(n, m) Frenkel pairs). Sinks: along
non-periodic directions the box faces are free surfaces; an object that leaves the box
is absorbed. The random stream is xoshiro256** seeded through splitmix64 from ``seed``:
runs are reproducible, and the compiled loop (``csrc/okmc.pyx``) and the NumPy reference
(``backend="numpy"``) draw the same numbers for the same events.

For a single walker, D = Γ b²/6 with Γ = z ν exp(−E_m/k_B T), i.e. D = ν a² exp(−E_m/k_B T)
(the lattice random walk).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from time import perf_counter

import numpy as np

from ..errors import ConfigError

K_B = 8.617333262e-5  # eV/K (CODATA 2018)
VAC, INT = -1, 1
_KIND = {"V": VAC, "I": INT}
#: the 12 nearest-neighbour jumps of fcc in units of a/2: <110>
JUMPS = np.array([(i, j, 0) for i in (-1, 1) for j in (-1, 1)]
                 + [(i, 0, j) for i in (-1, 1) for j in (-1, 1)]
                 + [(0, i, j) for i in (-1, 1) for j in (-1, 1)], dtype=float)
#: the 6 <110> glide axes (units of a/2), in the compiled kernel's order
GLIDE = np.array([(1, 1, 0), (1, -1, 0), (1, 0, 1), (1, 0, -1), (0, 1, 1), (0, 1, -1)], dtype=float)


def nearest_axis(d) -> int:
    """The glide axis nearest to the vector d: first of the largest |d · GLIDE[g]| (the
    compiled kernel's order of operations)."""
    best, top = 0, -1.0
    for g in range(6):
        v = abs(float(d[0]) * GLIDE[g, 0] + float(d[1]) * GLIDE[g, 1] + float(d[2]) * GLIDE[g, 2])
        if v > top:
            best, top = g, v
    return best


@dataclass(frozen=True)
class KMCParams:
    """Physics of the OKMC (units in the module docstring).

    a: lattice constant; temperature; nu: attempt frequency; em_vacancy, em_interstitial:
    migration energies of the mono-defects; em_clusters: {"V2": 0.4, "I3": None, ...}
    migration energies of clusters (absent or None: immobile); ef_vacancy: vacancy
    formation energy and eb_divacancy: divacancy binding energy (for emission; None: no
    emission); r_vacancy, r_interstitial: capture radius r0 of a mono-defect.
    """

    a: float
    temperature: float
    em_vacancy: float
    em_interstitial: float
    nu: float = 1e13
    em_clusters: dict = field(default_factory=dict)
    ef_vacancy: float | None = None
    eb_divacancy: float | None = None
    r_vacancy: float | None = None
    r_interstitial: float | None = None
    sia_glide: int = 0
    eb_vacancy_clusters: dict = field(default_factory=dict)

    def __post_init__(self):
        for n_, v in self.eb_vacancy_clusters.items():
            if not (isinstance(n_, (int, np.integer)) and n_ >= 3 and v >= 0):
                raise ConfigError(f"kmc.eb_vacancy_clusters {{{n_!r}: {v!r}}}: expected sizes >= 3 "
                                  "with binding energies >= 0 eV")
        if not (isinstance(self.sia_glide, (int, np.integer)) and (self.sia_glide == 0 or self.sia_glide >= 2)):
            raise ConfigError(f"kmc.sia_glide = {self.sia_glide!r}: expected 0 (no 1D glide) or the "
                              "smallest gliding SIA cluster size >= 2")
        for name in ("a", "temperature", "nu"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"kmc.{name} = {getattr(self, name)!r}: expected > 0")
        for name in ("em_vacancy", "em_interstitial"):
            if not getattr(self, name) >= 0:
                raise ConfigError(f"kmc.{name} = {getattr(self, name)!r}: expected >= 0 eV")
        for k, v in self.em_clusters.items():
            if k[:1] not in ("V", "I") or not k[1:].isdigit() or int(k[1:]) < 2:
                raise ConfigError(f"kmc.em_clusters key {k!r}: expected V<n> or I<n> with n >= 2")
            if v is not None and not v >= 0:
                raise ConfigError(f"kmc.em_clusters.{k} = {v!r}: expected >= 0 eV or None")
        if (self.eb_divacancy is None) != (self.ef_vacancy is None):
            raise ConfigError("kmc.eb_divacancy and kmc.ef_vacancy: give both (vacancy emission "
                              "from clusters) or neither")

    @property
    def kT(self) -> float:
        return K_B * self.temperature

    def capture_radius(self, kind: int, size) -> np.ndarray:
        r0 = self.r_vacancy if kind == VAC else self.r_interstitial
        r0 = 0.6 * self.a if r0 is None else r0
        return r0 * np.cbrt(np.asarray(size, dtype=float))

    def glides(self, kind: int, size: int) -> bool:
        """An SIA cluster that glides one-dimensionally (see the module docstring)."""
        return self.sia_glide > 0 and kind == INT and size >= self.sia_glide

    def jump_rate(self, kind: int, size: int) -> float:
        """Total jump rate z ν exp(−E_m/kT) of an object (0 when immobile); z = 12
        nearest neighbours, z = 2 for a 1D glider."""
        if size == 1:
            em = self.em_vacancy if kind == VAC else self.em_interstitial
        else:
            em = self.em_clusters.get(("V" if kind == VAC else "I") + str(int(size)))
            if em is None:
                return 0.0
        z = 2.0 if self.glides(kind, size) else 12.0
        return z * self.nu * np.exp(-em / self.kT)

    def binding(self, n: int) -> float:
        """E_b(n) of a vacancy cluster (capillary law through E_b(2) and E_f)."""
        if n in self.eb_vacancy_clusters:  # computed for this size (e.g. the tri-vacancy)
            return float(self.eb_vacancy_clusters[n])
        c = (n ** (2 / 3) - (n - 1) ** (2 / 3)) / (2 ** (2 / 3) - 1)
        return self.ef_vacancy + (self.eb_divacancy - self.ef_vacancy) * c

    def emission_rate(self, kind: int, size: int) -> float:
        if kind != VAC or size < 2 or self.eb_divacancy is None:
            return 0.0
        return 12.0 * self.nu * np.exp(-(self.em_vacancy + self.binding(size)) / self.kT)


@dataclass
class KMCStats:
    """Counters: events, jumps, emissions, recombined Frenkel pairs, clustering reactions,
    absorbed defects (sinks); wall seconds of :meth:`KMC.run`."""

    events: int = 0
    jumps: int = 0
    emissions: int = 0
    recombined: int = 0
    clustered: int = 0
    absorbed: int = 0
    wall: float = 0.0

    @property
    def events_per_second(self) -> float:
        return self.events / self.wall if self.wall > 0 else 0.0


_M64 = (1 << 64) - 1


def _rotl(x: int, k: int) -> int:
    return ((x << k) | (x >> (64 - k))) & _M64


def seed_state(seed: int) -> np.ndarray:
    """xoshiro256** state [4] uint64 from an integer seed (splitmix64, Vigna)."""
    z = int(seed) & _M64
    out = []
    for _ in range(4):
        z = (z + 0x9E3779B97F4A7C15) & _M64
        x = z
        x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _M64
        x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _M64
        out.append(x ^ (x >> 31))
    return np.array(out, dtype=np.uint64)


def uniform(s: list) -> float:
    """Next number in [0, 1) of the xoshiro256** state ``s`` (a list of 4 Python ints,
    advanced in place); the NumPy reference of the compiled stream."""
    result = (_rotl((s[1] * 5) & _M64, 7) * 9) & _M64
    t = (s[1] << 17) & _M64
    s[2] ^= s[0]
    s[3] ^= s[1]
    s[1] ^= s[2]
    s[0] ^= s[3]
    s[2] ^= t
    s[3] = _rotl(s[3], 45)
    return (result >> 11) * (1.0 / 9007199254740992.0)


class KMC:
    """The OKMC state and its BKL loop.

    box_lo, box_hi: [3] Å; periodic: [3] bool (False: free surfaces = sinks); kinds: [k]
    "V"/"I"; sizes: [k] ints; positions: [k,3] Å (lattice sites); params: :class:`KMCParams`;
    backend: "compiled" (``mscouple._kernels.okmc``) or "numpy" (the reference). Positions
    are kept unwrapped (``pos``); :meth:`wrapped` maps them into the box. ``axis`` [k]: glide
    axis index into ``GLIDE`` (−1: none); ``axes`` overrides the seeded initial axes.
    """

    def __init__(self, box_lo, box_hi, periodic, kinds, sizes, positions, params: KMCParams,
                 seed: int = 1, backend: str = "compiled", axes=None) -> None:
        self.lo = np.asarray(box_lo, float).reshape(3)
        self.hi = np.asarray(box_hi, float).reshape(3)
        self.L = self.hi - self.lo
        if np.any(self.L <= 0):
            raise ConfigError(f"KMC box lo = {self.lo.tolist()}, hi = {self.hi.tolist()}: expected lo < hi")
        if backend not in ("compiled", "numpy"):
            raise ConfigError(f"kmc backend = {backend!r}: expected 'compiled' or 'numpy'")
        self.backend = backend
        self.periodic = np.array([bool(p) for p in np.broadcast_to(periodic, (3,))])
        self.p = params
        self.rng_state = seed_state(seed)
        kinds = [_KIND[k] if isinstance(k, str) else int(k) for k in kinds]
        self.kind = np.array(kinds, dtype=np.int64).reshape(-1)
        self.size = np.array(sizes, dtype=np.int64).reshape(-1)
        self.pos = np.array(positions, float).reshape(-1, 3)
        if not (len(self.kind) == len(self.size) == len(self.pos)):
            raise ConfigError("KMC: kinds, sizes and positions must have the same length")
        if np.any(self.size < 1) or np.any(np.abs(self.kind) != 1):
            raise ConfigError("KMC: object sizes must be >= 1 and kinds V or I")
        # glide axes of the initial gliders: drawn from the seed (its own stream), or given
        ax = np.random.default_rng([int(seed), 110]).integers(0, 6, size=len(self.kind))
        if axes is not None:
            ax = np.asarray(axes, dtype=np.int64).reshape(-1)
            if ax.shape != self.kind.shape or np.any((ax < -1) | (ax > 5)):
                raise ConfigError("KMC: axes must hold one glide axis in 0..5 (or -1) per object")
        glider = np.array([self.p.glides(k, n) for k, n in zip(self.kind, self.size)], bool)
        self.axis = np.where(glider, ax, -1).astype(np.int64)
        self.time = 0.0
        self.stats = KMCStats()
        self._jump = self.p.a / 2.0 * JUMPS
        self._tables()
        self._refresh()
        # objects handed over within capture distance react at once
        k = 0
        while k < len(self.kind):
            k = 0 if self._react(k) else k + 1

    # ------------------------------------------------------------------ rates
    def _tables(self) -> None:
        nmax = int(self.size.sum()) + 1
        s = range(nmax + 1)
        self._jv = np.array([self.p.jump_rate(VAC, n) if n else 0.0 for n in s])
        self._ji = np.array([self.p.jump_rate(INT, n) if n else 0.0 for n in s])
        self._ev = np.array([self.p.emission_rate(VAC, n) if n else 0.0 for n in s])
        self._r0v = float(self.p.capture_radius(VAC, 1))
        self._r0i = float(self.p.capture_radius(INT, 1))

    def _refresh(self) -> None:
        v = self.kind == VAC
        self.rc = np.where(v, self._r0v, self._r0i) * np.cbrt(self.size.astype(float))
        self.r_jump = np.where(v, self._jv[self.size], self._ji[self.size])
        self.r_emit = np.where(v, self._ev[self.size], 0.0)
        acc, cum = 0.0, []
        for r in np.concatenate([self.r_jump, self.r_emit]):
            acc += float(r)  # sequential sum: the compiled loop's order
            cum.append(acc)
        self._cum = np.array(cum)

    @property
    def total_rate(self) -> float:
        return float(self._cum[-1]) if len(self._cum) else 0.0

    # ------------------------------------------------------------------ geometry
    def _delta(self, d: np.ndarray) -> np.ndarray:
        per = self.periodic
        d[..., per] -= self.L[per] * np.floor(d[..., per] / self.L[per] + 0.5)
        return d

    def wrapped(self) -> np.ndarray:
        """[k,3] positions mapped into the box along periodic directions."""
        x = self.pos.copy()
        per = self.periodic
        x[:, per] = self.lo[per] + np.mod(x[:, per] - self.lo[per], self.L[per])
        return x

    def _remove(self, k: int) -> None:
        for name in ("kind", "size", "pos", "axis"):
            setattr(self, name, np.delete(getattr(self, name), k, axis=0))

    def _react(self, k: int) -> bool:
        """React object k with its nearest partner within capture distance; True if so."""
        n = len(self.kind)
        if n < 2:
            return False
        d = self._delta(self.pos - self.pos[k])
        r2 = np.sum(d * d, axis=1)
        reach = (self.rc + self.rc[k]) ** 2
        r2[k] = np.inf
        hit = np.flatnonzero(r2 <= reach)
        if not len(hit):
            return False
        q = int(hit[np.argmin(r2[hit])])
        if self.kind[q] == self.kind[k]:
            keep, gone = (q, k) if self.size[q] >= self.size[k] else (k, q)
            self.size[keep] += self.size[gone]
            if self.axis[keep] < 0 and self.p.glides(int(self.kind[keep]), int(self.size[keep])):
                self.axis[keep] = nearest_axis(d[q])
            self.stats.clustered += 1
            self._remove(gone)
        else:
            m = min(self.size[k], self.size[q])
            self.stats.recombined += int(m)
            self.size[k] -= m
            self.size[q] -= m
            for j in sorted((k, q), reverse=True):
                if self.size[j] == 0:
                    self._remove(j)
        self._refresh()
        return True

    def _settle(self, k: int) -> None:
        """After object k moved or appeared: sinks, then reactions until none is left."""
        x = self.pos[k]
        free = ~self.periodic
        if np.any(free & ((x < self.lo) | (x >= self.hi))):
            self.stats.absorbed += int(self.size[k])
            self._remove(k)
            self._refresh()
            return
        if self._react(k):
            j = 0
            while j < len(self.kind):
                j = 0 if self._react(j) else j + 1

    # ------------------------------------------------------------------ events
    def _advance_numpy(self, t_stop: float, max_events: int) -> int:
        """The reference loop: the compiled kernel's steps, one Python iteration each."""
        s = [int(v) for v in self.rng_state]
        done = 0
        try:
            while max_events < 0 or done < max_events:
                R = self.total_rate
                if not R > 0:
                    self.time = max(self.time, t_stop)
                    break
                dt = -np.log(1.0 - uniform(s)) / R
                if self.time + dt >= t_stop:
                    self.time = t_stop
                    break
                self.time += dt
                u = uniform(s) * R
                e = int(np.searchsorted(self._cum, u, side="right"))
                n = len(self.kind)
                if e >= 2 * n:
                    e = int(np.flatnonzero(np.diff(np.r_[0.0, self._cum]) > 0)[-1])
                u2 = uniform(s)
                d = self._jump[int(u2 * 12.0)]
                self.stats.events += 1
                done += 1
                if e < n:
                    if self.axis[e] >= 0 and self.p.glides(int(self.kind[e]), int(self.size[e])):
                        self.pos[e] += (1.0 if u2 < 0.5 else -1.0) * 0.5 * self.p.a * GLIDE[self.axis[e]]
                    else:
                        self.pos[e] += d
                    self.stats.jumps += 1
                    self._settle(e)
                    continue
                k = e - n
                self.size[k] -= 1
                reach = self._r0v * np.cbrt(float(self.size[k])) + self._r0v
                hops = int(np.floor(reach / (0.5 * self.p.a * np.sqrt(2.0)))) + 1
                self.kind = np.append(self.kind, VAC)
                self.size = np.append(self.size, 1)
                self.axis = np.append(self.axis, -1)
                self.pos = np.vstack([self.pos, self.pos[k] + hops * d])
                self.stats.emissions += 1
                self._refresh()
                self._settle(len(self.kind) - 1)
        finally:
            self.rng_state[:] = np.array(s, dtype=np.uint64)
        return done

    def _advance_compiled(self, t_stop: float, max_events: int) -> int:
        from .._kernels.okmc import okmc_advance

        cap = int(self.size.sum()) + 1
        n = len(self.kind)
        K = np.zeros(cap, np.int64)
        S = np.zeros(cap, np.int64)
        P = np.zeros((cap, 3))
        AX = np.full(cap, -1, np.int64)
        K[:n], S[:n], P[:n], AX[:n] = self.kind, self.size, self.pos, self.axis
        cnt = np.zeros(6, np.int64)
        n, t, done = okmc_advance(K, S, P, AX, n, self._jv, self._ji, self._ev, self._r0v,
                                  self._r0i, self.p.a, self.lo, self.L,
                                  self.periodic.astype(np.uint8), self.rng_state, self.time,
                                  t_stop, max_events, cnt, int(self.p.sia_glide))
        self.kind, self.size, self.pos = K[:n].copy(), S[:n].copy(), P[:n].copy()
        self.axis = AX[:n].copy()
        self.time = t
        st = self.stats
        st.events += int(cnt[0])
        st.jumps += int(cnt[1])
        st.emissions += int(cnt[2])
        st.recombined += int(cnt[3])
        st.clustered += int(cnt[4])
        st.absorbed += int(cnt[5])
        self._refresh()
        return int(done)

    def advance(self, t_stop: float, max_events: int | None = None) -> int:
        """Events until ``t_stop`` [s] or ``max_events``; returns the number of events.
        The waiting time that would carry past ``t_stop`` is discarded and ``time`` set to
        ``t_stop`` (waiting times are memoryless: continuing later is exact in law)."""
        m = -1 if max_events is None else int(max_events)
        t0 = perf_counter()
        try:
            if self.backend == "compiled":
                return self._advance_compiled(float(t_stop), m)
            return self._advance_numpy(float(t_stop), m)
        finally:
            self.stats.wall += perf_counter() - t0

    def step(self) -> bool:
        """One event (no time limit); False when no event is possible."""
        if not self.total_rate > 0:
            return False
        return self.advance(np.inf, 1) == 1

    def run(self, t_end: float, observe=None, observe_times=(), max_events: int | None = None
            ) -> KMCStats:
        """Advance to ``t_end`` [s]; ``observe(kmc, t)`` at each of ``observe_times`` in
        (time, t_end] with the state that holds at t. Stops early after ``max_events``."""
        left = None if max_events is None else int(max_events)
        for t in sorted(float(t) for t in observe_times if self.time < t <= t_end):
            done = self.advance(t, left)
            if left is not None:
                left -= done
                if left <= 0 and self.time < t:
                    return self.stats
            if observe:
                observe(self, t)
        self.advance(t_end, left)
        return self.stats

    # ------------------------------------------------------------------ observables
    def counts(self) -> dict:
        """Numbers of vacancies and interstitials (in all objects) and of objects per kind."""
        v = self.kind == VAC
        return {"vacancies": int(self.size[v].sum()), "interstitials": int(self.size[~v].sum()),
                "v_objects": int(v.sum()), "i_objects": int((~v).sum())}
