"""1D wave packet through a bridging-domain handshake: chain between two FE bars.

Geometry (lattice spacing a = 1, LJ-like units m = k = 1)::

    FE bar | band (w: 1→0) | atoms only (interior) | band (w: 0→1) | FE bar

A right-moving wave packet of wavelength λ is launched in the middle of the interior,
crosses the right band into the right bar; the energy left in the interior once the packet
has gone is the reflected energy, R = E_interior(t_end) / E_interior(0).

The packet is built spectrally from the exact chain dispersion (only k > 0 modes), so it
moves right without a spurious left-moving part. Element size h = r a; the FE bar has
EA = k a, ρA = m / a (same long-wave speed); with lumped masses its dispersion is
ω = (2/h) sin(qh/2), the chain's ω = 2 sin(qa/2).

Run ``python examples/wave_1d/wave.py`` for the full study (PNG + CSV next to this file);
``tests/coupling/test_wave_1d.py`` runs a fast subset.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass

import numpy as np

from mscouple.coupling.band import continuum_weight
from mscouple.coupling.damping import stadium_profile
from mscouple.coupling.dynamics import BridgingDomainCoupler
from mscouple.coupling.exchange import InterfaceExchange
from mscouple.coupling.models1d import Bar1D, Chain1D, bars_around_chain, chain_dispersion


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
             damping: float = 0.0, potential: str = "harmonic", highpass: float = 0.0) -> Geometry:
    """Chain of ``n_interior`` pure atoms plus two bands of ``band_elements`` elements of size ``ratio``."""
    x_atoms, bands, nodes, cells, wc, width = bars_around_chain(n_interior, ratio, band_elements, bar_elements)
    bar = Bar1D(nodes, cells, wc)
    w_atoms = continuum_weight(bands, x_atoms[:, None])
    chain = Chain1D(x_atoms, weight=1.0 - w_atoms, potential=potential)
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
          order: int = 1, node_rate: float = 0.0) -> Setup:
    """Both models on this rank (the intercomm-free shortcut of the coupled driver).
    ``highpass`` > 0 adds high-pass damping (stadium profile up to that rate) with corner
    ``cutoff`` (default: the mesh's cut-off frequency 2c/h)."""
    g = geometry(n_interior, ratio, band_elements, bar_elements, damping, potential, highpass)
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


def main(outdir: str | None = None) -> None:  # pragma: no cover - the full study
    outdir = outdir or os.path.dirname(os.path.abspath(__file__))
    rows = []
    fine = [4, 6, 8, 12, 16, 24, 32]
    for lam in fine:
        rows.append(("h=a", lam, reflection(lam, 1, 8)))
        print(rows[-1], flush=True)
    coarse = [3, 4, 5, 6, 7, 8, 10, 12, 16, 24, 40, 60, 80]
    for lam in coarse:
        rows.append(("h=4a", lam, reflection(lam, 4, 8)))
        print(rows[-1], flush=True)
        rows.append(("h=4a nodes+damping", lam, reflection(lam, 4, 8, "nodes", damping=0.5)))
        print(rows[-1], flush=True)
        rows.append(("h=4a nodes+damping 16-el band", lam, reflection(lam, 4, 16, "nodes", damping=0.5)))
        print(rows[-1], flush=True)
        rows.append(("h=4a nodes+damping+high-pass 16-el band", lam,
                     reflection(lam, 4, 16, "nodes", damping=0.5, highpass=1.0)))
        print(rows[-1], flush=True)
    with open(os.path.join(outdir, "reflection.csv"), "w") as fh:
        fh.write("case,wavelength,R\n")
        for c, lam, r in rows:
            fh.write(f"{c},{lam},{r:.6e}\n")
    plot(rows, outdir)
    with open(os.path.join(outdir, "energy.txt"), "w") as fh:
        for ratio, mult in ((1, "atoms"), (4, "atoms"), (4, "nodes")):
            drift, _ = energy_drift(10_000, 0.1, ratio, mult)
            line = f"h={ratio}a multipliers={mult}: NVE max relative energy deviation over 1e4 steps = {drift:.3e}"
            print(line, flush=True)
            fh.write(line + "\n")


def plot(rows: list, outdir: str) -> None:  # pragma: no cover - the full study
    """``reflection.png`` from rows ``(case, λ, R)`` (``python wave1d.py --plot`` re-plots the CSV)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.5))
    for case in dict.fromkeys(c for c, _, _ in rows):
        lam = np.array([l for c, l, _ in rows if c == case])
        R = np.array([r for c, _, r in rows if c == case])
        ax1.loglog(2 * np.pi / lam, np.maximum(R, 1e-16), "o-", label=case)
    ax1.set_xlabel("wavenumber q a"); ax1.set_ylabel("energy reflection R"); ax1.legend(loc="upper left", fontsize=8)
    ax1.axvline(np.pi / 4, ls=":", c="k")  # λ = 2h (h = 4a)
    ax1.axvline(2 * np.arcsin(0.25), ls="--", c="grey")  # chain ω = 2c/h (the 4a mesh's cut-off)
    ax1.axhline(0.05, ls=":", c="r"); ax1.axhline(1e-2, ls=":", c="m")
    ax1.set_title("reflection vs wavenumber (dotted: λ = 2h; dashed: ω = 2c/h)")
    q = np.linspace(0, np.pi, 200)
    ax2.plot(q, chain_dispersion(q), label="chain")
    from mscouple.coupling.models1d import lumped_p1_dispersion
    for h in (1, 4):
        qq = q[q <= np.pi / h]
        ax2.plot(qq, lumped_p1_dispersion(qq, h=h), "--", label=f"lumped P1, h={h}a")
    ax2.set_xlabel("q a"); ax2.set_ylabel("ω"); ax2.legend(); ax2.set_title("dispersion")
    fig.tight_layout()
    fig.savefig(os.path.join(outdir, "reflection.png"), dpi=120)


if __name__ == "__main__":  # pragma: no cover
    if "--plot" in sys.argv:
        here = os.path.dirname(os.path.abspath(__file__))
        with open(os.path.join(here, "reflection.csv")) as fh:
            rows = [(c, int(l), float(r)) for c, l, r in (ln.strip().split(",") for ln in list(fh)[1:])]
        plot(rows, here)
    else:
        main(sys.argv[1] if len(sys.argv) > 1 else None)
