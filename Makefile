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

# flags for the node `make run` starts: make run NODE_ARGS="--handlers myjobs --capacity 8"
NODE_ARGS ?=
# where the installed commands are, spelled out so they can be copied from the banner
BIN_PATH = $(abspath $(BIN))

run: $(STAMP)
	@echo ''
	@echo 'podium is installed in $(abspath $(VENV)), not on your PATH. In another terminal:'
	@echo ''
	@echo '  $(BIN_PATH)/podium submit shell --wait -- echo hello   # run a job, see its output'
	@echo '  $(BIN_PATH)/podium list                                # jobs, newest first'
	@echo '  $(BIN_PATH)/python -m sim list                         # the simulator'"'"'s scenarios'
	@echo ''
	@echo 'or first put podium and the venv'"'"'s python on that shell'"'"'s PATH:'
	@echo '  source $(BIN_PATH)/activate'
	@echo ''
	@echo 'Starting a development node: HTTP on 127.0.0.1:8080, data in ./podium-data; Ctrl-C stops it.'
	@echo ''
	$(BIN)/python -m runtime.node $(NODE_ARGS)

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
