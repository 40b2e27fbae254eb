#!/usr/bin/env python3
"""The median EXPLAIN ANALYZE execution time of each scenario's main SQL over up to 100 random inputs.

Each input URL is requested once through Django's test client with CaptureQueriesContext; every captured
SELECT is explained with EXPLAIN (ANALYZE, FORMAT JSON), and the slowest of them is the request's main SQL.
Prints one JSON line: scenario → {median_ms, inputs, queries_median}.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

INPUTS = int(os.environ.get("BENCH_SQL_INPUTS", "100"))


def main(path: str) -> None:
    scenarios: dict[str, list[str]] = json.loads(Path(path).read_text(encoding="utf-8"))
    client = Client(HTTP_HOST="127.0.0.1")
    result: dict[str, dict[str, float | int]] = {}
    for name, urls in scenarios.items():
        if name == "referral_pdf":
            urls = [u.replace("&format=pdf", "") for u in urls]  # the same SQL; the PDF adds rendering only
        times: list[float] = []
        counts: list[int] = []
        for url in (urls * INPUTS)[:INPUTS]:
            with CaptureQueriesContext(connection) as captured:
                client.get(url)
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
                    slowest = max(slowest, float(plan[0]["Execution Time"]))
            times.append(slowest)
        result[name] = {
            "median_ms": round(statistics.median(times), 2),
            "inputs": len(times),
            "queries_median": int(statistics.median(counts)),
        }
        print(f"{name}: {result[name]}", file=sys.stderr, flush=True)
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1])
