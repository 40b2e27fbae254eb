"""The shared cache (Redis): a backend that fails open, and the page cache with its catalogue version.

Every worker on every machine talks to the same Redis (``REDIS_URL``), so a count or a cached page is one
for the whole site. Redis is a help, never a condition: when it cannot be reached, reads miss, writes are
dropped, counts answer ``None`` (the throttles decide what that means, directory/throttle.py), one log line
a minute says so, and for a few seconds the process does not even try (no timeout paid on every request).
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache as default_cache
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.http import HttpRequest
from django.http.response import HttpResponseBase

from directory.logs import AtMostEvery

logger = logging.getLogger(__name__)

# After a failure the process leaves Redis alone this long (seconds), then tries again.
RETRY_AFTER_FAILURE = 5.0
# At most one log line per this many seconds about an unreachable cache, per process.
LOG_EVERY = 60.0

_T = TypeVar("_T")
_Response = TypeVar("_Response", bound=HttpResponseBase)
_unavailable_logged = AtMostEvery(LOG_EVERY)


def _log_unavailable(exc: Exception) -> None:
    if not _unavailable_logged.due():
        return
    logger.warning("shared cache unavailable, answering without it: %s", exc)


class SharedRedisCache(RedisCache):
    """Django's Redis cache that fails open, with an atomic counter and a clear() of its own keys only."""

    _down_until = 0.0

    def _guard(self, operation: Callable[[], _T], default: _T) -> _T:
        if time.monotonic() < self._down_until:
            return default
        try:
            return operation()
        except (self._lib.RedisError, OSError) as exc:
            self._down_until = time.monotonic() + RETRY_AFTER_FAILURE
            _log_unavailable(exc)
            return default

    @property
    def _client(self) -> Any:
        """Django's Redis client wrapper (the stubs do not declare it)."""
        return self._cache  # type: ignore[attr-defined]

    @property
    def _lib(self) -> Any:
        import redis

        return redis

    def available(self) -> bool:
        """Whether Redis answers now (asks it, also while the process is leaving it alone)."""
        try:
            return bool(self._client.get_client(write=True).ping())
        except (self._lib.RedisError, OSError) as exc:
            _log_unavailable(exc)
            return False

    def count(self, key: str, timeout: int) -> tuple[int, int] | None:
        """Add one to the counter ``key`` (made with expiry ``timeout`` seconds if new), atomically.

        Returns the count and the seconds until it expires, or None when the cache is unavailable.
        """
        made = self.make_and_validate_key(key)

        def run() -> tuple[int, int] | None:
            pipe = self._client.get_client(made, write=True).pipeline(transaction=True)
            pipe.set(made, 0, ex=timeout, nx=True)
            pipe.incr(made)
            pipe.ttl(made)
            _, hits, ttl = pipe.execute()
            return int(hits), max(int(ttl), 0)

        return self._guard(run, None)

    def peek(self, key: str) -> tuple[int, int] | None:
        """The counter ``key`` (0 when there is none) and the seconds until it expires, or None when the cache
        is unavailable."""
        made = self.make_and_validate_key(key)

        def run() -> tuple[int, int]:
            pipe = self._client.get_client(made).pipeline(transaction=False)
            pipe.get(made)
            pipe.ttl(made)
            value, ttl = pipe.execute()
            return int(value or 0), max(int(ttl), 0)

        return self._guard(run, None)

    def add(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None) -> bool:
        return self._guard(lambda: super(SharedRedisCache, self).add(key, value, timeout, version), False)

    def get(self, key: Any, default: Any = None, version: Any = None) -> Any:
        return self._guard(lambda: super(SharedRedisCache, self).get(key, default, version), default)

    def set(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None) -> None:
        self._guard(lambda: super(SharedRedisCache, self).set(key, value, timeout, version), None)

    def touch(self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None) -> bool:
        return self._guard(lambda: super(SharedRedisCache, self).touch(key, timeout, version), False)

    def delete(self, key: Any, version: Any = None) -> bool:
        return self._guard(lambda: super(SharedRedisCache, self).delete(key, version), False)

    def get_many(self, keys: Any, version: Any = None) -> dict[Any, Any]:
        return self._guard(lambda: super(SharedRedisCache, self).get_many(keys, version), {})

    def has_key(self, key: Any, version: Any = None) -> bool:
        return self._guard(lambda: super(SharedRedisCache, self).has_key(key, version), False)

    def incr(self, key: Any, delta: int = 1, version: Any = None) -> int:
        # A missing key raises ValueError as Django's API wants; an unreachable cache counts as missing.
        result = self._guard(lambda: super(SharedRedisCache, self).incr(key, delta, version), None)
        if result is None:
            raise ValueError(f"Key {key!r} not found (or the cache is unavailable).")
        return result

    def set_many(self, data: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None) -> list[Any]:
        return self._guard(lambda: super(SharedRedisCache, self).set_many(data, timeout, version), list(data))

    def delete_many(self, keys: Any, version: Any = None) -> None:
        self._guard(lambda: super(SharedRedisCache, self).delete_many(keys, version), None)

    def clear(self) -> None:
        """Delete this site's keys (its KEY_PREFIX) only: never FLUSHDB a database others may share."""

        def run() -> None:
            client = self._client.get_client(write=True)
            keys = list(client.scan_iter(match=f"{self.key_prefix}:*", count=1000))
            for start in range(0, len(keys), 1000):
                client.delete(*keys[start : start + 1000])

        self._guard(run, None)


def cache_available() -> bool:
    """For /healthz: whether the shared cache answers (a per-process cache always does)."""
    check = getattr(default_cache, "available", None)
    return bool(check()) if check is not None else True


# --- The page cache -------------------------------------------------------------------------------------

# Bumped whenever a catalogue record changes; a cached page of an older version is not served.
VERSION_KEY = "catalogue-version"
# The version key outlives any page (which lives PUBLIC_CACHE_SECONDS); when it is gone, a new one starts.
VERSION_TIMEOUT = 7 * 24 * 3600


def catalogue_changed() -> None:
    """Make every cached page and API answer stale (after any write to the catalogue; see directory.apps)."""
    default_cache.set(VERSION_KEY, time.time_ns(), VERSION_TIMEOUT)


def catalogue_changed_on_commit() -> None:
    """Bump the version when the current transaction commits, once per transaction however many records change.

    On commit, not before: a page rendered from the old rows in between would otherwise be cached as new.
    """
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        catalogue_changed()
        return
    if any(isinstance(callback, _Bump) and not callback.done for _, callback, _ in connection.run_on_commit):
        return
    transaction.on_commit(_Bump())


class _Bump:
    """One pending bump of the version (the transaction's list keeps it until commit or rollback)."""

    done = False

    def __call__(self) -> None:
        self.done = True
        catalogue_changed()


def shareable(request: HttpRequest) -> bool:
    """Whether this request's answer may come from (and go to) the shared page cache: an anonymous GET or HEAD.

    A session cookie means a signed-in user (their list button, a CSRF token); a language cookie changes
    the language of answers that do not name one in the URL.
    """
    if request.method not in ("GET", "HEAD"):
        return False
    return settings.SESSION_COOKIE_NAME not in request.COOKIES and settings.LANGUAGE_COOKIE_NAME not in request.COOKIES


# Models of the apps whose records pages show (the core's own are known without this): see shown_on_pages.
_shown_elsewhere: set[type[Any]] = set()


def shown_on_pages(*models: type[Any]) -> None:
    """Declare an app's models whose records pages or answers show (an app calls this in its ready())."""
    _shown_elsewhere.update(models)


def _record_changed(sender: type[Any], instance: Any, **kwargs: Any) -> None:
    from directory.models import geography
    from directory.models.provenance import Record, Source

    # The instance, not the sender: for a many-to-many change the sender is the through table.
    model = type(instance)
    shown = issubclass(model, Record) or model is Source or model.__module__ == geography.__name__
    if shown or model in _shown_elsewhere:
        catalogue_changed_on_commit()


def connect_signals() -> None:
    """The one place that makes cached pages stale: any save or delete of a record a page or answer shows.

    Writes in bulk (QuerySet.update, bulk_create, raw SQL) pass by the signals; their callers call
    catalogue_changed() or catalogue_changed_on_commit().
    """
    for name, signal in (("save", post_save), ("delete", post_delete), ("m2m", m2m_changed)):
        signal.connect(_record_changed, dispatch_uid=f"directory.cache.record_changed.{name}")


class _Kept:
    """What the shared cache holds under one key for the current catalogue version (``found``: whether it does)."""

    def __init__(self, key: str) -> None:
        self.key = key
        stored = default_cache.get_many([VERSION_KEY, key])
        self.version = stored.get(VERSION_KEY)
        entry = stored.get(key)
        self.found = False
        self.value: object = None
        if self.version is not None and isinstance(entry, tuple) and entry[0] == self.version:
            self.found, self.value = True, entry[1]

    def keep(self, value: object, timeout: int) -> None:
        """Store ``value`` for this version (starting a version if there is none yet)."""
        if self.version is None:
            self.version = time.time_ns()
            if not default_cache.add(VERSION_KEY, self.version, VERSION_TIMEOUT):
                return  # another process started a version meanwhile (or no cache): next time
        default_cache.set(self.key, (self.version, value), timeout)


# How often a process waiting for another's value looks whether it is there (seconds).
POLL_SECONDS = 0.05


def while_unchanged(key: str, compute: Callable[[], _T], *, timeout: int = 3600, wait_for_others: float = 0) -> _T:
    """``compute()``'s value, kept in the shared cache until the catalogue changes (or ``timeout`` seconds).

    For figures derived from many rows that many pages share, e.g. how many services of an area state each
    fact: computed once per catalogue version instead of on every request. Without a cache, computed each time.

    ``wait_for_others`` (seconds) is for values that cost much to compute (a PDF): while one process, on any
    machine, computes a missing value, the others that want it wait for it instead of computing it too. The
    first takes a lock (``cache.add``, which one caller of all wins) that lives that long; the others poll for
    the value, and compute it themselves only when it has not come by then (its process died or hangs) or when
    the cache cannot be reached — so the wait is bounded and never worse than computing.
    """
    kept = _Kept(f"derived:{hashlib.sha256(key.encode()).hexdigest()}")
    if kept.found:
        found: _T = kept.value  # type: ignore[assignment]
        return found
    if wait_for_others <= 0:
        value = compute()
        kept.keep(value, timeout)
        return value
    lock = f"{kept.key}:computing"
    deadline = time.monotonic() + wait_for_others
    unheld = 0
    while not (owned := default_cache.add(lock, 1, timeout=math.ceil(wait_for_others))):
        if default_cache.get(lock) is None:
            # The holder just finished or failed — or the cache is unreachable, and add() said False for that:
            # look once more, then stop waiting for a lock no one holds.
            unheld += 1
            if unheld > 1:
                break
        else:
            time.sleep(POLL_SECONDS)
        kept = _Kept(kept.key)
        if kept.found:
            waited: _T = kept.value  # type: ignore[assignment]
            return waited
        if time.monotonic() >= deadline:
            break
    try:
        value = compute()
        kept.keep(value, timeout)
    finally:
        if owned:
            default_cache.delete(lock)
    return value


def _page_key(request: HttpRequest, vary: tuple[str, ...]) -> str:
    varying = "|".join(request.headers.get(name, "") for name in vary)
    address = f"{request.scheme}://{request.get_host()}{request.get_full_path()}|{varying}"
    # Hashed: a URL may be long and hold any character; the key stays short and valid.
    return f"page:{hashlib.sha256(address.encode()).hexdigest()}"


def cached_page(
    request: HttpRequest,
    view: Callable[[], _Response],
    *,
    timeout: int,
    vary: tuple[str, ...] = (),
) -> _Response:
    """The answer of ``view`` for this anonymous GET, from the shared cache when the catalogue is unchanged.

    Only whole 200 answers that set no cookie and are not private to one client (Cache-Control) are kept, never
    a streamed one; ``vary`` names request headers the answer depends on beyond its URL. The caller decides
    which requests may be shared at all (:func:`shareable`).
    """
    kept = _Kept(_page_key(request, vary))
    if kept.found:
        cached: _Response = kept.value  # type: ignore[assignment]
        return cached
    response = view()
    private = any(word in response.get("Cache-Control", "") for word in ("private", "no-store", "no-cache"))
    if response.status_code == 200 and not response.streaming and not response.cookies and not private and timeout > 0:
        kept.keep(response, timeout)
    return response
