"""``mscouple`` CLI with the constrained bath's split update for every band size.

Usage (as ``mscouple``, under mpirun)::

    mpirun -n 2 python examples/cu_wave_3d/run_split_bath.py run case_arrival.toml --output runs/p --set ...

:class:`~mscouple.coupling.damping.ConstrainedDampingBand` integrates the band's Langevin bath
exactly (dense (m + n)² operators: an exponential and an eigendecomposition per component)
when the band has m + n ≤ ``EXACT_LIMIT`` = 2,000 atoms and nodes, and with the O(γh) split
update above. case.toml's band (2,560-atom patch) is above the limit and uses the split
update; case_arrival.toml's (m + n ≈ 1,600) is below it, and with rollers its three dense
set-ups take minutes on a loaded machine. This runs the CLI with ``EXACT_LIMIT = 0``, i.e.
the update case.toml uses (README, "At 300 K").
"""
import sys

import mscouple.coupling.damping as damping

damping.EXACT_LIMIT = 0

from mscouple.cli.main import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
