"""The HSDS 3.0 API at /api/hsds/: schemas, paging, profile filters, etiquette, query counts, OpenAPI.

Every response is validated against the official compiled HSDS schemas in vendor/hsds-3.0 (JSON Schema
2020-12, formats checked); the OpenAPI document is checked against the running views.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.contrib.gis.geos import GEOSGeometry, Point
from django.core.cache import cache
from django.db import connection
from django.db.models import Count
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from django.utils.http import http_date
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from api import views as api_views
from api.openapi import openapi_document
from directory.cache import catalogue_changed
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
    RequiredDocument,
    Schedule,
    Service,
    ServiceArea,
    ServiceAtLocation,
    Taxonomy,
    TaxonomyTerm,
)
from directory.translation import LANGUAGE_CODES
from public.search import parse_search_params, search_services
from tests import factories

pytestmark = pytest.mark.django_db

API = "/api/hsds"
HSDS = Path(settings.BASE_DIR) / "vendor" / "hsds-3.0"
OFFICIAL = "https://raw.githubusercontent.com/openreferral/specification/3.0/schema/"
OPENAPI_URI = "http://testserver/api/hsds/openapi.json"
COMPILED = (
    "service",
    "service_list",
    "organization",
    "organization_list",
    "service_at_location",
    "service_at_location_list",
)

# Endpoint → (model, schema of a list item, schema of a record).
ENDPOINTS: dict[str, tuple[Any, str, str]] = {
    "services": (Service, "compiled/service_list.json", "compiled/service.json"),
    "organizations": (Organization, "compiled/organization_list.json", "compiled/organization.json"),
    "service_at_locations": (
        ServiceAtLocation,
        "compiled/service_at_location_list.json",
        "compiled/service_at_location.json",
    ),
    "taxonomies": (Taxonomy, "taxonomy.json", "taxonomy.json"),
    "taxonomy_terms": (TaxonomyTerm, "taxonomy_term.json", "taxonomy_term.json"),
}
ENVELOPE = ("total_items", "total_pages", "page_number", "size", "first_page", "last_page", "empty", "contents")
ESSEN = Point(7.0117, 51.4556, srid=4326)


# --- Schemas -------------------------------------------------------------------------------------------------


@functools.cache
def registry() -> Registry:
    """The official schemas under their official URLs (as the HSDS OpenAPI description names them)."""
    schema_dir = HSDS / "schema"
    files = [*schema_dir.glob("*.json"), *(schema_dir / "compiled" / f"{name}.json" for name in COMPILED)]
    resources = [
        (OFFICIAL + path.relative_to(schema_dir).as_posix(), resource(json.loads(path.read_text()))) for path in files
    ]
    return Registry().with_resources(resources)


def resource(contents: Any) -> Resource:
    return Resource.from_contents(contents, default_specification=DRAFT202012)


@functools.cache
def validator(uri: str) -> Draft202012Validator:
    return Draft202012Validator({"$ref": uri}, registry=registry(), format_checker=FormatChecker())


def assert_valid(instance: Any, uri: str, where: str = "") -> None:
    errors = sorted(validator(uri).iter_errors(instance), key=lambda e: list(e.absolute_path))
    assert not errors, f"{where}: " + "; ".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:5])


def assert_hsds(instance: Any, schema: str, where: str = "") -> None:
    assert_valid(instance, OFFICIAL + schema, where)


@functools.cache
def official_page_schema() -> dict[str, Any]:
    return json.loads((HSDS / "schema" / "openapi.json").read_text())["components"]["schemas"]["Page"]


def assert_page(page: dict[str, Any], item_schema: str, where: str) -> None:
    assert list(page) == list(ENVELOPE), where
    errors = list(Draft202012Validator(official_page_schema(), format_checker=FormatChecker()).iter_errors(page))
    assert not errors, where
    for item in page["contents"]:
        assert_hsds(item, item_schema, f"{where} item {item.get('id')}")


# --- Helpers -------------------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def no_rate_limit(settings):
    """The crawls make more requests in a minute than a client may; the limit has its own test."""
    settings.HSDS_RATE_LIMIT_PER_MINUTE = 0


def get(client, path: str, **params: Any):
    url = f"{API}/{path}" + (f"?{urlencode(params)}" if params else "")
    return client.get(url)


def get_json(client, path: str, **params: Any) -> Any:
    response = get(client, path, **params)
    assert response.status_code == 200, (path, params, response.content[:500])
    assert response["Content-Type"] == "application/json"
    return json.loads(response.content)


def crawl(client, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of every page, checking the envelope of each page."""
    items: list[dict[str, Any]] = []
    page = 1
    while True:
        data = get_json(client, path, page=page, **params)
        assert data["page_number"] == page
        assert data["first_page"] is (page == 1)
        assert data["size"] == len(data["contents"])
        items += data["contents"]
        if data["last_page"]:
            assert data["total_pages"] == page
            assert len(items) == data["total_items"]
            return items
        page += 1


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [item["id"] for item in items]


def db_ids(model: Any) -> set[str]:
    return {str(pk) for pk in model.objects.values_list("pk", flat=True)}


def ndjson(response) -> list[dict[str, Any]]:
    body = b"".join(response.streaming_content).decode()
    assert body.endswith("\n")
    return [json.loads(line) for line in body.splitlines()]


# --- A record with one of everything -------------------------------------------------------------------------

FIRST = uuid.UUID("00000000-0000-4000-8000-000000000001")  # sorts first: it is on page 1 of every list


@pytest.fixture
def rich():
    """An organisation, service, location and service-at-location with every related record HSDS knows.

    Their ids sort first, so they are the first item of every list.
    """
    need = TaxonomyTerm.objects.of("need").order_by("sort").first()
    duldung = TaxonomyTerm.objects.of("residence-status").order_by("sort").first()
    group = TaxonomyTerm.objects.of("target-group").order_by("sort").first()
    kind = TaxonomyTerm.objects.of("service-type").order_by("sort").first()
    assert need and duldung and group and kind
    organization = Organization.objects.create(
        id=FIRST,
        name={"de": "Beispielverein e. V.", "en": "Example association"},
        description={"de": "Ein Verein."},
        email="info@beispielverein.example",
        website="https://beispielverein.example/",
        legal_status="e. V.",
    )
    program = Program.objects.create(organization=organization, name={"de": "Programm"}, description={"de": "P."})
    service = Service.objects.create(
        id=FIRST,
        organization=organization,
        program=program,
        service_type=kind,
        name={"de": "Beratung", "en": "Counselling"},
        description={"de": "Beratung für alle."},
        url="https://beispielverein.example/beratung",
        email="beratung@beispielverein.example",
        fees_description={"de": "kostenlos", "ar": "مجاني"},
        minimum_age=12,
        maximum_age=27,
    )
    gemeinde = Gemeinde.objects.get(pk="05113000")
    location = Location.objects.create(
        id=FIRST,
        organization=organization,
        name={"de": "Beratungsstelle"},
        point=ESSEN,
        point_accuracy="exact",
        gemeinde=gemeinde,
    )
    place = ServiceAtLocation.objects.create(id=FIRST, service=service, location=location, description={"de": "Hier."})
    Address.objects.create(location=location, address_1="Hauptstraße 1", city="Essen", postal_code="45127")
    kleve = Kreis.objects.get(pk="05154")
    town = Gemeinde.objects.filter(kreis=kleve).order_by("ags").first()
    assert town is not None
    ServiceArea.objects.create(service=service, ags=kleve.ags, name=kleve.display_name)
    ServiceArea.objects.create(service=service, ags=town.ags, name=town.name, excludes=True)
    owners = {"service": service, "organization": organization, "location": location, "service_at_location": place}
    for name, owner in owners.items():
        phone = Phone.objects.create(
            number="0201 12345", extension="12", description={"de": "Zentrale"}, **{name: owner}
        )
        Language.objects.create(phone=phone, code="ar", name="Arabisch")
        contact = Contact.objects.create(name="Frau Muster", email="muster@beispielverein.example", **{name: owner})
        Phone.objects.create(contact=contact, number="0201 12345", extension="012", type="fax")
    for name in ("service", "location", "service_at_location"):
        Schedule.objects.create(
            byday="MO,TU",
            opens_at=dt.time(9),
            closes_at=dt.time(12, 30),
            attending_type="walk-in",
            **{name: owners[name]},
        )
    Schedule.objects.create(
        service=service, is_closed=True, valid_from=dt.date(2025, 12, 24), valid_to=dt.date(2026, 1, 1)
    )
    Language.objects.create(service=service, code="tr", name="Türkisch")
    Language.objects.create(location=location, code="fa")
    Accessibility.objects.create(location=location, details="stufenloser Eingang", description={"de": "Rampe"})
    CostOption.objects.create(service=service, amount=0, option="alle", amount_description={"de": "kostenlos"})
    RequiredDocument.objects.create(service=service, document={"de": "Ausweis", "en": "ID"})
    Funding.objects.create(service=service, source_text="Land NRW")
    Funding.objects.create(organization=organization, source_text="Stadt Essen")
    Attribute.objects.create(service=service, taxonomy_term=need)
    Attribute.objects.create(service=service, taxonomy_term=duldung)
    Attribute.objects.create(service=service, taxonomy_term=group, value="bis 27")
    Attribute.objects.create(organization=organization, taxonomy_term=group)
    Attribute.objects.create(location=location, taxonomy_term=need)
    return {"organization": organization, "service": service, "location": location, "place": place, "town": town}


# --- Every record, valid --------------------------------------------------------------------------------------


def test_it_serves_every_page_and_every_record_valid_against_the_official_schemas(client):
    for index, (path, (model, item_schema, record_schema)) in enumerate(ENDPOINTS.items()):
        page = 1
        while True:
            data = get_json(client, path, page=page, per_page=api_views.MAX_PER_PAGE)
            assert_page(data, item_schema, f"{path} page {page}")
            if data["last_page"]:
                break
            page += 1
        # Every record in full, a page at a time; then the record endpoint for every fifth record (every
        # language, spread over them, so that fallbacks are exercised too).
        full = crawl(client, path, full="true", per_page=api_views.MAX_PER_PAGE)
        assert {item["id"] for item in full} == db_ids(model)
        for item in full:
            assert_hsds(item, record_schema, f"{path}?full=true item {item['id']}")
        for number, pk in enumerate(sorted(db_ids(model))[::5]):
            language = LANGUAGE_CODES[(number + index) % len(LANGUAGE_CODES)]
            record = get_json(client, f"{path}/{pk}", lang=language)
            assert record["id"] == pk
            assert_hsds(record, record_schema, f"{path}/{pk}?lang={language}")


def test_it_serves_full_lists_and_organisations_with_full_services_valid(client, rich):
    for path in ("services", "organizations", "service_at_locations"):
        _, _, record_schema = ENDPOINTS[path]
        data = get_json(client, path, full="true", per_page=api_views.MAX_PER_PAGE)
        assert_page(data, record_schema, f"{path}?full=true")
    # Every organisation with its services in full, a page at a time (the record endpoint serialises the same way:
    # one of them is read through it).
    organizations = crawl(client, "organizations", full="true", full_service="true", per_page=api_views.MAX_PER_PAGE)
    assert {item["id"] for item in organizations} == db_ids(Organization)
    for record in organizations:
        assert_hsds(record, "compiled/organization.json", f"organizations/{record['id']}?full_service=true")
    one = sorted(db_ids(Organization))[0]
    assert get_json(client, f"organizations/{one}", full_service="true") == next(
        item for item in organizations if item["id"] == one
    )
    minimal = get_json(client, "services", minimal="true", per_page=api_views.MAX_PER_PAGE)
    assert_page(minimal, "compiled/service_list.json", "services?minimal=true")
    assert set(minimal["contents"][0]) == {"id", "name", "status", "last_modified"}


def test_it_serialises_every_related_record_as_hsds(client, rich):
    service = get_json(client, f"services/{FIRST}", lang="en")
    assert_hsds(service, "compiled/service.json", "rich service")
    assert service["name"] == "Counselling"
    assert service["language_fallback"] == {"description": "de", "fees_description": "de"}
    assert service["minimum_age"] == 12 and service["maximum_age"] == 27
    assert service["program"]["name"] == "Programm"
    assert service["organization"]["name"] == "Example association"
    assert service["required_documents"][0]["document"] == "ID"
    assert service["cost_options"][0]["amount"] == 0
    assert service["funding"][0]["source"] == "Land NRW"
    assert {language["code"] for language in service["languages"]} == {"tr"}

    [phone] = service["phones"]
    assert phone["number"] == "0201 12345" and phone["extension"] == 12
    assert phone["languages"][0]["code"] == "ar"
    [contact] = service["contacts"]
    # An extension with a leading zero is no number: it stays with the number, in German notation.
    assert contact["phones"][0]["number"] == "0201 12345-012" and "extension" not in contact["phones"][0]

    slot, closure = service["schedules"]
    assert slot["freq"] == "WEEKLY" and slot["byday"] == "MO,TU"
    assert (slot["opens_at"], slot["closes_at"], slot["tzid"]) == ("09:00", "12:30", "Europe/Berlin")
    assert "timezone" not in slot and slot["attending_type"] == "walk-in"
    assert closure["closed"] is True and closure["valid_from"] == "2025-12-24" and "opens_at" not in closure

    # The excluded town is no area of its own: it is cut out of the Kreis and named.
    [area] = service["service_areas"]
    assert area["ags"] == "05154" and area["excluded_ags"] == [rich["town"].ags]
    assert area["extent_type"] == "geojson"
    extent = GEOSGeometry(area["extent"])
    kreis = Kreis.objects.get(pk="05154").geometry
    assert extent.area < kreis.area
    assert not extent.contains(rich["town"].geometry.point_on_surface)

    types = {attribute["link_type"]: attribute for attribute in service["attributes"]}
    assert set(types) == {"service_type", "need", "eligibility", "target_group"}
    assert types["target_group"]["value"] == "bis 27"
    assert types["service_type"]["taxonomy_term"]["taxonomy"] == "service-type"
    assert all(a["link_id"] == str(FIRST) and a["link_entity"] == "service" for a in service["attributes"])

    [place] = service["service_at_locations"]
    location = place["location"]
    assert (location["latitude"], location["longitude"]) == (51.4556, 7.0117)
    assert location["point_accuracy"] == "exact" and location["ags"] == "05113000"
    assert location["addresses"][0] == {
        "id": location["addresses"][0]["id"],
        "location_id": str(FIRST),
        "address_1": "Hauptstraße 1",
        "city": "Essen",
        "state_province": "Nordrhein-Westfalen",
        "postal_code": "45127",
        "country": "DE",
        "address_type": "physical",
        "provenance": {"verification_state": "unverified"},
    }
    assert location["accessibility"][0]["details"] == "stufenloser Eingang"
    assert location["attributes"][0]["link_entity"] == "location"
    assert place["phones"][0]["service_at_location_id"] == str(FIRST)

    record = get_json(client, f"service_at_locations/{FIRST}", lang="ar")
    assert_hsds(record, "compiled/service_at_location.json", "rich service_at_location")
    assert record["service"]["fees_description"] == "مجاني"
    assert "service_at_locations" not in record["service"]

    organization = get_json(client, f"organizations/{FIRST}", full_service="true")
    assert_hsds(organization, "compiled/organization.json", "rich organization")
    assert organization["services"][0]["phones"][0]["number"] == "0201 12345"
    assert organization["locations"][0]["id"] == str(FIRST)
    assert organization["programs"][0]["name"] == "Programm"
    assert organization["funding"][0]["source"] == "Stadt Essen"
    plain = get_json(client, f"organizations/{FIRST}")
    assert set(plain["services"][0]) >= {"id", "name", "status"} and "phones" not in plain["services"][0]


def test_it_keeps_unknown_facts_empty_and_invents_none(client):
    address = Address.objects.filter(address_1="", postal_code="").select_related("location").first()
    assert address is not None
    [place] = ServiceAtLocation.objects.filter(location=address.location)[:1]
    record = get_json(client, f"service_at_locations/{place.pk}")
    [served] = record["location"]["addresses"]
    # Required by the schema, unknown here: empty, not made up.
    assert served["address_1"] == "" and served["postal_code"] == ""
    assert "phones" not in record["location"] and "email" not in record["service"]
    assert record["location"]["point_accuracy"] in {"postcode", "municipality"}
    assert record["location"]["provenance"]["verification_state"] == "unverified"
    assert "assured_date" not in record["service"]


# --- Paging --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", list(ENDPOINTS))
def test_it_pages_through_every_record_exactly_once(client, path):
    items = crawl(client, path, per_page=7)
    assert len(items) == len(set(ids(items)))
    assert set(ids(items)) == db_ids(ENDPOINTS[path][0])
    assert ids(items) == sorted(ids(items))


@pytest.mark.parametrize("path", list(ENDPOINTS))
def test_it_reads_deep_pages_from_the_kept_ids_as_from_the_start(client, monkeypatch, path):
    """A page past the first ANCHOR_EVERY records starts at the id kept for its block, not after skipping every
    record before it: the same pages, in a list with and without a filter, and fresh after a change."""
    monkeypatch.setattr(api_views, "ANCHOR_EVERY", 3)  # pages of 2 start inside a block, and span two
    model = ENDPOINTS[path][0]
    every = sorted(db_ids(model))
    assert len(every) > 3
    assert ids(crawl(client, path, per_page=2)) == every

    if path == "services":
        term = TaxonomyTerm.objects.of("need").annotate(n=Count("attributes")).order_by("-n").first()
        with_term = {str(pk) for pk in Service.objects.with_term_id(term.pk).values_list("pk", flat=True)}
        assert len(with_term) > 3
        assert ids(crawl(client, path, per_page=2, taxonomy_term_id=str(term.pk))) == sorted(with_term)
        # A record gone from between two kept ids: those were of the old list; the new one's are counted afresh.
        Service.objects.get(pk=every[7]).delete()
        catalogue_changed()  # on commit, which the test's transaction never reaches
        assert ids(crawl(client, path, per_page=2)) == every[:7] + every[8:]


@pytest.mark.parametrize("path", ["services", "service_at_locations"])
def test_it_pages_nearest_first_without_skipping(client, path):
    items = crawl(client, path, per_page=9, lat=ESSEN.y, lon=ESSEN.x)
    assert len(items) == len(set(ids(items)))
    assert set(ids(items)) == db_ids(ENDPOINTS[path][0])
    distances = [item["distance"] for item in items]
    known = [d for d in distances if d is not None]
    assert known == sorted(known)
    assert distances[: len(known)] == known  # those without a place come last


def test_it_answers_a_page_past_the_end_with_an_empty_page(client):
    data = get_json(client, "taxonomies", page=99)
    assert data["contents"] == [] and data["empty"] is True and data["size"] == 0
    assert data["last_page"] is True and data["total_items"] == Taxonomy.objects.count()


def test_it_streams_every_record_as_ndjson(client):
    response = get(client, "services", format="ndjson", per_page=1)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/x-ndjson"
    assert response["Access-Control-Allow-Origin"] == "*"
    lines = ndjson(response)
    assert sorted(ids(lines)) == sorted(db_ids(Service))
    for line in lines:
        assert_hsds(line, "compiled/service_list.json", "ndjson line")

    again = client.get(f"{API}/services?format=ndjson&per_page=1", HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304

    terms = ndjson(get(client, "taxonomy_terms", format="ndjson", taxonomy_id=str(Taxonomy.objects.get(key="need").pk)))
    assert {term["taxonomy"] for term in terms} == {"need"}


# --- Filters -------------------------------------------------------------------------------------------------


def test_it_finds_the_services_responsible_for_an_ags(client):
    items = crawl(client, "services", ags="05113000", per_page=100)
    assert set(ids(items)) == {
        str(pk) for pk in Service.objects.responsible_for("05113000").values_list("pk", flat=True)
    }
    assert any(item["name"].casefold() == "jobcenter essen" for item in items)
    kreis = crawl(client, "services", ags="05113", per_page=100)
    assert set(ids(kreis)) == {str(pk) for pk in Service.objects.responsible_for("05113").values_list("pk", flat=True)}


def test_it_finds_the_services_responsible_for_a_postcode_nearest_first(client):
    items = crawl(client, "services", postcode="45127", per_page=100)
    expected = Service.objects.responsible_for("05113000")
    assert set(ids(items)) == {str(pk) for pk in expected.values_list("pk", flat=True)}
    known = [item["distance"] for item in items if item["distance"] is not None]
    assert known == sorted(known)
    near = crawl(client, "service_at_locations", postcode="45127", proximity=3000, per_page=100)
    assert near and all(item["distance"] <= 3000 for item in near)


def test_it_keeps_to_the_radius_around_a_point(client):
    items = crawl(client, "services", lat=ESSEN.y, lon=ESSEN.x, radius=2000, per_page=100)
    assert items and all(item["distance"] <= 2000 for item in items)
    assert all(item["distance"] is not None for item in items)
    everything = crawl(client, "services", lat=ESSEN.y, lon=ESSEN.x, per_page=100)
    assert len(everything) == Service.objects.count() > len(items)


@pytest.mark.parametrize(
    ("parameter", "taxonomy"),
    [("eligibility", "residence-status"), ("target_group", "target-group"), ("need", "need")],
)
def test_it_filters_by_the_profiles_terms(client, parameter, taxonomy):
    # The term that narrows most: the filter must leave some services out.
    term = min(
        TaxonomyTerm.objects.of(taxonomy).filter(attributes__service__isnull=False).distinct(),
        key=lambda t: (Service.objects.eligible(t.code) if parameter == "eligibility" else t.attributes).count(),
    )
    items = crawl(client, "services", per_page=100, **{parameter: term.code})
    tagged = Service.objects.with_term(taxonomy, term.code)
    # Eligibility as on the site: a service that names no residence status is open to everyone.
    expected = Service.objects.eligible(term.code) if parameter == "eligibility" else tagged
    assert set(ids(items)) == {str(pk) for pk in expected.values_list("pk", flat=True)}
    assert 0 < tagged.count() <= len(items) < Service.objects.count()
    by_id = crawl(client, "services", per_page=100, taxonomy_term_id=str(term.pk))
    assert set(ids(by_id)) == {str(pk) for pk in tagged.values_list("pk", flat=True)}


@pytest.mark.parametrize(
    ("query", "finds_rich"),
    [
        ({"need": "work"}, None),
        ({"language": "fa"}, True),  # the rich service speaks Farsi only at its place
        ({"language": "ar"}, False),  # … and Arabic only on its phones, which does not count
        ({"eligibility": "duldung"}, None),
        ({"free": "on"}, True),
        ({"walk_in": "on"}, True),
        ({"barrier_free": "ja"}, True),
        ({"age": "30"}, False),  # it is for 12 to 27
        ({"free": "1", "walk_in": "true", "language": "fa", "age": "20", "barrier_free": "yes"}, True),
        ({"free": "off", "walk_in": "off", "barrier_free": "nein"}, True),
    ],
)
def test_it_finds_the_same_services_as_the_site_for_the_same_filter(client, rich, query, finds_rich):
    site_params, errors = parse_search_params(QueryDict(urlencode(query)))
    assert not errors
    site = {str(service.pk) for service in search_services(site_params, point=None, limit=100_000)}
    # The API lists services of every status (HSDS has a status field); the site only published ones.
    published = {str(pk) for pk in Service.objects.published().values_list("pk", flat=True)}
    api = set(ids(ndjson(get(client, "services", format="ndjson", **query)))) & published
    assert api == site
    if finds_rich is not None:
        assert (str(FIRST) in api) is finds_rich
    if "off" not in query.values():
        assert len(api) < len(published)


def test_it_filters_by_taxonomy_organisation_search_and_date(client, rich):
    need = Taxonomy.objects.get(key="need")
    with_need = crawl(client, "services", per_page=100, taxonomy_id=str(need.pk))
    assert str(FIRST) in ids(with_need)
    assert set(ids(with_need)) == {
        str(pk)
        for pk in Service.objects.filter(attributes__taxonomy_term__taxonomy=need)
        .distinct()
        .values_list("pk", flat=True)
    }
    service_type = Taxonomy.objects.get(key="service-type")
    typed = crawl(client, "services", per_page=100, taxonomy_id=str(service_type.pk))
    assert len(typed) == Service.objects.filter(service_type__isnull=False).count()

    own = crawl(client, "service_at_locations", organization_id=str(FIRST))
    assert ids(own) == [str(FIRST)]

    office = factories.service(name="Integration Point Quellstadt")
    found = crawl(client, "services", search="Integration Point Quellstadt")
    assert str(office.pk) in ids(found)

    organizations = crawl(client, "organizations", search="beispielverein")
    assert ids(organizations) == [str(FIRST)]

    Service.objects.filter(pk=FIRST).update(updated_at=timezone.now() + dt.timedelta(days=1))
    later = timezone.localtime() + dt.timedelta(hours=12)
    assert ids(crawl(client, "services", modified_after=later.isoformat())) == [str(FIRST)]
    # Local time without an offset, and an offset whose "+" arrived unencoded as a space.
    assert ids(crawl(client, "services", modified_after=later.strftime("%Y-%m-%d %H:%M"))) == [str(FIRST)]
    unencoded = client.get(f"{API}/services?modified_after={later.strftime('%Y-%m-%dT%H:%M:%S+01:00')}")
    assert unencoded.status_code == 200


def test_it_lists_top_level_terms_and_children(client):
    terms = crawl(client, "taxonomy_terms", top_only="true", per_page=100)
    assert len(terms) == TaxonomyTerm.objects.filter(parent__isnull=True).count()
    parent = TaxonomyTerm.objects.first()
    assert parent is not None
    child = TaxonomyTerm.objects.create(taxonomy=parent.taxonomy, code="child-term", name={"de": "Kind"}, parent=parent)
    assert ids(crawl(client, "taxonomy_terms", parent_id=str(parent.pk))) == [str(child.pk)]


def test_it_gives_content_in_the_requested_language_and_marks_the_fallback(client, rich):
    service = get_json(client, f"services/{FIRST}", lang="uk")
    assert service["name"] == "Beratung"
    assert service["language_fallback"]["name"] == "de"
    german = get_json(client, f"services/{FIRST}")
    assert "language_fallback" not in german
    response = get(client, f"services/{FIRST}", lang="en")
    assert response["Content-Language"] == "en"
    term = TaxonomyTerm.objects.exclude(name__has_key="ar").first() or TaxonomyTerm.objects.first()
    assert term is not None
    served = get_json(client, f"taxonomy_terms/{term.pk}", lang="ar")
    assert served["language"] == ("ar" if "ar" in term.name else "de")


# --- Errors --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", list(ENDPOINTS))
def test_it_answers_404_in_json_for_unknown_and_malformed_ids(client, path):
    for record_id in (str(uuid.uuid4()), "not-a-uuid", "1"):
        response = get(client, f"{path}/{record_id}")
        assert response.status_code == 404
        assert response["Content-Type"] == "application/json"
        assert response["Access-Control-Allow-Origin"] == "*"
        assert record_id in json.loads(response.content)["error"]
    assert get(client, "no-such-endpoint").status_code == 404


@pytest.mark.parametrize(
    ("path", "params", "parameter"),
    [
        ("services", {"per_page": "0"}, "per_page"),
        ("services", {"per_page": "101"}, "per_page"),
        ("organizations", {"per_page": "ten"}, "per_page"),
        ("taxonomies", {"page": "0"}, "page"),
        ("taxonomy_terms", {"page": "-1"}, "page"),
        ("services", {"modified_after": "yesterday"}, "modified_after"),
        ("services", {"modified_after": "2025-02-30"}, "modified_after"),
        ("services", {"taxonomy_term_id": "need"}, "taxonomy_term_id"),
        ("service_at_locations", {"organization_id": "42"}, "organization_id"),
        ("taxonomy_terms", {"parent_id": "x"}, "parent_id"),
        ("services", {"lat": "51.4"}, "lon"),
        ("services", {"lat": "91", "lon": "7"}, "lat"),
        ("services", {"lat": "51", "lon": "nan"}, "lon"),
        ("services", {"radius": "1000"}, "radius"),
        ("services", {"lat": "51", "lon": "7", "radius": "0"}, "radius"),
        ("service_at_locations", {"proximity": "1000"}, "proximity"),
        ("service_at_locations", {"postcode": "99999"}, "postcode"),
        ("services", {"postcode": "abc"}, "postcode"),
        ("services", {"lang": "fr"}, "lang"),
        ("services", {"eligibility": "no-such-status"}, "eligibility"),
        ("services", {"target_group": "nobody"}, "target_group"),
        ("services", {"language": "english"}, "language"),
        ("service_at_locations", {"age": "121"}, "age"),
        ("services", {"walk_in": "maybe"}, "walk_in"),
        ("services", {"free": "2"}, "free"),
        ("services", {"ags": "12345"}, "ags"),
        ("services", {"ags": "05999"}, "ags"),
        ("services", {"format": "xml"}, "format"),
        ("services", {"full": "maybe"}, "full"),
        ("services", {"minimal": "true", "full": "true"}, "minimal"),
        ("services", {"search": "x" * 201}, "search"),
        ("taxonomy_terms", {"top_only": "2"}, "top_only"),
    ],
)
def test_it_rejects_a_bad_parameter_with_400_naming_it(client, path, params, parameter):
    response = get(client, path, **params)
    assert response.status_code == 400, response.content
    body = json.loads(response.content)
    assert body["parameter"] == parameter
    assert parameter in body["error"]
    assert response["Access-Control-Allow-Origin"] == "*"


def test_it_is_read_only(client):
    response = client.post(f"{API}/services", {})
    assert response.status_code == 405
    assert "GET" in response["Allow"]


# --- Etiquette -----------------------------------------------------------------------------------------------


def test_it_lets_any_origin_read_and_answers_the_preflight(client):
    response = get(client, "services", per_page=1)
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "ETag" in response["Access-Control-Expose-Headers"]
    preflight = client.options(
        f"{API}/services",
        HTTP_ORIGIN="https://example.org",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="if-none-match",
    )
    assert preflight.status_code == 204
    assert preflight["Access-Control-Allow-Origin"] == "*"
    assert "GET" in preflight["Access-Control-Allow-Methods"]
    assert preflight["Access-Control-Allow-Headers"] == "if-none-match"


def test_it_needs_no_key(client):
    assert get(client, "").status_code == 200
    assert "security" in openapi_document() and openapi_document()["security"] == []


def test_it_answers_304_to_a_client_whose_copy_is_current(client, rich):
    path = f"{API}/services/{FIRST}"
    first = client.get(path)
    etag, last_modified = first["ETag"], first["Last-Modified"]
    assert etag.startswith('"')

    not_modified = client.get(path, HTTP_IF_NONE_MATCH=etag)
    assert not_modified.status_code == 304
    assert not_modified.content == b""
    assert not_modified["ETag"] == etag
    assert not_modified["Access-Control-Allow-Origin"] == "*"
    assert client.get(path, HTTP_IF_MODIFIED_SINCE=last_modified).status_code == 304

    # Last-Modified is the newest change of any record in the answer, here a phone's.
    phone = Phone.objects.filter(service=rich["service"]).get()
    later = timezone.now() + dt.timedelta(hours=1)
    Phone.objects.filter(pk=phone.pk).update(updated_at=later, number="0201 99999")
    catalogue_changed()  # a bulk write passes by the signals and makes cached answers stale itself
    changed = client.get(path, HTTP_IF_NONE_MATCH=etag, HTTP_IF_MODIFIED_SINCE=last_modified)
    assert changed.status_code == 200
    assert changed["ETag"] != etag
    assert changed["Last-Modified"] == http_date(int(later.timestamp()))

    page = client.get(f"{API}/taxonomies")
    assert client.get(f"{API}/taxonomies", HTTP_IF_NONE_MATCH=page["ETag"]).status_code == 304


def test_it_answers_429_with_retry_after_when_a_client_asks_too_often(client, settings, monkeypatch):
    settings.HSDS_RATE_LIMIT_PER_MINUTE = 3
    cache.clear()
    monkeypatch.setattr(api_views, "clock", lambda: 6_000_030.0)  # half way through a minute
    for _ in range(3):
        assert get(client, "taxonomies").status_code == 200
    refused = get(client, "taxonomies")
    assert refused.status_code == 429
    assert refused["Retry-After"] == "30"
    assert refused["Access-Control-Allow-Origin"] == "*"
    assert "rate limit" in json.loads(refused.content)["error"]

    # Another client is not held back; the next minute starts afresh.
    assert client.get(f"{API}/taxonomies", REMOTE_ADDR="10.0.0.2").status_code == 200
    monkeypatch.setattr(api_views, "clock", lambda: 6_000_061.0)
    assert get(client, "taxonomies").status_code == 200


# --- Query counts --------------------------------------------------------------------------------------------


def count_queries(client, path: str, **params: Any) -> int:
    """The queries of the page as the first request after a catalogue change runs them (a list's number of items
    is kept until the catalogue changes, so later pages of the same list run one query fewer)."""
    catalogue_changed()
    with CaptureQueriesContext(connection) as queries:
        response = get(client, path, **params)
        assert response.status_code == 200, response.content[:300]
    return len(queries)


# The related lists a record in full reads, one query each (a nested list only when its parents have rows):
# a location's address, phones (and their languages), hours, languages, accessibility, contacts (and their
# phones and those phones' languages) and attributes;
LOCATION_LISTS = 10
# a service-at-location's contacts (with phones and their languages), phones (and their languages) and hours;
SERVICE_AT_LOCATION_LISTS = 6
# a service's own: phones (and their languages), hours, areas (with their Gemeinde), languages, funding, cost
# options, required documents, contacts (with phones and their languages) and attributes;
SERVICE_OWN_LISTS = 12
# in full, with its service-at-locations, their lists and their locations' lists;
SERVICE_LISTS = SERVICE_OWN_LISTS + 1 + SERVICE_AT_LOCATION_LISTS + LOCATION_LISTS
# an organisation's funding, contacts (with phones and their languages), phones (and their languages), locations
# with their lists, programs, attributes and the ids of its services (in full with full_service).
ORGANIZATION_LISTS = 1 + 3 + 2 + 1 + LOCATION_LISTS + 1 + 1 + 1
# A page: the number of items, then the items; in full, each related list once for the whole page.
PAGE_QUERIES = {
    ("services", "full"): 2 + SERVICE_LISTS,
    # Nearest first: the counts, the page's ids by a walk of the nearest places, the records.
    ("services", "nearest"): 3,
    ("organizations", "full"): 2 + ORGANIZATION_LISTS,
    ("organizations", "full_service"): 2 + ORGANIZATION_LISTS + SERVICE_LISTS,
    ("service_at_locations", "full"): 2 + SERVICE_AT_LOCATION_LISTS + LOCATION_LISTS + SERVICE_OWN_LISTS,
}


@pytest.mark.parametrize("path", list(ENDPOINTS))
@pytest.mark.parametrize(
    "extra", [{}, {"full": "true"}, {"full": "true", "full_service": "true"}, {"lat": 51.4, "lon": 7}]
)
def test_it_runs_as_many_queries_for_one_item_as_for_fifty(client, rich, path, extra):
    # Only services, organisations and services-at-location have related records; full_service adds the
    # organisations' services in full; ordering by distance needs no query more.
    level = (
        "full_service" if "full_service" in extra and path == "organizations" else "full" if extra.get("full") else ""
    )
    if path == "services" and "lat" in extra:
        level = "nearest"
    expected = PAGE_QUERIES.get((path, level), 2)
    assert count_queries(client, path, per_page=1, **extra) == expected
    assert count_queries(client, path, per_page=50, **extra) == expected


# A record: the record, then its related lists (the rich record has every kind, so every list is read).
RECORD_QUERIES = {
    "services": 1 + SERVICE_LISTS,
    "organizations": 1 + ORGANIZATION_LISTS + SERVICE_LISTS,  # with full_service
    "service_at_locations": 1 + SERVICE_AT_LOCATION_LISTS + LOCATION_LISTS + SERVICE_OWN_LISTS,
    "taxonomies": 1,
    "taxonomy_terms": 1,
}


@pytest.mark.parametrize("path", list(ENDPOINTS))
def test_it_runs_a_fixed_number_of_queries_for_a_record(client, rich, path):
    model = ENDPOINTS[path][0]
    pk = (
        FIRST
        if model.objects.filter(pk=FIRST).exists()
        else model.objects.order_by("pk").values_list("pk", flat=True)[0]
    )
    budget = count_queries(client, f"{path}/{pk}", full_service="true")
    assert budget == RECORD_QUERIES[path]
    # A record with fewer kinds of related records skips the lists nested in empty ones, never reads more.
    for other in model.objects.exclude(pk=pk).order_by("?").values_list("pk", flat=True)[:10]:
        assert count_queries(client, f"{path}/{other}", full_service="true") <= budget


# --- Root, profile and OpenAPI -------------------------------------------------------------------------------


def test_it_describes_itself_at_the_root(client):
    root = get_json(client, "")
    assert root["version"] == "3.0"
    assert root["profile"] == "http://testserver/api/hsds/profile"
    assert root["openapi_url"] == "http://testserver/api/hsds/openapi.json"
    profile = client.get(root["profile"])
    assert profile.status_code == 200
    assert profile["Content-Type"].startswith("text/markdown")
    text = profile.content.decode()
    for word in ("language_fallback", "tzid", "ags", "eligibility", "target_group", "radius", "Retry-After"):
        assert word in text
    assert json.loads(client.get(root["openapi_url"]).content)["openapi"] == "3.1.0"


@functools.cache
def openapi_registry() -> Registry:
    return registry().with_resource(OPENAPI_URI, resource(openapi_document()))


def pointer(*parts: str) -> str:
    return "/".join(part.replace("~", "~0").replace("/", "~1") for part in parts)


def documented_routes() -> set[str]:
    """Every path the API's routes answer, in OpenAPI notation (/api/hsds/services/{id})."""
    routes = set()

    def walk(patterns: list[URLPattern | URLResolver], prefix: str) -> None:
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
            elif route.startswith(("api/hsds/", "api/geo/")) and pattern.name != "hsds-not-found":
                routes.add("/" + route.replace("<str:", "{").replace(">", "}"))

    walk(get_resolver().url_patterns, "")
    return {route.split("{")[0] + ("{id}" if "{" in route else "") for route in routes}


def server_of(document: dict[str, Any], path: str) -> str:
    return (document["paths"][path].get("servers") or document["servers"])[0]["url"]


def test_it_documents_every_route_and_only_those(client):
    document = openapi_document()
    documented = {server_of(document, path).rstrip("/") + path for path in document["paths"]}
    assert documented == documented_routes()


def test_it_answers_every_documented_path_as_documented(client, rich):
    document = json.loads(client.get(f"{API}/openapi.json").content)
    assert document == json.loads(json.dumps(openapi_document()))
    models = {"services": Service, "organizations": Organization, "service_at_locations": ServiceAtLocation}
    models |= {"taxonomies": Taxonomy, "taxonomy_terms": TaxonomyTerm}
    for path, item in document["paths"].items():
        url = server_of(document, path) + path
        if "{id}" in path:
            model = models[path.strip("/").split("/")[0]]
            url = url.replace("{id}", str(model.objects.order_by("pk").values_list("pk", flat=True)[0]))
        response = client.get(url)
        assert response.status_code == 200, (url, response.content[:300])
        media_type = response["Content-Type"].split(";")[0]
        content = item["get"]["responses"]["200"]["content"]
        assert media_type in content, (path, media_type)
        body = response.content.decode()
        instance = body if media_type.startswith("text/") else json.loads(body)
        schema = pointer("paths", path, "get", "responses", "200", "content", media_type, "schema")
        validator = Draft202012Validator(
            {"$ref": f"{OPENAPI_URI}#/{schema}"}, registry=openapi_registry(), format_checker=FormatChecker()
        )
        errors = list(validator.iter_errors(instance))
        assert not errors, (path, [e.message for e in errors[:3]])


def test_it_answers_errors_as_documented(client):
    """Each documented 400 and 404 happens, in the documented shape, for a request that should cause it."""
    document = openapi_document()
    causes = {"400": {"lang": "xx", "per_page": "0"}, "404": {}}
    for path, item in document["paths"].items():
        url = server_of(document, path) + path.replace("{id}", str(uuid.uuid4()))
        for status, documented in item["get"]["responses"].items():
            if status not in causes:
                continue
            query = {"bbox": "1,2,3"} if path.endswith(".geojson") and status == "400" else causes[status]
            response = client.get(url, query)
            assert response.status_code == int(status), (path, status, response.content[:200])
            where = ("paths", path, "get", "responses", status)
            if "$ref" in documented:
                where = ("components", "responses", documented["$ref"].rsplit("/", 1)[1])
            schema = pointer(*where, "content", "application/json", "schema")
            validator = Draft202012Validator({"$ref": f"{OPENAPI_URI}#/{schema}"}, registry=openapi_registry())
            assert not list(validator.iter_errors(json.loads(response.content))), (path, status)


# A valid value for each documented query parameter.
SAMPLES = {
    "search": "Integration",
    "page": "1",
    "per_page": "5",
    "format": "json",
    "minimal": "true",
    "full": "false",
    "modified_after": "2020-01-01T00:00:00+01:00",
    "taxonomy_term_id": str(FIRST),
    "taxonomy_id": str(FIRST),
    "organization_id": str(FIRST),
    "jobcenter_form": "zugelassener-kommunaler-traeger",
    "full_service": "true",
    "postcode": "45127",
    "proximity": "5000",
    "top_only": "true",
    "parent_id": str(FIRST),
    "lang": "ar",
    "ags": "05113000",
    "lat": "51.45",
    "lon": "7.01",
    "radius": "5000",
    "eligibility": "duldung",
    "target_group": "youth",
    "need": "work",
    "language": "ar",
    "age": "30",
    "free": "true",
    "walk_in": "on",
    "barrier_free": "1",
    "bbox": "6.9,51.4,7.1,51.5",
    "limit": "10",
}


def test_it_accepts_every_documented_parameter(client, rich):
    document = openapi_document()
    assert TaxonomyTerm.objects.of("residence-status").filter(code=SAMPLES["eligibility"]).exists()
    assert TaxonomyTerm.objects.of("target-group").filter(code=SAMPLES["target_group"]).exists()
    assert TaxonomyTerm.objects.of("need").filter(code=SAMPLES["need"]).exists()
    for path, item in document["paths"].items():
        url = server_of(document, path) + path.replace("{id}", str(FIRST))
        if "{id}" in path and path.startswith("/taxonom"):
            continue  # the rich records are no taxonomy; the other paths are checked without a parameter above
        for parameter in item["get"]["parameters"]:
            if "$ref" in parameter:
                parameter = document["components"]["parameters"][parameter["$ref"].rsplit("/", 1)[1]]
            name = parameter["name"]
            if name == "radius" or name == "proximity":
                query = {"lat": SAMPLES["lat"], "lon": SAMPLES["lon"], name: SAMPLES[name]}
            elif name in ("lat", "lon"):
                query = {"lat": SAMPLES["lat"], "lon": SAMPLES["lon"]}
            else:
                query = {name: SAMPLES[name]}
            response = client.get(f"{url}?{urlencode(query)}")
            assert response.status_code == 200, (path, query, response.content[:300])
