# Every target creates or reuses the virtualenvs itself: a fresh clone needs nothing else.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
TOOLS := .venv-tools
STAMP := $(VENV)/.installed
TOOLS_STAMP := $(TOOLS)/.installed
export SAM_CLI_TELEMETRY := 0
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: dev demo test unit lint format bench build clean reliability

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
	$(BIN)/python -m pytest -n 2 -q -m "not perf"

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

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP)
	$(BIN)/python -m pytest -q -m perf -p no:xdist tests/performance

build: $(TOOLS_STAMP)
	@command -v python3.13 >/dev/null || { echo "sam build needs python3.13 on PATH (the Lambda runtime); e.g. PYENV_VERSION=3.11.7:3.13.0"; exit 1; }
	$(TOOLS)/bin/sam build --template template.yaml

clean:
	rm -rf $(VENV) $(TOOLS) .aws-sam .pytest_cache .mypy_cache .ruff_cache
