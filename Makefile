# Two commands a newcomer needs: `make demo` (set up, then run the main job locally) and
# `make test` (set up, then run the checks and the tests). Both create .venv on first use.

PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed
PIP_FLAGS ?= --quiet --disable-pip-version-check

.PHONY: setup demo test lint model clean

setup: $(STAMP)

# Re-installs whenever pyproject.toml changes, so a pulled dependency bump is picked up.
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "FDS needs Python 3.11 or newer; set PYTHON=python3.11")'
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	@echo "installing FDS and its pinned dependencies into $(VENV) (a few minutes the first time)"
	$(VENV)/bin/python -m pip install $(PIP_FLAGS) -e '.[local,infra,ml,dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/fds demo $(ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

test: lint
	$(VENV)/bin/python -m pytest $(ARGS)

# Retrain the shipped model from the real PaySim rows (steps 120-400; steps 1-119 stay unseen).
model: $(STAMP)
	$(VENV)/bin/fds train --data ../shared/data/paysim/paysim_weighted_steps001-400.csv \
		--weights sample_weight --steps 120-400 --out ml/models/default

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
