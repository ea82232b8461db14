#!/usr/bin/env bash
# Run pytest on one MPI rank; rank 0 prints its report, other ranks print theirs only
# if they fail (so `mpirun -n 4` output reads like one pytest run).
rank=${OMPI_COMM_WORLD_RANK:-${PMI_RANK:-${SLURM_PROCID:-0}}}
py=${PYTHON:-.venv/bin/python}
if [ "$rank" = 0 ]; then
  exec "$py" -m pytest "$@"
fi
log=$(mktemp "${TMPDIR:-/tmp}/mscouple-pytest-rank${rank}.XXXXXX")
"$py" -m pytest "$@" >"$log" 2>&1
rc=$?
if [ $rc -ne 0 ]; then echo "---- rank $rank failed (rc=$rc) ----"; cat "$log"; fi
rm -f "$log"
exit $rc
