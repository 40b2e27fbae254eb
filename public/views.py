"""The public site: start, who is responsible, search, service and organisation pages, problem reports.

Pages are server-rendered and work without JavaScript. Anonymous pages are cacheable (Cache-Control + ETag
from ConditionalGetMiddleware); pages with a form that posts carry a CSRF token and are never cached.
Every list runs a fixed number of queries: the services are fetched once with their related records
prefetched, and everything shown is computed from those in Python.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import wraps
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.contrib.gis.geos import Point
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import DatabaseError, connection
from django.db.models import Count, F, QuerySet, Window
from django.db.models.functions import RowNumber
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.translation import get_language_from_request, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods, require_safe

from directory import hours
from directory.cache import cache_available, cached_page, shareable, while_unchanged
from directory.filters import YES_NO_FILTERS, languages_named
from directory.middleware import RejectedInput
from directory.models import (
    SERVICE_ORDERING,
    TERM_FILTERS,
    Gemeinde,
    JobcenterForm,
    Location,
    Organization,
    Service,
    ServiceQuerySet,
    TaxonomyTerm,
    ags_levels,
    record_by_id,
    related,
)
from directory.places import PlaceError, PlaceResult, resolve_place, single_line
from directory.provenance import fact_provenance
from directory.services import (
    REPORT_WINDOW,
    UNMET_SEARCH_MONTHS,
    client_address,
    count_unmet_search,
    report_wait,
)
from directory.services import report_problem as file_problem_report
from directory.throttle import try_again_in
from directory.translation import Translated, language_name, translate
from directory.validation import ascii_digits, whole_number
from public.display import (
    Card,
    OpeningText,
    area_reason,
    areas_named,
    describe_opening,
    make_card,
    place_schedules,
    service_schedules,
    services_for_cards,
    services_for_display,
)
from public.limits import limited
from public.search import MAX_RESULTS, SearchParams, parse_search_params, placed, search_services, suggestions
from public.unavailable import database_unavailable, unavailable_response
from public.vcard import contact_paths, vcard

PAGE_SIZE = 20
# Service types in the order a newcomer needs them on "who is responsible for me".
TYPE_ORDER = [
    "ki",
    "kim",
    "jobcenter",
    "auslaenderbehoerde",
    "einbuergerungsbehoerde",
    "welcome-center",
    "integration-point",
    "jmd",
    "mbe",
    "jugendberufsagentur",
    "agentur-fuer-arbeit",
]
MAX_PARAM_LENGTH = 200
# At most this many services of one type on "who is responsible for me" (the first by name): a real place has
# one or two of a type; dozens would be no answer, and the search lists every responsible service first.
MAX_PER_TYPE = 3


def public_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Mark an anonymous GET page as cacheable by browsers and shared caches (ETag comes from middleware),
    and keep it in the shared page cache (directory/cache.py) until the catalogue changes."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        def answer() -> HttpResponse:
            response = view(request, *args, **kwargs)
            if response.status_code == 200 and not response.has_header("Cache-Control"):
                if settings.SESSION_COOKIE_NAME in request.COOKIES:
                    # A signed-in caseworker's copy may carry their list button and a CSRF token: never shared.
                    patch_cache_control(response, private=True, max_age=0)
                else:
                    patch_cache_control(response, public=True, max_age=settings.PUBLIC_CACHE_SECONDS)
            return response

        if shareable(request):
            # Anonymous pages come from the shared cache (Redis) while the catalogue is unchanged.
            return cached_page(request, answer, timeout=settings.PUBLIC_CACHE_SECONDS)
        return answer()

    return wrapper


def param(request: HttpRequest, name: str) -> str:
    """A query parameter without control or bidi-override characters, cut to a sane length."""
    return single_line(request.GET.get(name, "")[: MAX_PARAM_LENGTH * 2])[:MAX_PARAM_LENGTH]


# --- Pages ----------------------------------------------------------------------------------------------


@require_safe
def root(request: HttpRequest) -> HttpResponse:
    """Send the visitor to the start page in the language their browser asks for."""
    response = redirect(f"/{get_language_from_request(request)}/")
    response["Vary"] = "Accept-Language"
    return response


def need_terms() -> QuerySet[TaxonomyTerm]:
    return TaxonomyTerm.objects.of("need").order_by("sort", "code")


@require_safe
@public_page
def start(request: HttpRequest) -> HttpResponse:
    needs = [(term.code, translate(term.name)) for term in need_terms()]
    return render(request, "public/start.html", {"needs": needs})


def place_error_message(error: PlaceError) -> str:
    messages = {
        PlaceError.MALFORMED: _("Please enter a postcode (5 digits) or the name of a town in North Rhine-Westphalia."),
        PlaceError.UNKNOWN_POSTCODE: _("We do not know this postcode. Wegweiser covers North Rhine-Westphalia only."),
        PlaceError.OUTSIDE_NRW: _("This place is outside North Rhine-Westphalia. Wegweiser covers NRW only."),
        PlaceError.NOT_FOUND: _("We could not find this place in North Rhine-Westphalia. Please check the spelling."),
        PlaceError.OUT_OF_RANGE: _("These coordinates are not valid."),
    }
    return messages.get(error, messages[PlaceError.MALFORMED])


def place_from_request(request: HttpRequest, *, text_param: str = "q") -> PlaceResult | None:
    """The place a request names, or None when it names none."""
    values = {name: param(request, name) or None for name in ("plz", "ags", "lat", "lon", "choose")}
    text = param(request, text_param) or None
    if not any(values[name] for name in ("plz", "ags", "lat", "lon")) and not text:
        return None
    return resolve_place(
        plz=values["plz"], ags=values["ags"], lat=values["lat"], lon=values["lon"], q=text, choose=values["choose"]
    )


def search_place(request: HttpRequest) -> PlaceResult | None:
    """The search's place: ``plz`` holds a postcode or a town; or coordinates, or an AGS."""
    where = param(request, "plz")
    if where:
        if ascii_digits(where.replace(" ", "")):
            return resolve_place(plz=where, choose=param(request, "choose") or None)
        return resolve_place(q=where, choose=param(request, "choose") or None)
    if param(request, "lat") or param(request, "lon"):
        return resolve_place(lat=param(request, "lat"), lon=param(request, "lon"))
    if param(request, "ags"):
        return resolve_place(ags=param(request, "ags"))
    return None


def parse_age(request: HttpRequest) -> tuple[int | None, str | None]:
    raw = param(request, "age")
    if not raw:
        return None, None
    age = whole_number(raw, 0, 120)
    if age is None:
        return None, _("The age must be a number of years between 0 and 120.")
    return age, None


@require_safe
@public_page
def responsible(request: HttpRequest) -> HttpResponse:
    place = place_from_request(request)
    age, age_error = parse_age(request)
    context: dict[str, Any] = {"place": place, "age": age, "age_error": age_error, "query": param(request, "q")}
    if place is None:
        context["error"] = _("Please enter a postcode or a town.")
        return render(request, "public/responsible.html", context, status=400)
    if place.error is not None:
        coordinates = bool(param(request, "lat") or param(request, "lon"))
        malformed_coordinates = coordinates and place.error == PlaceError.MALFORMED
        context["error"] = place_error_message(PlaceError.OUT_OF_RANGE if malformed_coordinates else place.error)
        status = 400 if place.error in {PlaceError.MALFORMED, PlaceError.OUT_OF_RANGE} else 404
        return render(request, "public/responsible.html", context, status=status)
    if place.choices and not place.ags:
        context["choices"] = [(g, choice_url(request, g)) for g in place.choices]
        return render(request, "public/responsible.html", context)
    assert place.ags is not None
    services = Service.objects.published().responsible_for(place.ags)
    if age is not None:
        services = services.for_age(age)
    now = timezone.now()
    levels = ags_levels(place.ags)
    of_type = first_of_each_type(services)
    # Then only those, with what their cards show and their areas (the reason each is responsible).
    shown = services_for_cards(Service.objects.filter(pk__in=of_type)).prefetch_related(areas_named())
    cards = [make_card(s, now, reason=area_reason(s, levels)) for s in shown]
    context["groups"] = group_by_type(cards, of_type)
    context["search_url"] = f"{reverse('search')}?ags={place.ags}"
    return render(request, "public/responsible.html", context)


def choice_url(request: HttpRequest, gemeinde: Gemeinde) -> str:
    query = request.GET.copy()
    for name in ("q", "plz", "lat", "lon", "choose"):
        query.pop(name, None)
    query["ags"] = gemeinde.ags
    return f"{request.path}?{query.urlencode()}"


def first_of_each_type(services: ServiceQuerySet) -> dict[Any, int]:
    """The ids of the first MAX_PER_TYPE services of each service type (by name), each with how many of its type
    there are: one query, so the page renders a bounded number of cards however many there are.
    Their ids alone: ranking a city's ~700 responsible services with every column a card shows (organisation,
    type) took twice as long."""
    by_type = [F("service_type_id")]
    ranked = services.annotate(
        rank_in_type=Window(RowNumber(), partition_by=by_type, order_by=[*SERVICE_ORDERING, F("id").asc()]),
        of_type=Window(Count("pk"), partition_by=by_type),
    ).filter(rank_in_type__lte=MAX_PER_TYPE)
    return dict(ranked.values_list("pk", "of_type"))


@dataclass
class TypeGroup:
    """The cards of one service type on "who is responsible", and how many more of the type are not shown."""

    name: str
    cards: list[Card]
    more: int


def group_by_type(cards: list[Card], of_type: dict[Any, int]) -> list[TypeGroup]:
    """The cards by service type, in the order a newcomer needs them; ``of_type``: per service shown, how many
    services of its type there are (:func:`first_of_each_type`)."""
    groups: dict[str, list[Card]] = {}
    order: dict[str, tuple[int, int, str]] = {}
    for card in cards:
        term = card.service.service_type
        key = str(card.type_name) if card.type_name else _("Other services")
        groups.setdefault(key, []).append(card)
        code = term.code if term else "~"
        order[key] = (TYPE_ORDER.index(code) if code in TYPE_ORDER else len(TYPE_ORDER), term.sort if term else 0, key)
    for group in groups.values():
        group.sort(key=lambda c: c.name.text.casefold())
    # Several types may share a name (none): what is not shown is counted per type, once.
    shown = {key: {c.service.service_type_id: of_type.get(c.service.pk, 0) for c in groups[key]} for key in groups}
    return [
        TypeGroup(key, groups[key], max(0, sum(shown[key].values()) - len(groups[key])))
        for key in sorted(groups, key=lambda k: order[k])
    ]


@require_safe
@limited("search", "SEARCH_RATE_LIMIT_PER_MINUTE")
@public_page
def search(request: HttpRequest) -> HttpResponse:
    params, errors = parse_search_params(request.GET)
    place = search_place(request)
    place_error = place_error_message(place.error) if place is not None and place.error is not None else None
    point = place.point if place is not None and place.error is None else None
    ags = place.ags if place is not None and place.error is None else None
    results = search_services(params, point=point, ags=ags)
    now = timezone.now()
    if params.open_now:
        # Opening state needs holidays and closures, so it is computed in Python over the bounded candidates.
        candidates = list(services_for_cards(results)[: MAX_RESULTS + 1])
        more = len(candidates) > MAX_RESULTS
        matching = [s for s in candidates[:MAX_RESULTS] if hours.opening_state(service_schedules(s), now).is_open]
        found_ids = [s.pk for s in matching]
    else:
        # The ranked ids once (one query, at most MAX_RESULTS + 1 rows): the pager counts them, the page
        # fetches its own twenty with everything a card shows.
        found_ids = list(results.values_list("pk", flat=True)[: MAX_RESULTS + 1])
        more = len(found_ids) > MAX_RESULTS
        found_ids = found_ids[:MAX_RESULTS]
    paginator = Paginator(found_ids, PAGE_SIZE)
    page_number = params.page
    if page_number > max(paginator.num_pages, 1):
        errors["page"] = _("There is no page %(page)s; showing the first page.") % {"page": page_number}
        page_number = 1
    page = paginator.page(page_number)
    if params.open_now:
        services = [s for s in matching if s.pk in set(page.object_list)]
    else:
        shown = placed(Service.objects.filter(pk__in=page.object_list), point=point, ags=ags)
        by_id = {s.pk: s for s in services_for_cards(shown)}
        services = [by_id[pk] for pk in page.object_list if pk in by_id]
    cards = [make_card(s, now) for s in services]
    ui_languages = [code for code, _name in settings.LANGUAGES]
    named_languages, text_without_languages = languages_named(params.q)
    counted_languages = list(dict.fromkeys(ui_languages + named_languages))
    stated = Service.objects.filter(pk__in=counted_services(params, found_ids, point=point, ags=ags)).facts_stated(
        counted_languages
    )
    if not cards and params.q and not errors:
        count_unmet_search(text=params.q, language=request.LANGUAGE_CODE, place=place)
    context = {
        "params": params,
        "errors": errors,
        "place": place,
        "place_error": place_error,
        "cards": cards,
        "page": page,
        "needs": [(t.code, translate(t.name)) for t in need_terms()],
        "eligibility_terms": [(t.code, translate(t.name)) for t in TaxonomyTerm.objects.of("residence-status")],
        "active_filters": active_filters(request),
        "page_query": page_query(request),
        "place_text": param(request, "plz") or (place.label if place is not None and place.ags else ""),
        "languages": [(code, name, stated[f"language_{code}"]) for code, name in settings.LANGUAGES],
        "yes_no_filters": yes_no_filters(params, stated),
        "unstated": unstated_filters(params, stated, named_languages) if not page.paginator.count else [],
        "named_languages": [language_name(code) for code in named_languages] if not params.language else [],
        "responsible_first": ags is not None,
        "more_results": more,
        "max_results": MAX_RESULTS,
        "postcode_given": ascii_digits(param(request, "plz").replace(" ", "")),
    }
    if not page.paginator.count:
        context["suggestions"] = suggestions(text_without_languages)
        context["suggestion_query"] = suggestion_query(request)
        if ags is not None:
            context["responsible_url"] = f"{reverse('responsible')}?ags={ags}"
    return render(request, "public/search.html", context)


def counted_services(params: SearchParams, found_ids: list[Any], *, point: Point | None, ags: str | None) -> list[Any]:
    """The services the filters' numbers count: those found (at most MAX_RESULTS, chosen by index).

    Never a whole area: counting each fact over every service of a city takes up to a second at 100,000
    services, and the numbers would say nothing about what was searched for. When nothing is found and a
    yes/no or language filter is chosen, those that the same search finds without these filters (one more
    bounded search): "no service here has recorded it" is then said of what the words and the place find.
    """
    named, text = languages_named(params.q)
    if found_ids or not (
        params.language or named or any(getattr(params, name) for name in ("open_now", *YES_NO_FILTERS))
    ):
        return found_ids
    unfiltered = replace(params, q=text, language=None, open_now=False, free=False, walk_in=False, barrier_free=False)
    return list(search_services(unfiltered, point=point, ags=ags).values_list("pk", flat=True)[:MAX_RESULTS])


# The yes/no filters as the form offers them: the parameter, its label and the fact it asks for
# (``open_now`` needs opening hours: what a service must state to be found by it).
YES_NO_FACTS = [
    ("open_now", gettext_lazy("Open now"), "hours"),
    ("free", gettext_lazy("Free of charge"), "free"),
    ("walk_in", gettext_lazy("Walk-in"), "walk_in"),
    ("barrier_free", gettext_lazy("Barrier-free"), "barrier_free"),
]
# Why a filter found nothing when no service of the area states its fact: never "nothing found".
UNSTATED = {
    "open_now": gettext_lazy(
        "No service here has recorded its opening hours yet, so we cannot tell which are open now. "
        "This does not mean that none is open."
    ),
    "free": gettext_lazy(
        "No service here has recorded yet whether it is free of charge. This does not mean that none is."
    ),
    "walk_in": gettext_lazy(
        "No service here has recorded walk-in hours yet. This does not mean that you cannot walk in anywhere."
    ),
    "barrier_free": gettext_lazy(
        "No service here has recorded its accessibility yet. This does not mean that none is barrier-free."
    ),
    "language": gettext_lazy(
        "No service here has recorded yet that it speaks this language. This does not mean that nobody does."
    ),
}


@dataclass
class YesNoFilter:
    name: str
    label: str
    checked: bool
    count: int


def yes_no_filters(params: SearchParams, stated: dict[str, int]) -> list[YesNoFilter]:
    return [
        YesNoFilter(name, str(label), bool(getattr(params, name)), stated[fact]) for name, label, fact in YES_NO_FACTS
    ]


def unstated_filters(params: SearchParams, stated: dict[str, int], named_languages: list[str]) -> list[str]:
    """For a search that found nothing: the chosen filters whose fact no service of the area states
    (a language counts as chosen when the search text names it)."""
    reasons = [str(UNSTATED[name]) for name, _label, fact in YES_NO_FACTS if getattr(params, name) and not stated[fact]]
    languages = [params.language] if params.language else named_languages
    if languages and not any(stated[f"language_{code}"] for code in languages):
        reasons.append(str(UNSTATED["language"]))
    return reasons


def suggestion_query(request: HttpRequest) -> str:
    """The query string without the text and the page: what a suggested need or spelling is added to."""
    query = request.GET.copy()
    for name in ("q", "page", "need"):
        query.pop(name, None)
    return query.urlencode()


FILTER_LABELS = {
    "q": gettext_lazy("Text"),
    "plz": gettext_lazy("Place"),
    "need": gettext_lazy("Need"),
    "language": gettext_lazy("Language spoken"),
    "open_now": gettext_lazy("Open now"),
    "free": gettext_lazy("Free of charge"),
    "walk_in": gettext_lazy("Walk-in"),
    "barrier_free": gettext_lazy("Barrier-free"),
    "eligibility": gettext_lazy("Residence status"),
    "target_group": gettext_lazy("Target group"),
    "age": gettext_lazy("Age"),
    "jobcenter_form": gettext_lazy("How it is run"),
}


def active_filters(request: HttpRequest) -> list[tuple[str, str | Translated, str]]:
    """(label, value, URL without it): each current filter can be removed on its own.

    A filter's value is shown as the visitor knows it: a category, language or form by its name in the page's
    language, never by its code; a yes/no filter by its label alone.
    """
    filters: list[tuple[str, str | Translated, str]] = []
    for name, label in FILTER_LABELS.items():
        value = param(request, name)
        if not value:
            continue
        query = request.GET.copy()
        query.pop(name, None)
        query.pop("page", None)
        filters.append((str(label), filter_value_name(name, value), f"?{query.urlencode()}"))
    return filters


def filter_value_name(name: str, value: str) -> str | Translated:
    """The name of a filter's value in the page's language ("" for yes/no filters: their label says it)."""
    if name in TERM_FILTERS:
        term = TaxonomyTerm.objects.filter(taxonomy__key=TERM_FILTERS[name], code=value).first()
        return translate(term.name) if term is not None else value[:40]
    if name == "language":
        return language_name(value.lower())
    if name == "jobcenter_form":
        return str(dict(JobcenterForm.choices).get(value, value[:40]))
    if name in ("open_now", *YES_NO_FILTERS):
        return ""
    return value if len(value) <= 40 else f"{value[:39]}…"


def page_query(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


def get_record(model: type[Any], record_id: str, queryset: QuerySet[Any] | None = None) -> Any:
    found = record_by_id(queryset if queryset is not None else model.objects.all(), record_id)
    if found is None:
        raise Http404(_("There is no entry with this id."))
    return found


@dataclass
class PlaceView:
    """One place of a service, as its page shows it."""

    location: Location
    name: Translated
    addresses: list[Any]
    directions_url: str

    @property
    def directions_by_address(self) -> bool:
        """Whether a street is known (directions lead to the door, the map point is only near it)."""
        return bool(self.location.street_addresses)

    opening: OpeningText
    week: list[hours.DayHours]
    accessibility: list[Any]
    transportation: Translated


@require_safe
@public_page
def service_detail(request: HttpRequest, service_id: str) -> HttpResponse:
    service: Service = get_record(Service, service_id, services_for_display(Service.objects.all()))
    now = timezone.now()
    today = timezone.localdate()
    card = make_card(service, now)
    places = []
    for sal in related(service, "service_at_locations"):
        location = sal.location
        schedules = place_schedules(service, sal)
        places.append(
            PlaceView(
                location=location,
                name=translate(location.name),
                addresses=related(location, "addresses"),
                directions_url=directions_url(location),
                opening=describe_opening(schedules, now),
                week=hours.week(schedules, today),
                accessibility=related(location, "accessibility"),
                transportation=translate(location.transportation),
            )
        )
    terms: dict[str, list[Translated]] = {}
    for attribute in related(service, "attributes"):
        key = attribute.taxonomy_term.taxonomy.key.replace("-", "_")  # usable in templates
        terms.setdefault(key, []).append(translate(attribute.taxonomy_term.name))
    map_points = [
        {
            "lat": p.location.point.y,
            "lon": p.location.point.x,
            "name": str(p.name or card.name),
            "approximate": p.location.is_approximate,
        }
        for p in places
        if p.location.point is not None
    ]
    context = {
        "card": card,
        "service": service,
        "places": places,
        "terms": terms,
        "own_week": hours.week(own, today) if (own := related(service, "schedules")) else None,
        "texts": {
            name: translate(getattr(service, name))
            for name in (
                "eligibility_description",
                "application_process",
                "fees_description",
                "interpretation_services",
                "alert",
            )
        },
        "cost_options": related(service, "cost_options"),
        "map_points": map_points,
        "booking_links": sorted({s.schedule_link for s in service_schedules(service) if s.schedule_link}),
        "provenance": fact_provenance(service),
        "vcard_offered": bool(contact_paths(service)),
        "language_names": [language_name(language.code) for language in related(service, "languages")],
        "documents": [translate(d.document) for d in related(service, "required_documents")],
        "service_area_names": [a.name or a.ags for a in related(service, "service_areas") if not a.excludes],
    }
    return render(request, "public/service.html", context)


def directions_url(location: Location) -> str:
    """Directions to the door: by the street address where one is known (a routing service finds the
    house even when our point is only the postcode's centre), else to the point if it is the place itself.
    A point that only stands for the postcode or the town gets no directions: they would lead a newcomer
    to the middle of the town."""
    address = next(iter(location.street_addresses), None)
    if address is not None:
        text = f"{address.address_1}, {address.postal_code} {address.city}".replace("  ", " ")
        return f"https://www.openstreetmap.org/search?query={quote(text)}"
    if location.point is not None and not location.is_approximate:
        y, x = location.point.y, location.point.x
        return f"https://www.openstreetmap.org/directions?route=%3B{y:.5f}%2C{x:.5f}"
    return ""


@require_safe
@public_page
def service_vcard(request: HttpRequest, service_id: str) -> HttpResponse:
    service: Service = get_record(Service, service_id, services_for_display(Service.objects.all()))
    if not contact_paths(service):
        raise Http404("no way to reach this office is known yet")
    page_url = request.build_absolute_uri(reverse("service", args=[service.pk]))
    response = HttpResponse(vcard(service, page_url), content_type="text/vcard; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="wegweiser-contact.vcf"'
    return response


@require_safe
@public_page
def organization_detail(request: HttpRequest, organization_id: str) -> HttpResponse:
    organization: Organization = get_record(Organization, organization_id)
    services = services_for_cards(Service.objects.filter(organization=organization).order_by("id"))
    now = timezone.now()
    cards = [make_card(s, now) for s in services]
    places = {id(p): p for c in cards for p in c.places}
    context = {
        "organization": organization,
        "name": translate(organization.name),
        "description": translate(organization.description),
        "cards": sorted(cards, key=lambda c: c.name.text.casefold()),
        "places": list(places.values()),
    }
    return render(request, "public/organization.html", context)


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def report_problem(request: HttpRequest, service_id: str) -> HttpResponse:
    service: Service = get_record(Service, service_id, Service.objects.select_related("organization"))
    context: dict[str, Any] = {"service": service, "name": translate(service.name), "errors": []}
    signed_in = request.user.is_authenticated
    if signed_in:
        # A caseworker reports as themselves: reporter is their account, the contact their e-mail address.
        context["contact"] = getattr(request.user, "email", "")
    if request.method == "POST":
        text = request.POST.get("text", "")
        contact = request.POST.get("contact", "")
        context.update(text=text[:2000], contact=contact[:200])
        client_ip = client_address(request)
        # Signed-in staff answer for their reports; their office's shared address must not throttle them.
        wait = None if signed_in else report_wait(client_ip, limit=settings.REPORT_RATE_LIMIT_PER_HOUR)
        if wait is not None:
            context["errors"] = [" ".join((_("You have sent several reports in a short time."), try_again_in(wait)))]
            response = render(request, "public/report.html", context, status=429)
            response["Retry-After"] = str(wait)
            return response
        if len(text) > 2000 or len(contact) > 200:
            context["errors"] = [_("Please keep the report under 2,000 characters and the contact under 200.")]
            return render(request, "public/report.html", context, status=400)
        try:
            file_problem_report(
                service=service,
                text=text,
                contact=contact,
                client_ip=client_ip,
                reporter=request.user if signed_in else None,
            )
        except ValidationError:
            context["errors"] = [_("Please describe the problem in at least a few words.")]
            return render(request, "public/report.html", context, status=400)
        return redirect("report-thanks", service_id=service.pk)
    return render(request, "public/report.html", context)


@require_safe
def report_thanks(request: HttpRequest, service_id: str) -> HttpResponse:
    service: Service = get_record(Service, service_id)
    return render(request, "public/report_thanks.html", {"service": service, "name": translate(service.name)})


@require_safe
@public_page
def offline(request: HttpRequest) -> HttpResponse:
    return render(request, "public/offline.html")


@require_safe
@public_page
def privacy(request: HttpRequest) -> HttpResponse:
    """What the site stores, for how long and why; the periods are the settings' values, stated nowhere else."""
    counter_seconds = max(REPORT_WINDOW.total_seconds(), settings.WEGWEISER_LOGIN_FAILURE_WINDOW, 120)
    context = {
        "report_contact_days": settings.REPORT_CONTACT_DAYS,
        "unmet_search_months": UNMET_SEARCH_MONTHS,
        "session_hours": max(1, settings.WEGWEISER_STAFF_SESSION_SECONDS // 3600),
        "page_cache_minutes": max(1, settings.PUBLIC_CACHE_SECONDS // 60),
        "counter_minutes": int(counter_seconds // 60),
    }
    return render(request, "public/privacy.html", context)


# --- Progressive web app ------------------------------------------------------------------------------


@require_safe
def manifest(request: HttpRequest) -> JsonResponse:
    language = get_language_from_request(request)
    response = JsonResponse(
        {
            "name": "Wegweiser NRW",
            "short_name": "Wegweiser",
            "start_url": f"/{language}/",
            "scope": "/",
            "display": "standalone",
            "background_color": "#ffffff",
            "theme_color": "#0a4d8c",
            "icons": [{"src": settings.STATIC_URL + "directory/icon.svg", "sizes": "any", "type": "image/svg+xml"}],
        },
        content_type="application/manifest+json",
    )
    patch_cache_control(response, public=True, max_age=86400)
    return response


@require_safe
def service_worker(request: HttpRequest) -> HttpResponse:
    """Keeps visited pages readable offline: network first, the cached copy when the network fails."""
    script = render_to_string("public/sw.js", {"offline_urls": [f"/{code}/offline/" for code, _ in settings.LANGUAGES]})
    response = HttpResponse(script, content_type="application/javascript")
    response["Service-Worker-Allowed"] = "/"
    patch_cache_control(response, no_cache=True)
    return response


# --- Operations and errors ----------------------------------------------------------------------------


def catalogue_counts() -> dict[str, int]:
    return {"gemeinden": Gemeinde.objects.count(), "services": Service.objects.published().count()}


@require_safe
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness, database and shared-cache check for load balancers and monitoring.

    503 when the database cannot answer (``"database": {"status": "unavailable"}``, the site's pages answer 503
    meanwhile, public/unavailable.py); an unreachable cache shows as ``"cache": "unavailable"`` with 200.
    """
    # Without the shared cache the site still answers (pages uncached, the API without its limit).
    cache_state = "ok" if cache_available() else "unavailable"
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT postgis_lib_version()")
            postgis = cursor.fetchone()[0]
        # The counts once per catalogue version: counting 100,000 services on every probe would make the
        # health check, the benchmark's floor, the slowest request of the site.
        database = {"status": "ok", "postgis": postgis, **while_unchanged("healthz-counts", catalogue_counts)}
    except DatabaseError as exc:
        # The kind of failure, not its text: that names hosts, ports and users.
        state = "unavailable" if database_unavailable(exc) else "error"
        response = JsonResponse({"status": "error", "database": {"status": state}, "cache": cache_state}, status=503)
        response["Retry-After"] = str(settings.DATABASE_UNAVAILABLE_RETRY_SECONDS)
        return response
    return JsonResponse({"status": "ok", "database": database, "cache": cache_state})


def _error_page(request: HttpRequest, status: int, message: str) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse({"error": message}, status=status)
    return render(request, "public/error.html", {"status": status, "message": message}, status=status)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    # Our own refusals (directory.middleware.RejectedInput) say what was wrong; Django's own stay general.
    message = str(exception) if isinstance(exception, RejectedInput) else _("The request was not understood.")
    return _error_page(request, 400, message)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error_page(request, 404, _("This page does not exist."))


def server_error(request: HttpRequest) -> HttpResponse:
    exc = sys.exc_info()[1]
    if database_unavailable(exc):
        # Raised outside a view (a middleware, the session): the same 503 as public/unavailable.py gives views.
        assert exc is not None
        return unavailable_response(request, exc)
    # No template context processors or database here: the error may be the database itself.
    html = render_to_string("public/500.html")
    return HttpResponse(html, status=500)
