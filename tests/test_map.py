"""The map: /api/geo/services.geojson, /api/geo/kreise.geojson, /<lang>/map/ and the service page's map button."""

import gzip
import json
import re

import pytest
from django.template.loader import render_to_string
from django.urls import resolve
from django.utils import translation

from directory.models import Kreis, Service, ServiceAtLocation, TaxonomyTerm
from tests import factories

pytestmark = pytest.mark.django_db

SERVICES = "/api/geo/services.geojson"
ESSEN = (6.9, 51.4, 7.1, 51.5)
NRW = (5.8, 50.3, 9.5, 52.6)


def bbox(box: tuple[float, float, float, float]) -> str:
    return ",".join(str(value) for value in box)


def features(client, **params) -> dict:
    response = client.get(SERVICES, params)
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/geo+json"
    return json.loads(response.content)


@pytest.fixture
def integration_point() -> Service:
    """An office in Essen named only in German, with a work need; and one in Kleve named in Arabic too."""
    factories.office(
        name="Quell-KI Kleve",
        names={"ar": "مركز الاندماج كليفه"},
        service_type="ki",
        ags=factories.KLEVE,
        needs=["language"],
    )
    return factories.office(
        name="Integration Point Quellstadt", service_type="integration-point", ags=factories.ESSEN, needs=["work"]
    )


def mappable_places():
    return ServiceAtLocation.objects.filter(
        service__in=Service.objects.published(), location__location_type="physical", location__point__isnull=False
    )


def test_it_finds_the_integration_point_in_a_bbox_around_essen(client, integration_point):
    data = features(client, bbox=bbox(ESSEN))

    assert data["type"] == "FeatureCollection"
    assert "truncated" not in data
    service = integration_point
    [feature] = [f for f in data["features"] if f["properties"]["id"] == str(service.id)]
    assert feature["type"] == "Feature"
    assert feature["properties"]["name"] == "Integration Point Quellstadt"
    assert feature["properties"]["type"] == "integration-point"
    assert feature["properties"]["link"] == f"/de/services/{service.id}/"
    assert resolve(feature["properties"]["link"]).url_name == "service"
    assert feature["properties"]["approximate"] is (service.service_at_locations.get().location.is_approximate)
    for f in data["features"]:
        assert f["geometry"]["type"] == "Point"
        lon, lat = f["geometry"]["coordinates"]
        assert ESSEN[0] <= lon <= ESSEN[2]
        assert ESSEN[1] <= lat <= ESSEN[3]
        assert set(f["properties"]) == {"id", "name", "name_language", "type", "type_name", "link", "approximate"}


def test_it_leaves_out_places_outside_the_bbox(client, integration_point):
    data = features(client, bbox="8.0,52.0,8.1,52.1")

    essen = str(integration_point.id)
    assert essen not in {f["properties"]["id"] for f in data["features"]}


def test_it_returns_every_published_place_without_a_bbox(client, integration_point):
    data = features(client)

    assert len(data["features"]) == mappable_places().count()
    assert len(data["features"]) <= 500
    assert "truncated" not in data
    assert len({f["id"] for f in data["features"]}) == len(data["features"])


def test_it_cuts_the_answer_at_the_limit_and_says_so(client, integration_point):
    data = features(client, limit=1)

    assert len(data["features"]) == 1
    assert data["truncated"] is True


def test_it_keeps_the_order_stable(client, integration_point):
    first = features(client, bbox=bbox(NRW), limit=50)
    second = features(client, bbox=bbox(NRW), limit=50)

    assert [f["id"] for f in first["features"]] == [f["id"] for f in second["features"]]


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("a,b,c,d", "numbers"),
        ("1,2,3", "four"),
        ("1,2,3,4,5", "four"),
        ("200,0,201,1", "longitudes"),
        ("0,-91,1,1", "latitudes"),
        ("7.1,51.4,6.9,51.5", "less than"),
        ("6.9,51.5,7.1,51.4", "less than"),
        ("7,51,7,52", "less than"),
        ("nan,51.4,7.1,51.5", "finite"),
        ("6.9,51.4,inf,51.5", "finite"),
    ],
)
def test_it_rejects_a_bad_bbox(client, value, problem):
    response = client.get(SERVICES, {"bbox": value})

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    error = response.json()["error"]
    assert "bbox" in error
    assert problem in error


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({"need": "flying"}, "need"),
        ({"lang": "fr"}, "lang"),
        ({"limit": "0"}, "limit"),
        ({"limit": "2001"}, "limit"),
        ({"limit": "ten"}, "limit"),
    ],
)
def test_it_rejects_other_bad_parameters(client, params, problem):
    response = client.get(SERVICES, params)

    assert response.status_code == 400
    assert problem in response.json()["error"]


def test_it_answers_get_only(client):
    assert client.post(SERVICES).status_code == 405


def test_it_filters_by_need(client, integration_point):
    data = features(client, need="work")

    expected = set(
        mappable_places()
        .filter(service__in=Service.objects.published().with_term("need", "work"))
        .values_list("pk", flat=True)
    )
    assert {f["id"] for f in data["features"]} == {str(pk) for pk in expected}
    services = {f["properties"]["id"] for f in data["features"]}
    assert str(integration_point.id) in services
    assert not services & {
        str(pk) for pk in Service.objects.filter(name__de="Quell-KI Kleve").values_list("pk", flat=True)
    }


def test_it_names_services_in_the_language_asked_for_and_says_where_it_fell_back(client, integration_point):
    data = features(client, lang="ar")

    by_service = {f["properties"]["id"]: f["properties"] for f in data["features"]}
    essen = by_service[str(integration_point.id)]
    assert "ar" not in integration_point.name
    assert essen["name"] == "Integration Point Quellstadt"
    assert essen["name_language"] == "de"
    assert essen["link"].startswith("/ar/services/")
    term = TaxonomyTerm.objects.of("service-type").get(code="integration-point")
    assert essen["type_name"] == term.name["ar"]
    assert essen["type_name"] != term.name["de"]
    kleve = next(p for p in by_service.values() if p["name"] == "مركز الاندماج كليفه")
    assert kleve["name_language"] == "ar"


def test_it_runs_a_fixed_number_of_queries(client, django_assert_num_queries, integration_point):
    with django_assert_num_queries(1):  # the places with their services' names and types, in one SELECT
        small = features(client, bbox=bbox(ESSEN))
    with django_assert_num_queries(1):  # the same SELECT, however many places it finds
        large = features(client, bbox=bbox(NRW), limit=2000)
    with django_assert_num_queries(2):  # the need is checked, then the places fetched
        features(client, bbox=bbox(NRW), need="work")

    assert len(small["features"]) < len(large["features"])


def test_it_is_cacheable_and_open_to_other_sites(client):
    response = client.get(SERVICES, {"bbox": bbox(ESSEN)})

    assert response["Cache-Control"] == "public, max-age=300"
    assert response["Access-Control-Allow-Origin"] == "*"


def test_it_compresses_for_clients_that_accept_gzip(client):
    response = client.get(SERVICES, HTTP_ACCEPT_ENCODING="gzip")

    assert response["Content-Encoding"] == "gzip"
    assert json.loads(gzip.decompress(response.content))["type"] == "FeatureCollection"


def test_it_serves_the_53_kreis_boundaries(client):
    response = client.get("/api/geo/kreise.geojson")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/geo+json"
    assert response["Cache-Control"] == "public, max-age=86400"
    data = json.loads(response.content)
    assert len(data["features"]) == 53
    assert {f["properties"]["ags"] for f in data["features"]} == set(Kreis.objects.values_list("ags", flat=True))
    essen = next(f for f in data["features"] if f["properties"]["ags"] == "05113")
    assert essen["properties"]["name"] == "Stadt Essen"
    assert {f["geometry"]["type"] for f in data["features"]} <= {"Polygon", "MultiPolygon"}
    assert "GeoBasis-DE" in data["attribution"]
    # Simplified and rounded: small enough for a phone, no more than 4 decimals.
    assert len(response.content) < 200_000
    assert not re.search(rb"\.\d{5}", response.content)


def test_it_serves_the_kreise_compressed(client):
    response = client.get("/api/geo/kreise.geojson", HTTP_ACCEPT_ENCODING="gzip")

    assert response["Content-Encoding"] == "gzip"
    assert len(response.content) < 60_000
    assert len(json.loads(gzip.decompress(response.content))["features"]) == 53


def test_it_renders_the_map_page_as_a_list_of_kreise_without_loading_leaflet(client):
    response = client.get("/de/map/")

    assert response.status_code == 200
    html = response.content.decode()
    scripts = re.findall(r"<script[^>]*\ssrc=\"([^\"]+)\"", html)
    assert any(src.endswith("public/map.js") for src in scripts)
    assert not [src for src in scripts if "leaflet" in src]
    assert not re.search(r"<link[^>]*leaflet", html)
    assert not [url for url in re.findall(r"\s(?:src|href)=\"([^\"]*)\"", html) if "://" in url or url.startswith("//")]
    assert "data-tiles" not in html
    assert re.search(r"<div class=\"noprint\"><button type=\"button\"[^>]* hidden[^>]*>Karte zeigen</button>", html)
    assert re.search(r"<div id=\"map\" role=\"region\" aria-label=\"[^\"]+\" hidden", html)
    links = re.findall(r"href=\"/de/responsible/\?ags=(\d{5})\"", html)
    assert sorted(links) == sorted(Kreis.objects.values_list("ags", flat=True))
    assert len(links) == 53
    assert ">Stadt Essen</a>" in html


def test_it_passes_the_language_and_need_to_the_map(client):
    html = client.get("/ar/map/", {"need": "work"}).content.decode()

    assert 'data-services="/api/geo/services.geojson?lang=ar&amp;need=work"' in html
    assert 'href="/ar/responsible/?ags=05113"' in html


def test_it_ignores_an_unknown_need_on_the_map_page(client):
    response = client.get("/de/map/", {"need": "flying"})

    assert response.status_code == 200
    assert 'data-services="/api/geo/services.geojson?lang=de"' in response.content.decode()


def test_it_shows_tiles_only_when_configured(client, settings):
    settings.MAP_TILE_URL = "https://tiles.example.org/{z}/{x}/{y}.png"
    settings.MAP_TILE_ATTRIBUTION = "© OpenStreetMap contributors"

    html = client.get("/de/map/").content.decode()

    assert 'data-tiles="https://tiles.example.org/{z}/{x}/{y}.png"' in html
    assert 'data-attribution="© OpenStreetMap contributors"' in html


def test_it_renders_the_map_button_for_a_service_page():
    points = [{"lat": 51.45657, "lon": 7.01228, "name": "Integration Point <Essen>", "approximate": True}]

    with translation.override("en"):
        html = render_to_string("public/_map_button.html", {"points": points})

    assert re.search(r"<button [^>]*hidden[^>]*>Show on map</button>", html)
    assert '<div id="map"' in html and 'role="region"' in html
    assert "Integration Point \\u003CEssen\\u003E" in html  # json_script escapes markup
    assert json.loads(re.search(r'<script id="map-points" type="application/json">(.*?)</script>', html)[1]) == points
    assert re.search(r"<script src=\"[^\"]*public/map.js\" defer", html)
    assert not re.search(r"<script src=\"[^\"]*leaflet", html)


def test_it_keeps_the_map_button_small():
    points = [{"lat": 51.45657, "lon": 7.01228, "name": "Integration Point Essen", "approximate": True}]

    with translation.override("en"):
        html = render_to_string("public/_map_button.html", {"points": points})

    assert len(gzip.compress(html.encode())) < 900


def test_it_answers_errors_and_copies_as_the_hsds_api_does(client):
    refused = client.get(SERVICES, {"limit": "ten"})
    assert refused["Access-Control-Allow-Origin"] == "*"
    assert refused.json()["parameter"] == "limit"
    assert client.post(SERVICES)["Content-Type"] == "application/json"

    kreise = client.get("/api/geo/kreise.geojson")
    assert kreise["Cache-Control"] == "public, max-age=86400"
    again = client.get("/api/geo/kreise.geojson", HTTP_IF_NONE_MATCH=kreise["ETag"])
    assert again.status_code == 304 and again["Access-Control-Allow-Origin"] == "*"
