"""The search form: read its parameters without trusting them, and build the one query for the results.

``/<lang>/search/?q=&need=&target_group=&eligibility=&language=&age=&free=1&walk_in=1&barrier_free=1&open_now=1&page=``
(the place — ``plz``, ``ags``, ``lat``/``lon`` — is read by :func:`directory.places.resolve_place`).
A bad value never fails the page: it is dropped, and the error for its field says why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.contrib.gis.geos import Point
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.http import QueryDict
from django.utils.translation import gettext as _

from directory.models import (
    ISO_639,
    SERVICE_ORDERING,
    Accessibility,
    AttendingType,
    CostOption,
    JobcenterForm,
    Language,
    Schedule,
    Service,
    TaxonomyTerm,
)
from directory.places import clean_text

MAX_QUERY_LENGTH = 200
MAX_PAGE = 10_000
MAX_AGE = 120
# The form field and the taxonomy whose term codes it takes.
TERM_FILTERS = {"need": "need", "target_group": "target-group", "eligibility": "residence-status"}
_TRUE = {"1", "true", "on", "yes"}
_FALSE = {"", "0", "false", "off", "no"}


@dataclass
class SearchParams:
    """What the visitor searched for, every value checked.

    ``open_now`` is not applied by :func:`search_services`: whether a service is open now depends on
    its hours, closures and the NRW public holidays, which ``directory.hours`` computes in Python —
    the view filters the page it shows.
    """

    q: str = ""
    need: str | None = None
    language: str | None = None
    open_now: bool = False
    free: bool = False
    walk_in: bool = False
    barrier_free: bool = False
    eligibility: str | None = None
    age: int | None = None
    page: int = 1
    target_group: str | None = None
    jobcenter_form: str | None = None

    @property
    def is_empty(self) -> bool:
        """Nothing to search for or filter by (the page is not a criterion)."""
        return self == SearchParams(page=self.page)


def _integer(raw: str, low: int, high: int) -> int | None:
    raw = raw.strip()
    if not re.fullmatch(r"[0-9]{1,6}", raw):
        return None
    value = int(raw)
    return value if low <= value <= high else None


def parse_search_params(query: QueryDict) -> tuple[SearchParams, dict[str, str]]:
    """The search parameters in ``query`` and, per field, why a value was dropped.

    Term codes (need, target_group, eligibility) are checked against the taxonomies: one query,
    only when such a code is given.
    """
    params = SearchParams()
    errors: dict[str, str] = {}

    q = clean_text(query.get("q", ""))
    if len(q) > MAX_QUERY_LENGTH:
        errors["q"] = _("Only the first %(n)d characters were searched for.") % {"n": MAX_QUERY_LENGTH}
        q = q[:MAX_QUERY_LENGTH].rstrip()
    params.q = q

    codes = {name: clean_text(query.get(name, ""))[:50] for name in TERM_FILTERS}
    given = {name: code for name, code in codes.items() if code}
    if given:
        known = set(
            TaxonomyTerm.objects.filter(taxonomy__key__in=TERM_FILTERS.values(), code__in=given.values()).values_list(
                "taxonomy__key", "code"
            )
        )
        for name, code in given.items():
            if (TERM_FILTERS[name], code) in known:
                setattr(params, name, code)
            else:
                errors[name] = _("Unknown category “%(code)s”: shown without this filter.") % {"code": code}

    form = clean_text(query.get("jobcenter_form", ""))[:50]
    if form:
        if form in JobcenterForm.values:
            params.jobcenter_form = form
        else:
            errors["jobcenter_form"] = _("Unknown category “%(code)s”: shown without this filter.") % {"code": form}

    language = clean_text(query.get("language", "")).lower()
    if language:
        if re.fullmatch(ISO_639, language):
            params.language = language
        else:
            errors["language"] = _("“%(code)s” is not a language code.") % {"code": language[:10]}

    for name in ("open_now", "free", "walk_in", "barrier_free"):
        raw = query.get(name, "").strip().lower()
        if raw in _TRUE:
            setattr(params, name, True)
        elif raw not in _FALSE:
            errors[name] = _("Not a yes/no value: shown without this filter.")

    age = query.get("age", "").strip()
    if age:
        params.age = _integer(age, 0, MAX_AGE)
        if params.age is None:
            errors["age"] = _("The age must be a whole number from 0 to %(max)d.") % {"max": MAX_AGE}

    page = query.get("page", "").strip()
    if page:
        number = _integer(page, 1, MAX_PAGE)
        if number is None:
            errors["page"] = _("There is no page %(page)s; showing the first page.") % {"page": clean_text(page)[:12]}
        params.page = number or 1
    return params, errors


def _at_service_places(model: type[Language] | type[Schedule] | type[Accessibility], **conditions: object) -> Q:
    """Rows of ``model`` that belong to one of the service's locations (via service_at_location)."""
    return Q(Exists(model.objects.filter(location__service_at_locations__service=OuterRef("pk"), **conditions)))


def search_services(params: SearchParams, *, point: Point | None) -> QuerySet[Service]:
    """Published services matching ``params``: nearest first when there is a point, else most relevant
    when there is a text, else by name. One SQL query (each filter is an EXISTS subquery).

    - ``language``: a Language row with that code on the service or on one of its locations.
    - ``free``: the service has a cost option with amount 0 (a "free" only written in ``fees_description``
      is not read: free text is no fact a filter can trust).
    - ``walk_in``: a walk-in schedule on the service, one of its locations or its service-at-locations.
    - ``barrier_free``: one of its locations has an accessibility record.
    - ``jobcenter_form``: a Jobcenter run that way (gemeinsame Einrichtung or zugelassener kommunaler Träger).
    - ``open_now`` is left to the view (see :class:`SearchParams`).
    """
    services = Service.objects.published()
    if params.q:
        services = services.matching(params.q)
    for name, taxonomy in TERM_FILTERS.items():
        code = getattr(params, name)
        if code and name == "eligibility":
            # A service that names no residence status is open to everyone (KI, Ausländerbehörde, …).
            services = services.eligible(code)
        elif code:
            services = services.with_term(taxonomy, code)
    if params.age is not None:
        services = services.for_age(params.age)
    if params.jobcenter_form:
        services = services.filter(jobcenter_form=params.jobcenter_form)
    if params.language:
        services = services.filter(
            Q(Exists(Language.objects.filter(service=OuterRef("pk"), code=params.language)))
            | _at_service_places(Language, code=params.language)
        )
    if params.free:
        services = services.filter(Exists(CostOption.objects.filter(service=OuterRef("pk"), amount=0)))
    if params.walk_in:
        walk_in = AttendingType.WALK_IN
        services = services.filter(
            Q(Exists(Schedule.objects.filter(service=OuterRef("pk"), attending_type=walk_in)))
            | Q(Exists(Schedule.objects.filter(service_at_location__service=OuterRef("pk"), attending_type=walk_in)))
            | _at_service_places(Schedule, attending_type=walk_in)
        )
    if params.barrier_free:
        services = services.filter(_at_service_places(Accessibility))
    relevance = [F("relevance").desc()] if params.q else []
    if point is not None:
        return services.near(point).order_by(F("distance_m").asc(nulls_last=True), *relevance, *SERVICE_ORDERING)
    return services.order_by(*relevance, *SERVICE_ORDERING)
