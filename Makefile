# Every target bootstraps .venv itself, so a fresh machine needs only python3.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test check bench sim clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m runtime.node

test: $(STAMP)
	$(BIN)/python -m pytest -q

check: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m bench hotpath --quick
	$(BIN)/python -m bench raft --quick
	$(BIN)/python -m bench cluster --jobs 5000
	# the settings `make run` gives: one dev node, 4 slots
	$(BIN)/python -m bench cluster --single --capacity 4 --jobs 5000

sim: $(STAMP)
	$(BIN)/python -m sim sweep --scenario pingpong --seeds 20

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache podium-data
