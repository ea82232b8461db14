"""``mscouple study STUDY.toml``: sweep a base case over parameters; collect a table + plot.

Run it serially (it is a driver): each case is launched with ``--launcher`` (default
``mpirun -n {n}`` when a case needs several ranks), or, with ``--slurm``, a job-array
script is written for ``sbatch`` and ``--collect`` gathers the results afterwards.
"""
from __future__ import annotations

import os
import subprocess
import sys

from ..errors import ConfigError


def add_parser(sub) -> None:
    s = sub.add_parser("study", help="expand a base case over parameter lists, run, collect CSV + plot")
    s.add_argument("study", help="study file (TOML)")
    s.add_argument("--launcher", default=os.environ.get("MSCOUPLE_LAUNCHER", "mpirun -n {n}"),
                   help="command prefix for a case needing {n} ranks (default: 'mpirun -n {n}')")
    s.add_argument("--slurm", action="store_true", help="write a Slurm job-array script instead of running")
    s.add_argument("--collect", action="store_true", help="only collect finished runs into the table")
    s.add_argument("--dry-run", action="store_true", help="validate and write the cases; run nothing")
    s.set_defaults(func=cmd_study)


def cmd_study(args, world) -> int:
    from ..study import collect, launch_env, load_study, plot, run_command, slurm_array_script, write_cases
    from .main import validated

    if world.Get_size() > 1:
        raise ConfigError("mscouple study is a serial driver: run it without mpirun (it launches each case)")
    st = validated(world, lambda: load_study(args.study))
    write_cases(st)
    print(f"study: {len(st.cases)} cases x {st.ranks} rank(s) -> {st.output}")
    if args.slurm:
        from ..io.commit import commit_text

        path = os.path.join(st.output, "study.sbatch")
        commit_text(path, slurm_array_script(st))
        print(f"wrote {path}: submit with 'sbatch {path}', then 'mscouple study {args.study} --collect'")
        return 0
    failed = 0
    codes: dict[int, int] = {}
    if not (args.collect or args.dry_run):
        env = launch_env()
        for c in st.cases:
            cmd = run_command(st, c, args.launcher)
            label = ", ".join(f"{k}={v}" for k, v in c.values.items())
            print(f"[{c.index + 1}/{len(st.cases)}] {label}", flush=True)
            log = os.path.join(c.directory, "run.log")
            with open(log, "w") as fh:
                rc = subprocess.call(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env)
            codes[c.index] = rc
            if rc != 0:
                failed += 1
                print(f"    failed (exit {rc}); see {log}", file=sys.stderr)
    if args.dry_run:
        return 0
    path, rows = collect(st, codes)
    print(f"wrote {path}")
    png = plot(st, rows)
    if png:
        print(f"wrote {png}")
    return 1 if failed else 0
