"""``mscouple run | check`` for a cascade → KMC case (a case file with a ``[cascade]``
section): one command for users, the same run-folder rules as every other run.

    mscouple run examples/cascade_kmc/case.toml --output runs/ckmc [--overwrite] [--set k=v]
    mpirun -n 2 mscouple run ...          (the MD half on 2 ranks; border = "langevin" only)

Run (collective on ``COMM_WORLD``)::

    validate the case (one line, exit 2) → refusals (below) → run folder created, checked and
    locked (mscouple.io.rundir: non-empty needs --overwrite) → MD half (pipeline.run_md into
    the run folder: defects_relaxed.txt, defects_peak.txt, cascade_defects.xyz,
    md_history.csv, md_summary.json) → defect energetics by NEB (rank 0, unless the case gives
    them) → KMC half from <run folder>/defects_<kmc.handoff>.txt (kmc_history.csv,
    kmc_summary.json) → defect_counts.png → summary.json; every file written atomically
    (temporary name + rename); the lock goes on any exit.

The hand-off key keeps its meaning: ``kmc.initial_defects`` names the file the MD half of
the same run writes, so its base name must be ``defects_<kmc.handoff>.txt`` (refused
otherwise); the path before it is the example script's folder (``out/``) and is not used.

Refusals (one line, exit 2): ``--restart`` (a cascade → KMC run has no checkpoints: run it
again with ``--overwrite``); ``cascade.border = "continuum"`` on more than one rank.
"""
from __future__ import annotations

import json
import os
import tomllib

from ..errors import ConfigError


def is_cascade_file(path: str) -> bool:
    """True when ``path`` parses as TOML and has a ``[cascade]`` section (anything else,
    unreadable files included, goes to the ordinary case loader and its messages)."""
    from .case import is_cascade_case

    try:
        with open(path, "rb") as fh:
            return is_cascade_case(tomllib.load(fh))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return False


def refusals(case, args, ranks: int) -> None:
    """The run's own refusals (see the module docstring)."""
    if getattr(args, "restart", None):
        raise ConfigError(f"--restart {args.restart}: a cascade → KMC run writes no checkpoints; "
                          "run the case again (--overwrite replaces the run folder)")
    if case.cascade.border == "continuum" and ranks != 1:
        raise ConfigError(f"cascade.border = 'continuum' on {ranks} ranks: expected 1 (the heat "
                          "continuum shares the MD's rank); use border = 'langevin' on several ranks")
    want = f"defects_{case.kmc.handoff}.txt"
    if os.path.basename(case.kmc.initial_defects) != want:
        raise ConfigError(f"kmc.initial_defects = {case.kmc.initial_defects!r}: under mscouple run the KMC "
                          f"starts from the file the MD half writes into the run folder; with kmc.handoff = "
                          f"{case.kmc.handoff!r} expected a name ending in {want!r}")


def describe(case) -> list[str]:
    c, m = case.cascade, case.material
    n = 4 * c.cells ** 3
    border = ("Langevin layer %.3g Å at %.4g K" % (c.border_width, c.temperature)
              if c.border == "langevin" else
              "heat continuum at %.4g K around a free block (k = %.4g W/(m K), %.3g ps coupling)"
              % (c.temperature, c.bath_conductivity, c.bath_interval))
    return [f"cascade  : {c.energy:g} eV PKA in {c.cells}³ fcc cells ({n} atoms, a = {m.a:g} Å), "
            f"{c.duration:g} ps; border: {border}",
            f"kmc      : from defects_{case.kmc.handoff}.txt at {case.kmc.temperature:g} K to "
            f"{case.kmc.t_end:g} s (box x{case.kmc.box_scale})"]


def cmd_check(args, world, say, validated) -> int:
    from .case import load_case

    case = validated(world, lambda: load_case(args.case, args.set))
    validated(world, lambda: refusals(case, args, world.Get_size()))
    say(world, f"case     : {args.case}" + (f"  ({case.title})" if case.title else ""),
        *describe(case), "ok: cascade → KMC case is valid (nothing computed)")
    return 0


def cmd_run(args, world, say, validated, run_guarded, init_petsc) -> int:
    from ..io.rundir import prepare_run_dir
    from .case import load_case

    case = validated(world, lambda: load_case(args.case, args.set))
    validated(world, lambda: refusals(case, args, world.Get_size()))
    path = os.path.abspath(args.output or case.output.directory)
    rundir = validated(world, lambda: prepare_run_dir(world, path, restart=False,
                                                      overwrite=args.overwrite))
    if case.cascade.border == "continuum":
        init_petsc(args.petsc_args, world)  # the heat continuum (one rank)

    def go():
        log = print if world.Get_rank() == 0 else None
        say(world, *describe(case))
        summary = run_case(world, case, str(rundir.path), log=log)
        say(world, f"wrote {rundir.path}: surviving Frenkel pairs {summary['md']['surviving_frenkel']} "
                   f"(peak {summary['md']['peak_frenkel']}); KMC final {summary['kmc']['final']} "
                   f"at {summary['kmc']['t_end_s']:.3g} s")
        return 0

    try:
        return run_guarded(world, go, debug=args.debug)
    finally:
        rundir.release()


def run_case(comm, case, outdir: str, log=None) -> dict:
    """MD half, energetics, KMC half, figure and ``summary.json`` in ``outdir`` (collective)."""
    from .energetics import interstitial_energetics, vacancy_energetics
    from .pipeline import _mass, atomic_write, plot_counts, potential, run_kmc, run_md

    md = run_md(comm, case, outdir, log=log)
    k = case.kmc
    e = ei = None
    if comm.Get_rank() == 0:
        pot = potential(case)
        if k.em_vacancy is None or k.vacancy_emission:
            e = vacancy_energetics(pot, case.material.a, mass=_mass(pot))
        if k.em_interstitial is None:
            ei = interstitial_energetics(pot, case.material.a, mass=_mass(pot))
    e, ei = comm.bcast((e, ei), root=0)
    initial = os.path.join(outdir, f"defects_{k.handoff}.txt")
    kmc = run_kmc(comm, case, outdir, energetics=e, interstitial=ei, initial=initial)
    summary = {"kind": "cascade_kmc", "case": case.title, "md": md,
               "kmc": {key: v for key, v in kmc.items() if key != "rows"}}
    if comm.Get_rank() == 0:
        plot_counts(outdir, os.path.join(outdir, "md_history.csv"),
                    {f"{k.handoff} hand-off": os.path.join(outdir, "kmc_history.csv")},
                    os.path.join(outdir, "defect_counts.png"))
        atomic_write(os.path.join(outdir, "summary.json"), json.dumps(summary, indent=1))
    comm.Barrier()
    return summary
