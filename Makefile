# Honorbound: two commands on a fresh machine.
#   make run   - install, load the demo data (SQLite), serve on http://127.0.0.1:8000
#   make test  - install dev dependencies, run the suite: SQLite, browser (Chromium), then
#                PostgreSQL when available, then the connected-systems leg (PostgreSQL,
#                MariaDB, S3 stand-in, SFTP), then the Spark leg (local mode, needs Java); each
#                leg but Spark in parallel processes (pytest-xdist)

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
RUN_STAMP := $(VENV)/.installed-run

# Parallel test processes per leg (pytest-xdist); each has its own databases.
JOBS ?= 2
PYTEST := $(BIN)/python -m pytest -q -n $(JOBS)
# HONORBOUND_CONFORMANCE_EXAMPLES: examples per conformance suite (tests/conformance); `make test`
# runs a bounded number, `make conformance` many more on both databases.
CONFORMANCE_EXAMPLES ?= 300

.PHONY: run docs i18n i18n-merge test test-sqlite test-browser test-postgres test-systems test-spark conformance fuzz-api lint typecheck bench-pii bench-vault bench-consent bench-rights bench-retention bench-load bench-systems bench-spark bench-recordings clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Sources of the compiled engine (setup.py): an edit rebuilds it.
# `make run` installs the runtime dependencies only; `make test` adds the dev tools.
$(RUN_STAMP): pyproject.toml setup.py $(wildcard src/honorbound/detect/*.py) | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $(RUN_STAMP)

$(STAMP): pyproject.toml setup.py $(wildcard src/honorbound/detect/*.py) | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP) $(RUN_STAMP)

run: $(RUN_STAMP)
	$(BIN)/honorbound demo
	$(BIN)/honorbound serve

test: test-sqlite test-browser test-postgres test-systems test-spark

test-sqlite: $(STAMP)
	$(PYTEST) -m "not browser and not systems and not spark"

test-browser: $(STAMP)
	$(PYTEST) -m browser

test-postgres: $(STAMP)
	./scripts/with-postgres.sh $(PYTEST) -m "not browser and not systems and not spark"

# Connected systems against real servers: MariaDB and PostgreSQL (Debian packages, started by
# the scripts), an S3 API on loopback (moto's server mode) and an SFTP server (asyncssh).
test-systems: $(STAMP)
	./scripts/with-mariadb.sh ./scripts/with-postgres.sh $(PYTEST) -m systems tests/systems

# honorbound.spark on a local Spark (local[2]); one process: Spark itself runs the partitions in
# parallel, and each Spark session starts a JVM (Java 17, see .ci/run).
test-spark: $(STAMP)
	$(BIN)/python -m pytest -q -p no:xdist -m spark tests/spark

conformance: $(STAMP)
	HONORBOUND_CONFORMANCE_EXAMPLES=$(CONFORMANCE_EXAMPLES) $(BIN)/python -m pytest -q -m conformance tests/conformance
	HONORBOUND_CONFORMANCE_EXAMPLES=$(CONFORMANCE_EXAMPLES) ./scripts/with-postgres.sh $(BIN)/python -m pytest -q -m conformance tests/conformance

# Schemathesis over every operation as admin, client and without credentials (no 5xx, every
# status documented, every body as documented): the suite runs 3 examples per operation; this
# runs FUZZ_EXAMPLES (200 by default), on SQLite and then PostgreSQL.
FUZZ_EXAMPLES ?= 200
fuzz-api: $(STAMP)
	HONORBOUND_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest -q -p no:xdist tests/fuzz
	HONORBOUND_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) ./scripts/with-postgres.sh $(BIN)/python -m pytest -q -p no:xdist tests/fuzz

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

# rows/s of `honorbound redact` against the Spark job in local[1] and local[2] (1M transcripts).
bench-spark: $(STAMP)
	$(BIN)/python bench/spark.py

bench-retention: $(STAMP)
	$(BIN)/python bench/retention.py

bench-systems: $(STAMP)
	./scripts/with-mariadb.sh ./scripts/with-postgres.sh $(BIN)/python bench/systems.py

bench-rights: $(STAMP)
	$(BIN)/python bench/rights.py

# One hour of 8 kHz stereo call audio with its transcript, redacted on one core (< 10 s).
bench-recordings: $(STAMP)
	$(BIN)/python bench/recordings.py

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

# docs/cli.md from every command's --help (scripts/cli_docs.py). Installs nothing: it runs the
# venv's Python on src/ (`make docs BIN=/path/to/venv/bin` for another virtualenv).
docs:
	PYTHONPATH=src $(BIN)/python scripts/cli_docs.py

# Extract the portal's, the consumer mail's and the notice's strings (babel.cfg) and merge them
# into the catalogs under src/honorbound/i18n/locales; then translate the empty msgstr lines.
i18n: .venv/.installed
	.venv/bin/python -m honorbound.i18n.extract

# After a merge that conflicts in a catalog: the union of both sides by message id, then the
# extraction (scripts/i18n_merge.py says how a message translated on both sides is settled).
i18n-merge: .venv/.installed
	PYTHONPATH=src .venv/bin/python scripts/i18n_merge.py
