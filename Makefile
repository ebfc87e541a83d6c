# Honorbound: two commands on a fresh machine.
#   make run   - install, load the demo data (SQLite), serve on http://127.0.0.1:8000
#   make test  - install dev dependencies, run the suite (SQLite, then PostgreSQL when available)

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test test-sqlite test-postgres lint typecheck bench-pii bench-vault bench-consent bench-rights bench-retention bench-load clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Sources of the compiled engine (setup.py): an edit rebuilds it.
$(STAMP): pyproject.toml setup.py $(wildcard src/honorbound/detect/*.py) | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/honorbound demo
	$(BIN)/honorbound serve

test: $(STAMP)
	$(BIN)/python -m pytest -q
	./scripts/with-postgres.sh $(BIN)/python -m pytest -q -m "not browser"

test-sqlite: $(STAMP)
	$(BIN)/python -m pytest -q

test-postgres: $(STAMP)
	./scripts/with-postgres.sh $(BIN)/python -m pytest -q -m "not browser"

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy src/honorbound

# The real server and worker on loopback: 100 clients for 60 s, then 60 s with a killed worker
# and a locked database; SQLite, then PostgreSQL (about 6 minutes).
bench-load: $(STAMP)
	$(BIN)/python bench/load.py
	./scripts/with-postgres.sh $(BIN)/python bench/load.py --postgres

bench-retention: $(STAMP)
	$(BIN)/python bench/retention.py

bench-rights: $(STAMP)
	$(BIN)/python bench/rights.py

bench-vault: $(STAMP)
	$(BIN)/python bench/vault.py
	./scripts/with-postgres.sh $(BIN)/python bench/vault.py --postgres

bench-consent: $(STAMP)
	$(BIN)/python bench/consent.py

bench-pii: $(STAMP)
	$(BIN)/pip install --quiet -e ".[bench]"
	$(BIN)/python bench/pii.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache build
	find src -name "*.so" -delete
