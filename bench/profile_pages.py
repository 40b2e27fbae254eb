#!/usr/bin/env python3
"""One request alone, on a page-cache miss: the time of each public page over many random inputs.

Usage (the database is only read — the connection is read-only, unmet searches are not counted; the shared cache gets a new catalogue version, so no page is served from it):

    DATABASE_URL=postgis://postgres@127.0.0.1:5432/wegweiser_bench REDIS_URL=redis://127.0.0.1:6379/2 \\
        .venv/bin/python bench/profile_pages.py [--inputs 100] [--seed 7] [--only responsible,search_text_place]
        [--profile responsible] [--dump DIR [--at 2026-03-04T10:30:00+01:00]]

Each URL is requested once through Django's test client, after a few unmeasured requests per scenario (imports,
compiled templates, the first connection). Prints per scenario the median and p95 wall time, the median SQL
time (the sum of the request's queries as the client measured them), the median CPU time of this process (the
page's Python, steadier than wall time on a busy machine: waiting for PostgreSQL or for a core is not in it) and
the median number of queries.
``--profile NAME`` runs that scenario's requests under cProfile and prints the functions that took the most
time; ``--dump DIR`` writes every answer's body to DIR (to compare the pages before and after a change), with
the clock stopped at ``--at`` (opening states and the slip's days otherwise differ between two runs).
Standard library and Django only.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import json
import os
import pstats
import random
import statistics
import sys
import time
import urllib.parse
from datetime import datetime
from pathlib import Path
from typing import Any
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# One client sends every request: the per-client limits would answer most of them with 429.
os.environ.setdefault("WEGWEISER_SEARCH_RATE_LIMIT_PER_MINUTE", "0")
os.environ.setdefault("WEGWEISER_SLIP_PDF_RATE_LIMIT_PER_MINUTE", "0")
# No page is kept in the shared cache: every request, a repeated URL too, is a miss.
os.environ.setdefault("WEGWEISER_PUBLIC_CACHE_SECONDS", "0")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.backends.signals import connection_created  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

import public.views  # noqa: E402
from directory.cache import catalogue_changed  # noqa: E402

LANGUAGES = [code for code, _name in settings.LANGUAGES]
WARMUP = 3
# Words that match no service in any language: a search for them must cost about what one that matches costs.
NONSENSE = ["Xylofrunk", "Quatschwort", "Blorptz", "Zzyzx", "Fnordel", "Kwijiboo", "Trümpelquast", "Wobbleflax"]


def read_only(sender: Any, connection: Any, **kwargs: Any) -> None:
    """The measured database is only read: a write fails (and shows as a 500) instead of changing it."""
    with connection.cursor() as cursor:
        cursor.execute("SET default_transaction_read_only = on")


def rows(sql: str) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return list(cursor.fetchall())


def scenario_urls(seed: int, n: int) -> dict[str, list[str]]:
    """Random inputs per scenario from the database: postcodes of NRW and of the rest of Germany, need words
    in all seven languages, towns, services."""
    rng = random.Random(seed)
    q = urllib.parse.quote
    nrw = [r[0] for r in rows("SELECT code FROM directory_postcode WHERE centroid IS NOT NULL ORDER BY code")]
    towns = [r[0] for r in rows("SELECT name FROM directory_gemeinde WHERE ags LIKE '05%' ORDER BY ags")]
    needs = [
        (r[0], r[1])
        for r in rows(
            "SELECT t.code, t.name FROM directory_taxonomyterm t JOIN directory_taxonomy x ON x.id = t.taxonomy_id "
            "WHERE x.key = 'need' ORDER BY t.code"
        )
    ]
    services = [
        r[0] for r in rows(f"SELECT id FROM directory_service ORDER BY md5(id::text || '{seed}') LIMIT {n * 4}")
    ]

    def need_word() -> tuple[str, str]:
        """A need's first word in a random language, and that language."""
        _code, names = rng.choice(needs)
        names = json.loads(names) if isinstance(names, str) else names
        language = rng.choice([code for code in LANGUAGES if names.get(code)] or ["de"])
        return names.get(language, names.get("de", "Beratung")).split()[0].strip("(),"), language

    def postcode() -> str:
        # Mostly NRW; a few from elsewhere in Germany (answered "outside NRW") or unknown.
        roll = rng.random()
        if roll < 0.9:
            return rng.choice(nrw)
        return f"{rng.randint(1000, 99999):05d}"

    def text_place() -> str:
        word, language = need_word()
        return f"/{language}/search/?q={q(word)}&plz={postcode()}"

    return {
        "responsible": [f"/{rng.choice(LANGUAGES)}/responsible/?plz={postcode()}" for _ in range(n)],
        "search_text_place": [text_place() for _ in range(n)],
        "search_filters": [
            f"/{rng.choice(LANGUAGES)}/search/?need={rng.choice(needs)[0]}&language={rng.choice(LANGUAGES[1:])}"
            f"&q={q(rng.choice(towns))}"
            for _ in range(n)
        ],
        "search_nothing_place": [
            f"/{rng.choice(LANGUAGES)}/search/?q={q(rng.choice(NONSENSE))}&plz={rng.choice(nrw)}" for _ in range(n)
        ],
        "service": [f"/{rng.choice(LANGUAGES)}/services/{s}/" for s in services[:n]],
        "referral_html": [
            f"/{rng.choice(LANGUAGES)}/referral/?s={','.join(str(s) for s in rng.sample(services, 3))}"
            for _ in range(n)
        ],
    }


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def measure(client: Client, urls: list[str], dump: Path | None) -> dict[str, Any]:
    walls: list[float] = []
    cpu_ms: list[float] = []
    sql_ms: list[float] = []
    counts: list[int] = []
    statuses: dict[int, int] = {}
    for url in urls[:WARMUP]:
        client.get(url)
    catalogue_changed()  # what the warm-up kept in the shared cache (a slip) is stale: its URLs are misses too
    for url in urls:
        began, began_cpu = time.perf_counter(), time.process_time()
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        walls.append((time.perf_counter() - began) * 1000)
        cpu_ms.append((time.process_time() - began_cpu) * 1000)
        counts.append(len(captured.captured_queries))
        sql_ms.append(sum(float(query["time"]) for query in captured.captured_queries) * 1000)
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        if dump is not None:
            name = hashlib.sha256(url.encode()).hexdigest()[:16]
            (dump / f"{name}.html").write_bytes(url.encode() + b"\n" + response.content)
    return {
        "inputs": len(walls),
        "median_ms": round(statistics.median(walls), 1),
        "p95_ms": round(percentile(walls, 0.95), 1),
        "max_ms": round(max(walls), 1),
        "sql_median_ms": round(statistics.median(sql_ms), 1),
        "cpu_median_ms": round(statistics.median(cpu_ms), 1),
        "queries_median": int(statistics.median(counts)),
        "statuses": statuses,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=int, default=100)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--only", default="", help="comma-separated scenario names")
    parser.add_argument("--profile", default="", help="run this scenario under cProfile")
    parser.add_argument("--dump", type=Path, help="write each answer to this folder")
    parser.add_argument(
        "--at",
        type=datetime.fromisoformat,
        default=datetime.fromisoformat("2026-03-04T10:30:00+01:00"),
        help="with --dump: the time every page is rendered at (ISO 8601 with offset; default a Wednesday morning)",
    )
    args = parser.parse_args()
    if args.dump is not None:
        # Two dumps compare byte for byte only when "open now" and the slip's days are computed for one moment.
        mock.patch("django.utils.timezone.now", return_value=args.at).start()

    connection_created.connect(read_only)
    # A search that finds nothing is counted for the editors (a write): not for these made-up requests.
    public.views.count_unmet_search = lambda **kwargs: None
    catalogue_changed()  # every page kept in the shared cache is now stale: each request below is a miss
    scenarios = scenario_urls(args.seed, args.inputs)
    only = [name for name in args.only.split(",") if name]
    client = Client(HTTP_HOST="127.0.0.1")
    if args.dump is not None:
        args.dump.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {}
    for name, urls in scenarios.items():
        if only and name not in only:
            continue
        if args.profile == name:
            profile = cProfile.Profile()
            profile.enable()
            results[name] = measure(client, urls, args.dump)
            profile.disable()
            pstats.Stats(profile, stream=sys.stderr).sort_stats("cumulative").print_stats(60)
            pstats.Stats(profile, stream=sys.stderr).sort_stats("tottime").print_stats(40)
        else:
            results[name] = measure(client, urls, args.dump)
        print(f"{name}: {json.dumps(results[name])}", flush=True)


if __name__ == "__main__":
    main()
