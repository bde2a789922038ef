# Two commands on a fresh machine:  make run   |   make test
# Both install everything first (Python venv, npm assets); nothing by hand.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
YANXIU := $(VENV)/bin/yanxiu
HOST ?= 127.0.0.1
PORT ?= 8000
DEMO_SCALE ?= 0.005
# Extra pytest arguments, e.g. make test PYTEST_ARGS='-m "not browser"'
PYTEST_ARGS ?=
export YANXIU_DEMO_PASSWORD ?= Qiuyue-Lianxi-2026

.PHONY: install run test test-pg test-sqlite lint browser bench clean lock lock-check prod-check

install: $(VENV)/.installed node_modules/.installed

# Every Python package comes from requirements.lock, pinned and checked by hash (as npm ci does
# from package-lock.json); the project itself is then installed without resolving anything.
$(VENV)/.installed: pyproject.toml requirements.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r requirements.lock
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Debian's chromium drives the browser tests (Playwright never downloads a browser).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; \
	  else echo "chromium missing: sudo apt-get install chromium (browser tests will be skipped)"; fi; }

run: install
	$(YANXIU) migrate --no-input -v0
	$(YANXIU) synth --scale $(DEMO_SCALE) --seed 1 --if-empty
	$(YANXIU) demo_logins --url http://$(HOST):$(PORT)/
	$(YANXIU) runserver $(HOST):$(PORT)

test: install browser
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy .
	$(YANXIU) makemigrations --check --dry-run -v0
	$(VENV)/bin/pytest -n 2 --dist loadfile $(PYTEST_ARGS)

# Production as it runs (YANXIU_ENV=prod, gunicorn via `yanxiu serve`, throwaway keys and database):
# static files, the log-in page, /healthz, /readyz, /metrics; non-zero on any failure.
prod-check: install
	$(PY) deploy/prod_check.py

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy .

# After changing dependencies in pyproject.toml: re-pin (versions already locked are kept).
LOCK_ARGS := pyproject.toml --extra dev --generate-hashes --python-version 3.11 --universal --quiet
lock: install
	$(VENV)/bin/uv pip compile $(LOCK_ARGS) -o requirements.lock

# CI: the committed lock is what `make lock` would write now (needs the package index).
lock-check: install
	cp requirements.lock $(VENV)/lock-check.txt
	$(VENV)/bin/uv pip compile $(LOCK_ARGS) -o $(VENV)/lock-check.txt --no-header
	tail -n +3 requirements.lock | diff -u - $(VENV)/lock-check.txt \
	  || { echo "requirements.lock does not match pyproject.toml: run make lock"; exit 1; }

bench: install
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) node_modules var
