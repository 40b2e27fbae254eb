"""The search form: read its parameters without trusting them, and build the one query for the results.

``/<lang>/search/?q=&need=&target_group=&eligibility=&language=&age=&free=1&walk_in=1&barrier_free=1&open_now=1&page=``
(the place — ``plz``, ``ags``, ``lat``/``lon`` — is read by :func:`directory.places.resolve_place`).
A bad value never fails the page: it is dropped, and the error for its field says why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.contrib.gis.geos import Point
from django.db import connection
from django.db.models import F, Q, QuerySet, TextField
from django.db.models.functions import Cast
from django.http import QueryDict
from django.utils.translation import gettext as _

from directory.filters import MAX_AGE, YES_NO_FILTERS, ServiceFilters, languages_named, unknown_terms, yes_no
from directory.models import (
    ISO_639,
    MAX_FUZZY_WORDS,
    SERVICE_ORDERING,
    TERM_FILTERS,
    JobcenterForm,
    Service,
    TaxonomyTerm,
    search_form,
)
from directory.places import single_line
from directory.translation import Translated, translate
from directory.validation import whole_number

MAX_QUERY_LENGTH = 200
MAX_PAGE = 10_000


@dataclass
class SearchParams(ServiceFilters):
    """What the visitor searched for, every value checked: a text, the filters, whether open now, a page.

    ``open_now`` is not applied by :func:`search_services`: whether a service is open now depends on
    its hours, closures and the NRW public holidays, which ``directory.hours`` computes in Python —
    the view filters the page it shows.
    """

    q: str = ""
    open_now: bool = False
    page: int = 1

    @property
    def is_empty(self) -> bool:
        """Nothing to search for or filter by (the page is not a criterion)."""
        return self == SearchParams(page=self.page)


def parse_search_params(query: QueryDict) -> tuple[SearchParams, dict[str, str]]:
    """The search parameters in ``query`` and, per field, why a value was dropped.

    Term codes (need, target_group, eligibility) are checked against the taxonomies: one query,
    only when such a code is given.
    """
    params = SearchParams()
    errors: dict[str, str] = {}

    q = single_line(query.get("q", ""))
    if len(q) > MAX_QUERY_LENGTH:
        errors["q"] = _("Only the first %(n)d characters were searched for.") % {"n": MAX_QUERY_LENGTH}
        q = q[:MAX_QUERY_LENGTH].rstrip()
    params.q = q

    codes = {name: single_line(query.get(name, ""))[:50] for name in TERM_FILTERS}
    given = {name: code for name, code in codes.items() if code}
    unknown = unknown_terms(given)
    for name, code in given.items():
        if name in unknown:
            errors[name] = _("Unknown category “%(code)s”: shown without this filter.") % {"code": code}
        else:
            setattr(params, name, code)

    form = single_line(query.get("jobcenter_form", ""))[:50]
    if form:
        if form in JobcenterForm.values:
            params.jobcenter_form = form
        else:
            errors["jobcenter_form"] = _("Unknown category “%(code)s”: shown without this filter.") % {"code": form}

    language = single_line(query.get("language", "")).lower()
    if language:
        if re.fullmatch(ISO_639, language):
            params.language = language
        else:
            errors["language"] = _("“%(code)s” is not a language code.") % {"code": language[:10]}

    for name in ("open_now", *YES_NO_FILTERS):
        answer = yes_no(query.get(name, ""))
        if answer is None:
            errors[name] = _("Not a yes/no value: shown without this filter.")
        else:
            setattr(params, name, answer)

    age = query.get("age", "").strip()
    if age:
        params.age = whole_number(age, 0, MAX_AGE)
        if params.age is None:
            errors["age"] = _("The age must be a whole number from 0 to %(max)d.") % {"max": MAX_AGE}

    page = query.get("page", "").strip()
    if page:
        number = whole_number(page, 1, MAX_PAGE)
        if number is None:
            errors["page"] = _("There is no page %(page)s; showing the first page.") % {"page": single_line(page)[:12]}
        params.page = number or 1
    return params, errors


def search_services(params: SearchParams, *, point: Point | None, ags: str | None = None) -> QuerySet[Service]:
    """Published services matching ``params``: one SQL query (each filter is an EXISTS subquery).

    Order: services matching every word before those matching only one of the query's phrases (see
    :meth:`~directory.models.ServiceQuerySet.matching`); with a place (``ags``), the services responsible
    for it (annotated ``responsible``); then nearest first when there is a point, most relevant, by name.

    A language the text names ("Beratung auf Farsi") is the language filter unless one is chosen
    (:func:`directory.filters.languages_named`); the filters mean what
    :class:`directory.filters.ServiceFilters` says, as in the API; ``open_now`` is left to the view.
    """
    services = params.apply(Service.objects.published())
    named, text = languages_named(params.q)
    if named and not params.language:
        services = services.speaking(named)
    ordering: list[Any] = []
    if text:
        services = services.matching(text)
        ordering.append(F("full_match").desc())
    if ags:
        services = services.marking_responsible(ags)
        ordering.append(F("responsible").desc())
    if point is not None:
        services = services.near(point)
        ordering.append(F("distance_m").asc(nulls_last=True))
    if text:
        ordering.append(F("relevance").desc())
    return services.order_by(*ordering, *SERVICE_ORDERING)


# --- When nothing is found --------------------------------------------------------------------------------


@dataclass
class Suggestions:
    """What would find something when a search found nothing: need categories the words name, a spelling."""

    needs: list[tuple[str, Translated]]
    spelling: str = ""

    def __bool__(self) -> bool:
        return bool(self.needs or self.spelling)


# The closest word of the catalogue's names and terms (any language) to each query word, if close enough:
# from the dictionary of those words (SearchWord, trigram index), not by splitting every service's names.
_SPELLING_SQL = """
SELECT typed.word, (
    SELECT known.word FROM directory_searchword AS known
    WHERE known.word %% typed.word AND known.word <> typed.word
    ORDER BY similarity(known.word, typed.word) DESC, known.word LIMIT 1
)
FROM unnest(%s::text[]) AS typed(word)
"""


def suggestions(text: str) -> Suggestions:
    """Need categories whose names or search words the text says, and a spelling that would match.

    Two queries; only called when a search found nothing.
    """
    if not text:
        return Suggestions(needs=[])
    words = search_form(text).split()[:MAX_FUZZY_WORDS]
    with connection.cursor() as cursor:
        cursor.execute(_SPELLING_SQL, [words])
        closest = dict(cursor.fetchall())
    replaced = [closest.get(word) or word for word in words]
    spelling = " ".join(replaced) if replaced != words else ""
    # The categories the words name, as typed or as spelt right.
    said = f"{text} {spelling}"
    name_match = Q()
    for word in dict.fromkeys([*words, *replaced]):
        if len(word) >= 4:
            name_match |= Q(names__icontains=word)
    terms = (
        TaxonomyTerm.objects.of("need")
        .annotate(names=Cast("name", output_field=TextField()))
        .filter(Q(pk__in=TaxonomyTerm.objects.saying(said).values("pk")) | name_match)
        .order_by("sort", "code")
    )
    needs = [(term.code, translate(term.name)) for term in terms]
    return Suggestions(needs=needs, spelling=spelling)
