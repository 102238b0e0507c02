# Every target creates or reuses the virtualenvs itself: a fresh clone needs nothing else.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
TOOLS := .venv-tools
STAMP := $(VENV)/.installed
TOOLS_STAMP := $(TOOLS)/.installed
export SAM_CLI_TELEMETRY := 0
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: dev demo test unit lint format bench build compile-layer clean reliability

dev: $(STAMP)

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: install Python 3.11 or run make PYTHON=python3.X"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

# aws-sam-cli pins boto3, pydantic and click exactly: it lives apart so it never holds the product back.
$(TOOLS_STAMP):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet aws-sam-cli==1.170.0
	@touch $@

demo: $(STAMP)
	$(BIN)/python -m local demo

test: lint
	$(BIN)/python -m pytest -n 2 -q

# The fault suite through the whole local stack (a shorter form runs in make test).
reliability: $(STAMP)
	$(BIN)/python -m local reliability

unit: $(STAMP)
	$(BIN)/python -m pytest -q tests/unit

lint: $(STAMP) $(TOOLS_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	PYTHONPATH=layers/capss $(BIN)/lint-imports --no-cache
	$(BIN)/cfn-lint template.yaml
	$(BIN)/statelint --ignore=URI statemachine/*.asl.json
	$(TOOLS)/bin/sam validate --lint --template template.yaml
	$(BIN)/python -m local.doclinks README.md docs/*.md events/README.md

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP)
	$(BIN)/python -m bench

build: $(TOOLS_STAMP)
	@# Run it, not just find it: a pyenv shim is on PATH even when 3.13 is not installed.
	@python3.13 -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' >/dev/null 2>&1 || { \
	  echo "make build: sam build needs a working python3.13 (the Lambda runtime) on PATH."; \
	  echo "  pyenv: pyenv install 3.13 && PYENV_VERSION=$$(pyenv version-name 2>/dev/null || echo 3.11):3.13 make build"; \
	  echo "  otherwise: install python3.13 (python.org, apt install python3.13, brew install python@3.13)"; \
	  exit 1; }
	$(TOOLS)/bin/sam build --template template.yaml
	$(MAKE) --no-print-directory compile-layer

# Lambda's /opt is read-only, so a layer without bytecode compiles every module it imports
# on every cold start. Unchecked hashes: the layer never changes once built, and a zip keeps
# source times only to two seconds, which would make time-stamped bytecode look stale.
LAYER_BUILD ?= .aws-sam/build/CapssLayer/python
LAYER_PYTHON ?= python3.13
compile-layer:
	$(LAYER_PYTHON) -m compileall -q -j 0 --invalidation-mode unchecked-hash $(LAYER_BUILD)

clean:
	rm -rf $(VENV) $(TOOLS) .aws-sam .pytest_cache .mypy_cache .ruff_cache
