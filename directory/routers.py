"""Reads from a streaming replica, writes to the primary (docs/scaling.md).

Only a request the ``ReplicaMiddleware`` marks reads from the replica: an anonymous GET or HEAD of a public page
or the API. Everything else — the staff area, the admin, sign-in, imports, management commands, a request with a
session or just after a write — reads from the primary, so nobody reads stale data they just wrote. Within a
marked request the first write pins the rest of it to the primary; the response to a POST that wrote sets a short
cookie that pins that browser's next requests too (a replica lags the primary by a few milliseconds, more under
load). A GET that writes sets no cookie: its response may be cached and shared.

A replica that cannot be reached is skipped for ``REPLICA_RETRY_SECONDS``: pages answer from the primary.
Without ``DATABASE_REPLICA_URL`` (``settings.READ_REPLICA`` false) everything runs on the primary, as before.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connections
from django.db.models import Model
from django.http import HttpRequest, HttpResponse

REPLICA = "replica"
PRIMARY = "default"
# Set on a response to a request that wrote; while it lives, the browser's requests read from the primary.
PIN_COOKIE = "wegweiser_primary"

logger = logging.getLogger(__name__)


@dataclass
class _Reads:
    from_replica: bool = False
    checked: bool = False  # whether the replica was found reachable in this request (at its first read)
    wrote: bool = False


# Per request (and per thread or task): outside a request nothing reads from the replica.
_reads: ContextVar[_Reads | None] = ContextVar("wegweiser_reads", default=None)
# Until when (time.monotonic()) the replica counts as down, in this process.
_replica_down_until = 0.0


def reads_from_replica() -> bool:
    state = _reads.get()
    if state is None or not state.from_replica:
        return False
    if not state.checked:
        # At the first read, not at the start of the request: static files and pages without a query never
        # touch the replica.
        state.checked = True
        state.from_replica = _replica_reachable()
    return state.from_replica


def mark_replica_down() -> None:
    """Skip the replica for a while: a down replica must not cost every request a failed connection."""
    global _replica_down_until
    _replica_down_until = time.monotonic() + settings.REPLICA_RETRY_SECONDS
    with contextlib.suppress(DatabaseError):
        connections[REPLICA].close()


def _replica_reachable() -> bool:
    if time.monotonic() < _replica_down_until:
        return False
    try:
        # Runs Django's health check on a persistent connection, or connects; no query when it is fresh.
        connections[REPLICA].cursor().close()
    except DatabaseError:
        logger.warning("database replica unreachable; reading from the primary for %ss", settings.REPLICA_RETRY_SECONDS)
        mark_replica_down()
        return False
    return True


class ReplicaRouter:
    """Reads go to the replica only in a request the middleware marked; writes and migrations to the primary."""

    def db_for_read(self, model: type[Model], **hints: Any) -> str:
        return REPLICA if reads_from_replica() else PRIMARY

    def db_for_write(self, model: type[Model], **hints: Any) -> str:
        state = _reads.get()
        if state is not None:
            # Read your own writes: the rest of this request reads from the primary.
            state.from_replica = False
            state.wrote = True
        return PRIMARY

    def allow_relation(self, obj1: Model, obj2: Model, **hints: Any) -> bool:
        return True  # the replica is a copy of the primary: the same rows

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db == PRIMARY


def _may_read_from_replica(request: HttpRequest) -> bool:
    if not settings.READ_REPLICA or request.method not in ("GET", "HEAD"):
        return False
    if request.path.startswith(tuple(settings.REPLICA_PRIMARY_PATHS)):
        return False
    # A session (staff, sign-in) or a recent write of this browser: read from the primary.
    return settings.SESSION_COOKIE_NAME not in request.COOKIES and PIN_COOKIE not in request.COOKIES


class ReplicaMiddleware:
    """Marks which requests read from the replica. Install it first: every later middleware's reads follow it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        state = _Reads(from_replica=_may_read_from_replica(request))
        token = _reads.set(state)
        try:
            response = self.get_response(request)
        finally:
            _reads.reset(token)
        # Only an unsafe request's response pins the browser: a GET's may be cached and shared, cookie and all.
        if state.wrote and settings.READ_REPLICA and request.method not in ("GET", "HEAD", "OPTIONS"):
            response.set_cookie(PIN_COOKIE, "1", max_age=settings.REPLICA_PIN_SECONDS, httponly=True, samesite="Lax")
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """A query failed while this request read from the replica (the replica went down, or a hot-standby
        conflict cancelled the query): answer the request once more, from the primary. Only reading requests
        get here — the first write pins a request to the primary."""
        state = _reads.get()
        if state is None or not state.from_replica or not isinstance(exception, DatabaseError):
            return None
        if _replica_broken():
            logger.warning("database replica failed during a request; reading from the primary")
            mark_replica_down()
        state.from_replica = False
        return self.get_response(request)


def _replica_broken() -> bool:
    connection = connections[REPLICA]
    if connection.connection is None:
        return True
    try:
        return not connection.is_usable()
    except DatabaseError:
        return True
