"""Fixtures: the test database holds the real NRW geography and the taxonomies, and the shipped catalogue from
data/, loaded once. Behaviour tests build the records they assert on (tests/factories.py); only
tests/test_catalogue_data.py asserts on the shipped catalogue.

Property tests draw few examples by default and many under ``HYPOTHESIS_PROFILE=deep`` (``make test-deep``);
``WEGWEISER_FUZZ_EXAMPLES`` sets the number of examples of either profile.
"""

import os
import uuid

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.core.management import call_command
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


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        call_command("load_data", verbosity=0)


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
