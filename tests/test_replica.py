"""Reads from a replica, writes to the primary (directory/routers.py).

In tests the replica alias mirrors the test database over a connection of its own: it sees the catalogue loaded
before the tests (committed) but not what a test writes inside its transaction — so a record a test creates is
found only when it is read from the primary.
"""

import pytest
from django.db import OperationalError, connections
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import path

from config.urls import urlpatterns as site_urls
from directory import routers
from directory.models import Organization, Service
from tests import factories

pytestmark = pytest.mark.django_db(databases=["default", "replica"])


@pytest.fixture(autouse=True)
def replica_on(settings, monkeypatch):
    settings.READ_REPLICA = True
    monkeypatch.setattr(routers, "_replica_down_until", 0.0)
    yield
    # A persistent connection left open would keep the test database from being dropped at the end.
    connections["replica"].close()


@pytest.fixture
def replica_down(monkeypatch):
    """The replica alias points at a closed port."""
    replica = connections["replica"]
    replica.close()
    monkeypatch.setattr(replica, "settings_dict", {**replica.settings_dict, "HOST": "127.0.0.1", "PORT": "9"})
    yield
    replica.close()


def queries(alias: str) -> CaptureQueriesContext:
    return CaptureQueriesContext(connections[alias])


def test_it_reads_anonymous_api_requests_from_the_replica(client):
    with queries("replica") as on_replica, queries("default") as on_primary:
        response = client.get("/api/hsds/services?per_page=50")
    assert response.status_code == 200
    assert response.json()["contents"]
    assert any("directory_service" in query["sql"] for query in on_replica.captured_queries)
    assert on_primary.captured_queries == []


def test_it_reads_anonymous_public_pages_from_the_replica(client):
    with queries("replica") as on_replica, queries("default") as on_primary:
        response = client.get("/de/search/", {"q": "Beratung"})
    assert response.status_code == 200
    assert on_replica.captured_queries
    assert on_primary.captured_queries == []


def test_it_reads_everything_from_the_primary_without_a_replica(client, settings):
    settings.READ_REPLICA = False
    with queries("replica") as on_replica:
        assert client.get("/api/hsds/services?per_page=50").status_code == 200
        assert client.get("/de/").status_code == 200
    assert on_replica.captured_queries == []


def test_it_reads_the_staff_area_and_signed_in_pages_from_the_primary(client, alice):
    with queries("replica") as on_replica:
        assert client.get("/accounts/login/").status_code == 200
        client.force_login(alice)
        assert client.get("/manage/").status_code in (200, 302)
        # Signed in (a session cookie): the public pages read from the primary as well.
        assert client.get("/de/search/", {"q": "Beratung"}).status_code == 200
    assert on_replica.captured_queries == []


def test_it_answers_pages_with_the_replica_down(client, replica_down):
    record = factories.service(name="Nur auf dem Primärserver")
    for url in ("/de/", "/de/search/?q=Beratung", "/api/hsds/services?per_page=50", f"/de/services/{record.id}/"):
        assert client.get(url).status_code == 200, url
    # Found, so read from the primary: the replica's connection could not see this test's record anyway.
    assert "Nur auf dem Primärserver" in client.get(f"/api/hsds/services/{record.id}").json()["name"]


def test_it_skips_a_down_replica_for_a_while_instead_of_connecting_every_time(client, replica_down, monkeypatch):
    assert client.get("/api/hsds/services?per_page=1").status_code == 200
    attempts = []
    monkeypatch.setattr(connections["replica"], "cursor", lambda: attempts.append(1))
    with queries("default") as on_primary:
        # Another URL than the first: the shared page cache would answer that one without any query.
        assert client.get("/api/hsds/services?per_page=2").status_code == 200
    assert attempts == []
    assert on_primary.captured_queries


def _write_then_read_back(request: HttpRequest) -> HttpResponse:
    """A view of an anonymous GET that writes, then reads what it wrote."""
    before = routers.reads_from_replica()
    owner = Organization.objects.create(name={"de": "Frisch geschrieben e. V."})
    found = Organization.objects.get(pk=owner.pk)  # not on the replica's connection: the primary's
    return HttpResponse(f"{before} {routers.reads_from_replica()} {found.pk == owner.pk}")


def test_a_write_is_read_back_from_the_primary_for_the_rest_of_the_request():
    middleware = routers.ReplicaMiddleware(_write_then_read_back)
    response = middleware(RequestFactory().get("/de/"))
    assert response.content.decode() == "True False True"
    # A GET's response may be cached and shared: it pins no browser.
    assert routers.PIN_COOKIE not in response.cookies


def test_a_post_that_wrote_pins_the_browser_to_the_primary_for_a_while():
    response = routers.ReplicaMiddleware(_write_then_read_back)(RequestFactory().post("/de/"))
    assert response.content.decode() == "False False True"
    assert response.cookies[routers.PIN_COOKIE]["max-age"] == 10
    assert response.cookies[routers.PIN_COOKIE]["httponly"]


def test_a_browser_that_just_wrote_reads_from_the_primary(client):
    client.cookies[routers.PIN_COOKIE] = "1"
    record = factories.service(name="Gerade gemeldet")
    with queries("replica") as on_replica:
        assert client.get(f"/de/services/{record.id}/").status_code == 200
    assert on_replica.captured_queries == []


def _fails_on_the_replica(request: HttpRequest) -> HttpResponse:
    if routers.reads_from_replica():
        raise OperationalError("canceling statement due to conflict with recovery")
    return HttpResponse(str(Service.objects.count()))


urlpatterns = [path("flaky/", _fails_on_the_replica), *site_urls]


@pytest.mark.urls("tests.test_replica")
def test_a_request_whose_replica_query_fails_is_answered_from_the_primary(client):
    response = client.get("/flaky/")
    assert response.status_code == 200
    assert int(response.content) > 0
