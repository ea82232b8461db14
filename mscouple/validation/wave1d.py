"""The 1D wave-packet scenario: a chain between two P1 bars, coupled by the bridging domain.

Geometry (lattice spacing a = 1, LJ-like units m = k = 1)::

    FE bar | band (w: 1→0) | atoms only (interior) | band (w: 0→1) | FE bar

(:func:`bars_around_chain`, the one builder of this geometry). A right-moving wave packet
of wavelength λ is launched in the interior and crosses the right band into the right bar;
the energy left in the interior once the packet has gone is the reflected energy,
R = E_interior(t_end) / E_interior(0) (:func:`reflection`).

The packet is built spectrally from the exact chain dispersion (only k > 0 modes), so it
moves right without a spurious left-moving part. Element size h = r a; the FE bar has
EA = k a, ρA = m / a (same long-wave speed); with lumped masses its dispersion is
ω = (2/h) sin(qh/2), the chain's ω = 2 sin(qa/2).

Both models are the NumPy references of :mod:`.models1d` on one rank; the same geometry on
the compiled engines is :mod:`.engines1d`. Used by ``examples/wave_1d``, the level-4/5
checks of ``mscouple validate`` (:mod:`.coupling_checks`) and the coupling tests.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..coupling.band import SlabBand, continuum_weight
from ..coupling.damping import stadium_profile
from ..coupling.dynamics import BridgingDomainCoupler
from ..coupling.exchange import InterfaceExchange
from .models1d import Bar1D, Chain1D, chain_dispersion

__all__ = ["Setup", "Geometry", "chain_bands", "bars_around_chain", "geometry", "build", "launch", "interior_energy",
           "reflection", "energy_drift"]


def chain_bands(n_interior: int, ratio: int, band_elements: int):
    """The chain and its two bands (lattice spacing a = 1): the part of the geometry that the
    NumPy bars (:func:`bars_around_chain`) and the engine mesh (:mod:`.engines1d`) share.

    ``n_interior`` atoms have continuum weight 0; each band is ``band_elements`` elements of
    size h = ``ratio`` a, its continuum edge half a spacing outside the outermost atom. Mesh
    nodes sit on atoms for h = a and on the band edges for coarser meshes.

    Returns ``(x_atoms [na], bands, width, (node_lo, node_hi))``: the node nearest each band's
    continuum edge on the mesh of size h (node_hi − node_lo is a multiple of h only if the
    chain length allows it: :mod:`.engines1d` checks).
    """
    h = float(ratio)
    width = band_elements * h
    na = n_interior + 2 * int(round(width))  # atoms with 0 < w < 1 on each side: round(width)
    x_atoms = np.arange(na, dtype=float)
    ce_l, ce_r = -0.5, na - 0.5
    bands = [SlabBand(0, ce_l, ce_l + width), SlabBand(0, ce_r, ce_r - width)]
    off = 0.5 if ratio == 1 else 0.0
    return x_atoms, bands, width, (ce_l + off, ce_r - off)


def bars_around_chain(n_interior: int, ratio: int, band_elements: int, bar_elements: int):
    """Geometry of the 1D set-up FE bar | band | atoms | band | FE bar (lattice spacing a = 1).

    The chain and bands of :func:`chain_bands`; each bar extends ``bar_elements`` elements of
    size h = ``ratio`` a beyond its band. Cells of weight 0 (inside the atoms-only region)
    are dropped.

    Returns ``(x_atoms [na], bands, nodes [n], cells [nc, 2], cell_weight [nc], width)``.
    """
    h = float(ratio)
    x_atoms, bands, width, (node_lo, node_hi) = chain_bands(n_interior, ratio, band_elements)
    left = node_lo + h * np.arange(-bar_elements, band_elements + 1)
    right = node_hi - h * np.arange(-bar_elements, band_elements + 1)[::-1]
    nodes = np.concatenate([left, right])
    cells = np.concatenate([np.stack([np.arange(left.size - 1), np.arange(1, left.size)], 1),
                            left.size + np.stack([np.arange(right.size - 1), np.arange(1, right.size)], 1)])
    wc = continuum_weight(bands, nodes[cells].mean(axis=1)[:, None])
    keep = wc > 1e-12
    cells, wc = cells[keep], wc[keep]
    used = np.unique(cells)
    renum = -np.ones(nodes.size, dtype=np.int64)
    renum[used] = np.arange(used.size)
    return x_atoms, bands, nodes[used], renum[cells], wc, width


@dataclass
class Setup:
    chain: Chain1D
    bar: Bar1D
    coupler: BridgingDomainCoupler
    interior: np.ndarray  # indices of atoms with weight 1 between the bands
    band_width: float


@dataclass
class Geometry:
    chain: Chain1D
    bar: Bar1D
    nodes: np.ndarray  # [n] FE node coordinates
    cells: np.ndarray  # [nc, 2]
    band_atoms: np.ndarray  # atoms with 0 < w < 1
    interior: np.ndarray  # atoms with w = 0
    gamma: object  # damping-rate callable or None
    width: float
    gamma_hp: object = None  # high-pass damping-rate callable or None


def geometry(n_interior: int, ratio: int = 1, band_elements: int = 8, bar_elements: int = 200,
             damping: float = 0.0, potential: str = "harmonic", highpass: float = 0.0,
             sigma: float = 1.0, EA: float = 1.0) -> Geometry:
    """Chain of ``n_interior`` pure atoms plus two bands of ``band_elements`` elements of size
    ``ratio`` a, bars of ``bar_elements`` beyond (:func:`bars_around_chain`). ``potential``,
    ``sigma``: the chain's (:class:`Chain1D`); ``EA``: the bar's stiffness (ρA = m/a = 1).
    ``damping``/``highpass`` > 0: stadium-profile damping-rate callables up to that rate."""
    x_atoms, bands, nodes, cells, wc, width = bars_around_chain(n_interior, ratio, band_elements, bar_elements)
    bar = Bar1D(nodes, cells, wc, EA=EA)
    w_atoms = continuum_weight(bands, x_atoms[:, None])
    chain = Chain1D(x_atoms, weight=1.0 - w_atoms, potential=potential, sigma=sigma)
    gamma = None
    if damping > 0:
        def gamma(X, bands=bands):  # stadium: 0 at the atomistic edge, γ at the continuum edge
            s = np.maximum(bands[0].normal_coordinate(X), bands[1].normal_coordinate(X))
            return stadium_profile(s, width, damping)
    gamma_hp = None
    if highpass > 0:
        def gamma_hp(X, bands=bands):  # linear ramp over the inner half, flat beyond: the
            # 8a–12a waves turn back early in the band, so the dashpots must act there
            s = np.maximum(bands[0].normal_coordinate(X), bands[1].normal_coordinate(X))
            return stadium_profile(s, 0.5 * width, highpass, power=1)
    return Geometry(chain, bar, nodes, cells, np.flatnonzero(w_atoms > 0), np.flatnonzero(w_atoms == 0),
                    gamma, width, gamma_hp)


def build(n_interior: int, ratio: int = 1, band_elements: int = 8, bar_elements: int = 200,
          multipliers: str = "atoms", damping: float = 0.0, potential: str = "harmonic",
          damping_reference: str = "continuum", highpass: float = 0.0, cutoff: float | None = None,
          order: int = 1, node_rate: float = 0.0, sigma: float = 1.0, EA: float = 1.0) -> Setup:
    """Both models on this rank (the intercomm-free shortcut of the coupled driver).
    ``highpass`` > 0 adds high-pass damping (stadium profile up to that rate) with corner
    ``cutoff`` (default: the mesh's cut-off frequency 2c/h)."""
    g = geometry(n_interior, ratio, band_elements, bar_elements, damping, potential, highpass, sigma, EA)
    x = g.chain.x0
    ex = InterfaceExchange.local(g.band_atoms, x[g.band_atoms], g.nodes[:, None], g.cells, "P1")
    cp = BridgingDomainCoupler(ex, patch=g.chain, continuum=g.bar, band_atoms=g.band_atoms, components=1,
                               multipliers=multipliers, damping=g.gamma, damping_reference=damping_reference,
                               highpass_damping=g.gamma_hp,
                               highpass_cutoff=2.0 / ratio if cutoff is None else cutoff, highpass_order=order,
                               highpass_node_rate=node_rate)
    return Setup(g.chain, g.bar, cp, g.interior, g.width)


def launch(chain: Chain1D, q: float, sigma: float, centre: float, amplitude: float = 1e-3) -> None:
    """Right-moving packet u = A exp(−(x−x0)²/2σ²) cos(q(x−x0)) built from chain modes."""
    x = chain.x0[:, 0]
    n = 2 * x.size
    psi = np.zeros(n, dtype=complex)
    psi[: x.size] = amplitude * np.exp(-0.5 * ((x - centre) / sigma) ** 2 + 1j * q * (x - centre))
    ph = np.fft.fft(psi)
    k = 2 * np.pi * np.fft.fftfreq(n)
    ph[k <= 0] = 0.0
    om = chain_dispersion(k)
    u = np.fft.ifft(ph)[: x.size]
    v = np.fft.ifft(-1j * om * ph)[: x.size]
    chain.u[:, 0] = 2 * u.real  # Re of the analytic signal (half the spectrum removed)
    chain.v[:, 0] = 2 * v.real
    chain.compute_forces()


def interior_energy(chain: Chain1D, idx: np.ndarray) -> float:
    """Kinetic + harmonic bond energy of the atoms ``idx`` (contiguous) and their inner bonds."""
    u = chain.u[idx, 0]
    ke = 0.5 * np.sum(chain.mass[idx] * chain.v[idx, 0] ** 2)
    return float(ke + 0.5 * chain.k * np.sum(np.diff(u) ** 2))


def reflection(wavelength: float, ratio: int = 1, band_elements: int = 8, multipliers: str = "atoms",
               damping: float = 0.0, dt: float = 0.1, sigma_waves: float = 1.5,
               damping_reference: str = "continuum", highpass: float = 0.0, cutoff: float | None = None,
               order: int = 1, node_rate: float = 0.0) -> float:
    """Energy reflection coefficient for a packet of ``wavelength`` (lattice spacings)."""
    q = 2 * np.pi / wavelength
    sigma = max(sigma_waves * wavelength, 10.0)
    n_int = int(30 * sigma)
    cg = np.cos(0.5 * q)
    t_end = 29 * sigma / cg
    s = build(n_int, ratio, band_elements, bar_elements=int(np.ceil(40 * sigma / ratio)) + 20,
              multipliers=multipliers, damping=damping, damping_reference=damping_reference,
              highpass=highpass, cutoff=cutoff, order=order, node_rate=node_rate)
    x_left = s.chain.x0[s.interior[0], 0]
    launch(s.chain, q, sigma, x_left + 8 * sigma)
    e0 = interior_energy(s.chain, s.interior)
    s.coupler.step(dt, int(np.ceil(t_end / dt)))
    return interior_energy(s.chain, s.interior) / e0


def energy_drift(nsteps: int = 10_000, dt: float = 0.1, ratio: int = 4, multipliers: str = "atoms",
                 wavelength: float = 20.0) -> tuple[float, np.ndarray]:
    """Relative drift of the coupled NVE energy over ``nsteps`` (packet crossing a band)."""
    sigma = 1.5 * wavelength
    s = build(int(12 * sigma), ratio, 8, bar_elements=int(20 * sigma / ratio), multipliers=multipliers)
    launch(s.chain, 2 * np.pi / wavelength, sigma, s.chain.x0[s.interior[0], 0] + 6 * sigma)
    s.bar.compute_forces()
    e = []
    for _ in range(nsteps // 100):
        e.append(s.coupler.energies().mechanical)
        s.coupler.step(dt, 100)
    e.append(s.coupler.energies().mechanical)
    e = np.asarray(e)
    return float(np.max(np.abs(e - e[0])) / e[0]), e
