"""Checks of the catalogue that ships in data/, and only of it: seed-named records, the four offices per Kreis,
responsibility as NRW law assigns it, contact facts with their pages, coverage.

Data work changes these on purpose; every other test builds the records it needs (tests/factories.py), so a
change to the catalogue is answered here and nowhere else.
"""

import datetime as dt
from urllib.parse import urlencode

import pytest
import yaml
from django.apps import apps
from django.conf import settings
from django.contrib.gis.geos import Point
from django.db.models import Q
from django.http import QueryDict

from directory import models as m
from directory.models import (
    Kreis,
    Location,
    Organization,
    PointAccuracy,
    Program,
    Record,
    Service,
    Source,
    Taxonomy,
    TaxonomyTerm,
)
from directory.places import resolve_place
from directory.services import refresh_search_text
from directory.translation import LANGUAGE_CODES
from exchange.imports import ImportFile, Outcome, run_import
from exchange.loaders import load_catalogue
from public.search import parse_search_params, search_services
from tests.conftest import DEEP
from tests.test_exchange import export_to, truncate_catalogue

pytestmark = pytest.mark.django_db

KLEVE = Point(6.1386, 51.7890, srid=4326)


def named(model, text):
    return model.objects.filter(name__de__icontains=text)


def test_every_kreis_has_ki_kim_jobcenter_and_auslaenderbehoerde_responsible_for_it():
    for kreis in Kreis.objects.all():
        responsible = Service.objects.published().responsible_for(kreis.ags)
        types = set(responsible.values_list("service_type__code", flat=True))
        assert {"ki", "kim", "jobcenter", "auslaenderbehoerde"} <= types, kreis


def test_the_kreis_offices_sit_at_their_address_or_approximately_at_the_kreis_seat():
    for kreis in Kreis.objects.all():
        ki = Service.objects.get(service_areas__ags=kreis.ags, service_type__code="ki")
        for location in Location.objects.filter(service_at_locations__service=ki):
            assert not location.is_verified
            street = location.addresses.exclude(address_1="").first()
            if street is None:
                # No page gave a street: the place is the Kreis seat, marked approximate; no street is invented.
                assert location.point_accuracy == PointAccuracy.MUNICIPALITY
                assert location.gemeinde == kreis.seat, kreis
                assert location.gemeinde.geometry.covers(location.point)
            else:
                # A page gave the street: the place is at least at its postcode, and the address carries the page.
                assert street.source is not None and street.source.is_public_page, kreis
                assert location.point_accuracy in {PointAccuracy.POSTCODE, PointAccuracy.MUNICIPALITY}


def test_services_responsible_for_a_point_in_kleve_are_kleves_and_no_other_kreis():
    responsible = Service.objects.published().responsible_for(KLEVE)
    codes = set(responsible.values_list("service_type__code", flat=True))
    assert {"ki", "jobcenter", "auslaenderbehoerde", "kim"} <= codes
    other_kreise = Kreis.objects.exclude(ags="05154").values_list("ags", flat=True)
    # Offices of one Kreis or town: none of them belongs to another Kreis. (An Agentur für Arbeit or a chamber
    # covers a district of several Kreise, Kleve among them.)
    local = responsible.filter(service_type__code__in=["ki", "kim", "jobcenter", "auslaenderbehoerde"])
    assert not local.filter(service_areas__ags__in=list(other_kreise)).exists()
    for service in responsible:
        areas = set(service.service_areas.values_list("ags", flat=True))
        assert areas & {"05", "051", "05154", "05154036"}, service


def test_a_point_outside_nrw_has_no_responsible_service():
    assert not Service.objects.responsible_for(Point(13.4, 52.52, srid=4326)).exists()


def test_age_ranges_narrow_the_services():
    services = Service.objects.published()
    assert services.for_age(30).count() <= services.count()
    assert not services.for_age(30).filter(maximum_age__lt=30).exists()


@pytest.mark.parametrize(
    ("model", "name"),
    [
        (Organization, "Agentur für Arbeit Essen"),
        (Organization, "Essener Verbund der Immigrantenvereine"),
        (Organization, "IHK Düsseldorf"),
        (Organization, "SOFRA"),
        (Organization, "Tonika"),
        (Organization, "Iriba-Brunnen"),
        (Organization, "Stadt Paderborn"),
        (Service, "Integration Point Essen"),
        (Service, "Jugendberufsagentur Essen"),
        (Service, "Wirtschaft und Migration"),
        (Service, "Koordinierungsstelle für Flüchtlingsangelegenheiten"),
        (Service, "Startzeit"),
        (Service, "Wegbereiter"),
        (Service, "Welcome Center"),
        (Service, "Einbürgerung"),
        (Service, "Welcome Office Bochum"),
        (Service, "Willkommenslotsen"),
        (Service, "Kommunales Integrationszentrum Kreis Minden-Lübbecke"),
        (Service, "Kommunales Integrationszentrum Stadt Bonn"),
        (Service, "Kommunales Integrationszentrum Stadt Solingen"),
        (Service, "Kommunales Integrationszentrum Stadt Essen"),
        (Program, "NRW.integrativ"),
        (Program, "Kommunales Integrationsmanagement"),
        (Program, "Einwanderung gestalten"),
    ],
)
def test_every_seed_named_record_is_there_with_its_source(model, name):
    records = named(model, name)
    assert records.exists(), name
    for record in records:
        assert record.source is not None, name
        assert record.source.url or record.source.document


def test_the_seed_documents_are_cited():
    cited = {
        key
        for model in (Service, Organization, Program, Location)
        for key in model.objects.values_list("source__key", flat=True)
    }
    assert {f"seed-00{number}" for number in range(5)} <= cited


def test_every_source_is_cited_by_what_a_reader_can_find_not_by_a_path_outside_the_repository():
    for source in Source.objects.all():
        assert source.title, source.key
        assert not source.document.startswith(("../", "seeds/", "/")), source.key
    seed = Source.objects.get(key="seed-003")
    assert seed.publisher == "Stadt Essen" and "Stadt Essen" in seed.document


def test_the_integration_point_is_the_agenturs_place_not_a_place_of_the_whole_jobcenter():
    ip = named(Service, "Integration Point Essen").get()
    place = ip.service_at_locations.get().location
    organizations = set(
        Organization.objects.filter(services__service_at_locations__location=place).values_list("name__de", flat=True)
    )
    assert "Agentur für Arbeit Essen" in organizations
    assert place.addresses.filter(address_1__startswith="Berliner Platz").exists()
    # seed-003 says four Jobcenter staff work there, not that it is a place of the whole Jobcenter Essen.
    assert not any("jobcenter" in name.casefold() for name in organizations)


def test_the_welcome_center_kleve_houses_ki_auslaenderbehoerde_and_einbuergerungsstelle():
    welcome = (
        named(Service, "Welcome Center").filter(service_areas__ags="05154").first()
        or named(Service, "Welcome Center").first()
    )
    place = welcome.service_at_locations.first().location
    types = set(
        Service.objects.filter(service_at_locations__location=place).values_list("service_type__code", flat=True)
    )
    assert {"ki", "auslaenderbehoerde", "einbuergerungsbehoerde"} <= types


def test_nothing_is_invented_for_unverified_records():
    unverified = Service.objects.filter(verification_state="unverified")
    assert unverified.exists()
    # No phone numbers or e-mail addresses appear without a source that gives them.
    assert not unverified.filter(~Q(email="")).filter(source__isnull=True).exists()
    assert not Service.objects.filter(source__isnull=True).exists()


def test_taxonomy_terms_are_named_in_all_seven_languages():
    assert {"service-type", "need", "residence-status", "target-group"} <= set(
        Taxonomy.objects.values_list("key", flat=True)
    )
    for term in TaxonomyTerm.objects.all():
        assert set(LANGUAGE_CODES) <= set(term.name), term.code


def test_every_term_has_search_words_in_all_seven_languages():
    for term in TaxonomyTerm.objects.all():
        assert set(LANGUAGE_CODES) <= set(term.search_words), term.code


@pytest.mark.parametrize(
    ("query", "service_type"), [("Sprachkurs", None), ("курси німецької", None), ("посвідка", "auslaenderbehoerde")]
)
def test_everyday_words_find_the_shipped_services(query, service_type):
    params, errors = parse_search_params(QueryDict(urlencode({"q": query})))
    assert not errors
    found = search_services(params, point=None)
    assert found.exists(), query
    if service_type:
        assert found.filter(service_type__code=service_type).exists()


def test_loading_twice_writes_no_history_and_touches_nothing():
    record_models = [m for m in apps.get_app_config("directory").get_models() if issubclass(m, Record)]
    history_rows = {m.__name__: m.history.count() for m in record_models}
    before = dict(Service.objects.values_list("id", "updated_at"))
    texts = dict(Service.objects.values_list("id", "search_text"))

    report = load_catalogue(settings.DATA_DIR / "catalogue")

    assert report.changed() == 0, report.summary()
    assert {m.__name__: m.history.count() for m in record_models} == history_rows
    assert dict(Service.objects.values_list("id", "updated_at")) == before
    assert dict(Service.objects.values_list("id", "search_text")) == texts
    assert refresh_search_text() == 0, "an up-to-date search text is not written again"


def test_every_loaded_service_has_its_search_text():
    assert not Service.objects.filter(search_text="").exists()


def test_a_jobcenter_is_not_for_people_with_a_duldung_and_an_auslaenderbehoerde_is():
    eligible = Service.objects.published().eligible("duldung")
    assert not eligible.filter(service_type__code="jobcenter").exists()
    assert eligible.filter(service_type__code="auslaenderbehoerde").exists()


# --- Real offices: responsibility as NRW law assigns it, contact facts with their pages, coverage --------------

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


def test_it_puts_offices_at_one_door_in_one_place():
    kleve = m.Service.objects.filter(service_type__code__in=["welcome-center", "ki", "einbuergerungsbehoerde"])
    places = m.Location.objects.filter(
        service_at_locations__service__in=kleve, addresses__address_1__startswith="Nassauerallee 22"
    ).distinct()
    assert places.count() == 1
    types = set(places.get().service_at_locations.values_list("service__service_type__code", flat=True))
    assert {"welcome-center", "ki", "einbuergerungsbehoerde"} <= types


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


# --- The whole catalogue through the export and back (make test-deep) ------------------------------------------


@pytest.mark.skipif(not DEEP, reason="make test-deep: make test runs the round trip on a small catalogue of its own")
def test_the_whole_shipped_catalogue_comes_back_from_its_export_byte_for_byte(tmp_path):
    assert export_to(tmp_path / "a").files
    truncate_catalogue()
    report = run_import(ImportFile.from_path(tmp_path / "a"))
    assert report.ok, report.text(rows=False)
    assert report.applied and all(r.outcome == Outcome.CREATED for r in report.rows)
    export_to(tmp_path / "b")
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "b").iterdir())
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
