# Two commands on a fresh machine:  make run   |   make test
# Both install everything first (Python venv, npm assets); nothing by hand.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
YANXIU := $(VENV)/bin/yanxiu
HOST ?= 127.0.0.1
PORT ?= 8000
DEMO_SCALE ?= 0.005
export YANXIU_DEMO_PASSWORD ?= Qiuyue-Lianxi-2026

.PHONY: install run test test-pg test-sqlite lint browser bench clean

install: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
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
	$(VENV)/bin/pytest -n 2 --dist loadfile

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy .

bench: install
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) node_modules var
