"""PostgreSQL unreachable: pages answer a friendly 503 quickly and recover without a restart (issue 12.7).

Real failures, not mocks: the test points the database connection at a port nobody listens on, so psycopg's
connect fails as it does when PostgreSQL is stopped; at a server that accepts the connection and never answers
(a hung PostgreSQL, or a firewall that swallows packets); and holds a lock that stalls a served statement.
``make faults`` stops a real PostgreSQL cluster.
"""

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.db import DatabaseError, close_old_connections, connections, transaction
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


@contextlib.contextmanager
def silent_server() -> Iterator[tuple[int, list[socket.socket]]]:
    """A TCP server on 127.0.0.1 that accepts every connection and never sends a byte: its port, and the
    connections it accepted (kept open, so the client waits for an answer rather than seeing a close)."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.1)
    accepted: list[socket.socket] = []
    done = threading.Event()

    def accept() -> None:
        while not done.is_set():
            with contextlib.suppress(TimeoutError):
                accepted.append(server.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield int(server.getsockname()[1]), accepted
    finally:
        done.set()
        thread.join()
        for connection in accepted:
            connection.close()
        server.close()


@pytest.fixture
def database_hangs(django_db_blocker):
    """The default connection points at a server that accepts and never answers; yields what it accepted."""
    settings_dict = connections["default"].settings_dict
    saved = settings_dict["PORT"]
    with django_db_blocker.unblock(), silent_server() as (port, accepted):
        for alias in connections:
            connections[alias].close()
        settings_dict["PORT"] = str(port)
        try:
            yield accepted
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


def test_a_database_that_accepts_and_never_answers_gets_the_503_within_the_connect_timeout(database_hangs):
    # libpq's connect_timeout (DATABASE_CONNECT_TIMEOUT, 2 s) bounds the whole connection start-up, the wait
    # for the server's first answer included, not only the TCP connect.
    client = Client(raise_request_exception=False)
    response, seconds = timed_get(client, "/de/search/?q=Sprachkurs")
    assert response.status_code == 503 and seconds < 3, seconds
    assert "Kurz nicht erreichbar" in response.content.decode() and response["Retry-After"].isdigit()
    health, seconds = timed_get(client, "/healthz")
    assert health.status_code == 503 and seconds < 3, seconds
    assert health.json()["database"] == {"status": "unavailable"}
    assert database_hangs, "the server accepted the connections: they hung, they were not refused"


@pytest.mark.django_db
def test_a_served_statement_stalled_by_a_lock_is_cancelled_and_answered_with_the_503():
    """Connected, but the statement never gets its rows (here a lock, as a migration or REINDEX takes it):
    PostgreSQL cancels it after the statement timeout, and the page says "try again shortly"."""
    default = connections["default"]
    client = Client(raise_request_exception=False)
    holder = default.get_new_connection(default.get_connection_params())
    try:
        holder.execute("SET lock_timeout = '2s'")  # a broken test fails, it does not hang
        holder.execute("LOCK TABLE directory_service IN ACCESS EXCLUSIVE MODE")
        before = transaction.savepoint()
        # As served (config/settings.py: DATABASE_STATEMENT_TIMEOUT), with 1 s instead of 5 s to keep the test short.
        with default.cursor() as cursor:
            cursor.execute("SET statement_timeout = 1000")
        response, seconds = timed_get(client, "/de/search/?q=Beratung")
        assert response.status_code == 503 and 1 <= seconds < 3, seconds
        assert "Kurz nicht erreichbar" in response.content.decode() and response["Retry-After"].isdigit()
        transaction.savepoint_rollback(before)  # the cancelled statement's transaction, and the limit, undone
        holder.rollback()
        assert client.get("/de/search/?q=Beratung").status_code == 200, "the lock is gone: served again"
    finally:
        holder.close()


def test_only_the_web_server_limits_its_statements():
    """config/wsgi.py (gunicorn) sets the 5 s statement timeout on both database aliases; manage.py's
    commands (and this test process) have none, as an import or a migration may run longer."""
    code = (
        "import config.wsgi; from django.conf import settings; "
        "print(settings.DATABASES['default']['OPTIONS']['options']); "
        "print(settings.DATABASES['replica']['OPTIONS']['options'])"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("WEGWEISER_SERVING", "DATABASE_STATEMENT_TIMEOUT")}
    served = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, check=True
    )
    assert served.stdout.split("\n")[:2] == ["-c jit=off -c statement_timeout=5000"] * 2, served.stdout
    assert settings.DATABASE_STATEMENT_TIMEOUT == 0
