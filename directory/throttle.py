"""Counting requests per client across all workers and machines: one counter per key in the shared cache.

A counter starts at the first hit and expires ``window`` seconds later (one atomic step in Redis: created
with its expiry, then incremented), so N workers on M machines share one limit. The identity is always a
salted hash (directory.services.client_hash), never an address. When the cache cannot be reached the
functions answer ``None``: the per-minute page and API limits then let requests through, while the report
throttle counts its database rows instead (it must not open up while Redis is down); sign-in is counted in the
database alone (editorial/auth.py).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

from django.core.cache import cache
from django.utils.translation import ngettext

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Hits:
    count: int
    # Seconds until the counter expires (0 when the cache could not tell).
    expires_in: int


def _key(scope: str, ident: str) -> str:
    return f"throttle:{scope}:{ident}"


def hit(scope: str, ident: str, *, window: int) -> Hits | None:
    """Count one hit of ``ident`` in ``scope``; the counter lives ``window`` seconds from its first hit."""
    key = _key(scope, ident)
    count = getattr(cache, "count", None)
    if count is not None:
        answer = count(key, window)
        return None if answer is None else Hits(*answer)
    # A per-process cache (a test or a development setting): add, then increment.
    cache.add(key, 0, timeout=window)
    try:
        return Hits(cache.incr(key), 0)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window)
        return Hits(1, 0)


def hits(scope: str, ident: str) -> Hits | None:
    """The current count of ``ident`` in ``scope`` (0 without one), or None when the cache is unavailable."""
    key = _key(scope, ident)
    peek = getattr(cache, "peek", None)
    if peek is not None:
        answer = peek(key)
        return None if answer is None else Hits(*answer)
    return Hits(int(cache.get(key, 0)), 0)


def forget(scope: str, ident: str) -> None:
    """Start the count of ``ident`` in ``scope`` afresh."""
    cache.delete(_key(scope, ident))


# One log line per throttled client and scope in this many seconds, however many requests it sends meanwhile.
THROTTLED_LOG_SECONDS = 60


def log_throttled(scope: str, ident: str) -> None:
    """Log that a client is being throttled in ``scope``: once a minute per client, not per refused request.

    The once-a-minute mark lives in the shared cache (``cache.add`` succeeds for one request of all workers); the
    line names the scope only — neither the client's address nor its hash. Without the cache no line is written
    here (the cache logs once a minute that it is unavailable).
    """
    if cache.add(_key(f"{scope}:logged", ident), 1, timeout=THROTTLED_LOG_SECONDS) is False:
        return
    logger.warning("throttled a client in %s (at most one line per client and minute)", scope)


def wait_for(scope: str, ident: str, *, limit: int, window: int = 60, now: float | None = None) -> int | None:
    """Count one request of ``ident``: the seconds it must wait when over ``limit`` per ``window``, else None.

    A fixed window (one counter per client and window, kept two windows long): one cheap INCR per request.
    ``limit`` 0 turns the limit off; without the cache the request passes (these limits fail open).
    """
    if limit <= 0:
        return None
    now = time.time() if now is None else now
    current = int(now // window)
    counted = hit(scope, f"{ident[:32]}:{current}", window=2 * window)
    if counted is None or counted.count <= limit:
        return None
    log_throttled(scope, ident[:32])
    return max(1, math.ceil((current + 1) * window - now))


# Up to this many seconds a wait is told in seconds ("45 seconds"), beyond it in whole minutes, rounded up.
SECONDS_TOLD_AS_SECONDS = 90


def try_again_in(seconds: int) -> str:
    """How long a throttled visitor waits, as the sentence every 429 page shows ("Please try again in 45 seconds.").

    The number is the answer's Retry-After (or that many seconds in whole minutes, rounded up), so a person reads
    what a machine is told; the plural follows the language's own rule (Arabic has six forms, Russian three).
    """
    seconds = max(1, seconds)
    if seconds <= SECONDS_TOLD_AS_SECONDS:
        return ngettext("Please try again in %(count)s second.", "Please try again in %(count)s seconds.", seconds) % {
            "count": seconds
        }
    minutes = math.ceil(seconds / 60)
    return ngettext("Please try again in %(count)s minute.", "Please try again in %(count)s minutes.", minutes) % {
        "count": minutes
    }
