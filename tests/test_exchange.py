"""Bulk export (HSDS 3.0 data package, JSON lines) and import (spreadsheets, packages) of the catalogue.

The round trip is the export's promise: export, empty the catalogue, import, export again → the same bytes.
Spreadsheets are imported end to end from the tiny files in tests/data/.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import shutil
import uuid
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import Permission, User
from django.contrib.gis.geos import MultiPolygon, Point, Polygon
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from rq import SimpleWorker

from directory import models as m
from directory.services import refresh_search_text
from exchange import exports, jobs
from exchange.imports import ImportFile, Outcome, run_import
from exchange.loaders import load_catalogue
from exchange.spreadsheet import SHEET_COLUMNS, template_csv, template_xlsx

pytestmark = pytest.mark.django_db

DATA = Path(__file__).parent / "data"
HSDS = Path(settings.BASE_DIR) / "vendor" / "hsds-3.0"
FIRST = uuid.UUID("00000000-0000-4000-8000-00000000e001")
ESSEN = Point(7.0117, 51.4556, srid=4326)


# --- Helpers shared with test_import_fuzz.py -------------------------------------------------------------------


def catalogue_models() -> list[Any]:
    return [mo for mo in apps.get_app_config("directory").get_models() if issubclass(mo, m.Record)] + [m.Source]


def catalogue_state() -> dict[str, Any]:
    """Row counts of every catalogue table and its history, and a checksum of every service row."""
    state: dict[str, Any] = {model.__name__: model.objects.count() for model in catalogue_models()}
    state.update({f"history {mo.__name__}": mo.history.count() for mo in catalogue_models() if hasattr(mo, "history")})
    with connection.cursor() as cursor:
        cursor.execute("SELECT md5(string_agg(s::text, '|' ORDER BY s.id)) FROM directory_service AS s")
        state["service checksum"] = cursor.fetchone()[0]
    return state


def delete_catalogue() -> None:
    """Every catalogue record, in an order the PROTECTed references allow; the geography stays."""
    for model in (
        m.Attribute,
        m.ServiceArea,
        m.Language,
        m.Schedule,
        m.Phone,
        m.Contact,
        m.Accessibility,
        m.CostOption,
        m.RequiredDocument,
        m.Funding,
        m.Address,
        m.ServiceAtLocation,
        m.Service,
        m.Location,
        m.Program,
        m.Organization,
        m.TaxonomyTerm,
        m.Taxonomy,
        m.Source,
    ):
        model.objects.all().delete()


def truncate_catalogue() -> None:
    """Empty every catalogue table at once (TRUNCATE, undone with the test's transaction); the geography stays.

    Much faster than :func:`delete_catalogue`, which deletes row by row and writes history; it must run before
    the test writes anything (Postgres refuses to truncate a table with pending constraint checks).
    """
    tables = ", ".join(connection.ops.quote_name(model._meta.db_table) for model in catalogue_models())
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {tables} CASCADE")


@pytest.fixture
def own_catalogue(db, tmp_path_factory) -> None:
    """A test's own small catalogue: the shipped one emptied, the shipped taxonomies (reference data) loaded
    again. Exports and round trips then run on the records the test builds; `make test-deep` runs the round trip
    on the whole shipped catalogue too (tests/test_catalogue_data.py)."""
    truncate_catalogue()
    folder = tmp_path_factory.mktemp("taxonomies")
    shutil.copy(settings.DATA_DIR / "catalogue" / "taxonomies.yaml", folder / "taxonomies.yaml")
    load_catalogue(folder)


def sheet(rows: list[dict[str, str]], *, delimiter: str = ";", encoding: str = "utf-8") -> ImportFile:
    headers = list(dict.fromkeys(key for row in rows for key in row))
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    writer.writerow(headers)
    writer.writerows([[row.get(h, "") for h in headers] for row in rows])
    return ImportFile("test.csv", buffer.getvalue().encode(encoding))


def row(**cells: str) -> dict[str, str]:
    """A valid spreadsheet row; keyword arguments replace cells (Quell_ID → "Quell-ID" …)."""
    base = {
        "Quell-ID": "T-1",
        "Quelle": "Testliste Fuzz",
        "Träger": "Kreis Kleve",
        "Angebot": "Beratung für Neuzugewanderte",
        "Beschreibung": "Beratung",
        "Bedarfe": "counselling",
        "Sprachen": "de; ar",
        "PLZ": "47533",
        "Ort": "Kleve",
        "Telefon": "02821 12345",
        "E-Mail": "beratung@example.org",
        "Webseite": "https://example.org/",
        "Öffnungszeiten": "Mo-Fr 09:00-12:00",
        "Zuständig für": "05154",
    }
    base.update({HEADER_NAMES.get(key, key): value for key, value in cells.items()})
    return base


HEADER_NAMES = {column.key: column.header for column in SHEET_COLUMNS} | {
    "Quell_ID": "Quell-ID",
    "Traeger": "Träger",
    "Strasse": "Straße",
    "E_Mail": "E-Mail",
    "Oeffnungszeiten": "Öffnungszeiten",
    "Zustaendig": "Zuständig für",
    "Nicht_zustaendig": "Nicht zuständig für",
    "Geprueft": "Geprüft am",
}


def problems_at(report: Any) -> set[tuple[int | None, str | None]]:
    return {(problem.line, problem.column) for problem in report.problems}


# --- A catalogue with something in every table and every field -------------------------------------------------


@pytest.fixture
def every_table(own_catalogue) -> dict[str, Any]:
    """Records in every HSDS table, with translations, provenance, exclusions and extents."""
    source = m.Source.objects.create(key="test-source", title="Testquelle", url="https://example.org/q", year=2025)
    taxonomy = m.Taxonomy.objects.create(key="test-tax", name={"de": "Test", "en": "Test"}, uri="https://ex.org/t")
    parent = m.TaxonomyTerm.objects.create(taxonomy=taxonomy, code="eltern", name={"de": "Eltern", "uk": "Батьки"})
    child = m.TaxonomyTerm.objects.create(
        taxonomy=taxonomy, code="kind", name={"de": "Kind"}, parent=parent, sort=3, description={"de": "D"}
    )
    kind = m.TaxonomyTerm.objects.of("service-type").order_by("sort").first()
    when = dt.datetime(2025, 3, 4, 10, 11, 12, 123456, tzinfo=dt.UTC)
    verified = {"source": source, "verification_state": "verified", "last_verified_at": when}
    umbrella = m.Organization.objects.create(name={"de": "Dachverband"}, kind="welfare-association")
    organization = m.Organization.objects.create(
        id=FIRST,
        name={"de": "Beispielverein e. V.", "en": "Example association", "ar": "جمعية"},
        description={"de": 'Ein Verein;\nmit Zeilen, "Zitaten" und Kommas.'},
        alternate_name="BV",
        email="info@beispiel.example",
        website="https://beispiel.example/",
        legal_status="e. V.",
        uri="https://beispiel.example/org",
        parent_organization=umbrella,
        kind="association",
        **verified,
    )
    program = m.Program.objects.create(organization=organization, name={"de": "Programm", "tr": "Program"})
    service = m.Service.objects.create(
        id=FIRST,
        organization=organization,
        program=program,
        service_type=kind,
        name={"de": "Beratung", "en": "Counselling", "fa": "مشاوره"},
        alternate_name="B",
        description={"de": "Beratung für alle.", "ru": "Консультация"},
        url="https://beispiel.example/beratung",
        email="beratung@beispiel.example",
        status="temporarily closed",
        interpretation_services={"de": "Dolmetscher"},
        application_process={"de": "Anrufen"},
        fees_description={"de": "kostenlos", "ar": "مجاني"},
        eligibility_description={"de": "Alle"},
        wait_time="1 Woche",
        accreditations="ISO",
        licenses="L",
        alert={"de": "Umzug!"},
        minimum_age=12,
        maximum_age=27,
        external_source="test-source",
        external_id="X-1",
        **verified,
    )
    location = m.Location.objects.create(
        id=FIRST,
        organization=organization,
        name={"de": "Beratungsstelle", "en": "Office"},
        alternate_name="BS",
        description={"de": "2. Stock"},
        transportation={"de": "Bus 1"},
        url="https://beispiel.example/ort",
        point=Point(7.011712345678912, 51.45561234567891, srid=4326),
        point_accuracy="exact",
        gemeinde_id="05113000",
        external_identifier="UPRN-1",
        external_identifier_type="uprn",
    )
    postal = m.Location.objects.create(location_type="virtual", url="https://beispiel.example/online")
    approximate = m.Location.objects.create(point=ESSEN, point_accuracy="postcode", gemeinde_id="05113000")
    place = m.ServiceAtLocation.objects.create(service=service, location=location, description={"de": "Hier"})
    m.ServiceAtLocation.objects.create(service=service, location=approximate)
    m.Address.objects.create(
        location=location,
        address_1="Hauptstraße 1",
        address_2="Hinterhaus",
        city="Essen",
        postal_code="45127",
        attention="z. Hd.",
        region="Ruhr",
        address_type="postal",
        **verified,
    )
    square = Polygon(((6.9, 51.4), (7.1, 51.4), (7.1, 51.5), (6.9, 51.4)), srid=4326)
    m.ServiceArea.objects.create(service=service, ags="05154", name="Kreis Kleve", description={"de": "Kreis"})
    m.ServiceArea.objects.create(service=service, ags="05154036", name="Kleve", excludes=True)
    m.ServiceArea.objects.create(service=service, ags="05113000", name="Essen", extent=MultiPolygon(square, srid=4326))
    owners = {"service": service, "organization": organization, "location": location, "service_at_location": place}
    for name, owner in owners.items():
        phone = m.Phone.objects.create(
            number="0201 12345", extension="012", description={"de": "Zentrale"}, **{name: owner}
        )
        m.Language.objects.create(phone=phone, code="ar", name="Arabisch", note="vormittags")
        contact = m.Contact.objects.create(name="Frau Muster", title="Dr.", department="Beratung", **{name: owner})
        m.Phone.objects.create(contact=contact, number="+49 201 5", type="fax")
    m.Schedule.objects.create(
        service=service,
        byday="MO,TU",
        opens_at=dt.time(9),
        closes_at=dt.time(12, 30, 15),
        attending_type="walk-in",
        valid_from=dt.date(2025, 1, 1),
        valid_to=dt.date(2025, 6, 30),
        description={"de": "Sommer", "en": "Summer"},
        notes="Pause",
        schedule_link="https://beispiel.example/termin",
    )
    m.Schedule.objects.create(location=location, byday="WE", opens_at=dt.time(14), closes_at=dt.time(16))
    m.Schedule.objects.create(service_at_location=place, byday="FR", opens_at=dt.time(8), closes_at=dt.time(9))
    m.Schedule.objects.create(service=service, is_closed=True, valid_from=dt.date(2025, 12, 24))
    m.Language.objects.create(service=service, code="tr", name="Türkisch")
    m.Language.objects.create(location=location, code="fa")
    m.Accessibility.objects.create(location=location, details="Rampe", description={"de": "Rampe", "en": "Ramp"})
    m.CostOption.objects.create(
        service=service,
        amount=Decimal("12.50"),
        option="Kurs",
        valid_from=dt.date(2025, 1, 1),
        amount_description={"de": "je Termin"},
    )
    m.CostOption.objects.create(service=service, amount=0, option="Beratung")
    m.RequiredDocument.objects.create(service=service, document={"de": "Ausweis", "en": "ID"}, uri="https://ex.org/d")
    m.Funding.objects.create(service=service, source_text="Land NRW")
    m.Funding.objects.create(organization=organization, source_text="Stadt Essen")
    m.Attribute.objects.create(service=service, taxonomy_term=child, value="v", label="l")
    m.Attribute.objects.create(organization=organization, taxonomy_term=parent)
    m.Attribute.objects.create(location=location, taxonomy_term=child)
    refresh_search_text()
    return {"service": service, "location": location, "postal": postal, "organization": organization}


def export_to(path: Path) -> exports.ExportResult:
    shutil.rmtree(path, ignore_errors=True)
    return exports.export_package(path)


# --- Export ------------------------------------------------------------------------------------------------------


def test_it_exports_every_hsds_table_with_the_columns_of_the_tabular_schema():
    schema = json.loads((HSDS / "schema" / "compiled" / "tabular.json").read_text())["properties"]
    wanted = {
        "organization", "program", "service", "location", "address", "service_at_location", "phone", "contact",
        "schedule", "service_area", "language", "accessibility", "cost_option", "required_document", "funding",
        "taxonomy", "taxonomy_term", "attribute",
    }  # fmt: skip
    assert wanted <= set(exports.TABLES_BY_NAME)
    for name in wanted:
        table, spec = exports.TABLES_BY_NAME[name], schema[name]["items"]
        hsds_columns = [key for key, field in spec["properties"].items() if field.get("type") != "array"]
        assert table.path == spec["path"]
        assert [c.name for c in table.hsds_columns] == hsds_columns, name
        assert all(c.profile for c in table.columns[len(hsds_columns) :]), name
        for column in table.hsds_columns:
            field = spec["properties"][column.name]
            if (name, column.name) != ("phone", "extension"):  # kept as written ("012"): documented
                expected = "datetime" if field.get("format") == "date-time" else field["type"]
                assert column.type == expected, (name, column.name)


def test_every_field_of_every_record_has_a_column():
    """What the round trip must carry: everything but bookkeeping (and who verified: personal data)."""
    bookkeeping = {"created_at", "updated_at", "verified_by", "search_text", "search_names", "search_vector"}
    elsewhere = {
        "point": "latitude",
        "gemeinde": "ags",
        "source": "source_key",
        "contact_source": "contact_source_key",
    }
    for table in exports.TABLES:
        attrs = {column.attr for column in table.columns} | {"id"}
        for model_field in table.model._meta.concrete_fields:
            name = model_field.name
            if name in bookkeeping or (table.name, name) == ("service", "service_type"):  # an attribute row
                continue
            if table.name == "attribute" and name in ("service", "organization", "location"):
                continue  # link_entity + link_id
            assert name in attrs or elsewhere.get(name) in table.header, (table.name, name)


def test_it_writes_a_deterministic_package_described_by_its_datapackage(every_table, tmp_path):
    first, second = export_to(tmp_path / "a"), export_to(tmp_path / "b")
    assert first.files == second.files
    package = json.loads((tmp_path / "a" / "datapackage.json").read_text(encoding="utf-8"))
    assert package["profile"] == "data-package"
    resources = {resource["path"]: resource for resource in package["resources"]}
    assert set(resources) | {"datapackage.json"} == set(first.files)
    for name in first.files:
        content = (tmp_path / "a" / name).read_bytes()
        assert content == (tmp_path / "b" / name).read_bytes(), name
        content.decode("utf-8")
        assert not content.startswith(b"\xef\xbb\xbf"), name
        if name == "datapackage.json":
            continue
        assert resources[name]["bytes"] == len(content)
        assert resources[name]["hash"] == "sha256:" + hashlib.sha256(content).hexdigest()
        if name.endswith(".csv"):
            rows = list(csv.reader(io.StringIO(content.decode(), newline="")))
            assert rows[0] == [field["name"] for field in resources[name]["schema"]["fields"]], name
            key = 0
            assert [r[key] for r in rows[1:]] == sorted(r[key] for r in rows[1:]), f"{name} is sorted by id"
            assert b"\r\n" not in content.replace(b'"\r\n', b""), name


def test_it_carries_translations_provenance_and_the_profile_in_extra_columns(every_table, tmp_path):
    export_to(tmp_path)

    def rows(name: str) -> dict[str, dict[str, str]]:
        with (tmp_path / name).open(encoding="utf-8", newline="") as handle:
            return {r.get("id") or r["key"]: r for r in csv.DictReader(handle)}

    service = rows("services.csv")[str(FIRST)]
    assert (service["name"], service["name_en"], service["name_fa"]) == ("Beratung", "Counselling", "مشاوره")
    assert service["verification_state"] == "verified"
    assert service["last_verified_at"] == "2025-03-04T10:11:12.123456+00:00"
    assert service["assured_date"] == "2025-03-04"
    assert (service["source_key"], service["external_source"], service["external_id"]) == (
        "test-source",
        "test-source",
        "X-1",
    )
    location = rows("locations.csv")[str(FIRST)]
    assert (location["latitude"], location["longitude"]) == ("51.45561234567891", "7.011712345678912")
    assert (location["ags"], location["point_accuracy"]) == ("05113000", "exact")
    areas = [a for a in rows("service_areas.csv").values() if a["service_id"] == str(FIRST)]
    assert {(a["ags"], a["excludes"]) for a in areas} == {
        ("05154", "false"),
        ("05154036", "true"),
        ("05113000", "false"),
    }
    assert json.loads(next(a for a in areas if a["ags"] == "05113000")["extent"])["type"] == "MultiPolygon"
    types = [
        a for a in rows("attributes.csv").values() if a["link_type"] == "service_type" and a["link_id"] == str(FIRST)
    ]
    assert len(types) == 1 and types[0]["link_entity"] == "service"
    assert rows("sources.csv")["test-source"]["title"] == "Testquelle"
    closed = [s for s in rows("schedules.csv").values() if s["closed"] == "true"]
    assert closed and closed[0]["tzid"] == "Europe/Berlin" and closed[0]["timezone"] == ""


def test_it_writes_one_full_hsds_service_per_line(every_table, tmp_path):
    export_to(tmp_path)
    lines = (tmp_path / "services.jsonl").read_bytes().decode().splitlines()
    assert len(lines) == m.Service.objects.count()
    records = [json.loads(line) for line in lines]
    assert [r["id"] for r in records] == sorted(str(pk) for pk in m.Service.objects.values_list("id", flat=True))
    ours = next(r for r in records if r["id"] == str(FIRST))
    assert ours["name"] == "Beratung" and ours["provenance"]["verification_state"] == "verified"
    schema_dir = HSDS / "schema"
    official = "https://raw.githubusercontent.com/openreferral/specification/3.0/schema/"
    registry = Registry().with_resources(
        (
            official + p.relative_to(schema_dir).as_posix(),
            Resource.from_contents(json.loads(p.read_text()), DRAFT202012),
        )
        for p in [*schema_dir.glob("*.json"), schema_dir / "compiled" / "service.json"]
    )
    validator = Draft202012Validator(
        {"$ref": official + "compiled/service.json"}, registry=registry, format_checker=FormatChecker()
    )
    for record in [ours, *records[:10]]:
        assert not list(validator.iter_errors(record)), record["id"]


def test_the_zip_holds_the_same_files(every_table, tmp_path):
    export_to(tmp_path / "dir")
    buffer = io.BytesIO()
    exports.export_zip(buffer)
    second = io.BytesIO()
    exports.export_zip(second)
    assert buffer.getvalue() == second.getvalue(), "the same catalogue zips to the same bytes"
    with zipfile.ZipFile(buffer) as archive:
        for name in archive.namelist():
            assert archive.read(name) == (tmp_path / "dir" / name).read_bytes(), name


# --- Round trip --------------------------------------------------------------------------------------------------


def test_export_import_into_an_empty_catalogue_and_export_again_gives_the_same_bytes(every_table, tmp_path):
    export_to(tmp_path / "a")
    with transaction.atomic():
        delete_catalogue()
        assert m.Service.objects.count() == 0 and m.Gemeinde.objects.exists()
        report = run_import(ImportFile.from_path(tmp_path / "a"))
        assert report.ok, report.text(rows=False)
        assert report.applied and all(r.outcome == Outcome.CREATED for r in report.rows)
        export_to(tmp_path / "b")
        names = sorted(p.name for p in (tmp_path / "a").iterdir())
        assert names == sorted(p.name for p in (tmp_path / "b").iterdir())
        for name in names:
            assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
        service = m.Service.objects.get(pk=FIRST)
        assert service.name == {"de": "Beratung", "en": "Counselling", "fa": "مشاوره"}
        assert service.source is not None and service.source.key == "test-source"
        assert "Beratung" in service.search_text, "the search text is rebuilt"
        assert m.Service.history.filter(history_change_reason="import: a").count() == m.Service.objects.count()
        transaction.set_rollback(True)


def test_importing_the_export_into_the_same_catalogue_changes_nothing(every_table, tmp_path):
    export_to(tmp_path)
    before = catalogue_state()
    report = run_import(ImportFile.from_path(tmp_path))
    assert report.ok, report.text(rows=False)
    assert {r.outcome for r in report.rows} == {Outcome.UNCHANGED}
    assert catalogue_state() == before


def test_a_package_import_updates_what_changed_and_rejects_broken_rows(every_table, tmp_path):
    export_to(tmp_path)
    path = tmp_path / "services.csv"
    rows = list(csv.DictReader(path.open(encoding="utf-8", newline="")))
    ours = next(r for r in rows if r["id"] == str(FIRST))
    ours["name_en"] = "Advice"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    report = run_import(ImportFile.from_path(tmp_path), dry_run=True)
    changed = [r for r in report.rows if r.outcome == Outcome.CHANGED]
    assert [(r.key, r.changes) for r in changed] == [(str(FIRST), ["name"])]
    assert m.Service.objects.get(pk=FIRST).name["en"] == "Counselling", "a dry run writes nothing"

    ours.update(status="open", minimum_age="zwölf", organization_id=str(uuid.uuid4()))
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    before = catalogue_state()
    report = run_import(ImportFile.from_path(tmp_path))
    line = rows.index(ours) + 2
    assert {("services.csv", line, c) for c in ("minimum_age", "organization_id")} <= {
        (p.file, p.line, p.column) for p in report.problems
    }
    assert not report.applied and catalogue_state() == before


# --- Spreadsheets --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["angebote.csv", "angebote.xlsx"])
def test_it_imports_a_tiny_spreadsheet_end_to_end(name):
    report = run_import(ImportFile.from_path(DATA / name))
    assert report.ok, report.text()
    assert [(r.line, r.key, r.outcome) for r in report.rows] == [
        (2, "KLE-1", Outcome.CREATED),
        (3, "ESS-7", Outcome.CREATED),
        (4, "MS-3", Outcome.CREATED),
    ]
    cafe = m.Service.objects.get(external_source="testliste-wegweiser", external_id="KLE-1")
    assert cafe.name == {"de": "Sprachcafé Kleve", "en": "Language café Kleve"}
    assert cafe.organization.name["de"] == "Kreis Kleve", "an existing organisation is found by its name"
    assert cafe.service_type is not None and cafe.service_type.code == "meeting-place"
    assert cafe.url == "https://www.example.org/sprachcafe"
    assert cafe.is_verified and cafe.last_verified_at == dt.datetime(2025, 1, 15, 12, tzinfo=dt.UTC)
    assert cafe.source is not None and cafe.source.url == "https://example.org/liste"
    assert sorted(cafe.phones.values_list("number", flat=True)) == ["0170 1234567", "02821 12345"]
    assert sorted(cafe.languages.values_list("code", flat=True)) == ["ar", "de", "en"]
    assert {(a.ags, a.excludes) for a in cafe.service_areas.all()} == {("05154", False), ("05154036", True)}
    assert sorted((s.byday, s.opens_at, s.attending_type) for s in cafe.schedules.all()) == [
        ("MO,TU,WE,TH,FR", dt.time(9), "walk-in"),
        ("TU", dt.time(14), "walk-in"),
    ]
    assert cafe.cost_options.get().is_free
    assert {a.taxonomy_term.code for a in cafe.attributes.select_related("taxonomy_term")} == {
        "language", "community", "newcomers", "refugees"
    }  # fmt: skip
    place = cafe.service_at_locations.get().location
    assert (place.point_accuracy, place.gemeinde_id, place.name["de"]) == ("exact", "05154036", "Stadthalle Kleve")
    assert place.addresses.get().address_1 == "Lindenallee 1"
    training = m.Service.objects.get(external_id="ESS-7")
    assert training.organization.name == {"de": "Verein Neue Nachbarn e.V."}, "a new organisation is created once"
    assert m.Service.objects.get(external_id="MS-3").organization_id == training.organization_id
    essen = training.service_at_locations.get().location
    assert (essen.point_accuracy, essen.gemeinde_id) == ("postcode", "05113000")
    assert (training.minimum_age, training.maximum_age) == (16, 27)
    assert "Bewerbungstraining" in training.search_text
    assert not m.Service.objects.get(external_id="MS-3").service_at_locations.exists(), "no address, no place"
    assert cafe.history.get().history_change_reason == f"import: {name}"


@pytest.mark.parametrize("name", ["angebote.csv", "angebote.xlsx"])
def test_importing_a_spreadsheet_again_changes_nothing_and_writes_no_history(name):
    assert run_import(ImportFile.from_path(DATA / name)).ok
    before = catalogue_state()
    report = run_import(ImportFile.from_path(DATA / name))
    assert report.ok and report.applied
    assert {r.outcome for r in report.rows} == {Outcome.UNCHANGED}
    assert catalogue_state() == before


def test_the_csv_and_the_xlsx_file_say_the_same():
    assert run_import(ImportFile.from_path(DATA / "angebote.csv")).ok
    report = run_import(ImportFile.from_path(DATA / "angebote.xlsx"), dry_run=True)
    assert {r.outcome for r in report.rows} == {Outcome.UNCHANGED}


def test_a_dry_run_reports_everything_and_writes_nothing():
    before = catalogue_state()
    report = run_import(ImportFile.from_path(DATA / "angebote.csv"), dry_run=True)
    assert report.ok and not report.applied
    assert [r.outcome for r in report.rows] == [Outcome.CREATED] * 3
    assert report.records["Service neu"] == 3 and report.records["Organization neu"] == 1
    assert catalogue_state() == before


def test_a_changed_row_changes_only_what_it_says():
    assert run_import(sheet([row(name_en="Advice")])).ok
    service = m.Service.objects.get(external_id="T-1")
    report = run_import(sheet([row(Telefon="0201 999", Angebot="Beratung neu")]))
    assert report.ok
    assert report.rows[0].outcome == Outcome.CHANGED and report.rows[0].changes == ["Angebot", "Telefon"]
    service.refresh_from_db()
    assert service.name == {"de": "Beratung neu"}, "a changed German text drops the old text's translation"
    assert list(service.phones.values_list("number", flat=True)) == ["0201 999"]
    assert service.languages.count() == 2, "untouched lists stay"


def test_an_empty_cell_leaves_a_field_and_a_dash_clears_it():
    assert run_import(sheet([row(Mindestalter="18")])).ok
    assert run_import(sheet([{**row(), "E-Mail": "", "Telefon": "-", "Mindestalter": "-"}])).ok
    service = m.Service.objects.get(external_id="T-1")
    assert service.email == "beratung@example.org"
    assert not service.phones.exists() and service.minimum_age is None


def test_areas_move_between_the_including_and_the_excluding_column():
    assert run_import(sheet([row(Zustaendig="05154; 05154036")])).ok
    service = m.Service.objects.get(external_id="T-1")

    def areas() -> set[tuple[str, bool]]:
        return {(a.ags, a.excludes) for a in service.service_areas.all()}

    assert run_import(sheet([{**row(), "Zuständig für": "", "Nicht zuständig für": "05154036"}])).ok
    assert areas() == {("05154", False), ("05154036", True)}, "the excluding column wins; the other stays"
    assert run_import(sheet([{**row(), "Zuständig für": "05154036", "Nicht zuständig für": ""}])).ok
    assert areas() == {("05154036", False)}
    assert run_import(sheet([{**row(), "Zuständig für": "-"}])).ok
    assert areas() == set()


def test_rows_with_only_notes_are_skipped():
    upload = sheet([row(), {"#Notiz": "nur eine Notiz"}, {**row(Quell_ID="T-2"), "#Notiz": "egal"}])
    report = run_import(upload)
    assert report.ok, report.text()
    assert [r.line for r in report.rows] == [2, 4]


def test_it_reports_every_bad_row_with_line_column_and_reason():
    bad = [
        row(Quell_ID="ok-1"),
        row(Quell_ID="b-2", PLZ="4753"),
        row(Quell_ID="b-3", PLZ="10115"),
        row(Quell_ID="b-4", Zustaendig="05999"),
        row(Quell_ID="b-5", Breitengrad="52,52", Längengrad="13,40"),
        row(Quell_ID="b-6", Telefon="call me"),
        row(Quell_ID="b-7", E_Mail="nobody@"),
        row(Quell_ID="b-8", Webseite="http://exa mple"),
        row(Quell_ID="b-9", Oeffnungszeiten="Montag früh"),
        row(Quell_ID="ok-1"),
        row(Quell_ID="b-11", Bedarfe="work; flying"),
        row(Quell_ID="b-12", Angebot=""),
        row(Quell_ID="b-13", Oeffnungszeiten="Mo 12:00-09:00"),
        row(Quell_ID="b-14", Mindestalter="30", Höchstalter="20"),
        row(Quell_ID="b-15", Geprueft="31.02.2025"),
    ]
    before = catalogue_state()
    report = run_import(sheet(bad))
    expected = {
        (3, "PLZ"),
        (4, "PLZ"),
        (5, "Zuständig für"),
        (6, "Breitengrad"),
        (7, "Telefon"),
        (8, "E-Mail"),
        (9, "Webseite"),
        (10, "Öffnungszeiten"),
        (11, "Quell-ID"),
        (12, "Bedarfe"),
        (13, "Angebot"),
        (14, "Öffnungszeiten"),
        (15, "Höchstalter"),
        (16, "Geprüft am"),
    }
    assert problems_at(report) == expected, report.text()
    assert "flying" in next(p.message for p in report.problems if p.column == "Bedarfe")
    assert "außerhalb von NRW" in next(p.message for p in report.problems if p.line == 6)
    assert [r.outcome for r in report.rows] == [Outcome.CREATED] + [Outcome.REJECTED] * 14
    assert not report.applied and catalogue_state() == before


def test_it_reports_missing_unknown_and_repeated_columns():
    upload = ImportFile("x.csv", b"Quell-ID;Angebot;Strase;PLZ;PLZ;#Notiz\n1;A;B;47533;47533;egal\n")
    report = run_import(upload)
    assert problems_at(report) == {(1, "Quelle"), (1, "Träger"), (1, "Strase"), (1, "PLZ")}


def test_it_reads_excel_csv_in_windows_1252_with_semicolons():
    report = run_import(sheet([row(Angebot="Beratung für Mütter", Quell_ID="w")], encoding="cp1252"))
    assert report.ok and any("Windows-1252" in note for note in report.notes)
    assert m.Service.objects.get(external_id="w").name["de"] == "Beratung für Mütter"


def test_it_refuses_formulas_in_xlsx_cells():
    book = openpyxl.Workbook()
    sheet_ = book.active
    values = row()
    sheet_.append(list(values))
    sheet_.append(list(values.values()))
    sheet_["D2"] = '=HYPERLINK("https://evil.example","Klick")'
    buffer = io.BytesIO()
    book.save(buffer)
    report = run_import(ImportFile("f.xlsx", buffer.getvalue()))
    assert problems_at(report) == {(2, "Angebot")}
    assert "Formel" in report.problems[0].message


def test_it_reads_opening_hours_in_the_notation_the_staff_form_reads():
    """The notation is directory.hours' (tests/test_hours.py): what the cell says after the times wins over "Zugang"."""
    text = "Mo–Fr 9–12 Uhr, Di 14–17 Uhr nach Vereinbarung"
    assert run_import(sheet([row(Oeffnungszeiten=text, attending="offene Sprechstunde")])).ok
    service = m.Service.objects.get(external_id="T-1")
    assert sorted((s.byday, s.opens_at, s.closes_at, s.attending_type) for s in service.schedules.all()) == [
        ("MO,TU,WE,TH,FR", dt.time(9), dt.time(12), "walk-in"),
        ("TU", dt.time(14), dt.time(17), "appointment"),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Mox 9-12", "„Mox 9-12“: unbekannter Tag „Mox“"),
        ("Mo 9", "„Mo 9“: „9“ ist keine Zeitspanne"),
        ("Mo 9-12; geschlossen am 24.12.2026", "„geschlossen am 24.12.2026“: Schließtage bleiben hier unverändert"),
    ],
)
def test_it_names_the_part_of_the_hours_it_cannot_read_in_german(text, message):
    report = run_import(sheet([row(Oeffnungszeiten=text)]))
    assert problems_at(report) == {(2, "Öffnungszeiten")}
    assert report.problems[0].message.startswith(message)


def test_it_reads_phone_types_and_lists_of_languages_as_the_staff_form_does():
    assert run_import(sheet([row(Telefon="02821 12345\n02821 12346; fax", Sprachen="DE, ar / tr")])).ok
    service = m.Service.objects.get(external_id="T-1")
    assert sorted(service.phones.values_list("number", "type")) == [("02821 12345", "voice"), ("02821 12346", "fax")]
    assert sorted(service.languages.values_list("code", flat=True)) == ["ar", "de", "tr"]
    report = run_import(sheet([row(Sprachen="de; deutsch")]))
    assert report.problems[0].message == "„deutsch“ ist kein ISO-639-Sprachcode wie de, ar oder uk."


def test_the_command_imports_and_exits_1_with_the_report(capsys, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(sheet([row(PLZ="99999")]).read())
    with pytest.raises(CommandError) as raised:
        call_command("import_catalogue", str(bad))
    assert raised.value.returncode == 1
    assert "Zeile 2, Spalte „PLZ“: 99999 ist keine Postleitzahl in NRW" in capsys.readouterr().out
    call_command("import_catalogue", str(DATA / "angebote.csv"), "--dry-run")
    assert "3 neu" in capsys.readouterr().out and not m.Service.objects.filter(external_id="KLE-1").exists()
    call_command("import_catalogue", str(DATA / "angebote.xlsx"))
    assert m.Service.objects.filter(external_source="testliste-wegweiser").count() == 3


def test_the_export_command_writes_a_package_a_zip_and_json_lines(every_table, tmp_path, capsys):
    call_command("export_hsds", str(tmp_path / "p"))
    assert "services.csv" in capsys.readouterr().out
    call_command("export_hsds", str(tmp_path / "p.zip"), "--format", "zip")
    call_command("export_hsds", str(tmp_path / "s.jsonl"), "--format", "jsonl")
    assert (tmp_path / "p" / "services.jsonl").read_bytes() == (tmp_path / "s.jsonl").read_bytes()
    with zipfile.ZipFile(tmp_path / "p.zip") as archive:
        assert archive.read("services.csv") == (tmp_path / "p" / "services.csv").read_bytes()


def test_the_templates_name_every_column_and_the_xlsx_one_explains_them():
    assert template_csv().decode("utf-8-sig").strip() == ";".join(c.header for c in SHEET_COLUMNS)
    book = openpyxl.load_workbook(io.BytesIO(template_xlsx()))
    assert book.sheetnames == ["Anleitung", "Angebote"]
    assert [c.value for c in book["Angebote"][1]] == [c.header for c in SHEET_COLUMNS]
    guide = "\n".join(str(c.value) for r in book["Anleitung"].iter_rows() for c in r if c.value)
    assert all(c.header in guide for c in SHEET_COLUMNS) and "integration-point" in guide


def test_a_filled_in_template_imports():
    book = openpyxl.load_workbook(io.BytesIO(template_xlsx()))
    values = row(Quell_ID="tpl-1")
    book["Angebote"].append([values.get(c.header, "") for c in SHEET_COLUMNS])
    buffer = io.BytesIO()
    book.save(buffer)
    report = run_import(ImportFile("vorlage.xlsx", buffer.getvalue()))
    assert report.ok, report.text()
    assert [r.outcome for r in report.rows] == [Outcome.CREATED]


# --- The admin page --------------------------------------------------------------------------------------------------


@pytest.fixture
def editor(db) -> User:
    """Staff who may change services: an editor."""
    user = User.objects.create_user("erika", password="correct horse battery staple", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=["view_service", "change_service"]))
    return user


@pytest.fixture
def viewer(db) -> User:
    """Staff who may only look at services."""
    user = User.objects.create_user("victor", password="correct horse battery staple", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_service"))
    return user


def sign_in(client, user: User) -> None:
    """Signed in, past the second factor the admin asks of every staff member (editorial/)."""
    client.force_login(user)
    device = TOTPDevice.objects.create(user=user, name="test phone", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()


@pytest.fixture
def import_queue(monkeypatch) -> str:
    """The admin's imports go to a queue of this test's own (on the test Redis) and are run by run_queued()."""
    name = f"test-imports-{uuid.uuid4().hex}"
    monkeypatch.setattr(jobs, "QUEUE_NAME", name)
    return name


def run_queued(client, response, queue_name: str) -> str:
    """Run the queued import with a real RQ worker (in this process, so in the test's transaction), then
    follow the redirect to the job's page and return it."""
    assert response.status_code == 302 and "/import/job/" in response["Location"]
    waiting = client.get(response["Location"]).content.decode()
    assert 'http-equiv="refresh"' in waiting, "the page reloads itself while the import waits or runs"
    SimpleWorker([queue_name], connection=jobs.connection()).work(burst=True)
    page = client.get(response["Location"])
    assert page.status_code == 200
    return page.content.decode()


def test_editors_find_the_import_page_in_the_admin(client, editor):
    sign_in(client, editor)
    assert "/admin/directory/import/" in client.get("/admin/").content.decode()
    page = client.get("/admin/directory/import/")
    assert page.status_code == 200
    assert "Quell-ID" in page.content.decode() and "Probelauf starten" in page.content.decode()


def test_staff_who_may_not_change_services_cannot_import(client, viewer):
    sign_in(client, viewer)
    assert "/admin/directory/import/" not in client.get("/admin/").content.decode()
    assert client.get("/admin/directory/import/").status_code == 403
    assert client.get("/admin/directory/export/hsds.zip").status_code == 403


def test_an_upload_is_checked_first_and_imported_on_confirmation(client, editor, import_queue):
    sign_in(client, editor)
    before = catalogue_state()
    with (DATA / "angebote.xlsx").open("rb") as handle:
        page = run_queued(client, client.post("/admin/directory/import/", {"file": handle}), import_queue)
    assert "3 von 3 Zeilen geprüft" in page and "3 neu" in page and "Jetzt importieren" in page
    assert 'http-equiv="refresh"' not in page
    assert catalogue_state() == before, "the dry run writes nothing"
    token = client.session["directory_import_upload"]["token"]
    page = run_queued(client, client.post("/admin/directory/import/confirm/", {"token": token}), import_queue)
    assert "Importiert" in page
    service = m.Service.objects.get(external_id="KLE-1")
    assert service.history.get().history_user == editor
    assert client.post("/admin/directory/import/confirm/", {"token": token}).status_code == 302, "only once"


def test_a_rejected_upload_lists_its_problems_and_offers_no_confirmation(client, editor, import_queue):
    sign_in(client, editor)
    upload = io.BytesIO(sheet([row(PLZ="1"), row(Quell_ID="2", Telefon="x")]).read())
    upload.name = "fehler.csv"
    page = run_queued(client, client.post("/admin/directory/import/", {"file": upload}), import_queue)
    assert "2 Probleme" in page and "Jetzt importieren" not in page
    assert "keine Postleitzahl" in page and "keine Telefonnummer" in page


def test_editors_download_the_templates_and_the_export(every_table, client, editor, tmp_path):
    sign_in(client, editor)
    xlsx = client.get("/admin/directory/import/vorlage.xlsx")
    assert xlsx.status_code == 200 and openpyxl.load_workbook(io.BytesIO(xlsx.content)).sheetnames[0] == "Anleitung"
    assert client.get("/admin/directory/import/vorlage.csv").content == template_csv()
    response = client.get("/admin/directory/export/hsds.zip")
    content = b"".join(response.streaming_content)
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        assert "datapackage.json" in archive.namelist() and "services.csv" in archive.namelist()
