# One target per check; `make check` runs them all.
PY ?= .venv/bin/python

.PHONY: venv lint typecheck test check bench serve

venv:
	test -x $(PY) || python3 -m venv .venv
	$(PY) -m pip install -q -e ".[dev]"

lint:
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

typecheck:
	$(PY) -m mypy

test:
	$(PY) -m pytest

check: lint typecheck test

bench:
	$(PY) -m bench

serve:
	.venv/bin/lianxin serve --demo
