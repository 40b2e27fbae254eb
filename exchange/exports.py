"""The whole catalogue as an HSDS 3.0 tabular data package and as HSDS JSON lines (bulk export).

The package is one CSV per HSDS table, with the columns the HSDS tabular schema names in its order,
then the Wegweiser NRW profile's own columns, and a ``datapackage.json`` (Frictionless Data Package)
describing every resource and field. ``services.jsonl`` holds one full HSDS service record per line
(German content, as ``/api/hsds/services/{id}`` gives it).

Everything is deterministic: rows sorted by id (sources by key), a fixed column order, UTF-8 without
BOM, LF line ends, no timestamps of the export itself. Importing a package into an empty catalogue
(exchange/imports.py) and exporting again gives byte-identical files; the profile columns carry what
plain HSDS has no place for:

- the other languages of every translated text: ``<column>_<language>`` (``name_en``, ``name_ar`` …);
  the HSDS column holds the German version;
- provenance: ``source_key`` (a row of ``sources.csv``), ``verification_state``, ``last_verified_at``;
- locations: ``point_accuracy`` and ``ags`` (the Gemeinde); service areas: ``ags`` and ``excludes``;
  schedules: ``tzid`` and ``closed``; services: ``external_source`` and ``external_id``;
  organisations: ``kind``; taxonomies: ``key``; taxonomy terms: ``sort``; attributes: ``label``.

Left out on purpose: who verified a record (``verified_by``, an editor account: personal data), the
records' own created/updated times (except a service's ``last_modified``) and their history.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import heapq
import io
import json
import time
import uuid
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import IO, Any

from django.db import models

from directory import formulas, hsds
from directory import models as m
from directory.translation import FALLBACK_LANGUAGE, NON_GERMAN_LANGUAGES

JSONL_PATH = "services.jsonl"
DATAPACKAGE = "datapackage.json"
PACKAGE_NAME = "wegweiser-nrw-hsds"
# A CSV is written in chunks of this many rows, so a 100k-service catalogue never sits in memory whole.
CHUNK_ROWS = 2000
# Fixed timestamp for zip members: a zip of the same catalogue is the same bytes.
ZIP_DATE = (1980, 1, 1, 0, 0, 0)


class Kind(StrEnum):
    """How a column's value is read from and written to a record."""

    ID = "id"  # the record's UUID
    REF = "ref"  # a foreign key to another table's UUID
    TEXT = "text"  # a translated field: the German version (other languages: TRANSLATION columns)
    TRANSLATION = "translation"  # one other language of a translated field
    PLAIN = "plain"  # a string field as stored
    INT = "int"
    DECIMAL = "decimal"
    BOOL = "bool"
    DATE = "date"
    DATETIME = "datetime"
    TIME = "time"
    JSON = "json"  # a JSON field (a term's search words): one JSON object per cell, empty when empty
    EMPTY = "empty"  # an HSDS column the catalogue holds nothing for: always empty
    SPECIAL = "special"  # computed by the table's own code (coordinates, links, provenance …)


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    field: str = ""  # the model field; the column name when not given
    ref: str = ""  # REF: the table it points to
    type: str = "string"  # Frictionless field type
    format: str = ""  # Frictionless field format (uuid, email, uri)
    description: str = ""  # profile columns say what they are
    profile: bool = False  # not an HSDS column: the Wegweiser NRW profile's own
    language: str = ""  # TRANSLATION: which language

    @property
    def attr(self) -> str:
        return self.field or self.name


def _id() -> Column:
    return Column("id", Kind.ID, format="uuid")


def _ref(name: str, table: str, attr: str = "") -> Column:
    return Column(name, Kind.REF, field=attr or name.removesuffix("_id"), ref=table, format="uuid")


def _text(name: str) -> Column:
    return Column(name, Kind.TEXT)


def _plain(name: str, attr: str = "", fmt: str = "") -> Column:
    return Column(name, Kind.PLAIN, field=attr, format=fmt)


def _empty(name: str, kind: str = "string") -> Column:
    return Column(name, Kind.EMPTY, type=kind)


def _profile(name: str, kind: Kind, description: str, attr: str = "", type_: str = "string") -> Column:
    return Column(name, kind, field=attr, type=type_, description=description, profile=True)


PROVENANCE = (
    _profile("source_key", Kind.SPECIAL, "Profile: where the facts come from, a key of sources.csv."),
    _profile(
        "verification_state",
        Kind.PLAIN,
        "Profile: 'verified' once an editor confirmed the record, else 'unverified'.",
    ),
    _profile(
        "last_verified_at",
        Kind.DATETIME,
        "Profile: when an editor last confirmed the record (ISO 8601, UTC).",
        type_="datetime",
    ),
)


CONTACT_SOURCE = _profile(
    "contact_source_key",
    Kind.SPECIAL,
    "Profile: the page the e-mail address and website come from, a key of sources.csv.",
)


@dataclass(frozen=True)
class Table:
    """One resource of the package: an HSDS table (or the profile's sources.csv) and its model."""

    name: str
    path: str
    model: type[models.Model]
    hsds_columns: tuple[Column, ...]
    profile_columns: tuple[Column, ...] = ()
    provenance: bool = True
    description: str = ""

    @property
    def columns(self) -> tuple[Column, ...]:
        """HSDS columns in the schema's order, then the profile's: own, translations, provenance."""
        translations = tuple(
            Column(
                f"{column.name}_{language}",
                Kind.TRANSLATION,
                field=column.attr,
                language=language,
                profile=True,
                description=f"Profile: {column.name} in {language} (the HSDS column holds the German text).",
            )
            for column in self.hsds_columns
            if column.kind == Kind.TEXT
            for language in NON_GERMAN_LANGUAGES
        )
        return self.hsds_columns + self.profile_columns + translations + (PROVENANCE if self.provenance else ())

    @property
    def header(self) -> list[str]:
        return [column.name for column in self.columns]

    def column(self, name: str) -> Column:
        return next(column for column in self.columns if column.name == name)


TABLES: tuple[Table, ...] = (
    Table(
        "organization",
        "organizations.csv",
        m.Organization,
        (
            _id(),
            _text("name"),
            _plain("alternate_name"),
            _text("description"),
            _plain("email", fmt="email"),
            _plain("website", fmt="uri"),
            _empty("tax_status"),
            _empty("tax_id"),
            _empty("year_incorporated", "number"),
            _plain("legal_status"),
            _empty("logo"),
            _plain("uri", fmt="uri"),
            _ref("parent_organization_id", "organization"),
        ),
        (
            _profile("kind", Kind.PLAIN, "Profile: municipality, public-authority, chamber, association …"),
            CONTACT_SOURCE,
        ),
    ),
    Table(
        "program",
        "programs.csv",
        m.Program,
        (_id(), _ref("organization_id", "organization"), _text("name"), _plain("alternate_name"), _text("description")),
    ),
    Table(
        "service",
        "services.csv",
        m.Service,
        (
            _id(),
            _ref("organization_id", "organization"),
            _ref("program_id", "program"),
            _text("name"),
            _plain("alternate_name"),
            _text("description"),
            _plain("url", fmt="uri"),
            _plain("email", fmt="email"),
            _plain("status"),
            _text("interpretation_services"),
            _text("application_process"),
            _text("fees_description"),
            _plain("wait_time"),
            _empty("fees"),
            _plain("accreditations"),
            _text("eligibility_description"),
            Column("minimum_age", Kind.INT, type="number"),
            Column("maximum_age", Kind.INT, type="number"),
            Column("assured_date", Kind.SPECIAL),
            Column("assurer_email", Kind.EMPTY, format="email"),
            _plain("licenses"),
            _text("alert"),
            Column("last_modified", Kind.SPECIAL, type="datetime"),
        ),
        (
            _profile("external_source", Kind.PLAIN, "Profile: key of the list (source) an imported service came from."),
            _profile("external_id", Kind.PLAIN, "Profile: that list's own id of the service (spreadsheet Quell-ID)."),
            _profile(
                "jobcenter_form",
                Kind.PLAIN,
                "Profile: Jobcenter only: gemeinsame-einrichtung or zugelassener-kommunaler-traeger.",
            ),
            CONTACT_SOURCE,
        ),
        description="assured_date is the date of last_verified_at for verified services (not read on import); "
        "last_modified is when the service record last changed; its service type is an attribute "
        "with link_type 'service_type'.",
    ),
    Table(
        "attribute",
        "attributes.csv",
        m.Attribute,
        (
            _id(),
            Column("link_id", Kind.SPECIAL, format="uuid"),
            _ref("taxonomy_term_id", "taxonomy_term"),
            Column("link_type", Kind.SPECIAL),
            Column("link_entity", Kind.SPECIAL),
            _plain("value"),
        ),
        (_profile("label", Kind.PLAIN, "Profile: a label for the value."),),
        description="link_entity is service, organization or location; a service's type is the attribute "
        "with link_type 'service_type', whose id is derived from the service's id.",
    ),
    Table(
        "service_at_location",
        "service_at_location.csv",
        m.ServiceAtLocation,
        (_id(), _ref("service_id", "service"), _ref("location_id", "location"), _text("description")),
    ),
    Table(
        "location",
        "locations.csv",
        m.Location,
        (
            _id(),
            _plain("location_type"),
            _plain("url", fmt="uri"),
            _ref("organization_id", "organization"),
            _text("name"),
            _plain("alternate_name"),
            _text("description"),
            _text("transportation"),
            Column("latitude", Kind.SPECIAL, type="number"),
            Column("longitude", Kind.SPECIAL, type="number"),
            _plain("external_identifier"),
            _plain("external_identifier_type"),
        ),
        (
            _profile(
                "point_accuracy",
                Kind.PLAIN,
                "Profile: exact, postcode (the postcode's centre) or municipality (somewhere in the Gemeinde).",
            ),
            _profile("ags", Kind.SPECIAL, "Profile: AGS of the Gemeinde the location lies in (8 digits)."),
        ),
    ),
    Table(
        "phone",
        "phones.csv",
        m.Phone,
        (
            _id(),
            _ref("location_id", "location"),
            _ref("service_id", "service"),
            _ref("organization_id", "organization"),
            _ref("contact_id", "contact"),
            _ref("service_at_location_id", "service_at_location"),
            _plain("number"),
            Column(
                "extension",
                Kind.PLAIN,
                description="Kept as written (e.g. '012'), so typed string rather than HSDS's number.",
            ),
            _plain("type"),
            _text("description"),
        ),
    ),
    Table(
        "contact",
        "contacts.csv",
        m.Contact,
        (
            _id(),
            _ref("organization_id", "organization"),
            _ref("service_id", "service"),
            _ref("service_at_location_id", "service_at_location"),
            _ref("location_id", "location"),
            _plain("name"),
            _plain("title"),
            _plain("department"),
            _plain("email", fmt="email"),
        ),
    ),
    Table(
        "address",
        "addresses.csv",
        m.Address,
        (
            _id(),
            _ref("location_id", "location"),
            _plain("attention"),
            _plain("address_1"),
            _plain("address_2"),
            _plain("city"),
            _plain("region"),
            _plain("state_province"),
            _plain("postal_code"),
            _plain("country"),
            _plain("address_type"),
        ),
    ),
    Table(
        "schedule",
        "schedules.csv",
        m.Schedule,
        (
            _id(),
            _ref("service_id", "service"),
            _ref("location_id", "location"),
            _ref("service_at_location_id", "service_at_location"),
            Column("valid_from", Kind.DATE),
            Column("valid_to", Kind.DATE),
            _empty("dtstart"),
            _empty("timezone", "number"),
            _empty("until"),
            _empty("count", "number"),
            _empty("wkst"),
            _plain("freq"),
            _empty("interval", "number"),
            _plain("byday"),
            _empty("byweekno"),
            _empty("bymonthday"),
            _empty("byyearday"),
            _text("description"),
            Column("opens_at", Kind.TIME),
            Column("closes_at", Kind.TIME),
            _plain("schedule_link", fmt="uri"),
            _plain("attending_type"),
            _plain("notes"),
        ),
        (
            _profile(
                "tzid",
                Kind.PLAIN,
                "Profile: IANA time zone of opens_at/closes_at (HSDS's numeric timezone is left empty: "
                "no single UTC offset is right all year).",
                attr="timezone",
            ),
            _profile(
                "closed",
                Kind.BOOL,
                "Profile: true for a closure from valid_from to valid_to, not an opening slot.",
                attr="is_closed",
                type_="boolean",
            ),
        ),
    ),
    Table(
        "funding",
        "funding.csv",
        m.Funding,
        (
            _id(),
            _ref("organization_id", "organization"),
            _ref("service_id", "service"),
            _plain("source", "source_text"),
        ),
    ),
    Table(
        "service_area",
        "service_areas.csv",
        m.ServiceArea,
        (
            _id(),
            _ref("service_id", "service"),
            _plain("name"),
            _text("description"),
            Column("extent", Kind.SPECIAL),
            Column("extent_type", Kind.SPECIAL),
            _empty("uri"),
        ),
        (
            _profile(
                "ags",
                Kind.PLAIN,
                "Profile: AGS of the area (2 digits: the Land, 3: Regierungsbezirk, 5: Kreis, 8: Gemeinde); "
                "its geometry is the area's (see services.jsonl); extent is only given where stored.",
            ),
            _profile(
                "excludes",
                Kind.BOOL,
                "Profile: true when the area is carved out of a larger one of the same service.",
                type_="boolean",
            ),
        ),
    ),
    Table(
        "required_document",
        "required_documents.csv",
        m.RequiredDocument,
        (_id(), _ref("service_id", "service"), _text("document"), _plain("uri", fmt="uri")),
    ),
    Table(
        "language",
        "languages.csv",
        m.Language,
        (
            _id(),
            _ref("service_id", "service"),
            _ref("location_id", "location"),
            _ref("phone_id", "phone"),
            _plain("name"),
            _plain("code"),
            _plain("note"),
        ),
    ),
    Table(
        "accessibility",
        "accessibility.csv",
        m.Accessibility,
        (_id(), _ref("location_id", "location"), _text("description"), _plain("details"), _plain("url", fmt="uri")),
    ),
    Table(
        "taxonomy_term",
        "taxonomy_terms.csv",
        m.TaxonomyTerm,
        (
            _id(),
            _plain("code"),
            _text("name"),
            _text("description"),
            _ref("parent_id", "taxonomy_term", "parent"),
            Column("taxonomy", Kind.SPECIAL),
            Column("language", Kind.SPECIAL),
            _ref("taxonomy_id", "taxonomy"),
            _plain("term_uri", fmt="uri"),
        ),
        (
            _profile("sort", Kind.INT, "Profile: position of the term among its siblings.", type_="integer"),
            _profile(
                "search_words",
                Kind.JSON,
                "Profile: the everyday words people search for the term with, per language "
                '(a JSON object: {"uk": ["посвідка", …]}); used by search only.',
                type_="object",
            ),
        ),
        description="code is unique within its taxonomy (column taxonomy: the taxonomy's key).",
    ),
    Table(
        "cost_option",
        "cost_options.csv",
        m.CostOption,
        (
            _id(),
            _ref("service_id", "service"),
            Column("valid_from", Kind.DATE),
            Column("valid_to", Kind.DATE),
            _plain("option"),
            _plain("currency"),
            Column("amount", Kind.DECIMAL, type="number"),
            _text("amount_description"),
        ),
    ),
    Table(
        "taxonomy",
        "taxonomies.csv",
        m.Taxonomy,
        (_id(), _text("name"), _text("description"), _plain("uri", fmt="uri"), _plain("version")),
        (_profile("key", Kind.PLAIN, "Profile: the taxonomy's short name (need, service-type, …)."),),
    ),
    Table(
        "source",
        "sources.csv",
        m.Source,
        (
            Column("key", Kind.PLAIN),
            _plain("title"),
            _plain("publisher"),
            _plain("url", fmt="uri"),
            _plain("document"),
            Column("date", Kind.DATE, type="date"),
            Column("year", Kind.INT, type="integer"),
        ),
        (
            _profile(
                "read_on",
                Kind.DATE,
                "Profile: for a public web page, the day its facts were read.",
                type_="date",
            ),
        ),
        provenance=False,
        description="Profile resource: the documents and datasets the records' facts come from "
        "(source_key in every other table).",
    ),
)
TABLES_BY_NAME = {table.name: table for table in TABLES}


# --- Cells --------------------------------------------------------------------------------------------------


def format_value(value: Any) -> str:
    """One canonical text per value, so the same catalogue always gives the same bytes."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)  # the shortest text that reads back as the same float
    if isinstance(value, (int, Decimal, uuid.UUID)):
        return str(value)
    return str(value)


@dataclass
class Lookups:
    """What several rows need and one query each can tell: source keys, term → taxonomy key."""

    source_keys: dict[int, str] = field(default_factory=dict)
    term_taxonomy: dict[uuid.UUID, str] = field(default_factory=dict)
    taxonomy_keys: dict[uuid.UUID, str] = field(default_factory=dict)

    @classmethod
    def load(cls) -> Lookups:
        return cls(
            source_keys=dict(m.Source.objects.values_list("id", "key")),
            term_taxonomy=dict(m.TaxonomyTerm.objects.values_list("id", "taxonomy__key")),
            taxonomy_keys=dict(m.Taxonomy.objects.values_list("id", "key")),
        )


def _special(table: Table, column: Column, record: Any, lookups: Lookups) -> Any:
    name = (table.name, column.name)
    if column.name == "source_key":
        return lookups.source_keys.get(record.source_id) if record.source_id else None
    if column.name == "contact_source_key":
        return lookups.source_keys.get(record.contact_source_id) if record.contact_source_id else None
    if name == ("location", "latitude"):
        return record.point.y if record.point is not None else None
    if name == ("location", "longitude"):
        return record.point.x if record.point is not None else None
    if name == ("location", "ags"):
        return record.gemeinde_id
    if name == ("service", "assured_date"):
        return record.last_verified_at.date() if record.is_verified and record.last_verified_at else None
    if name == ("service", "last_modified"):
        return record.updated_at
    if name == ("attribute", "link_id"):
        return record.service_id or record.organization_id or record.location_id
    if name == ("attribute", "link_entity"):
        return "service" if record.service_id else "organization" if record.organization_id else "location"
    if name == ("attribute", "link_type"):
        key = lookups.term_taxonomy[record.taxonomy_term_id]
        return hsds.LINK_TYPES.get(key, key)
    if name == ("service_area", "extent"):
        return record.extent.json if record.extent is not None else None
    if name == ("service_area", "extent_type"):
        return "geojson" if record.extent is not None else None
    if name == ("taxonomy_term", "taxonomy"):
        return lookups.taxonomy_keys[record.taxonomy_id]
    if name == ("taxonomy_term", "language"):
        return FALLBACK_LANGUAGE if (record.name or {}).get(FALLBACK_LANGUAGE) else None
    raise KeyError(name)


def cell(table: Table, column: Column, record: Any, lookups: Lookups) -> str:
    kind = column.kind
    if kind == Kind.EMPTY:
        return ""
    if kind == Kind.ID:
        return str(record.pk)
    if kind == Kind.REF:
        return format_value(getattr(record, f"{column.attr}_id"))
    if kind in (Kind.TEXT, Kind.TRANSLATION):
        texts = getattr(record, column.attr) or {}
        return str(texts.get(column.language or FALLBACK_LANGUAGE) or "")
    if kind == Kind.SPECIAL:
        return format_value(_special(table, column, record, lookups))
    if kind == Kind.JSON:
        value = getattr(record, column.attr)
        return json.dumps(value, ensure_ascii=False, sort_keys=True) if value else ""
    return format_value(getattr(record, column.attr))


def service_type_rows(lookups: Lookups) -> Iterator[tuple[str, list[str]]]:
    """A service's type as the attribute the API shows (hsds.service_type_attribute): same id, same link."""
    table = TABLES_BY_NAME["attribute"]
    services = m.Service.objects.filter(service_type__isnull=False).values_list("id", "service_type")
    typed = sorted(
        (str(uuid.uuid5(hsds.SERVICE_TYPE_ATTRIBUTE_NAMESPACE, str(service_id))), service_id, term_id)
        for service_id, term_id in services.iterator(chunk_size=CHUNK_ROWS)
    )
    for attribute_id, service_id, term_id in typed:
        values = {
            "id": attribute_id,
            "link_id": str(service_id),
            "taxonomy_term_id": str(term_id),
            "link_type": hsds.LINK_TYPES["service-type"],
            "link_entity": "service",
        }
        yield values["id"], [values.get(name, "") for name in table.header]


def table_rows(table: Table, lookups: Lookups) -> Iterator[list[str]]:
    """The table's rows, sorted by id (sources by key)."""
    manager: Any = table.model._default_manager
    if table.model is m.Source:
        for source in manager.order_by("key").iterator(chunk_size=CHUNK_ROWS):
            yield [cell(table, column, source, lookups) for column in table.columns]
        return
    rows = (
        (str(record.pk), [cell(table, column, record, lookups) for column in table.columns])
        for record in manager.order_by("id").iterator(chunk_size=CHUNK_ROWS)
    )
    if table.name != "attribute":
        for _, row in rows:
            yield row
        return
    # Attributes and the service types shown as attributes, merged by id.
    for _, row in heapq.merge(rows, service_type_rows(lookups), key=lambda item: item[0]):
        yield row


def csv_chunks(table: Table, lookups: Lookups) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(table.header)
    for number, row in enumerate(table_rows(table, lookups), start=1):
        # Whoever opens the file in a spreadsheet must see text, never run a formula (directory.formulas).
        writer.writerow([formulas.escape(value) for value in row])
        if number % CHUNK_ROWS == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def jsonl_lines(language: str = FALLBACK_LANGUAGE) -> Iterator[bytes]:
    """One full HSDS service (directory/hsds.py, as the API gives it) per line, sorted by id."""
    ctx = hsds.Context(language=language)
    services = hsds.service_full_queryset(m.Service.objects.order_by("id"))
    for service in services.iterator(chunk_size=200):
        record = hsds.service_full(service, ctx)
        yield json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


# --- datapackage.json ---------------------------------------------------------------------------------------


def field_descriptor(column: Column) -> dict[str, Any]:
    descriptor: dict[str, Any] = {"name": column.name, "type": column.type}
    if column.format:
        descriptor["format"] = column.format
    if column.kind == Kind.ID:
        descriptor["constraints"] = {"required": True, "unique": True}
    if column.description:
        descriptor["description"] = column.description
    return descriptor


def resource_descriptor(table: Table, digest: str, size: int) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "fields": [field_descriptor(column) for column in table.columns],
        "primaryKey": "key" if table.model is m.Source else "id",
    }
    foreign_keys = [
        {"fields": column.name, "reference": {"resource": column.ref, "fields": "id"}}
        for column in table.columns
        if column.kind == Kind.REF
    ]
    if table.provenance:
        foreign_keys.append({"fields": "source_key", "reference": {"resource": "source", "fields": "key"}})
    if foreign_keys:
        schema["foreignKeys"] = foreign_keys
    descriptor: dict[str, Any] = {
        "name": table.name,
        "path": table.path,
        "profile": "tabular-data-resource",
        "format": "csv",
        "mediatype": "text/csv",
        "encoding": "utf-8",
        "dialect": {"delimiter": ",", "lineTerminator": "\n", "quoteChar": '"', "doubleQuote": True, "header": True},
        "bytes": size,
        "hash": f"sha256:{digest}",
        "schema": schema,
    }
    if table.description:
        descriptor["description"] = table.description
    return descriptor


PACKAGE_DESCRIPTION = (
    "The Wegweiser NRW catalogue as an Open Referral HSDS 3.0 tabular data package, with the Wegweiser NRW "
    "profile. Each CSV has the columns of the HSDS tabular schema in its order, then the profile's columns: "
    "<column>_<language> carries the other languages of a translated text (the HSDS column holds German; "
    f"languages {', '.join(NON_GERMAN_LANGUAGES)}); source_key, verification_state and last_verified_at say where a "
    "record's facts come from and whether an editor confirmed them. Opening hours are wall-clock times in "
    "tzid (Europe/Berlin). services.jsonl holds every service as one full HSDS service record per line "
    "(German). Rows are sorted by id; files are UTF-8 with LF line ends."
)


def datapackage(resources: list[dict[str, Any]]) -> bytes:
    package = {
        "profile": "data-package",
        "name": PACKAGE_NAME,
        "title": "Wegweiser NRW – services for newcomers in North Rhine-Westphalia (HSDS 3.0)",
        "description": PACKAGE_DESCRIPTION,
        "hsds_version": hsds.HSDS_VERSION,
        "resources": resources,
    }
    return (json.dumps(package, ensure_ascii=False, indent=2) + "\n").encode()


def jsonl_descriptor(digest: str, size: int) -> dict[str, Any]:
    return {
        "name": "services_full",
        "path": JSONL_PATH,
        "profile": "data-resource",
        "format": "jsonl",
        "mediatype": "application/jsonl",
        "encoding": "utf-8",
        "bytes": size,
        "hash": f"sha256:{digest}",
        "description": "One HSDS 3.0 service record (service_full, German content, Wegweiser NRW profile fields) "
        "per line, sorted by id; the same as /api/hsds/services/{id}.",
    }


# --- Writing ------------------------------------------------------------------------------------------------


@dataclass
class ExportResult:
    files: dict[str, int] = field(default_factory=dict)  # name → bytes
    rows: dict[str, int] = field(default_factory=dict)  # name → data rows
    seconds: float = 0.0

    @property
    def total_bytes(self) -> int:
        return sum(self.files.values())

    def summary(self) -> str:
        lines = [f"{name}: {self.rows.get(name, 0)} rows, {size:,} bytes" for name, size in self.files.items()]
        lines.append(f"total {self.total_bytes:,} bytes in {self.seconds:.1f} s")
        return "\n".join(lines)


def write_files(open_file: Callable[[str], IO[bytes]], *, jsonl: bool = True) -> ExportResult:
    """Write every file of the package through ``open_file(name)``; datapackage.json last (it holds hashes)."""
    started = time.monotonic()
    result = ExportResult()
    lookups = Lookups.load()
    resources = []
    for table in TABLES:
        digest, size, lines = _write(open_file, table.path, csv_chunks(table, lookups))
        result.files[table.path], result.rows[table.path] = size, lines - 1
        resources.append(resource_descriptor(table, digest, size))
    if jsonl:
        digest, size, lines = _write(open_file, JSONL_PATH, jsonl_lines())
        result.files[JSONL_PATH], result.rows[JSONL_PATH] = size, lines
        resources.append(jsonl_descriptor(digest, size))
    content = datapackage(resources)
    with open_file(DATAPACKAGE) as handle:
        handle.write(content)
    result.files[DATAPACKAGE] = len(content)
    result.seconds = time.monotonic() - started
    return result


def _write(open_file: Callable[[str], IO[bytes]], name: str, chunks: Iterable[bytes]) -> tuple[str, int, int]:
    digest = hashlib.sha256()
    size = lines = 0
    with open_file(name) as handle:
        for chunk in chunks:
            handle.write(chunk)
            digest.update(chunk)
            size += len(chunk)
            lines += chunk.count(b"\n")
    return digest.hexdigest(), size, lines


def export_package(directory: Path, *, jsonl: bool = True) -> ExportResult:
    """Write the data package (CSV files, services.jsonl, datapackage.json) into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    return write_files(lambda name: (directory / name).open("wb"), jsonl=jsonl)


def export_zip(target: IO[bytes], *, jsonl: bool = True) -> ExportResult:
    """Write the data package as one zip file (same bytes for the same catalogue)."""
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:

        def open_member(name: str) -> IO[bytes]:
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            return archive.open(info, "w", force_zip64=True)

        return write_files(open_member, jsonl=jsonl)


def export_jsonl(target: IO[bytes], language: str = FALLBACK_LANGUAGE) -> int:
    """Write one full HSDS service per line; returns the number of services."""
    count = 0
    for line in jsonl_lines(language):
        target.write(line)
        count += 1
    return count
