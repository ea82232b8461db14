"""Damping ("stadium" / Langevin) band with exact bookkeeping of the energy it removes.

Velocities relative to a reference field (the continuum velocity interpolated to the atoms,
so that only the fine-scale part the mesh cannot carry is damped — Wagner & Liu, J. Comput.
Phys. 190 (2003) 249; or zero: classical stadium damping, Holian & Ravelo, PRB 51 (1995)
11275) obey, over a time h, the exact Ornstein–Uhlenbeck update

    u ← u e^{−γ h} + sqrt(k_B T (1 − e^{−2γh}) / (mvv2e m)) ξ,       u = v − v_ref.

The energy removed, ``KE_before − KE_after`` of the atoms, is returned every call for the
ledger (and may be handed to the continuum as heat). Noise (T > 0) comes from a counter-based
generator keyed by (seed, atom id, step, component), so it does not depend on how atoms are
distributed over ranks.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
import scipy.sparse as sp

from ..errors import ConfigError

__all__ = ["DampingBand", "ConstrainedDampingBand", "HighPassFilter", "stadium_profile", "counter_normal"]

_M64 = np.uint64(0xFFFFFFFFFFFFFFFF)

#: largest band (atoms + nodes) whose constrained bath is integrated exactly with dense
#: (m + n)² operators; larger bands use the O(γh) split update.
EXACT_LIMIT = 2000


def _splitmix64(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        z = x + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def counter_normal(seed: int, ids: np.ndarray, step: int, ncomp: int) -> np.ndarray:
    """Standard normal numbers [len(ids), ncomp], a pure function of (seed, id, step, component)."""
    ids = np.asarray(ids, dtype=np.uint64)
    comp = np.arange(ncomp, dtype=np.uint64)
    with np.errstate(over="ignore"):
        key = _splitmix64(np.uint64(seed) ^ _splitmix64(np.uint64(step) + np.uint64(0x632BE59BD9B4E019)))
        base = _splitmix64(key ^ (ids[:, None] * np.uint64(0xD1B54A32D192ED03) + comp[None, :] * np.uint64(2)))
        b1 = _splitmix64(base)
        b2 = _splitmix64(base + np.uint64(1))
    u1 = ((b1 >> np.uint64(11)).astype(np.float64) + 0.5) / 9007199254740992.0
    u2 = ((b2 >> np.uint64(11)).astype(np.float64) + 0.5) / 9007199254740992.0
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


def stadium_profile(s: np.ndarray, width: float, gamma_max: float, power: int = 2) -> np.ndarray:
    """Damping rate rising from 0 at s = 0 to ``gamma_max`` at s = width as (s/width)^power."""
    if not width > 0 or gamma_max < 0:
        raise ConfigError("damping band: need width > 0 and gamma_max >= 0")
    t = np.clip(np.asarray(s, dtype=float) / width, 0.0, 1.0)
    return gamma_max * t ** power


class HighPassFilter:
    """Causal high-pass of a sampled velocity: ``order`` cascaded first-order sections
    ``y ← x − LP(x)``, each ``LP`` an exponential moving average with corner ``cutoff``
    (rad/time), ``lp ← lp + (1 − e^{−ω_c h}) (x − lp)``. Continuous-time response per section
    ``H = iω / (iω + ω_c)``. :meth:`reference` returns ``x − HP(x)`` (the slow part), the
    moving reference of the high-pass dashpots of :class:`ConstrainedDampingBand`: damping
    of the motion above the mesh's cut-off frequency, in the spirit of the time-filtered
    boundary conditions of Wagner, Karpov & Liu (CMAME 193 (2004) 1579) and the perfectly
    matched multiscale boundary of To & Li (PRB 72 (2005) 035414).

    With ``order = 1`` the dashpot ``−m γ (v − s)`` against the slow part ``s`` is a passive
    element: ``s`` is the velocity of an auxiliary mass ``μ = m γ / ω_c`` tied to the atom
    by the dashpot (a Lanchester damper; Den Hartog, *Mechanical Vibrations*, 1956, §3.9), so
    it dissipates ``m γ ω² / (ω² + ω_c²)`` per unit |v|² at every frequency and adds the
    mass ``μ`` at low frequency. ``order ≥ 2`` is *not* passive: Re Hⁿ < 0 below ω_c, i.e. it
    feeds energy into slow motion (measured: long waves reflected 4e-4 instead of 1e-5);
    kept for experiments only.

    Parameters
    ----------
    cutoff : corner frequency ω_c > 0 (rad/time).
    order : number of sections (≥ 1; 1 is the passive choice).
    """

    def __init__(self, cutoff: float, order: int = 1) -> None:
        if not cutoff > 0 or int(order) < 1:
            raise ConfigError("high-pass damping: need cutoff > 0 (rad/time) and order >= 1")
        self.cutoff = float(cutoff)
        self.order = int(order)
        self._lp: Optional[np.ndarray] = None

    def reference(self, x: np.ndarray, h: float) -> np.ndarray:
        """Feed the sample ``x`` [m, k] taken after a time ``h``; return its slow part [m, k]."""
        x = np.asarray(x, dtype=float)
        if self._lp is None or self._lp.shape[1:] != x.shape:
            self._lp = np.zeros((self.order,) + x.shape)
            self._lp[0] = x  # start at rest in the filter's frame: first output HP = 0
        a = 1.0 - np.exp(-self.cutoff * h)
        y = x
        for j in range(self.order):
            self._lp[j] += a * (y - self._lp[j])
            y = y - self._lp[j]
        return x - y


class DampingBand:
    """Langevin damping of a set of atoms.

    Parameters
    ----------
    gamma : [m] damping rates (1/time), e.g. from :func:`stadium_profile`.
    mass : [m] masses used in the dynamics (mass units).
    ids : [m] global atom ids (for the noise streams).
    temperature : bath temperature (0: pure damping, no noise).
    boltzmann, mvv2e : from ``mscouple.units``.
    seed : noise seed.
    """

    def __init__(self, gamma: np.ndarray, mass: np.ndarray, ids: np.ndarray, temperature: float = 0.0,
                 boltzmann: float = 1.0, mvv2e: float = 1.0, seed: int = 0) -> None:
        self.gamma = np.asarray(gamma, dtype=float)
        self.mass = np.asarray(mass, dtype=float)
        self.ids = np.asarray(ids, dtype=np.int64)
        if not (self.gamma.shape == self.mass.shape == self.ids.shape):
            raise ConfigError("damping band: gamma, mass and ids need the same length")
        if np.any(self.gamma < 0) or temperature < 0:
            raise ConfigError("damping band: damping rates and temperature must be >= 0")
        self.temperature = float(temperature)
        self.kB = float(boltzmann)
        self.mvv2e = float(mvv2e)
        self.seed = int(seed)
        #: kinetic energy removed per atom [m], accumulated over calls (the damping-to-heat
        #: hand-over reads and resets it; see :class:`~mscouple.coupling.thermal.DampingToHeat`)
        self.removed_per_atom = np.zeros(self.mass.size)

    def apply(self, v: np.ndarray, h: float, step: int, v_ref: np.ndarray | None = None) -> float:
        """Update ``v`` [m, k] in place over time ``h``; return the kinetic energy removed."""
        m = self.mass[:, None]
        ke0 = 0.5 * self.mvv2e * np.sum(m * v ** 2)
        u = v if v_ref is None else v - v_ref
        c = np.exp(-self.gamma * h)[:, None]
        du = (c - 1.0) * u
        if self.temperature > 0:
            sig = np.sqrt(self.kB * self.temperature * (1.0 - c ** 2) / (self.mvv2e * m))
            du = du + sig * counter_normal(self.seed, self.ids, step, v.shape[1])
        v += du
        ke1 = 0.5 * self.mvv2e * np.sum(m * v ** 2)
        if self.removed_per_atom.size == v.shape[0]:
            # per atom, without cancellation: ½ m (|v0|² − |v1|²) = −½ m du·(2 v1 − du)
            self.removed_per_atom -= 0.5 * self.mvv2e * self.mass * np.sum(du * (2.0 * v - du), axis=1)
        return float(ke0 - ke1)


class ConstrainedDampingBand(DampingBand):
    """Langevin damping band of a bridging-domain handshake, exact on the constraint manifold.

    The band's velocities ``y = (v_atoms [m], v_nodes [n])`` (per component) live on the
    constraint subspace ``S`` of :class:`~mscouple.coupling.bdm.BridgingDomain` (kinetic
    metric ``M_b = diag(m, M)``, M-orthogonal projector ``P``). The bath is a set of dashpots
    between each band atom and its reference point, with Rayleigh dissipation function
    ``R = ½ Σ_α m_α γ_α |u_α|²`` and ``u = B y``:

        ``B = [I, −N]`` (reference ``"continuum"``: u = v_α − Σ N_I v_I, the fine scale; the
        friction force −m γ u on the atom has the reaction +Nᵀ m γ u on the nodes), or
        ``B = [I, 0]`` (reference ``"zero"``: the whole atomic velocity, classical stadium).

    Friction and noise come from the same matrix ``Γ = Bᵀ diag(m γ) B`` and are both projected
    onto ``S`` (constrained Langevin dynamics),

        dy = −D Γ y dt + D Bᵀ sqrt(2 k_B T m γ) dW,        D = P M_b⁻¹ (symmetric),

    whose stationary distribution on ``S`` is the canonical one, ∝ exp(−½ yᵀ M_b y / k_B T):
    fluctuation–dissipation holds for the constrained system (Ciccotti & Ryckaert, Comput.
    Phys. Rep. 4 (1986) 345; the projected-noise argument of Leimkuhler & Matthews,
    Proc. R. Soc. A 470 (2014) 20140120). Over a time ``h`` the linear SDE is integrated
    exactly (Ornstein–Uhlenbeck):

        y ← E y + η,    E = exp(−h D Γ),    Cov η = k_B T (D − E D Eᵀ),

    so any ``h``, γ and T keep the canonical distribution. ``η ∈ S``, whose atom block
    determines the node block (``y_n = (NᵀN)⁻¹ Nᵀ y_a`` on S for both multiplier kinds), so
    ``η_a = L ξ`` with ``L`` the symmetric square root of the atom block of Cov η and ``ξ``
    one counter-based normal per band atom and component (:func:`counter_normal`, keyed by
    atom id): rank-layout independent up to round-off. Dense matrices of the band size
    (m + n)², built once per step length.

    A naive bath — OU on ``u`` acting on the atoms only, then a re-projection — has a
    non-symmetric friction matrix (no reaction on the nodes) and noise that misses the
    nodes' share; it drives the band out of equilibrium (the patch heated from T0 to 1.35 T0
    in 300 τ in the harmonic-chain measurement of ``docs/coupling.md``).

    Parameters
    ----------
    gamma : [m] damping rates (1/time) of the band atoms.
    bdm : the band's :class:`~mscouple.coupling.bdm.BridgingDomain` (its ``m``, ``M``, ``N``
        and constraint define ``S``).
    ids : [m] global atom ids.
    reference : ``"continuum"`` or ``"zero"`` (see above).
    temperature, boltzmann, mvv2e, seed : as :class:`DampingBand`.
    highpass : optional [m] rates γ_hp of dashpots on the whole atomic velocity against its
        slow part ``s`` (:class:`HighPassFilter` of the band velocities, corner ``cutoff``,
        ``order`` sections): ``Γ += Bzᵀ diag(m γ_hp) Bz`` (``Bz = [I, 0]``) and the forcing
        ``D Bzᵀ diag(m γ_hp) s``. Over a step (``s`` held) the update
        ``y ← E y + G s``, ``G = ∫₀ʰ exp(−τ D Γ) dτ · D diag(c_hp)``, is exact and stays on S
        (both from one exponential of the augmented generator). It damps what moves faster
        than the mesh's cut-off 2c/h — including the coarse projection of waves with
        λ ≥ 2h above that frequency, which the fine-scale bath cannot reach. Temperature 0
        only (no noise consistent with the filter's memory is implemented).
    highpass_nodes : optional rate (scalar or [n]) of the same dashpots on the band nodes
        (nodal masses); measured to help little (``docs/coupling.md``).
    """

    def __init__(self, gamma: np.ndarray, bdm, ids: np.ndarray, reference: str = "continuum",
                 temperature: float = 0.0, boltzmann: float = 1.0, mvv2e: float = 1.0, seed: int = 0,
                 highpass: Optional[np.ndarray] = None, cutoff: float = 0.0, order: int = 1,
                 highpass_nodes: Optional[np.ndarray] = None) -> None:
        super().__init__(gamma, bdm.m, ids, temperature, boltzmann, mvv2e, seed)
        if reference not in ("continuum", "zero"):
            raise ConfigError(f"damping reference = {reference!r}: expected 'continuum' or 'zero'")
        self.reference = reference
        self.highpass: Optional[HighPassFilter] = None
        self.gamma_hp = np.zeros_like(self.gamma)
        self.gamma_hp_nodes = np.zeros(bdm.M.size) if highpass_nodes is None else \
            np.broadcast_to(np.asarray(highpass_nodes, dtype=float), (bdm.M.size,)).copy()
        if highpass is not None or highpass_nodes is not None:
            if highpass is not None:
                self.gamma_hp = np.asarray(highpass, dtype=float)
            if np.any(self.gamma_hp_nodes < 0):
                raise ConfigError("high-pass damping: node rates must be >= 0")
            if self.gamma_hp.shape != self.gamma.shape or np.any(self.gamma_hp < 0):
                raise ConfigError("high-pass damping: need one rate >= 0 per band atom")
            if self.temperature > 0:
                raise ConfigError("high-pass (time-filtered) damping has no consistent noise: use it at "
                                  "temperature = 0, or the plain band for a Langevin bath")
            self.highpass = HighPassFilter(cutoff, order)
        m, n = bdm.m.size, bdm.M.size
        self.n_atoms, self.n_nodes = m, n
        self._N = sp.csr_matrix(bdm.N)
        self._node_mass = np.asarray(bdm.M, dtype=float)
        # [n, k] inverse nodal masses per component: 0 where a Dirichlet condition holds a band
        # node's component (BridgingDomain.fixed: infinite mass, the bath cannot move it)
        fixed = getattr(bdm, "fixed", None)
        self._node_inv = None if fixed is None else np.asarray(bdm.node_inv_mass, dtype=float)
        self.exact = m + n <= EXACT_LIMIT
        self._cache: dict[tuple, tuple] = {}
        if not self.exact:
            return
        N = bdm.N.toarray()
        B = np.hstack([np.eye(m), -N if reference == "continuum" else np.zeros((m, n))])
        C = np.eye(m) if bdm.multipliers == "atoms" else N
        J = C.T @ B                                       # constraint Jacobian: J y = 0 on S

        def mobility(node_inv):
            Mb_inv = np.concatenate([1.0 / bdm.m, node_inv])
            JMi = J * Mb_inv[None, :]
            A = JMi @ J.T
            # D = P M_b⁻¹ = M_b⁻¹ − M_b⁻¹ Jᵀ A⁻¹ J M_b⁻¹  (symmetric PSD, range S)
            D = np.diag(Mb_inv) - JMi.T @ np.linalg.solve(A, JMi)
            return 0.5 * (D + D.T)

        self._D = mobility(1.0 / bdm.M)
        # with Dirichlet components on band nodes: one mobility per component (their rows and
        # columns vanish), each with its own exact update
        self._Dc = None if self._node_inv is None else [mobility(self._node_inv[:, c])
                                                        for c in range(self._node_inv.shape[1])]
        D = self._D
        self._Gamma = B.T @ ((self.mass * self.gamma)[:, None] * B)
        if self.highpass is not None:
            # dashpots on the whole atomic velocity against a time-filtered reference s:
            # Γ_hp = Bzᵀ diag(m γ_hp) Bz with Bz = [I, 0]; forcing D Bzᵀ diag(m γ_hp) s
            c_hp = np.concatenate([self.mass * self.gamma_hp, self._node_mass * self.gamma_hp_nodes])
            self._Gamma += np.diag(c_hp)
            self._c_hp = c_hp
            self._F = D * c_hp[None, :]
        self._R = np.linalg.pinv(N)                       # node block of a vector of S from its atom block

    def _operators(self, h: float, c: int = -1) -> tuple[np.ndarray, np.ndarray]:
        """``c >= 0``: the operators of component ``c`` (Dirichlet components on band nodes).
        ``E = exp(−h D Γ)`` [(m+n), (m+n)] and the noise factor ``L`` [m, m] for step ``h``
        (with high-pass damping also ``G = ∫₀ʰ exp(−τ D Γ) dτ · D Bzᵀ diag(m γ_hp)`` [(m+n), m],
        the response to the filtered reference; else None): ``(E, L, G)``."""
        key = (float(h), int(c))
        if key not in self._cache:
            import scipy.linalg as la
            m = self.n_atoms
            D = self._D if c < 0 else self._Dc[c]
            if self.highpass is not None:
                # one exponential of the augmented generator [[−DΓ, F], [0, 0]] gives E and G
                p = D.shape[0]
                aug = np.zeros((2 * p, 2 * p))
                aug[:p, :p] = -(D @ self._Gamma)
                aug[:p, p:] = self._F if c < 0 else D * self._c_hp[None, :]
                X = la.expm(h * aug)
                E, G = X[:p, :p], X[:p, p:]
            else:
                E, G = la.expm(-h * (D @ self._Gamma)), None
            L = np.zeros((m, m))
            if self.temperature > 0:
                cov = (self.kB * self.temperature / self.mvv2e) * (D - E @ D @ E.T)
                caa = 0.5 * (cov[:m, :m] + cov[:m, :m].T)
                lam, Q = np.linalg.eigh(caa)
                # the noise drives the fine-scale modes only (rank m − n with node multipliers):
                # structural zeros (round-off, ~1e-16 of the largest) are set to 0 exactly, or
                # their square roots (~1e-8) would make the noise depend on the atoms' order
                lam = np.where(lam > 1e-10 * max(lam[-1], 0.0), lam, 0.0)
                L = (Q * np.sqrt(lam)[None, :]) @ Q.T
            if key[0] not in {k[0] for k in self._cache}:
                self._cache = {}  # one step length at a time
            self._cache[key] = (E, L, G)
        return self._cache[key]

    def apply_band(self, va: np.ndarray, vn: np.ndarray, h: float, step: int) -> tuple[np.ndarray, np.ndarray]:
        """Exact OU step of length ``h`` for band velocities on ``S``: atoms ``va`` [m, k], band
        nodes ``vn`` [n, k] (``BridgingDomain.nodes`` order). Returns the new pair; the kinetic
        energy each atom lost is added to ``removed_per_atom``."""
        if not self.exact:
            return self._apply_split(va, vn, h, step)
        m = self.n_atoms
        y0 = np.vstack([va, vn])
        ref = self.highpass.reference(y0, h) if self.highpass is not None else None
        xi = counter_normal(self.seed, self.ids, step, va.shape[1]) if self.temperature > 0 else None
        comps = [-1] if self._Dc is None else range(va.shape[1])
        y = np.empty_like(y0)
        for c in comps:
            # one operator for all components, or one per component (Dirichlet components)
            cols = slice(None) if c < 0 else slice(c, c + 1)
            E, L, G = self._operators(h, c)
            y[:, cols] = E @ y0[:, cols]
            if G is not None:
                y[:, cols] += G @ ref[:, cols]
            if xi is not None:
                eta = L @ xi[:, cols]
                y[:m, cols] += eta
                y[m:, cols] += self._R @ eta
        if self._node_inv is not None:
            y[m:][self._node_inv[:, :y.shape[1]] == 0.0] = vn[self._node_inv[:, :y.shape[1]] == 0.0]
        va_new, vn_new = y[:m], y[m:]
        self.removed_per_atom += 0.5 * self.mvv2e * self.mass * np.sum(va ** 2 - va_new ** 2, axis=1)
        return va_new, vn_new

    def _apply_split(self, va: np.ndarray, vn: np.ndarray, h: float, step: int) -> tuple[np.ndarray, np.ndarray]:
        """Large bands: per-atom OU impulse on ``u = B y`` with its reaction ``−Nᵀ`` on the nodes;
        the caller's re-projection makes it ``P M_b⁻¹ Bᵀ``-shaped. Friction and noise stay
        consistent, but the splitting's error is O(γ h) (exact: ``m + n ≤ EXACT_LIMIT``)."""
        m = self.mass[:, None]
        u = va - self._N @ vn if self.reference == "continuum" else va
        c = np.exp(-self.gamma * h)[:, None]
        imp = m * (c - 1.0) * u                             # impulse on the atoms [m, k]
        imp_hp, dvn_hp = 0.0, 0.0
        if self.highpass is not None:                       # dashpots to the filtered reference
            ref = self.highpass.reference(np.vstack([va, vn]), h)
            imp_hp = m * (np.exp(-self.gamma_hp * h)[:, None] - 1.0) * (va - ref[: va.shape[0]])
            dvn_hp = (np.exp(-self.gamma_hp_nodes * h)[:, None] - 1.0) * (vn - ref[va.shape[0]:])
        if self.temperature > 0:
            sig = np.sqrt(self.kB * self.temperature * (1.0 - c ** 2) * m / self.mvv2e)
            imp = imp + sig * counter_normal(self.seed, self.ids, step, va.shape[1])
        va_new = va + (imp + imp_hp) / m
        inv = 1.0 / self._node_mass[:, None] if self._node_inv is None else self._node_inv[:, :vn.shape[1]]
        vn_new = vn - (self._N.T @ imp) * inv if self.reference == "continuum" else vn.copy()
        vn_new = vn_new + dvn_hp
        self.removed_per_atom += 0.5 * self.mvv2e * self.mass * np.sum(va ** 2 - va_new ** 2, axis=1)
        return va_new, vn_new
