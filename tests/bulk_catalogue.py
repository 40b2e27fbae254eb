"""A quick, obviously synthetic catalogue over the NRW Gemeinden, built in bulk: for the query-plan test
(a few hundred services) and for measuring the core queries by hand (tens of thousands).

Not the benchmark's generator (``generate_synthetic``): no schedules, translations or Germany; only what the
core queries read — names, descriptions, service types and needs, 1–3 places, 0–4 languages, service areas
at Gemeinde and Kreis level. Every name starts with "Synthetisch".

    DATABASE_URL=… .venv/bin/python -c "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE',
    'config.settings'); django.setup(); from tests.bulk_catalogue import build; print(build(20000))"
"""

from __future__ import annotations

import random

from django.contrib.gis.geos import Point
from django.db import connection, transaction

from directory.models import (
    Attribute,
    Language,
    Location,
    Organization,
    PointAccuracy,
    Service,
    ServiceArea,
    ServiceAtLocation,
    TaxonomyTerm,
)
from directory.services import refresh_search_text

WORDS = [
    "Beratung",
    "Integration",
    "Sprachkurs",
    "Deutschkurs",
    "Arbeit",
    "Ausbildung",
    "Anerkennung",
    "Wohnung",
    "Familie",
    "Jugend",
    "Frauen",
    "Gesundheit",
    "Schule",
    "Kita",
    "Studium",
    "Bewerbung",
    "Aufenthalt",
    "Einbürgerung",
    "Asyl",
    "Dolmetscher",
    "Nachbarschaft",
    "Sport",
    "Begegnung",
    "Ehrenamt",
    "Patenschaft",
    "Rechtsberatung",
    "Schuldnerberatung",
    "Migrationsdienst",
    "Treffpunkt",
    "Lernhilfe",
]
LANGUAGES = ["ar", "fa", "uk", "ru", "tr", "en", "fr", "ku", "ps", "ti"]


@transaction.atomic
def build(services: int, *, seed: int = 11) -> dict[str, int]:
    """Add ``services`` synthetic services (about twice as many places) and return the counts."""
    rng = random.Random(seed)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ags, kreis_id, ST_X(p), ST_Y(p) FROM (SELECT ags, kreis_id,"
            " ST_PointOnSurface(ST_MakeValid(geometry)) AS p FROM directory_gemeinde) g ORDER BY ags"
        )
        gemeinden = cursor.fetchall()
    types = list(TaxonomyTerm.objects.of("service-type"))
    needs = list(TaxonomyTerm.objects.of("need"))
    organizations = Organization.objects.bulk_create(
        Organization(name={"de": f"Synthetischer Träger {i}"}) for i in range(max(1, services // 5))
    )
    records, locations, links, areas, attributes, languages = [], [], [], [], [], []
    for i in range(services):
        ags, kreis, x, y = rng.choice(gemeinden)
        words = rng.sample(WORDS, 3)
        record = Service(
            organization=rng.choice(organizations),
            service_type=rng.choice(types),
            name={"de": f"Synthetisch {words[0]} {words[1]} {i}"},
            description={"de": f"Synthetisches Angebot: {' '.join(words)} in {ags}. " * 4},
        )
        records.append(record)
        for term in rng.sample(needs, rng.randint(1, 2)):
            attributes.append(Attribute(service=record, taxonomy_term=term))
        areas.append(ServiceArea(service=record, ags=ags if rng.random() < 0.7 else kreis, name=ags))
        for _ in range(rng.randint(1, 3)):
            place = Location(
                organization=record.organization,
                name={"de": f"Synthetischer Ort {i}"},
                point=Point(x + rng.uniform(-0.01, 0.01), y + rng.uniform(-0.01, 0.01), srid=4326),
                point_accuracy=PointAccuracy.EXACT,
                gemeinde_id=ags,
            )
            locations.append(place)
            links.append(ServiceAtLocation(service=record, location=place))
        for code in rng.sample(LANGUAGES, rng.randint(0, 4)):
            languages.append(Language(service=record, code=code))
    size = 2000
    Service.objects.bulk_create(records, batch_size=size)
    Location.objects.bulk_create(locations, batch_size=size)
    ServiceAtLocation.objects.bulk_create(links, batch_size=size)
    ServiceArea.objects.bulk_create(areas, batch_size=size)
    Attribute.objects.bulk_create(attributes, batch_size=size)
    Language.objects.bulk_create(languages, batch_size=size)
    refresh_search_text([record.id for record in records])
    return {"services": len(records), "locations": len(locations)}
