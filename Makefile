# Two commands a newcomer needs: `make demo` (set up, then run the main job locally) and
# `make test` (set up, then run the checks and the tests). Both create .venv on first use.

PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed
PIP_FLAGS ?= --quiet --disable-pip-version-check

.PHONY: setup demo test lint model measure clean

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

PAYSIM_WEIGHTED := ../shared/data/paysim/paysim_weighted_steps001-400.csv

# Retrain the shipped model from the real PaySim rows (steps 120-400; steps 1-119 stay unseen).
model: $(STAMP)
	$(VENV)/bin/fds train --data $(PAYSIM_WEIGHTED) \
		--weights sample_weight --steps 120-400 --out ml/models/default

# The model's target measurement: train on steps 1-300 (the threshold chosen on the last of
# them), then measure on steps 301-400, which training never saw, with the population weights.
measure: $(STAMP)
	$(VENV)/bin/fds train --data $(PAYSIM_WEIGHTED) \
		--weights sample_weight --steps 1-300 --out build/model-steps001-300
	$(VENV)/bin/fds evaluate --data $(PAYSIM_WEIGHTED) \
		--weights sample_weight --steps 301-400 --model build/model-steps001-300

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
