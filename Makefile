# Two commands: `make run` (set up, migrate, load, generate the plans, serve) and `make test`
# (set up, run the suite).
# Everything goes into .venv; re-running only reinstalls when pyproject.toml changed.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000

.PHONY: run test check bench clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is required, found " + sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@ $(VENV)/.installed-run

run: $(VENV)/.installed-run
	$(BIN)/calendar-service db upgrade
	$(BIN)/calendar-service load
	$(BIN)/calendar-service plans generate
	$(BIN)/calendar-service serve --host $(HOST) --port $(PORT)

# The layer contracts first (pyproject.toml, [tool.importlinter]): a change that breaks the
# architecture fails before any test runs.
test: $(VENV)/.installed-test
	$(BIN)/lint-imports --no-cache
	$(BIN)/pytest

check: $(VENV)/.installed-run
	$(BIN)/calendar-service check events/*.toml

# The benchmarks that need nothing beyond the test extras (engine and load; reminders, with
# aiosmtpd; plans and the follow-up report). bench/feed.py and bench/web.py also need nginx,
# wrk, gunicorn and radicale: see BENCHMARKS.md. CALENDAR_TEST_DATABASE_URL adds PostgreSQL
# to each.
bench: $(VENV)/.installed-test
	$(BIN)/python bench/engine.py
	$(BIN)/python bench/lunar.py
	$(BIN)/python bench/reminders.py
	$(BIN)/python bench/plans.py

clean:
	rm -rf $(VENV) instance .pytest_cache .hypothesis
