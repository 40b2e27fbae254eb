"""The NRW geography: areas with their codes, postcodes with their Gemeinden, and point look-ups."""

import csv

import pytest
from django.conf import settings
from django.contrib.gis.geos import Point

from directory.models import Gemeinde, Kreis, Postcode, Regierungsbezirk

pytestmark = pytest.mark.django_db


def postcodes_in_data() -> set[str]:
    with (settings.DATA_DIR / "geography" / "postcodes.csv").open(encoding="utf-8") as handle:
        return {row["plz"] for row in csv.DictReader(handle)}


def test_it_has_every_area_of_nrw():
    assert Regierungsbezirk.objects.count() == 5
    assert Kreis.objects.count() == 53
    assert Gemeinde.objects.count() == 396
    assert Kreis.objects.filter(bez__icontains="kreisfrei").count() == 22


def test_it_has_every_nrw_postcode_from_the_packages():
    codes = postcodes_in_data()
    assert len(codes) > 850
    assert set(Postcode.objects.values_list("code", flat=True)) == codes
    # Every postcode reaches at least one Gemeinde.
    assert not Postcode.objects.filter(gemeinden__isnull=True).exists()


@pytest.mark.parametrize(
    ("plz", "gemeinde", "kreis"),
    [
        ("45127", "05113000", "05113"),
        ("33098", "05774032", "05774"),
        ("47533", "05154036", "05154"),
        ("44787", "05911000", "05911"),
    ],
)
def test_it_maps_a_postcode_to_its_gemeinde_and_kreis(plz, gemeinde, kreis):
    first = Postcode.objects.get(code=plz).memberships.order_by("rank").first()
    assert first.gemeinde_id == gemeinde
    assert first.gemeinde.kreis_id == kreis


def test_it_names_every_gemeinde_of_a_postcode_that_spans_several():
    spanning = [p for p in Postcode.objects.prefetch_related("gemeinden") if p.gemeinden.count() > 1]
    assert spanning, "some NRW postcodes span several Gemeinden"
    for postcode in spanning:
        names = {g.name for g in postcode.gemeinden.all()}
        assert len(names) == postcode.gemeinden.count()


def test_it_finds_the_gemeinde_and_kreis_containing_a_point():
    kleve_centre = Point(6.1386, 51.7890, srid=4326)
    gemeinde = Gemeinde.objects.containing(kleve_centre).get()
    assert (gemeinde.ags, gemeinde.name, gemeinde.kreis_id) == ("05154036", "Kleve", "05154")
    assert str(gemeinde.kreis) == "Kreis Kleve"
    assert not Gemeinde.objects.containing(Point(13.4, 52.52, srid=4326)).exists()  # Berlin


def test_it_finds_a_gemeinde_by_name_in_any_spelling():
    for spelling in ("Münster", "münster", "MÜNSTER", "Muenster", "  muenster "):
        assert list(Gemeinde.objects.named(spelling).values_list("ags", flat=True)) == ["05515000"]


def test_every_kreis_has_its_seat_inside_it():
    for kreis in Kreis.objects.select_related("seat"):
        assert kreis.seat is not None, kreis
        assert kreis.seat.kreis_id == kreis.ags
