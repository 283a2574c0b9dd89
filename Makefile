# Kedun: `make run` to try it, `make test` to check it. Nothing to install by hand.
# The probe below is silent: a pyenv shim for a version that is not installed prints
# "pyenv: python3.13: command not found" on stderr, which is no error here.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
	&& { echo $$p; break; }; done)
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck check bench clean messages

$(STAMP): pyproject.toml constraints.txt
	@test -n "$(PYTHON)" || { echo "Kedun needs Python 3.11 or newer on PATH." >&2; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/kedun migrate --noinput
	$(BIN)/kedun demo
	$(BIN)/kedun serve

test: $(STAMP)
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

check: lint typecheck
	$(BIN)/kedun makemigrations --check --dry-run

# Each prints one JSON report and exits non-zero when its target is missed. The million-row
# ones take minutes; set KEDUN_DATABASE_URL to run them on PostgreSQL.
bench: $(STAMP)
	$(BIN)/python bench/dedup_dev.py
	$(BIN)/python bench/audit_verify.py
	$(BIN)/python bench/registry_scale.py
	$(BIN)/python bench/pool_sweep.py
	$(BIN)/python bench/sales_reports.py
	$(BIN)/python bench/field_dev.py
	$(BIN)/python bench/field_photos.py
	$(BIN)/python bench/mail_sync.py
	$(BIN)/python bench/load.py --engine sqlite --users 10
	$(BIN)/python bench/load.py

# Regenerate translation catalogues after changing UI text (needs GNU gettext).
messages: $(STAMP)
	cd src/kedun && ../../$(BIN)/kedun makemessages -l zh_Hans -l zh_Hant --no-obsolete
	$(BIN)/python scripts/translations.py
	cd src/kedun && ../../$(BIN)/kedun compilemessages

clean:
	rm -rf $(VENV) var
