# Two entry points for a fresh machine (see README):
#   make demo   installs into .venv and runs the main job
#   make test   installs into .venv and runs ruff (lint and format check) + the
#               whole test suite
# and the documentation site:
#   make docs   adds the docs extra to .venv and builds build/docs/html
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DOCS_STAMP := $(VENV)/.docs-installed

.PHONY: install demo test test-slow lint bench docs clean

# The editable install also compiles the block-sparse kernels (setup.py): a change
# to their C sources reinstalls.
$(STAMP): pyproject.toml constraints.txt setup.py $(wildcard neural/export/csrc/*)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev,bench]'
	touch $(STAMP)

install: $(STAMP)

$(DOCS_STAMP): $(STAMP) pyproject.toml constraints.txt
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev,bench,docs]'
	touch $(DOCS_STAMP)

demo: $(STAMP)
	$(BIN)/sapp demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Single-threaded BLAS: the test problems are tiny, and two xdist workers each
# spawning BLAS threads on a 2-core machine slows everything down. A worker runs
# a whole file (--dist loadfile; tests/conftest.py starts the longest files first
# and runs each notebook as a unit of its own).
test: lint
	OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 $(BIN)/python -m pytest -n 2 --dist loadfile

# The tests marked slow (pyproject.toml): skglm against sapp on the sparse
# benchmark's tiny run, with skglm's numba compilation (about 20 s).
test-slow: $(STAMP)
	OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 $(BIN)/python -m pytest -m slow

# Every benchmark of `sapp bench` in its quick mode, about 15 minutes on 2 cores:
# a smoke run on a new machine. It writes to $(BENCH_OUT), not over the committed
# results in benchmarks/results/, which come from the full commands (README).
# The solver and OMP benchmarks time every contender with the default threads
# (as users run them) and with one thread.
BENCH_OUT ?= build/bench
bench: $(STAMP)
	$(BIN)/sapp bench startup --out $(BENCH_OUT)
	$(BIN)/sapp bench solvers --quick --out $(BENCH_OUT)
	$(BIN)/sapp bench omp --quick --out $(BENCH_OUT)
	$(BIN)/sapp bench threads --quick --out $(BENCH_OUT)
	$(BIN)/sapp bench sparse --quick --out $(BENCH_OUT)
	$(BIN)/sapp bench overhead --quick --out $(BENCH_OUT)
	$(BIN)/sapp bench export --quick --out $(BENCH_OUT)
	$(BIN)/sapp bench loader --rows 100000 --repeats 1 --out $(BENCH_OUT)
	$(BIN)/sapp bench teacher --quick --out $(BENCH_OUT)
	$(BIN)/sapp bench pruning --quick --out $(BENCH_OUT)
	$(BIN)/sapp bench gpu --tiny --out $(BENCH_OUT)

# The site, from scratch every time (-E) so that every warning is reported:
# warnings are errors (-W, all listed: --keep-going), cross-references must
# resolve (-n), the notebooks run, and the built site's links are checked.
docs: $(DOCS_STAMP)
	$(BIN)/python -m sphinx -b html -E -W --keep-going -n -q docs build/docs/html
	@echo "docs: build/docs/html/index.html"

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis build *.egg-info neural/export/_bsr.*.so \
		docs/api/generated docs/benchmarks/reports
