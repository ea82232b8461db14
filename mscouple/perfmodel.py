"""A scaling model of the bridging-domain coupled step: step time, who waits, ranks per role.

The coupled step (``docs/ARCHITECTURE.md``) has ``q`` serial points per MD step — the
RATTLE projections, where the patch sends band velocities, the continuum solves the band
system and sends corrections back; ``q = 1`` when each step's end projection is merged into
the next step's first (the default), ``q = 2`` with a damping band or thermo-mechanics — and
between them both roles compute concurrently:

    T_step = max(T_md, T_fe) + q (T_band + T_msg)

    T_md   = c_atom · N / p_md · (1 + c_weight · B / N)                (MD forces, integration,
             + c_ghost · 6 (N / p_md)^(2/3)                          ghost shell per rank)
    T_fe   = c_node · n_nodes / (p_fe · k)                            (K u once per k MD steps)
    T_band = c_band · B / p_band                                      (nodal band solve and
                                                                      interpolation; p_band = p_fe
                                                                      distributed, 1 gathered
                                                                      (with a damping band))
    T_msg  = latency · peers + 8 · dim · B / (bandwidth · min(p_md, p_fe))   (one direction)

With the overlapped patch step (``overlap``; :mod:`mscouple.coupling.overlap`: the patch
computes its band pairs first, sends the band velocities and computes the interior pairs
while the continuum solves) the merged projection leaves the patch's critical path as long
as the interior pairs take longer than the round trip:

    T_step = max(T_md, b T_md + T_band + 2 T_msg, T_fe + T_band + 2 T_msg)
             + (q − 1)(T_band + T_msg)

``b = B / N`` (the band's share of the patch's pairs, roughly); the second term is the patch
waiting for the reply, the third the continuum's whole step. A second projection per step
(``q = 2``) stays serial.

The factor ``1 + c_weight B/N`` is the bridging domain's own price on the patch: a pair
with a band atom carries its energy weight ((w_i + w_j)/2, one load, add and multiply
more), measured at ``c_weight`` ≈ 0.09 of an unweighted pair (``benchmarks/patch_passes.py``:
pass A weighted / unweighted 1.087–1.101, thermal state, session 13). It sets a floor under
the coupled step against pure MD of the same patch that no overlap or subcycling removes:
1 + 0.09 · 0.49 ≈ 1.044 for the 32,000-atom benchmark, whose band holds 49 % of the atoms;
the band's share, and with it the floor, falls as 1/L for a patch L lattice constants wide.

``N`` patch atoms, ``B`` band (interface) atoms, ``n_nodes`` continuum nodes, ``p_md`` and
``p_fe`` ranks per role, ``k`` = ``handshake.subcycle``. The role with the smaller compute
time waits ``|T_md − T_fe|`` per step. Efficiency is reported against pure MD of the same
patch on *all* the launched ranks (``c_atom N / p``): what coupling costs compared with
spending every rank on atoms.

The per-unit costs are :class:`Costs`; the defaults are the measured figures of
``docs/performance.md`` (quiet machine, one core per rank). Pure: no MPI, no PETSc.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["Costs", "Prediction", "predict", "band_atoms", "suggest_layout", "advice"]


@dataclass(frozen=True)
class Costs:
    """Per-unit wall costs (seconds, one core) and network figures.

    ``c_atom``  s per atom-step of the MD engine (LJ cut 2.5 σ, fcc): 9.1 ms / 32,000 atoms
    ``c_ghost`` s per ghost-shell atom per step (pack, exchange, unpack): ~2× an owned atom
    ``c_node``  s per continuum node per force evaluation + kicks (P1 tets, 3D): 2.6 ms / 23,000
    ``c_band``  s per band atom per projection (nodal solve M + Nᵀ m N, N v, Nᵀ m v, work)
    ``c_weight`` extra cost of a band atom's pairs (their energy weights), as a fraction of
                the MD cost of an atom (module docstring)
    ``latency`` s per message; ``bandwidth`` bytes/s per rank pair
    """

    c_atom: float = 2.8e-7
    c_ghost: float = 6.0e-7
    c_node: float = 1.1e-7
    c_band: float = 6.6e-8
    c_weight: float = 0.09
    latency: float = 3.0e-6
    bandwidth: float = 5.0e9


@dataclass(frozen=True)
class Prediction:
    """Seconds per MD step of each part and the whole step; ``waits`` is the role that
    idles (``"continuum"`` or the patch), ``efficiency`` = pure MD on all ranks / step."""

    p_md: int
    p_fe: int
    t_md: float
    t_fe: float
    t_band: float
    t_msg: float
    t_step: float
    waits: str
    wait: float
    efficiency: float
    bytes_per_step: float
    projections: int = 1


def band_atoms(atoms: float, extents, width: float, free=None) -> float:
    """Atoms in a band of ``width`` along the free faces of a box patch of ``extents``
    (lengths per dimension; ``free``: per dimension, whether its faces meet the continuum)."""
    ext = [float(e) for e in extents]
    free = [True] * len(ext) if free is None else list(free)
    inner = 1.0
    for e, f in zip(ext, free):
        inner *= max(e - 2.0 * width, 0.0) / e if f else 1.0
    return atoms * (1.0 - inner)


def predict(atoms: float, nodes: float, band: float, p_md: int, p_fe: int, *, subcycle: int = 1,
            dim: int = 3, costs: Costs = Costs(), band_distributed: bool = False,
            projections: int = 1, overlap: bool = False) -> Prediction:
    """The model's step for ``atoms`` patch atoms, ``nodes`` continuum nodes, ``band`` band
    atoms on ``p_md`` + ``p_fe`` ranks, ``projections`` band projections per MD step,
    ``overlap``: the overlapped patch step (module docstring)."""
    if p_md < 1 or p_fe < 1:
        raise ValueError("each role needs at least one rank")
    if projections not in (1, 2):
        raise ValueError("projections per MD step must be 1 (merged) or 2")
    c = costs
    per = atoms / p_md
    b = min(band / atoms, 1.0) if atoms > 0 else 1.0  # the band's share of the patch's pairs, roughly
    t_md = (c.c_atom * per * (1.0 + c.c_weight * b)
            + (c.c_ghost * 6.0 * per ** (2.0 / 3.0) if p_md > 1 else 0.0))
    t_fe = c.c_node * nodes / (p_fe * max(subcycle, 1))
    t_band = c.c_band * band / (p_fe if band_distributed else 1)
    peers = min(p_md, p_fe)
    nbytes = 8.0 * dim * band  # one direction of one projection, all ranks together
    t_msg = c.latency * max(1, math.ceil(p_md / p_fe)) + nbytes / (c.bandwidth * peers)
    if overlap:
        trip = t_band + 2.0 * t_msg
        t_step = max(t_md, b * t_md + trip, t_fe + trip) + (projections - 1) * (t_band + t_msg)
    else:
        t_step = max(t_md, t_fe) + projections * (t_band + t_msg)
    waits = "continuum" if t_md >= t_fe else "patch"
    ideal = c.c_atom * atoms / (p_md + p_fe)
    return Prediction(p_md, p_fe, t_md, t_fe, t_band, t_msg, t_step, waits, abs(t_md - t_fe),
                      ideal / t_step, 2.0 * projections * nbytes, projections)


def suggest_layout(ranks: int, atoms: float, nodes: float, band: float, **kw) -> Prediction:
    """The split of ``ranks`` (≥ 2) into continuum and patch ranks with the shortest
    predicted step (fewer continuum ranks on a tie)."""
    if ranks < 2:
        raise ValueError("a coupled run needs at least two ranks (one per role)")
    best = None
    for p_fe in range(1, ranks):
        p = predict(atoms, nodes, band, ranks - p_fe, p_fe, **kw)
        if best is None or p.t_step < best.t_step * (1 - 1e-9):
            best = p
    return best


def advice(case, launched: int) -> list[str]:
    """``mscouple check``: the model's lines for a bridging-domain case — the planned
    layout's step, which role waits, and the best split of the launched (or planned) ranks.
    Empty for other cases."""
    from .scales import atom_estimate

    hs, c = case.handshake, case.continuum
    if hs is None or c is None or not case.patches or c.physics not in ("elastodynamics", "thermomechanics"):
        return []
    atoms = float(sum(atom_estimate(p) for p in case.patches))
    band = 0.0
    for p in case.patches:
        ext = [h - lo for lo, h in zip(p.region.lo, p.region.hi)][: c.dim]
        free = [not bool(x) for x in list(p.periodic)[: c.dim]] if p.periodic else None
        band += band_atoms(atom_estimate(p), ext, hs.width, free)
    m = c.mesh
    nodes = float(math.prod(n + 1 for n in m.cells)) if m.cells else atoms
    merged = hs.damping == 0 and c.physics == "elastodynamics"  # run/couplers.py: merge_projections
    # without a damping band a multi-rank continuum solves the band system distributed
    # (coupling/dynamics.py: BridgingDomainCoupler.distributed); with one it is gathered
    distributed = hs.damping == 0
    kw = dict(subcycle=hs.subcycle, dim=c.dim, projections=1 if merged else 2, band_distributed=distributed)
    p_md, p_fe = sum(case.layout.patches.values()), max(case.layout.continuum, 1)
    planned = predict(atoms, nodes, band, p_md, p_fe, **kw)
    ranks = max(launched, p_md + p_fe)
    best = suggest_layout(ranks, atoms, nodes, band, **kw)

    def line(p: Prediction) -> str:
        return (f"{p.p_fe} continuum + {p.p_md} patch ranks: {1e3 * p.t_step:.3g} ms per MD step "
                f"(MD {1e3 * p.t_md:.3g}, FE {1e3 * p.t_fe:.3g}, band {1e3 * p.projections * p.t_band:.3g}, "
                f"messages {1e3 * p.projections * p.t_msg:.3g}); the {p.waits} waits {1e3 * p.wait:.3g} ms; "
                f"efficiency {100 * p.efficiency:.0f}% of pure MD on all ranks")
    out = [f"model    : ~{atoms:.3g} atoms, ~{band:.3g} in bands, {nodes:.3g} nodes, subcycle {hs.subcycle}, "
           f"band solve {'distributed over the continuum ranks' if distributed else 'gathered on the continuum root'} "
           "(docs/performance.md)",
           f"  planned   {line(planned)}"]
    # the overlapped patch step (coupling/overlap.py: OverlappedPatchStep.applies, its
    # reason() at run time): a patch on one or several ranks, LJ or EAM, no indenter (nor a
    # thermostat or fix, which the run knows)
    why = [w for w, bad in (
        ("a potential other than lj/eam", any(p.potential.kind not in ("lj", "eam") for p in case.patches)),
        ("an indenter", getattr(case, "indenter", None) is not None)) if bad]
    if why:
        out.append(f"  overlapped patch step: does not apply ({', '.join(why)}): the band solve and "
                   f"messages ({1e3 * planned.projections * (planned.t_band + planned.t_msg):.3g} ms) "
                   "are on the critical path")
    else:
        ov = predict(atoms, nodes, band, p_md, p_fe, overlap=True, **kw)
        out.append(f"  overlapped patch step: applies unless the patch has a thermostat or fix: "
                   f"{1e3 * ov.t_step:.3g} ms per MD step, hides "
                   f"{1e3 * (planned.t_step - ov.t_step):.3g} ms of band solve and messages")
    if (best.p_fe, best.p_md) != (p_fe, p_md):
        out.append(f"  suggested {line(best)}  -> [layout] continuum = {best.p_fe}, "
                   f"patches total {best.p_md}")
    return out
