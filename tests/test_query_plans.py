"""The core pages' queries use their indexes, and each page's number of queries is fixed.

On a small generated catalogue (a few hundred services, ANALYZEd), every query a page runs is EXPLAINed and
must show no sequential scan of services, places or service areas. At this size the planner rightly prefers
sequential scans, so the plans are taken with ``enable_seqscan = off`` — not to hide a scan (a query with no
usable index still shows its Seq Scan, only at a huge cost) but to prove that an index can answer it.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from directory.models import Service
from directory.models.catalogue import search_forms_of_terms
from tests.bulk_catalogue import build

CORE_TABLES = {"directory_service", "directory_location", "directory_servicearea"}

# The queries each page runs, whatever the number of results (sessions, translations and the like included).
PAGES = {
    "text search": ("/de/search/?q=Integrazion", 14),
    "text and place": ("/de/search/?q=Beratung&plz=45127", 17),
    "filters and place": ("/de/search/?need=work&plz=45127", 16),
    "responsible by Gemeinde": ("/de/responsible/?ags=05113000", 12),
    "service page": ("/de/services/{service}/", 17),
    "API services page": ("/api/hsds/services?per_page=50", 2),
    "GeoJSON bbox": ("/api/geo/services.geojson?bbox=6.9,51.4,7.1,51.5", 1),
}


def sequential_scans(plan: dict[str, Any]) -> set[str]:
    found = {plan["Relation Name"]} if plan.get("Node Type") == "Seq Scan" else set()
    for child in plan.get("Plans", []):
        found |= sequential_scans(child)
    return found & CORE_TABLES


@pytest.fixture
def catalogue(db):
    build(300)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    search_forms_of_terms()  # kept per catalogue version: read once after a change, not on every search
    return Service.objects.filter(name__de__startswith="Synthetisch").order_by("id").first()


def page_queries(client, url: str) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return [query["sql"] for query in captured.captured_queries]


@pytest.mark.parametrize("page", PAGES)
def test_it_runs_a_fixed_number_of_queries_and_scans_no_core_table(client, catalogue, page):
    """The page's number of queries is fixed, and every one of them, EXPLAINed, scans no core table."""
    url, count = PAGES[page]
    queries = page_queries(client, url.format(service=catalogue.pk))
    assert len(queries) == count, page
    scanned = {}
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        for sql in queries:
            if sql.lstrip().upper().startswith("SELECT"):
                cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}")
                tables = sequential_scans(cursor.fetchone()[0][0]["Plan"])
                if tables:
                    scanned[sql[:200]] = tables
    assert not scanned, page
