# Two commands for a new user: `make demo` and `make test`. Both install what they need.
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
export NO_MKDOCS_2_WARNING := 1
# Root installs Debian packages itself; anyone else goes through sudo.
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: demo serve test install chromium debian-tools lint clean picture

# Renders examples/services/*.yaml from the template into build/examples/ and builds the project's site
# (with their runbooks) into site/; the MkDocs hook in src/service_runbooks does the rendering.
demo: $(VENV)/.installed
	$(BIN)/mkdocs build --strict --site-dir site
	@echo "Examples rendered into build/examples/; the site is in site/ (make serve to browse it)"

serve: $(VENV)/.installed
	$(BIN)/mkdocs serve --strict --dev-addr $(HOST):$(PORT)

test: install lint
	$(BIN)/pytest -n auto

# mypy reads its settings (src/, strictness, untyped libraries) from pyproject.toml.
lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

install: $(VENV)/.installed node_modules/.installed chromium debian-tools

$(VENV)/.installed: requirements-dev.txt pyproject.toml
	python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt -e .
	touch $@

# A node_modules that is a link to a shared install is left alone: `npm ci` would empty the
# shared folder for everyone using it.
node_modules/.installed: package.json package-lock.json
	@if [ -L node_modules ] && [ -x node_modules/.bin/techdocs-cli ]; then \
		echo "node_modules is a link to a shared install; not reinstalling it"; \
	else \
		npm ci --no-audit --no-fund; \
	fi
	touch $@

# The browser test drives Debian's Chromium (Playwright's own browser download fails here);
# the fonts make its screenshots show text and the runbooks' emoji as a reader sees them.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
		$(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends \
			chromium fonts-liberation fonts-noto-color-emoji; }

# jq: the helper scripts read an Argo CD application's sync policy with it, and the tests run them.
debian-tools:
	@command -v jq >/dev/null 2>&1 || { \
		$(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends jq; }
	@# promtool (Debian's prometheus package): the tests check and unit-test every generated rules file.
	@command -v promtool >/dev/null 2>&1 || { \
		$(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends prometheus; }
	@# Alertmanager and amtool (Debian's prometheus-alertmanager, whose binary has the package's
	@# name): the tests run each service's inhibit rules in a real Alertmanager.
	@command -v prometheus-alertmanager >/dev/null 2>&1 || { \
		$(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends \
			prometheus-alertmanager; }

clean:
	rm -rf $(VENV) node_modules build site .pytest_cache

# The README's picture: the rollback page of an example service on a phone (needs Chromium).
picture: $(VENV)/.installed chromium
	cd tests && ../$(BIN)/python rollback_picture.py ../docs/images/rollback-page.png
