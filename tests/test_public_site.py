"""The public site as a newcomer meets it: start, who is responsible, search, service and organisation pages."""

import gzip
import re
from urllib.parse import quote

import pytest
from django.contrib.staticfiles import finders
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from directory.models import Organization, ProblemReport, Service

pytestmark = pytest.mark.django_db

LANGUAGES = ["de", "en", "ar", "fa", "uk", "ru", "tr"]
BUDGET_BYTES = 14 * 1024


def service_named(name: str) -> Service:
    return Service.objects.get(name__de=name)


def kleve_ki() -> Service:
    return Service.objects.get(service_type__code="ki", service_areas__ags="05154")


# --- Start page and languages ------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGUAGES)
def test_it_serves_the_start_page_in_every_language(client, lang):
    response = client.get(f"/{lang}/")
    assert response.status_code == 200
    html = response.content.decode()
    direction = "rtl" if lang in {"ar", "fa"} else "ltr"
    assert f'<html lang="{lang}" dir="{direction}">' in html
    assert 'name="q"' in html and 'id="locate"' in html
    assert html.count('href="/' + lang + "/search/?need=") >= 10


def test_the_language_switcher_names_each_language_in_its_own_script(client):
    html = client.get("/de/responsible/?plz=45127").content.decode()
    for name in ("Deutsch", "English", "العربية", "فارسی", "Українська", "Русский", "Türkçe"):
        assert name in html
    assert 'href="/ar/responsible/?plz=45127"' in html


def test_need_categories_are_translated(client):
    german = client.get("/de/").content.decode()
    arabic = client.get("/ar/").content.decode()
    assert "Arbeit" in german
    assert re.search(r"[\u0600-\u06FF]{3,}", arabic)


# --- Who is responsible --------------------------------------------------------------------------------------


def test_a_postcode_shows_the_services_responsible_for_it_grouped_by_type(client):
    html = client.get("/en/responsible/?plz=47533").content.decode()
    ki = kleve_ki()
    assert f"/en/services/{ki.pk}/" in html
    assert "Responsible for Kreis Kleve" in html
    for other in Service.objects.filter(service_type__code="ki").exclude(pk=ki.pk)[:5]:
        assert str(other.pk) not in html
    assert html.count("<h2>") >= 4  # KI, KIM, Jobcenter, Ausländerbehörde …


@pytest.mark.parametrize("query", ["q=Muenster", "q=münster", "q=MÜNSTER", "q=Münster", "ags=05515000", "ags=05515"])
def test_a_town_is_found_in_any_spelling(client, query):
    response = client.get(f"/de/responsible/?{query}")
    assert response.status_code == 200
    assert "Münster" in response.content.decode()
    assert str(Service.objects.get(service_type__code="ki", service_areas__ags="05515").pk) in response.content.decode()


def test_coordinates_find_the_responsible_services(client):
    html = client.get("/de/responsible/?lat=51.789&lon=6.1386").content.decode()
    assert str(kleve_ki().pk) in html


def test_a_postcode_spanning_several_towns_asks_which_one(client):
    html = client.get("/de/responsible/?plz=40721").content.decode()
    assert "Hilden" in html and "Düsseldorf" in html
    assert "ags=05158016" in html and "ags=05111000" in html


def test_an_age_narrows_the_services_by_their_age_range(client):
    all_services = client.get("/de/responsible/?ags=05113000").content.decode()
    assert "Integration Point Essen" in all_services
    young = Service.objects.filter(minimum_age__gt=10).first()
    if young is not None:
        assert young.minimum_age is not None
        assert (
            str(young.pk)
            not in client.get(f"/de/responsible/?ags=05113000&age={young.minimum_age - 1}").content.decode()
        )


@pytest.mark.parametrize(
    ("query", "status", "message"),
    [
        ("plz=12345", 404, "We do not know this postcode"),
        ("plz=4512", 400, "Please enter a postcode"),
        ("plz=abcde", 400, "Please enter a postcode"),
        ("lat=52.52&lon=13.40", 404, "outside North Rhine-Westphalia"),
        ("lat=95&lon=7", 400, "not valid"),
        ("lat=abc&lon=7", 400, "not valid"),
        ("ags=99999999", 404, "could not find"),
        ("q=Atlantis", 404, "could not find"),
        ("", 400, "Please enter a postcode or a town"),
    ],
)
def test_bad_places_get_a_clear_page(client, query, status, message):
    response = client.get(f"/en/responsible/?{query}")
    assert response.status_code == status
    assert message in response.content.decode()


# --- Bad input everywhere -----------------------------------------------------------------------------------

HOSTILE = [
    "<script>alert(1)</script>",
    "\u202egnp.exe",
    "x" * 10_000,
    "' OR 1=1 --",
    "%00",
    "\x00",
]


@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize(
    "path",
    [
        "/de/responsible/?q=",
        "/de/responsible/?plz=",
        "/ar/search/?q=",
        "/de/search/?plz=",
        "/de/search/?need=",
        "/de/search/?age=",
        "/de/search/?page=",
        "/de/search/?language=",
        "/de/responsible/?ags=",
        "/de/responsible/?lat=",
    ],
)
def test_hostile_input_never_breaks_a_page_and_is_never_echoed_unescaped(client, path, value):
    response = client.get(path + quote(value))
    assert response.status_code in {200, 400, 404}
    html = response.content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "\u202e" not in html


def test_a_huge_page_number_shows_a_message(client):
    response = client.get("/de/search/?page=1000000000")
    assert response.status_code == 200
    assert "There is no page" in response.content.decode() or "Seite" in response.content.decode()


@pytest.mark.parametrize(
    "path",
    [
        "/de/services/not-a-uuid/",
        "/de/services/00000000-0000-0000-0000-000000000000/",
        "/de/organizations/xyz/",
        "/de/nothing-here/",
    ],
)
def test_unknown_ids_get_a_404_page(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert "<html" in response.content.decode()


# --- Search -----------------------------------------------------------------------------------------------


def test_search_finds_by_text_and_orders_by_distance(client):
    html = client.get("/de/search/?q=Integration+Point").content.decode()
    assert "Integration Point Essen" in html
    near_kleve = client.get("/de/search/?plz=47533&need=residence").content.decode()
    assert near_kleve.index("Kleve") < near_kleve.index("km")


def test_each_filter_can_be_removed_on_its_own(client):
    html = client.get("/en/search/?q=Beratung&need=work&free=1").content.decode()
    assert 'href="?need=work&amp;free=1"' in html or 'href="?free=1&amp;need=work"' in html
    assert "Remove filter" in html


def test_results_run_a_fixed_number_of_queries(client):
    def count(path: str) -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(path).status_code == 200
        return len(queries)

    few = count("/de/search/?q=Integration+Point+Essen")
    many = count("/de/search/?q=")
    assert few == many, "a page of 1 result and a page of 20 run the same queries"
    assert count("/de/responsible/?plz=47533") == count("/de/responsible/?plz=45127")


def test_the_service_page_runs_a_fixed_number_of_queries(client):
    def count(service: Service) -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"/de/services/{service.pk}/").status_code == 200
        return len(queries)

    assert count(service_named("Integration Point Essen")) == count(kleve_ki())


# --- Service and organisation pages ---------------------------------------------------------------------


def test_the_service_page_shows_what_for_whom_and_every_contact_path(client):
    service = service_named("Integration Point Essen")
    html = client.get(f"/en/services/{service.pk}/").content.decode()
    assert "Integration Point Essen" in html
    assert "Berliner Platz" in html
    assert "Not yet verified" in html
    assert f"/en/services/{service.pk}/vcard/" in html
    assert f"/en/services/{service.pk}/report/" in html
    # Directions by the street the page gives, so a routing service finds the door.
    assert "openstreetmap.org/search?query=Berliner%20Platz" in html
    assert "Agentur für Arbeit Essen" in html


def test_german_text_shown_in_another_language_is_marked(client):
    service = kleve_ki()
    service.description = {"de": "Nur auf Deutsch."}
    service.save()
    html = client.get(f"/ar/services/{service.pk}/").content.decode()
    assert '<p lang="de">Nur auf Deutsch.</p>' in html


def test_the_vcard_holds_the_contact(client):
    service = service_named("Integration Point Essen")
    response = client.get(f"/de/services/{service.pk}/vcard/")
    assert response["Content-Type"].startswith("text/vcard")
    text = response.content.decode()
    assert text.startswith("BEGIN:VCARD") and "FN:Integration Point Essen" in text and "Berliner Platz" in text


def test_the_organisation_page_lists_its_services_and_places(client):
    organization = Organization.objects.get(name__de="Kreis Kleve")
    html = client.get(f"/de/organizations/{organization.pk}/").content.decode()
    assert str(kleve_ki().pk) in html
    assert "Welcome Center" in html


# --- Problem reports -------------------------------------------------------------------------------------


def test_a_problem_report_is_stored_and_confirmed(client):
    service = kleve_ki()
    page = client.get(f"/de/services/{service.pk}/report/")
    assert page.status_code == 200 and "csrfmiddlewaretoken" in page.content.decode()
    response = client.post(f"/de/services/{service.pk}/report/", {"text": "<b>Telefon</b> fehlt", "contact": ""})
    assert response.status_code == 302
    report = ProblemReport.objects.get(service=service)
    assert report.text == "<b>Telefon</b> fehlt"
    assert client.get(response.url).status_code == 200


def test_a_huge_or_empty_report_is_refused(client):
    service = kleve_ki()
    assert client.post(f"/de/services/{service.pk}/report/", {"text": "x" * 1_000_000}).status_code == 400
    assert client.post(f"/de/services/{service.pk}/report/", {"text": " "}).status_code == 400
    assert not ProblemReport.objects.exists()


def test_reports_are_rate_limited(client):
    service = kleve_ki()
    statuses = [
        client.post(f"/de/services/{service.pk}/report/", {"text": f"Fehler Nummer {n}"}).status_code for n in range(7)
    ]
    assert statuses[:5] == [302] * 5
    assert statuses[-1] == 429


def test_a_forged_report_is_rejected():
    strict = Client(enforce_csrf_checks=True)
    assert strict.post(f"/de/services/{kleve_ki().pk}/report/", {"text": "ohne Token"}).status_code == 403
    assert not ProblemReport.objects.exists()


# --- Light, cacheable, self-contained ----------------------------------------------------------------------


def css_bytes() -> bytes:
    path = finders.find("directory/site.css")
    assert path
    with open(path, "rb") as handle:
        return handle.read()


@pytest.mark.parametrize("lang", ["de", "ar"])
def test_pages_and_their_css_fit_in_14_kb_compressed(client, lang):
    pages = [
        f"/{lang}/",
        f"/{lang}/responsible/?plz=45127",
        f"/{lang}/search/?q=Beratung",
        f"/{lang}/services/{service_named('Integration Point Essen').pk}/",
    ]
    for path in pages:
        html = client.get(path).content
        size = len(gzip.compress(html + css_bytes(), 9))
        assert size <= BUDGET_BYTES, f"{path}: {size} bytes"


def test_no_page_loads_anything_from_another_host(client):
    service = service_named("Integration Point Essen")
    for path in ("/de/", "/ar/responsible/?plz=45127", "/de/search/?q=", f"/de/services/{service.pk}/", "/de/map/"):
        html = client.get(path).content.decode()
        sources = re.findall(r'<(?:script|img|link|iframe)[^>]+(?:src|href)="([^"]+)"', html)
        assert all(src.startswith("/") for src in sources), (path, sources)


def test_anonymous_pages_are_cacheable_and_answer_304(client):
    response = client.get("/de/responsible/?plz=45127")
    assert "public" in response["Cache-Control"] and "max-age" in response["Cache-Control"]
    etag = response["ETag"]
    again = client.get("/de/responsible/?plz=45127", HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    assert "Set-Cookie" not in response


def test_the_app_is_installable_and_works_offline(client):
    manifest = client.get("/manifest.webmanifest").json()
    assert manifest["start_url"].startswith("/") and manifest["icons"]
    worker = client.get("/sw.js")
    assert worker["Content-Type"].startswith("application/javascript")
    assert "caches.match" in worker.content.decode()
    assert client.get("/de/offline/").status_code == 200
