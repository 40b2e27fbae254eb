"""Real offices: responsibility as NRW law assigns it, contact facts with their pages, keeping sources true."""

import datetime as dt
import http.server
import threading
import time

import pytest
import yaml
from django.conf import settings
from django.test import Client

from directory import models as m
from directory.places import resolve_place
from directory.source_checks import check_sources
from exchange.loaders import LoadError, load_catalogue
from tests.test_loading import GOOD, catalogue_dir  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db
REGISTRY = yaml.safe_load((settings.DATA_DIR / "registry" / "responsibility.yaml").read_text(encoding="utf-8"))
GKST = REGISTRY["grosse_kreisangehoerige_staedte"]
HANDED_OVER = {c["ags"] for c in GKST["without_own_auslaenderbehoerde"]}
OWN_ABH = sorted(c["ags"] for c in GKST["cities"] if c["ags"] not in HANDED_OVER)


def responsible(ags: str, service_type: str) -> list[str]:
    services = m.Service.objects.published().responsible_for(ags).filter(service_type__code=service_type)
    return sorted(str(s.name["de"]) for s in services)


@pytest.mark.parametrize("city", OWN_ABH)
def test_it_sends_a_grosse_kreisangehoerige_stadt_to_its_own_auslaenderbehoerde(city):
    name = m.Gemeinde.objects.get(ags=city).name
    # By a postcode of the city, as a newcomer types it (one that names this town alone).
    postcodes = m.PostcodeGemeinde.objects.filter(gemeinde_id=city, rank=0).values_list("postcode_id", flat=True)
    places = [resolve_place(plz=code) for code in postcodes]
    assert any(p.gemeinde is not None and p.gemeinde.ags == city for p in places), city
    assert responsible(city, "auslaenderbehoerde") == [f"Ausländerbehörde Stadt {name}"]
    # A small town of the same Kreis goes to the Kreis's office.
    neighbour = m.Gemeinde.objects.filter(kreis_id=city[:5]).exclude(ags__in=[*GKST_AGS]).first()
    if neighbour is not None:
        kreis = m.Kreis.objects.get(ags=city[:5])
        assert responsible(neighbour.ags, "auslaenderbehoerde") == [f"Ausländerbehörde {kreis.display_name}"]


GKST_AGS = {c["ags"] for c in GKST["cities"]}


@pytest.mark.parametrize("city", sorted(HANDED_OVER))
def test_it_sends_a_city_that_handed_its_office_over_to_the_kreis(city):
    kreis = m.Kreis.objects.get(ags=city[:5])
    assert responsible(city, "auslaenderbehoerde") == [f"Ausländerbehörde {kreis.display_name}"]


def test_it_gives_aachen_its_own_ki_and_eschweiler_the_staedteregions():
    assert responsible("05334002", "ki") == ["Kommunales Integrationszentrum Stadt Aachen"]
    assert responsible("05334002", "kim") == ["Kommunales Integrationsmanagement Stadt Aachen"]
    assert responsible("05334012", "ki") == ["Kommunales Integrationszentrum Städteregion Aachen"]


@pytest.mark.parametrize("service_type", ["auslaenderbehoerde", "ki", "kim", "jobcenter"])
def test_it_makes_exactly_one_office_of_each_kind_responsible_for_every_gemeinde(service_type):
    for gemeinde in m.Gemeinde.objects.all():
        found = responsible(gemeinde.ags, service_type)
        assert len(found) == 1, (gemeinde, found)


def test_it_names_every_jobcenters_form():
    jobcenters = m.Service.objects.filter(service_type__code="jobcenter")
    assert jobcenters.count() == 53
    forms = [j.jobcenter_form for j in jobcenters]
    assert forms.count(m.JobcenterForm.ZUGELASSENER_KOMMUNALER_TRAEGER) == 18
    assert forms.count(m.JobcenterForm.GEMEINSAME_EINRICHTUNG) == 35


def test_it_lists_central_foreigners_authorities_for_no_place():
    zab = m.Service.objects.filter(service_type__code="zentrale-auslaenderbehoerde")
    assert zab.count() == 5
    assert not m.ServiceArea.objects.filter(service__in=zab).exists()


def test_it_carries_a_page_and_a_date_with_every_contact_fact():
    # Every phone, slot, language and street: its page's URL and a date. (A place known only by its town,
    # from the boundary data, has no street and is no contact fact.)
    streets = m.Address.objects.exclude(address_1="")
    for queryset in (m.Phone.objects.all(), m.Schedule.objects.all(), m.Language.objects.all(), streets):
        for record in queryset.select_related("source"):
            assert record.source is not None, (queryset.model.__name__, record.pk)
            assert record.source.url and record.source.as_of, (queryset.model.__name__, record.pk)
    pages = m.Source.objects.exclude(read_on=None)
    assert pages.exists()
    assert not pages.filter(read_on__gt=dt.date.today()).exists()


def test_it_shows_where_a_fact_comes_from_on_the_service_page(client: Client):
    phone = (
        m.Phone.objects.filter(service__isnull=False, source__read_on__isnull=False).select_related("source").first()
    )
    assert phone is not None and phone.source is not None
    response = client.get(f"/de/services/{phone.service_id}/")
    text = response.content.decode()
    assert response.status_code == 200
    assert phone.number in text
    assert f"laut {phone.source.site}" in text
    assert phone.source.url.replace("&", "&amp;") in text


def test_it_leads_directions_to_the_street_address(client: Client):
    address = m.Address.objects.exclude(address_1="").exclude(location__service_at_locations=None).first()
    assert address is not None
    service = address.location.service_at_locations.get().service
    text = client.get(f"/de/services/{service.pk}/").content.decode()
    assert "openstreetmap.org/search?query=" in text


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


def test_it_checks_sources_against_a_local_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Pages)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        sources = {
            path: m.Source.objects.create(key=f"test-{path}", title=path, url=f"{base}/{path}", read_on=dt.date.today())
            for path in ("page", "gone", "slow", "private")
        }
        service = m.Service.objects.filter(phones__isnull=False).first()
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


def test_it_puts_offices_at_one_door_in_one_place():
    kleve = m.Service.objects.filter(service_type__code__in=["welcome-center", "ki", "einbuergerungsbehoerde"])
    places = m.Location.objects.filter(
        service_at_locations__service__in=kleve, addresses__address_1__startswith="Nassauerallee 22"
    ).distinct()
    assert places.count() == 1
    types = set(places.get().service_at_locations.values_list("service__service_type__code", flat=True))
    assert {"welcome-center", "ki", "einbuergerungsbehoerde"} <= types


def test_it_flags_facts_from_pages_older_than_a_year_on_the_freshness_dashboard():
    from editorial.freshness import freshness_rows

    phone = m.Phone.objects.filter(service__isnull=False, source__read_on__isnull=False).first()
    assert phone is not None and phone.source is not None and phone.service is not None
    m.Source.objects.filter(pk=phone.source.pk).update(date=dt.date.today() - dt.timedelta(days=400))
    rows = {row.service_id: row for row in freshness_rows(m.Service.objects.filter(pk=phone.service.pk))}
    assert rows[phone.service.pk].old_source
    m.Source.objects.filter(pk=phone.source.pk).update(date=dt.date.today() - dt.timedelta(days=30))
    rows = {row.service_id: row for row in freshness_rows(m.Service.objects.filter(pk=phone.service.pk))}
    assert not rows[phone.service.pk].old_source


def test_it_reports_coverage_per_kind_of_office_and_writes_it_into_the_readme(settings, tmp_path):
    from io import StringIO

    from django.core.management import call_command

    (tmp_path / "README.md").write_text("# data\n", encoding="utf-8")
    settings.DATA_DIR = tmp_path
    out = StringIO()
    call_command("coverage_report", "--write-readme", stdout=out)
    text = (tmp_path / "README.md").read_text(encoding="utf-8")
    assert "| Ausländerbehörde | 81 |" in text and "<!-- coverage:end -->" in text
    assert "Offices the sources left without" in text
    call_command("coverage_report", "--write-readme", stdout=StringIO())  # replaced, not appended
    assert (tmp_path / "README.md").read_text(encoding="utf-8").count("<!-- coverage:start -->") == 1


def test_the_api_gives_each_phone_its_page_and_filters_by_jobcenter_form(client: Client):
    phone = (
        m.Phone.objects.filter(service__isnull=False, source__read_on__isnull=False).select_related("source").first()
    )
    assert phone is not None and phone.source is not None
    record = client.get(f"/api/hsds/services/{phone.service_id}").json()
    served = next(p for p in record["phones"] if p["number"] == phone.number)
    assert served["provenance"]["source"]["url"] == phone.source.url
    assert phone.source.read_on is not None
    assert served["provenance"]["source"]["read"] == phone.source.read_on.isoformat()
    options = client.get("/api/hsds/services", {"jobcenter_form": "zugelassener-kommunaler-traeger"}).json()
    assert options["total_items"] == 18
    assert client.get("/api/hsds/services", {"jobcenter_form": "x"}).status_code == 400
    site = client.get("/de/search/", {"jobcenter_form": "gemeinsame-einrichtung"})
    assert site.status_code == 200 and len(site.context["cards"]) == 20
