"""Views of the public site and the operational endpoints."""

from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.utils.translation import get_language_from_request
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from directory.models import Gemeinde, Service


@require_safe
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness and database check for load balancers and monitoring."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT postgis_lib_version()")
            postgis = cursor.fetchone()[0]
        database = {
            "status": "ok",
            "postgis": postgis,
            "gemeinden": Gemeinde.objects.count(),
            "services": Service.objects.published().count(),
        }
    except DatabaseError as exc:
        return JsonResponse({"status": "error", "database": {"status": "error", "error": str(exc)}}, status=503)
    return JsonResponse({"status": "ok", "database": database})


@require_safe
def root(request: HttpRequest) -> HttpResponse:
    """Send the visitor to the start page in the language their browser asks for."""
    return redirect(f"/{get_language_from_request(request)}/")
