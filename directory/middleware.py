"""Input no view can use, refused before any view reads it."""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import BadRequest
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.utils.translation import gettext

FORM_CONTENT_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class RejectedInput(BadRequest):
    """A request refused with a message for the client (the 400 handlers show it: config/errors.py)."""


def nul_parameter(request: HttpRequest) -> str | None:
    """The name of the first query or form parameter (name or value) or path that holds a NUL character."""
    if "\x00" in request.path_info:
        return "path"
    # Form fields only for the content types Django parses itself; a file's content is its reader's business.
    sources = [request.GET]
    if request.method == "POST" and request.content_type in FORM_CONTENT_TYPES:
        sources.append(request.POST)
    for query in sources:
        for name, values in query.lists():
            if "\x00" in name or any("\x00" in value for value in values):
                return name.replace("\x00", "\\0")
    return None


class RejectNulMiddleware:
    """A NUL character in the path or any GET/POST parameter is a clear 400, for every page and the API.

    PostgreSQL refuses NUL in text, so such a value would fail wherever a view hands it to a query; no visitor
    types one. The one place for this rule, instead of a check in each view.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        name = nul_parameter(request)
        if name is not None:
            raise RejectedInput(gettext("“%(name)s” contains a NUL character, which is not allowed.") % {"name": name})
        return self.get_response(request)
