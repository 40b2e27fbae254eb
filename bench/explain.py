#!/usr/bin/env python3
"""The median EXPLAIN ANALYZE execution time of each scenario's main SQL over up to 100 random inputs.

Each input URL is requested once through Django's test client with CaptureQueriesContext; every captured
SELECT is explained with EXPLAIN (ANALYZE, FORMAT JSON), and the slowest of them is the request's main SQL.
Every request is a page-cache miss (the pages the load run kept are made stale first, and none is kept): the
SQL a page costs, not the lookup of a kept answer.
Each answer's body is also gzipped (level 6, as a web server or CDN would send it): the page weight, median and
largest, against the target of 14 KB a page (a page that fits the first round trips of a slow mobile link).
Prints one JSON line: scenario → {median_ms, inputs, queries_median, gzip_kb_median, gzip_kb_max}.
"""

from __future__ import annotations

import gzip
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from directory.cache import catalogue_changed  # noqa: E402

INPUTS = int(os.environ.get("BENCH_SQL_INPUTS", "100"))
# A scenario whose requests take seconds would take hours for 100 inputs: it stops after this many seconds.
BUDGET_S = float(os.environ.get("BENCH_SQL_SECONDS", "90"))


def main(path: str) -> None:
    scenarios: dict[str, list[str]] = json.loads(Path(path).read_text(encoding="utf-8"))
    client = Client(HTTP_HOST="127.0.0.1")
    catalogue_changed()  # what the load run kept is stale now
    settings.PUBLIC_CACHE_SECONDS = 0  # and no page is kept: each request runs its SQL
    result: dict[str, dict[str, float | int | str]] = {}
    for name, urls in scenarios.items():
        if name == "referral_pdf":
            urls = [u.replace("&format=pdf", "") for u in urls]  # the same SQL; the PDF adds rendering only
        times: list[float] = []
        counts: list[int] = []
        walls: list[float] = []
        weights: list[int] = []
        slowest_sql: tuple[float, str] = (0.0, "")
        started = time.monotonic()
        for url in (urls * INPUTS)[:INPUTS]:
            if times and time.monotonic() - started > BUDGET_S:
                break
            # The log keeps 9,000 queries; once full, CaptureQueriesContext's slice of it would come out empty.
            connection.queries_log.clear()
            began = time.monotonic()
            with CaptureQueriesContext(connection) as captured:
                response = client.get(url)
            walls.append((time.monotonic() - began) * 1000)
            body = b"".join(getattr(response, "streaming_content", ())) if response.streaming else response.content
            weights.append(len(gzip.compress(body, 6)))
            counts.append(len(captured.captured_queries))
            slowest = 0.0
            with connection.cursor() as cursor:
                for query in captured.captured_queries:
                    text = query["sql"]
                    if not text.lstrip().upper().startswith("SELECT"):
                        continue
                    cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + text)
                    plan = cursor.fetchone()[0]
                    plan = json.loads(plan) if isinstance(plan, str) else plan
                    ms = float(plan[0]["Execution Time"])
                    slowest = max(slowest, ms)
                    if ms > slowest_sql[0]:
                        slowest_sql = (ms, text[:400])
            times.append(slowest)
        result[name] = {
            "median_ms": round(statistics.median(times), 2),
            "inputs": len(times),
            "request_median_ms": round(statistics.median(walls), 1),
            "queries_median": int(statistics.median(counts)),
            "gzip_kb_median": round(statistics.median(weights) / 1024, 1),
            "gzip_kb_max": round(max(weights) / 1024, 1),
            "slowest_ms": round(slowest_sql[0], 2),
            "slowest_sql_start": slowest_sql[1],
        }
        print(f"{name}: {result[name]}", file=sys.stderr, flush=True)
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1])
