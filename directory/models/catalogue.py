"""The HSDS 3.0 catalogue with a German profile: organisations, services, places and what hangs off them.

Field names follow HSDS 3.0 (``docs/hsds-3.0/``), so the API is a view of these models. The querysets are the
one vocabulary of filters that the site and the API share.
"""

from __future__ import annotations

import re
import uuid

from django.contrib.gis.db import models
from django.contrib.gis.geos import Point
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import (
    SearchQuery,
    SearchRank,
    SearchVector,
    SearchVectorField,
    TrigramWordSimilarity,
)
from django.db.models import Exists, F, OuterRef, Q, Subquery, Value
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Lower
from django.utils.translation import gettext_lazy as _

from directory.hours import BYDAY, AttendingType
from directory.models.geography import AGS_ANY_LEVEL, POSTCODE, Gemeinde, ags_levels
from directory.models.provenance import Record, Source, record_constraints
from directory.translation import Translated, TranslatedField, translate

# --- Well-formed codes ---------------------------------------------------------------------------------
# (The weekday codes, BYDAY and attending types belong to opening hours: directory.hours.)

ISO_639 = r"^[a-z]{2,3}$"
PHONE_NUMBER = r"^\+?[0-9][0-9 ()/.-]{2,30}[0-9]$"
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


class TaxonomyTermQuerySet(models.QuerySet["TaxonomyTerm"]):
    def of(self, taxonomy_key: str) -> TaxonomyTermQuerySet:
        return self.filter(taxonomy__key=taxonomy_key)


class TaxonomyTerm(Record):
    taxonomy = models.ForeignKey(Taxonomy, on_delete=models.CASCADE, related_name="terms")
    code = models.SlugField(max_length=50)
    name = TranslatedField(require_german=True)
    description = TranslatedField(textarea=True)
    parent = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="children")
    term_uri = models.URLField(blank=True)
    sort = models.PositiveSmallIntegerField(default=0)

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
        levels = ags_levels(place)
        covering = ServiceArea.objects.filter(service=OuterRef("pk"), ags__in=levels)
        return self.filter(Exists(covering.filter(excludes=False)), ~Exists(covering.filter(excludes=True)))

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
        tagged = Attribute.objects.filter(service=OuterRef("pk"), taxonomy_term__taxonomy__key="residence-status")
        return self.filter(Q(Exists(tagged.filter(taxonomy_term__code=residence_status))) | ~Q(Exists(tagged)))

    def with_filter_term(self, parameter: str, code: str) -> ServiceQuerySet:
        """The term filter a parameter of :data:`TERM_FILTERS` names (eligibility has its own rule)."""
        if parameter == "eligibility":
            return self.eligible(code)
        return self.with_term(TERM_FILTERS[parameter], code)

    def speaking(self, language_code: str) -> ServiceQuerySet:
        """Services where one can speak the language: the service's own languages or those of one of its places.

        A place's languages count too: a counselling service held in Arabic at one office speaks Arabic.
        Languages of a phone line do not (they say who answers the phone, not who gives the service).
        """
        return self.filter(
            Q(Exists(Language.objects.filter(service=OuterRef("pk"), code=language_code)))
            | _at_service_places(Language, code=language_code)
        )

    def free(self) -> ServiceQuerySet:
        """Services with a cost option of amount 0.

        A "free" only written in ``fees_description`` is not read: free text is no fact a filter can trust.
        """
        return self.filter(Exists(CostOption.objects.filter(service=OuterRef("pk"), amount=0)))

    def walk_in(self) -> ServiceQuerySet:
        """A walk-in schedule on the service, one of its places or one of its service-at-locations."""
        walk_in = AttendingType.WALK_IN
        return self.filter(
            Q(Exists(Schedule.objects.filter(service=OuterRef("pk"), attending_type=walk_in)))
            | Q(Exists(Schedule.objects.filter(service_at_location__service=OuterRef("pk"), attending_type=walk_in)))
            | _at_service_places(Schedule, attending_type=walk_in)
        )

    def barrier_free(self) -> ServiceQuerySet:
        """One of the service's places has an accessibility record."""
        return self.filter(_at_service_places(Accessibility))

    def run_as(self, jobcenter_form: str) -> ServiceQuerySet:
        """Jobcenters run that way (gemeinsame Einrichtung or zugelassener kommunaler Träger)."""
        return self.filter(jobcenter_form=jobcenter_form)

    def for_age(self, age: int) -> ServiceQuerySet:
        return self.filter(
            Q(minimum_age__isnull=True) | Q(minimum_age__lte=age),
            Q(maximum_age__isnull=True) | Q(maximum_age__gte=age),
        )

    def matching(self, text: str) -> ServiceQuerySet:
        """Services whose ``search_text`` matches ``text``, annotated with ``relevance`` (higher is better).

        A service matches the German full-text query (stemmed: "Beratungen" finds "Beratung"; websearch
        syntax: "a phrase", -excluded, or) or, so that typos still find something, every word of three or
        more letters is like a word of its text (pg_trgm ``%>``: "Integrazion" finds "Integration").
        Per word rather than the whole text, so "Integration Point" is not matched by every text that
        only says "Integration". The typo branch looks at names and terms only (``search_names``): cheap.
        """
        query = SearchQuery(text, config="german", search_type="websearch")
        wanted: list[str] = []
        typos = Q()
        for token in text.split()[: MAX_FUZZY_WORDS * 2]:
            if token.startswith("-") and len(token) > 1:  # excluded, as websearch syntax says: by the typo branch too
                typos &= ~Q(search_vector=SearchQuery(token[1:], config="german", search_type="plain"))
            else:
                wanted += re.findall(r"\w{3,}", token)
        for word in wanted[:MAX_FUZZY_WORDS]:
            typos &= Q(search_names__trigram_word_similar=word)
        matches = Q(search_vector=query) | typos if wanted else Q(search_vector=query)
        return self.filter(matches).annotate(
            relevance=SearchRank(F("search_vector"), query) + TrigramWordSimilarity(text, "search_names")
        )

    def near(self, point: Point) -> ServiceQuerySet:
        """Nearest first: ``distance_m`` is the metres to the service's closest physical location.

        Services without a physical location (online, by phone) come last, with ``distance_m`` None.
        """
        closest = (
            Location.objects.filter(
                service_at_locations__service=OuterRef("pk"),
                location_type=LocationType.PHYSICAL,
                point__isnull=False,
            )
            .annotate(metres=GeographyDistance("point", point))
            .order_by("metres")
            .values("metres")[:1]
        )
        return self.annotate(distance_m=Subquery(closest, output_field=models.FloatField())).order_by(
            F("distance_m").asc(nulls_last=True), *SERVICE_ORDERING
        )


def _at_service_places(model: type[Language] | type[Schedule] | type[Accessibility], **conditions: object) -> Q:
    """Rows of ``model`` that belong to one of the service's locations (via service_at_location)."""
    return Q(Exists(model.objects.filter(location__service_at_locations__service=OuterRef("pk"), **conditions)))


# The filter parameters that take term codes (site and API alike) and the taxonomy of each.
TERM_FILTERS = {"need": "need", "target_group": "target-group", "eligibility": "residence-status"}

# Beyond this many words a query is a sentence, not a few misspelt words: its first words must do.
MAX_FUZZY_WORDS = 8


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

    # Everything a visitor may search for, in all languages: filled by services.refresh_search_text().
    search_text = models.TextField(blank=True, editable=False)
    # Names and terms only (short): where typos are forgiven by trigram similarity, cheaply.
    search_names = models.TextField(blank=True, editable=False)
    # Its German full-text vector, stored: computing it per row costs more than the whole rest of a search.
    search_vector = models.GeneratedField(
        expression=SearchVector("search_text", config="german"), output_field=SearchVectorField(), db_persist=True
    )

    objects = ServiceQuerySet.as_manager()

    class Meta:
        ordering = SERVICE_ORDERING
        indexes = [
            GinIndex(fields=["search_vector"], name="service_search_vector"),
            GinIndex(fields=["search_names"], opclasses=["gin_trgm_ops"], name="service_search_trigram"),
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
        indexes = [models.Index(fields=["gemeinde"])]
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
        return [address for address in self.addresses.all() if address.address_1]


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
    extension = models.CharField(max_length=10, blank=True)
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
