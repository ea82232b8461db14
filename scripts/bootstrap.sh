#!/usr/bin/env bash
# Set up everything mscouple needs on a Debian 12 machine, idempotently.
#   1. Debian's HPC stack (PETSc/petsc4py, Open MPI, parallel HDF5/h5py, Cython) via apt,
#      only if something is missing (skipped with MSCOUPLE_NO_APT=1, e.g. on clusters).
#   2. A virtual environment (.venv) that sees those system packages.
#   3. mscouple itself, editable, with its Cython kernels compiled.
# Re-running it when all is in place takes a few seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PYTHON=${MSCOUPLE_PYTHON:-/usr/bin/python3}

APT_PKGS="python3-petsc4py python3-mpi4py python3-h5py-mpi openmpi-bin libopenmpi-dev \
python3-venv python3-dev cython3 petsc-dev python3-scipy python3-matplotlib build-essential \
libopenblas0-serial"
# libopenblas0-serial: Debian's BLAS/LAPACK alternatives then point at OpenBLAS (serial: one
# thread per MPI rank) instead of the reference BLAS; MUMPS' factorisations run their dense
# fronts through it (21,780-dof continuum: 3.1 s → 0.60 s, benchmarks/direct_solve.py)

need_apt=0
if [ "${MSCOUPLE_NO_APT:-0}" = "0" ] && command -v dpkg >/dev/null 2>&1; then
  for p in $APT_PKGS; do
    dpkg -s "$p" >/dev/null 2>&1 || { need_apt=1; break; }
  done
fi
if [ "$need_apt" = 1 ]; then
  echo "[bootstrap] installing Debian packages: $APT_PKGS"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $APT_PKGS >/dev/null
fi

if [ ! -x "$VENV/bin/python" ]; then
  echo "[bootstrap] creating $VENV (sees system site packages: PETSc, MPI, h5py)"
  "$PYTHON" -m venv --system-site-packages "$VENV"
fi
PIP="$VENV/bin/python -m pip"
stamp="$VENV/.mscouple-deps"
if [ ! -f "$stamp" ] || [ requirements-dev.txt -nt "$stamp" ] || [ constraints.txt -nt "$stamp" ]; then
  echo "[bootstrap] installing Python packages into $VENV"
  $PIP install -q --disable-pip-version-check -c constraints.txt -r requirements-dev.txt
  touch "$stamp"
fi

# Editable install (console script `mscouple`), then compile kernels in place.
if [ ! -x "$VENV/bin/mscouple" ] || [ pyproject.toml -nt "$VENV/bin/mscouple" ]; then
  echo "[bootstrap] installing mscouple (editable)"
  $PIP install -q --disable-pip-version-check --no-build-isolation --no-deps -e .
  touch "$VENV/bin/mscouple"
fi
"$VENV/bin/python" setup.py -q build_ext --inplace 2>&1 | grep -v -E '^(running|copying|$)' || true
"$VENV/bin/python" -c "import mscouple, mscouple._kernels" >/dev/null
echo "[bootstrap] ready: $VENV/bin/mscouple"
