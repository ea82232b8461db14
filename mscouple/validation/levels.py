"""The validation hierarchy (DESIGN.md sec. 7): each level isolates one aspect and compares
with an analytic answer.

1. Cauchy–Born: elastic constants from MD stresses (the MD engine on periodic cells) equal
   the Born lattice sums; the HMM bar at 0 K equals the Cauchy–Born FE bar and matches the
   fully atomistic chain.
2. Homogenization: FE laminates = Voigt/Reuss (Backus); other microstructures between the
   bounds (Voigt/Reuss, Hashin–Shtrikman); Thiele effectiveness factor vs the BVP.
3. Fast/slow: oscillating coefficient and fast reaction converge to the homogenized answer at
   rate 1 in eps; HMM cell-problem solve converges at rate 2 in H; projective integration.
4. Interface, 5. patch test: provided by the coupling layer through the hook below.
6. Parallel: the RVE solve and the oracle task farm give the same answers on N ranks as on
   one (when run under mpirun with N >= 2); restart checks come from the hook.
7. Plasticity (SSD + GND): FE tension = closed-form Kocks–Mecking/Taylor curve, quadratic
   Newton, reduced torsion = integral of the shear curve, size effect vs experiments
   (:mod:`.plasticity_checks`).
8. Kinetic Monte Carlo: vacancy D = nu a^2 exp(-E_m/kT), V-I recombination vs Smoluchowski,
   emission waiting time, compiled loop = NumPy reference (:mod:`.kmc_checks`).

Hook for levels this package does not own: a module listed in :data:`PROVIDERS` that
defines ``validation_checks(level: int, quick: bool, comm) -> list[Check | dict]`` (dict
keys = :class:`Check` fields) is run for that level; if none is importable the level is
reported "not available" with the reason. Nothing is faked.

Each ``level_N(quick, comm)`` returns a :class:`LevelResult`; serial levels (1-3) ignore
``comm`` and run on the calling rank.
"""
from __future__ import annotations

import importlib
import time
from typing import Any, Callable

import numpy as np

from .checks import Check, LevelResult

PROVIDERS: dict[int, list[str]] = {
    4: ["mscouple.validation.coupling_checks"],
    5: ["mscouple.validation.coupling_checks"],
    6: ["mscouple.validation.coupling_checks", "mscouple.io.validation"],
}

TITLES = {1: "Cauchy-Born", 2: "homogenization", 3: "fast/slow (HMM)", 4: "interface",
          5: "patch test", 6: "parallel", 7: "plasticity (SSD+GND)", 8: "kinetic Monte Carlo"}


# ------------------------------------------------------------------ level 1
def level_1(quick: bool, comm: Any = None) -> LevelResult:
    from ..atomistic.potentials import LennardJones, Morse
    from ..hmm.bar import atomistic_bar, solve_bar
    from ..hmm.cauchy_born import BravaisLattice, cb_elastic_constants, equilibrium_spacing, radial_derivatives
    from ..hmm.micro import CauchyBornModel, MDCellModel
    from ..hmm.oracle import LocalOracle

    res = LevelResult(1, TITLES[1])
    lj = LennardJones(cutoff=2.5, mode="smooth")
    d = radial_derivatives(lj)
    h = 1e-5
    pots = [("LJ", lj)] + ([] if quick else [("Morse", Morse(D0=1.0, alpha=1.5, r0=1.1, cutoff=2.8, mode="smooth"))])
    for pname, pot in pots:
        dp = radial_derivatives(pot)
        a = equilibrium_spacing(pot, "chain")
        C = cb_elastic_constants(dp, BravaisLattice.build("chain", a, 1.5 * dp.rc))[0, 0, 0, 0]
        md = MDCellModel(pot, "chain", a, 8)
        c_md = (md([[h]]) - md([[-h]]))[0, 0] / (2 * h)
        res.checks.append(Check(1, f"{pname} chain modulus (MD stress) vs lattice sum", c_md, C, 1e-6))
    a = equilibrium_spacing(lj, "fcc")
    C = cb_elastic_constants(d, BravaisLattice.build("fcc", a, 1.5 * d.rc))
    reps = (3, 3, 3) if quick else (4, 4, 4)
    md = MDCellModel(lj, "fcc", a, reps)
    sp, sm = md([[h, 0, 0]])[0], md([[-h, 0, 0]])[0]
    res.checks.append(Check(1, "LJ fcc C11 (MD stress) vs lattice sum", (sp - sm)[0] / (2 * h), C[0, 0, 0, 0], 1e-6))
    res.checks.append(Check(1, "LJ fcc C12 (MD stress) vs lattice sum", (sp - sm)[1] / (2 * h), C[0, 0, 1, 1], 1e-6))
    rot = MDCellModel(lj, "fcc", a, (4, 4, 3) if quick else (6, 6, 4), orient=[[1, 1, 0], [-1, 1, 0], [0, 0, 1]])
    c11r = (rot([[h, 0, 0]]) - rot([[-h, 0, 0]]))[0, 0] / (2 * h)
    c44 = c11r - 0.5 * (C[0, 0, 0, 0] + C[0, 0, 1, 1])
    res.checks.append(Check(1, "LJ fcc C44 (MD, [110] cell) vs lattice sum", c44, C[1, 2, 1, 2], 1e-6))
    cb = CauchyBornModel(lj, "fcc", a)
    eps = np.array([[0.02, -0.01, 0.005]])
    s_md, s_cb = md(eps)[0], cb(eps)[0]
    res.checks.append(Check(1, "fcc stress at 2% strain: MD - Cauchy-Born", float(np.abs(s_md - s_cb).max()),
                            0.0, 1e-10 * float(np.abs(s_cb).max()), kind="abs"))
    # the HMM bar
    a1 = equilibrium_spacing(lj, "chain")
    N = 100 if quick else 400
    L, P, B = N * a1, 1.0, 1.0 / (N * a1)
    hm = solve_bar(LocalOracle(MDCellModel(lj, "chain", a1, 8)), L, 10, B, P)
    cbb = solve_bar(LocalOracle(CauchyBornModel(lj, "chain", a1)), L, 10, B, P)
    at = atomistic_bar(lj, a1, N, B, P)
    res.checks.append(Check(1, "HMM bar (MD oracle) tip u vs Cauchy-Born FE", hm.u[-1], cbb.u[-1], 1e-10))
    res.checks.append(Check(1, f"HMM bar tip u vs fully atomistic chain ({N} atoms)", hm.u[-1], at.u[-1], 1e-2))
    strains = np.linspace(-0.03, 0.06, 10)
    res.plots["stress_strain"] = (strains, MDCellModel(lj, "chain", a1, 8)(strains[:, None])[:, 0],
                                  CauchyBornModel(lj, "chain", a1)(np.linspace(-0.03, 0.06, 100)[:, None])[:, 0])
    res.plots["bar"] = (hm.x, hm.u, at.x, at.u)
    return res


# ------------------------------------------------------------------ level 2
def level_2(quick: bool, comm: Any = None) -> LevelResult:
    from mpi4py import MPI

    from ..homogenization import bounds as b
    from ..homogenization.rve import PeriodicRVE, inclusion_phases, laminate_phases, random_phases
    from ..homogenization.transport import effectiveness_factor

    res = LevelResult(2, TITLES[2])
    self_comm = MPI.COMM_SELF
    k = [1.0, 10.0]
    l1, m1 = b.lame_from_young(1.0, 0.3)
    l2, m2 = b.lame_from_young(20.0, 0.2)
    C2 = np.array([b.isotropic_stiffness(l1, m1, 2), b.isotropic_stiffness(l2, m2, 2)])
    rve = PeriodicRVE(self_comm, laminate_phases((16, 8), 5))
    f = rve.fractions
    kk = rve.conductivity(k).tensor
    res.checks.append(Check(2, "laminate conductivity across layers vs Reuss", kk[0, 0], b.reuss(k, f), 1e-10, "abs"))
    res.checks.append(Check(2, "laminate conductivity along layers vs Voigt", kk[1, 1], b.voigt(k, f), 1e-10, "abs"))
    T = rve.stiffness(C2).tensor
    res.checks.append(Check(2, "laminate P-wave modulus across layers vs Reuss", T[0, 0],
                            b.reuss([l1 + 2 * m1, l2 + 2 * m2], f), 1e-10, "abs"))
    res.checks.append(Check(2, "laminate shear modulus vs Reuss", 0.5 * T[2, 2], b.reuss([m1, m2], f), 1e-10, "abs"))
    res.checks.append(Check(2, "laminate stiffness: max |C - Backus|", float(np.abs(T - b.laminate_stiffness(C2, f, 2)).max()),
                            0.0, 1e-10, "abs"))
    if not quick:
        C3 = np.array([b.isotropic_stiffness(l1, m1, 3), b.isotropic_stiffness(l2, m2, 3)])
        r3 = PeriodicRVE(self_comm, laminate_phases((8, 3, 3), 3))
        T3 = r3.stiffness(C3).tensor
        res.checks.append(Check(2, "3D laminate stiffness: max |C - Backus|",
                                float(np.abs(T3 - b.laminate_stiffness(C3, r3.fractions, 3)).max()), 0.0, 1e-10, "abs"))
    n = 24 if quick else 64
    series = []
    for name, ph in (("random (square-symmetric)", random_phases((n, n), 0.4, seed=1, square_symmetric=True)),
                     ("circular inclusion", inclusion_phases((n, n), 0.3))):
        r = PeriodicRVE(self_comm, ph)
        f = r.fractions
        kk = r.conductivity(k).tensor[0, 0]
        lo, hi = b.hashin_shtrikman_conductivity(k, f, 2)
        res.checks.append(Check(2, f"{name} conductivity within HS", kk, (lo, hi), None, "between"))
        T = r.stiffness(C2).tensor
        (klo, khi), _ = b.hashin_shtrikman_elastic([l1 + m1, l2 + m2], [m1, m2], f, 2)
        res.checks.append(Check(2, f"{name} bulk modulus within HS", 0.5 * (T[0, 0] + T[0, 1]), (klo, khi), None, "between"))
        series.append((name, f[1], kk, lo, hi, b.reuss(k, f), b.voigt(k, f)))
    r = PeriodicRVE(self_comm, random_phases((n, n), 0.5, seed=3))
    T = r.stiffness(C2).tensor
    res.checks.append(Check(2, "anisotropic random: min eig(C_Voigt - C)",
                            float(np.linalg.eigvalsh(b.voigt_tensor(C2, r.fractions) - T).min()), (0.0, np.inf), None, "between"))
    res.checks.append(Check(2, "anisotropic random: min eig(C - C_Reuss)",
                            float(np.linalg.eigvalsh(T - b.reuss_tensor(C2, r.fractions)).min()), (0.0, np.inf), None, "between"))
    # porous transport: slab effectiveness factor vs the boundary-value problem by FD
    phi = 2.0
    nfd = 2000
    x = np.linspace(0, 1, nfd + 1)
    hh = x[1]
    A = (np.diag(np.full(nfd + 1, -2.0 / hh**2 - phi**2)) + np.diag(np.full(nfd, 1 / hh**2), 1)
         + np.diag(np.full(nfd, 1 / hh**2), -1))
    A[0, 1] = 2 / hh**2
    A[-1, :] = 0
    A[-1, -1] = 1
    rhs = np.zeros(nfd + 1)
    rhs[-1] = 1
    c = np.linalg.solve(A, rhs)
    res.checks.append(Check(2, "slab effectiveness factor (phi=2) vs FD BVP", effectiveness_factor(phi, "slab"),
                            float(np.trapz(c, x)), 1e-5))
    res.plots["rve"] = series
    return res


# ------------------------------------------------------------------ level 3
def level_3(quick: bool, comm: Any = None) -> LevelResult:
    from ..homogenization.scales import damkohler, length_ratio, peclet, timestep_ratio
    from ..hmm.fastslow import (FastReactionDiffusion, example_coefficient, example_homogenized,
                                fine_scale_solution, hmm_diffusion, projective_euler)
    from ..hmm.micro import ConductionCellModel
    from ..hmm.oracle import LocalOracle

    res = LevelResult(3, TITLES[3])

    def f(x):
        return np.ones_like(x)

    eps_list = [1 / 8, 1 / 16, 1 / 32] if quick else [1 / 8, 1 / 16, 1 / 32, 1 / 64, 1 / 128]
    errs = []
    for eps in eps_list:
        x, u = fine_scale_solution(example_coefficient, f, eps, int(64 / eps))
        errs.append(np.abs(u - example_homogenized(x)).max())
    rate = float(np.log2(errs[-2] / errs[-1]))
    res.checks.append(Check(3, f"oscillating coeff: |u_eps - u_0| rate in eps (eps={eps_list[-1]:.3g})", rate, 1.0, 0.2, "range"))
    res.checks.append(Check(3, "oscillating coeff: |u_eps - u_0| / eps (O(eps) constant)", errs[-1] / eps_list[-1],
                            None, None, "info"))
    model = ConductionCellModel(lambda x, y: example_coefficient(x[0], y[:, 0]), dim=1, cells=32)
    Hs = [4, 8, 16] if quick else [4, 8, 16, 32, 64]
    herrs = []
    oracle = LocalOracle(model)
    for n in Hs:
        x, u = hmm_diffusion(oracle, f, n)
        herrs.append(np.abs(u - example_homogenized(x)).max())
    res.checks.append(Check(3, "HMM (cell problems) vs u_0: rate in H", float(np.log2(herrs[-2] / herrs[-1])), 2.0, 0.25, "range"))
    res.checks.append(Check(3, "HMM l/H (period eps=1/256, element H=1/16)", length_ratio(1 / 256, 1 / 16),
                            None, None, "info"))
    ks = [100.0, 200.0, 400.0] if quick else [100.0, 200.0, 400.0, 800.0, 1600.0]
    rerrs = []
    for kr in ks:
        p = FastReactionDiffusion(1.0, 1.0, kr, 16)
        rerrs.append(np.abs(p.total(p.exact(0.1)) - p.homogenized(0.1)).max())
    res.checks.append(Check(3, "fast reaction: |c - c_0| rate in 1/Da", float(np.log2(rerrs[-2] / rerrs[-1])), 1.0, 0.1, "range"))
    aerrs = []
    for kr in ks[-2:]:
        pa = FastReactionDiffusion(0.1, 1.0, kr, 32, velocity=1.0, periodic=True)
        aerrs.append(np.abs(pa.total(pa.exact(0.2)) - pa.homogenized(0.2)).max())
    res.checks.append(Check(3, f"fast reaction + advection (Pe={pa.peclet:g}): rate in 1/Da",
                            float(np.log2(aerrs[0] / aerrs[1])), 1.0, 0.1, "range"))
    res.checks.append(Check(3, "advection case Peclet number Pe = UL/D", peclet(pa.velocity, 1.0, pa.D),
                            None, None, "info"))
    p = FastReactionDiffusion(1.0, 1.0, 1e5, 32)
    dt_in = 1.0 / p.fast_rate
    y, st = projective_euler(p.rhs, p.initial(), 0.1, dt_in, 2, 4e-4)
    amp = float(np.abs(p.homogenized(0.1)).max())
    res.checks.append(Check(3, "projective integration vs homogenized (rel. max)",
                            float(np.abs(p.total(y) - p.homogenized(0.1)).max()) / amp, 0.0, 1e-3, "abs"))
    res.checks.append(Check(3, "fast reaction Damkohler number Da = kL^2/D", damkohler(p.k, 1.0, diffusivity=p.D),
                            None, None, "info"))
    res.checks.append(Check(3, "projective: micro/macro step ratio dt/Delta", timestep_ratio(dt_in, 4e-4), None, None, "info"))
    res.checks.append(Check(3, "projective: speed-up over resolved stepping", 0.1 * p.fast_rate / st.inner_steps,
                            None, None, "info"))
    res.plots["eps"] = (eps_list, errs, ks, rerrs, Hs, herrs)
    return res


# ------------------------------------------------------------------ level 6 (own part)
def _level_6_own(quick: bool, comm: Any) -> list[Check]:
    from mpi4py import MPI

    from ..homogenization import bounds as b
    from ..homogenization.rve import PeriodicRVE, random_phases
    from ..hmm.micro import CauchyBornModel
    from ..hmm.oracle import FarmClient, FarmServer

    size = comm.Get_size()
    out = []
    ph = random_phases((16, 12), 0.35, seed=7)
    l1, m1 = b.lame_from_young(1.0, 0.3)
    l2, m2 = b.lame_from_young(20.0, 0.2)
    C2 = np.array([b.isotropic_stiffness(l1, m1, 2), b.isotropic_stiffness(l2, m2, 2)])
    tp = PeriodicRVE(comm, ph).stiffness(C2).tensor
    ts = PeriodicRVE(MPI.COMM_SELF, ph).stiffness(C2).tensor
    out.append(Check(6, f"RVE stiffness on {size} ranks vs 1 rank: max diff", float(np.abs(tp - ts).max()), 0.0,
                     1e-10 * float(np.abs(ts).max()), "abs"))
    # task farm: rank 0 asks, the others answer with the Cauchy-Born chain law
    from ..atomistic.potentials import LennardJones
    from ..hmm.cauchy_born import equilibrium_spacing

    lj = LennardJones(cutoff=2.5, mode="smooth")
    a = equilibrium_spacing(lj, "chain")
    model = CauchyBornModel(lj, "chain", a)
    client = comm.Get_rank() == 0
    local = comm.Split(0 if client else 1, comm.Get_rank())
    inter = local.Create_intercomm(0, comm, 1 if client else 0, tag=77)
    diff = 0.0
    if client:
        farm = FarmClient(inter, 1, 1)
        s = np.linspace(-0.02, 0.04, 13)[:, None]
        diff = float(np.abs(farm.evaluate(s) - model(s)).max())
        farm.close()
    else:
        FarmServer(inter, model).serve()
    inter.Free()
    local.Free()
    diff = comm.bcast(diff, root=0)
    out.append(Check(6, f"oracle task farm ({size - 1} workers) vs serial: max diff", diff, 0.0, 0.0, "abs"))
    return out


# ------------------------------------------------------------------ providers and driver
def _from_providers(level: int, quick: bool, comm: Any) -> tuple[list[Check], list[str]]:
    checks, tried = [], []
    for modname in PROVIDERS.get(level, []):
        try:
            mod = importlib.import_module(modname)
        except ImportError:
            tried.append(modname)
            continue
        fn = getattr(mod, "validation_checks", None)
        if fn is None:
            tried.append(f"{modname}.validation_checks")
            continue
        for c in fn(level, quick, comm) or []:
            checks.append(c if isinstance(c, Check) else Check(**c))
    return checks, tried


def level_7(quick: bool, comm: Any = None) -> LevelResult:
    """SSD + GND plasticity: :mod:`mscouple.validation.plasticity_checks`."""
    from .plasticity_checks import level_7 as run

    return run(quick, comm)


def level_8(quick: bool, comm: Any = None) -> LevelResult:
    """Object KMC: :mod:`mscouple.validation.kmc_checks`."""
    from .kmc_checks import level_8 as run

    return run(quick, comm)


SERIAL_LEVELS: dict[int, Callable[[bool, Any], LevelResult]] = {1: level_1, 2: level_2, 3: level_3, 7: level_7,
                                                                8: level_8}


def run_level(level: int, quick: bool, comm: Any) -> LevelResult:
    """Run one level. Serial levels run on rank 0 of ``comm`` only (others get an empty
    result); provider and level-6 checks are collective on ``comm``."""
    t0 = time.perf_counter()
    rank = comm.Get_rank()
    if level in SERIAL_LEVELS:
        res = SERIAL_LEVELS[level](quick, comm) if rank == 0 else LevelResult(level, TITLES[level])
    else:
        res = LevelResult(level, TITLES[level])
        checks, tried = _from_providers(level, quick, comm)
        if level == 6:
            if comm.Get_size() >= 2:
                checks = _level_6_own(quick, comm) + checks
            restart_note = "restart checks need " + ", ".join(tried) if tried else ""
        res.checks = checks
        if checks and level == 6 and restart_note:
            res.reason = "partial: " + restart_note
        if not checks:
            res.available = False
            if level == 6:
                res.reason = "run under 'mpirun -n 2' (or more) for rank-count checks; " + (restart_note or "no provider")
            else:
                res.reason = "needs " + " or ".join(f"{m}.validation_checks(level, quick, comm)" if not m.endswith("checks") else m
                                                     for m in tried)
    res.seconds = time.perf_counter() - t0
    return res
