"""Place resolution: a postcode, an AGS, a shared location or a typed town name becomes Gemeinde(n)."""

import pytest
from django.contrib.gis.geos import Point
from django.db.models import F

from directory.models import Gemeinde, Place
from directory.places import PlaceError, representative_point, resolve_place, transliterations, with_point

pytestmark = pytest.mark.django_db

ESSEN, MUENSTER, KOELN, DUESSELDORF, HILDEN, KLEVE = (
    "05113000",
    "05515000",
    "05315000",
    "05111000",
    "05158016",
    "05154036",
)


def test_it_resolves_a_postcode_to_its_gemeinde_with_the_postcode_centroid(django_assert_max_num_queries):
    with django_assert_max_num_queries(1):
        place = resolve_place(plz=" 45127 ")
        assert place.kreis is not None and place.kreis.ags == "05113"  # selected with the Gemeinde
    assert place.error is None and not place.choices
    assert place.gemeinde is not None and place.gemeinde.ags == ESSEN
    assert place.ags == ESSEN
    assert place.label == "45127 Essen"
    assert place.point is not None and place.point.distance(Point(7.01, 51.46)) < 0.05


def test_it_offers_every_gemeinde_of_a_postcode_that_spans_two(django_assert_max_num_queries):
    with django_assert_max_num_queries(1):
        place = resolve_place(plz="40721")
    assert place.gemeinde is None and place.ags is None and place.error is None
    assert [g.ags for g in place.choices] == [HILDEN, DUESSELDORF]  # PostcodeGemeinde rank order
    assert place.point is not None, "the postcode centroid can still order results"

    chosen = resolve_place(plz="40721", choose=DUESSELDORF)
    assert chosen.gemeinde is not None and chosen.gemeinde.ags == DUESSELDORF
    assert chosen.label == "40721 Düsseldorf" and not chosen.choices

    # A choice that is not on offer is no choice.
    assert resolve_place(plz="40721", choose=ESSEN).gemeinde is None


@pytest.mark.parametrize(
    ("plz", "error"),
    [
        ("12345", PlaceError.UNKNOWN_POSTCODE),
        ("10115", PlaceError.UNKNOWN_POSTCODE),  # Berlin: not an NRW postcode
        ("abc", PlaceError.MALFORMED),
        ("4512", PlaceError.MALFORMED),
        ("451270", PlaceError.MALFORMED),
    ],
)
def test_it_explains_a_postcode_it_cannot_resolve(plz, error):
    place = resolve_place(plz=plz)
    assert place.error == error
    assert place.gemeinde is None and place.point is None and place.ags is None


def test_it_drops_control_and_bidi_characters_before_reading_a_postcode():
    place = resolve_place(plz="4512\u202e7\x00")
    assert place.gemeinde is not None and place.gemeinde.ags == ESSEN


def test_it_resolves_an_ags_of_a_gemeinde_or_of_a_kreis(django_assert_max_num_queries):
    with django_assert_max_num_queries(1):
        gemeinde = resolve_place(ags=ESSEN)
    assert gemeinde.gemeinde is not None and gemeinde.gemeinde.ags == ESSEN and gemeinde.label == "Essen"

    with django_assert_max_num_queries(1):
        kreis = resolve_place(ags="05154")
    assert kreis.error is None and kreis.gemeinde is None
    assert kreis.kreis is not None and kreis.kreis.ags == "05154" and kreis.ags == "05154"
    assert kreis.label == "Kreis Kleve"
    # The point is the Kreisstadt's: Kleve.
    assert kreis.point is not None and kreis.point.equals_exact(representative_point(Gemeinde.objects.get(pk=KLEVE)))


@pytest.mark.parametrize(
    ("ags", "error"),
    [
        ("05999999", PlaceError.NOT_FOUND),
        ("05999", PlaceError.NOT_FOUND),
        ("0515", PlaceError.MALFORMED),
        ("x", PlaceError.MALFORMED),
    ],
)
def test_it_explains_an_ags_it_cannot_resolve(ags, error):
    assert resolve_place(ags=ags).error == error


def test_it_finds_the_gemeinde_of_a_shared_location(django_assert_max_num_queries):
    with django_assert_max_num_queries(1):
        place = resolve_place(lat="51,7890", lon="6.1389")  # comma decimals, as German keyboards type them
    assert place.gemeinde is not None and place.gemeinde.ags == KLEVE
    assert place.kreis is not None and place.kreis.ags == "05154"
    assert place.point == Point(6.1389, 51.789, srid=4326)
    assert place.label in {"your location", "Ihren Standort"}  # the label is translated (German by default)


@pytest.mark.parametrize(
    ("lat", "lon", "error"),
    [
        ("95", "7", PlaceError.OUT_OF_RANGE),
        ("51", "-181", PlaceError.OUT_OF_RANGE),
        ("52.52", "13.405", PlaceError.OUTSIDE_NRW),  # Berlin
        ("nan", "7", PlaceError.MALFORMED),
        ("inf", "7", PlaceError.MALFORMED),
        ("1e2", "7", PlaceError.MALFORMED),
        ("5_1", "7", PlaceError.MALFORMED),
        ("51.5", None, PlaceError.MALFORMED),
        ("", "7", PlaceError.MALFORMED),
        ("51.5" * 1000, "7", PlaceError.MALFORMED),
    ],
)
def test_it_explains_coordinates_it_cannot_use(lat, lon, error):
    place = resolve_place(lat=lat, lon=lon)
    assert place.error == error and place.gemeinde is None


@pytest.mark.parametrize("text", ["münster", "MUENSTER", "Muenster", "Münster", "  münster ", "Muenstr"])
def test_it_finds_a_town_however_its_umlauts_and_case_are_typed(text, django_assert_max_num_queries):
    with django_assert_max_num_queries(3):
        place = resolve_place(q=text)
    assert place.gemeinde is not None and place.gemeinde.ags == MUENSTER, place
    assert place.label == "Münster"


@pytest.mark.parametrize(
    ("text", "ags"),
    [
        ("Köln", KOELN),
        ("Koeln", KOELN),
        ("Kolen", KOELN),
        ("Dusseldorf", DUESSELDORF),
        ("Düseldorf", DUESSELDORF),
        ("Duisbrug", "05112000"),
        ("Mülheim an der Ruhr", "05117000"),
        ("Muelheim an der Ruhr", "05117000"),
        ("Pempelfort", DUESSELDORF),  # a named place inside a Gemeinde
        ("45127", ESSEN),
        ("45127 Essen", ESSEN),
    ],
)
def test_it_forgives_typos_and_finds_places_within_a_gemeinde(text, ags):
    place = resolve_place(q=text)
    assert place.error is None and place.gemeinde is not None, place
    assert place.gemeinde.ags == ags


def test_it_offers_a_choice_when_a_name_is_ambiguous():
    # GeoNames has two places named Mülheim: Mülheim an der Ruhr and Köln-Mülheim.
    place = resolve_place(q="Mülheim")
    assert place.gemeinde is None and place.error is None
    assert [g.ags for g in place.choices] == ["05117000", KOELN]  # the bigger place first
    chosen = resolve_place(q="Mülheim", choose=KOELN)
    assert chosen.gemeinde is not None and chosen.gemeinde.ags == KOELN
    assert chosen.label == "Mülheim (Köln)"
    # The point is the place Mülheim, not the middle of Köln.
    assert chosen.point == Place.objects.get(name="Mülheim", gemeinde_id=KOELN).point


@pytest.mark.parametrize(
    "text",
    [
        "x" * 10_000,
        "<script>alert(1)</script>",
        "<script>",
        "\u202eevil",
        "\u2066\u2069",
        "\x00\x01",
        "Berlin",
        "42",
        "'; DROP TABLE x; --",
    ],
)
def test_it_answers_hostile_or_unknown_text_without_raising(text, django_assert_max_num_queries):
    with django_assert_max_num_queries(3):
        place = resolve_place(q=text)
    assert place.error in {PlaceError.MALFORMED, PlaceError.NOT_FOUND}
    assert place.gemeinde is None and not place.choices


@pytest.mark.parametrize(
    ("text", "kreis"), [("Kreis Kleve", "05154"), ("Rhein-Sieg-Kreis", "05382"), ("Städteregion Aachen", "05334")]
)
def test_it_finds_a_kreis_by_its_name(text, kreis, django_assert_max_num_queries):
    with django_assert_max_num_queries(3):
        place = resolve_place(q=text)
    assert place.gemeinde is None and place.kreis is not None
    assert place.kreis.ags == place.ags == kreis and place.label == text


def test_a_kreisfreie_stadt_by_its_name_is_the_city():
    place = resolve_place(q="Stadt Essen")
    assert place.gemeinde is not None and place.gemeinde.ags == ESSEN and place.ags == ESSEN


def test_nothing_asked_is_nothing_resolved():
    place = resolve_place()
    assert place.error is None and place.gemeinde is None and not place.is_resolved and not place.is_ambiguous


def test_a_gemeindes_point_is_the_one_the_loader_places_it_at():
    # Gemeinden with a place of their name, with places of other names only, and with no place at all.
    with_own_name = Gemeinde.objects.filter(places__name_folded=F("name_folded")).first()
    only_other_places = Gemeinde.objects.exclude(places__name_folded=F("name_folded")).filter(places__isnull=False)
    without_places = Gemeinde.objects.filter(places__isnull=True)
    for gemeinde in [with_own_name, only_other_places.first(), without_places.first()]:
        assert gemeinde is not None
        annotated = with_point(Gemeinde.objects.filter(pk=gemeinde.pk)).get()
        expected = representative_point(gemeinde)
        assert resolve_place(ags=gemeinde.ags).point == expected
        assert annotated.representative.distance(expected) < 1e-5


@pytest.mark.parametrize(
    ("text", "ags"),
    [
        ("Клеве", KLEVE),  # Cyrillic (uk and ru alike)
        ("Кельн", KOELN),  # Köln as Ukrainians write it: е for ö
        ("Кёльн", KOELN),  # and as Russians do
        ("Дюссельдорф", DUESSELDORF),
        ("Мюнстер", MUENSTER),
        ("Гаген", "05914000"),  # г read as h at the start (Hagen)
        ("كولن", KOELN),  # Arabic script: no short vowels
        ("دوسلدورف", DUESSELDORF),
        ("مونستر", MUENSTER),
        ("إسن", ESSEN),
        ("زولينغن", "05122000"),  # same consonants as Schlangen: the closer spelling wins
        ("Kleev", KLEVE),  # Latin typos that trigrams alone miss
        ("Düseldorf", DUESSELDORF),
    ],
)
def test_it_reads_town_names_typed_in_other_scripts_and_with_typos(text, ags, django_assert_max_num_queries):
    with django_assert_max_num_queries(3):
        place = resolve_place(q=text)
    assert place.error is None and place.gemeinde is not None, (text, place)
    assert place.gemeinde.ags == ags


@pytest.mark.parametrize("text", ["Мюльгайм", "Мюльхайм", "مولهايم"])
def test_an_ambiguous_name_in_another_script_asks(text):
    place = resolve_place(q=text)
    assert place.gemeinde is None and place.error is None
    assert [g.ags for g in place.choices] == ["05117000", KOELN]


def test_transliterations_read_each_script():
    assert transliterations("Kleve") == ["Kleve"]
    assert transliterations("Клеве") == ["kleve"]
    assert transliterations("Гаген") == ["gagen", "hagen", "hahen"]
    assert transliterations("كولن") == ["kuln"]
    assert transliterations("کلوه") == ["klu"], "a final ه is a vowel in Persian"
