# Two commands on a fresh machine: `make demo` and `make test`. Each creates .venv when missing.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-dev
BENCH_STAMP := $(VENV)/.installed-bench

.PHONY: demo test bench bench-full install clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

$(BENCH_STAMP): pyproject.toml $(STAMP)
	$(PY) -m pip install --quiet -e ".[dev,bench]"
	touch $@

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/provenant demo

test: $(STAMP)
	$(PY) -m pytest -q

# Every benchmark, then benchmarks/RESULTS.md and the README's results block.
bench: $(BENCH_STAMP)
	$(PY) -m benchmarks --quick

bench-full: $(BENCH_STAMP)
	$(PY) -m benchmarks

clean:
	rm -rf $(VENV) out build *.egg-info
