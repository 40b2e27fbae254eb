"""Fixtures: the test database holds the real NRW geography and the taxonomies, and the shipped catalogue from
data/, loaded once. Behaviour tests build the records they assert on (tests/factories.py); only
tests/test_catalogue_data.py asserts on the shipped catalogue.

Property tests draw few examples by default and many under ``HYPOTHESIS_PROFILE=deep`` (``make test-deep``);
``WEGWEISER_FUZZ_EXAMPLES`` sets the number of examples of either profile.

Migrating and loading data/ takes about half a minute, so it is done once, into a template database that every
test database (one per xdist process) is copied from with ``CREATE DATABASE … TEMPLATE``, in about a second. The
template's name carries a hash of everything that makes its contents (migrations, the loaders and models, data/,
the pinned packages), so a changed source builds a new one and the stale one is dropped.
"""

import fcntl
import hashlib
import os
import tempfile
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core.cache import cache
from django.core.management import call_command
from django.db import connections
from django.utils import translation
from hypothesis import settings as hypothesis_settings

import directory.cache

DEEP = os.environ.get("HYPOTHESIS_PROFILE") == "deep"


def _examples(default: int) -> int:
    return int(os.environ.get("WEGWEISER_FUZZ_EXAMPLES", default))


# No example database in the work tree: every run draws afresh; no deadline: an example writes to the database.
hypothesis_settings.register_profile("default", max_examples=_examples(6), deadline=None, database=None)
hypothesis_settings.register_profile("deep", max_examples=_examples(300), deadline=None, database=None)
hypothesis_settings.load_profile("deep" if DEEP else "default")


# What the migrated and loaded database is made of: the apps' code (migrations, models, loaders and what they
# call), the data files, the pinned packages (third-party migrations). Broad on purpose: a template built from
# other code is never reused.
TEMPLATE_SOURCES = ("directory", "editorial", "exchange", "config", "data", "requirements.txt", "requirements-dev.txt")
TEMPLATE_SUFFIXES = {".py", ".yaml", ".yml", ".csv", ".geojson", ".json", ".txt", ".sql"}


def template_key() -> str:
    digest = hashlib.sha256()
    root = Path(settings.BASE_DIR)
    for source in TEMPLATE_SOURCES:
        path = root / source
        files = sorted(path.rglob("*")) if path.is_dir() else [path]
        for file in files:
            if file.is_file() and file.suffix in TEMPLATE_SUFFIXES and "__pycache__" not in file.parts:
                digest.update(file.relative_to(root).as_posix().encode() + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def catalogue_template() -> str:
    """The name of a database migrated and loaded from data/ by this code, built if missing.

    A file lock keeps two processes of one run (or two runs) from building it at once; the one that waited finds
    it built. Built under another name and renamed when complete, so an interrupted build is never used.
    """
    connection = connections["default"]
    database = connection.settings_dict
    base = f"test_{database['NAME']}"
    template = f"{base}_tpl_{template_key()}"
    with open(Path(tempfile.gettempdir()) / f"{base}.template.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with connection._nodb_cursor() as cursor:
            cursor.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", [f"{base}\\_tpl\\_%"])
            existing = {name for (name,) in cursor.fetchall()}
        if template not in existing:
            building = f"{template}_new"
            name, test_name = database["NAME"], database["TEST"].get("NAME")
            database["TEST"]["NAME"] = building
            try:
                connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
                call_command("load_data", verbosity=0)
            finally:
                connection.close()
                database["NAME"], database["TEST"]["NAME"] = name, test_name
            with connection._nodb_cursor() as cursor:
                cursor.execute(f'ALTER DATABASE "{building}" RENAME TO "{template}"')
        # Templates of other code (and a build that was interrupted) are stale.
        with connection._nodb_cursor() as cursor:
            for stale in sorted(existing - {template}):
                cursor.execute(f'DROP DATABASE IF EXISTS "{stale}"')
    return template


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings, django_db_blocker):
    """Each test database is a copy of the catalogue template (pytest-django's setup then finds every migration
    applied)."""
    with django_db_blocker.unblock():
        settings.DATABASES["default"]["TEST"]["TEMPLATE"] = catalogue_template()


@pytest.fixture(autouse=True)
def plain_static_files(settings):
    """Tests need not run collectstatic first: serve static files without the hashed manifest."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def own_cache_keys(settings):
    """Each test counts and caches under keys of its own: none shared with a running site, another test run
    or the test before (the same Redis; clear() deletes only the test's own keys)."""
    settings.CACHES = {
        "default": {**settings.CACHES["default"], "KEY_PREFIX": f"wegweiser-test:{uuid.uuid4().hex}"},
    }
    yield
    # The one long-lived key (pages and counters expire within the hour by themselves).
    cache.delete(directory.cache.VERSION_KEY)


@pytest.fixture(autouse=True)
def pages_stale_at_once(monkeypatch):
    """A test runs in one transaction that never commits but stands for many that do: a change to a record
    makes cached pages stale at once, not at a commit that never comes (tests/test_shared_cache.py tests that)."""
    monkeypatch.setattr(directory.cache, "catalogue_changed_on_commit", directory.cache.catalogue_changed)


@pytest.fixture
def alice(db) -> User:
    """An administrator."""
    return User.objects.create_superuser("alice", "alice@example.org", "correct horse battery staple")


@pytest.fixture(autouse=True)
def no_language_left_active():
    """Each test starts in the default language: LocaleMiddleware activates a request's language for the thread
    and leaves it active, so without this a test's outcome would depend on the language of an earlier test's
    last request on the same process."""
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def no_read_replica(settings):
    """Tests read from the primary even when DATABASE_REPLICA_URL is set: a replica's connection does not see a
    test's uncommitted records. tests/test_replica.py turns the replica on."""
    settings.READ_REPLICA = False
