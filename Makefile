# The commands the README names. Everything installs itself into .venv on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
PORT ?= 8011
DYNAMODB_PORT ?= 8000

.PHONY: dev test verify install clean

$(INSTALLED): requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (PYTHON=$(PYTHON))")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $(INSTALLED)

install: $(INSTALLED)

dev: $(INSTALLED)
	PORT=$(PORT) DYNAMODB_PORT=$(DYNAMODB_PORT) $(PY) -m devserver

test: $(INSTALLED)
	$(PY) -m pytest

# Check the data's integrity in `make dev`'s embedded DynamoDB (or DYNAMODB_ENDPOINT_URL's tables).
verify: $(INSTALLED)
	DYNAMODB_ENDPOINT_URL=$${DYNAMODB_ENDPOINT_URL:-http://127.0.0.1:$(DYNAMODB_PORT)} \
	AWS_ACCESS_KEY_ID=$${AWS_ACCESS_KEY_ID:-local} AWS_SECRET_ACCESS_KEY=$${AWS_SECRET_ACCESS_KEY:-local} \
	AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} $(PY) manage.py verify

clean:
	rm -rf $(VENV) .pytest_cache build
