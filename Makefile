# Two entry points do everything on a fresh machine: `make dev` and `make test`.
# Both create .venv and install the pinned dependencies (requirements-dev.lock) first.
SHELL := /bin/bash
PYTHON ?= $(shell for p in python3.12 python3.11 python3; do $$p -c 'import sys; assert sys.version_info >= (3, 11)' >/dev/null 2>&1 && echo $$p && break; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_SEED := seeds/demo.json
PORT ?= 3000

SDK_TS := sdk/typescript
SDK_TS_STAMP := $(SDK_TS)/node_modules/.installed

# The SAM CLI pins its own boto3 and click (1.43.x and 8.1.x today), which conflict with the dev
# lock, so it lives in its own venv built from its own lock (requirements-sam.lock).
SAM_VENV := .venv-sam
SAM_STAMP := $(SAM_VENV)/.installed
# Lambda's runtime for `sam build` and the built-artifact check: python3.12 on PATH, else pyenv's
# 3.12.1, else any pyenv 3.12.x; a candidate counts only if it runs (a pyenv shim may not).
FIND_PYTHON312 := for candidate in python3.12 "$$(PYENV_VERSION=3.12.1 pyenv which python3.12 2>/dev/null)" \
	$$(for v in $$(pyenv versions --bare 2>/dev/null | grep -E '^3\.12\.[0-9]+$$'); do \
	PYENV_VERSION=$$v pyenv which python3.12 2>/dev/null; done); do \
	[ -n "$$candidate" ] && "$$candidate" -c 'import sys; assert sys.version_info[:2] == (3, 12); print(sys.executable)' \
	2>/dev/null && break; done

.PHONY: venv dev test lint lint-template typecheck unit integration e2e infra build-check bench soak clean event-schemas openapi \
	sdk-typescript sdk-typescript-types contract

$(STAMP): requirements-dev.lock pyproject.toml sdk/python/pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python >= 3.11 is required" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e sdk/python  # the Python SDK (`layers`)
	@touch $@

venv: $(STAMP)

$(SAM_STAMP): requirements-sam.lock
	@test -n "$(PYTHON)" || { echo "Python >= 3.11 is required" >&2; exit 1; }
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-sam.lock
	@touch $@

dev: $(STAMP)
	@$(BIN)/python -m leasing_cli.demo_banner $(DEV_SEED) --port $(PORT)
	@exec $(BIN)/leasing serve --port $(PORT) --seed $(DEV_SEED)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy layers_common leasing_cli functions tests bench sdk/python/src/layers

# The template against cfn-lint's rules plus the awslabs Serverless Rules; the remaining warnings
# are silenced in template.yaml's own Metadata, each with its reason.
lint-template: $(STAMP)
	$(BIN)/cfn-lint template.yaml -a cfn_lint_serverless.rules

test: $(STAMP) lint typecheck lint-template sdk-typescript
	$(BIN)/pytest -n 2 --dist loadgroup
	$(MAKE) --no-print-directory build-check

# `sam validate --lint`, `sam build`, then every function imported and invoked from .aws-sam/build
# with only what Lambda would have on sys.path (tests/build_check/check_built_artifacts.py).
build-check: $(STAMP) $(SAM_STAMP)
	@py312="$$($(FIND_PYTHON312))"; \
	if [ -z "$$py312" ]; then \
	  echo "build-check needs Python 3.12 (the functions' runtime): put python3.12 on PATH," >&2; \
	  echo "or install it with pyenv (pyenv install 3.12), then run make again." >&2; exit 1; \
	fi; \
	$(BIN)/python -m tests.build_check.check_built_artifacts --python "$$py312" --sam $(SAM_VENV)/bin/sam

# The TypeScript SDK's pinned dev dependencies, from the npm registry (`npm ci` also builds dist/).
$(SDK_TS_STAMP): $(SDK_TS)/package.json $(SDK_TS)/package-lock.json
	@node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 18 ? 0 : 1)' \
		|| { echo "Node.js >= 18 (with npm) is required for $(SDK_TS)" >&2; exit 1; }
	cd $(SDK_TS) && npm ci --no-audit --no-fund
	@touch $@

# Strict build, then node --test: unit tests with a stubbed fetch, and tests against `leasing serve`
# started from .venv (including the README's examples, from the packed package).
sdk-typescript: $(STAMP) $(SDK_TS_STAMP)
	cd $(SDK_TS) && npm test

# Regenerate the SDK's contract types after docs/openapi.json changed (a test fails until then).
sdk-typescript-types: $(SDK_TS_STAMP)
	cd $(SDK_TS) && npm run generate

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
	rm -rf $(VENV) $(SAM_VENV) .pytest_cache .mypy_cache .ruff_cache .aws-sam .cache \
		$(SDK_TS)/node_modules $(SDK_TS)/dist $(SDK_TS)/build

event-schemas: $(STAMP)
	$(BIN)/python -c "from pathlib import Path; from layers_common.models.event_schemas import event_schemas, render; [Path(f'docs/events/{n}.schema.json').write_text(render(s)) for n, s in event_schemas().items()]"

openapi: $(STAMP)
	$(BIN)/leasing openapi --output docs/openapi.json

# A deeper Schemathesis run than `make test`'s (100 examples per operation and phase).
contract: $(STAMP)
	SCHEMATHESIS_MAX_EXAMPLES=100 $(BIN)/pytest tests/contract -p no:xdist
