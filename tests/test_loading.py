"""Loading data files: a bad row stops the load with file, row and field named; nothing half-written."""

import shutil
import textwrap
from pathlib import Path

import pytest
from django.conf import settings

from directory.models import Gemeinde, Organization, Postcode, Service, TaxonomyTerm
from exchange.loaders import LoadError, load_catalogue, load_geography

pytestmark = pytest.mark.django_db

GOOD = """
sources:
  test-doc:
    title: A test document
    document: tests/tiny.txt
organizations:
  - id: test-verein
    name: {de: Testverein Kleve e. V.}
    kind: association
    source: test-doc
locations:
  - id: test-ort
    organization: test-verein
    name: {de: Vereinsheim}
    gemeinde: "05154036"
    source: test-doc
services:
  - id: test-beratung
    organization: test-verein
    name: {de: Testberatung, en: Test counselling}
    service_type: mbe
    needs: [counselling]
    minimum_age: 27
    service_areas: ["05154036"]
    locations: [test-ort]
    source: test-doc
"""


@pytest.fixture
def catalogue_dir(tmp_path: Path) -> Path:
    """A catalogue folder with the shipped taxonomies and one tiny file of our own."""
    shutil.copy(settings.DATA_DIR / "catalogue" / "taxonomies.yaml", tmp_path / "taxonomies.yaml")
    (tmp_path / "test.yaml").write_text(GOOD, encoding="utf-8")
    return tmp_path


def write(directory: Path, text: str) -> None:
    (directory / "test.yaml").write_text(textwrap.dedent(text), encoding="utf-8")


def counts() -> tuple[int, int, int]:
    return Organization.objects.count(), Service.objects.count(), Service.history.count()


def test_it_loads_a_tiny_file_end_to_end(catalogue_dir):
    load_catalogue(catalogue_dir)
    service = Service.objects.get(name__de="Testberatung")
    assert service.organization.name == {"de": "Testverein Kleve e. V."}
    assert service.source.document == "tests/tiny.txt"
    location = service.service_at_locations.get().location
    assert location.gemeinde_id == "05154036" and location.is_approximate
    assert list(Service.objects.responsible_for("05154036")).count(service) == 1
    assert service not in Service.objects.responsible_for("05154")  # the Gemeinde only, not the whole Kreis


@pytest.mark.parametrize(
    ("replace", "by", "field", "message"),
    [
        ('service_areas: ["05154036"]', 'service_areas: ["05999999"]', "service_areas", "not an NRW area"),
        ('service_areas: ["05154036"]', 'service_areas: ["5154"]', "service_areas", "not a well-formed AGS"),
        ('gemeinde: "05154036"', "point: [52.52, 13.40]", "point", "outside NRW"),
        (
            "services:\n  - id: test-beratung",
            "services:\n  - id: test-beratung\n    organization: test-verein\n    name: {de: Doppelt}\n"
            "    source: test-doc\n  - id: test-beratung",
            "id",
            "duplicate id",
        ),
        ("needs: [counselling]", "needs: [flying]", "needs", "unknown need code"),
        ("minimum_age: 27", "minimum_age: old", "minimum_age", "not an age"),
        (
            "organization: test-verein\n    name: {de: Testberatung",
            "organization: nobody\n    name: {de: Testberatung",
            "organization",
            "unknown id",
        ),
        (
            "    source: test-doc\nservices:",
            "    colour: blue\n    source: test-doc\nservices:",
            "colour",
            "unknown field",
        ),
    ],
)
def test_a_bad_row_stops_the_load_naming_file_row_and_field(catalogue_dir, replace, by, field, message):
    assert replace in GOOD
    write(catalogue_dir, GOOD.replace(replace, by))
    before = counts()
    with pytest.raises(LoadError) as error:
        load_catalogue(catalogue_dir)
    assert error.value.file.endswith("test.yaml")
    assert error.value.row is not None and error.value.row > 1
    assert error.value.field == field
    assert message in str(error.value)
    assert counts() == before, "the database stays as it was"


def test_a_malformed_file_is_reported_with_its_line(catalogue_dir):
    write(catalogue_dir, GOOD + "  - id: [unclosed\n")
    before = counts()
    with pytest.raises(LoadError, match=r"test.yaml, row \d+: not valid YAML"):
        load_catalogue(catalogue_dir)
    assert counts() == before


def test_a_late_error_rolls_back_everything_written_before_it(catalogue_dir):
    write(catalogue_dir, GOOD.replace("minimum_age: 27", "minimum_age: 27\n    maximum_age: 12"))
    before = counts()
    with pytest.raises(LoadError, match="maximum_age"):
        load_catalogue(catalogue_dir)
    assert counts() == before
    assert not Organization.objects.filter(name__de="Testverein Kleve e. V.").exists()


def test_reloading_keeps_an_editors_change(catalogue_dir):
    load_catalogue(catalogue_dir)
    service = Service.objects.get(name__de="Testberatung")
    service.description = {"de": "Von der Redaktion ergänzt."}
    service._change_reason = "edited in the admin"
    service.save()
    write(catalogue_dir, GOOD.replace("Test counselling", "Test advice"))
    report = load_catalogue(catalogue_dir)
    service.refresh_from_db()
    assert service.description == {"de": "Von der Redaktion ergänzt."}
    assert service.name["en"] == "Test counselling"
    assert report.counts["Service kept (edited since the last load)"] == 1


def test_reloading_applies_a_changed_file(catalogue_dir):
    load_catalogue(catalogue_dir)
    write(catalogue_dir, GOOD.replace("Test counselling", "Test advice"))
    report = load_catalogue(catalogue_dir)
    assert Service.objects.get(name__de="Testberatung").name["en"] == "Test advice"
    assert report.counts["Service updated"] == 1


def test_a_geography_file_with_a_wrong_ags_is_rejected_whole(tmp_path):
    source = settings.DATA_DIR / "geography"
    for name in ("regierungsbezirke.geojson", "kreise.geojson", "postcodes.csv", "places.csv"):
        shutil.copy(source / name, tmp_path / name)
    text = (source / "gemeinden.geojson").read_text(encoding="utf-8")
    (tmp_path / "gemeinden.geojson").write_text(text.replace('"ags":"05154036"', '"ags":"5154036"'), encoding="utf-8")
    names_before = dict(Gemeinde.objects.values_list("ags", "name"))
    with pytest.raises(LoadError) as error:
        load_geography(tmp_path)
    assert error.value.file.endswith("gemeinden.geojson")
    assert error.value.field == "ags" and "'5154036' is not a well-formed code" in str(error.value)
    assert dict(Gemeinde.objects.values_list("ags", "name")) == names_before


def test_a_postcode_row_naming_an_unknown_gemeinde_is_rejected(tmp_path):
    source = settings.DATA_DIR / "geography"
    for name in ("regierungsbezirke.geojson", "kreise.geojson", "gemeinden.geojson", "places.csv"):
        shutil.copy(source / name, tmp_path / name)
    lines = (source / "postcodes.csv").read_text(encoding="utf-8").splitlines()
    lines[5] = "99999,51.0,7.0,05999999,Nirgendwo"
    (tmp_path / "postcodes.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(LoadError, match=r"postcodes.csv, row 6, field 'gemeinden': unknown Gemeinde AGS '05999999'"):
        load_geography(tmp_path)
    assert not Postcode.objects.filter(code="99999").exists()


@pytest.mark.parametrize(
    ("by", "message"),
    [
        ("      search_words:\n        xx: [Wort]", "unknown language code 'xx'"),
        ("      search_words:\n        de: Wort", "de: expected a list of words"),
        ("      search_words:\n        de: [Wort, '']", "de: expected a list of words"),
        ("      search_words: [Wort]", "expected a mapping of language code"),
    ],
)
def test_a_terms_search_words_are_checked(catalogue_dir, by, message):
    taxonomies = catalogue_dir / "taxonomies.yaml"
    text = taxonomies.read_text(encoding="utf-8")
    first = text.index("      search_words:")
    end = text.index("\n    - code:", first)
    taxonomies.write_text(text[:first] + by + text[end:], encoding="utf-8")
    with pytest.raises(LoadError) as error:
        load_catalogue(catalogue_dir)
    assert error.value.field == "search_words" and message in str(error.value)
    assert error.value.file.endswith("taxonomies.yaml")


def test_a_terms_search_words_are_loaded(catalogue_dir):
    load_catalogue(catalogue_dir)
    term = TaxonomyTerm.objects.get(taxonomy__key="need", code="language")
    assert "Sprachkurs" in term.search_words["de"] and "курси німецької" in term.search_words["uk"]
