"""Compose one rank's models and couplers from a checked case.

``build(case, layout, outdir) -> (model, couplers)`` looks the case up in one table keyed by
(mode, physics, coupling) and calls the builder found there; a combination not in the table
is refused by :func:`mscouple.check.check` before any rank gets here. Builders only compose:
the physics lives in :mod:`mscouple.coupling` and the models in :mod:`mscouple.run.models`.

Geometry of the handshake: :mod:`mscouple.coupling.geometry`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from ..config import Case
from ..errors import ConfigError
from ..layout import CONTINUUM, Layout
from ..units import get_units
from .models import ContinuumModel, PatchModel

__all__ = ["build", "coupling_kind", "BUILDERS"]


def coupling_kind(case: Case) -> tuple[str, str, str]:
    """The table key of a case: (mode, physics, coupling)."""
    if case.handshake is None:
        if case.continuum is not None:
            return (case.run.mode, case.continuum.physics, "none")
        return (case.run.mode, "md", "none")
    physics = case.continuum.physics
    if case.run.mode == "statics":
        return ("statics", physics, "schwarz")
    if physics == "heat":
        return ("dynamics", physics, "thermostat")
    return ("dynamics", physics, "bridging")


def _uncoupled(case: Case, layout: Layout, outdir: Path):
    if layout.is_continuum:
        return ContinuumModel(layout.comm, case, outdir), []
    model = PatchModel(layout.comm, case, layout.role, outdir, coupled=False)
    spec = case.patch(layout.role)
    if spec.fixed is not None:  # held atoms (e.g. the bottom of an indented block)
        lo, hi = np.asarray(spec.fixed.lo, float), np.asarray(spec.fixed.hi, float)
        X0 = np.asarray(model.system.x0)
        model.system.fixed[:] = np.where(np.all((X0 >= lo) & (X0 <= hi), axis=1), 1, model.system.fixed)
    return model, _indenter(case, model, outdir, drives=True)


def _indenter(case: Case, model, outdir: Path, *, drives: bool) -> list:
    """The ``[indenter]``'s driver on the patch it acts on (none elsewhere)."""
    ind = case.indenter
    if ind is None or model.kind != "patch" or model.name != (ind.patch or case.patches[0].name):
        return []
    from .indentation import IndenterDriver, hertz_modulus, hertz_poisson

    if model.comm.Get_rank() == 0:
        outdir.mkdir(parents=True, exist_ok=True)
    return [IndenterDriver(model, ind, mode=case.run.mode, dt=case.run.dt, fmax=case.run.tolerance, drives=drives,
                           outdir=outdir, modulus=hertz_modulus(case), atoms_every=case.output.atoms_every,
                           poisson=hertz_poisson(case) if ind.thickness > 0 else None)]


def _md_statics(case: Case, layout: Layout, outdir: Path):
    """Pure-MD statics: a loading path of the ``[indenter]``, one FIRE relaxation per increment."""
    if case.indenter is None:
        raise ConfigError(f"{case.source}: run.mode = 'statics' without a continuum: give an [indenter] "
                          "(one relaxed increment per run step) or use run.mode = 'dynamics'")
    return _uncoupled(case, layout, outdir)


# ---------------------------------------------------------------------------------------
def _mesh_cutoff(case: Case) -> float:
    """Highest frequency 2c/h the (coarsest) continuum mesh carries (lumped P1)."""
    import math

    c = case.continuum
    m = c.mesh
    h = max((hi - lo) / n for lo, hi, n in zip(m.lo, m.hi, m.cells))
    mat = c.material
    modulus = mat.c11 if mat.model == "cubic" else mat.youngs_modulus
    return 2.0 * math.sqrt(modulus / mat.density) / h


def _bridging(case: Case, layout: Layout, outdir: Path):
    """Bridging-domain dynamics of one or several patches (optionally thermo-mechanical:
    damping band → heat). Every patch has its own band, intercommunicator and constraint
    system; the bands do not share nodes (checked), so their projections are independent."""
    from ..coupling.damping import stadium_profile
    from ..coupling.dynamics import BridgingDomainCoupler
    from ..coupling.exchange import InterfaceExchange
    from ..coupling.geometry import handshake_band
    from .couplers import BridgingContinuum, BridgingPatch

    hs = case.handshake
    thermo = case.continuum.physics == "thermomechanics"
    heat_every = hs.thermal_every if thermo else 0
    dim = case.continuum.dim
    bands = {p.name: handshake_band(case, p.name) for p in case.patches}
    units = get_units(case.units)

    def weight(X):
        # continuum weight: 0 in any patch's core, 1 away from every band (the smallest)
        return np.min([b.continuum_weight(X) for b in bands.values()], axis=0)

    def options(name: str) -> dict:
        band = bands[name]
        gamma_fn = None
        if hs.damping > 0:
            dw = hs.damping_width or hs.width
            # rate rises from 0 at (width − dw) inside the band to `damping` at the region edge
            gamma_fn = lambda X: stadium_profile(band.distance(X) - (hs.width - dw), dw, hs.damping)  # noqa: E731
        hp_fn, hp_cut = None, 0.0
        if hs.highpass_damping > 0:
            # dashpots on the whole band-atom velocity relative to its time-filtered slow part
            # (Wagner, Karpov & Liu 2004; To & Li 2005): rate rising linearly over the band's
            # inner half, flat beyond; corner at the mesh cut-off 2c/h unless given
            hp_fn = lambda X: hs.highpass_damping * np.clip(band.distance(X) / (0.5 * hs.width), 0.0, 1.0)  # noqa: E731
            hp_cut = hs.highpass_cutoff or _mesh_cutoff(case)
        # the damping band is a bath at the patch's temperature (constrained Langevin: friction
        # and noise from one matrix, canonical on the constraint)
        return dict(components=dim, multipliers=hs.multipliers, damping=gamma_fn,
                    temperature=case.patch(name).temperature,
                    boltzmann=units.boltzmann, mvv2e=units.mvv2e, seed=case.patch(name).seed,
                    local_comm=layout.comm, highpass_damping=hp_fn, highpass_cutoff=hp_cut)

    if layout.is_continuum:
        from ..coupling.adapters import ElastodynamicsSide

        model = ContinuumModel(layout.comm, case, outdir, elastic_weight=weight,
                               heat_dt=heat_every * case.run.dt if thermo else None)
        mesh = model.mesh
        kind = "P1" if mesh.cell_type in ("interval", "triangle", "tetrahedron") else "Q1"
        side = ElastodynamicsSide(model.elastic.problem)
        interfaces = []
        for p in case.patches:
            ex = InterfaceExchange.setup(layout.intercomms[p.name], "continuum", nodes=mesh.coordinates,
                                         cells=np.asarray(mesh.cells, dtype=np.int64), kind=kind, dim=dim)
            cp = BridgingDomainCoupler(ex, continuum=side, **options(p.name))
            d2h = None
            if thermo:
                from ..coupling.adapters import HeatConductionSide
                from ..coupling.thermal import DampingToHeat

                d2h = DampingToHeat(cp, HeatConductionSide(model.heat.problem))
            interfaces.append((p.name, cp, d2h))
        half = BridgingContinuum(interfaces, model, side, case.run.dt, heat_every=heat_every)
        T = max(p.temperature for p in case.patches)
        if T > 0:
            # nodes start at their rest positions: kinetic energy at 2 T equipartitions to T
            half.thermal_start(2.0 * T, boltzmann=units.boltzmann, mvv2e=units.mvv2e,
                               seed=case.patches[0].seed, components=dim)
        return model, [half]
    name = layout.role
    model = PatchModel(layout.comm, case, name, outdir, coupled=True, weight_fn=weight)
    md = model.system
    if np.any(model.weight >= 1.0):
        raise ConfigError(f"{case.source}: patches.{name}: atoms lie on the outer edge of the "
                          "handshake band (weight 0): enlarge the region or the band")
    idx = np.flatnonzero(model.weight > 0)
    ex = InterfaceExchange.setup(layout.intercomms[CONTINUUM], "patch", ids=md.ids[idx],
                                 reference=md.x0[idx], dim=dim)
    spec = case.patch(name)
    if spec.temperature > 0:
        # atoms start on their lattice sites, with the band's dynamical masses (1 − w) m:
        # kinetic energy at 2 T equipartitions to T
        md.set_velocities(2.0 * spec.temperature, seed=spec.seed)
    cp = BridgingDomainCoupler(ex, patch=md, band_atoms=idx, **options(name))
    half = BridgingPatch(cp, model, case.run.dt)
    drivers = _indenter(case, model, outdir, drives=False)
    if drivers:
        half.indenter = drivers[0]
    if max(p.temperature for p in case.patches) > 0:
        half.initial_projection()  # with the continuum's thermal start
    return model, [half] + drivers


def _schwarz(case: Case, layout: Layout, outdir: Path):
    """Alternating Schwarz statics: elastostatics ⇄ FIRE-relaxed patches (one or several,
    each on its own ranks; the continuum solves once per iteration with every core). With
    ``handshake.statics = "blended"`` the same halves drive
    :class:`~mscouple.coupling.blended_statics.BlendedStatics` (one patch, linear elastic
    continuum): the blended energy of both scales minimised."""
    from ..coupling.schwarz import SchwarzRegions, SchwarzStatics
    from .couplers import SchwarzContinuum, SchwarzPatch

    dim = case.continuum.dim
    indented = case.indenter is not None
    overlap = case.handshake.width

    def boxes(p):
        """(Schwarz regions, in-split predicate) of patch *p*."""
        lo, hi = np.array(p.region.lo[:dim], float), np.array(p.region.hi[:dim], float)
        pad = p.potential.cutoff + p.skin
        if indented and case.continuum.mesh.kind != "gmsh":
            # a patch face on the continuum's outer boundary is the indented free surface: the
            # Schwarz box reaches pad + overlap beyond it, so the atoms there are free (no pad)
            # and the continuum's core reaches the surface
            m = case.continuum.mesh
            tol = 1e-9 * max(1.0, float(np.max(np.abs(np.r_[m.lo, m.hi]))))
            lo = np.where(np.abs(lo - np.array(m.lo[:dim])) < tol, lo - pad - overlap, lo)
            hi = np.where(np.abs(hi - np.array(m.hi[:dim])) < tol, hi + pad + overlap, hi)
        # the energy partition: the atoms account for the box through the middle of the
        # overlap, the continuum for the cells outside it (core and overlap are modelled twice)
        split_lo, split_hi = lo + pad + 0.5 * overlap, hi - pad - 0.5 * overlap

        def in_split(X: np.ndarray) -> np.ndarray:
            return np.all((X[:, :dim] > split_lo) & (X[:, :dim] < split_hi), axis=1)

        return SchwarzRegions(lo, hi, pad=pad, overlap=overlap), in_split

    opts = dict(tol=case.run.tolerance, max_iter=case.run.max_iterations, fmax=case.run.tolerance)
    # handshake.statics = "blended": minimise the blended energy of both scales instead of
    # alternating between them (mscouple/coupling/blended_statics.py; same halves, same exchange)
    blended = case.handshake.statics == "blended"
    if blended:
        if len(case.patches) != 1:
            raise ConfigError(f"{case.source}: handshake.statics = 'blended': expected 'schwarz' with several "
                              "patches (blended statics is built and tested for one patch)")
        from ..coupling.blended_statics import BlendedStatics as Statics
    else:
        Statics = SchwarzStatics
    mat = case.continuum.material
    # load increments of a dislocation-density continuum (mscouple/run/plastic.py); 0: elastic
    plastic = mat.load_steps if mat.model == "dislocation_density" else 0
    if indented:
        # a loading path: one LU factorisation of the continuum serves every Schwarz iteration
        # of every increment (CG + GAMG on a graded 3D mesh: ~135 iterations per solve)
        opts["direct"] = True
    if layout.is_continuum:
        parts = [boxes(p) for p in case.patches]

        def outside_every_split(C: np.ndarray) -> np.ndarray:
            return (~np.any([inside(C) for _, inside in parts], axis=0)).astype(float)

        model = ContinuumModel(layout.comm, case, outdir, elastic_energy_weight=outside_every_split)
        regions = [r for r, _ in parts]
        inters = [layout.intercomms[p.name] for p in case.patches]
        if len(regions) == 1:
            regions, inters = regions[0], inters[0]
        if plastic and blended:
            raise ConfigError(f"{case.source}: handshake.statics = 'blended' needs a linear elastic continuum; "
                              "expected 'schwarz' with continuum.material.model = 'dislocation_density'")
        if plastic:  # the dislocation-density continuum: load increments, one Schwarz solve each
            from .plastic import PlasticSchwarzContinuumHalf

            cont = model.elastic.schwarz_continuum
            sw = SchwarzStatics(regions, statics=cont, intercomm=inters, **opts)
            return model, [PlasticSchwarzContinuumHalf(sw, model, cont, plastic)]
        sw = Statics(regions, statics=model.elastic.problem, intercomm=inters, **opts)
        half = SchwarzContinuum(sw, model)
        half.per_step = indented  # a loading path: one Schwarz solve per increment
        if indented:
            half.initial_solve()  # depth 0 relaxed (the patch half solves with it)
        return model, [half]
    p = case.patch(layout.role)
    regions, in_split = boxes(p)
    model = PatchModel(layout.comm, case, p.name, outdir, coupled=True, energy_region=in_split)
    sw = Statics(regions, system=model.system, intercomm=layout.intercomms[CONTINUUM], **opts)
    if plastic:
        from .plastic import PlasticSchwarzPatchHalf

        return model, [PlasticSchwarzPatchHalf(sw, model, plastic)]
    half = SchwarzPatch(sw, model)
    drivers = _indenter(case, model, outdir, drives=False)
    if indented:
        half.per_step = True
        half.loading = drivers[0]
        drivers[0].partition = regions  # the ledger of both scales: atoms weighted by w
        if blended:
            # the pad-work columns (W_pad, W_pad_ref, ledger_atoms) balance free atoms in
            # equilibrium under the unweighted potential: Schwarz's, not the blended energy's
            drivers[0].pad_ledger = False
        # a defect reaching the overlap band stops the run (centro-symmetry, fcc/bcc/sc); under
        # blended statics the overlap's atoms follow the continuum, so a defect stops at the free
        # atoms next to them: the band watched reaches one nearest-neighbour distance into the
        # core (the free atoms with a slaved atom in their first shell)
        if p.lattice.kind in ("fcc", "bcc", "sc"):
            # not toward the indented surface (a face the Schwarz box reaches beyond): the
            # atoms under the tip are the defect's source, not the band
            nn = {"fcc": np.sqrt(0.5), "bcc": np.sqrt(0.75), "sc": 1.0}[p.lattice.kind] * p.lattice.constant
            inward = nn if blended else 0.0
            shut_lo = regions.patch_lo >= np.array(p.region.lo[:dim], float) - 1e-9 * regions.scale
            shut_hi = regions.patch_hi <= np.array(p.region.hi[:dim], float) + 1e-9 * regions.scale
            drivers[0].watch_band(regions, p.lattice.constant, p.lattice.kind,
                                  inner=(regions.core_lo + inward * shut_lo, regions.core_hi - inward * shut_hi))
        # both scales relaxed at depth 0 (free surface) before the increment-0 record: the
        # ledger's reference, and the surface that indenter.zero = "contact" measures from
        half.initial_solve()
        drivers[0].start()
    return model, [half] + drivers


def _thermostat(case: Case, layout: Layout, outdir: Path):
    """Heat continuum ⇄ patches through the power-matched thermostat (Wagner et al. 2008).

    The continuum exists outside each patch core [lo + width, hi − width] (along the patch's
    free directions): heat cells there have weight 1, cells in a core weight 0 (the atoms
    carry the heat there). *Interface nodes* are the nodes shared by weight-1 and weight-0
    cells (on a band's inner edge): their temperature is the atoms' projected, filtered
    kinetic temperature; the power the continuum passes into them goes to the band atoms.
    With several patches one heat step per interval serves every interface (the patches'
    exchanges are stacked, :class:`~mscouple.coupling.exchange.StackedExchange`). The case's
    temperature boundaries become the coupler's reservoirs.
    """
    from ..coupling.exchange import InterfaceExchange, StackedExchange
    from ..coupling.geometry import free_dirs, in_core, thermal_core
    from ..coupling.thermal import ThermalCoupler
    from .couplers import ThermalContinuum, ThermalPatch

    hs = case.handshake
    dim = case.continuum.dim
    units = get_units(case.units)
    cores = {p.name: thermal_core(case, p.name) for p in case.patches}
    m = case.continuum.mesh
    tol = 1e-9 * max(1.0, float(np.max(np.abs(np.r_[m.lo, m.hi]))) if m.lo and m.hi else 1.0)
    every = hs.thermal_every
    opts = dict(filter_time=hs.filter_time, boltzmann=units.boltzmann, mvv2e=units.mvv2e, dof_per_atom=3,
                local_comm=layout.comm)
    if not layout.is_continuum:
        name = layout.role
        p = case.patch(name)
        lo, hi = cores[name]
        model = PatchModel(layout.comm, case, name, outdir, coupled=True)
        md = model.system
        if p.temperature > 0:
            # atoms start on their lattice sites: kinetic energy at 2 T equipartitions to T
            md.set_velocities(2.0 * p.temperature, seed=p.seed)
        idx = np.flatnonzero(~in_core(md.x0[:, :dim], lo, hi, tol))
        ex = InterfaceExchange.setup(layout.intercomms[CONTINUUM], "patch", ids=md.ids[idx],
                                     reference=md.x0[idx], dim=dim)
        tc = ThermalCoupler(ex, patch=md, thermo_atoms=idx, **opts)
        return model, [ThermalPatch(tc, model, case.run.dt, every)]

    def core_of(X) -> np.ndarray:
        """Index of the patch whose core holds each point, −1 for none [n]."""
        out = np.full(len(X), -1, dtype=np.int64)
        for k, (lo, hi) in enumerate(cores.values()):
            out[in_core(X, lo, hi, tol)] = k
        return out

    comm = layout.comm
    model = ContinuumModel(comm, case, outdir, heat_dt=every * case.run.dt,
                           heat_weight=lambda C: np.where(core_of(C) >= 0, 0.0, 1.0))
    heat, mesh = model.heat.problem, model.mesh
    _direct_solver(heat, comm)
    where = [bc.where for bc in case.continuum.boundary if bc.kind == "temperature"]
    bcs = heat.take_dirichlet()  # the case's temperature boundaries become reservoirs
    l2g = np.asarray(mesh.node_global, dtype=np.int64)
    own = np.asarray(mesh.owned_nodes, dtype=np.int64)
    cells = np.asarray(mesh.cells, dtype=np.int64)
    which = core_of(mesh.cell_centroids())
    w = np.where(which >= 0, 0.0, 1.0)
    touch1 = np.unique(l2g[cells[w > 0]]) if cells.size else np.zeros(0, np.int64)
    touch0 = np.unique(l2g[cells[w == 0]]) if cells.size else np.zeros(0, np.int64)
    t1 = np.unique(np.concatenate(comm.allgather(touch1)))
    t0 = np.unique(np.concatenate(comm.allgather(touch0)))
    if_g = np.intersect1d(t1, t0)
    core_g = np.setdiff1d(t0, t1)
    Xo = mesh.coordinates[own]
    gown = l2g[own]
    mine = np.isin(gown, if_g)
    Xi = Xo[mine][:, :dim]
    atol = 1e-6 * max(1.0, hs.width)
    # the patch each owned interface node belongs to: the one whose core edge it lies on
    owner = np.full(Xi.shape[0], -1, dtype=np.int64)
    for k, (lo, hi) in enumerate(cores.values()):
        inside = np.all((Xi >= lo - atol) & (Xi <= hi + atol), axis=1)
        edge = np.any(np.isclose(Xi, lo[None, :], atol=atol) | np.isclose(Xi, hi[None, :], atol=atol), axis=1)
        owner[(owner < 0) & inside & edge] = k
    bad = comm.allreduce(int(np.count_nonzero(owner < 0)))
    if if_g.size == 0 or bad:
        edges = "; ".join(f"{n}: {lo.tolist()} .. {hi.tolist()}" for n, (lo, hi) in cores.items())
        raise ConfigError(f"{case.source}: handshake.width = {hs.width:g}: the band's inner edges "
                          f"(patch region ± width: {edges}) must fall on mesh nodes; choose the mesh, "
                          "regions and width so that they do")
    # reservoir nodes (global, with values and labels), from the removed Dirichlet conditions
    b_g, b_v, b_lab = [], [], []
    for i, bc in enumerate(bcs):
        b_g.append(gown[bc.nodes])
        b_v.append(np.asarray(bc.values, float).reshape(-1))
        b_lab.append(np.full(bc.nodes.size, i))
    parts = comm.allgather((np.concatenate(b_g) if b_g else np.zeros(0, np.int64),
                            np.concatenate(b_v) if b_v else np.zeros(0),
                            np.concatenate(b_lab) if b_lab else np.zeros(0, np.int64)))
    bg = np.concatenate([q[0] for q in parts]).astype(np.int64)
    bv = np.concatenate([q[1] for q in parts])
    bl = np.concatenate([q[2] for q in parts]).astype(np.int64)
    bg, first = np.unique(bg, return_index=True)  # a corner in two boundaries: first wins
    bv, bl = bv[first], bl[first]
    if np.intersect1d(bg, np.concatenate([if_g, core_g])).size:
        raise ConfigError(f"{case.source}: continuum.boundary: a temperature boundary touches the patch's "
                          "interface or core nodes; keep the reservoirs away from the atoms")
    names = [f"Q_{w_}" for w_ in where]
    if len(cores) == 1:
        # one patch: interface sides below / above its centre along the first free direction
        name = case.patches[0].name
        k0 = free_dirs(case, name).index(True)
        p = case.patch(name)
        centre = 0.5 * (p.region.lo[k0] + p.region.hi[k0])
        side_of = (Xo[mine][:, k0] > centre).astype(np.int64)
        side_names = ["lo", "hi"]
    else:  # several patches: one interface column per patch
        side_of = owner
        side_names = list(cores)
    names_all = names + [f"Q_interface_{s_}" for s_ in side_names]
    labels = np.full(own.size, -1, dtype=np.int64)
    pos_b = np.searchsorted(bg, gown)
    in_b = np.isin(gown, bg)
    labels[in_b] = bl[pos_b[in_b]]
    labels[mine] = len(names) + side_of
    core_rows = np.flatnonzero(np.isin(gown, core_g))
    sides = comm.allgather((gown[mine], side_of))
    sg = np.concatenate([q[0] for q in sides]).astype(np.int64)
    ss = np.concatenate([q[1] for q in sides]).astype(np.int64)
    if_side = ss[np.argsort(sg)][np.searchsorted(np.sort(sg), if_g)]  # side index, if_g order
    flux_power = float(comm.allreduce(float(np.sum(heat.space.owned(heat.F)))))
    from ..coupling.adapters import HeatConductionSide
    from .couplers import ReservoirHeatSide

    side = ReservoirHeatSide(HeatConductionSide(heat), core_rows, labels, names_all, flux_power)
    side.side_names = side_names
    if comm.Get_size() == 1:  # one rank: the coupler takes local node numbers
        order = np.argsort(l2g)
        loc = lambda g: order[np.searchsorted(l2g, g, sorter=order)]  # noqa: E731
        if_nodes, b_nodes = loc(if_g), loc(bg)
    else:
        if_nodes, b_nodes = if_g, bg
    kind = "P1" if mesh.cell_type in ("interval", "triangle", "tetrahedron") else "Q1"
    exs = [InterfaceExchange.setup(layout.intercomms[p.name], "continuum", nodes=mesh.coordinates,
                                   cells=cells, kind=kind, dim=dim) for p in case.patches]
    ex = exs[0] if len(exs) == 1 else StackedExchange(exs)
    try:
        tc = ThermalCoupler(ex, heat=side, interface_nodes=if_nodes, boundary_nodes=b_nodes,
                            boundary_values=bv, **opts)
    except ConfigError as exc:
        raise ConfigError(f"{case.source}: handshake.width = {hs.width:g}: {exc} (the band must be one "
                          "element wide: its atoms are the thermostatted ones)") from None
    side.if_side = if_side
    return model, [ThermalContinuum(tc, model, case.run.dt, every, side)]


def _direct_solver(heat, comm) -> None:
    """A direct solve for the coupled heat steps (round-off energy bookkeeping; small meshes)."""
    from petsc4py import PETSc

    from ..continuum.solver import direct_factor_type

    prefix = "mscouple_thermal_heat_"
    heat.prefix = prefix
    o = PETSc.Options()
    o[prefix + "ksp_type"] = "preonly"
    o[prefix + "pc_type"] = "lu"
    # one rank: PETSc's own LU — a heat step is one small solve per coupling interval, and
    # below ~20,000 dofs PETSc's triangular solves beat MUMPS' (benchmarks/direct_solve.py:
    # 0.33x at 735 dofs, 0.69x at 6,750); MUMPS where the mesh is split
    if comm.Get_size() > 1:
        o[prefix + "pc_factor_mat_solver_type"] = direct_factor_type(comm)


Builder = Callable[[Case, Layout, Path], tuple]

#: (mode, continuum physics, coupling) → builder. The pre-flight check refuses every case
#: whose key is not here, naming the keys that select it.
BUILDERS: dict[tuple[str, str, str], Builder] = {
    ("dynamics", "md", "none"): _uncoupled,
    ("statics", "md", "none"): _md_statics,
    ("dynamics", "elastodynamics", "none"): _uncoupled,
    ("dynamics", "heat", "none"): _uncoupled,
    ("dynamics", "thermomechanics", "none"): _uncoupled,
    ("statics", "elastostatics", "none"): _uncoupled,
    ("dynamics", "elastostatics", "none"): _uncoupled,  # one solve, whatever the mode
    ("dynamics", "elastodynamics", "bridging"): _bridging,
    ("dynamics", "thermomechanics", "bridging"): _bridging,
    ("statics", "elastostatics", "schwarz"): _schwarz,
    ("dynamics", "heat", "thermostat"): _thermostat,
}


def build(case: Case, layout: Layout, outdir: Path):
    """``(model, couplers)`` of this rank (collective over the layout)."""
    key = coupling_kind(case)
    try:
        builder = BUILDERS[key]
    except KeyError:
        mode, physics, coupling = key
        raise ConfigError(f"{case.source}: run.mode = {mode!r} with continuum.physics = {physics!r} "
                          f"({'with' if coupling != 'none' else 'without'} a [handshake]): not a supported "
                          f"combination; supported: {sorted(BUILDERS)}") from None
    return builder(case, layout, outdir)
