"""The HSDS 3.0 API at /api/hsds/ with the Wegweiser NRW profile (docs/api.md, api/openapi.py).

Function views that read their query parameters explicitly (a bad value is a 400 naming the parameter),
build the query, and hand the records to directory/hsds.py. :func:`api_view` gives every view the same
etiquette: no key, CORS for any origin, a per-client rate limit, ETag/Last-Modified with 304 answers,
and JSON errors.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

from django.apps import apps
from django.conf import settings
from django.contrib.gis.geos import Point
from django.db import InterfaceError, OperationalError
from django.db.models import (
    CharField,
    Count,
    F,
    IntegerField,
    Lookup,
    Max,
    Model,
    Q,
    QuerySet,
    Subquery,
    Value,
    Window,
)
from django.db.models.functions import Mod, RowNumber
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.middleware.http import ConditionalGetMiddleware
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.http import http_date

from directory import hsds, throttle
from directory.cache import cached_page, shareable, while_unchanged
from directory.filters import MAX_AGE, ServiceFilters, unknown_terms, yes_no
from directory.middleware import RejectedInput
from directory.models import (
    AGS_ANY_LEVEL,
    ISO_639,
    TERM_FILTERS,
    Gemeinde,
    GeographyDistance,
    JobcenterForm,
    Kreis,
    Organization,
    Record,
    Regierungsbezirk,
    Service,
    ServiceAtLocation,
    ServiceQuerySet,
    Taxonomy,
    TaxonomyTerm,
    record_by_id,
)
from directory.places import resolve_place
from directory.services import client_address, client_hash
from directory.translation import FALLBACK_LANGUAGE, LANGUAGE_CODES
from directory.validation import whole_number

DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 100
MAX_PAGE = 100_000
MAX_SEARCH_LENGTH = 200
MAX_RADIUS_METRES = 500_000
NDJSON_CHUNK = 200
PROFILE_PATH = Path(settings.BASE_DIR) / "docs" / "api.md"
NDJSON = "application/x-ndjson"
# Salts the rate limit's hash of a client address (directory.services.client_hash).
RATE_LIMIT_PURPOSE = "api.rate_limit"
RATE_LIMIT_THROTTLE = "hsds"
COMPACT: dict[str, Any] = {"separators": (",", ":"), "ensure_ascii": False}
# A "+" left unencoded before a UTC offset arrives as a space: "2025-01-31T12:00:00 01:00".
_UNENCODED_PLUS = re.compile(r"([0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?) ([0-9]{2}(?::?[0-9]{2})?)$")

logger = logging.getLogger("django.request")

_M = TypeVar("_M", bound=Model)
_R = TypeVar("_R", bound=HttpResponseBase)


class ApiError(Exception):
    status = 400

    def __init__(self, message: str, parameter: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.parameter = parameter


class BadParameter(ApiError):
    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(f"{parameter}: {message}", parameter)


class NotFound(ApiError):
    status = 404


def error_response(
    status: int, message: str, parameter: str | None = None, *, retry_after: int | None = None
) -> JsonResponse:
    body: dict[str, str | int] = {"error": message}
    if parameter:
        body["parameter"] = parameter
    if retry_after is not None:
        # The same number as the Retry-After header, for clients that read only the body.
        body["retry_after"] = retry_after
    return JsonResponse(body, status=status, json_dumps_params=COMPACT)


def client_message(exception: Exception | None) -> str | None:
    """The message of a refusal meant for the client (directory.middleware.RejectedInput), else None."""
    return str(exception) if isinstance(exception, RejectedInput) else None


def error_handler(status: int, message: str) -> JsonResponse:
    """An error answered outside :func:`api_view` (config/errors.py: a NUL byte, an unknown path, a 500): the
    same JSON body and CORS headers, so that a browser client can read why."""
    response = error_response(status, message)
    response["Cache-Control"] = "no-store"
    for header, value in CORS_HEADERS.items():
        response[header] = value
    return response


# --- Etiquette: CORS, rate limit, caching --------------------------------------------------------------------


def clock() -> float:
    """Seconds since the epoch (a function so that tests can stop the clock)."""
    return time.time()


def rate_limit_wait(request: HttpRequest) -> int | None:
    """Seconds the client must wait, or None if this request is within its limit.

    A fixed one-minute window per client address, counted in the shared cache (directory/throttle.py):
    one limit for all workers and machines. The address is hashed, so no client address is kept in the
    cache. While the cache is unavailable the API answers without a limit (it fails open).
    """
    limit: int = getattr(settings, "HSDS_RATE_LIMIT_PER_MINUTE", 600)
    client = client_hash(client_address(request), purpose=RATE_LIMIT_PURPOSE)
    return throttle.wait_for(RATE_LIMIT_THROTTLE, client, limit=limit, now=clock())


CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": "ETag, Last-Modified, Retry-After, Content-Language",
}
ALLOWED_METHODS = "GET, HEAD, OPTIONS"


def preflight(request: HttpRequest) -> HttpResponseBase:
    response = HttpResponse(status=204)
    response["Allow"] = ALLOWED_METHODS
    response["Access-Control-Allow-Methods"] = ALLOWED_METHODS
    response["Access-Control-Allow-Headers"] = request.headers.get(
        "Access-Control-Request-Headers", "Accept, Accept-Language, If-None-Match, If-Modified-Since"
    )
    response["Access-Control-Max-Age"] = "86400"
    return response


def api_view(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """GET and HEAD for anyone: CORS, OPTIONS preflight, rate limit, JSON errors, public caching.

    ETags and 304 answers are ConditionalGetMiddleware's, run here on the view's answer rather than
    in the middleware stack, so that a 304 carries CORS and Content-Language like the answer it stands for.
    A view that sets its own Cache-Control (a longer lifetime) keeps it.
    """
    conditional_get = ConditionalGetMiddleware(view)

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.method == "OPTIONS":
            response = preflight(request)
        elif request.method not in ("GET", "HEAD"):
            response = error_response(405, f"method {request.method} not allowed; this API is read-only")
            response["Allow"] = ALLOWED_METHODS
        elif (wait := rate_limit_wait(request)) is not None:
            limit = getattr(settings, "HSDS_RATE_LIMIT_PER_MINUTE", 600)
            response = error_response(
                429, f"rate limit of {limit} requests per minute exceeded; retry in {wait} s", retry_after=wait
            )
            response["Retry-After"] = str(wait)
            response["Cache-Control"] = "no-store"
        else:
            try:
                if shareable(request):
                    # The same answer for every anonymous client, from the shared cache while the catalogue
                    # is unchanged; it depends on Accept-Language besides the URL.
                    seconds = getattr(settings, "PUBLIC_CACHE_SECONDS", 300)
                    answer = cached_page(
                        request, lambda: view(request, *args, **kwargs), timeout=seconds, vary=("Accept-Language",)
                    )
                else:
                    answer = view(request, *args, **kwargs)
            except ApiError as exc:
                answer = error_response(exc.status, exc.message, exc.parameter)
            except (OperationalError, InterfaceError):
                # Not a fault of ours but the database out of reach: the site's DatabaseUnavailableMiddleware
                # answers it with a 503 and Retry-After (JSON with CORS here), as for every page.
                raise
            except Exception:
                # A fault of ours: logged with its traceback as Django logs any 500, and answered in JSON with
                # CORS like every other answer of the API.
                logger.exception("Internal Server Error: %s", request.path)
                answer = error_response(500, "internal error; it has been logged")
            response = conditional_get.process_response(request, answer)
            if response is not answer and "Content-Language" in answer:
                response["Content-Language"] = answer["Content-Language"]
            if response.status_code in (200, 304, 404):
                seconds = getattr(settings, "PUBLIC_CACHE_SECONDS", 300)
                response.setdefault("Cache-Control", f"public, max-age={seconds}")
        for header, value in CORS_HEADERS.items():
            response[header] = value
        return response

    return wrapper


def last_modified_header(response: _R, last_modified: datetime | None) -> _R:
    """``response`` with Last-Modified (whole seconds), which the conditional GET compares If-Modified-Since to."""
    if last_modified is not None:
        response["Last-Modified"] = http_date(int(last_modified.timestamp()))
    return response


def json_response(payload: Any, ctx: hsds.Context | None = None) -> HttpResponse:
    """JSON with Last-Modified (the newest record in it); its ETag is the conditional GET's (a hash of the body)."""
    response = HttpResponse(json.dumps(payload, **COMPACT).encode(), content_type="application/json")
    if ctx is None:
        return response
    response["Content-Language"] = ctx.language
    return last_modified_header(response, ctx.last_modified)


def record_models() -> list[type[Record]]:
    return [model for model in apps.get_app_config("directory").get_models() if issubclass(model, Record)]


def catalogue_state() -> tuple[str, datetime | None]:
    """A fingerprint of the whole catalogue (rows and newest change per table) and its newest change.

    One query. Every save bumps a table's newest ``updated_at`` and every insert or delete its row
    count, so it can validate a streamed answer whose records are not known before it is sent.
    """
    queries = [
        model._default_manager.order_by()
        .values(record_table=Value(model._meta.label, output_field=CharField()))
        .annotate(record_rows=Count("pk"), record_latest=Max("updated_at"))
        .values_list("record_table", "record_rows", "record_latest")
        for model in record_models()
    ]
    rows = sorted(queries[0].union(*queries[1:], all=True), key=lambda row: row[0])
    latest = max((row[2] for row in rows if row[2] is not None), default=None)
    return repr(rows), latest


def ndjson_response(
    request: HttpRequest, queryset: QuerySet[_M], serialise: Callable[[_M, hsds.Context], hsds.JSON], ctx: hsds.Context
) -> HttpResponseBase:
    """Every result, one JSON object per line, streamed without pagination.

    A streamed body cannot be hashed before it is sent, so its ETag is made here, weak, from the
    whole catalogue's state and the request; the conditional GET answers 304 by it as by any other.
    """
    state, latest = catalogue_state()
    digest = hashlib.sha256(f"{state}|{request.get_full_path()}".encode()).hexdigest()[:40]

    def lines() -> Iterator[bytes]:
        for record in queryset.iterator(chunk_size=NDJSON_CHUNK):
            yield json.dumps(serialise(record, ctx), **COMPACT).encode() + b"\n"

    response = StreamingHttpResponse(lines(), content_type=NDJSON)
    response["ETag"] = f'W/"{digest}"'
    response["Content-Language"] = ctx.language
    return last_modified_header(response, latest)


# --- Reading the query parameters ----------------------------------------------------------------------------


def parse_uuid(raw: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw.strip())
    except ValueError:
        return None


class Params:
    """The request's query parameters, each read and checked when a view asks for it."""

    def __init__(self, request: HttpRequest) -> None:
        self.query = request.GET

    def raw(self, name: str) -> str:
        return self.query.get(name, "").strip()

    def language(self) -> str:
        code = self.raw("lang") or FALLBACK_LANGUAGE
        if code not in LANGUAGE_CODES:
            raise BadParameter("lang", f"must be one of {', '.join(LANGUAGE_CODES)}")
        return code

    def context(self) -> hsds.Context:
        return hsds.Context(language=self.language())

    def integer(self, name: str, low: int, high: int, default: int | None = None) -> int | None:
        raw = self.raw(name)
        if not raw:
            return default
        value = whole_number(raw, low, high)
        if value is None:
            raise BadParameter(name, f"must be a whole number from {low} to {high}")
        return value

    def page(self) -> tuple[int, int]:
        page = self.integer("page", 1, MAX_PAGE, 1)
        per_page = self.integer("per_page", 1, MAX_PER_PAGE, DEFAULT_PER_PAGE)
        assert page is not None and per_page is not None
        return page, per_page

    def boolean(self, name: str) -> bool:
        answer = yes_no(self.raw(name))
        if answer is None:
            raise BadParameter(name, "must be true or false")
        return answer

    def uuid(self, name: str) -> uuid.UUID | None:
        raw = self.raw(name)
        if not raw:
            return None
        value = parse_uuid(raw)
        if value is None:
            raise BadParameter(name, "must be a UUID")
        return value

    def search(self) -> str:
        text = " ".join(self.raw("search").split())
        if len(text) > MAX_SEARCH_LENGTH:
            raise BadParameter("search", f"must be at most {MAX_SEARCH_LENGTH} characters")
        return text

    def modified_after(self) -> datetime | None:
        raw = self.raw("modified_after")
        if not raw:
            return None
        try:
            moment = parse_datetime(_UNENCODED_PLUS.sub(r"\1+\2", raw))
            day = parse_date(raw) if moment is None else None
        except ValueError:
            moment = day = None
        if moment is None and day is not None:
            moment = datetime(day.year, day.month, day.day)
        if moment is None:
            raise BadParameter("modified_after", "must be an ISO 8601 date-time, e.g. 2025-01-31T12:00:00+01:00")
        if timezone.is_naive(moment):  # local time, as everything on this site
            moment = timezone.make_aware(moment, timezone.get_default_timezone())
        return moment

    def format(self) -> str:
        value = self.raw("format").lower() or "json"
        if value not in ("json", "ndjson"):
            raise BadParameter("format", "must be json or ndjson")
        return value

    def coordinate(self, name: str, limit: int) -> float | None:
        raw = self.raw(name)
        if not raw:
            return None
        try:
            value = float(raw)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or not -limit <= value <= limit:
            raise BadParameter(name, f"must be a number from -{limit} to {limit} (degrees, WGS 84)")
        return value

    def terms(self) -> dict[str, str]:
        """The profile's term filters (eligibility, target_group, need), each code checked: one query."""
        given = {name: self.raw(name) for name in TERM_FILTERS if self.raw(name)}
        for name in unknown_terms(given):
            raise BadParameter(name, f"unknown {TERM_FILTERS[name]} code {given[name]!r}")
        return given

    def spoken_language(self) -> str | None:
        """``language``: a language the service is offered in (not ``lang``, the language of the answer)."""
        code = self.raw("language").lower()
        if code and not re.fullmatch(ISO_639, code):
            raise BadParameter("language", "must be an ISO 639 language code, e.g. ar")
        return code or None

    def jobcenter_form(self) -> str | None:
        form = self.raw("jobcenter_form")
        if form and form not in JobcenterForm.values:
            raise BadParameter("jobcenter_form", f"unknown form {form!r} (use {', '.join(JobcenterForm.values)})")
        return form or None

    def filters(self) -> ServiceFilters:
        """The filters the API shares with the site's search form, with the same meaning."""
        jobcenter_form = self.jobcenter_form()
        return ServiceFilters(
            **self.terms(),
            language=self.spoken_language(),
            age=self.integer("age", 0, MAX_AGE),
            free=self.boolean("free"),
            walk_in=self.boolean("walk_in"),
            barrier_free=self.boolean("barrier_free"),
            jobcenter_form=jobcenter_form,
        )

    def ags(self) -> str | None:
        code = self.raw("ags")
        if not code:
            return None
        if not re.fullmatch(AGS_ANY_LEVEL, code) or not code.startswith("05"):
            raise BadParameter("ags", "must be an AGS of North Rhine-Westphalia: 05, 3, 5 or 8 digits")
        level: type[Model] | None = {8: Gemeinde, 5: Kreis, 3: Regierungsbezirk}.get(len(code))
        if level is not None and not level._default_manager.filter(pk=code).exists():
            raise BadParameter("ags", f"unknown AGS {code}")
        return code


@dataclass(frozen=True)
class Place:
    """Where the client asked about: a point to measure from, a radius, and the Gemeinden of a postcode."""

    point: Point | None = None
    radius: int | None = None
    gemeinden: tuple[str, ...] = ()


def read_place(params: Params) -> Place:
    """``lat``/``lon`` (profile) or ``postcode`` (HSDS); ``radius`` (profile) or ``proximity`` (HSDS) in metres."""
    lat, lon = params.coordinate("lat", 90), params.coordinate("lon", 180)
    if (lat is None) != (lon is None):
        raise BadParameter("lon" if lon is None else "lat", "lat and lon must be given together")
    radius = params.integer("radius", 1, MAX_RADIUS_METRES)
    proximity = params.integer("proximity", 1, MAX_RADIUS_METRES)
    if radius is not None and proximity is not None:
        raise BadParameter("proximity", "give either radius or proximity, not both")
    distance = radius if radius is not None else proximity
    postcode = params.raw("postcode")
    gemeinden: tuple[str, ...] = ()
    point = Point(lon, lat, srid=4326) if lat is not None and lon is not None else None
    if postcode:
        place = resolve_place(plz=postcode)
        if place.error is not None:
            raise BadParameter("postcode", str(place.error.label))
        gemeinden = tuple(g.ags for g in place.choices) if place.is_ambiguous else (str(place.ags),)
        point = point or place.point
    if distance is not None and point is None:
        name = "radius" if radius is not None else "proximity"
        raise BadParameter(name, "needs a point to measure from: lat and lon, or postcode")
    return Place(point=point, radius=distance, gemeinden=gemeinden)


def filtered_services(params: Params, place: Place) -> ServiceQuerySet:
    """The services /services and /service_at_locations choose from: every filter the request gives."""
    services = Service.objects.all()
    text = params.search()
    if text:
        services = services.filter(pk__in=Service.objects.matching(text).values("pk"))
    term_id = params.uuid("taxonomy_term_id")
    if term_id is not None:
        services = services.with_term_id(term_id)
    taxonomy_id = params.uuid("taxonomy_id")
    if taxonomy_id is not None:
        services = services.in_taxonomy(taxonomy_id)
    organization_id = params.uuid("organization_id")
    if organization_id is not None:
        services = services.filter(organization_id=organization_id)
    services = params.filters().apply(services)
    ags = params.ags()
    if ags is not None:
        services = services.responsible_for(ags)
    if place.gemeinden:
        services = services.responsible_for_any(place.gemeinden)
    return services


# --- Pages ---------------------------------------------------------------------------------------------------


class AnyOf(Lookup):
    """``lhs = ANY(ARRAY(subquery))``: the subquery runs once and the outer query looks its rows up by index
    (``IN (subquery)`` with a LIMIT lets the planner join the whole table before it narrows it)."""

    lookup_name = "any_of"

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = compiler.compile(self.rhs)
        return f"{lhs} = ANY(ARRAY{rhs})", [*lhs_params, *rhs_params]


@dataclass(frozen=True)
class Nearest:
    """Services nearest ``point`` first (within ``radius`` metres), then, without a radius, those with no
    physical place by id: a page is found by a walk of the nearest places (ServiceQuerySet.nearest_page)."""

    services: ServiceQuerySet
    point: Point
    radius: int | None

    def count(self) -> int:
        return self._counts()["total"]

    def _counts(self) -> dict[str, int]:
        """How many there are and how many have a physical place: counted once per catalogue version."""
        if self.radius is None:
            located = Q(pk__in=self.services.placed_physically().values("pk"))
            counts = {"total": Count("pk"), "located": Count("pk", filter=located)}
            found: dict[str, int] = while_unchanged(
                f"api-counts|{self.services.query}", lambda: self.services.aggregate(**counts)
            )
            return found
        within = self.services.placed_physically(self.point, self.radius)
        total = while_unchanged(f"api-count|{within.query}", within.count)
        return {"total": total, "located": total}

    def page(self, start: int, size: int) -> list[tuple[uuid.UUID, float | None]]:
        """The ids of the services ranked ``start`` … ``start + size``, each with its distance in metres."""
        located = None if self.radius is not None else self._counts()["located"]
        return self.services.nearest_page(self.point, offset=start, limit=size, radius=self.radius, located=located)


# In a list ordered by id, the id at every this many places is kept per catalogue version (:func:`page_of_ids`).
ANCHOR_EVERY = 1000


def page_of_ids(queryset: QuerySet[_M], start: int, size: int) -> QuerySet[_M, Any]:
    """The ids of ``queryset``'s records ``start`` … ``start + size``, as a query.

    Skipping ``start`` ids, even on the index, costs in proportion to ``start`` (50,000 ids for the middle page
    of 100,000 services). For a list ordered by id, the ids at every :data:`ANCHOR_EVERY`-th place are counted
    once per catalogue version (like the list's total), and a deeper page is read from the kept id at or
    before it: at most ``ANCHOR_EVERY`` ids skipped, the same records as counting from the start, since the
    kept ids belong to this version of the list.
    """
    ids = queryset.values("pk")
    if start < ANCHOR_EVERY or tuple(queryset.query.order_by) not in (("id",), ("pk",)):
        return ids[start : start + size]
    anchors = while_unchanged(f"api-anchors|{ANCHOR_EVERY}|{ids.query}", lambda: anchor_ids(ids))
    block, skip = divmod(start, ANCHOR_EVERY)
    if block >= len(anchors):  # past the end of the list
        return ids.none()
    return ids.filter(pk__gte=anchors[block])[skip : skip + size]


def anchor_ids(ids: QuerySet[Any, Any]) -> list[Any]:
    """The ids at places 0, ANCHOR_EVERY, 2 × ANCHOR_EVERY … of ``ids`` (ordered by id): one walk of the index
    (100,000 services: ~100 ms, once per catalogue version and list)."""
    place = Window(RowNumber(), order_by=F("pk").asc()) - 1
    kept = ids.annotate(in_block=Mod(place, ANCHOR_EVERY, output_field=IntegerField())).filter(in_block=0)
    return list(kept.values_list("pk", flat=True))


def listing(
    request: HttpRequest,
    params: Params,
    queryset: QuerySet[_M],
    serialise: Callable[[_M, hsds.Context], hsds.JSON],
    ctx: hsds.Context,
    *,
    nearest: Nearest | None = None,
) -> HttpResponseBase:
    """One page of results in the HSDS envelope, or (``format=ndjson``) all of them, one per line.

    With ``nearest``, the page's order and each record's ``distance_m`` are its; ``queryset`` gives the records.
    """
    if params.format() == "ndjson":
        return ndjson_response(request, queryset, serialise, ctx)
    page, per_page = params.page()
    start = (page - 1) * per_page
    if nearest is not None:
        total = nearest.count()
        ranked = nearest.page(start, per_page)
        by_id = {record.pk: record for record in queryset.filter(pk__in=[pk for pk, _ in ranked])}
        records = [by_id[pk] for pk, _ in ranked if pk in by_id]
        for record, (_, metres) in zip(records, ranked, strict=False):
            record.distance_m = metres  # type: ignore[attr-defined]
    else:
        # The same figure for every page of a list until the catalogue changes: counted once per version.
        total = while_unchanged(f"api-count|{queryset.query}", queryset.count)
        # The page's ids first (from an index, narrow rows), then only those records with what is joined to
        # them: skipping to a page over the whole list's wide, joined rows would grow with the page number.
        page_ids = Subquery(page_of_ids(queryset, start, per_page))
        records = list(queryset.filter(AnyOf(F("pk"), page_ids)))
    contents = [serialise(record, ctx) for record in records]
    total_pages = max(1, math.ceil(total / per_page))
    envelope = {
        "total_items": total,
        "total_pages": total_pages,
        "page_number": page,
        "size": len(contents),
        "first_page": page == 1,
        "last_page": page >= total_pages,
        "empty": not contents,
        "contents": contents,
    }
    return json_response(envelope, ctx)


def record_or_not_found(queryset: QuerySet[_M], kind: str, record_id: str) -> _M:
    """The record of ``queryset`` with this id, else :class:`NotFound` (a JSON 404 naming the id; malformed too)."""
    record = record_by_id(queryset, record_id.strip())
    if record is None:
        raise NotFound(f"no {kind} with id {record_id!r}")
    return record


def nearest_first(queryset: QuerySet[_M], radius: int | None) -> QuerySet[_M]:
    """``queryset``, annotated with ``distance_m``, within ``radius`` metres, nearest first (no location last).

    Ties (and the results without a location) are in id order, so that pages neither skip nor repeat.
    """
    if radius is not None:
        queryset = queryset.filter(distance_m__lte=radius)
    return queryset.order_by(F("distance_m").asc(nulls_last=True), "id")


# --- Views ---------------------------------------------------------------------------------------------------


@api_view
def root(request: HttpRequest) -> HttpResponseBase:
    return json_response(
        {
            "version": hsds.HSDS_VERSION,
            "profile": request.build_absolute_uri(reverse("hsds-profile")),
            "openapi_url": request.build_absolute_uri(reverse("hsds-openapi")),
            "title": "Wegweiser NRW",
            "languages": list(LANGUAGE_CODES),
            "default_language": FALLBACK_LANGUAGE,
            "timezone": hsds.TIMEZONE,
        },
    )


@api_view
def profile(request: HttpRequest) -> HttpResponseBase:
    """The German profile: docs/api.md, as Markdown."""
    return HttpResponse(PROFILE_PATH.read_bytes(), content_type="text/markdown; charset=utf-8")


@api_view
def services(request: HttpRequest) -> HttpResponseBase:
    params = Params(request)
    ctx = params.context()
    minimal, full = params.boolean("minimal"), params.boolean("full")
    if minimal and full:
        raise BadParameter("minimal", "minimal and full cannot be combined")
    place = read_place(params)
    services = filtered_services(params, place)
    modified_after = params.modified_after()
    if modified_after is not None:
        services = services.filter(
            Q(updated_at__gte=modified_after)
            | Q(organization__updated_at__gte=modified_after)
            | Q(program__updated_at__gte=modified_after)
        )
    nearest = None
    queryset: QuerySet[Service] = services
    if place.point is None:
        queryset = services.order_by("id")
    elif params.format() == "ndjson":  # every record streamed: measuring each is the least of it
        queryset = nearest_first(services.near(place.point), place.radius)
    else:
        nearest = Nearest(services, place.point, place.radius)
    if minimal:
        minimal_queryset = queryset.only("id", "name", "status", "updated_at")
        return listing(request, params, minimal_queryset, hsds.service_minimal, ctx, nearest=nearest)
    if full:
        return listing(request, params, hsds.service_full_queryset(queryset), hsds.service_full, ctx, nearest=nearest)
    return listing(request, params, hsds.service_list_queryset(queryset), hsds.service_list_item, ctx, nearest=nearest)


@api_view
def service(request: HttpRequest, service_id: str) -> HttpResponseBase:
    ctx = Params(request).context()
    record = record_or_not_found(hsds.service_full_queryset(Service.objects.all()), "service", service_id)
    return json_response(hsds.service_full(record, ctx), ctx)


def text_search(fields: list[str], text: str) -> Q:
    """Any of the translated ``fields`` contains ``text`` (ignoring case) in any language."""
    condition = Q()
    for name in fields:
        for code in LANGUAGE_CODES:
            condition |= Q(**{f"{name}__{code}__icontains": text})
    return condition


@api_view
def organizations(request: HttpRequest) -> HttpResponseBase:
    params = Params(request)
    ctx = params.context()
    full, full_service = params.boolean("full"), params.boolean("full_service")
    queryset = Organization.objects.order_by("id")
    text = params.search()
    if text:
        queryset = queryset.filter(text_search(["name", "description"], text) | Q(alternate_name__icontains=text))
    if not full:
        return listing(
            request, params, queryset.select_related("source", "contact_source"), hsds.organization_list_item, ctx
        )

    def serialise(record: Organization, ctx: hsds.Context) -> hsds.JSON:
        return hsds.organization_full(record, ctx, full_service=full_service)

    return listing(
        request, params, hsds.organization_full_queryset(queryset, full_service=full_service), serialise, ctx
    )


@api_view
def organization(request: HttpRequest, organization_id: str) -> HttpResponseBase:
    params = Params(request)
    ctx = params.context()
    full_service = params.boolean("full_service")
    queryset = hsds.organization_full_queryset(Organization.objects.all(), full_service=full_service)
    record = record_or_not_found(queryset, "organization", organization_id)
    return json_response(hsds.organization_full(record, ctx, full_service=full_service), ctx)


@api_view
def service_at_locations(request: HttpRequest) -> HttpResponseBase:
    params = Params(request)
    ctx = params.context()
    full = params.boolean("full")
    place = read_place(params)
    services = filtered_services(params, place)
    queryset = ServiceAtLocation.objects.all()
    if services.query.has_filters():
        queryset = queryset.filter(service__in=services.values("pk"))
    modified_after = params.modified_after()
    if modified_after is not None:
        queryset = queryset.filter(
            Q(updated_at__gte=modified_after)
            | Q(service__updated_at__gte=modified_after)
            | Q(location__updated_at__gte=modified_after)
        )
    if place.point is not None:
        queryset = nearest_first(
            queryset.annotate(distance_m=GeographyDistance("location__point", place.point)), place.radius
        )
    else:
        queryset = queryset.order_by("id")
    if full:
        return listing(
            request, params, hsds.service_at_location_full_queryset(queryset), hsds.service_at_location_full, ctx
        )
    return listing(
        request, params, hsds.service_at_location_list_queryset(queryset), hsds.service_at_location_list_item, ctx
    )


@api_view
def service_at_location(request: HttpRequest, service_at_location_id: str) -> HttpResponseBase:
    ctx = Params(request).context()
    queryset = hsds.service_at_location_full_queryset(ServiceAtLocation.objects.all())
    record = record_or_not_found(queryset, "service_at_location", service_at_location_id)
    return json_response(hsds.service_at_location_full(record, ctx), ctx)


@api_view
def taxonomies(request: HttpRequest) -> HttpResponseBase:
    params = Params(request)
    ctx = params.context()
    queryset = Taxonomy.objects.order_by("id")
    text = params.search()
    if text:
        queryset = queryset.filter(text_search(["name", "description"], text) | Q(key__icontains=text))
    return listing(request, params, queryset, hsds.taxonomy, ctx)


@api_view
def taxonomy(request: HttpRequest, taxonomy_id: str) -> HttpResponseBase:
    ctx = Params(request).context()
    record = record_or_not_found(Taxonomy.objects.all(), "taxonomy", taxonomy_id)
    return json_response(hsds.taxonomy(record, ctx), ctx)


@api_view
def taxonomy_terms(request: HttpRequest) -> HttpResponseBase:
    params = Params(request)
    ctx = params.context()
    queryset = TaxonomyTerm.objects.order_by("id")
    text = params.search()
    if text:
        queryset = queryset.filter(text_search(["name", "description"], text) | Q(code__icontains=text))
    taxonomy_id = params.uuid("taxonomy_id")
    if taxonomy_id is not None:
        queryset = queryset.filter(taxonomy_id=taxonomy_id)
    parent_id = params.uuid("parent_id")
    if parent_id is not None:
        queryset = queryset.filter(parent_id=parent_id)
    if params.boolean("top_only"):
        queryset = queryset.filter(parent__isnull=True)
    return listing(request, params, hsds.taxonomy_terms_queryset(queryset), hsds.taxonomy_term, ctx)


@api_view
def taxonomy_term(request: HttpRequest, taxonomy_term_id: str) -> HttpResponseBase:
    ctx = Params(request).context()
    record = record_or_not_found(
        hsds.taxonomy_terms_queryset(TaxonomyTerm.objects.all()), "taxonomy_term", taxonomy_term_id
    )
    return json_response(hsds.taxonomy_term(record, ctx), ctx)


@api_view
def not_found(request: HttpRequest, path: str = "") -> HttpResponseBase:
    raise NotFound(f"no such endpoint: {request.path}; see {reverse('hsds-openapi')}")
