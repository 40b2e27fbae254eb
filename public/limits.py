"""Per-client limits of the costly public pages, counted in the shared cache across workers and machines.

The limits themselves are settings (SEARCH_RATE_LIMIT_PER_MINUTE, SLIP_PDF_RATE_LIMIT_PER_MINUTE); the client is
directory.services.client_address, hashed before it reaches the cache. Over the limit, the visitor gets a page in
their language that says how long to wait, with Retry-After for machines.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from directory import throttle
from directory.services import client_address, client_hash


def wait_for(request: HttpRequest, scope: str, limit: int) -> int | None:
    """Count this request against ``limit`` per minute in ``scope``: seconds to wait when over it, else None."""
    client = client_hash(client_address(request), purpose=f"public.limit.{scope}")
    return throttle.wait_for(scope, client, limit=limit)


def too_many_requests(request: HttpRequest, wait: int) -> HttpResponse:
    message = " ".join((_("You have asked very often in a short time."), throttle.try_again_in(wait)))
    context = {"status": 429, "message": _("Too many requests"), "detail": message}
    response = render(request, "public/error.html", context, status=429)
    response["Retry-After"] = str(wait)
    response["Cache-Control"] = "no-store"
    return response


def limited(scope: str, setting: str) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Refuse a client's requests beyond ``settings.<setting>`` a minute (read per request; 0: no limit).

    Outside the page cache on purpose: a client is limited by how often it asks, not by what it costs us.
    """

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if (wait := wait_for(request, scope, getattr(settings, setting))) is not None:
                return too_many_requests(request, wait)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
