"""The catalogue as Open Referral HSDS 3.0 objects, with the Wegweiser NRW profile (docs/api.md).

Two halves: querysets that fetch everything a representation needs in a fixed number of queries
(``*_queryset`` functions: select_related for one-to-one fields, nested Prefetch objects for lists),
and functions that turn the fetched records into dicts (no queries: they only read what was prefetched).

Rules every function follows:

- Translated text is given in the requested content language; where a field falls back to another
  language (German first), the object lists it in ``language_fallback`` (field name → language served).
- An unknown fact is omitted. Only where the HSDS schema requires a string (``description`` of an
  organisation, ``address_1`` of an address …) is an unknown fact an empty string; nothing is made up.
- Empty lists are omitted as well: a missing ``phones`` means "no phone number known".
- Every record serialised is remembered by the :class:`Context`, whose ``last_modified`` is then the
  newest ``updated_at`` of the records in the response (the API's Last-Modified header).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.gis.db.models import Union
from django.contrib.gis.db.models.functions import AsGeoJSON
from django.contrib.gis.geos import GEOSGeometry
from django.db.models import OuterRef, Prefetch, QuerySet, Subquery, TextField, Value
from django.db.models.functions import Coalesce

from directory.models import (
    Accessibility,
    Address,
    Attribute,
    Contact,
    CostOption,
    Funding,
    Gemeinde,
    Kreis,
    Language,
    Location,
    Organization,
    Phone,
    Program,
    Record,
    Regierungsbezirk,
    RequiredDocument,
    Schedule,
    Service,
    ServiceArea,
    ServiceAtLocation,
    Source,
    Taxonomy,
    TaxonomyTerm,
)
from directory.translation import translate
from directory.validation import ascii_digits

JSON = dict[str, Any]

HSDS_VERSION = "3.0"
# Opening hours are wall-clock times in this zone (profile field ``tzid`` on every schedule).
TIMEZONE = "Europe/Berlin"
COORDINATE_DECIMALS = 6  # ~0.1 m
EXTENT_DECIMALS = 6

# What an attribute's taxonomy term describes (HSDS attribute.link_type), per taxonomy key.
LINK_TYPES = {
    "need": "need",
    "residence-status": "eligibility",
    "target-group": "target_group",
    "german-level": "german_level",
    "service-type": "service_type",
}
# A service's type is a foreign key, not an Attribute row; its attribute gets a stable id from this namespace.
SERVICE_TYPE_ATTRIBUTE_NAMESPACE = uuid.UUID("6f1d9a52-3c2e-5b8e-9a47-1c0d2e3f4a5b")


@dataclass
class Context:
    """How to serialise (the content language) and what was serialised (the newest change)."""

    language: str
    last_modified: dt.datetime | None = None

    def seen(self, record: Record) -> None:
        if self.last_modified is None or record.updated_at > self.last_modified:
            self.last_modified = record.updated_at


@dataclass
class Builder:
    """One HSDS object under construction: skips unknown values, translates text, notes fallbacks."""

    ctx: Context
    data: JSON = field(default_factory=dict)
    fallback: dict[str, str] = field(default_factory=dict)

    def put(self, key: str, value: Any) -> Builder:
        if value is not None and value != "" and value != []:
            self.data[key] = value
        return self

    def required(self, key: str, value: str) -> Builder:
        """A string the schema requires: empty when unknown, never invented."""
        self.data[key] = value or ""
        return self

    def text(self, key: str, value: dict[str, str] | None, *, required: bool = False) -> Builder:
        translated = translate(value, self.ctx.language)
        if translated.text:
            self.data[key] = translated.text
            if translated.language != self.ctx.language:
                self.fallback[key] = translated.language
        elif required:
            self.data[key] = ""
        return self

    def many(self, key: str, items: Iterable[Any], serialise: Any) -> Builder:
        return self.put(key, [serialise(item, self.ctx) for item in items])

    def build(self) -> JSON:
        if self.fallback:
            self.data["language_fallback"] = self.fallback
        return self.data


def start(record: Record, ctx: Context) -> Builder:
    ctx.seen(record)
    return Builder(ctx).put("id", str(record.id))


def ident(value: uuid.UUID | str | None) -> str | None:
    return str(value) if value is not None else None


def iso(value: dt.date | dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def local_time(value: dt.time | None) -> str | None:
    return value.strftime("%H:%M") if value is not None else None


def provenance(record: Record) -> JSON:
    """Profile field ``provenance``: verification state, when it was last verified and the source."""
    out: JSON = {"verification_state": record.verification_state}
    if record.last_verified_at is not None:
        out["last_verified_at"] = record.last_verified_at.isoformat()
    if record.source is not None:
        out["source"] = source_json(record.source)
    return out


def source_json(source: Source) -> JSON:
    """A source as the profile gives it: ``date`` is what it states, ``read`` the day a public page was read."""
    return {
        key: value
        for key, value in (
            ("title", source.title),
            ("publisher", source.publisher),
            ("url", source.url),
            ("document", source.document),
            ("date", iso(source.date)),
            ("year", source.year),
            ("read", iso(source.read_on)),
            ("public_page", source.is_public_page or None),
        )
        if value not in (None, "")
    }


# --- Querysets: everything a representation reads, in a fixed number of queries -----------------------------


def languages_queryset() -> QuerySet[Language]:
    return Language.objects.select_related("source").order_by("code", "id")


def phones_queryset() -> QuerySet[Phone]:
    return (
        Phone.objects.select_related("source")
        .order_by("id")
        .prefetch_related(Prefetch("languages", languages_queryset()))
    )


def contacts_queryset() -> QuerySet[Contact]:
    return Contact.objects.order_by("id").prefetch_related(Prefetch("phones", phones_queryset()))


def schedules_queryset() -> QuerySet[Schedule]:
    return Schedule.objects.select_related("source").order_by("is_closed", "valid_from", "byday", "opens_at", "id")


def attributes_queryset() -> QuerySet[Attribute]:
    return Attribute.objects.select_related("taxonomy_term__taxonomy").order_by(
        "taxonomy_term__taxonomy__key", "taxonomy_term__sort", "taxonomy_term__code", "id"
    )


def _geojson_of(model: type[Gemeinde] | type[Kreis]) -> Subquery:
    return Subquery(
        model.objects.filter(ags=OuterRef("ags"))
        .annotate(shape=AsGeoJSON("geometry", precision=EXTENT_DECIMALS))
        .values("shape")[:1]
    )


def service_areas_queryset() -> QuerySet[ServiceArea]:
    """Service areas with ``area_geojson``: their own extent, else the geometry of the area their AGS names.

    A Gemeinde (8 digits) or Kreis (5) by its code; a Regierungsbezirk (3) or the Land (2) as the union of
    the Regierungsbezirke whose code starts with it. PostgreSQL's COALESCE stops at the first non-null.
    """
    regions = (
        Regierungsbezirk.objects.filter(ags__startswith=OuterRef("ags"))
        .order_by()
        .values(level=Value(1))
        .annotate(shape=AsGeoJSON(Union("geometry"), precision=EXTENT_DECIMALS))
        .values("shape")[:1]
    )
    return (
        ServiceArea.objects.defer("extent")
        .select_related("source")
        .annotate(
            area_geojson=Coalesce(
                AsGeoJSON("extent", precision=EXTENT_DECIMALS),
                _geojson_of(Gemeinde),
                _geojson_of(Kreis),
                Subquery(regions),
                output_field=TextField(),
            )
        )
        .order_by("excludes", "ags", "id")
    )


def location_prefetches(prefix: str = "") -> list[str | Prefetch[Any]]:
    """The prefetches a full location needs; ``prefix`` reaches the location from another model."""
    return [
        Prefetch(f"{prefix}addresses", Address.objects.select_related("source").order_by("id")),
        Prefetch(f"{prefix}phones", phones_queryset()),
        Prefetch(f"{prefix}schedules", schedules_queryset()),
        Prefetch(f"{prefix}languages", languages_queryset()),
        Prefetch(f"{prefix}accessibility", Accessibility.objects.order_by("id")),
        Prefetch(f"{prefix}contacts", contacts_queryset()),
        Prefetch(f"{prefix}attributes", attributes_queryset()),
    ]


def _service_at_location_prefetches() -> list[str | Prefetch[Any]]:
    return [
        Prefetch("contacts", contacts_queryset()),
        Prefetch("phones", phones_queryset()),
        Prefetch("schedules", schedules_queryset()),
        *location_prefetches("location__"),
    ]


def service_full_prefetches(prefix: str = "", *, with_locations: bool = True) -> list[str | Prefetch[Any]]:
    prefetches: list[str | Prefetch[Any]] = [
        Prefetch(f"{prefix}phones", phones_queryset()),
        Prefetch(f"{prefix}schedules", schedules_queryset()),
        Prefetch(f"{prefix}service_areas", service_areas_queryset()),
        Prefetch(f"{prefix}languages", languages_queryset()),
        Prefetch(f"{prefix}funding", Funding.objects.order_by("id")),
        Prefetch(f"{prefix}cost_options", CostOption.objects.order_by("valid_from", "id")),
        Prefetch(f"{prefix}required_documents", RequiredDocument.objects.order_by("id")),
        Prefetch(f"{prefix}contacts", contacts_queryset()),
        Prefetch(f"{prefix}attributes", attributes_queryset()),
    ]
    if with_locations:
        places = (
            ServiceAtLocation.objects.select_related("location__source")
            .prefetch_related(*_service_at_location_prefetches())
            .order_by("id")
        )
        prefetches.append(Prefetch(f"{prefix}service_at_locations", places))
    return prefetches


SERVICE_ONE_TO_ONE = (
    "organization__contact_source",
    "program",
    "source",
    "contact_source",
    "service_type__taxonomy",
)


# For matching only (all languages, its names' part and its vector; some 4,000 characters of its terms' words
# in seven languages, stored out of line): never part of a record, so never fetched — nor decompressed — for one.
SEARCH_COLUMNS = ("search_text", "search_names", "search_vector")


def service_list_queryset(services: QuerySet[Service]) -> QuerySet[Service]:
    return services.defer(*SEARCH_COLUMNS).select_related(*SERVICE_ONE_TO_ONE)


def service_full_queryset(services: QuerySet[Service]) -> QuerySet[Service]:
    return (
        services.defer(*SEARCH_COLUMNS).select_related(*SERVICE_ONE_TO_ONE).prefetch_related(*service_full_prefetches())
    )


def organization_full_queryset(organizations: QuerySet[Organization], *, full_service: bool) -> QuerySet[Organization]:
    services = (
        Service.objects.defer(*SEARCH_COLUMNS)
        .select_related("program", "source", "contact_source", "service_type__taxonomy")
        .order_by("id")
    )
    if full_service:
        services = services.prefetch_related(*service_full_prefetches())
    return organizations.select_related("source", "contact_source").prefetch_related(
        Prefetch("funding", Funding.objects.order_by("id")),
        Prefetch("contacts", contacts_queryset()),
        Prefetch("phones", phones_queryset()),
        Prefetch(
            "locations",
            Location.objects.select_related("source").prefetch_related(*location_prefetches()).order_by("id"),
        ),
        Prefetch("programs", Program.objects.order_by("id")),
        Prefetch("attributes", attributes_queryset()),
        Prefetch("services", services),
    )


# The same columns of the service a service-at-location joins.
SERVICE_SEARCH_COLUMNS = tuple(f"service__{name}" for name in SEARCH_COLUMNS)


def service_at_location_list_queryset(places: QuerySet[ServiceAtLocation]) -> QuerySet[ServiceAtLocation]:
    return places.defer(*SERVICE_SEARCH_COLUMNS).select_related(
        "location__source", "service__source", "service__contact_source", "service__service_type__taxonomy"
    )


def service_at_location_full_queryset(places: QuerySet[ServiceAtLocation]) -> QuerySet[ServiceAtLocation]:
    return (
        places.defer(*SERVICE_SEARCH_COLUMNS)
        .select_related("location__source", *(f"service__{name}" for name in SERVICE_ONE_TO_ONE))
        .prefetch_related(
            *_service_at_location_prefetches(),
            *service_full_prefetches("service__", with_locations=False),
        )
    )


def taxonomy_terms_queryset(terms: QuerySet[TaxonomyTerm]) -> QuerySet[TaxonomyTerm]:
    return terms.select_related("taxonomy")


# --- Small records ---------------------------------------------------------------------------------------------


def taxonomy(record: Taxonomy, ctx: Context) -> JSON:
    return (
        start(record, ctx)
        .text("name", record.name, required=True)
        .text("description", record.description, required=True)
        .put("uri", record.uri)
        .put("version", record.version)
        .build()
    )


def taxonomy_term(record: TaxonomyTerm, ctx: Context) -> JSON:
    """A term with its taxonomy; ``language`` is the language its name is given in (HSDS field)."""
    name = translate(record.name, ctx.language)
    return (
        start(record, ctx)
        .put("code", record.code)
        .text("name", record.name, required=True)
        .text("description", record.description, required=True)
        .put("parent_id", ident(record.parent_id))
        .put("taxonomy", record.taxonomy.key)
        .put("taxonomy_detail", taxonomy(record.taxonomy, ctx))
        .put("language", name.language if name.text else None)
        .put("taxonomy_id", str(record.taxonomy_id))
        .put("term_uri", record.term_uri)
        .build()
    )


def attribute(record: Attribute, ctx: Context) -> JSON:
    term = record.taxonomy_term
    link_id: uuid.UUID | None
    if record.service_id is not None:
        link_id, entity = record.service_id, "service"
    elif record.organization_id is not None:
        link_id, entity = record.organization_id, "organization"
    else:
        link_id, entity = record.location_id, "location"
    return (
        start(record, ctx)
        .put("link_id", ident(link_id))
        .put("taxonomy_term_id", str(term.id))
        .put("link_type", LINK_TYPES.get(term.taxonomy.key, term.taxonomy.key))
        .put("link_entity", entity)
        .put("value", record.value)
        .put("taxonomy_term", taxonomy_term(term, ctx))
        .build()
    )


def service_type_attribute(service: Service, ctx: Context) -> JSON | None:
    """The service's type as an attribute (it is a foreign key here, an attribute in HSDS)."""
    term = service.service_type
    if term is None:
        return None
    return (
        Builder(ctx)
        .put("id", str(uuid.uuid5(SERVICE_TYPE_ATTRIBUTE_NAMESPACE, str(service.id))))
        .put("link_id", str(service.id))
        .put("taxonomy_term_id", str(term.id))
        .put("link_type", LINK_TYPES["service-type"])
        .put("link_entity", "service")
        .put("taxonomy_term", taxonomy_term(term, ctx))
        .build()
    )


def language(record: Language, ctx: Context) -> JSON:
    return (
        start(record, ctx)
        .put("service_id", ident(record.service_id))
        .put("location_id", ident(record.location_id))
        .put("phone_id", ident(record.phone_id))
        .put("name", record.name)
        .put("code", record.code)
        .put("note", record.note)
        .put("provenance", provenance(record))
        .build()
    )


def _extension(value: str) -> int | None:
    """HSDS wants a number; only digits without a leading zero survive that unchanged."""
    return int(value) if ascii_digits(value) and (value == "0" or not value.startswith("0")) else None


def phone(record: Phone, ctx: Context) -> JSON:
    extension = _extension(record.extension) if record.extension else None
    # An extension that is no plain number ("012") is kept in German notation after the number.
    number = f"{record.number}-{record.extension}" if record.extension and extension is None else record.number
    return (
        start(record, ctx)
        .put("location_id", ident(record.location_id))
        .put("service_id", ident(record.service_id))
        .put("organization_id", ident(record.organization_id))
        .put("contact_id", ident(record.contact_id))
        .put("service_at_location_id", ident(record.service_at_location_id))
        .put("number", number)
        .put("extension", extension)
        .put("type", record.type)
        .text("description", record.description)
        .many("languages", record.languages.all(), language)
        .put("provenance", provenance(record))
        .build()
    )


def contact(record: Contact, ctx: Context) -> JSON:
    return (
        start(record, ctx)
        .put("organization_id", ident(record.organization_id))
        .put("service_id", ident(record.service_id))
        .put("service_at_location_id", ident(record.service_at_location_id))
        .put("location_id", ident(record.location_id))
        .put("name", record.name)
        .put("title", record.title)
        .put("department", record.department)
        .put("email", record.email)
        .many("phones", record.phones.all(), phone)
        .build()
    )


def schedule(record: Schedule, ctx: Context) -> JSON:
    """A weekly slot, or (profile field ``closed``) a closure between valid_from and valid_to.

    Times are local wall-clock times in ``tzid`` (profile field). HSDS's numeric ``timezone`` (a UTC
    offset) is left out: Europe/Berlin is UTC+1 in winter and UTC+2 in summer, so no one number is true.
    """
    out = (
        start(record, ctx)
        .put("service_id", ident(record.service_id))
        .put("location_id", ident(record.location_id))
        .put("service_at_location_id", ident(record.service_at_location_id))
        .put("valid_from", iso(record.valid_from))
        .put("valid_to", iso(record.valid_to))
    )
    if not record.is_closed:
        out.put("freq", record.freq).put("byday", record.byday)
        out.put("opens_at", local_time(record.opens_at)).put("closes_at", local_time(record.closes_at))
    return (
        out.text("description", record.description)
        .put("schedule_link", record.schedule_link)
        .put("attending_type", record.attending_type)
        .put("notes", record.notes)
        .put("tzid", record.timezone)
        .put("closed", True if record.is_closed else None)
        .put("provenance", provenance(record))
        .build()
    )


def address(record: Address, ctx: Context) -> JSON:
    return (
        start(record, ctx)
        .put("location_id", str(record.location_id))
        .put("attention", record.attention)
        .required("address_1", record.address_1)
        .put("address_2", record.address_2)
        .required("city", record.city)
        .put("region", record.region)
        .required("state_province", record.state_province)
        .required("postal_code", record.postal_code)
        .required("country", record.country)
        .required("address_type", record.address_type)
        .put("provenance", provenance(record))
        .build()
    )


def accessibility(record: Accessibility, ctx: Context) -> JSON:
    return (
        start(record, ctx)
        .put("location_id", str(record.location_id))
        .text("description", record.description)
        .put("details", record.details)
        .put("url", record.url)
        .build()
    )


def cost_option(record: CostOption, ctx: Context) -> JSON:
    return (
        start(record, ctx)
        .put("service_id", str(record.service_id))
        .put("valid_from", iso(record.valid_from))
        .put("valid_to", iso(record.valid_to))
        .put("option", record.option)
        .put("currency", record.currency)
        .put("amount", float(record.amount) if record.amount is not None else None)
        .text("amount_description", record.amount_description)
        .build()
    )


def required_document(record: RequiredDocument, ctx: Context) -> JSON:
    return (
        start(record, ctx)
        .put("service_id", str(record.service_id))
        .text("document", record.document)
        .put("uri", record.uri)
        .build()
    )


def funding(record: Funding, ctx: Context) -> JSON:
    return (
        start(record, ctx)
        .put("organization_id", ident(record.organization_id))
        .put("service_id", ident(record.service_id))
        .put("source", record.source_text)
        .build()
    )


def program(record: Program, ctx: Context) -> JSON:
    return (
        start(record, ctx)
        .put("organization_id", str(record.organization_id))
        .text("name", record.name, required=True)
        .put("alternate_name", record.alternate_name)
        .text("description", record.description, required=True)
        .build()
    )


def service_areas(areas: Iterable[ServiceArea], ctx: Context) -> list[JSON]:
    """The areas a service is responsible for, each with its extent as GeoJSON.

    An excluding area (a town with its own office inside a Kreis) is no HSDS service area: it is cut out
    of the extent of the areas containing it, and named in their profile field ``excluded_ags``.
    """
    areas = list(areas)
    excluded = [area for area in areas if area.excludes]
    out = []
    for area in areas:
        if area.excludes:
            ctx.seen(area)
            continue
        inside = [other for other in excluded if other.ags.startswith(area.ags)]
        extent: str | None = getattr(area, "area_geojson", None)
        if extent is not None and inside:
            shape = GEOSGeometry(extent)
            for other in inside:
                cut: str | None = getattr(other, "area_geojson", None)
                if cut is not None:
                    shape = shape.difference(GEOSGeometry(cut))
            extent = shape.json
        out.append(
            start(area, ctx)
            .put("service_id", str(area.service_id))
            .put("name", area.name)
            .text("description", area.description)
            .put("extent", extent)
            .put("extent_type", "geojson" if extent is not None else None)
            .put("ags", area.ags)
            .put("excluded_ags", [other.ags for other in inside])
            # Profile: the norm or page that makes the service responsible for this area.
            .put("provenance", provenance(area))
            .build()
        )
    return out


# --- Locations -------------------------------------------------------------------------------------------------


def location_fields(record: Location, ctx: Context) -> Builder:
    point = record.point
    return (
        start(record, ctx)
        .put("location_type", record.location_type)
        .put("url", record.url)
        .put("organization_id", ident(record.organization_id))
        .text("name", record.name)
        .put("alternate_name", record.alternate_name)
        .text("description", record.description)
        .text("transportation", record.transportation)
        .put("latitude", round(point.y, COORDINATE_DECIMALS) if point is not None else None)
        .put("longitude", round(point.x, COORDINATE_DECIMALS) if point is not None else None)
        .put("external_identifier", record.external_identifier)
        .put("external_identifier_type", record.external_identifier_type)
        .put("point_accuracy", record.point_accuracy)
        .put("ags", record.gemeinde_id)
        .put("provenance", provenance(record))
    )


def location_list_item(record: Location, ctx: Context) -> JSON:
    return location_fields(record, ctx).build()


def location_full(record: Location, ctx: Context) -> JSON:
    return (
        location_fields(record, ctx)
        .many("languages", record.languages.all(), language)
        .many("addresses", record.addresses.all(), address)
        .many("contacts", record.contacts.all(), contact)
        .many("accessibility", record.accessibility.all(), accessibility)
        .many("phones", record.phones.all(), phone)
        .many("schedules", record.schedules.all(), schedule)
        .many("attributes", record.attributes.all(), attribute)
        .build()
    )


# --- Organisations ---------------------------------------------------------------------------------------------


def organization_fields(record: Organization, ctx: Context) -> Builder:
    return (
        start(record, ctx)
        .text("name", record.name, required=True)
        .put("alternate_name", record.alternate_name)
        .text("description", record.description, required=True)
        .put("email", record.email)
        .put("website", record.website)
        .put("legal_status", record.legal_status)
        .put("uri", record.uri)
        .put("parent_organization_id", ident(record.parent_organization_id))
        # Profile: the page the e-mail address and website come from.
        .put("contact_source", source_json(record.contact_source) if record.contact_source is not None else None)
    )


def organization_list_item(record: Organization, ctx: Context) -> JSON:
    return organization_fields(record, ctx).put("provenance", provenance(record)).build()


def organization_full(record: Organization, ctx: Context, *, full_service: bool = False) -> JSON:
    """The organisation with its lists; its services in full with ``full_service``, else their own fields."""
    services: list[JSON] = [
        service_full(item, ctx, organization=record) if full_service else service_fields(item, ctx).build()
        for item in record.services.all()
    ]
    return (
        organization_fields(record, ctx)
        .many("funding", record.funding.all(), funding)
        .many("contacts", record.contacts.all(), contact)
        .many("phones", record.phones.all(), phone)
        .many("locations", record.locations.all(), location_full)
        .many("programs", record.programs.all(), program)
        .many("attributes", record.attributes.all(), attribute)
        .put("provenance", provenance(record))
        .put("services", services)
        .build()
    )


# --- Services --------------------------------------------------------------------------------------------------


def service_fields(record: Service, ctx: Context) -> Builder:
    """The service's own (one-to-one) fields."""
    return (
        start(record, ctx)
        .put("organization_id", str(record.organization_id))
        .put("program_id", ident(record.program_id))
        .text("name", record.name, required=True)
        .put("alternate_name", record.alternate_name)
        .text("description", record.description)
        .put("url", record.url)
        .put("email", record.email)
        .put("status", record.status)
        .text("interpretation_services", record.interpretation_services)
        .text("application_process", record.application_process)
        .text("fees_description", record.fees_description)
        .put("wait_time", record.wait_time)
        .put("accreditations", record.accreditations)
        .text("eligibility_description", record.eligibility_description)
        .put("minimum_age", record.minimum_age)
        .put("maximum_age", record.maximum_age)
        .put(
            "assured_date",
            iso(record.last_verified_at.date()) if record.is_verified and record.last_verified_at else None,
        )
        .put("licenses", record.licenses)
        .text("alert", record.alert)
        .put("last_modified", record.updated_at.isoformat())
        .put("provenance", provenance(record))
        # Profile: how a Jobcenter is run, and the page its e-mail address and website come from.
        .put("jobcenter_form", record.jobcenter_form or None)
        .put("contact_source", source_json(record.contact_source) if record.contact_source else None)
    )


def service_minimal(record: Service, ctx: Context) -> JSON:
    """``minimal=true``: what the list schema requires (id, name, status) and when it last changed."""
    ctx.seen(record)
    return (
        Builder(ctx)
        .put("id", str(record.id))
        .text("name", record.name, required=True)
        .put("status", record.status)
        .put("last_modified", record.updated_at.isoformat())
        .build()
    )


def service_list_item(record: Service, ctx: Context) -> JSON:
    out = service_fields(record, ctx).put("organization", organization_fields(record.organization, ctx).build())
    if record.program is not None:
        out.put("program", program(record.program, ctx))
    return with_distance(out, record).build()


def with_distance(out: Builder, record: Service | ServiceAtLocation) -> Builder:
    """Profile field ``distance``: metres from the requested point, when one was given."""
    if hasattr(record, "distance_m"):
        metres = record.distance_m
        out.data["distance"] = round(metres) if metres is not None else None
    return out


def service_attributes(record: Service, ctx: Context) -> list[JSON]:
    typed = service_type_attribute(record, ctx)
    return ([typed] if typed else []) + [attribute(item, ctx) for item in record.attributes.all()]


def service_at_location_nested(record: ServiceAtLocation, ctx: Context) -> JSON:
    """A place of a service, inside the service (so without the service again)."""
    return (
        start(record, ctx)
        .put("service_id", str(record.service_id))
        .put("location_id", str(record.location_id))
        .text("description", record.description)
        .many("contacts", record.contacts.all(), contact)
        .many("phones", record.phones.all(), phone)
        .many("schedules", record.schedules.all(), schedule)
        .put("location", location_full(record.location, ctx))
        .build()
    )


def service_full(
    record: Service, ctx: Context, *, organization: Organization | None = None, with_locations: bool = True
) -> JSON:
    """The service with everything about it (HSDS service_full); ``organization`` if already fetched."""
    out = service_fields(record, ctx)
    out.many("phones", record.phones.all(), phone)
    out.many("schedules", record.schedules.all(), schedule)
    out.put("service_areas", service_areas(record.service_areas.all(), ctx))
    if with_locations:
        out.many("service_at_locations", record.service_at_locations.all(), service_at_location_nested)
    out.many("languages", record.languages.all(), language)
    out.put("organization", organization_fields(organization or record.organization, ctx).build())
    out.many("funding", record.funding.all(), funding)
    out.many("cost_options", record.cost_options.all(), cost_option)
    if record.program is not None:
        out.put("program", program(record.program, ctx))
    out.many("required_documents", record.required_documents.all(), required_document)
    out.many("contacts", record.contacts.all(), contact)
    out.put("attributes", service_attributes(record, ctx))
    return with_distance(out, record).build()


# --- Services at locations -------------------------------------------------------------------------------------


def service_at_location_list_item(record: ServiceAtLocation, ctx: Context) -> JSON:
    out = (
        start(record, ctx)
        .put("service_id", str(record.service_id))
        .put("location_id", str(record.location_id))
        .text("description", record.description)
        .put("location", location_list_item(record.location, ctx))
        .put("service", service_fields(record.service, ctx).build())
    )
    return with_distance(out, record).build()


def service_at_location_full(record: ServiceAtLocation, ctx: Context) -> JSON:
    out = (
        start(record, ctx)
        .put("service_id", str(record.service_id))
        .put("location_id", str(record.location_id))
        .text("description", record.description)
        .many("contacts", record.contacts.all(), contact)
        .many("phones", record.phones.all(), phone)
        .many("schedules", record.schedules.all(), schedule)
        .put("location", location_full(record.location, ctx))
        .put("service", service_full(record.service, ctx, with_locations=False))
    )
    return with_distance(out, record).build()
