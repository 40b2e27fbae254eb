"""The catalogue that ships in data/: seed-named records, the four offices per Kreis, responsibility."""

import pytest
from django.contrib.gis.geos import Point
from django.db.models import Q

from directory.models import (
    Kreis,
    Location,
    Organization,
    PointAccuracy,
    Program,
    Service,
    Source,
    Taxonomy,
    TaxonomyTerm,
)
from directory.translation import LANGUAGE_CODES
from exchange.loaders import load_catalogue

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


def test_loading_twice_changes_nothing(settings):
    history_rows = Service.history.count()
    report = load_catalogue(settings.DATA_DIR / "catalogue")
    assert report.changed() == 0, report.summary()
    assert Service.history.count() == history_rows
