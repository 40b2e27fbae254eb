"""The error handlers: JSON with CORS for the API (api.views), the site's pages for everything else.

Here, not in an app, because it chooses between two apps that do not import each other.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase

from api import views as api
from public import views as site


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponseBase:
    if _is_api(request):
        return api.error_handler(400, api.client_message(exception) or "the request was not understood")
    return site.bad_request(request, exception)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponseBase:
    if _is_api(request):
        return api.error_handler(404, "no such resource; see /api/hsds/ for the endpoints")
    return site.not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse | HttpResponseBase:
    if _is_api(request):
        return api.error_handler(500, "internal error; it has been logged")
    return site.server_error(request)
