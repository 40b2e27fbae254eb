"""The shared cache (Redis): one count across processes, pages cached until a record changes, and a site
that still answers without it."""

import logging
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache

import directory.cache
from directory import throttle
from tests import factories

pytestmark = pytest.mark.django_db

CLOSED_PORT = "redis://127.0.0.1:9/0"
# The real one: tests/conftest.py makes a change stale pages at once in every other test.
REAL_ON_COMMIT = directory.cache.catalogue_changed_on_commit

COUNTER = """
import django
django.setup()
import directory.cache
from directory import throttle
for _ in range(50):
    throttle.hit("cross-process", "client", window=60)
"""


@pytest.fixture
def no_redis(settings):
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": CLOSED_PORT}}


def test_it_counts_one_limit_across_processes():
    """Two worker processes (two Redis clients) and this one add to one counter, atomically."""
    prefix = django_settings.CACHES["default"]["KEY_PREFIX"]
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "WEGWEISER_CACHE_KEY_PREFIX": prefix}
    workers = [subprocess.Popen([sys.executable, "-c", COUNTER], env=env) for _ in range(2)]  # noqa: S603
    assert [worker.wait(timeout=60) for worker in workers] == [0, 0]
    hits = throttle.hit("cross-process", "client", window=60)
    assert hits is not None and hits.count == 101
    assert 0 < hits.expires_in <= 60


def test_a_page_is_cached_until_its_service_changes(
    client, django_capture_on_commit_callbacks, django_assert_num_queries
):
    with django_capture_on_commit_callbacks(execute=True):  # as if committed: tests run in one transaction
        service = factories.service(name="Quellberatung vorher")
    url = f"/de/services/{service.pk}/"
    assert "Quellberatung vorher" in client.get(url).content.decode()
    with django_assert_num_queries(0):
        assert "Quellberatung vorher" in client.get(url).content.decode(), "the second answer comes from Redis"

    with django_capture_on_commit_callbacks(execute=True):
        service.name = {"de": "Quellberatung nachher"}
        service.save()
    page = client.get(url).content.decode()
    assert "Quellberatung nachher" in page


def test_a_transaction_makes_pages_stale_once_and_only_when_it_commits(
    client, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(directory.cache, "catalogue_changed_on_commit", REAL_ON_COMMIT)
    with django_capture_on_commit_callbacks(execute=True) as bumps:
        service = factories.service(name="Quellberatung vorher")
    url = f"/de/services/{service.pk}/"
    client.get(url)
    with django_capture_on_commit_callbacks(execute=False) as bumps:
        for word in ("eins", "zwei", "drei"):
            service.name = {"de": f"Quellberatung {word}"}
            service.save()
        assert "Quellberatung vorher" in client.get(url).content.decode(), "not before the commit"
    assert len(bumps) == 1, "one bump for the whole transaction"
    bumps[0]()
    assert "Quellberatung drei" in client.get(url).content.decode()


def test_api_answers_are_cached_per_language_until_a_record_changes(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        service = factories.service(name="Quelldienst alt")
    url = f"/api/hsds/services/{service.pk}"
    assert client.get(url).json()["name"] == "Quelldienst alt"
    with django_capture_on_commit_callbacks(execute=True):
        service.name = {"de": "Quelldienst neu"}
        service.save()
    assert client.get(url).json()["name"] == "Quelldienst neu"


def test_signed_in_users_never_get_or_fill_the_shared_copy(client, alice):
    client.force_login(alice)
    client.get("/de/")
    assert not list(cache._client.get_client().scan_iter(match=f"{cache.key_prefix}:*page:*"))


def test_without_redis_every_page_still_answers(client, no_redis, caplog):
    service = factories.service(name="Quellberatung ohne Cache")
    with caplog.at_level(logging.WARNING, logger="directory.cache"):
        for url in ("/de/", f"/de/services/{service.pk}/", "/de/responsible/?plz=45127", "/api/hsds/services"):
            assert client.get(url).status_code == 200, url
    warnings = [record for record in caplog.records if "shared cache unavailable" in record.getMessage()]
    assert len(warnings) <= 1, "at most one log line a minute"


def test_healthz_says_whether_the_cache_answers(client, settings):
    assert client.get("/healthz").json()["cache"] == "ok"
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": CLOSED_PORT}}
    response = client.get("/healthz")
    assert response.status_code == 200, "the site answers without the cache"
    assert response.json()["cache"] == "unavailable"


@pytest.mark.django_db
def test_derived_figures_are_kept_until_the_catalogue_changes():
    calls = []

    def count() -> int:
        calls.append(1)
        return len(calls)

    assert directory.cache.while_unchanged("figure", count) == 1
    assert directory.cache.while_unchanged("figure", count) == 1  # kept: not computed again
    assert directory.cache.while_unchanged("another figure", count) == 2
    directory.cache.catalogue_changed()
    assert directory.cache.while_unchanged("figure", count) == 3  # the catalogue changed: computed afresh


def slow_figure(calls: list[str], name: str, seconds: float = 0.3):
    """A value that takes ``seconds`` to compute, recording who computed it."""

    def compute() -> str:
        calls.append(name)
        time.sleep(seconds)
        return f"computed by {name}"

    return compute


def test_a_costly_value_is_computed_once_while_the_others_wait_for_it():
    """Six workers (threads here, with a Redis client each) miss the same value at once: one computes it."""
    calls: list[str] = []

    def ask(name: str) -> str:
        return directory.cache.while_unchanged("slow", slow_figure(calls, name), wait_for_others=5)

    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(ask, [f"worker {n}" for n in range(6)]))
    assert len(calls) == 1, calls
    assert answers == [f"computed by {calls[0]}"] * 6


def test_a_waiter_computes_the_value_itself_when_the_holder_does_not_deliver():
    calls: list[str] = []
    stuck = threading.Event()

    def hung() -> str:
        calls.append("hung worker")
        stuck.wait(5)  # a worker that hangs (or died) holding the lock
        return "late"

    with ThreadPoolExecutor(1) as pool:
        pool.submit(directory.cache.while_unchanged, "stuck", hung, wait_for_others=5)
        while not calls:
            time.sleep(0.01)
        started = time.monotonic()
        answer = directory.cache.while_unchanged("stuck", slow_figure(calls, "waiter", 0), wait_for_others=0.3)
        waited = time.monotonic() - started
        stuck.set()
    assert answer == "computed by waiter" and 0.3 <= waited < 1.5, waited


def test_without_the_cache_nobody_waits_for_a_lock(no_redis):
    # add() answers False when Redis is unreachable, as if another held the lock: that must not cost the wait.
    calls: list[str] = []
    started = time.monotonic()
    for name in ("first", "second"):
        assert directory.cache.while_unchanged("alone", slow_figure(calls, name, 0), wait_for_others=5)
    assert calls == ["first", "second"] and time.monotonic() - started < 1
