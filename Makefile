# Navid: `make demo` runs the app with demo data; `make test` runs every check and test.
SHELL := /bin/bash
PYTHON ?= python3
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
PY := $(VENV)/bin/python
CHROMIUM := /usr/bin/chromium
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: demo test lint pytest install browser messages bench clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check "uv>=0.5,<1"

$(VENV)/.installed: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --quiet
	touch $@

install: $(VENV)/.installed

# Real Chromium for the browser tests (Debian packages; needs root or sudo).
browser:
	@if [ ! -x $(CHROMIUM) ]; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium chromium-driver >/dev/null; \
	fi

demo: install
	$(VENV)/bin/navid demo

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy navid
	$(VENV)/bin/lint-imports
	$(PY) manage.py makemigrations --check --dry-run
	NAVID_DEBUG=0 SECRET_KEY=check-deploy-$$RANDOM-$$RANDOM-$$RANDOM-$$RANDOM-$$RANDOM-abcdefghijklmnop \
	  NAVID_HSTS_SECONDS=31536000 NAVID_HSTS_INCLUDE_SUBDOMAINS=1 NAVID_SSL_REDIRECT=1 $(PY) manage.py check --deploy --fail-level WARNING

pytest: install browser
	NAVID_DB_CONN_MAX_AGE=0 $(VENV)/bin/pytest -q

test: lint pytest

messages: install
	cd navid && ../$(PY) ../manage.py makemessages -l fa -l ru --no-obsolete --no-location && ../$(PY) ../manage.py compilemessages

bench: install
	@echo "See bench/README.md for the scenarios."

clean:
	rm -rf $(VENV) $(TOOLS) var/test-*.sqlite3
