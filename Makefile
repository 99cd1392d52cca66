# Fulian — two commands: `make run` (demo county on SQLite) and `make test` (the whole suite).
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
# Django 6 needs Python >= 3.12: take the first interpreter on this machine that qualifies.
PYTHON ?= $(shell for c in python3.12 python3.13 python3 $$HOME/.pyenv/versions/3.12*/bin/python3 $$HOME/.pyenv/versions/3.13*/bin/python3 /usr/local/bin/python3.1[23] /usr/bin/python3.1[23]; do \
	if command -v $$c >/dev/null 2>&1 && $$c -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then echo $$c; break; fi; done)
export FULIAN_DATA_DIR ?= $(CURDIR)/var
HOST ?= 127.0.0.1
PORT ?= 8000
VENDOR := fulian/static/vendor

.PHONY: run test test-fast bench lint format setup frontend clean

$(BIN)/fulian: pyproject.toml
	@test -n "$(PYTHON)" || { echo "需要 Python 3.12 或更高版本 (Django 6 requires Python >= 3.12)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(BIN)/fulian

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

$(VENDOR)/.built: node_modules/.package-lock.json
	mkdir -p $(VENDOR)/htmx $(VENDOR)/pico $(VENDOR)/echarts
	cp node_modules/htmx.org/dist/htmx.min.js $(VENDOR)/htmx/
	cp node_modules/@picocss/pico/css/pico.min.css $(VENDOR)/pico/
	cp node_modules/echarts/dist/echarts.min.js $(VENDOR)/echarts/
	touch $@

frontend: $(VENDOR)/.built

setup: $(BIN)/fulian frontend

run: setup
	$(BIN)/fulian migrate --no-input -v0
	$(BIN)/fulian seed --scale demo --accounts-json $(FULIAN_DATA_DIR)/demo-accounts.json
	@echo "打开 http://$(HOST):$(PORT) 用上面的演示账号登录 (open it and sign in with an account above)"
	FULIAN_DEBUG=1 $(BIN)/fulian runserver $(HOST):$(PORT)

test: setup
	$(BIN)/python -m pytest -q -n 2 -p xdist

test-fast: setup
	$(BIN)/python -m pytest -q -x -m "not browser"

# the intake load is sent by wrk (Debian's package) when it can be installed; without it, by Python threads
bench: setup
	@command -v wrk >/dev/null 2>&1 || (DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null 2>&1) \
		|| echo "wrk 未安装:维权登记压测改用 Python 客户端 (wrk not installed: the intake load uses Python threads)"
	$(BIN)/python bench/run.py

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) node_modules $(VENDOR) var
