"""Cascade (MD, picoseconds) → survivors → object KMC (seconds): the whole chain of a case.

Units: MD in metal units (ps), KMC in s; the history files give both in seconds.

:func:`run_md` (collective on ``comm``)::

    EAM file + ZBL join → fcc block (cells³) → [Langevin equilibration at T]
    → PKA cascade (run_cascade: adaptive dt, border layer or continuum bath
      (cascade.border), stopping, Wigner–Seitz frames)
    → FIRE quench → defects_relaxed.txt (label "relaxed") and defects_peak.txt ("peak"),
      cascade_defects.xyz (OVITO), md_history.csv

:func:`run_kmc` (rank 0 computes, the result is broadcast)::

    vacancy E_f, E_m (NEB), divacancy E_b, dumbbell E_m (NEB), tri-vacancy E_b (relaxation)
    with the same potential (unless given)
    → read kmc.initial_defects (its label must equal kmc.handoff) → KMC from the MD time
    → counts at log-spaced times → kmc_history.csv; summary in kmc_summary.json
"""
from __future__ import annotations

import csv
import io
import json
import os
from time import perf_counter

import numpy as np

from ..atomistic.eam import EAM
from ..atomistic.lattice import fcc
from ..atomistic.system import MDSystem
from ..atomistic.thermostats import Langevin
from ..errors import ConfigError
from ..kmc.handoff import kmc_from_file
from .case import CascadeCase
from .defects import read_defect_list, write_defect_list
from .energetics import cluster_binding, interstitial_energetics, vacancy_energetics
from .run import CascadeSpec, run_cascade
from .zbl import join_zbl

PS = 1e-12  # s


def atomic_write(path: str, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary name and a rename (never half a file)."""
    tmp = f"{path}.tmp"
    with open(tmp, "w", newline="") as fh:
        fh.write(text)
    os.replace(tmp, path)


def _csv_text(header, rows) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def potential(case: CascadeCase) -> EAM:
    """The case's EAM joined to ZBL."""
    m = case.material
    eam = EAM.from_file(case.path(m.potential))
    return join_zbl(eam, [m.atomic_number], m.zbl_r1, m.zbl_r2)


def _mass(pot: EAM) -> float:
    return float(pot.masses[0]) if pot.masses is not None else 63.546


def run_md(comm, case: CascadeCase, outdir: str, log=None) -> dict:
    """The MD half (see the module docstring); returns its summary (every rank)."""
    c, m = case.cascade, case.material
    os.makedirs(outdir, exist_ok=True)
    pot = potential(case)
    bathed = c.border == "continuum"  # a free block inside a heat continuum
    x, box = fcc(m.a, (c.cells,) * 3, periodic=(not bathed,) * 3)
    mass = _mass(pot)
    s = MDSystem(comm, box, x, pot, masses=mass, units="metal", dt=c.dt_max, skin=1.0,
                 sort_every=0)
    t0 = perf_counter()
    if c.temperature > 0:
        s.set_velocities(2.0 * c.temperature, seed=c.seed)
        if c.equilibrate > 0:
            s.thermostat = Langevin(c.temperature, 0.1, seed=c.seed)
            s.dt = c.dt_max
            s.run(int(round(c.equilibrate / c.dt_max)))
            s.thermostat = None
    spec = CascadeSpec(energy=c.energy, direction=c.direction, duration=c.duration,
                       xmax=c.xmax, dt_max=c.dt_max, border_width=c.border_width,
                       border_temperature=c.temperature, border_damping=c.border_damping,
                       stopping_gamma=c.stopping_gamma, stopping_cut=c.stopping_cut,
                       frame_every=c.frame_every, cluster_cutoff=m.a,
                       relax_fmax=c.relax_fmax, seed=c.seed, border=c.border)
    bath = None
    if bathed:
        from .bath import ContinuumBath

        bath = ContinuumBath(s, x, m.a, c.cells, c.temperature, conductivity=c.bath_conductivity,
                             interval=c.bath_interval, filter_time=c.bath_filter,
                             band_cells=c.bath_band_cells, pad_cells=c.bath_pad_cells)
    res = run_cascade(s, x, spec, frames_path=os.path.join(outdir, "cascade_defects.xyz"), log=log,
                      bath=bath)
    wall = perf_counter() - t0
    h = res.history
    summary = {
        "natoms": int(len(x)), "box_A": float(box.lengths[0]), "pka_energy_eV": c.energy,
        "pka_direction": [float(v) for v in res.direction], "md_steps": res.steps,
        "md_time_ps": res.final_time, "relax_steps": res.relax_steps,
        "peak_frenkel": res.peak.n_frenkel, "peak_time_ps": res.peak_time,
        "surviving_frenkel": res.final.n_frenkel,
        "vacancy_clusters": [int(v) for v in res.final.cluster_sizes("V")],
        "interstitial_clusters": [int(v) for v in res.final.cluster_sizes("I")],
        "electronic_loss_eV": res.stopping_loss, "border_heat_eV": res.border_heat,
        "border": c.border, "pka_energy_given_eV": res.extras["pka_energy_given"],
        "bath_heat_eV": res.bath_heat,
        "energy_balance_drift_eV": float(h["e_balance"][-1] - h["e_balance"][0]),
        "bath_reservoir_heat_eV": bath.reservoir_heat() if bath is not None else 0.0,
        "damage_energy_eV": c.energy - res.stopping_loss,
        "md_wall_s": wall, "ranks": comm.size,
        "atom_steps_per_s": len(x) * res.steps / wall,
    }
    if comm.rank == 0:
        write_defect_list(os.path.join(outdir, "defects_relaxed.txt"), res.final, box, "fcc",
                          m.a, res.final_time, "relaxed")
        write_defect_list(os.path.join(outdir, "defects_peak.txt"), res.peak, box, "fcc",
                          m.a, res.peak_time, "peak")
        rows = [[h["time"][i] * PS, h["n_vacancies"][i], h["n_interstitials"][i],
                 h["n_vac_clusters"][i], h["n_int_clusters"][i], h["temperature"][i]]
                for i in range(len(h["time"]))]
        rows.append([res.final_time * PS, res.final.n_vacancies, res.final.n_interstitials,
                     len(res.final.cluster_sizes("V")), len(res.final.cluster_sizes("I")), ""])
        atomic_write(os.path.join(outdir, "md_history.csv"),
                     _csv_text(["time_s", "n_vacancies", "n_interstitials", "n_vac_clusters",
                                "n_int_clusters", "temperature_K"], rows))
        atomic_write(os.path.join(outdir, "md_summary.json"), json.dumps(summary, indent=1))
    comm.Barrier()
    return summary


def run_kmc(comm, case: CascadeCase, outdir: str, energetics=None, initial: str | None = None,
            handoff: str | None = None, tag: str = "", interstitial=None, binding=None) -> dict:
    """The KMC half (see the module docstring). ``initial``/``handoff`` override the case's
    ``kmc.initial_defects``/``kmc.handoff`` (the example uses them to show the peak
    hand-off); ``energetics``/``interstitial``: precomputed :class:`VacancyEnergetics` /
    :class:`InterstitialEnergetics` (computed here when the case needs them); ``binding``: a
    precomputed :class:`ClusterBinding` (its tri-vacancy binding replaces the capillary law
    at n = 3 when vacancy clusters emit and ``kmc.eb_trivacancy`` is absent)."""
    k = case.kmc
    path = case.path(initial or k.initial_defects)
    want = handoff or k.handoff
    summary = None
    if comm.rank == 0:
        try:
            dl = read_defect_list(path)
            if dl.label != want:
                raise ConfigError(f"{path} holds the {dl.label!r} state but kmc.handoff = {want!r}: "
                                  "hand over the relaxed survivors, or set kmc.handoff = \"peak\" "
                                  "to start from the peak damage on purpose")
            if energetics is None and (k.em_vacancy is None or k.vacancy_emission):
                energetics = vacancy_energetics(potential(case), case.material.a,
                                                mass=_mass(potential(case)))
            if interstitial is None and k.em_interstitial is None:
                interstitial = interstitial_energetics(potential(case), case.material.a,
                                                       mass=_mass(potential(case)))
            e = energetics
            eb3 = None
            if k.vacancy_emission and k.eb_trivacancy is None and e is not None:
                if binding is None:
                    binding = cluster_binding(potential(case), case.material.a,
                                              mass=_mass(potential(case)))
                eb3 = binding.v_to_v2
            params = k.params(case.material.a, e.migration if e else None,
                              e.formation if e else None, e.divacancy_binding if e else None,
                              interstitial.migration if interstitial else None, eb3)
            per = [d not in k.surfaces for d in "xyz"]
            kmc = kmc_from_file(path, params, seed=k.seed, allow_peak=(want == "peak"),
                                periodic=per, box_scale=k.box_scale)
            n_obj0 = int(len(kmc.kind))
            t_md = dl.time * PS
            kmc.time = t_md
            rows = [(t_md, *kmc.counts().values())]
            times = [t for t in k.output_times() if t > t_md]
            kmc.run(k.t_end, observe=lambda km, t: rows.append((t, *km.counts().values())),
                    observe_times=times, max_events=k.max_events)
            atomic_write(os.path.join(outdir, f"kmc_history{tag}.csv"),
                         _csv_text(["time_s", "vacancies", "interstitials", "v_objects", "i_objects"],
                                   rows))
            st = kmc.stats
            summary = {
                "handoff": want, "initial_file": os.path.basename(path),
                "initial_defects": int(len(dl.kinds)), "initial_objects": n_obj0,
                "em_vacancy_eV": params.em_vacancy, "em_interstitial_eV": params.em_interstitial,
                "ef_vacancy_eV": e.formation if e else None,
                "eb_divacancy_eV": e.divacancy_binding if e else None,
                "eb_trivacancy_eV": params.eb_vacancy_clusters.get(3),
                "ef_interstitial_eV": interstitial.formation if interstitial else None,
                "temperature_K": params.temperature, "t_end_s": kmc.time,
                "events": st.events, "jumps": st.jumps, "recombined": st.recombined,
                "clustered": st.clustered, "emissions": st.emissions, "absorbed": st.absorbed,
                "events_per_s": st.events_per_second, "final": kmc.counts(),
                "rows": [list(map(float, r)) for r in rows],
            }
            atomic_write(os.path.join(outdir, f"kmc_summary{tag}.json"),
                         json.dumps({k2: v for k2, v in summary.items() if k2 != "rows"}, indent=1))
        except Exception as exc:  # agree on the failure: every rank raises the same error
            summary = exc
    summary = comm.bcast(summary, root=0)
    if isinstance(summary, Exception):
        raise summary
    return summary


def plot_counts(outdir: str, md_csv: str, kmc_csvs: dict, png: str) -> None:
    """Defect counts vs time (log axis) across both models: MD rows, then each KMC run
    (``kmc_csvs``: label → file)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    md = np.genfromtxt(md_csv, delimiter=",", names=True)
    fig, ax = plt.subplots(figsize=(7, 4.2))
    m = md["time_s"] > 0  # t = 0 (the perfect lattice) has no place on a log axis
    ax.plot(md["time_s"][m], md["n_vacancies"][m], "k.-", label="MD: Frenkel pairs (Wigner–Seitz)")
    styles = ["C0", "C3", "C2"]
    for (lab, f), col in zip(kmc_csvs.items(), styles):
        d = np.genfromtxt(f, delimiter=",", names=True)
        ax.step(d["time_s"], d["vacancies"], col, where="post", label=f"KMC vacancies ({lab})")
        ax.step(d["time_s"], d["interstitials"], col, ls="--", where="post",
                label=f"KMC interstitials ({lab})")
    ax.set_xscale("log")
    ax.set_xlim(1e-14, None)
    ax.set_xlabel("time [s]")
    ax.set_ylabel("defects in the block")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(f"{png}.tmp", dpi=120, format="png")
    os.replace(f"{png}.tmp", png)
    plt.close(fig)
