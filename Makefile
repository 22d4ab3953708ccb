# Two entry points do everything on a fresh machine: `make dev` and `make test`.
# Both create .venv and install the pinned dependencies (requirements-dev.lock) first.
SHELL := /bin/bash
PYTHON ?= $(shell for p in python3.12 python3.11 python3; do $$p -c 'import sys; assert sys.version_info >= (3, 11)' >/dev/null 2>&1 && echo $$p && break; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_SEED := seeds/demo.json
PORT ?= 3000

.PHONY: venv dev test lint typecheck unit integration e2e infra bench soak clean event-schemas openapi

$(STAMP): requirements-dev.lock pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python >= 3.11 is required" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $@

venv: $(STAMP)

dev: $(STAMP)
	@$(BIN)/python -m leasing_cli.demo_banner $(DEV_SEED) --port $(PORT)
	@exec $(BIN)/leasing serve --port $(PORT) --seed $(DEV_SEED)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy layers_common leasing_cli functions tests bench

test: $(STAMP) lint typecheck
	$(BIN)/pytest -n 2 --dist loadgroup

unit: $(STAMP)
	$(BIN)/pytest tests/unit

integration: $(STAMP)
	$(BIN)/pytest tests/integration

e2e: $(STAMP)
	$(BIN)/pytest tests/e2e_local

infra: $(STAMP)
	$(BIN)/pytest tests/infra

# Cold-start ratios and DynamoDB round trips (bench/README.md); not part of `make test`. Exits
# non-zero when an API handler's cold import is over the budget (1.5x `import boto3` + a client).
bench: $(STAMP)
	$(BIN)/python bench/round_trips.py
	$(BIN)/python bench/cold_start.py

# Memory, stalls, 5xx and latency of `leasing serve` under a mixed workload and a burst
# (bench/README.md); not part of `make test`. Exits non-zero when a target is missed.
# SOAK_ARGS="--requests 800 --burst-seconds 5" for a quick run.
soak: $(STAMP)
	$(BIN)/python bench/soak.py $(SOAK_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .aws-sam

event-schemas: $(STAMP)
	$(BIN)/python -c "from pathlib import Path; from layers_common.models.event_schemas import event_schemas, render; [Path(f'docs/events/{n}.schema.json').write_text(render(s)) for n, s in event_schemas().items()]"

openapi: $(STAMP)
	$(BIN)/leasing openapi --output docs/openapi.json
