# Two commands for a new user: `make demo` and `make test`. Both install what they need.
VENV ?= .venv
BIN := $(VENV)/bin
DEMO := build/demo
export NO_MKDOCS_2_WARNING := 1

.PHONY: demo test install lint clean

demo: $(VENV)/.installed
	rm -rf $(DEMO)
	$(BIN)/cookiecutter --no-input --output-dir $(DEMO) .
	$(BIN)/mkdocs build --strict --config-file $(DEMO)/payments-api/mkdocs.yml --site-dir ../site
	@echo "Rendered $(DEMO)/payments-api; its TechDocs site is in $(DEMO)/site"

test: install lint
	$(BIN)/pytest -n auto

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

install: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: requirements-dev.txt pyproject.toml
	python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt -e .
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

clean:
	rm -rf $(VENV) node_modules build site .pytest_cache
