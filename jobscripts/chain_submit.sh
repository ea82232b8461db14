#!/bin/bash
# Submit a chain of N segments, each starting when the previous one ended well:
#   CASE=case.toml OUT=run-chain jobscripts/chain_submit.sh 5
# A segment that fails (exit != 0) cancels the rest of the chain (afterok is never met).
set -euo pipefail
N=${1:-3}
HERE=$(cd "$(dirname "$0")" && pwd)
export CASE=${CASE:-case.toml} OUT=${OUT:-run-chain}
prev=$(sbatch --parsable --export=ALL "$HERE/chain_segment.sbatch")
echo "segment 1: job $prev"
for ((i = 2; i <= N; i++)); do
    prev=$(sbatch --parsable --export=ALL --dependency=afterok:"$prev" --kill-on-invalid-dep=yes "$HERE/chain_segment.sbatch")
    echo "segment $i: job $prev"
done
