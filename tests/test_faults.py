"""PostgreSQL unreachable: pages answer a friendly 503 quickly and recover without a restart (issue 12.7).

A real failure, not a mock: the test points the database connection at a port nobody listens on, so psycopg's
connect fails as it does when PostgreSQL is stopped. ``make faults`` stops a real PostgreSQL cluster.
"""

import contextlib
import socket
import time

import pytest
from django.db import DatabaseError, close_old_connections, connections
from django.test import Client


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # free again once closed: nothing listens there


@pytest.fixture
def database_down(django_db_blocker):
    """The default connection (and the replica alias mirroring it) points at a closed port, then back."""
    settings_dict = connections["default"].settings_dict
    saved = settings_dict["PORT"]
    with django_db_blocker.unblock():
        for alias in connections:
            connections[alias].close()
        settings_dict["PORT"] = str(closed_port())
        try:
            yield
        finally:
            for alias in connections:
                connections[alias].close()
            settings_dict["PORT"] = saved


def timed_get(client: Client, path: str, **extra):
    started = time.monotonic()
    response = client.get(path, **extra)
    return response, time.monotonic() - started


def test_pages_answer_a_friendly_503_in_the_visitors_language(database_down):
    client = Client(raise_request_exception=False)
    response, seconds = timed_get(client, "/de/search/?q=Sprachkurs")
    assert seconds < 2
    assert response.status_code == 503
    assert response["Retry-After"].isdigit()
    assert "no-store" in response["Cache-Control"]
    page = response.content.decode()
    assert "Kurz nicht erreichbar" in page and 'lang="de"' in page
    arabic = client.get("/ar/")
    assert arabic.status_code == 503
    assert 'dir="rtl"' in arabic.content.decode() and "غير متاح" in arabic.content.decode()


def test_the_api_answers_503_as_json_with_cors(database_down):
    response = Client(raise_request_exception=False).get("/api/hsds/services")
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "database" in response.json()["error"]
    assert response["Retry-After"].isdigit()


def test_a_failure_outside_a_view_answers_the_same_503(database_down):
    # The staff area's middleware reads the session's user before any view runs.
    client = Client(raise_request_exception=False)
    client.cookies["sessionid"] = "x" * 32
    response = client.get("/manage/")
    assert response.status_code == 503
    assert "Kurz nicht erreichbar" in response.content.decode()


def test_healthz_says_the_database_is_unavailable_without_its_address(database_down):
    response, seconds = timed_get(Client(), "/healthz")
    assert seconds < 2
    assert response.status_code == 503
    body = response.json()
    assert body["database"] == {"status": "unavailable"}
    assert body["cache"] in ("ok", "unavailable")
    assert "127.0.0.1" not in response.content.decode()


def test_the_site_serves_again_once_the_database_is_back(django_db_blocker):
    client = Client(raise_request_exception=False)
    default = connections["default"]
    saved = default.settings_dict["PORT"]

    def request(path: str) -> int:
        # The WSGI handler runs close_old_connections at each request's start and end (health check, broken
        # connections closed); Django's test client leaves that out, so it is run here as gunicorn would.
        close_old_connections()
        status = client.get(path).status_code
        close_old_connections()
        return status

    with django_db_blocker.unblock():
        default.settings_dict["CONN_MAX_AGE"] = 60  # persistent, as served (the test runner sets 0)
        try:
            assert request("/healthz") == 200
            assert default.connection is not None, "a persistent connection stays open"
            default.settings_dict["PORT"] = str(closed_port())
            # The open connection breaks (as a restarted server breaks it); new ones are refused.
            with contextlib.suppress(DatabaseError), default.cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(pg_backend_pid())")
            assert request("/healthz") == 503
            assert request("/de/search/?q=Beratung") == 503
            default.settings_dict["PORT"] = saved
            # The same process, no restart: the next request replaces the broken connection.
            assert request("/healthz") == 200
            assert request("/de/search/?q=Beratung") == 200
        finally:
            default.close()
            default.settings_dict["PORT"] = saved
            default.settings_dict["CONN_MAX_AGE"] = 0
