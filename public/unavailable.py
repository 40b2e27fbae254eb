"""While the database cannot be reached: a friendly 503 in the visitor's language, JSON with CORS under /api/.

PostgreSQL stopped, restarting, unreachable or not answering makes every query raise ``OperationalError``
(connecting fails within ``DATABASE_CONNECT_TIMEOUT`` seconds, also when the server accepts the connection and
never replies; a served request's statement stalled by a lock or an overloaded server is cancelled after
``DATABASE_STATEMENT_TIMEOUT``) or ``InterfaceError`` (a connection that broke). All mean "try
again shortly", not "the site is broken": the answer is 503 with Retry-After, not the 500 page. Nothing needs a
restart afterwards — Django's health check (``conn_health_checks``) replaces the broken connection at the next
request. Pages already in the shared cache keep being served from it meanwhile.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.cache import patch_cache_control

from directory.logs import AtMostEvery

logger = logging.getLogger(__name__)

# At most one log line per process in this many seconds while the database is down, not one per request.
LOG_EVERY = 60.0
_logged = AtMostEvery(LOG_EVERY)


def database_unavailable(exc: BaseException | None) -> bool:
    """Whether ``exc`` means the database could not answer now (as opposed to a bug in a query)."""
    return isinstance(exc, OperationalError | InterfaceError)


def _log(exc: BaseException) -> None:
    if not _logged.due():
        return
    # The exception's class and first line (e.g. "connection refused"), no request detail.
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    logger.error("database unavailable, answering 503: %s: %s", type(exc).__name__, first_line)


def unavailable_response(request: HttpRequest, exc: BaseException) -> HttpResponse:
    """The 503 answer: the API's JSON with CORS, or the page in the visitor's language; never cached."""
    _log(exc)
    retry = settings.DATABASE_UNAVAILABLE_RETRY_SECONDS
    response: HttpResponse
    if request.path.startswith("/api/"):
        response = JsonResponse({"error": f"the database is unavailable; retry in {retry} s"}, status=503)
        # The API's clients are web pages on other origins: without CORS they could not read this answer.
        response["Access-Control-Allow-Origin"] = "*"
        response["Access-Control-Expose-Headers"] = "Retry-After"
    else:
        response = render(request, "public/unavailable.html", status=503)
    response["Retry-After"] = str(retry)
    patch_cache_control(response, no_store=True)
    return response


class DatabaseUnavailableMiddleware:
    """Turns a view's OperationalError/InterfaceError into the 503 answer (other exceptions pass on).

    Install it first: the replica middleware below it answers a failed replica read from the primary before
    this one gives up. Exceptions outside views reach ``public.views.server_error``, which asks the same question.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not database_unavailable(exception):
            return None
        return unavailable_response(request, exception)
