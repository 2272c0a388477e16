# The two commands of the README: `make demo` (the main job) and `make test`; `make lint`
# checks style and types (ruff, mypy).
# Both set everything up on a fresh machine: a .venv with the pinned torch, zoo and
# its first-party plugins.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.zoo-installed

.PHONY: demo test lint setup clean

$(STAMP): pyproject.toml requirements-torch.txt requirements-dev.txt $(wildcard plugins/*/pyproject.toml)
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# torch is pinned and installed first, so that nothing else picks a version.
	$(BIN)/pip install -q -r requirements-torch.txt
	$(BIN)/pip install -q -c requirements-torch.txt -r requirements-dev.txt
	$(BIN)/pip install -q -c requirements-torch.txt -e . $(foreach p,$(wildcard plugins/*/pyproject.toml),-e $(dir $(p)))
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/zoo demo

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 -q

# ruff (lint and format) and mypy, as configured in pyproject.toml; .ci/run runs it first.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV)
