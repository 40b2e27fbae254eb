"""The synthetic benchmark catalogue: obviously fictional, spread over the loaded Gemeinden, the same for a seed."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.db.models import Count, F

from directory.models import Location, Phone, SearchWord, Service, ServiceArea
from exchange.synthetic import FICTIONAL_PHONE_PREFIXES, generate

pytestmark = pytest.mark.django_db


def synthetic() -> list[Service]:
    return list(Service.objects.filter(name__de__startswith="[Synthetisch]").order_by("id"))


def test_it_generates_obviously_synthetic_services_with_their_places():
    report = generate(40, seed=5)

    services = synthetic()
    assert report.services == len(services) == 40
    assert all(s.email.endswith("@example.org") and ".example.org/" in s.url for s in services)
    places = Service.objects.filter(pk__in=[s.pk for s in services]).annotate(n=Count("service_at_locations"))
    assert {s.n for s in places} <= {1, 2, 3}
    assert report.locations == sum(s.n for s in places)
    languages = Service.objects.filter(pk__in=[s.pk for s in services]).annotate(n=Count("languages"))
    assert max(s.n for s in languages) <= 4
    assert all(p.number.startswith(tuple(FICTIONAL_PHONE_PREFIXES)) for p in Phone.objects.filter(service__in=services))
    assert {len(a.ags) for a in ServiceArea.objects.filter(service__in=services)} <= {5, 8}


def test_it_places_every_location_inside_its_gemeinde():
    generate(20, seed=2)

    locations = Location.objects.filter(name__de__startswith="[Synthetisch]")
    assert locations.exists()
    assert not locations.exclude(gemeinde__geometry__covers=F("point")).exists()


def test_it_gives_the_same_catalogue_for_the_same_seed():
    def run(seed: int) -> list[tuple[str, str]]:
        with transaction.atomic():
            generate(15, seed=seed)
            result = [(str(s.id), s.name["de"]) for s in synthetic()]
            transaction.set_rollback(True)
        return result

    first = run(9)
    assert first == run(9)
    assert first != run(10)


def test_its_services_have_their_search_text_and_their_words_in_the_typo_dictionary():
    generate(10, seed=3)

    services = synthetic()
    assert all(s.name["de"] in s.search_names and s.search_text.startswith(s.search_names) for s in services)
    assert Service.objects.filter(pk__in=[s.pk for s in services]).matching("Synthetisch").count() == 10
    assert SearchWord.objects.filter(word="synthetisch").exists()
