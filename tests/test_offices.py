"""Contact facts of offices with their pages: shown with where they come from, checked on load, kept true.

(The checks of the shipped offices themselves, responsibility as NRW law assigns it among them, live in
tests/test_catalogue_data.py.)
"""

import datetime as dt
import http.server
import threading
import time

import pytest
import yaml
from django.test import Client

from directory import models as m
from directory.source_checks import check_sources
from exchange.loaders import LoadError, load_catalogue
from tests import factories
from tests.test_loading import GOOD, catalogue_dir  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


@pytest.fixture
def phone() -> m.Phone:
    """A service's phone number read off the office's own page."""
    page = m.Source.objects.create(
        key="quellstadt-kontakt",
        title="Kontakt – Quellberatung",
        url="https://www.quellstadt.example/kontakt?x=1&y=2",
        read_on=dt.date.today() - dt.timedelta(days=10),
    )
    service = factories.office(name="Quellberatung Kontakt", street="Markt 1", postcode="47533", ags=factories.KLEVE)
    return factories.phone(service=service, number="02821 594-0", source=page)


def test_it_shows_where_a_fact_comes_from_on_the_service_page(client: Client, phone):
    assert phone.source is not None
    response = client.get(f"/de/services/{phone.service_id}/")
    text = response.content.decode()
    assert response.status_code == 200
    assert phone.number in text
    assert f"laut {phone.source.site}" in text
    assert phone.source.url.replace("&", "&amp;") in text


def test_it_leads_directions_to_the_street_address(client: Client, phone):
    text = client.get(f"/de/services/{phone.service_id}/").content.decode()
    assert "openstreetmap.org/search?query=Markt%201%2C%2047533%20Kleve" in text


@pytest.mark.parametrize(
    ("field", "entry", "message"),
    [
        ("phones", {"phones": ["call us"]}, "not a phone number"),
        ("email", {"email": "post at example"}, "not an e-mail address"),
        ("website", {"website": "javascript:alert(1)"}, "not a web address"),
        ("address.postal_code", {"address": {"street": "Markt 1", "postal_code": "10115", "city": "Berlin"}}, "NRW"),
        ("read", {}, "future"),
    ],
)
def test_it_refuses_a_contacts_file_with_a_wrong_fact(catalogue_dir, field, entry, message):  # noqa: F811
    read = (dt.date.today() + dt.timedelta(days=3)) if field == "read" else dt.date.today()
    contacts = {
        "sources": {"test-page": {"title": "Testseite", "url": "https://example.org/kontakt", "read": read}},
        "contacts": [{"office": "test-beratung", "source": "test-page", **entry}],
    }
    (catalogue_dir / "contacts").mkdir()
    (catalogue_dir / "contacts" / "bad.yaml").write_text(yaml.safe_dump(contacts), encoding="utf-8")
    before = m.Source.objects.count(), m.Service.objects.count()
    with pytest.raises(LoadError) as error:
        load_catalogue(catalogue_dir)
    assert "bad.yaml" in str(error.value) and error.value.field == field and message in str(error.value)
    assert (m.Source.objects.count(), m.Service.objects.count()) == before


def test_it_takes_the_newer_page_of_two(catalogue_dir):  # noqa: F811
    contacts = {
        "sources": {
            "old-page": {
                "title": "Alt",
                "url": "https://example.org/alt",
                "date": dt.date(2019, 1, 1),
                "read": dt.date(2026, 1, 1),
            },
            "new-page": {
                "title": "Neu",
                "url": "https://example.org/neu",
                "date": dt.date(2025, 3, 1),
                "read": dt.date(2026, 1, 1),
            },
        },
        "contacts": [
            {"office": "test-beratung", "source": "old-page", "phones": ["02821 1111"]},
            {
                "office": "test-beratung",
                "source": "new-page",
                "phones": ["02821 2222"],
                "address": {"street": "Markt 1", "postal_code": "47533", "city": "Kleve"},
            },
        ],
    }
    (catalogue_dir / "contacts").mkdir()
    (catalogue_dir / "contacts" / "kleve.yaml").write_text(yaml.safe_dump(contacts), encoding="utf-8")
    load_catalogue(catalogue_dir)
    service = m.Service.objects.get(name__de="Testberatung")
    assert [p.number for p in service.phones.all()] == ["02821 2222"]
    location = m.Location.objects.get(service_at_locations__service=service, addresses__address_1="Markt 1")
    assert location.point_accuracy == m.PointAccuracy.POSTCODE
    assert location.addresses.get().source.key == "new-page"
    # The page's street replaces no place of the catalogue's own (only the stand-in at a Kreis seat).
    assert service.service_at_locations.filter(location__name__de="Vereinsheim").exists()


class Pages(http.server.BaseHTTPRequestHandler):
    body = b"version 1"

    def do_GET(self):
        if self.path == "/robots.txt":
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"User-agent: *\nDisallow: /private\n")
        elif self.path == "/gone":
            self.send_error(404)
        elif self.path == "/slow":
            time.sleep(2)
            self.send_response(200)
            self.end_headers()
        else:
            self.send_response(200)
            self.end_headers()
            self.wfile.write(Pages.body)

    def log_message(self, *args):
        pass


def test_it_checks_sources_against_a_local_server(phone):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Pages)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        sources = {
            path: m.Source.objects.create(key=f"test-{path}", title=path, url=f"{base}/{path}", read_on=dt.date.today())
            for path in ("page", "gone", "slow", "private")
        }
        service = phone.service
        service.contact_source = sources["page"]
        service.save()
        results, tasks = check_sources(sources.values(), workers=2, timeout=0.5)
        outcomes = {r.source.key: r.outcome for r in results}
        assert outcomes == {
            "test-page": "first",
            "test-gone": "gone",
            "test-slow": "failed",
            "test-private": "disallowed",
        }
        Pages.body = b"version 2"
        results, tasks = check_sources([sources["page"]], timeout=0.5)
        assert results[0].outcome == "changed" and tasks == 1
        report = m.ProblemReport.objects.get(service=service)
        assert sources["page"].url in report.text
        check_sources([sources["page"]], timeout=0.5)  # unchanged since: no second task
        assert m.ProblemReport.objects.filter(service=service).count() == 1
        assert m.Service.objects.get(pk=service.pk).email == service.email  # never edits a record
    finally:
        server.shutdown()


def test_it_flags_facts_from_pages_older_than_a_year_on_the_freshness_dashboard(phone):
    from editorial.freshness import freshness_rows

    assert phone is not None and phone.source is not None and phone.service is not None
    m.Source.objects.filter(pk=phone.source.pk).update(date=dt.date.today() - dt.timedelta(days=400))
    rows = {row.service_id: row for row in freshness_rows(m.Service.objects.filter(pk=phone.service.pk))}
    assert rows[phone.service.pk].old_source
    m.Source.objects.filter(pk=phone.source.pk).update(date=dt.date.today() - dt.timedelta(days=30))
    rows = {row.service_id: row for row in freshness_rows(m.Service.objects.filter(pk=phone.service.pk))}
    assert not rows[phone.service.pk].old_source


def test_the_api_gives_each_phone_its_page_and_filters_by_jobcenter_form(client: Client, phone):
    assert phone.source is not None
    record = client.get(f"/api/hsds/services/{phone.service_id}").json()
    served = next(p for p in record["phones"] if p["number"] == phone.number)
    assert served["provenance"]["source"]["url"] == phone.source.url
    assert phone.source.read_on is not None
    assert served["provenance"]["source"]["read"] == phone.source.read_on.isoformat()
    own = factories.service(
        name="Quell-Jobcenter", service_type="jobcenter", jobcenter_form=m.JobcenterForm.ZUGELASSENER_KOMMUNALER_TRAEGER
    )
    joint = factories.service(
        name="Quell-Jobcenter gE", service_type="jobcenter", jobcenter_form=m.JobcenterForm.GEMEINSAME_EINRICHTUNG
    )
    for form, expected in [("zugelassener-kommunaler-traeger", own), ("gemeinsame-einrichtung", joint)]:
        options = client.get("/api/hsds/services", {"jobcenter_form": form, "search": "Quell-Jobcenter"}).json()
        assert [record["id"] for record in options["contents"]] == [str(expected.pk)], form
    assert client.get("/api/hsds/services", {"jobcenter_form": "x"}).status_code == 400
    site = client.get("/de/search/", {"jobcenter_form": "gemeinsame-einrichtung", "q": "Quell-Jobcenter"})
    assert site.status_code == 200
    assert [card.service for card in site.context["cards"]] == [joint]
