"""Load what a fresh install needs from ``data/``: the NRW geography and the catalogue.

Both loaders run in one transaction: a bad row stops the load with a :class:`LoadError` naming the
file, the row (line) and the field, and the database stays as it was. Loading twice changes nothing:
records get stable UUIDs derived from their keys in the data files, and a record is only written when
its values differ. A record an editor has changed since the last load is left alone, so reloading
``data/`` never overwrites the editors' work.

This module reads ``data/``; records are written through the writer of :mod:`exchange.pipeline`, which
the spreadsheet and package imports share.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import logging
import re
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from django.contrib.gis.geos import GEOSException, GEOSGeometry, MultiPolygon, Point, Polygon
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import translation

from directory import models as m
from directory.hours import HoursError, weekly_slot
from directory.places import representative_point
from directory.services import refresh_search_text
from directory.translation import LANGUAGE_CODES
from exchange import office_facts
from exchange.pipeline import (
    LOAD_REASON,
    LoadError,
    LoadReport,
    Outcome,
    Rejected,
    Validation,
    Where,
    Writer,
    area_names,
    changed_fields,
    stable_id,
)

log = logging.getLogger(__name__)

# --- Reading files ----------------------------------------------------------------------------------------


class Entry(dict[str, Any]):
    """A YAML mapping that remembers the line it started on."""

    line: int = 0


class _LineLoader(yaml.SafeLoader):
    pass


def _construct_entry(loader: _LineLoader, node: yaml.MappingNode) -> Entry:
    entry = Entry(loader.construct_mapping(node, deep=True))  # type: ignore[arg-type]
    entry.line = node.start_mark.line + 1
    return entry


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_entry)


def read_yaml(path: Path) -> Any:
    try:
        with path.open(encoding="utf-8") as handle:
            return yaml.load(handle, Loader=_LineLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise LoadError(path, mark.line + 1 if mark else None, None, f"not valid YAML: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise LoadError(path, None, None, "not UTF-8 text") from exc


def file_digest(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


# --- Writing records ----------------------------------------------------------------------------------------


def _why(rejected: Rejected) -> str:
    """What the writer's rejection of a record says, in the words of a load."""
    cause = rejected.__cause__
    if isinstance(cause, ValidationError):
        return _validation_message(cause)
    return f"rejected by the database: {cause}"


def _validation_message(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return "; ".join(f"{name}: {' '.join(str(m) for m in errors)}" for name, errors in exc.message_dict.items())
    return " ".join(exc.messages)


# --- Geography --------------------------------------------------------------------------------------------

GEOGRAPHY_FILES = ("regierungsbezirke.geojson", "kreise.geojson", "gemeinden.geojson", "postcodes.csv", "places.csv")


def _features(path: Path) -> Iterator[tuple[int, dict[str, Any], MultiPolygon]]:
    try:
        collection = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise LoadError(path, None, None, f"not valid GeoJSON: {exc}") from exc
    features = collection.get("features") if isinstance(collection, dict) else None
    if not isinstance(features, list):
        raise LoadError(path, None, None, "expected a FeatureCollection with a 'features' list")
    for number, feature in enumerate(features, start=1):
        if not isinstance(feature, dict) or not isinstance(feature.get("properties"), dict):
            raise LoadError(path, number, None, "feature without properties")
        try:
            geometry = GEOSGeometry(json.dumps(feature.get("geometry")), srid=4326)
        except (GEOSException, ValueError, TypeError) as exc:
            raise LoadError(path, number, "geometry", f"not a valid geometry: {exc}") from exc
        if isinstance(geometry, Polygon):
            geometry = MultiPolygon(geometry, srid=4326)
        if not isinstance(geometry, MultiPolygon) or not geometry.valid:
            raise LoadError(path, number, "geometry", "must be a valid Polygon or MultiPolygon")
        yield number, feature["properties"], geometry


def _code(path: Path, row: int, props: dict[str, Any], name: str, pattern: str) -> str:
    value = str(props.get(name, ""))
    if not re.fullmatch(pattern, value):
        raise LoadError(path, row, name, f"{value!r} is not a well-formed code ({pattern})")
    return value


def load_geography(directory: Path, *, force: bool = False) -> LoadReport:
    """Load Regierungsbezirke, Kreise, Gemeinden, postcodes and places; skip if the files are unchanged."""
    paths = [directory / name for name in GEOGRAPHY_FILES]
    for path in paths:
        if not path.exists():
            raise LoadError(path, None, None, "file is missing (rebuild with data/scripts/build_geography.py)")
    report = LoadReport()
    digest = file_digest(paths)
    if not force and m.LoadedDataset.objects.filter(name="geography", sha256=digest).exists():
        report.counts["geography unchanged"] = 1
        return report
    with transaction.atomic():
        _load_regierungsbezirke(directory / "regierungsbezirke.geojson", report)
        seats = _load_kreise(directory / "kreise.geojson", report)
        _load_gemeinden(directory / "gemeinden.geojson", report)
        for kreis_ags, seat_ags in seats.items():
            m.Kreis.objects.filter(ags=kreis_ags).update(seat_id=seat_ags)
        _load_postcodes(directory / "postcodes.csv", report)
        _load_places(directory / "places.csv", report)
        m.LoadedDataset.objects.update_or_create(name="geography", defaults={"sha256": digest})
    return report


def _save_area(model: type[models.Model], pk: str, values: dict[str, Any], report: LoadReport) -> None:
    _, created = model.objects.update_or_create(pk=pk, defaults=values)  # type: ignore[attr-defined]
    report.count(model, Outcome.CREATED if created else Outcome.CHANGED)


def _load_regierungsbezirke(path: Path, report: LoadReport) -> None:
    for row, props, geometry in _features(path):
        ags = _code(path, row, props, "ags", m.AGS_REGIERUNGSBEZIRK)
        _save_area(m.Regierungsbezirk, ags, {"name": props.get("name", ""), "geometry": geometry}, report)


def _load_kreise(path: Path, report: LoadReport) -> dict[str, str]:
    seats: dict[str, str] = {}
    bezirke = set(m.Regierungsbezirk.objects.values_list("ags", flat=True))
    for row, props, geometry in _features(path):
        ags = _code(path, row, props, "ags", m.AGS_KREIS)
        if ags[:3] not in bezirke:
            raise LoadError(path, row, "ags", f"no Regierungsbezirk {ags[:3]} for Kreis {ags}")
        if props.get("seat"):
            seats[ags] = _code(path, row, props, "seat", m.AGS_GEMEINDE)
        values = {
            "name": props.get("name", ""),
            "bez": props.get("bez", ""),
            "regierungsbezirk_id": ags[:3],
            "population": props.get("population"),
            "geometry": geometry,
        }
        _save_area(m.Kreis, ags, values, report)
    return seats


def _load_gemeinden(path: Path, report: LoadReport) -> None:
    kreise = set(m.Kreis.objects.values_list("ags", flat=True))
    for row, props, geometry in _features(path):
        ags = _code(path, row, props, "ags", m.AGS_GEMEINDE)
        if ags[:5] not in kreise:
            raise LoadError(path, row, "ags", f"no Kreis {ags[:5]} for Gemeinde {ags}")
        name = str(props.get("name", ""))
        values = {
            "name": name,
            "name_folded": m.fold_name(name),
            "bez": props.get("bez", ""),
            "kreis_id": ags[:5],
            "geometry": geometry,
        }
        _save_area(m.Gemeinde, ags, values, report)


def _csv_rows(path: Path, required: set[str]) -> Iterator[tuple[int, dict[str, str]]]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = required - set(reader.fieldnames or [])
        if missing:
            raise LoadError(path, 1, ", ".join(sorted(missing)), "column missing from the header")
        for row in reader:
            if None in row or any(value is None for value in row.values()):
                raise LoadError(path, reader.line_num, None, "wrong number of columns")
            yield reader.line_num, row


def _point(path: Path, line: int, lat: str, lon: str) -> Point:
    try:
        latitude, longitude = float(lat), float(lon)
    except ValueError as exc:
        raise LoadError(path, line, "lat", f"coordinates {lat!r}, {lon!r} are not numbers") from exc
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise LoadError(path, line, "lat", f"coordinates {lat}, {lon} are out of range")
    return Point(longitude, latitude, srid=4326)


def _load_postcodes(path: Path, report: LoadReport) -> None:
    gemeinden = set(m.Gemeinde.objects.values_list("ags", flat=True))
    m.PostcodeGemeinde.objects.all().delete()
    memberships = []
    for line, row in _csv_rows(path, {"plz", "lat", "lon", "gemeinden", "places"}):
        code = row["plz"]
        if not re.fullmatch(m.POSTCODE, code):
            raise LoadError(path, line, "plz", f"{code!r} is not a five-digit postcode")
        centroid = _point(path, line, row["lat"], row["lon"]) if row["lat"] else None
        codes = [ags for ags in row["gemeinden"].split(";") if ags]
        for ags in codes:
            if ags not in gemeinden:
                raise LoadError(path, line, "gemeinden", f"unknown Gemeinde AGS {ags!r}")
        _save_area(m.Postcode, code, {"centroid": centroid, "places": row["places"]}, report)
        memberships += [
            m.PostcodeGemeinde(postcode_id=code, gemeinde_id=ags, rank=rank) for rank, ags in enumerate(codes)
        ]
    m.PostcodeGemeinde.objects.bulk_create(memberships)


def _load_places(path: Path, report: LoadReport) -> None:
    gemeinden = set(m.Gemeinde.objects.values_list("ags", flat=True))
    places = []
    for line, row in _csv_rows(path, {"name", "lat", "lon", "population", "gemeinde"}):
        if row["gemeinde"] not in gemeinden:
            raise LoadError(path, line, "gemeinde", f"unknown Gemeinde AGS {row['gemeinde']!r}")
        places.append(
            m.Place(
                name=row["name"],
                name_folded=m.fold_name(row["name"]),
                point=_point(path, line, row["lat"], row["lon"]),
                population=int(row["population"] or 0),
                gemeinde_id=row["gemeinde"],
            )
        )
    m.Place.objects.all().delete()
    m.Place.objects.bulk_create(places)
    report.counts["Place loaded"] = len(places)


# --- Catalogue --------------------------------------------------------------------------------------------

KEY = r"^[a-z0-9][a-z0-9-]*$"
SECTIONS = ("sources", "organizations", "programs", "locations", "services")


@dataclass
class Item:
    """One entry of a catalogue file, with where it came from."""

    kind: str
    key: str
    data: Entry
    path: Path

    def error(self, field: str | None, message: str) -> LoadError:
        return LoadError(self.path, self.data.line, field, message)

    def where(self, field: str | None = None) -> Callable[[], LoadError]:
        return lambda: self.error(field, "invalid value")


ALLOWED_KEYS: dict[str, set[str]] = {
    "sources": {"title", "publisher", "url", "document", "date", "year", "read"},
    "organizations": {
        "id",
        "name",
        "alternate_name",
        "description",
        "kind",
        "email",
        "website",
        "legal_status",
        "parent",
        "source",
        "verified",
    },
    "programs": {"id", "organization", "name", "alternate_name", "description", "source", "verified"},
    "locations": {
        "id",
        "organization",
        "name",
        "alternate_name",
        "description",
        "transportation",
        "type",
        "url",
        "gemeinde",
        "point",
        "accuracy",
        "address",
        "source",
        "verified",
    },
    "services": {
        "id",
        "organization",
        "program",
        "name",
        "alternate_name",
        "description",
        "url",
        "email",
        "status",
        "service_type",
        "needs",
        "eligibility",
        "target_groups",
        "german_level",
        "minimum_age",
        "maximum_age",
        "languages",
        "eligibility_description",
        "application_process",
        "fees_description",
        "interpretation_services",
        "service_areas",
        "excluded_areas",
        "responsibility_source",
        "jobcenter_form",
        "locations",
        "phones",
        "schedules",
        "source",
        "verified",
        "alert",
    },
    "amendments": {
        "amends",
        "description",
        "needs",
        "target_groups",
        "eligibility",
        "program",
        "locations",
        "source",
        "application_process",
        "eligibility_description",
    },
    "taxonomies": {"id", "name", "description", "terms", "uri", "version"},
    "terms": {"code", "name", "description", "parent", "sort", "term_uri", "search_words"},
}
TERM_FIELDS = {
    "needs": "need",
    "eligibility": "residence-status",
    "target_groups": "target-group",
    "german_level": "german-level",
}


@dataclass
class Catalogue:
    taxonomies: list[Item] = field(default_factory=list)
    items: dict[str, dict[str, Item]] = field(default_factory=lambda: {s: {} for s in SECTIONS})
    amendments: list[Item] = field(default_factory=list)
    # Facts about offices from public pages (contacts/*.yaml): one entry per office and page.
    contacts: list[Item] = field(default_factory=list)


CONTACTS_DIRECTORY = "contacts"
# Places generated at a Kreis's or town's seat (scripts/build_kommunen_catalogue.py): stand-ins until a page
# gives the office's street, which then replaces them.
SEAT_LOCATION_PREFIXES = ("kreissitz-", "sitz-")


def read_catalogue(directory: Path) -> Catalogue:
    """Read every ``*.yaml`` in the catalogue folder; check shapes, keys and that ids are unique."""
    catalogue = Catalogue()
    paths = sorted(directory.glob("*.yaml"))
    if not paths:
        raise LoadError(directory, None, None, "no catalogue files (*.yaml) found")
    for path in sorted((directory / CONTACTS_DIRECTORY).glob("*.yaml")):
        _read_contacts_file(catalogue, path)
    for path in paths:
        content = read_yaml(path)
        if path.name == "taxonomies.yaml":
            if not isinstance(content, list):
                raise LoadError(path, None, None, "expected a list of taxonomies")
            for entry in content:
                _check_entry(path, entry, "taxonomies")
                catalogue.taxonomies.append(Item("taxonomies", _key(path, entry, "id"), entry, path))
            continue
        if not isinstance(content, dict):
            raise LoadError(path, None, None, f"expected a mapping with the sections {', '.join(SECTIONS)}")
        for section, entries in content.items():
            if section not in SECTIONS:
                raise LoadError(
                    path, getattr(content, "line", None), section, f"unknown section; use {', '.join(SECTIONS)}"
                )
            if section == "sources":
                if not isinstance(entries, dict):
                    raise LoadError(path, None, section, "expected a mapping of source key → details")
                for key, entry in entries.items():
                    _check_entry(path, entry, section)
                    _add(catalogue, Item(section, _valid_key(path, entry, "sources", str(key)), entry, path))
                continue
            if not isinstance(entries, list):
                raise LoadError(path, None, section, "expected a list of entries")
            for entry in entries:
                if section == "services" and isinstance(entry, Entry) and "amends" in entry:
                    _check_entry(path, entry, "amendments")
                    catalogue.amendments.append(Item("amendments", _key(path, entry, "amends"), entry, path))
                    continue
                _check_entry(path, entry, section)
                _add(catalogue, Item(section, _key(path, entry, "id"), entry, path))
    return catalogue


def _read_contacts_file(catalogue: Catalogue, path: Path) -> None:
    """A contacts file: ``sources`` (public pages) and ``contacts`` (what each page says about an office)."""
    content = read_yaml(path)
    if not isinstance(content, dict) or set(content) - {"sources", "contacts"}:
        raise LoadError(path, None, None, "expected a mapping with the sections sources and contacts")
    sources = content.get("sources") or {}
    if not isinstance(sources, dict):
        raise LoadError(path, None, "sources", "expected a mapping of source key → details")
    for key, entry in sources.items():
        _check_entry(path, entry, "sources")
        if "read" not in entry or not entry.get("url"):
            raise LoadError(path, entry.line, "read", "a page's facts need its url and the day it was read")
        _add(catalogue, Item("sources", _valid_key(path, entry, "sources", str(key)), entry, path))
    contacts = content.get("contacts") or []
    if not isinstance(contacts, list):
        raise LoadError(path, None, "contacts", "expected a list of entries")
    for entry in contacts:
        if not isinstance(entry, Entry):
            raise LoadError(path, None, "contacts", f"malformed entry {str(entry)[:60]!r}: expected a mapping")
        catalogue.contacts.append(Item("contacts", str(entry.get("office", "")), entry, path))


def _check_entry(path: Path, entry: Any, section: str) -> None:
    if not isinstance(entry, Entry):
        raise LoadError(path, None, section, f"malformed entry {str(entry)[:60]!r}: expected a mapping")
    unknown = sorted(set(entry) - ALLOWED_KEYS[section])
    if unknown:
        raise LoadError(
            path,
            entry.line,
            unknown[0],
            f"unknown field in {section} (allowed: {', '.join(sorted(ALLOWED_KEYS[section]))})",
        )


def _valid_key(path: Path, entry: Entry, name: str, value: str) -> str:
    if not re.fullmatch(KEY, value):
        raise LoadError(path, entry.line, name, f"{value!r} is not a valid id (lowercase letters, digits, '-')")
    return value


def _key(path: Path, entry: Entry, name: str) -> str:
    if name not in entry:
        raise LoadError(path, entry.line, name, "missing")
    return _valid_key(path, entry, name, str(entry[name]))


def _add(catalogue: Catalogue, item: Item) -> None:
    existing = catalogue.items[item.kind].get(item.key)
    if existing is not None:
        raise item.error(
            "id", f"duplicate id {item.key!r} (first defined in {existing.path.name}, row {existing.data.line})"
        )
    catalogue.items[item.kind][item.key] = item


class CatalogueLoader:
    """Validates references and writes a :class:`Catalogue` into the database."""

    def __init__(self, catalogue: Catalogue, report: LoadReport) -> None:
        self.catalogue = catalogue
        self.report = report
        self.sources: dict[str, m.Source] = {}
        self.terms: dict[tuple[str, str], m.TaxonomyTerm] = {}
        self.organizations: dict[str, m.Organization] = {}
        self.programs: dict[str, m.Program] = {}
        self.locations: dict[str, m.Location] = {}
        self.services: dict[str, m.Service] = {}
        self.facts: dict[str, office_facts.OfficeFacts] = {}
        self.address_pages: dict[str, office_facts.PageFacts] = {}
        self.address_owner: dict[str, str] = {}
        self.address_locations: dict[str, m.Location] = {}
        # A town as an address names it ("Mülheim an der Ruhr", "Bergisch Gladbach") → its Gemeinde.
        self.gemeinde_by_name = {m.fold_name(name): ags for ags, name in m.Gemeinde.objects.values_list("ags", "name")}
        # Child records this load wrote: the others of a loaded service are stale and go (see _prune).
        self.written: set[uuid.UUID] = set()
        self.area_names = area_names()
        self.writer = Writer(LOAD_REASON, report, keep_edited=True)

    def _write(self, model: type[Any], pk: uuid.UUID, values: dict[str, Any], *, where: Callable[[], LoadError]) -> Any:
        """Create the record or bring it up to ``values``; leave it be where nothing changed or an editor did."""
        record = model.objects.filter(pk=pk).first()
        try:
            record, _, _ = self.writer.upsert(
                model, record, pk, values, where=Where(), validation=Validation.NOT_CONSTRAINTS
            )
        except Rejected as exc:
            error = where()
            raise LoadError(error.file, error.row, error.field, _why(exc)) from exc
        return record

    def load(self) -> None:
        if len(self.area_names) <= 1:
            raise LoadError("data/geography", None, None, "the geography must be loaded before the catalogue")
        for item in self.catalogue.items["sources"].values():
            self.sources[item.key] = self._source(item)
        self._read_facts()
        for item in self.catalogue.taxonomies:
            self._taxonomy(item)
        for item in self.catalogue.items["organizations"].values():
            self.organizations[item.key] = self._organization(item)
        for item in self.catalogue.items["organizations"].values():
            self._organization_parent(item)
        for item in self.catalogue.items["programs"].values():
            self.programs[item.key] = self._program(item)
        for item in self.catalogue.items["locations"].values():
            self.locations[item.key] = self._location(item)
        self._merge_amendments()
        for item in self.catalogue.items["services"].values():
            self.services[item.key] = self._service(item)
        for key, facts in self.facts.items():
            if key in self.catalogue.items["organizations"]:
                self._organization_contacts(self.organizations[key], facts)
        self._prune()

    def _read_facts(self) -> None:
        """Check every contacts entry before anything is written, and keep per office the newest page's facts."""
        pages: dict[str, list[office_facts.PageFacts]] = {}
        known = set(self.catalogue.items["services"]) | set(self.catalogue.items["organizations"])
        postcodes = set(m.Postcode.objects.values_list("code", flat=True))
        for item in self.catalogue.contacts:
            try:
                facts = office_facts.read_page_facts(
                    item.data,
                    source_of=self.sources.get,
                    postcode_exists=postcodes.__contains__,
                    gemeinde_of=lambda city: self.gemeinde_by_name.get(m.fold_name(city)),
                )
            except office_facts.FactError as exc:
                raise item.error(exc.field, str(exc)) from exc
            if facts.office not in known:
                raise item.error("office", f"unknown office {facts.office!r} (no service or organisation has this id)")
            pages.setdefault(facts.office, []).append(facts)
        for office, entries in pages.items():
            merged = office_facts.merge(entries)
            if merged is not None:
                self.facts[office] = merged
        # One place per door: offices at the same address share it (the Welcome Center Kreis Kleve houses
        # the KI, the Ausländerbehörde and the Einbürgerungsstelle). It carries the newest page that gives it,
        # and belongs to an organisation only where all its offices do.
        owners: dict[str, set[str]] = {}
        for office, merged_facts in self.facts.items():
            address = merged_facts.group("address")
            if address is None:
                continue
            key = address.address_key
            current = self.address_pages.get(key)
            if current is None or (address.source.as_of or dt.date.min, address.source.key) > (
                current.source.as_of or dt.date.min,
                current.source.key,
            ):
                self.address_pages[key] = address
            service = self.catalogue.items["services"].get(office)
            owners.setdefault(key, set()).add(str(service.data.get("organization")) if service else office)
        self.address_owner = {key: next(iter(orgs)) for key, orgs in owners.items() if len(orgs) == 1}

    def _address_location(self, office: str, given: office_facts.PageFacts) -> m.Location:
        """The place an office's page gives a street address for: at its postcode's centroid (accuracy
        "postcode"), or without a postcode somewhere in its town (accuracy "municipality")."""
        key = given.address_key
        if key in self.address_locations:
            return self.address_locations[key]
        page = self.address_pages[key]
        owner = self.address_owner.get(key)
        postcode = m.Postcode.objects.filter(code=page.postal_code).first() if page.postal_code else None
        centroid = postcode.centroid if postcode is not None else None
        gemeinde = m.Gemeinde.objects.containing(centroid).first() if centroid is not None else None
        if gemeinde is None and postcode is not None:
            gemeinde = postcode.gemeinden.order_by("postcodegemeinde__rank").first()
        if gemeinde is None:
            gemeinde = m.Gemeinde.objects.get(ags=self.gemeinde_by_name[m.fold_name(page.city)])
        values = {
            "organization": self.organizations.get(owner) if owner else None,
            "location_type": m.LocationType.PHYSICAL,
            "name": {"de": page.city},
            "point": centroid or representative_point(gemeinde),
            "point_accuracy": m.PointAccuracy.POSTCODE if centroid else m.PointAccuracy.MUNICIPALITY,
            "gemeinde": gemeinde,
            **_unverified(page.source),
        }
        where = lambda: LoadError(CONTACTS_DIRECTORY, None, "address", f"office {office}")  # noqa: E731
        location: m.Location = self._write(m.Location, stable_id("location", f"address/{key}"), values, where=where)
        self.address_locations[key] = location
        address = {
            "location": location,
            "address_1": page.street,
            "postal_code": page.postal_code,
            "city": page.city,
            **_unverified(page.source),
        }
        self._write(m.Address, stable_id("address", f"address/{key}"), address, where=where)
        return location

    def _organization_contacts(self, organization: m.Organization, facts: office_facts.OfficeFacts) -> None:
        """The general contacts of a Kreis, a city or a chamber: the fallback way to reach an office it runs."""
        phones = facts.group("phones")
        where = lambda: LoadError(CONTACTS_DIRECTORY, None, "phones", f"office {facts.office}")  # noqa: E731
        for number, phone in enumerate(phones.phones if phones else []):
            pk = stable_id("phone", f"{organization.pk}/page/{number}")
            self.written.add(pk)
            source = phones.source if phones else None
            self._write(
                m.Phone,
                pk,
                {"organization": organization, "number": phone, **_unverified(source)},
                where=where,
            )
        address = facts.group("address")
        if address is not None:
            self._address_location(facts.office, address)

    # -- field readers: each raises a LoadError naming the file, row and field --

    def _text(self, item: Item, name: str, *, required: bool = False) -> dict[str, str]:
        value = item.data.get(name)
        if value is None:
            if required:
                raise item.error(name, "missing (a German version is required)")
            return {}
        if isinstance(value, str):
            value = {"de": value}
        if not isinstance(value, dict):
            raise item.error(name, "expected a mapping of language code → text")
        unknown = sorted(set(value) - set(LANGUAGE_CODES))
        if unknown:
            raise item.error(name, f"unknown language code {unknown[0]!r} (use {', '.join(LANGUAGE_CODES)})")
        texts = {
            code: " ".join(str(text).split()) if name in {"name"} else str(text).strip()
            for code, text in value.items()
            if text
        }
        if required and not texts.get("de"):
            raise item.error(name, "the German version ('de') is required")
        return texts

    def _search_words(self, item: Item) -> dict[str, list[str]]:
        """A term's ``search_words``: language code → list of words or phrases (each trimmed, none empty)."""
        value = item.data.get("search_words")
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise item.error("search_words", "expected a mapping of language code → list of words")
        unknown = sorted(set(value) - set(LANGUAGE_CODES))
        if unknown:
            raise item.error("search_words", f"unknown language code {unknown[0]!r} (use {', '.join(LANGUAGE_CODES)})")
        words: dict[str, list[str]] = {}
        for code, listed in value.items():
            if not isinstance(listed, list) or not all(isinstance(w, (str, int)) and str(w).strip() for w in listed):
                raise item.error("search_words", f"{code}: expected a list of words (text, none empty)")
            words[code] = [" ".join(str(word).split()) for word in listed]
        return words

    def _plain(self, item: Item, name: str, max_length: int = 300) -> str:
        value = item.data.get(name, "")
        if value is None:
            return ""
        if not isinstance(value, (str, int, float)):
            raise item.error(name, "expected plain text")
        text = str(value).strip()
        if len(text) > max_length:
            raise item.error(name, f"longer than {max_length} characters")
        return text

    def _ref(self, item: Item, name: str, table: dict[str, Any], *, required: bool = False) -> Any:
        key = item.data.get(name)
        if key is None:
            if required:
                raise item.error(name, "missing")
            return None
        if str(key) not in table:
            raise item.error(name, f"unknown id {key!r}")
        return table[str(key)]

    def _list(self, item: Item, name: str) -> list[Any]:
        value = item.data.get(name) or []
        if not isinstance(value, list):
            raise item.error(name, "expected a list")
        return value

    def _age(self, item: Item, name: str) -> int | None:
        value = item.data.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 120:
            raise item.error(name, f"{value!r} is not an age in years (0–120)")
        return value

    def _ags(self, item: Item, name: str, value: Any) -> str:
        code = str(value)
        if not re.fullmatch(m.AGS_ANY_LEVEL, code):
            raise item.error(name, f"{code!r} is not a well-formed AGS (2, 3, 5 or 8 digits)")
        if code not in self.area_names:
            raise item.error(name, f"AGS {code} is not an NRW area")
        return code

    def _provenance(self, item: Item) -> dict[str, Any]:
        source = self._ref(item, "source", self.sources, required=True)
        verified = item.data.get("verified")
        if verified is None:
            return _unverified(source)
        if not isinstance(verified, dt.date):
            raise item.error("verified", f"{verified!r} is not a date (YYYY-MM-DD)")
        when = dt.datetime.combine(verified, dt.time(12), tzinfo=dt.UTC)
        return {"source": source, "verification_state": m.VerificationState.VERIFIED, "last_verified_at": when}

    # -- records --

    def _source(self, item: Item) -> m.Source:
        data = item.data
        today = dt.date.today()
        try:
            date = office_facts.check_date("date", data.get("date"), today=today)
            read_on = office_facts.check_date("read", data.get("read"), today=today)
            url = self._plain(item, "url", 500)
            if url:
                url = office_facts.check_url("url", url)
        except office_facts.FactError as exc:
            raise item.error(exc.field, str(exc)) from exc
        year = data.get("year") or (date.year if date else None)
        values = {
            "title": self._plain(item, "title"),
            "publisher": self._plain(item, "publisher", 200),
            "url": url,
            "document": self._plain(item, "document"),
            "date": date,
            "year": year,
            "read_on": read_on,
        }
        if not values["title"]:
            raise item.error("title", "missing")
        if not values["url"] and not values["document"]:
            raise item.error("url", "a source needs a url or a document")
        source = m.Source.objects.filter(key=item.key).first()
        if source is not None and not changed_fields(source, values):
            self.report.count(m.Source, Outcome.UNCHANGED)
            return source
        outcome = Outcome.CREATED if source is None else Outcome.CHANGED
        source = source or m.Source(key=item.key)
        for k, v in values.items():
            setattr(source, k, v)
        self._clean(item, source)  # before saving: a too-long value is a message, not a database error
        source.save()
        self.report.count(m.Source, outcome)
        return source

    def _clean(self, item: Item, record: models.Model) -> None:
        try:
            record.full_clean(validate_unique=False)
        except ValidationError as exc:
            field_name = next(iter(getattr(exc, "error_dict", {}) or {}), None)
            raise item.error(field_name, _validation_message(exc)) from exc

    def _taxonomy(self, item: Item) -> None:
        values = {
            "key": item.key,
            "name": self._text(item, "name", required=True),
            "description": self._text(item, "description"),
            "uri": self._plain(item, "uri"),
            "version": self._plain(item, "version", 20),
            "verification_state": m.VerificationState.UNVERIFIED,
            "last_verified_at": None,
            "source": None,
        }
        taxonomy = self._write(m.Taxonomy, stable_id("taxonomy", item.key), values, where=item.where())
        terms = self._list(item, "terms")
        codes = Counter(str(t.get("code")) for t in terms if isinstance(t, dict))
        for entry in terms:
            _check_entry(item.path, entry, "terms")
            term_item = Item("terms", _key(item.path, entry, "code"), entry, item.path)
            if codes[term_item.key] > 1:
                raise term_item.error("code", f"duplicate code {term_item.key!r} in taxonomy {item.key}")
            missing = [code for code in LANGUAGE_CODES if not (entry.get("name") or {}).get(code)]
            if missing:
                raise term_item.error("name", f"missing the {', '.join(missing)} version(s); terms need all seven")
            sort = entry.get("sort", 0)
            if not isinstance(sort, int) or sort < 0:
                raise term_item.error("sort", "expected a whole number ≥ 0")
            term_values = {
                "taxonomy": taxonomy,
                "code": term_item.key,
                "name": self._text(term_item, "name", required=True),
                "description": self._text(term_item, "description"),
                "sort": sort,
                "term_uri": self._plain(term_item, "term_uri"),
                "search_words": self._search_words(term_item),
                "source": None,
                "verification_state": m.VerificationState.UNVERIFIED,
                "last_verified_at": None,
            }
            pk = stable_id("term", f"{item.key}/{term_item.key}")
            term = self._write(m.TaxonomyTerm, pk, term_values, where=term_item.where())
            self.terms[(item.key, term_item.key)] = term
        for entry in terms:
            if entry.get("parent"):
                parent = self.terms.get((item.key, str(entry["parent"])))
                if parent is None:
                    raise LoadError(item.path, entry.line, "parent", f"unknown term {entry['parent']!r}")
                term = self.terms[(item.key, str(entry["code"]))]
                if term.parent_id != parent.pk:
                    term.parent = parent
                    term._change_reason = LOAD_REASON  # type: ignore[attr-defined]
                    term.save()

    def _organization(self, item: Item) -> m.Organization:
        kind = self._plain(item, "kind", 30)
        if kind and kind not in m.OrganizationKind.values:
            raise item.error("kind", f"unknown kind {kind!r} (use {', '.join(m.OrganizationKind.values)})")
        values = {
            "name": self._text(item, "name", required=True),
            "alternate_name": self._plain(item, "alternate_name", 200),
            "description": self._text(item, "description"),
            "kind": kind,
            "email": self._plain(item, "email"),
            "website": self._plain(item, "website"),
            "legal_status": self._plain(item, "legal_status", 100),
            "contact_source": None,
            **self._provenance(item),
        }
        facts = self.facts.get(item.key)
        web = facts.group("web") if facts else None
        if web is not None and (web.email or web.website):
            values.update(email=web.email, website=web.website, contact_source=web.source)
        return self._write(m.Organization, stable_id("organization", item.key), values, where=item.where())

    def _organization_parent(self, item: Item) -> None:
        parent = self._ref(item, "parent", self.organizations)
        organization = self.organizations[item.key]
        if parent is not None and parent.pk == organization.pk:
            raise item.error("parent", "an organisation cannot be its own parent")
        if organization.parent_organization_id != (parent.pk if parent else None) and self.writer.wrote_last(
            organization
        ):
            organization.parent_organization = parent
            organization._change_reason = LOAD_REASON  # type: ignore[attr-defined]
            organization.save()

    def _program(self, item: Item) -> m.Program:
        values = {
            "organization": self._ref(item, "organization", self.organizations, required=True),
            "name": self._text(item, "name", required=True),
            "alternate_name": self._plain(item, "alternate_name", 200),
            "description": self._text(item, "description"),
            **self._provenance(item),
        }
        return self._write(m.Program, stable_id("program", item.key), values, where=item.where())

    def _location(self, item: Item) -> m.Location:
        location_type = self._plain(item, "type", 10) or m.LocationType.PHYSICAL
        if location_type not in m.LocationType.values:
            raise item.error("type", f"unknown type {location_type!r} (use {', '.join(m.LocationType.values)})")
        gemeinde = None
        if item.data.get("gemeinde") is not None:
            code = self._ags(item, "gemeinde", item.data["gemeinde"])
            if len(code) != 8:
                raise item.error("gemeinde", f"{code} is not a Gemeinde AGS (8 digits)")
            gemeinde = m.Gemeinde.objects.get(ags=code)
        point, accuracy = self._location_point(item, gemeinde)
        if point is not None and gemeinde is None:
            gemeinde = m.Gemeinde.objects.containing(point).first()
        if location_type == m.LocationType.PHYSICAL and point is None:
            raise item.error("gemeinde", "a physical location needs a point or the Gemeinde it lies in")
        values = {
            "organization": self._ref(item, "organization", self.organizations),
            "location_type": location_type,
            "name": self._text(item, "name"),
            "alternate_name": self._plain(item, "alternate_name", 200),
            "description": self._text(item, "description"),
            "transportation": self._text(item, "transportation"),
            "url": self._plain(item, "url"),
            "point": point,
            "point_accuracy": accuracy,
            "gemeinde": gemeinde,
            **self._provenance(item),
        }
        location: m.Location = self._write(m.Location, stable_id("location", item.key), values, where=item.where())
        self._address(item, location)
        return location

    def _location_point(self, item: Item, gemeinde: m.Gemeinde | None) -> tuple[Point | None, str]:
        raw = item.data.get("point")
        if raw is None:
            if gemeinde is None:
                return None, ""
            return representative_point(gemeinde), m.PointAccuracy.MUNICIPALITY
        if not (isinstance(raw, list) and len(raw) == 2 and all(isinstance(v, (int, float)) for v in raw)):
            raise item.error("point", "expected [latitude, longitude]")
        lat, lon = float(raw[0]), float(raw[1])
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise item.error("point", f"[{lat}, {lon}] is not a coordinate pair")
        point = Point(lon, lat, srid=4326)
        containing = m.Gemeinde.objects.containing(point).first()
        if containing is None:
            raise item.error("point", f"[{lat}, {lon}] lies outside NRW")
        if gemeinde is not None and containing.ags != gemeinde.ags:
            raise item.error("point", f"[{lat}, {lon}] lies in {containing}, not in Gemeinde {gemeinde}")
        accuracy = self._plain(item, "accuracy", 15) or m.PointAccuracy.EXACT
        if accuracy not in m.PointAccuracy.values:
            raise item.error("accuracy", f"unknown accuracy {accuracy!r} (use {', '.join(m.PointAccuracy.values)})")
        return point, accuracy

    def _address(self, item: Item, location: m.Location) -> None:
        address = item.data.get("address")
        if address is None:
            return
        if not isinstance(address, dict):
            raise item.error("address", "expected a mapping with street, postal_code, city")
        unknown = sorted(set(address) - {"street", "street_2", "postal_code", "city", "attention"})
        if unknown:
            raise item.error(f"address.{unknown[0]}", "unknown address field")
        postal_code = str(address.get("postal_code") or "")
        if postal_code and not m.Postcode.objects.filter(code=postal_code).exists():
            raise item.error("address.postal_code", f"{postal_code!r} is not an NRW postcode")
        city = str(address.get("city") or (location.gemeinde.name if location.gemeinde else ""))
        if not city:
            raise item.error("address.city", "missing")
        values = {
            "location": location,
            "attention": str(address.get("attention") or ""),
            "address_1": str(address.get("street") or ""),
            "address_2": str(address.get("street_2") or ""),
            "postal_code": postal_code,
            "city": city,
            "source": location.source,
            "verification_state": location.verification_state,
            "last_verified_at": location.last_verified_at,
        }
        self._write(m.Address, stable_id("address", item.key), values, where=item.where("address"))

    def _service(self, item: Item) -> m.Service:
        status = self._plain(item, "status", 20) or m.ServiceStatus.ACTIVE
        if status not in m.ServiceStatus.values:
            raise item.error("status", f"unknown status {status!r} (use {', '.join(m.ServiceStatus.values)})")
        service_type = None
        if item.data.get("service_type") is not None:
            service_type = self._term(item, "service_type", "service-type", item.data["service_type"])
        values = {
            "organization": self._ref(item, "organization", self.organizations, required=True),
            "program": self._ref(item, "program", self.programs),
            "service_type": service_type,
            "name": self._text(item, "name", required=True),
            "alternate_name": self._plain(item, "alternate_name", 200),
            "description": self._text(item, "description"),
            "url": self._plain(item, "url"),
            "email": self._plain(item, "email"),
            "status": status,
            "interpretation_services": self._text(item, "interpretation_services"),
            "application_process": self._text(item, "application_process"),
            "fees_description": self._text(item, "fees_description"),
            "eligibility_description": self._text(item, "eligibility_description"),
            "alert": self._text(item, "alert"),
            "minimum_age": self._age(item, "minimum_age"),
            "maximum_age": self._age(item, "maximum_age"),
            **self._provenance(item),
        }
        if (
            values["minimum_age"] is not None
            and values["maximum_age"] is not None
            and values["minimum_age"] > values["maximum_age"]
        ):
            raise item.error("maximum_age", "is below minimum_age")
        form = self._plain(item, "jobcenter_form", 40)
        if form and form not in m.JobcenterForm.values:
            raise item.error("jobcenter_form", f"unknown form {form!r} (use {', '.join(m.JobcenterForm.values)})")
        values["jobcenter_form"] = form
        facts = self.facts.get(item.key)
        web = facts.group("web") if facts else None
        values["contact_source"] = None
        if web is not None:
            values["alternate_name"] = web.name[:200] or values["alternate_name"]
            if web.email or web.website:
                values.update(email=web.email, url=web.website, contact_source=web.source)
        service: m.Service = self._write(m.Service, stable_id("service", item.key), values, where=item.where())
        self._attributes(item, service)
        area_source = self._ref(item, "responsibility_source", self.sources)
        self._areas(item, service, "service_areas", excludes=False, source=area_source)
        self._areas(item, service, "excluded_areas", excludes=True, source=area_source)
        address = facts.group("address") if facts else None
        if address is not None:
            # A street address replaces the stand-in place at the seat (other places stay).
            location = self._address_location(item.key, address)
            self._link(item, service, location)
            self._service_locations(item, service, skip_seats=True)
        else:
            self._service_locations(item, service)
        self._languages(item, service)
        self._phones(item, service)
        self._schedules(item, service)
        if facts is not None:
            self._page_children(item, service, facts)
        return service

    def _page_children(self, item: Item, service: m.Service, facts: office_facts.OfficeFacts) -> None:
        """Phones, hours and languages a public page gives for the office, each carrying that page."""
        phones = facts.group("phones")
        for number, phone in enumerate(phones.phones if phones else []):
            self._child(item, "phones", m.Phone, "phone", f"page/{number}", service=service, number=phone, page=phones)
        hours = facts.group("hours")
        web = facts.group("web")
        booking = web.booking_url if web else ""
        for number, slot in enumerate(hours.hours if hours else []):
            self._child(
                item,
                "hours",
                m.Schedule,
                "schedule",
                f"page/{number}",
                service=service,
                byday=slot.byday,
                opens_at=slot.opens,
                closes_at=slot.closes,
                attending_type=slot.attending_type,
                schedule_link=booking,
                page=hours,
            )
        languages = facts.group("languages")
        for code in languages.languages if languages else []:
            self._child(
                item, "languages", m.Language, "language", f"page/{code}", service=service, code=code, page=languages
            )

    def _prune(self) -> None:
        """Remove what an earlier load wrote for a loaded service and this one no longer does (a moved office's
        old place, a phone number a page no longer gives); never what an editor added or changed."""
        services = [s.pk for s in self.services.values()]
        organizations = [o.pk for o in self.organizations.values()]
        stale: list[Any] = []
        for model in (m.Phone, m.Schedule, m.Language, m.ServiceArea, m.ServiceAtLocation, m.Attribute):
            stale += model.objects.filter(service__in=services).exclude(pk__in=self.written)
        stale += m.Phone.objects.filter(organization__in=organizations).exclude(pk__in=self.written)
        for record in stale:
            if self.writer.wrote_last(record):
                self.writer.delete(record)

    def _term(self, item: Item, name: str, taxonomy: str, code: Any) -> m.TaxonomyTerm:
        term = self.terms.get((taxonomy, str(code)))
        if term is None:
            raise item.error(name, f"unknown {taxonomy} code {code!r}")
        return term

    def _child(
        self,
        item: Item,
        field: str,
        model: type[Any],
        kind: str,
        key: str,
        *,
        page: office_facts.PageFacts | None = None,
        source: m.Source | None = None,
        **values: Any,
    ) -> None:
        """A record that belongs to a service: it shares the service's source and verification, unless a
        public page (``page``) or another document (``source``) is where its fact comes from."""
        service: m.Service = values["service"]
        if page is not None:
            provenance = _unverified(page.source)
        elif source is not None:
            provenance = _unverified(source)
        else:
            provenance = {
                "source": service.source,
                "verification_state": service.verification_state,
                "last_verified_at": service.last_verified_at,
            }
        pk = stable_id(kind, f"{service.pk}/{key}")
        self.written.add(pk)
        self._write(model, pk, {**values, **provenance}, where=item.where(field))

    def _attributes(self, item: Item, service: m.Service) -> None:
        for name, taxonomy in TERM_FIELDS.items():
            for code in self._list(item, name):
                term = self._term(item, name, taxonomy, code)
                self._child(
                    item, name, m.Attribute, "attribute", f"{taxonomy}/{code}", service=service, taxonomy_term=term
                )

    def _areas(
        self, item: Item, service: m.Service, name: str, *, excludes: bool, source: m.Source | None = None
    ) -> None:
        for value in self._list(item, name):
            ags = self._ags(item, name, value)
            self._child(
                item,
                name,
                m.ServiceArea,
                "service-area",
                ags,
                source=source,
                service=service,
                ags=ags,
                excludes=excludes,
                name=self.area_names[ags],
            )

    def _service_locations(self, item: Item, service: m.Service, *, skip_seats: bool = False) -> None:
        for key in self._list(item, "locations"):
            location = self.locations.get(str(key))
            if location is None:
                raise item.error("locations", f"unknown location id {key!r}")
            if skip_seats and str(key).startswith(SEAT_LOCATION_PREFIXES):
                continue
            self._link(item, service, location)

    def _link(self, item: Item, service: m.Service, location: m.Location) -> None:
        values = {
            "service": service,
            "location": location,
            **_unverified(service.source),
        }
        pk = stable_id("service-at-location", f"{service.pk}/{location.pk}")
        self.written.add(pk)
        self._write(m.ServiceAtLocation, pk, values, where=item.where("locations"))

    def _languages(self, item: Item, service: m.Service) -> None:
        for code in self._list(item, "languages"):
            if not isinstance(code, str) or not re.fullmatch(m.ISO_639, code):
                raise item.error("languages", f"{code!r} is not an ISO 639 language code")
            self._child(item, "languages", m.Language, "language", code, service=service, code=code)

    def _phones(self, item: Item, service: m.Service) -> None:
        for number, entry in enumerate(self._list(item, "phones")):
            phone = str(entry.get("number", "")) if isinstance(entry, dict) else str(entry)
            if not re.fullmatch(m.PHONE_NUMBER, phone):
                raise item.error("phones", f"{phone!r} is not a phone number")
            self._child(item, "phones", m.Phone, "phone", str(number), service=service, number=phone)

    def _schedules(self, item: Item, service: m.Service) -> None:
        for number, entry in enumerate(self._list(item, "schedules")):
            opens = _time(item, entry.get("opens_at")) if isinstance(entry, dict) else None
            closes = _time(item, entry.get("closes_at")) if isinstance(entry, dict) else None
            if not isinstance(entry, dict) or opens is None or closes is None:
                raise item.error("schedules", "expected a mapping with byday, opens_at, closes_at")
            try:
                with translation.override("en"):  # the loader reports in English
                    slot = weekly_slot(str(entry.get("byday", "")), opens, closes, str(entry.get("attending_type", "")))
            except HoursError as exc:
                raise item.error("schedules", str(exc)) from exc
            self._child(
                item,
                "schedules",
                m.Schedule,
                "schedule",
                str(number),
                service=service,
                byday=slot.byday,
                opens_at=slot.opens,
                closes_at=slot.closes,
                attending_type=slot.attending_type,
            )

    def _merge_amendments(self) -> None:
        """Fold each amendment into the entry it amends, so every service is written once per load."""
        services = self.catalogue.items["services"]
        for item in self.catalogue.amendments:
            target = services.get(item.key)
            if target is None:
                raise item.error("amends", f"unknown service id {item.key!r}")
            for name in ("program", "source"):
                if name in item.data:
                    self._ref(item, name, self.programs if name == "program" else self.sources, required=True)
                    target.data[name] = item.data[name]
            for name in ("description", "application_process", "eligibility_description"):
                if name in item.data:
                    # The amending document's text replaces the generic one in every language.
                    target.data[name] = self._text(item, name)
            for name, taxonomy in TERM_FIELDS.items():
                for code in self._list(item, name):
                    self._term(item, name, taxonomy, code)
            for key in self._list(item, "locations"):
                if str(key) not in self.locations:
                    raise item.error("locations", f"unknown location id {key!r}")
            for name in ("needs", "target_groups", "eligibility", "locations"):
                if name in item.data:
                    merged = self._list(target, name) + [
                        v for v in self._list(item, name) if v not in self._list(target, name)
                    ]
                    target.data[name] = merged


def _unverified(source: m.Source | None) -> dict[str, Any]:
    """Provenance of facts nobody has confirmed yet: where they come from, and no verification."""
    return {"source": source, "verification_state": m.VerificationState.UNVERIFIED, "last_verified_at": None}


def _time(item: Item, value: Any) -> dt.time | None:
    if value is None or isinstance(value, dt.time):
        return value
    if isinstance(value, int):  # YAML reads 09:00 as a sexagesimal integer (540)
        return dt.time(value // 60, value % 60) if 0 <= value < 24 * 60 else None
    match = re.fullmatch(r"([01]?[0-9]|2[0-3]):([0-5][0-9])", str(value))
    if not match:
        raise item.error("schedules", f"{value!r} is not a time (HH:MM)")
    return dt.time(int(match[1]), int(match[2]))


def load_catalogue(directory: Path) -> LoadReport:
    report = LoadReport()
    catalogue = read_catalogue(directory)
    with transaction.atomic():
        CatalogueLoader(catalogue, report).load()
        refresh_search_text()
    return report
