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
from django.db import connections
from django.db.models import BooleanField, ExpressionWrapper, F, Q, QuerySet, TextField
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
    SearchWord,
    Service,
    ServiceArea,
    ServiceQuerySet,
    TaxonomyTerm,
    TextMatch,
    ags_levels,
    responsible_condition,
    search_form,
)
from directory.places import single_line
from directory.translation import Translated, translate
from directory.validation import whole_number

MAX_QUERY_LENGTH = 200
MAX_PAGE = 10_000
# The most results a search ranks and pages through (ten pages of twenty). Beyond it the page says that
# there are more and asks for a place, a filter or more words: ranking or counting 50,000 matches of a
# common word costs seconds, and nobody reads page 500 of a list.
MAX_RESULTS = 200


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


def search_services(
    params: SearchParams, *, point: Point | None, ags: str | None = None, limit: int = MAX_RESULTS
) -> ServiceQuerySet:
    """Published services matching ``params``, at most about ``limit`` of each kind below: one SQL query.

    Which services are ranked at all is decided by index, so a search costs the same at 300 services as at
    100,000 (ranking or counting every match of a common word would take seconds):

    - with a place (``point``): the services at the places nearest to it (KNN on the GiST index of the
      points) and, with ``ags``, those responsible for it (the service areas' index), each part cut at
      ``limit + 1``; services without a physical place are only listed when responsible;
    - with a text and no place: the first ``limit + 1`` that the full-text index finds (or, when nothing
      matches fully, those of the terms the text names);
    - with neither: the first ``limit + 1`` by name (the name index).

    More than ``limit`` candidates means there are more than the page can rank: the view says so and
    asks for a place, a filter or more words. Order: with a place, those responsible for it first
    (``responsible``), then nearest first (``distance_m``); without one, most relevant first; then by name.
    (Services matching only one of the query's phrases are found only when none matches every word.)

    A language the text names ("Beratung auf Farsi") is the language filter unless one is chosen
    (:func:`directory.filters.languages_named`); the filters mean what
    :class:`directory.filters.ServiceFilters` says, as in the API; ``open_now`` is left to the view.
    """
    filtered = params.apply(Service.objects.published())
    named, text = languages_named(params.q)
    if named and not params.language:
        filtered = filtered.speaking(named)
    words = TextMatch.of(text) if text else None
    matching = filtered
    if words is not None:
        # A partial match (a term the text names) only when nothing these filters let through matches fully.
        no_full_match = ~words.any_full(filtered)
        # The uncorrelated "no full match" first: asked once, when false the terms' attributes are never read.
        matching = filtered.filter(words.full | no_full_match & words.by_term)
    limit += 1  # one more than shown: whether there are more
    parts: list[QuerySet[Any, Any]]
    if point is not None:
        few = list(words.candidates(repeated=True)[: limit + 1]) if words is not None else None
        if few is not None and len(few) <= limit:
            # A text that few services match (or none): those few, each measured, instead of walking the places
            # nearest first until ``limit`` of them match — for a text matching nothing, every place of the
            # country (seconds; a cheap request for anyone to make). Still those with a physical place only.
            ids = {row["pk"] for row in few}
            parts = [matching.filter(pk__in=ids).placed_physically().order_by().values("pk")]
        else:
            parts = [matching.nearest_ids(point, limit)]
        if ags:
            maybe = ServiceArea.objects.filter(ags__in=ags_levels(ags), excludes=False).values("service_id")
            # Who may be responsible, from the service areas' index (a few hundred ids; the rule is checked on
            # these alone), nearest first: all of them when they are few (those without a place last), else
            # the nearest. Their distances are measured one service at a time, each by KNN on its own places.
            responsible = matching.filter(pk__in=maybe).filter(responsible_condition(ags)).near(point)
            parts.append(responsible.values("pk")[:limit])
        candidates = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
    elif words is not None:
        # Each branch by its own index; the union keeps the planner from scanning for the OR of both.
        # Driven by the text (the full-text index), the filters checked per row found: what was typed is
        # nearly always narrower than a category, whose tens of thousands of services are not collected.
        full = [
            branch.annotate(fits=filtered.checked_by_row()).filter(fits__isnull=False).order_by().values("pk")[:limit]
            for branch in words.full_branches(Service.objects.published())
        ]
        # words.by_term on the rows found: their excluded words exclude here too.
        by_term = filtered.filter(pk__in=words.by_term_ids()).filter(no_full_match, words.by_term)
        candidates = by_term.order_by().values("pk")[:limit].union(*full, all=True)
    else:
        candidates = matching.order_by(*SERVICE_ORDERING).values("pk")[:limit]
    # Every candidate already matches: the outer query only ranks them (driven by their ids, not by a filter).
    services = placed(Service.objects.filter(pk__in=candidates), point=point, ags=ags)
    # Candidates are either all full matches or, when nothing the filters let through matches fully, all
    # partial ones: ``full_match`` is the same for all of them, asked once (not per row: each test of a
    # row reads the service's long stored vector, 0.01 ms a row), and never orders them.
    if words is not None:
        services = services.annotate(full_match=ExpressionWrapper(~no_full_match, output_field=BooleanField()))
    ordering: list[Any] = []
    if ags:
        ordering.append(F("responsible").desc())
    if point is not None:
        # Nearest first; services at the same place by name. Relevance is not ranked here: it would only
        # order services at one address, for the price of reading every candidate's vector twice.
        ordering.append(F("distance_m").asc(nulls_last=True))
    elif words is not None:
        services = services.annotate(relevance=words.relevance())
        ordering.append(F("relevance").desc())
    return services.order_by(*ordering, *SERVICE_ORDERING)


def placed(services: ServiceQuerySet, *, point: Point | None, ags: str | None) -> ServiceQuerySet:
    """``services`` with what a result card shows about the place searched for: ``responsible`` (with an
    ``ags``) and ``distance_m`` / ``distance_accuracy`` (with a point)."""
    if ags:
        services = services.marking_responsible(ags)
    if point is not None:
        services = services.near(point)
    return services


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
    with connections[SearchWord.objects.db].cursor() as cursor:  # the replica for anonymous reads
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
