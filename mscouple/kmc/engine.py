"""Object kinetic Monte Carlo (OKMC) of vacancies, self-interstitials and their clusters on
an fcc lattice: residence-time (BKL) algorithm, Arrhenius rates, capture radii, sinks.

Units: length Å, time s, energy eV, temperature K.

Objects are point defects or clusters of one kind (V or I) and size n, sitting on lattice
sites of the fcc lattice of constant ``a``. Events and rates (attempt frequency ν):

* a mobile object jumps to one of the z = 12 nearest-neighbour sites (jump length
  b = a/√2): total rate z ν exp(−E_m/k_B T) (E_m per kind and size; None = immobile);
* a vacancy cluster V_n (n ≥ 2) emits one vacancy: z ν exp(−(E_m(V) + E_b(n))/k_B T), with
  E_b(2) given and E_b(n > 2) from the capillary law (e.g. Soneda & Diaz de la Rubia, Phil.
  Mag. A 78 (1998) 995): E_b(n) = E_f + (E_b(2) − E_f)(n^{2/3} − (n−1)^{2/3})/(2^{2/3} − 1).

Residence-time algorithm (Bortz, Kalos & Lebowitz, J. Comput. Phys. 17 (1975) 10): with
total rate R = Σ r_k, pick event k with probability r_k/R, advance time by −ln(u)/R.

Reactions after every move: two objects whose distance (minimum image along periodic
directions) is ≤ r_p + r_q, with capture radius r(n) = r0_kind · n^{1/3}, react:
same kind → one cluster of the summed size (at the larger one's site); V_n + I_m →
|n − m| of the larger kind (recombination of min(n, m) Frenkel pairs). Sinks: along
non-periodic directions the box faces are free surfaces; an object that leaves the box
is absorbed. The random stream is NumPy's PCG64 from ``seed``: runs are reproducible.

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

    def __post_init__(self):
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

    def jump_rate(self, kind: int, size: int) -> float:
        """Total jump rate z ν exp(−E_m/kT) of an object (0 when immobile)."""
        if size == 1:
            em = self.em_vacancy if kind == VAC else self.em_interstitial
        else:
            em = self.em_clusters.get(("V" if kind == VAC else "I") + str(int(size)))
            if em is None:
                return 0.0
        return 12.0 * self.nu * np.exp(-em / self.kT)

    def binding(self, n: int) -> float:
        """E_b(n) of a vacancy cluster (capillary law through E_b(2) and E_f)."""
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


class KMC:
    """The OKMC state and its BKL loop.

    box_lo, box_hi: [3] Å; periodic: [3] bool (False: free surfaces = sinks); kinds: [k]
    "V"/"I"; sizes: [k] ints; positions: [k,3] Å (lattice sites); params: :class:`KMCParams`.
    Positions are kept unwrapped (``positions``); ``wrapped()`` maps them into the box.
    """

    def __init__(self, box_lo, box_hi, periodic, kinds, sizes, positions, params: KMCParams,
                 seed: int = 1) -> None:
        self.lo = np.asarray(box_lo, float).reshape(3)
        self.hi = np.asarray(box_hi, float).reshape(3)
        self.L = self.hi - self.lo
        if np.any(self.L <= 0):
            raise ConfigError(f"KMC box lo = {self.lo.tolist()}, hi = {self.hi.tolist()}: expected lo < hi")
        self.periodic = np.array([bool(p) for p in np.broadcast_to(periodic, (3,))])
        self.p = params
        self.rng = np.random.default_rng(seed)
        kinds = [_KIND[k] if isinstance(k, str) else int(k) for k in kinds]
        self.kind = np.array(kinds, dtype=np.int64)
        self.size = np.array(sizes, dtype=np.int64).reshape(-1)
        self.pos = np.array(positions, float).reshape(-1, 3)
        if not (len(self.kind) == len(self.size) == len(self.pos)):
            raise ConfigError("KMC: kinds, sizes and positions must have the same length")
        if np.any(self.size < 1):
            raise ConfigError("KMC: object sizes must be >= 1")
        self.time = 0.0
        self.stats = KMCStats()
        self._jump = self.p.a / 2.0 * JUMPS
        self._refresh()
        # objects handed over within capture distance react at once
        k = 0
        while k < len(self.kind):
            if not self._react(k):
                k += 1
            else:
                k = 0

    # ------------------------------------------------------------------ rates
    def _refresh(self) -> None:
        n = len(self.kind)
        self.rc = np.array([self.p.capture_radius(k, s) for k, s in zip(self.kind, self.size)]).reshape(n)
        self.r_jump = np.array([self.p.jump_rate(k, s) for k, s in zip(self.kind, self.size)]).reshape(n)
        self.r_emit = np.array([self.p.emission_rate(k, s) for k, s in zip(self.kind, self.size)]).reshape(n)
        self._cum = np.cumsum(np.concatenate([self.r_jump, self.r_emit]))

    @property
    def total_rate(self) -> float:
        return float(self._cum[-1]) if len(self._cum) else 0.0

    # ------------------------------------------------------------------ geometry
    def _delta(self, d: np.ndarray) -> np.ndarray:
        per = self.periodic
        d[..., per] -= self.L[per] * np.round(d[..., per] / self.L[per])
        return d

    def wrapped(self) -> np.ndarray:
        """[k,3] positions mapped into the box along periodic directions."""
        x = self.pos.copy()
        per = self.periodic
        x[:, per] = self.lo[per] + np.mod(x[:, per] - self.lo[per], self.L[per])
        return x

    def _remove(self, k: int) -> None:
        for name in ("kind", "size", "pos"):
            setattr(self, name, np.delete(getattr(self, name), k, axis=0))

    def _react(self, k: int) -> bool:
        """React object k with its nearest partner within capture distance; True if so."""
        n = len(self.kind)
        if n < 2:
            return False
        d = self._delta(self.pos - self.pos[k])
        r2 = np.einsum("ij,ij->i", d, d)
        reach = (self.rc + self.rc[k]) ** 2
        r2[k] = np.inf
        hit = np.flatnonzero(r2 <= reach)
        if not len(hit):
            return False
        q = int(hit[np.argmin(r2[hit])])
        if self.kind[q] == self.kind[k]:
            keep, gone = (q, k) if self.size[q] >= self.size[k] else (k, q)
            self.size[keep] += self.size[gone]
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
            # the product (now somewhere in the arrays) may reach further partners
            j = 0
            while j < len(self.kind):
                j = 0 if self._react(j) else j + 1

    # ------------------------------------------------------------------ events
    def _waiting_time(self) -> float:
        """A BKL waiting time −ln(u)/R (inf when no event is possible)."""
        R = self.total_rate
        return -np.log(1.0 - self.rng.random()) / R if R > 0 else np.inf

    def _execute(self) -> None:
        """Pick an event with probability r_k / R and carry it out (time not advanced)."""
        u1, u3 = self.rng.random(2)
        e = int(np.searchsorted(self._cum, u1 * self.total_rate, side="right"))
        e = min(e, len(self._cum) - 1)
        n = len(self.kind)
        d = self._jump[int(u3 * 12)]
        self.stats.events += 1
        if e < n:
            self.pos[e] += d
            self.stats.jumps += 1
            self._settle(e)
            return
        k = e - n
        self.size[k] -= 1
        reach = self.p.capture_radius(VAC, self.size[k]) + self.p.capture_radius(VAC, 1)
        hops = int(np.floor(reach / np.linalg.norm(d))) + 1
        self.kind = np.append(self.kind, VAC)
        self.size = np.append(self.size, 1)
        self.pos = np.vstack([self.pos, self.pos[k] + hops * d])
        self.stats.emissions += 1
        self._refresh()
        self._settle(len(self.kind) - 1)

    def step(self) -> bool:
        """One BKL event (time advanced by its waiting time); False when none is possible."""
        dt = self._waiting_time()
        if not np.isfinite(dt):
            return False
        self.time += dt
        self._execute()
        return True

    def run(self, t_end: float, max_events: int | None = None, observe=None,
            observe_times=()) -> KMCStats:
        """Events until ``t_end`` [s], or until ``max_events`` events. The waiting time that
        would carry past ``t_end`` is discarded and ``time`` set to ``t_end`` (waiting
        times are memoryless, so a later ``run`` continues correctly). ``observe(kmc, t)``
        is called for each of the sorted ``observe_times`` reached, with the state that
        holds at time t."""
        t0 = perf_counter()
        times = sorted(float(t) for t in observe_times if t >= self.time)
        ti, done = 0, 0
        try:
            while max_events is None or done < max_events:
                dt = self._waiting_time()
                t_next = self.time + dt
                while observe and ti < len(times) and times[ti] < min(t_next, t_end):
                    observe(self, times[ti])
                    ti += 1
                if t_next >= t_end:
                    self.time = max(self.time, float(t_end))
                    break
                self.time = t_next
                self._execute()
                done += 1
            while observe and ti < len(times) and times[ti] <= self.time:
                observe(self, times[ti])
                ti += 1
        finally:
            self.stats.wall += perf_counter() - t0
        return self.stats

    # ------------------------------------------------------------------ observables
    def counts(self) -> dict:
        """Numbers of vacancies and interstitials (in all objects) and of objects per kind."""
        v = self.kind == VAC
        return {"vacancies": int(self.size[v].sum()), "interstitials": int(self.size[~v].sum()),
                "v_objects": int(v.sum()), "i_objects": int((~v).sum())}
