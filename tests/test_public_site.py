"""The public site as a newcomer meets it: start, who is responsible, search, service and organisation pages."""

import gzip
import re
from urllib.parse import quote

import pytest
from django.contrib.staticfiles import finders
from django.core.cache import cache
from django.test import Client

from directory.models import ProblemReport, Service
from directory.models.catalogue import search_forms_of_terms
from public.views import MAX_PER_TYPE
from tests import factories
from tests.factories import ESSEN, KLEVE, MUENSTER

pytestmark = pytest.mark.django_db

LANGUAGES = ["de", "en", "ar", "fa", "uk", "ru", "tr"]
BUDGET_BYTES = 14 * 1024
KREIS_KLEVE = "05154"


@pytest.fixture
def kleve_ki() -> Service:
    """A Kommunales Integrationszentrum responsible for Kreis Kleve, at its seat."""
    return factories.office(name="Quell-KI Kreis Kleve", service_type="ki", ags=KLEVE, areas=[KREIS_KLEVE])


@pytest.fixture
def office() -> Service:
    """An office with a street address, run in the rooms of another organisation, with every contact path."""
    host = factories.organization(name="Agentur für Quellarbeit")
    service = factories.service(
        name="Integration Point Quellstadt",
        organization=factories.organization(name="Quellverein", parent_organization=umbrella()),
        service_type="integration-point",
        needs=["work"],
        description={"de": "Beratung zu Arbeit und Ausbildung für Geflüchtete.", "en": "Advice on work."},
        email="ip@quellstadt.example",
        url="https://quellstadt.example/ip",
    )
    place = factories.location(
        name="Quellhaus", organization=host, ags=ESSEN, street="Berliner Platz 10", postcode="45127"
    )
    factories.at(service, place)
    factories.at(factories.service(name="Quellarbeit Beratung", organization=host), place)
    factories.phone(service=service, number="0201 1234567")
    factories.schedule(location=place, byday="MO,TU,TH", opens_at="08:00", closes_at="12:00")
    factories.language(service=service, code="ar")
    return service


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


def test_a_postcode_shows_the_services_responsible_for_it_grouped_by_type(client, kleve_ki):
    for code in ("kim", "jobcenter", "auslaenderbehoerde"):
        factories.office(name=f"Quell-{code} Kreis Kleve", service_type=code, ags=KLEVE, areas=[KREIS_KLEVE])
    elsewhere = factories.office(name="Quell-KI Essen", service_type="ki", areas=[ESSEN])
    html = client.get("/en/responsible/?plz=47533").content.decode()
    assert f"/en/services/{kleve_ki.pk}/" in html
    assert "Responsible for Kreis Kleve" in re.sub(r"<[^>]+>", "", html), "the reason, its area marked as German"
    assert str(elsewhere.pk) not in html
    assert html.count("<h2>") >= 4  # KI, KIM, Jobcenter, Ausländerbehörde …


def test_a_type_shows_its_first_few_services_and_counts_the_rest(client):
    names = [f"Quell-MBE {letter} Essen" for letter in "FEDCBA"]  # made in reverse order of their names
    for name in names:
        factories.office(name=name, service_type="mbe", areas=[ESSEN])
    factories.office(name="Quell-Jobcenter Essen", service_type="jobcenter", areas=[ESSEN])
    html = client.get("/en/responsible/?ags=05113000").content.decode()
    shown = [name for name in sorted(names) if name in html]
    assert shown == sorted(names)[:MAX_PER_TYPE], "the first by name"
    assert "Quell-Jobcenter Essen" in html, "another type keeps its own"
    more = len(names) - MAX_PER_TYPE
    assert f"{more} more of this kind" in html and html.count("more of this kind") == 1
    assert 'href="/en/search/?ags=05113000"' in html


@pytest.mark.parametrize("query", ["q=Muenster", "q=münster", "q=MÜNSTER", "q=Münster", "ags=05515000", "ags=05515"])
def test_a_town_is_found_in_any_spelling(client, query):
    ki = factories.office(name="Quell-KI Münster", service_type="ki", ags=MUENSTER, areas=[MUENSTER[:5]])
    response = client.get(f"/de/responsible/?{query}")
    assert response.status_code == 200
    assert "Münster" in response.content.decode()
    assert str(ki.pk) in response.content.decode()


def test_coordinates_find_the_responsible_services(client, kleve_ki):
    html = client.get("/de/responsible/?lat=51.789&lon=6.1386").content.decode()
    assert str(kleve_ki.pk) in html


def test_a_postcode_spanning_several_towns_asks_which_one(client):
    html = client.get("/de/responsible/?plz=40721").content.decode()
    assert "Hilden" in html and "Düsseldorf" in html
    assert "ags=05158016" in html and "ags=05111000" in html


def test_an_age_narrows_the_services_by_their_age_range(client):
    young = factories.office(name="Quell-JMD Essen", service_type="jmd", areas=[ESSEN], minimum_age=12, maximum_age=27)
    for_all = factories.office(name="Quell-KI Essen", service_type="ki", areas=[ESSEN])
    assert str(young.pk) in client.get("/de/responsible/?ags=05113000").content.decode()
    assert str(young.pk) in client.get("/de/responsible/?ags=05113000&age=12").content.decode()
    eleven = client.get("/de/responsible/?ags=05113000&age=11").content.decode()
    assert str(young.pk) not in eleven and str(for_all.pk) in eleven


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


def test_search_finds_by_text_and_orders_by_distance(client, office):
    html = client.get("/de/search/?q=Integration+Point").content.decode()
    assert "Integration Point Quellstadt" in html
    for name, ags in [("Essen", ESSEN), ("Kleve", KLEVE)]:
        factories.office(name=f"Quellbehörde {name}", ags=ags, needs=["residence"])
    near_kleve = client.get("/de/search/?plz=47533&need=residence&q=Quellbehörde").content.decode()
    assert near_kleve.index("Quellbehörde Kleve") < near_kleve.index("Quellbehörde Essen")
    assert " km" in near_kleve


def test_each_filter_can_be_removed_on_its_own(client):
    html = client.get("/en/search/?q=Beratung&need=work&free=1").content.decode()
    assert 'href="?need=work&amp;free=1"' in html or 'href="?free=1&amp;need=work"' in html
    assert "Remove filter" in html


def umbrella():
    """An umbrella organisation: its phones stand in for a member's office that has none."""
    return factories.organization(name="Quell-Dachverband")


@pytest.fixture
def many_offices() -> list[Service]:
    """More offices than a page holds (20), all responsible for Kreis Kleve, each with a phone, hours and a language."""
    member = factories.organization(name="Quellverein Kleve", parent_organization=umbrella())
    offices = []
    for n in range(22):
        service = factories.office(
            name=f"Vielquell {n:02}", organization=member, service_type="ki", ags=KLEVE, areas=[KREIS_KLEVE]
        )
        factories.phone(service=service, number=f"02821 {n:04}")
        factories.schedule(service=service)
        factories.language(service=service, code="tr")
        offices.append(service)
    return offices


# The lists a service card or page reads, one query each whatever the number of services: the service's phones,
# languages and hours, its organisation's phones and its umbrella organisation's phones, its areas, cost options
# and terms, its places (with Gemeinde), their hours and phones at that place, and the places' own hours,
# addresses, accessibility and languages. (The umbrella's phones are not asked for when no organisation has one.)
RELATED_LISTS = 15
# A card (the results, the responsible page) leaves out seven of them: the service's languages and areas, the
# places' addresses, accessibility and languages, the cost options and the terms (public.display.services_for_cards).
CARD_LISTS = RELATED_LISTS - 7


def test_results_run_a_fixed_number_of_queries(client, django_assert_num_queries, office, many_offices):
    client.get("/de/")  # the session's first request may fill per-process caches; count from the second
    for query in ("q=Integration+Point+Quellstadt", "q=Vielquell"):  # a page of 1 result, a page of 20
        cache.clear()  # the area's stated facts are kept until the catalogue changes: count them here each time
        search_forms_of_terms()  # as are the terms' search words, read once per catalogue version, not counted
        # the typed words in the dictionary and the terms the text says, the ranked ids of the results, the page
        # of services (with organisation and type), the lists a card shows, the need terms and the
        # target-group terms of the filter form, and how many of the services found state each fact a filter
        # asks for (one aggregate)
        with django_assert_num_queries(2 + 1 + 1 + CARD_LISTS + 2 + 1):
            assert client.get(f"/de/search/?{query}").status_code == 200
    # the Gemeinden of the postcode, the responsible services' ids (the first few of each type, with each type's
    # count), those services, the lists a card shows, and the services' areas (the reason each is responsible)
    with django_assert_num_queries(1 + 1 + 1 + CARD_LISTS + 1):
        assert client.get("/de/responsible/?plz=47533").status_code == 200


def test_the_service_page_runs_a_fixed_number_of_queries(client, django_assert_num_queries, office):
    client.get("/de/")
    # the service (with organisation, type, sources), the related lists, the staff's verified field groups
    # (for the "verified" notes), the documents to bring
    with django_assert_num_queries(1 + RELATED_LISTS + 2):
        assert client.get(f"/de/services/{office.pk}/").status_code == 200
    # A service at no place: the six lists of its places' (hours and phones there, the places' hours, addresses,
    # accessibility and languages) are not asked for.
    nowhere = factories.service(organization=office.organization)
    with django_assert_num_queries(1 + RELATED_LISTS - 6 + 2):
        assert client.get(f"/de/services/{nowhere.pk}/").status_code == 200


# --- Service and organisation pages ---------------------------------------------------------------------


def test_the_service_page_shows_what_for_whom_and_every_contact_path(client, office):
    html = client.get(f"/en/services/{office.pk}/").content.decode()
    assert "Integration Point Quellstadt" in html
    assert "Berliner Platz" in html
    assert "Not yet verified" in html
    assert f"/en/services/{office.pk}/vcard/" in html
    assert f"/en/services/{office.pk}/report/" in html
    # Directions by the street the page gives, so a routing service finds the door.
    assert "openstreetmap.org/search?query=Berliner%20Platz%2010%2C%2045127%20Essen" in html
    assert "Quellverein" in html, "the organisation that runs it"


def test_german_text_shown_in_another_language_is_marked(client, kleve_ki):
    kleve_ki.description = {"de": "Nur auf Deutsch."}
    kleve_ki.save()
    html = client.get(f"/ar/services/{kleve_ki.pk}/").content.decode()
    assert '<p><span lang="de" dir="ltr">Nur auf Deutsch.</span></p>' in html


def test_the_vcard_holds_the_contact(client, office):
    response = client.get(f"/de/services/{office.pk}/vcard/")
    assert response["Content-Type"].startswith("text/vcard")
    text = response.content.decode()
    assert text.startswith("BEGIN:VCARD") and "FN:Integration Point Quellstadt" in text and "Berliner Platz" in text
    assert "TEL;TYPE=WORK,VOICE:+492011234567" in text and "ip@quellstadt.example" in text


def test_the_organisation_page_lists_its_services_and_places(client, kleve_ki):
    welcome = factories.location(name="Quell-Welcome-Center", organization=kleve_ki.organization, ags=KLEVE)
    factories.at(factories.service(name="Quell-Einbürgerung", organization=kleve_ki.organization), welcome)
    html = client.get(f"/de/organizations/{kleve_ki.organization.pk}/").content.decode()
    assert str(kleve_ki.pk) in html
    assert "Quell-Welcome-Center" in html and "Quell-Einbürgerung" in html


# --- Problem reports -------------------------------------------------------------------------------------


def test_a_problem_report_is_stored_and_confirmed(client, kleve_ki):
    service = kleve_ki
    page = client.get(f"/de/services/{service.pk}/report/")
    assert page.status_code == 200 and "csrfmiddlewaretoken" in page.content.decode()
    response = client.post(f"/de/services/{service.pk}/report/", {"text": "<b>Telefon</b> fehlt", "contact": ""})
    assert response.status_code == 302
    report = ProblemReport.objects.get(service=service)
    assert report.text == "<b>Telefon</b> fehlt"
    assert client.get(response.url).status_code == 200


def test_a_huge_or_empty_report_is_refused(client, kleve_ki):
    service = kleve_ki
    assert client.post(f"/de/services/{service.pk}/report/", {"text": "x" * 1_000_000}).status_code == 400
    assert client.post(f"/de/services/{service.pk}/report/", {"text": " "}).status_code == 400
    assert not ProblemReport.objects.exists()


def test_reports_are_rate_limited(client, kleve_ki):
    service = kleve_ki
    statuses = [
        client.post(f"/de/services/{service.pk}/report/", {"text": f"Fehler Nummer {n}"}).status_code for n in range(7)
    ]
    assert statuses[:5] == [302] * 5
    assert statuses[-1] == 429


def test_a_forged_report_is_rejected(kleve_ki):
    strict = Client(enforce_csrf_checks=True)
    assert strict.post(f"/de/services/{kleve_ki.pk}/report/", {"text": "ohne Token"}).status_code == 403
    assert not ProblemReport.objects.exists()


# --- Light, cacheable, self-contained ----------------------------------------------------------------------


def css_bytes() -> bytes:
    path = finders.find("directory/site.css")
    assert path
    with open(path, "rb") as handle:
        return handle.read()


@pytest.mark.parametrize("lang", ["de", "ar"])
def test_pages_and_their_css_fit_in_14_kb_compressed(client, lang, office):
    # The responsible and search pages show what the shipped catalogue has there: the budget is for real pages.
    pages = [
        f"/{lang}/",
        f"/{lang}/responsible/?plz=45127",
        f"/{lang}/search/?q=Beratung",
        f"/{lang}/services/{office.pk}/",
    ]
    for path in pages:
        html = client.get(path).content
        size = len(gzip.compress(html + css_bytes(), 9))
        assert size <= BUDGET_BYTES, f"{path}: {size} bytes"


def test_no_page_loads_anything_from_another_host(client, office):
    for path in ("/de/", "/ar/responsible/?plz=45127", "/de/search/?q=", f"/de/services/{office.pk}/", "/de/map/"):
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
