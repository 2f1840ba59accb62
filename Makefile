# The commands the README names. Everything installs itself into .venv on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
PORT ?= 8011
DYNAMODB_PORT ?= 8000
WEB_PORT ?= 8012
LISTEN_PORT ?= 8013
FUZZ_EXAMPLES ?= 100
STAGE ?= dev
CHROMIUM := /usr/bin/chromium
# The API description's linters (Node tools, kept in build/node): Redocly CLI, openapi-typescript.
NODE_TOOLS := build/node
REDOCLY := $(NODE_TOOLS)/node_modules/.bin/redocly
OPENAPI_TS := $(NODE_TOOLS)/node_modules/.bin/openapi-typescript
NPM := $(shell command -v npm)
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: dev listen test lint-api test-fast fuzz verify install clean reset jobs package policies bench bench-sweep bench-consume bench-statements bench-reports openapi example-statement

$(INSTALLED): requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (PYTHON=$(PYTHON))")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $(INSTALLED)

install: $(INSTALLED)

# The browser tests drive Debian's Chromium (Playwright's own browser download is not used).
$(CHROMIUM):
	$(SUDO) apt-get update && $(SUDO) apt-get install -y chromium

# WEBHOOK_FORWARD_URL=http://127.0.0.1:9000/hooks: every event also goes to your own receiver
# (one endpoint for "*", kept across restarts; the banner prints its secret).
dev: $(INSTALLED)
	PORT=$(PORT) DYNAMODB_PORT=$(DYNAMODB_PORT) WEB_PORT=$(WEB_PORT) \
	WEBHOOK_FORWARD_URL='$(WEBHOOK_FORWARD_URL)' $(PY) -m devserver

# Print each webhook event of a running `make dev`, its signature verified: a receiver on
# 127.0.0.1:$(LISTEN_PORT) with an endpoint of its own (deleted on Ctrl+C). EVENTS=a,b (default
# every event), LISTEN_JSON=1 (the payloads too), FORWARD_TO=<url> (each event also POSTed there,
# unchanged).
listen: $(INSTALLED)
	API_URL=$${API_URL:-http://127.0.0.1:$(PORT)} LISTEN_PORT=$(LISTEN_PORT) $(PY) -m devserver.listen

# Everything, as CI runs it: in-process tests, live HTTP against devservers, browser tests. Two
# workers (this machine's cores): one runs the tests on the local stack (group "stack"), the other
# the in-process tests, and takes a share of the stack's when it is done.
XDIST := -n $(or $(TEST_WORKERS),2) --dist loadgroup
test: $(INSTALLED) $(CHROMIUM) lint-api
	$(PY) -m pytest $(XDIST)

# The edit loop: in-process tests only (no devserver subprocess, no Chromium).
test-fast: $(INSTALLED)
	$(PY) -m pytest $(XDIST) -m "not live and not browser"

# The fuzzers (Hypothesis's state machines, Schemathesis against a local stack) with a random seed
# and FUZZ_EXAMPLES examples, where CI replays fixed ones; FUZZ_SEED=<n> replays a run. How to keep
# a failure as a regression case: the docstrings of the test modules.
fuzz: $(INSTALLED)
	@seed=$${FUZZ_SEED:-$$($(PY) -c 'import random; print(random.randrange(2**32))')}; \
	run="FUZZ_SEED=$$seed FUZZ_EXAMPLES=$(FUZZ_EXAMPLES)"; \
	echo "make fuzz $$run  (replays this run)"; \
	env $$run $(PY) -m pytest tests/billing/test_stateful_billing.py \
	  tests/billing/test_stateful_lifecycle.py tests/api/test_fuzz_openapi.py \
	  || { echo "make fuzz failed with $$run"; exit 1; }

# build/sam.json + build/deployment.zip of STAGE (dev or prod): chalice package --stage $(STAGE)
# --merge-template <tables, streams, secrets, gateway errors derived from the code> build/
package: $(INSTALLED)
	$(PY) -m deploy.package --stage $(STAGE) --out build

# chalicelib/api/openapi/openapi.json from the route table, field specs and response schemas
openapi: $(INSTALLED)
	$(PY) -m chalicelib.api.openapi.build

# The OpenAPI description through Redocly's recommended rules (redocly.yaml; any warning fails)
# and openapi-typescript (types generated without an error). The Python client generator runs
# in the tests (tests/stack/test_generated_client.py), against the live stack.
$(REDOCLY):
	$(if $(NPM),,$(SUDO) apt-get update && $(SUDO) apt-get install -y npm)
	npm install --no-audit --no-fund --prefix $(NODE_TOOLS) @redocly/cli@2.77.0 openapi-typescript@7.13.0

lint-api: $(REDOCLY)
	REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true $(REDOCLY) lint --max-problems 50 --format stylish chalicelib/api/openapi/openapi.json 2>&1 | tee $(NODE_TOOLS)/lint.txt
	@! grep -Eq "(warning|error) " $(NODE_TOOLS)/lint.txt || (echo "make lint-api: the description has warnings"; exit 1)
	$(OPENAPI_TS) chalicelib/api/openapi/openapi.json --output $(NODE_TOOLS)/billing-api.d.ts

# .chalice/policy-<stage>-<function>.json (one per function) from the code (make package does it too)
policies: $(INSTALLED)
	$(PY) -m deploy.policy

bench: $(INSTALLED)
	$(PY) -m bench.run

# Only the billing jobs' sweep section of `make bench` (a few minutes: 10,000 renewals on moto).
bench-sweep: $(INSTALLED)
	$(PY) -m bench.sweep

# Only the credits consume section of `make bench` (about a minute: calls per consume, a warm
# consume against its raw TransactWriteItems, 16 concurrent clients on the dev server).
bench-consume: $(INSTALLED)
	$(PY) -m bench.consume

# Bank statements (about two minutes): the parsers' lines/s of a 5,000-line CSV, MT940 and camt.053
# file and what mt-940 and defusedxml add to a cold start and to the zip; then `make bench`'s
# statement import section: a 5,000-line import and match (DynamoDB calls per line, time against
# the same calls made with boto3) and "apply all exact matches".
# Only the reports section of `make bench`: the monthly summary's reads and latency at 100 and at
# 10,000 payments (about a minute).
bench-reports: $(INSTALLED)
	$(PY) -m bench.reports

bench-statements: $(INSTALLED)
	$(PY) -m bench.statements
	$(PY) -m bench.statement_import

# Check the data's integrity in `make dev`'s embedded DynamoDB (or DYNAMODB_ENDPOINT_URL's tables).
verify: $(INSTALLED)
	DYNAMODB_ENDPOINT_URL=$${DYNAMODB_ENDPOINT_URL:-http://127.0.0.1:$(DYNAMODB_PORT)} \
	AWS_ACCESS_KEY_ID=$${AWS_ACCESS_KEY_ID:-local} AWS_SECRET_ACCESS_KEY=$${AWS_SECRET_ACCESS_KEY:-local} \
	AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} $(PY) manage.py verify

clean:
	rm -rf $(VENV) .pytest_cache build test-artifacts

# What the hourly schedule runs, by hand against make dev's store: reminders, voids, overdue alerts.
# A CSV bank statement paying the open invoices of the store `make dev` serves (upload it on the
# console's Bank statements page): statement-example.csv.
example-statement: $(INSTALLED)
	DYNAMODB_ENDPOINT_URL=$${DYNAMODB_ENDPOINT_URL:-http://127.0.0.1:$(DYNAMODB_PORT)} \
	AWS_ACCESS_KEY_ID=$${AWS_ACCESS_KEY_ID:-local} AWS_SECRET_ACCESS_KEY=$${AWS_SECRET_ACCESS_KEY:-local} \
	AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} $(PY) manage.py example-statement --out statement-example.csv

jobs: $(INSTALLED)
	DYNAMODB_ENDPOINT_URL=$${DYNAMODB_ENDPOINT_URL:-http://127.0.0.1:$(DYNAMODB_PORT)} \
	AWS_ACCESS_KEY_ID=$${AWS_ACCESS_KEY_ID:-local} AWS_SECRET_ACCESS_KEY=$${AWS_SECRET_ACCESS_KEY:-local} \
	AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} $(PY) manage.py run-jobs $(if $(AT),--at $(AT))

# Forget make dev's data (tables, items, mailbox, token secret); the next make dev starts afresh.
reset:
	rm -rf .data
