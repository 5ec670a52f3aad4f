# Two entry points for a fresh machine (see README):
#   make demo   installs into .venv and runs the main job
#   make test   installs into .venv and runs ruff + the whole test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test lint bench clean

# The editable install also compiles the block-sparse kernels (setup.py): a change
# to their C sources reinstalls.
$(STAMP): pyproject.toml constraints.txt setup.py $(wildcard neural/export/csrc/*)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev,bench]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/sapp demo

lint: $(STAMP)
	$(BIN)/ruff check .

# Single-threaded BLAS: the test problems are tiny, and two xdist workers each
# spawning BLAS threads on a 2-core machine slows everything down.
test: lint
	OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 $(BIN)/python -m pytest -n 2 --dist loadfile

bench: $(STAMP)
	OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 $(BIN)/python benchmarks/bench_group_lasso.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis build *.egg-info neural/export/_bsr.*.so
