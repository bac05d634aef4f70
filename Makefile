# access-broker: `make run` for a local demo, `make test` for the whole suite. Both install what they need.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: install run test sweep clean lint slack bench package demo models unit help on-call

# DynamoDB Local, AWS's own emulator, as the npm package amplify-dynamodb-simulator ships it (2.9.30 holds
# DynamoDB Local 1.25.1). Fetched into .cache/, never committed; run by the test session with the machine's Java.
.PHONY: dynamodb-local
DYNAMODB_LOCAL_VERSION := 2.9.30
DYNAMODB_LOCAL := .cache/dynamodb-local-$(DYNAMODB_LOCAL_VERSION)

# A real IAM policy evaluator for tests (npm @cloud-copilot/iam-simulate, AGPL-3.0: a test tool, never packaged).
# Installed into .cache/, never committed; tools/iam_simulate.mjs runs it with the machine's Node.
.PHONY: iam-simulate
IAM_SIMULATE_VERSION := 0.1.173
IAM_SIMULATE := .cache/iam-simulate-$(IAM_SIMULATE_VERSION)

install: $(INSTALLED)  ## the venv (.venv) with the runtime and development requirements

$(INSTALLED): requirements.txt requirements-dev.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "pip>=23,<26.3"  # chalice 1.34 requires pip<26.3
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	@touch $@

run: install  ## the local AWS world + the API on http://127.0.0.1:8000 + the sweeper
	$(BIN)/python -m tools.run_local

sweep: install  ## one sweep pass against the world `make run` started (reads .local/env)
	$(BIN)/python -m tools.sweep_once

slack: install  ## Slack without a workspace, against `make run`: make slack ARGS="/request-access s3-prod 1h test"
	$(BIN)/python -m tools.slack_cli $(ARGS)

on-call: install  ## who is on call in `make run`'s PagerDuty stand-in: make on-call EMAIL=alice@example.com [SCHEDULE=P0SCHED1]
	$(BIN)/python -m tools.pagerduty_stub on-call $(EMAIL) --schedule $(or $(SCHEDULE),P0SCHED1)

test: install dynamodb-local iam-simulate chromium  ## ruff and mypy, then the whole suite (storage on moto and DynamoDB Local)
	$(STATIC_CHECKS)
	DYNAMODB_LOCAL_DIR=$(CURDIR)/$(DYNAMODB_LOCAL) IAM_SIMULATE_DIR=$(CURDIR)/$(IAM_SIMULATE) \
		$(BIN)/python -m pytest $(PYTEST_ARGS)

dynamodb-local: $(DYNAMODB_LOCAL)/DynamoDBLocal.jar

# Unpacked beside the target and moved into place last, so an interrupted fetch is fetched again.
$(DYNAMODB_LOCAL)/DynamoDBLocal.jar:
	@rm -rf $(DYNAMODB_LOCAL).part && mkdir -p $(DYNAMODB_LOCAL).part
	cd $(DYNAMODB_LOCAL).part && npm pack --silent amplify-dynamodb-simulator@$(DYNAMODB_LOCAL_VERSION) >/dev/null \
		&& tar -xzf amplify-dynamodb-simulator-$(DYNAMODB_LOCAL_VERSION).tgz --strip-components=2 package/emulator \
		&& rm amplify-dynamodb-simulator-$(DYNAMODB_LOCAL_VERSION).tgz
	@rm -rf $(DYNAMODB_LOCAL) && mv $(DYNAMODB_LOCAL).part $(DYNAMODB_LOCAL) && touch $@

iam-simulate: $(IAM_SIMULATE)/node_modules/@cloud-copilot/iam-simulate/package.json

# Installed beside the target and moved into place last, so an interrupted fetch is fetched again.
$(IAM_SIMULATE)/node_modules/@cloud-copilot/iam-simulate/package.json:
	@rm -rf $(IAM_SIMULATE).part && mkdir -p $(IAM_SIMULATE).part
	npm install --prefix $(IAM_SIMULATE).part --no-save --no-audit --no-fund --silent \
		@cloud-copilot/iam-simulate@$(IAM_SIMULATE_VERSION)
	@rm -rf $(IAM_SIMULATE) && mv $(IAM_SIMULATE).part $(IAM_SIMULATE) && touch $@

bench: install dynamodb-local  ## cold start vs its floor, warm flows and their AWS calls, sweep cost, package size
	DYNAMODB_LOCAL_DIR=$(CURDIR)/$(DYNAMODB_LOCAL) $(BIN)/python -m bench.run $(BENCH_ARGS)

demo: install  ## the seed scenario step by step against a fresh local world (no Slack, no AWS account)
	$(BIN)/python -m tools.demo

STAGE ?= prod
package: install  ## chalice package (SAM + Terraform) with the table merged in, then cfn-lint: build/$(STAGE)/
	$(BIN)/python -m tools.package --stage $(STAGE)

models: install  ## rewrite chalicelib/aws/models/ (slimmed botocore models) after changing botocore or OPERATIONS
	$(BIN)/python -m tools.slim_models

# Mutation testing (issue 16, point 6): slow, so outside CI and `make test`. mutmut copies the code into mutants/
# (the checkout is never changed) and mutates what setup.cfg [mutmut] names. MUTANTS narrows a run to mutmut names,
# e.g. make mutate MUTANTS='chalicelib.access_rules*'. How to read what it prints: docs/testing.md.
.PHONY: mutate
MUTANTS ?=
mutate: install iam-simulate  ## mutation testing of the whole product: mypy strict, then the tests (not in CI); MUTANTS='chalicelib.store*'
	$(BIN)/python -m tools.mutation_types
	IAM_SIMULATE_DIR=$(CURDIR)/$(IAM_SIMULATE) $(BIN)/python -m tools.mutation_tests $(foreach m,$(MUTANTS),'$(m)')
	@$(BIN)/python -m tools.mutation_score

# The fast tier, the checks, and what there is: one block.
# ruff (pyflakes, pycodestyle, import order; complexity on chalicelib/ and cli/) and mypy (strict on app.py,
# chalicelib/ and the CLI in cli/, lenient on tests/): pyproject.toml.
define STATIC_CHECKS
$(BIN)/ruff check app.py chalicelib cli tests tools bench
$(BIN)/mypy
endef

unit: install  ## the fast unit tier (tests/unit, marker `unit`): rules, schedule, session guard, no AWS world; seconds
	$(BIN)/python -m pytest tests/unit -m unit -q -p no:cacheprovider $(PYTEST_ARGS)

lint: install  ## ruff and mypy, then the broker's own IAM policies: parliament, no findings
	$(STATIC_CHECKS)
	$(BIN)/parliament --files .chalice/policy-dev.json,.chalice/policy-prod.json < /dev/null

help:  ## this list: every target with its `##` comment
	@awk -F':.*## ' '/^[a-zA-Z_-]+:.*## / {printf "  make %-15s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

clean:  ## remove .venv, .local, .cache and build/
	rm -rf $(VENV) .local .cache .pytest_cache build

.PHONY: chromium
# Debian's Chromium for the console page's browser test (tests/api/test_console_page_in_chromium.py): installed by
# `make test` when missing (as root, or with sudo); elsewhere the test skips off CI and fails on CI.
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
chromium: /usr/bin/chromium
/usr/bin/chromium:
	@if command -v apt-get >/dev/null; then \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null; \
	else echo "make test: no apt-get to install Debian's chromium; its browser test skips here (and fails on CI)"; fi
