"""Log lines that say nothing about a client (settings.LOGGING).

Django's request log names the path of every 4xx and 5xx answer ("Not Found: /ar/referral/"): a referral slip's
path tells a client's language, its query the services chosen for them. This filter keeps the status and drops
the path; an exception's traceback (a 500) stays, it names the code, not the visitor. Throttled (429) and
"database unavailable" (503) answers come in floods; the code that gives them logs them at most once a minute
(directory/throttle.py, public/unavailable.py), so the request log drops them.
"""

from __future__ import annotations

import logging
import threading
import time
from http import HTTPStatus

# Logged elsewhere, at most once a minute.
LOGGED_ELSEWHERE = frozenset({HTTPStatus.TOO_MANY_REQUESTS, HTTPStatus.SERVICE_UNAVAILABLE})


class RequestLogFilter(logging.Filter):
    """For ``django.request``: the status without path or query; no line for 429 and 503."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if status is None:
            return True
        if status in LOGGED_ELSEWHERE:
            return False
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = "HTTP"
        record.msg = "%s (%s; path not logged)"
        record.args = (reason, status)
        # Handlers that format the request (e.g. AdminEmailHandler) would put the path and query back.
        record.request = None
        return True


class AtMostEvery:
    """A per-process gate for floods of one log line (an unreachable cache, a lost database): ``due()`` is true
    at the first call and then at most once every ``seconds``, whichever thread asks."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._lock = threading.Lock()
        self._last = 0.0

    def due(self) -> bool:
        with self._lock:
            now = time.monotonic()
            if self._last and now - self._last < self.seconds:
                return False
            self._last = now
            return True
