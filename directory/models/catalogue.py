"""The HSDS 3.0 catalogue with a German profile: organisations, services, places and what hangs off them.

Field names follow HSDS 3.0 (``docs/hsds-3.0/``), so the API is a view of these models. The querysets are the
one vocabulary of filters that the site and the API share.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib.gis.db import models
from django.contrib.gis.db.models.functions import GeometryDistance
from django.contrib.gis.geos import Point
from django.contrib.postgres.expressions import ArraySubquery
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex, GistIndex
from django.contrib.postgres.search import (
    SearchQuery,
    SearchRank,
    SearchVector,
    SearchVectorField,
)
from django.core.exceptions import ValidationError
from django.db import connections
from django.db.models import (
    Case,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Lower
from django.utils.translation import gettext_lazy as _

from directory.cache import while_unchanged
from directory.hours import BYDAY, AttendingType
from directory.models.geography import Gemeinde, ags_levels
from directory.models.provenance import Record, Source, record_constraints
from directory.translation import (
    LANGUAGE_CODES,
    Translated,
    TranslatedField,
    TranslationsFormField,
    TranslationsWidget,
    translate,
)
from directory.validation import AGS_ANY_LEVEL, ISO_639, PHONE_NUMBER, POSTCODE, validate_phone_extension

# --- Well-formed codes ---------------------------------------------------------------------------------
# (The weekday codes, BYDAY and attending types belong to opening hours: directory.hours.)

# ISO_639 and PHONE_NUMBER are directory.validation's (the one place of each format), imported here.
GERMANY_CALLING_CODE = "49"


def international_number(number: str) -> str:
    """A German phone number as written ("0212 290 26 01", "+49 (0) 201 88-0") in the +49 form a ``tel:``
    link dials from any phone, also one with a foreign SIM card; a local number without its area code
    stays as it is, since the area is not known."""
    number = number.replace("(0)", "")
    digits = "".join(c for c in number if c.isdigit())
    if number.lstrip().startswith("+"):
        return f"+{digits}"
    if digits.startswith("00"):
        return f"+{digits[2:]}"
    if digits.startswith("0"):
        return f"+{GERMANY_CALLING_CODE}{digits[1:]}"
    return digits


# --- Related records as prefetched lists -----------------------------------------------------------------

# The attribute a relation's records are prefetched into by :func:`listed` ("phones" → "phones_listed").
LISTED = "_listed"


def listed(lookup: str, queryset: QuerySet[Any] | None = None) -> Prefetch[Any]:
    """A prefetch of ``lookup`` (``"phones"``, ``"location__schedules"``) into a plain list that :func:`related`
    reads. Prefetched into the manager instead, Django builds a filtered QuerySet per record and relation
    (~700 on a responsible page of ~60 cards, a fifth of its time); a list costs nothing per record."""
    return Prefetch(lookup, queryset=queryset, to_attr=lookup.rsplit("__", 1)[-1] + LISTED)


def related(record: models.Model, name: str) -> list[Any]:
    """The records of ``record``'s relation ``name``: the list :func:`listed` prefetched, else the manager's
    (prefetched by name, or one query now). The one way the site's pages, the slip and the checks read them."""
    prefetched = record.__dict__.get(name + LISTED)
    if prefetched is not None:
        return prefetched
    return list(getattr(record, name).all())


def exactly_one(*fields: str) -> Q:
    """A Q that holds when exactly one of the given foreign keys is set."""
    condition = Q()
    for chosen in fields:
        branch = Q(**{f"{chosen}__isnull": False})
        for other in fields:
            if other != chosen:
                branch &= Q(**{f"{other}__isnull": True})
        condition |= branch
    return condition


class Taxonomy(Record):
    key = models.SlugField(max_length=50, unique=True)
    name = TranslatedField(require_german=True)
    description = TranslatedField(textarea=True)
    uri = models.URLField(blank=True)
    version = models.CharField(max_length=20, blank=True)

    class Meta:
        ordering = ["key"]
        verbose_name_plural = "taxonomies"
        constraints = record_constraints(
            models.CheckConstraint(condition=Q(name__has_key="de"), name="taxonomy_name_in_german"),
        )

    def __str__(self) -> str:
        return str(translate(self.name))


def search_form(text: str) -> str:
    """Text as search words are compared: lower case, every run of punctuation or spaces one space.

    :data:`SEARCH_FORM_SQL` is the same rule in SQL, for the stored words.
    """
    return " ".join(re.sub(r"[\W_]+", " ", text.lower()).split())


# The SQL form of search_form() for a text column or value ({} is the expression).
SEARCH_FORM_SQL = "btrim(regexp_replace(lower({}), '[^[:alnum:]]+', ' ', 'g'))"


def validate_search_words(value: object) -> None:
    """Search words are a mapping of UI language → list of words or phrases (strings)."""
    if not isinstance(value, dict):
        raise ValidationError("Search words must be an object of language code → list of words.")
    unknown = sorted(set(value) - set(LANGUAGE_CODES))
    if unknown:
        raise ValidationError(
            "Unknown language code(s): %(codes)s; allowed are %(allowed)s.",
            params={"codes": ", ".join(unknown), "allowed": ", ".join(LANGUAGE_CODES)},
        )
    for code, words in value.items():
        if not isinstance(words, list) or not all(isinstance(word, str) and word.strip() for word in words):
            raise ValidationError("The %(code)s search words must be a list of words.", params={"code": code})


class SearchWordsFormField(TranslationsFormField):
    """One box per language in the admin, one word or phrase per line."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(textarea=True, **kwargs)
        self.widget = SearchWordsWidget(textarea=True)

    def compress(self, data_list: list[str]) -> dict[str, list[str]]:  # type: ignore[override]
        words = {
            code: [line.strip() for line in text.splitlines() if line.strip()]
            for code, text in zip(LANGUAGE_CODES, data_list or [], strict=False)
        }
        return {code: lines for code, lines in words.items() if lines}


class SearchWordsWidget(TranslationsWidget):
    def decompress(self, value: Any) -> list[str]:
        if isinstance(value, str):  # a bound form re-rendering its raw JSON
            try:
                value = json.loads(value)
            except ValueError:
                value = {}
        value = value if isinstance(value, dict) else {}
        return ["\n".join(value.get(code) or []) for code in LANGUAGE_CODES]


class SearchWordsField(models.JSONField):
    """The everyday words and phrases people type for a term, per UI language: ``{"uk": ["посвідка", …]}``.

    Not shown anywhere: they only widen what the search finds (``directory.services`` puts them into the
    search text of the services with the term, and :meth:`ServiceQuerySet.matching` matches their phrases).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("default", dict)
        kwargs.setdefault("blank", True)
        super().__init__(*args, **kwargs)
        self.validators.append(validate_search_words)

    def formfield(self, **kwargs: Any) -> Any:  # type: ignore[override]
        return SearchWordsFormField(required=False, label=kwargs.get("label", "Search words"), help_text=self.help_text)


class TaxonomyTermQuerySet(models.QuerySet["TaxonomyTerm"]):
    def of(self, taxonomy_key: str) -> TaxonomyTermQuerySet:
        return self.filter(taxonomy__key=taxonomy_key)

    def saying(self, text: str) -> TaxonomyTermQuerySet:
        """Terms one of whose search words (any language) occurs in ``text`` as whole words.

        "Ich suche einen Deutschkurs" says the term language; "курси німецької для жінок" does too.
        Both sides are compared in :func:`search_form` (lower case, punctuation as spaces).
        """
        return self.filter(pk__in=terms_said(text))


# Each term's search words in their search form, every language: (term id, words) in id order.
SEARCH_FORMS_OF_TERMS_SQL = f"""
SELECT term.id, coalesce(array_agg(DISTINCT {SEARCH_FORM_SQL.format("word")}) FILTER (WHERE word IS NOT NULL), '{{}}')
FROM directory_taxonomyterm AS term
LEFT JOIN LATERAL jsonb_each(
    CASE jsonb_typeof(term.search_words) WHEN 'object' THEN term.search_words ELSE '{{}}'::jsonb END
) AS language ON true
LEFT JOIN LATERAL jsonb_array_elements_text(
    CASE jsonb_typeof(language.value) WHEN 'array' THEN language.value ELSE '[]'::jsonb END
) AS word ON true
GROUP BY term.id ORDER BY term.id
"""  # noqa: S608 (constant SQL)


def terms_said(text: str) -> list[uuid.UUID]:
    """The ids of the terms one of whose search words occurs in ``text`` as whole words (see ``saying``)."""
    padded = f" {search_form(text)} "
    if not padded.strip():
        return []
    return [term for term, words in search_forms_of_terms() if any(f" {word} " in padded for word in words)]


def search_forms_of_terms() -> list[tuple[uuid.UUID, list[str]]]:
    """Every term's search words as :func:`search_form` spells them, kept per catalogue version.

    Every text search asks which terms the text says; normalising the ~3,000 words of the terms in SQL on each
    search (a regexp per word) took 25–30 ms, whatever the size of the catalogue. The words change only with
    the catalogue (a term edited), so they are worked out once per version and compared in Python.
    """

    def read() -> list[tuple[uuid.UUID, list[str]]]:
        with connections[TaxonomyTerm.objects.db].cursor() as cursor:
            cursor.execute(SEARCH_FORMS_OF_TERMS_SQL)
            return [(term, list(words)) for term, words in cursor.fetchall()]

    return while_unchanged("search-forms-of-terms", read)


class TaxonomyTerm(Record):
    taxonomy = models.ForeignKey(Taxonomy, on_delete=models.CASCADE, related_name="terms")
    code = models.SlugField(max_length=50)
    name = TranslatedField(require_german=True)
    description = TranslatedField(textarea=True)
    parent = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="children")
    term_uri = models.URLField(blank=True)
    sort = models.PositiveSmallIntegerField(default=0)
    search_words = SearchWordsField(
        help_text="Words and phrases people type for this term, one per line in each language (search only)"
    )
    # Its code, names and search words in every language: filled by services.refresh_term_search_text(). A
    # search matches a query word on the terms first and finds the services by term id (TextMatch), so these
    # words are kept once per term, not copied into the search text of every service that has the term.
    search_text = models.TextField(blank=True, editable=False)
    search_vector = models.GeneratedField(
        expression=SearchVector("search_text", config="german"), output_field=SearchVectorField(), db_persist=True
    )

    objects = TaxonomyTermQuerySet.as_manager()

    class Meta:
        ordering = ["taxonomy__key", "sort", "code"]
        constraints = record_constraints(
            models.UniqueConstraint(fields=["taxonomy", "code"], name="taxonomy_term_code_unique"),
            # Other languages fall back to German, so German must be there.
            models.CheckConstraint(condition=Q(name__has_key="de"), name="taxonomy_term_name_in_german"),
        )

    def __str__(self) -> str:
        return str(translate(self.name))


# --- Organisations, programmes, services ----------------------------------------------------------------


class OrganizationKind(models.TextChoices):
    MUNICIPALITY = "municipality", "Kommune (Kreis, Stadt, Gemeinde)"
    PUBLIC_AUTHORITY = "public-authority", "Behörde"
    MINISTRY = "ministry", "Ministerium"
    CHAMBER = "chamber", "Kammer (IHK, HWK)"
    WELFARE_ASSOCIATION = "welfare-association", "Wohlfahrtsverband"
    ASSOCIATION = "association", "Verein"
    MIGRANT_ORGANISATION = "migrant-organisation", "Migrantenselbstorganisation"


class Organization(Record):
    name = TranslatedField(require_german=True)
    alternate_name = models.CharField(max_length=200, blank=True)
    description = TranslatedField(textarea=True)
    kind = models.CharField(max_length=30, choices=OrganizationKind.choices, blank=True)
    email = models.EmailField(blank=True)
    website = models.URLField(max_length=500, blank=True)
    legal_status = models.CharField(max_length=100, blank=True)
    uri = models.URLField(blank=True)
    # Where the e-mail address and website come from (they may come from another page than the name).
    contact_source = models.ForeignKey(Source, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    parent_organization = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="child_organizations"
    )

    class Meta:
        ordering = [Lower(KT("name__de")).asc()]
        constraints = record_constraints(
            models.CheckConstraint(condition=Q(name__has_key="de"), name="organization_name_in_german"),
        )

    def __str__(self) -> str:
        return str(translate(self.name, "de"))


class Program(Record):
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="programs")
    name = TranslatedField(require_german=True)
    alternate_name = models.CharField(max_length=200, blank=True)
    description = TranslatedField(textarea=True)

    class Meta:
        ordering = [Lower(KT("name__de")).asc()]
        constraints = record_constraints(
            models.CheckConstraint(condition=Q(name__has_key="de"), name="program_name_in_german"),
        )

    def __str__(self) -> str:
        return str(translate(self.name, "de"))


class ServiceStatus(models.TextChoices):
    # HSDS 3.0 service.status values.
    ACTIVE = "active", "active"
    INACTIVE = "inactive", "inactive"
    DEFUNCT = "defunct", "defunct"
    TEMPORARILY_CLOSED = "temporarily closed", "temporarily closed"


class ServiceQuerySet(models.QuerySet["Service"]):
    def published(self) -> ServiceQuerySet:
        return self.filter(status=ServiceStatus.ACTIVE)

    def responsible_for(self, place: Point | str) -> ServiceQuerySet:
        """Services whose service area covers ``place``: a point, or an AGS of any level.

        An area may include a Kreis and exclude a town that runs its own office, so a service
        is responsible where one of its including areas covers the place and no excluding one does.
        """
        if isinstance(place, Point):
            gemeinde = Gemeinde.objects.containing(place).only("ags").first()
            if gemeinde is None:
                return self.none()
            place = gemeinde.ags
        return self.filter(responsible_condition(place))

    def marking_responsible(self, ags: str) -> ServiceQuerySet:
        """Annotate ``responsible``: whether the service is responsible for the place (the same rule as
        :meth:`responsible_for`), so a list can put those first and mark them."""
        return self.annotate(
            responsible=ExpressionWrapper(responsible_condition(ags), output_field=models.BooleanField())
        )

    def responsible_for_any(self, ags_codes: tuple[str, ...] | list[str]) -> ServiceQuerySet:
        """Services responsible for at least one of the places (a postcode spanning several Gemeinden)."""
        condition = Q()
        for code in ags_codes:
            condition |= Q(pk__in=Service.objects.responsible_for(code).values("pk"))
        return self.filter(condition)

    def with_term(self, taxonomy_key: str, code: str) -> ServiceQuerySet:
        return self.filter(
            Exists(
                Attribute.objects.filter(
                    service=OuterRef("pk"), taxonomy_term__taxonomy__key=taxonomy_key, taxonomy_term__code=code
                )
            )
        )

    def with_term_id(self, term_id: uuid.UUID) -> ServiceQuerySet:
        """Services having the term as an attribute or as their service type (HSDS ``taxonomy_term_id``)."""
        return self.filter(
            Q(Exists(Attribute.objects.filter(service=OuterRef("pk"), taxonomy_term_id=term_id)))
            | Q(service_type_id=term_id)
        )

    def in_taxonomy(self, taxonomy_id: uuid.UUID) -> ServiceQuerySet:
        """Services with any term of the taxonomy, as an attribute or as their service type."""
        return self.filter(
            Q(Exists(Attribute.objects.filter(service=OuterRef("pk"), taxonomy_term__taxonomy_id=taxonomy_id)))
            | Q(service_type__taxonomy_id=taxonomy_id)
        )

    def eligible(self, residence_status: str) -> ServiceQuerySet:
        """Services open to people with this residence status: tagged with it, or not restricted by status at all.

        A service that names no residence status is open to everyone (KI, Ausländerbehörde, …).
        """
        tagged = Attribute.objects.filter(
            service=OuterRef("pk"),
            taxonomy_term__taxonomy__key="residence-status",
            taxonomy_term__code=residence_status,
        )
        return self.filter(Q(Exists(tagged)) | ~STATED["eligibility"]())

    def with_filter_term(self, parameter: str, code: str) -> ServiceQuerySet:
        """The term filter a parameter of :data:`TERM_FILTERS` names (eligibility has its own rule)."""
        if parameter == "eligibility":
            return self.eligible(code)
        return self.with_term(TERM_FILTERS[parameter], code)

    def speaking(self, language_code: str | list[str]) -> ServiceQuerySet:
        """Services where one can speak the language (or one of the languages): the service's own languages
        or those of one of its places.

        A place's languages count too: a counselling service held in Arabic at one office speaks Arabic.
        Languages of a phone line do not (they say who answers the phone, not who gives the service).
        """
        return self.filter(speaks([language_code] if isinstance(language_code, str) else language_code))

    def free(self) -> ServiceQuerySet:
        """Services with a cost option of amount 0.

        A "free" only written in ``fees_description`` is not read: free text is no fact a filter can trust.
        """
        return self.filter(STATED["free"]())

    def walk_in(self) -> ServiceQuerySet:
        """A walk-in schedule on the service, one of its places or one of its service-at-locations."""
        return self.filter(STATED["walk_in"]())

    def barrier_free(self) -> ServiceQuerySet:
        """One of the service's places has an accessibility record."""
        return self.filter(STATED["barrier_free"]())

    def stated_facts(self) -> models.QuerySet[Any, dict[str, Any]]:
        """Per service its id (``fact_service``), whether it states each fact of :data:`STATED` (``stated_<name>``)
        and the languages spoken there (``spoken``: the service's own and its places', as :func:`speaks` reads
        them; a code may come twice): what :class:`ServiceFacts` stores, computed from the records."""
        boolean: models.BooleanField[bool, bool] = models.BooleanField()
        stated = {f"stated_{name}": ExpressionWrapper(fact(), output_field=boolean) for name, fact in STATED.items()}
        codes: ArrayField[list[str], list[str]] = ArrayField(models.CharField(max_length=10))
        spoken = models.Func(
            ArraySubquery(_languages_of_service().values("code")),
            ArraySubquery(_languages_at_places().values("code")),
            function="array_cat",
            output_field=codes,
        )
        return (
            self.order_by()
            .annotate(fact_service=F("pk"), **stated, spoken=spoken)
            .values("fact_service", *stated, "spoken")
        )

    def facts_stated(self, languages: tuple[str, ...] | list[str]) -> dict[str, int]:
        """How many of these services state each fact a yes/no filter asks for, the languages spoken (one
        count per code) and who may come (a residence status): one query.

        What a filter is offered with: where no service states a fact, a filter on it finds nothing because
        nothing is recorded, which must not read as "there is nothing".

        Read from the stored :class:`ServiceFacts` rows (one scan of the found services' rows): computing the
        facts from the records costs about 23 index lookups a service, 30–45 ms for 201 services at 100,000.
        """
        counts = {name: Count("pk", filter=Q(**{name: True})) for name in STATED}
        counts |= {f"language_{code}": Count("pk", filter=Q(languages__contains=[code])) for code in languages}
        return ServiceFacts.objects.filter(service__in=self.order_by().values("pk")).aggregate(**counts)

    def run_as(self, jobcenter_form: str) -> ServiceQuerySet:
        """Jobcenters run that way (gemeinsame Einrichtung or zugelassener kommunaler Träger)."""
        return self.filter(jobcenter_form=jobcenter_form)

    def for_age(self, age: int) -> ServiceQuerySet:
        return self.filter(
            Q(minimum_age__isnull=True) | Q(minimum_age__lte=age),
            Q(maximum_age__isnull=True) | Q(maximum_age__gte=age),
        )

    def matching(self, text: str) -> ServiceQuerySet:
        """Services whose ``search_text`` matches ``text``, annotated with ``relevance`` (higher is better)
        and ``full_match`` (every word found, not only one of the query's phrases).

        A service matches the German full-text query (stemmed: "Beratungen" finds "Beratung"; websearch
        syntax: "a phrase", -excluded, or) or, so that typos still find something, every word of three or
        more letters is like a word of its names (pg_trgm ``%>`` on the SearchWord dictionary: "Integrazion"
        finds "Integration").
        Per word rather than the whole text, so "Integration Point" is not matched by every text that
        only says "Integration". The typo branch looks at the words of names and terms only (``search_names``).

        Third, a query in a newcomer's own words is often a sentence ("шукаю курси німецької в Есені"):
        a service also matches when the query contains, as whole words, one of the search words of its
        service type or of one of its terms (:attr:`TaxonomyTerm.search_words`). Such partial matches are
        only kept when no service matches fully (``full_match``): they keep a sentence from finding nothing,
        but never dilute what the words find ("Integration Point Essen" must not bring every office whose
        type is called "Integration…").
        """
        words = TextMatch.of(text)
        boolean: models.BooleanField[bool, bool] = models.BooleanField()
        matched = self.filter(pk__in=words.candidates())
        return (
            matched.annotate(full_match=ExpressionWrapper(words.full, output_field=boolean))
            # A partial match is kept only when nothing these filters let through matches fully: asked once
            # (an uncorrelated EXISTS, stopping at the first full match), not by a window over every match.
            .filter(Q(full_match=True) | words.by_term & ~words.any_full(self))
            .annotate(relevance=words.relevance())
        )

    def checked_by_row(self, condition: str = "pk") -> Subquery:
        """Whether the row's ``condition`` (a service id) is one of these services, asked per row: a subquery
        with LIMIT, which the planner cannot turn into a join. For a walk that stops early (in distance order,
        by an index, up to a LIMIT): a join would first collect every one of these services, a seq scan's work
        when the filters are broad. Not NULL when it is one."""
        return Subquery(self.filter(pk=OuterRef(condition)).order_by().values("pk")[:1])

    def nearest_ids(self, point: Point, limit: int) -> models.QuerySet[Any, Any]:
        """The ids of these services at the ``limit`` physical places nearest ``point`` (a service once per
        place): the places are walked in distance order on the GiST index of their points (KNN ``<->``) and
        the walk stops after ``limit``, so a list ordered by distance is cut without measuring every service."""
        return (
            ServiceAtLocation.objects.annotate(fits=self.checked_by_row("service_id"))
            .filter(
                fits__isnull=False,
                location__location_type=LocationType.PHYSICAL,
                location__point__isnull=False,
            )
            .order_by(GeometryDistance("location__point", point))
            .values("service_id")[:limit]
        )

    def placed_physically(self, point: Point | None = None, radius: int | None = None) -> ServiceQuerySet:
        """Those with a physical place (within ``radius`` metres of ``point``, when given): the ones a list
        ordered by distance can measure; an index lookup per service (the radius by the points' GiST index)."""
        places = ServiceAtLocation.objects.filter(
            service=OuterRef("pk"), location__location_type=LocationType.PHYSICAL, location__point__isnull=False
        )
        if point is not None and radius is not None:
            places = places.filter(WithinMetres("location__point", point, radius))
        return self.filter(Exists(places))

    def nearest_page(
        self, point: Point, *, offset: int, limit: int, radius: int | None = None, located: int | None = None
    ) -> list[tuple[uuid.UUID, float | None]]:
        """Of these services, those at ranks ``offset`` … ``offset + limit`` by the distance to their nearest
        physical place (within ``radius`` metres), with that distance in metres; ties by id. Given ``located``
        (how many of them have a physical place), the services without one follow, by id, distance None.

        Places are walked nearest first on the GiST index of their points as geography (KNN ``<->``, sphere
        metres), each checked against these services' filters, and the walk stops after about twice as many
        places as the page needs: a page costs what lies before it, not the whole catalogue (measuring every
        service and sorting took seconds at 100,000). In the walked prefix a service's nearest walked place is
        its nearest place; only services nearer than the prefix's last place are ranked (one at exactly its
        distance may have a place of the same distance left unwalked, which would break the id order of ties).
        When that leaves the page short, the walk is made longer, until it has walked every place.
        """
        walk = 2 * (offset + limit) + 64 if located is None or offset < located else 0
        while True:
            rows, walked = self._nearest_walk(point, radius, walk, offset, limit, located)
            if len(rows) == limit or walked < walk or not walk:
                return rows
            walk *= 2

    def _nearest_walk(
        self, point: Point, radius: int | None, walk: int, offset: int, limit: int, located: int | None
    ) -> tuple[list[tuple[uuid.UUID, float | None]], int]:
        places = ServiceAtLocation.objects.filter(
            location__location_type=LocationType.PHYSICAL, location__point__isnull=False
        )
        if self.query.has_filters():
            places = places.annotate(fits=self.checked_by_row("service_id")).filter(fits__isnull=False)
        if radius is not None:
            places = places.filter(WithinMetres("location__point", point, radius))
        metres = SphereDistance("location__point", point)
        params: tuple[Any, ...]
        walk_sql, params = "SELECT NULL::uuid AS service_id, NULL::float8 AS metres WHERE false", ()
        if walk:  # not past the last service with a place
            walked = places.annotate(metres=metres).order_by(metres).values("service_id", "metres")[:walk]
            walk_sql, params = walked.query.sql_with_params()
        params = (*params, walk, offset, limit)
        unplaced_sql = "SELECT NULL::uuid, NULL::float8 WHERE false"
        if located is not None and offset + limit > located:
            skip = max(0, offset - located)
            unplaced = self.exclude(pk__in=self.placed_physically().values("pk")).order_by("pk").values("pk")
            unplaced_sql, unplaced_params = unplaced[skip : skip + limit].query.sql_with_params()
            # Django's own SQL with its parameters kept apart: nothing of the request is spliced in.
            unplaced_sql = f"SELECT id, NULL::float8 FROM ({unplaced_sql}) AS unplaced(id)"  # noqa: S608
            params = (*params, *unplaced_params)
        # On the database this queryset reads from (the replica for anonymous reads), like the ORM's queries.
        with connections[self.db].cursor() as cursor:
            cursor.execute(NEAREST_PAGE_SQL.format(walk=walk_sql, unplaced=unplaced_sql), params)
            found = cursor.fetchall()
        rows = [(service_id, metres) for _, service_id, metres in found if service_id is not None][:limit]
        return rows, found[0][0]

    def near(self, point: Point) -> ServiceQuerySet:
        """Nearest first: ``distance_m`` is the metres to the service's closest physical location.

        Services without a physical location (online, by phone) come last, with ``distance_m`` None.
        ``distance_accuracy`` is that location's PointAccuracy.
        """
        closest = (
            Location.objects.filter(
                service_at_locations__service=OuterRef("pk"),
                location_type=LocationType.PHYSICAL,
                point__isnull=False,
            )
            .annotate(metres=GeographyDistance("point", point))
            # KNN (``<->`` on the GiST index of the points): metres are computed for the closest place only.
            .order_by(GeometryDistance("point", point))
        )
        return self.annotate(
            distance_m=Subquery(closest.values("metres")[:1], output_field=models.FloatField()),
            # How exact that closest point is (a PointAccuracy): a distance from a postcode's or town's
            # centre would mislead, so only one from an exact point is shown.
            distance_accuracy=Subquery(closest.values("point_accuracy")[:1], output_field=models.CharField()),
        ).order_by(F("distance_m").asc(nulls_last=True), *SERVICE_ORDERING)


@dataclass
class WordMatch:
    """One word or "phrase" of a search text (or, for typos, the dictionary words one typed word is like) and
    the terms whose own words it is found in (:attr:`TaxonomyTerm.search_text`, looked up first)."""

    query: SearchQuery
    terms: list[uuid.UUID]

    def found(self) -> Q:
        """In the service's own words, as its type or as one of its attributes: each answered by an index (the
        stored vector's GIN index, the service type's and the attributes' term ids)."""
        own = Q(search_vector=self.query)
        if not self.terms:
            return own
        return (
            own
            | Q(service_type__in=self.terms)
            | Q(Exists(Attribute.objects.filter(service=OuterRef("pk"), taxonomy_term__in=self.terms)))
        )

    def ways(self) -> list[Q]:
        """:meth:`found` as conditions each answered by one index: what a search is driven by."""
        ways = [Q(search_vector=self.query)]
        if self.terms:
            attributes = Attribute.objects.filter(taxonomy_term__in=self.terms).values("service_id")
            ways += [Q(service_type__in=self.terms), Q(pk__in=attributes)]
        return ways


def _all_found(words: list[WordMatch]) -> Q:
    condition = Q()
    for word in words:
        condition &= word.found()
    return condition


def _driving(words: list[WordMatch]) -> WordMatch:
    """The word whose indexes drive the search for services all ``words`` are found in: one found in no term
    (a name's or a place's word, in the services' own words only), else the one found in fewest terms."""
    return min(words, key=lambda word: len(word.terms))


# Each word or "phrase" of a search text (websearch syntax) and whether its query has any lexeme (a stop word
# has none and, as in websearch_to_tsquery, is left out), with the terms it is found in; the typed words as
# the dictionary spells them (raw queries) likewise.
_TERMS_FOUND_SQL = """
SELECT item.n, numnode(query.q) > 0,
    ARRAY(SELECT term.id FROM directory_taxonomyterm AS term WHERE term.search_vector @@ query.q)
FROM unnest(%s::text[], %s::boolean[]) WITH ORDINALITY AS item(text, raw, n)
CROSS JOIN LATERAL (
    SELECT CASE WHEN item.raw THEN to_tsquery('german', item.text) ELSE websearch_to_tsquery('german', item.text) END
) AS query(q)
"""

# A search text's parts in websearch syntax: a "phrase" (excluded with a leading -), or a word.
_SEARCH_TOKEN = re.compile(r'-?"[^"]*"?|\S+')


@dataclass
class TextMatch:
    """What a search text matches, as conditions on services (see :meth:`ServiceQuerySet.matching`).

    ``full``: every word (or "phrase") of the text is found in the service's own words or in the words of its
    type or of one of its terms (websearch syntax: ``or`` between words, -excluded words), or, for typos, every
    word like a word of the dictionary is; ``by_term``: the services of a term whose search words the text
    says. A word is matched on the terms first (each term's vector, stored once on the term) and the services
    are found by their term ids: a service's own vector stays short and inline. All answered by indexes (the
    stored vector's GIN index, the terms' ids). The dictionary words and the terms are looked up first (two
    small queries), so the services' query holds them as constants: computed once, not once per place they are
    used, and the planner knows how many services they find.
    """

    # Each alternative ("or") of the text: the words that must all be found.
    alternatives: list[list[WordMatch]]
    # The typed words as the dictionary spells them (None: a word is like no word at all, or no words).
    spelt: list[WordMatch] | None
    excluded: list[WordMatch]
    full: Q
    by_term: Q
    said: list[uuid.UUID]

    @classmethod
    def of(cls, text: str) -> TextMatch:
        alternatives: list[list[str]] = [[]]
        excluded_texts: list[str] = []
        wanted: list[str] = []
        for token in _SEARCH_TOKEN.findall(text)[: MAX_FUZZY_WORDS * 2]:
            if token.startswith("-") and len(token) > 1:  # excluded, as websearch syntax says: by every branch
                excluded_texts.append(token[1:])
            elif token.lower() == "or":
                alternatives.append([])
            else:
                alternatives[-1].append(token)
                wanted += re.findall(r"\w{3,}", token)
        wanted = [word.lower() for word in wanted[:MAX_FUZZY_WORDS]]
        spellings = spelt_alternatives(wanted)
        typed = [token for alternative in alternatives for token in alternative] + excluded_texts
        found = _terms_found(typed, spellings or [])
        said = terms_said(text)

        def word(n: int, query: SearchQuery) -> WordMatch | None:
            """The n-th word looked up, None when its query has no lexeme (a stop word)."""
            has_lexemes, terms = found[n]
            return WordMatch(query=query, terms=terms) if has_lexemes else None

        matches = [
            word(n, SearchQuery(token, config="german", search_type="websearch")) for n, token in enumerate(typed, 1)
        ]
        words: list[list[WordMatch]] = []
        for alternative in alternatives:
            kept = [match for match in matches[: len(alternative)] if match is not None]
            matches = matches[len(alternative) :]
            if kept:
                words.append(kept)
        excluded = [match for match in matches if match is not None]
        spelt = None
        if spellings is not None:
            spelt_words = [
                word(len(typed) + n, SearchQuery(spelling, config="german", search_type="raw"))
                for n, spelling in enumerate(spellings, 1)
            ]
            spelt = [match for match in spelt_words if match is not None] or None
        not_excluded = Q()
        for match in excluded:
            not_excluded &= ~match.found()
        matched = Q(pk__in=[])
        for found_together in [*words, *([spelt] if spelt else [])]:
            matched |= _all_found(found_together)
        by_term = (
            Q(service_type__in=said)
            | Q(Exists(Attribute.objects.filter(service=OuterRef("pk"), taxonomy_term__in=said)))
        ) & not_excluded
        return cls(
            alternatives=words,
            spelt=spelt,
            excluded=excluded,
            full=matched & not_excluded,
            by_term=by_term if said else Q(pk__in=[]),
            said=said,
        )

    def full_branches(self, services: QuerySet[Any, Any]) -> list[QuerySet[Any, Any]]:
        """Those of ``services`` that match fully, as querysets each driven by one index (the driving word's
        vector, its terms as service type, as attribute; per alternative and for the spelling), the whole
        condition checked on each row found: a row is cheap to check, its vector being short and inline."""
        alternatives = [*self.alternatives, *([self.spelt] if self.spelt else [])]
        return [services.filter(way).filter(self.full) for words in alternatives for way in _driving(words).ways()]

    def any_full(self, services: QuerySet[Any, Any]) -> Q:
        """Whether one of ``services`` matches fully: uncorrelated, asked once, each branch by its index and
        stopping at its first match."""
        found = Q(pk__in=[])
        for branch in self.full_branches(services):
            found |= Q(Exists(branch))
        return found

    def candidates(self, *, repeated: bool = False) -> models.QuerySet[Any, Any]:
        """The ids of every service that may match, found by index (full text, the dictionary, the terms' ids),
        so that the conditions are computed for those rows and never for the whole catalogue.

        ``repeated``: an id may come once per branch that finds it, and the query can stop at a LIMIT (taking
        the ids once each means collecting all of them first: over a second for a common word at 100,000)."""
        branches = [branch.order_by().values("pk") for branch in self.full_branches(Service.objects.all())]
        branches.append(self.by_term_ids())
        return branches[0].union(*branches[1:], all=repeated)

    def by_term_ids(self) -> models.QuerySet[Any, Any]:
        """The ids of the services of a term the text names (as their type or an attribute), by index."""
        return (
            Service.objects.filter(service_type__in=self.said)
            .order_by()
            .values("pk")
            .union(Attribute.objects.filter(taxonomy_term__in=self.said).values("service_id"))
        )

    def relevance(self) -> Any:
        """Ranked on the service's own vector by every word (as typed and as the dictionary spells it), plus a
        little for a word found as its type."""
        words = [word for alternative in self.alternatives for word in alternative] + (self.spelt or [])
        if not words:
            return Value(0.0)
        rank: Any = Value(0.0)
        for word in words:
            rank += SearchRank(F("search_vector"), word.query)
        terms = [term for word in words for term in word.terms]
        if terms:
            # The type only: an attribute test would read all of a common term's attributes (a hashed subplan).
            rank += Case(When(service_type__in=terms, then=Value(0.1)), default=Value(0.0))
        return rank


def _terms_found(typed: list[str], spellings: list[str]) -> dict[int, tuple[bool, list[uuid.UUID]]]:
    """Per typed word or phrase (numbered from 1), then per spelt word: whether its query has a lexeme and the
    terms it is found in. One query."""
    params: list[Any] = [[*typed, *spellings], [False] * len(typed) + [True] * len(spellings)]
    # On the database the terms are read from (the replica for anonymous reads), like the ORM's queries.
    with connections[TaxonomyTerm.objects.db].cursor() as cursor:
        cursor.execute(_TERMS_FOUND_SQL, params)
        return {n: (has_lexemes, list(terms)) for n, has_lexemes, terms in cursor.fetchall()}


def spelt_alternatives(words: list[str]) -> list[str] | None:
    """Per word of ``words``, the dictionary words it is like (pg_trgm ``%>``: a word of the dictionary contains
    something like it), as a raw full-text query of alternatives; None when one is like no word at all.

    One query on the dictionary's trigram index (SearchWord: the distinct words of the names and terms):
    typos are forgiven without scanning any service's text.
    """
    if not words:
        return None
    # On the database the dictionary is read from (the replica for anonymous reads), like the ORM's queries.
    with connections[SearchWord.objects.db].cursor() as cursor:
        cursor.execute(SPELT_SQL, [words])
        alternatives = dict(cursor.fetchall())
    if len(alternatives) < len(words):
        return None
    return [alternatives[n] for n in sorted(alternatives)]


def _at_service_places(model: type[Language] | type[Schedule] | type[Accessibility], **conditions: object) -> Q:
    """Rows of ``model`` that belong to one of the service's locations (via service_at_location)."""
    return Q(Exists(model.objects.filter(location__service_at_locations__service=OuterRef("pk"), **conditions)))


def responsible_condition(ags: str) -> Q:
    """The one rule of responsibility for a place (AGS of any level), as a condition on services:
    an including area covers it and no excluding area does."""
    covering = ServiceArea.objects.filter(service=OuterRef("pk"), ags__in=ags_levels(ags))
    return Q(Exists(covering.filter(excludes=False))) & ~Q(Exists(covering.filter(excludes=True)))


def _languages_of_service() -> models.QuerySet[Language]:
    """The service's own languages (the outer query's service)."""
    return Language.objects.filter(service=OuterRef("pk"))


def _languages_at_places() -> models.QuerySet[Language]:
    """The languages of the service's places (via service_at_location); a phone's languages do not count."""
    return Language.objects.filter(location__service_at_locations__service=OuterRef("pk"))


def speaks(codes: list[str]) -> Q:
    """One of the languages is spoken at the service or at one of its places (see ``speaking``)."""
    return Q(Exists(_languages_of_service().filter(code__in=codes))) | Q(
        Exists(_languages_at_places().filter(code__in=codes))
    )


def _schedules(**conditions: object) -> Q:
    """Schedules of the service, of one of its service-at-locations or of one of its places."""
    return (
        Q(Exists(Schedule.objects.filter(service=OuterRef("pk"), **conditions)))
        | Q(Exists(Schedule.objects.filter(service_at_location__service=OuterRef("pk"), **conditions)))
        | _at_service_places(Schedule, **conditions)
    )


# The facts the yes/no filters ask for, each as the condition a service must meet: one rule for the
# filters (free(), walk_in(), barrier_free()) and for counting who states them (facts_stated()).
# "hours": opening hours are recorded at all (what "open now" can be computed from).
STATED: dict[str, Callable[[], Q]] = {
    # A "free" only written in fees_description is not read: free text is no fact a filter can trust.
    "free": lambda: Q(Exists(CostOption.objects.filter(service=OuterRef("pk"), amount=0))),
    "walk_in": lambda: _schedules(attending_type=AttendingType.WALK_IN),
    "barrier_free": lambda: _at_service_places(Accessibility),
    "hours": lambda: _schedules(is_closed=False),
    "eligibility": lambda: Q(
        Exists(Attribute.objects.filter(service=OuterRef("pk"), taxonomy_term__taxonomy__key="residence-status"))
    ),
}


# The filter parameters that take term codes (site and API alike) and the taxonomy of each.
TERM_FILTERS = {"need": "need", "target_group": "target-group", "eligibility": "residence-status"}

# Beyond this many words a query is a sentence, not a few misspelt words: its first words must do.
MAX_FUZZY_WORDS = 8


# Per typed word (%s, a text[]; by its position), the dictionary words it is like, as tsquery alternatives.
SPELT_SQL = """
SELECT typed.n, string_agg(quote_literal(known.word), ' | ' ORDER BY known.word)
FROM unnest(%s::text[]) WITH ORDINALITY AS typed(word, n)
JOIN directory_searchword AS known ON known.word %%> typed.word
GROUP BY typed.n
"""


class GeographyDistance(models.Func):
    """Metres between two SRID 4326 geometries, measured on the spheroid (ST_Distance of geography)."""

    function = "ST_Distance"
    output_field = models.FloatField()

    def __init__(self, geometry: str, point: Point) -> None:
        geography: models.PointField[Point, Point] = models.PointField(geography=True, srid=4326)
        super().__init__(
            Cast(geometry, geography),
            Cast(Value(point, output_field=models.PointField(srid=4326)), geography),
        )


def as_geography(geometry: str | models.Expression) -> Cast:
    """A SRID 4326 point as PostGIS geography (metres on the earth); the GiST index of
    Location.Meta is on exactly this expression, so a query must spell it so to use the index."""
    return Cast(geometry, models.PointField(geography=True, srid=4326))


class SphereDistance(models.Func):
    """Metres on the sphere from a point column to a point: geography ``<->``, which the GiST index of the
    points as geography answers nearest first (KNN) when a query orders by it. Within 0.5 % of
    :class:`GeographyDistance` (the spheroid), which no index orders by."""

    template = "(%(expressions)s)"
    arg_joiner = " <-> "
    output_field = models.FloatField()

    def __init__(self, geometry: str, point: Point) -> None:
        super().__init__(as_geography(geometry), as_geography(Value(point, output_field=models.PointField(srid=4326))))


class WithinMetres(models.Func):
    """Whether a point column is within ``metres`` of a point, on the sphere as :class:`SphereDistance`
    (ST_DWithin of geography: answered by the same index)."""

    function = "ST_DWithin"
    output_field = models.BooleanField()

    def __init__(self, geometry: str, point: Point, metres: int) -> None:
        super().__init__(
            as_geography(geometry),
            as_geography(Value(point, output_field=models.PointField(srid=4326))),
            Value(metres),
            Value(False),  # use_spheroid: the sphere, as the KNN order
        )


# One page of services nearest first from a walk of the nearest places ({walk}: service_id, metres, up to
# the walk's length, the first %s), then ({unplaced}) the page's services without a physical place. Always one
# row, with the number of places walked, so that a short page says whether the walk ended for want of places.
# A service's distance is its nearest walked place; unless every place was walked, only services nearer than
# the walk's last place are ranked (see ServiceQuerySet.nearest_page).
NEAREST_PAGE_SQL = """
WITH walk AS MATERIALIZED ({walk}),
edge AS (SELECT count(*) AS walked, max(metres) AS farthest FROM walk)
SELECT edge.walked, page.service_id, page.metres FROM edge LEFT JOIN LATERAL (
    (SELECT service_id, min(metres) AS metres FROM walk GROUP BY service_id
    HAVING edge.walked < %s OR min(metres) < edge.farthest
    ORDER BY 2, 1 OFFSET %s LIMIT %s)
    UNION ALL ({unplaced})
) AS page ON true
"""


SERVICE_ORDERING = [Lower(KT("name__de")).asc()]


class JobcenterForm(models.TextChoices):
    """How a Jobcenter is run (SGB II § 6d): jointly with the Agentur für Arbeit, or by the Kreis/city alone."""

    GEMEINSAME_EINRICHTUNG = "gemeinsame-einrichtung", _("joint institution of the district and the employment agency")
    ZUGELASSENER_KOMMUNALER_TRAEGER = (
        "zugelassener-kommunaler-traeger",
        _("run by the district or city alone (approved municipal provider)"),
    )


class Service(Record):
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="services")
    program = models.ForeignKey(Program, on_delete=models.SET_NULL, null=True, blank=True, related_name="services")
    service_type = models.ForeignKey(
        TaxonomyTerm,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        limit_choices_to={"taxonomy__key": "service-type"},
    )
    name = TranslatedField(require_german=True)
    alternate_name = models.CharField(max_length=200, blank=True)
    description = TranslatedField(textarea=True)
    url = models.URLField(max_length=500, blank=True)
    email = models.EmailField(blank=True)
    # Where the e-mail address, website and the name on the door come from: often the office's own page,
    # while the service's own source (what it is, whom it serves) is a law or a programme's document.
    contact_source = models.ForeignKey(Source, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    status = models.CharField(max_length=20, choices=ServiceStatus.choices, default=ServiceStatus.ACTIVE)
    jobcenter_form = models.CharField(
        max_length=40,
        choices=JobcenterForm.choices,
        blank=True,
        help_text="Jobcenter only: gemeinsame Einrichtung or zugelassener kommunaler Träger (SGB II §§ 6a, 44b)",
    )
    interpretation_services = TranslatedField(textarea=True)
    application_process = TranslatedField(textarea=True)
    fees_description = TranslatedField(textarea=True)
    eligibility_description = TranslatedField(textarea=True)
    wait_time = models.CharField(max_length=200, blank=True)
    accreditations = models.CharField(max_length=300, blank=True)
    licenses = models.CharField(max_length=300, blank=True)
    alert = TranslatedField(textarea=True)
    minimum_age = models.PositiveSmallIntegerField(null=True, blank=True)
    maximum_age = models.PositiveSmallIntegerField(null=True, blank=True)
    # Where an imported service came from: the key of the importing list's Source and that list's own id for
    # the service (spreadsheet column "Quell-ID"), so importing the list again updates instead of duplicating.
    external_source = models.CharField(
        max_length=100, blank=True, help_text="Key of the source (list) the external id belongs to"
    )
    external_id = models.CharField(
        max_length=100, blank=True, help_text="The source's own id of this service (spreadsheet column Quell-ID)"
    )

    # The service's own words a visitor may search for, in all languages (its and its organisation's names, its
    # descriptions): filled by services.refresh_search_text(). Its type's and terms' words are the terms' own
    # (TaxonomyTerm.search_text), matched there and found by term id: a short text, and a vector kept inline.
    search_text = models.TextField(blank=True, editable=False)
    # Its and its organisation's names only.
    search_names = models.TextField(blank=True, editable=False)
    # Its German full-text vector, stored: computing it per row costs more than the whole rest of a search.
    search_vector = models.GeneratedField(
        expression=SearchVector("search_text", config="german"), output_field=SearchVectorField(), db_persist=True
    )

    objects = ServiceQuerySet.as_manager()

    class Meta:
        ordering = SERVICE_ORDERING
        indexes = [
            # No trigram index on search_names: typos are looked up in SearchWord, and a trigram index over
            # 4,000 characters a service cost about 10 ms a row to keep: most of the time of writing 100,000.
            GinIndex(fields=["search_vector"], name="service_search_vector"),
            # The list order (SERVICE_ORDERING): a list by name is read in order, never sorted whole.
            models.Index(*SERVICE_ORDERING, name="service_name_order"),
        ]
        constraints = record_constraints(
            models.CheckConstraint(condition=Q(name__has_key="de"), name="service_name_in_german"),
            # An age range that admits nobody is a data error, not a service.
            models.CheckConstraint(
                condition=Q(minimum_age__isnull=True)
                | Q(maximum_age__isnull=True)
                | Q(minimum_age__lte=F("maximum_age")),
                name="service_age_range_ordered",
            ),
            models.CheckConstraint(
                condition=Q(maximum_age__isnull=True) | Q(maximum_age__lte=120), name="service_age_plausible"
            ),
            # Re-importing a list must find the one service it created for a Quell-ID.
            models.UniqueConstraint(
                fields=["external_source", "external_id"],
                condition=~Q(external_id=""),
                name="service_external_id_once",
            ),
            models.CheckConstraint(
                condition=Q(jobcenter_form="") | Q(jobcenter_form__in=JobcenterForm.values),
                name="service_jobcenter_form",
            ),
            # An external id means nothing without the list it comes from.
            models.CheckConstraint(
                condition=Q(external_id="") | ~Q(external_source=""), name="service_external_id_has_source"
            ),
        )

    def __str__(self) -> str:
        return str(translate(self.name, "de"))

    def text(self, field: str, language: str | None = None) -> Translated:
        return translate(getattr(self, field), language)


class SearchWord(models.Model):
    """A word of the services' names and terms (``Service.search_names``), three letters or more, lower case:
    the dictionary a typo is looked up in, by its trigram index. Filled by ``services.refresh_search_text``;
    a word no service uses any more finds nothing by full text, so it is harmless until pruned."""

    word = models.TextField(primary_key=True)

    class Meta:
        indexes = [GinIndex(fields=["word"], opclasses=["gin_trgm_ops"], name="search_word_trigram")]

    def __str__(self) -> str:
        return self.word


class ServiceFacts(models.Model):
    """What the search's filter counts read of a service, stored: whether it states each fact a yes/no filter
    asks for (:data:`STATED`) and the languages spoken there (:func:`speaks`).

    Derived, never edited: ``services.refresh_search_text`` rebuilds it with the search text, from
    :meth:`ServiceQuerySet.stated_facts`. The filters themselves still ask the records; only the counts beside
    them read these rows, so a search counts over its 201 services by one scan instead of some 4,600 lookups.
    """

    service = models.OneToOneField(Service, on_delete=models.CASCADE, primary_key=True, related_name="facts")
    free = models.BooleanField()
    walk_in = models.BooleanField()
    barrier_free = models.BooleanField()
    hours = models.BooleanField()
    eligibility = models.BooleanField()
    languages = ArrayField(models.CharField(max_length=10), default=list)

    def __str__(self) -> str:
        return f"facts of {self.service_id}"


class LocationType(models.TextChoices):
    PHYSICAL = "physical", "physical"
    POSTAL = "postal", "postal"
    VIRTUAL = "virtual", "virtual"


class PointAccuracy(models.TextChoices):
    EXACT = "exact", "exact (placed by an editor)"
    POSTCODE = "postcode", "approximate: postcode centroid"
    MUNICIPALITY = "municipality", "approximate: somewhere in the Gemeinde"


class LocationQuerySet(models.QuerySet["Location"]):
    def in_kreis(self, kreis_ags: str) -> LocationQuerySet:
        return self.filter(gemeinde__kreis_id=kreis_ags)


class Location(Record):
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, null=True, blank=True, related_name="locations"
    )
    location_type = models.CharField(max_length=10, choices=LocationType.choices, default=LocationType.PHYSICAL)
    name = TranslatedField()
    alternate_name = models.CharField(max_length=200, blank=True)
    description = TranslatedField(textarea=True)
    transportation = TranslatedField(textarea=True)
    url = models.URLField(blank=True)
    point = models.PointField(srid=4326, null=True, blank=True)
    point_accuracy = models.CharField(max_length=15, choices=PointAccuracy.choices, blank=True)
    gemeinde = models.ForeignKey(
        Gemeinde,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="locations",
        help_text="The Gemeinde the place lies in",
    )
    external_identifier = models.CharField(max_length=100, blank=True)
    external_identifier_type = models.CharField(max_length=50, blank=True)

    objects = LocationQuerySet.as_manager()

    class Meta:
        ordering = ["gemeinde__name", "id"]
        indexes = [
            models.Index(fields=["gemeinde"]),
            # Nearest first in metres (KNN of geography ``<->``, SphereDistance) and radius checks (WithinMetres).
            GistIndex(as_geography("point"), name="location_point_geography"),
        ]
        constraints = record_constraints(
            # A physical place is somewhere: it has a point (maybe approximate, then marked as such).
            models.CheckConstraint(
                condition=~Q(location_type="physical") | Q(point__isnull=False), name="physical_location_has_point"
            ),
            models.CheckConstraint(
                condition=Q(point__isnull=True) | ~Q(point_accuracy=""), name="location_point_accuracy_given"
            ),
        )

    def __str__(self) -> str:
        name = str(translate(self.name, "de"))
        return name or f"{self.get_location_type_display()} location {self.id}"

    @property
    def is_approximate(self) -> bool:
        return self.point_accuracy in {PointAccuracy.POSTCODE, PointAccuracy.MUNICIPALITY}

    @property
    def street_addresses(self) -> list[Address]:
        """Its addresses that name a street (a page gave one), from the prefetched addresses."""
        return [address for address in related(self, "addresses") if address.address_1]


class AddressType(models.TextChoices):
    PHYSICAL = "physical", "physical"
    POSTAL = "postal", "postal"
    VIRTUAL = "virtual", "virtual"


class Address(Record):
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="addresses")
    attention = models.CharField(max_length=200, blank=True)
    address_1 = models.CharField("street and number", max_length=200, blank=True)
    address_2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100)
    region = models.CharField(max_length=100, blank=True)
    state_province = models.CharField(max_length=100, default="Nordrhein-Westfalen")
    postal_code = models.CharField(max_length=5, blank=True)
    country = models.CharField(max_length=2, default="DE")
    address_type = models.CharField(max_length=10, choices=AddressType.choices, default=AddressType.PHYSICAL)

    class Meta:
        verbose_name_plural = "addresses"
        constraints = record_constraints(
            models.CheckConstraint(
                condition=Q(postal_code="") | Q(postal_code__regex=POSTCODE), name="address_postcode_format"
            ),
            models.CheckConstraint(condition=Q(country__regex=r"^[A-Z]{2}$"), name="address_country_iso"),
        )

    def __str__(self) -> str:
        return ", ".join(part for part in (self.address_1, f"{self.postal_code} {self.city}".strip()) if part)


class ServiceAtLocation(Record):
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="service_at_locations")
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="service_at_locations")
    description = TranslatedField(textarea=True)

    class Meta:
        verbose_name = "service at location"
        constraints = record_constraints(
            models.UniqueConstraint(fields=["service", "location"], name="service_at_location_once"),
        )

    def __str__(self) -> str:
        return f"{self.service} @ {self.location}"


class ServiceArea(Record):
    """Zuständigkeit: a service is responsible for the area with this AGS (or, with ``excludes``, not)."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="service_areas")
    ags = models.CharField("AGS", max_length=8, db_index=True)
    excludes = models.BooleanField(
        default=False, help_text="Carve this area out of a larger one (a town with its own office)."
    )
    name = models.CharField(max_length=200, blank=True)
    description = TranslatedField(textarea=True)
    # HSDS service_area.extent; copied from the geography so the API can show it.
    extent = models.MultiPolygonField(srid=4326, null=True, blank=True)

    class Meta:
        ordering = ["ags"]
        constraints = record_constraints(
            models.CheckConstraint(condition=Q(ags__regex=AGS_ANY_LEVEL), name="service_area_ags_format"),
            models.UniqueConstraint(fields=["service", "ags"], name="service_area_once_per_service"),
        )

    def __str__(self) -> str:
        return f"{'not ' if self.excludes else ''}{self.name or self.ags}"


class Contact(Record):
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, null=True, blank=True, related_name="contacts"
    )
    service = models.ForeignKey(Service, on_delete=models.CASCADE, null=True, blank=True, related_name="contacts")
    location = models.ForeignKey(Location, on_delete=models.CASCADE, null=True, blank=True, related_name="contacts")
    service_at_location = models.ForeignKey(
        ServiceAtLocation, on_delete=models.CASCADE, null=True, blank=True, related_name="contacts"
    )
    name = models.CharField(max_length=200, blank=True)
    title = models.CharField(max_length=200, blank=True)
    department = models.CharField(max_length=200, blank=True)
    email = models.EmailField(blank=True)

    class Meta:
        constraints = record_constraints(
            models.CheckConstraint(
                condition=exactly_one("organization", "service", "location", "service_at_location"),
                name="contact_belongs_to_one_record",
            ),
        )

    def __str__(self) -> str:
        return self.name or self.department or self.email or str(self.id)


class PhoneType(models.TextChoices):
    # HSDS 3.0 phone.type values.
    VOICE = "voice", "voice"
    TEXT = "text", "text (SMS)"
    CELL = "cell", "mobile"
    FAX = "fax", "fax"
    VIDEO = "video", "video"
    PAGER = "pager", "pager"
    TEXTPHONE = "textphone", "textphone"


class Phone(Record):
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, null=True, blank=True, related_name="phones"
    )
    service = models.ForeignKey(Service, on_delete=models.CASCADE, null=True, blank=True, related_name="phones")
    location = models.ForeignKey(Location, on_delete=models.CASCADE, null=True, blank=True, related_name="phones")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, null=True, blank=True, related_name="phones")
    service_at_location = models.ForeignKey(
        ServiceAtLocation, on_delete=models.CASCADE, null=True, blank=True, related_name="phones"
    )
    number = models.CharField(max_length=40)
    extension = models.CharField(max_length=10, blank=True, validators=[validate_phone_extension])
    type = models.CharField(max_length=10, choices=PhoneType.choices, default=PhoneType.VOICE)
    description = TranslatedField()

    class Meta:
        constraints = record_constraints(
            # Digits with the usual separators, so a tel: link can be built from it.
            models.CheckConstraint(condition=Q(number__regex=PHONE_NUMBER), name="phone_number_format"),
            models.CheckConstraint(
                condition=exactly_one("organization", "service", "location", "contact", "service_at_location"),
                name="phone_belongs_to_one_record",
            ),
        )

    def __str__(self) -> str:
        return self.number

    @property
    def international(self) -> str:
        return international_number(self.number)


class Schedule(Record):
    """A weekly slot (opens/closes on some weekdays) or, with ``is_closed``, a closure between two dates.

    valid_from/valid_to bound a slot in time (summer hours) or give a closure's dates; times are local
    (Europe/Berlin), as HSDS's ``timezone`` field says.
    """

    service = models.ForeignKey(Service, on_delete=models.CASCADE, null=True, blank=True, related_name="schedules")
    location = models.ForeignKey(Location, on_delete=models.CASCADE, null=True, blank=True, related_name="schedules")
    service_at_location = models.ForeignKey(
        ServiceAtLocation, on_delete=models.CASCADE, null=True, blank=True, related_name="schedules"
    )
    freq = models.CharField(max_length=10, default="WEEKLY", choices=[("WEEKLY", "weekly")])
    byday = models.CharField(max_length=30, blank=True, help_text="Weekdays, e.g. MO,TU,TH")
    opens_at = models.TimeField(null=True, blank=True)
    closes_at = models.TimeField(null=True, blank=True)
    valid_from = models.DateField(null=True, blank=True)
    valid_to = models.DateField(null=True, blank=True)
    timezone = models.CharField(max_length=40, default="Europe/Berlin")
    is_closed = models.BooleanField(default=False, help_text="A closure (holiday, move) between the valid dates")
    attending_type = models.CharField(max_length=15, choices=AttendingType.choices, blank=True)
    description = TranslatedField()
    notes = models.CharField(max_length=300, blank=True)
    schedule_link = models.URLField(max_length=500, blank=True)

    class Meta:
        ordering = ["byday", "opens_at"]
        constraints = record_constraints(
            # A slot closes after it opens (overnight hours do not occur in this domain).
            models.CheckConstraint(
                condition=Q(opens_at__isnull=True) | Q(closes_at__isnull=True) | Q(closes_at__gt=F("opens_at")),
                name="schedule_closes_after_opening",
            ),
            models.CheckConstraint(
                condition=Q(valid_from__isnull=True) | Q(valid_to__isnull=True) | Q(valid_to__gte=F("valid_from")),
                name="schedule_valid_range_ordered",
            ),
            models.CheckConstraint(condition=Q(byday="") | Q(byday__regex=BYDAY), name="schedule_byday_format"),
            # An opening slot needs days and times; a closure needs the day it starts.
            models.CheckConstraint(
                condition=Q(is_closed=True, valid_from__isnull=False)
                | Q(is_closed=False, opens_at__isnull=False, closes_at__isnull=False) & ~Q(byday=""),
                name="schedule_slot_or_closure_complete",
            ),
            models.CheckConstraint(
                condition=exactly_one("service", "location", "service_at_location"),
                name="schedule_belongs_to_one_record",
            ),
        )

    def __str__(self) -> str:
        if self.is_closed:
            return f"closed {self.valid_from}–{self.valid_to or self.valid_from}"
        return (
            f"{self.byday} {self.opens_at:%H:%M}–{self.closes_at:%H:%M}"
            if self.opens_at and self.closes_at
            else self.byday
        )

    @property
    def weekdays(self) -> list[str]:
        return self.byday.split(",") if self.byday else []


class Language(Record):
    service = models.ForeignKey(Service, on_delete=models.CASCADE, null=True, blank=True, related_name="languages")
    location = models.ForeignKey(Location, on_delete=models.CASCADE, null=True, blank=True, related_name="languages")
    phone = models.ForeignKey(Phone, on_delete=models.CASCADE, null=True, blank=True, related_name="languages")
    code = models.CharField("ISO 639 code", max_length=3)
    name = models.CharField(max_length=100, blank=True)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["code"]
        constraints = record_constraints(
            models.CheckConstraint(condition=Q(code__regex=ISO_639), name="language_code_iso_639"),
            models.CheckConstraint(
                condition=exactly_one("service", "location", "phone"), name="language_belongs_to_one_record"
            ),
            models.UniqueConstraint(fields=["service", "code"], name="language_once_per_service"),
            models.UniqueConstraint(fields=["location", "code"], name="language_once_per_location"),
            models.UniqueConstraint(fields=["phone", "code"], name="language_once_per_phone"),
        )

    def __str__(self) -> str:
        return self.code


class Accessibility(Record):
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="accessibility")
    description = TranslatedField(textarea=True)
    details = models.CharField(max_length=300, blank=True, help_text="e.g. step-free entrance, accessible toilet")
    url = models.URLField(blank=True)

    class Meta:
        verbose_name_plural = "accessibility"

    def __str__(self) -> str:
        return self.details or str(translate(self.description, "de"))


class CostOption(Record):
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="cost_options")
    valid_from = models.DateField(null=True, blank=True)
    valid_to = models.DateField(null=True, blank=True)
    option = models.CharField(max_length=200, blank=True)
    currency = models.CharField(max_length=3, default="EUR")
    amount = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    amount_description = TranslatedField()

    class Meta:
        constraints = record_constraints(
            models.CheckConstraint(
                condition=Q(amount__isnull=True) | Q(amount__gte=0), name="cost_amount_not_negative"
            ),
            models.CheckConstraint(condition=Q(currency__regex=r"^[A-Z]{3}$"), name="cost_currency_iso_4217"),
            models.CheckConstraint(
                condition=Q(valid_from__isnull=True) | Q(valid_to__isnull=True) | Q(valid_to__gte=F("valid_from")),
                name="cost_valid_range_ordered",
            ),
        )

    def __str__(self) -> str:
        return self.option or (f"{self.amount} {self.currency}" if self.amount is not None else "cost")

    @property
    def is_free(self) -> bool:
        return self.amount == 0


class RequiredDocument(Record):
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="required_documents")
    document = TranslatedField(require_german=True)
    uri = models.URLField(blank=True)

    def __str__(self) -> str:
        return str(translate(self.document, "de"))


class Funding(Record):
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, null=True, blank=True, related_name="funding"
    )
    service = models.ForeignKey(Service, on_delete=models.CASCADE, null=True, blank=True, related_name="funding")
    source_text = models.CharField("funded by", max_length=300)

    class Meta:
        constraints = record_constraints(
            models.CheckConstraint(
                condition=exactly_one("organization", "service"), name="funding_belongs_to_one_record"
            ),
        )

    def __str__(self) -> str:
        return self.source_text


class Attribute(Record):
    """A taxonomy term attached to a service, organisation or location (need, eligibility, target group …)."""

    taxonomy_term = models.ForeignKey(TaxonomyTerm, on_delete=models.CASCADE, related_name="attributes")
    service = models.ForeignKey(Service, on_delete=models.CASCADE, null=True, blank=True, related_name="attributes")
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, null=True, blank=True, related_name="attributes"
    )
    location = models.ForeignKey(Location, on_delete=models.CASCADE, null=True, blank=True, related_name="attributes")
    value = models.CharField(max_length=200, blank=True)
    label = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = record_constraints(
            models.CheckConstraint(
                condition=exactly_one("service", "organization", "location"), name="attribute_belongs_to_one_record"
            ),
            models.UniqueConstraint(fields=["taxonomy_term", "service"], name="attribute_once_per_service"),
            models.UniqueConstraint(fields=["taxonomy_term", "organization"], name="attribute_once_per_organization"),
            models.UniqueConstraint(fields=["taxonomy_term", "location"], name="attribute_once_per_location"),
        )

    def __str__(self) -> str:
        return f"{self.taxonomy_term.taxonomy.key}:{self.taxonomy_term.code}"
