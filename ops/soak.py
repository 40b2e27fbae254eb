#!/usr/bin/env python3
"""``make soak``: mixed traffic for a long while against the site as ``make run`` serves it; errors and memory.

gunicorn as in ``make run`` (3 workers, ``--limit-request-line 8190``) on 127.0.0.1:``SOAK_PORT`` over
``DATABASE_URL``'s database (``make soak`` migrates and loads data/ first); wrk with 64 connections for
``SOAK_SECONDS`` (600) picks a random URL per request from a mix drawn from the database — start pages in all
seven languages, who is responsible, searches, services, organisations, referral slips (HTML, and PDF one in
fifty), the HSDS API, GeoJSON, the privacy page. After a warm-up (every URL once, at most 5 minutes: imports,
caches and WeasyPrint's fonts settle, the page cache fills) the workers' resident memory is taken, again every
10 s, and at the end.

Passes with 0 errors (socket errors, timeouts, any status >= 400) and the workers' total RSS grown by less than
10 % from the warm-up to the end; writes the figures into docs/operations.md. Standard library only.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# Run as a file (`make soak`): the repository's root on the path, for the serving module it shares with the
# benchmark and the fault drill (gunicorn as `make run` starts it, wrk).
sys.path.insert(0, str(ROOT))
from ops import serving  # noqa: E402

SECONDS = int(os.environ.get("SOAK_SECONDS", "600"))
PORT = int(os.environ.get("SOAK_PORT", "8070"))
CONNECTIONS = int(os.environ.get("SOAK_CONNECTIONS", "64"))
WORKERS = 3
MAX_GROWTH = 0.10
DOC = ROOT / "docs" / "operations.md"
BEGIN, END = "<!-- soak:begin -->", "<!-- soak:end -->"
DATABASE_URL = os.environ.get("DATABASE_URL", "postgis://postgres@127.0.0.1:5432/wegweiser")
ENV = {
    **os.environ,
    "DJANGO_DEBUG": "0",
    # One client sends all the traffic: the per-client limits (API, search, PDF slip) would answer most of it
    # with 429. The soak measures errors and memory, not the throttles (tests/test_throttles.py does).
    "WEGWEISER_HSDS_RATE_LIMIT_PER_MINUTE": "0",
    "WEGWEISER_SEARCH_RATE_LIMIT_PER_MINUTE": "0",
    "WEGWEISER_SLIP_PDF_RATE_LIMIT_PER_MINUTE": "0",
}


def log(message: str) -> None:
    print(f"soak: {message}", flush=True)


def sql(query: str) -> list[str]:
    libpq_url = "postgresql://" + DATABASE_URL.split("://", 1)[1]
    out = subprocess.run(
        ["psql", libpq_url, "-v", "ON_ERROR_STOP=1", "-Atqc", query], check=True, capture_output=True, text=True
    ).stdout
    return [line for line in out.splitlines() if line]


def url_mix(rng: random.Random) -> list[str]:
    languages = ["de", "en", "ar", "fa", "uk", "ru", "tr"]
    services = sql("SELECT id FROM directory_service WHERE status = 'active' ORDER BY id")
    organizations = sql("SELECT id FROM directory_organization ORDER BY id")
    postcodes = sql("SELECT code FROM directory_postcode ORDER BY code")
    needs = sql(
        "SELECT t.code FROM directory_taxonomyterm t JOIN directory_taxonomy x ON x.id = t.taxonomy_id "
        "WHERE x.key = 'need' ORDER BY t.code"
    )
    if not services or not postcodes:
        raise SystemExit("soak: the database has no services or postcodes (make load)")
    words = ["Beratung", "Sprachkurs", "Jobcenter", "Integration", "Anerkennung", "Arbeit", "Wohnung", "Beratunk"]
    urls: list[str] = []
    # A few hundred distinct URLs: visitors ask for the same pages again, which the page cache then answers.
    for _ in range(80):
        lang = rng.choice(languages)
        three = ",".join(rng.sample(services, min(3, len(services))))
        urls += [
            f"/{lang}/",
            f"/{lang}/responsible/?plz={rng.choice(postcodes)}",
            f"/{lang}/search/?q={rng.choice(words)}&plz={rng.choice(postcodes)}",
            f"/{lang}/search/?need={rng.choice(needs)}&language={rng.choice(languages)}",
            f"/{lang}/services/{rng.choice(services)}/",
            f"/{lang}/organizations/{rng.choice(organizations)}/",
            f"/{lang}/referral/?s={three}",
            f"/api/hsds/services?per_page=20&page={rng.randint(1, 10)}",
            f"/api/hsds/services/{rng.choice(services)}",
            "/api/geo/services.geojson?bbox=6.5,51.2,7.5,51.8",
            f"/{lang}/privacy/",
        ]
        if rng.random() < 0.25:  # one URL in about fifty: a PDF slip (WeasyPrint, the heaviest page)
            urls.append(f"/{lang}/referral/?s={three}&format=pdf")
    return urls


def rss_kb(pid: int) -> int:
    match = re.search(r"VmRSS:\s+(\d+)", Path(f"/proc/{pid}/status").read_text())
    return int(match.group(1)) if match else 0


def workers(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return sorted(int(pid) for pid in children)


def warm_up(urls: list[str], seconds: int) -> None:
    """Every URL once, 8 at a time: each worker has run every kind of page (imports, template and font caches
    filled) and the page cache holds them, before memory is first taken."""
    deadline = time.monotonic() + seconds

    def fetch(path: str) -> None:
        if time.monotonic() > deadline:
            return
        with contextlib.suppress(OSError):
            urllib.request.urlopen(f"http://127.0.0.1:{PORT}{path}", timeout=30).read()

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(fetch, urls))


def write_doc(result: dict[str, Any]) -> None:
    rows = [
        "| figure | value |",
        "|---|---|",
        f"| run | {result['date']}, {result['seconds']} s after a {result['warmup_seconds']} s warm-up, "
        f"{CONNECTIONS} connections, {WORKERS} workers, {result['cores']} cores shared |",
        f"| requests | {result['requests']:,} ({result['req_per_s']} req/s), {result['urls']} distinct URLs |",
        f"| latency | p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms, max {result['max_ms']} ms |",
        f"| errors | {result['errors']} (socket {result['socket_errors']}, status ≥ 400 {result['status_errors']}) |",
        f"| worker RSS after warm-up → end | {result['rss_start_mb']} MB → {result['rss_end_mb']} MB "
        f"({result['rss_growth_pct']:+.1f} %; peak {result['rss_peak_mb']} MB) |",
        f"| worker restarts | {result['worker_restarts']} |",
        f"| verdict | {'pass' if result['passed'] else 'FAIL'} (0 errors, growth < {MAX_GROWTH:.0%}) |",
    ]
    block = (
        f"{BEGIN}\n<!-- generated by make soak (ops/soak.py); do not edit by hand -->\n" + "\n".join(rows) + f"\n{END}"
    )
    text = DOC.read_text(encoding="utf-8")
    DOC.write_text(re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), block, text, flags=re.S), encoding="utf-8")


def main() -> int:
    rng = random.Random(int(os.environ.get("SOAK_SEED", "1")))
    urls = url_mix(rng)
    warmup = 300
    server = serving.start_gunicorn(PORT, ENV, workers=WORKERS)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            url_file = Path(tmp) / "urls"
            url_file.write_text("\n".join(urls) + "\n", encoding="utf-8")
            log(f"warm-up: {len(set(urls))} URLs once (at most {warmup} s); {SECONDS} s at {CONNECTIONS} connections")
            warm_up(sorted(set(urls)), warmup)
            before = workers(server.pid)
            start_rss = sum(rss_kb(pid) for pid in before)
            peak = start_rss
            load = serving.start_wrk(PORT, url_file, seconds=SECONDS, connections=CONNECTIONS, timeout=30, env=ENV)
            while load.poll() is None:
                time.sleep(10)
                current = workers(server.pid)
                peak = max(peak, sum(rss_kb(pid) for pid in current))
            raw = serving.summary(load)
            after = workers(server.pid)
            end_rss = sum(rss_kb(pid) for pid in after)
    finally:
        serving.stop(server, grace=15)
    socket_errors = raw["socket_errors"]
    growth = (end_rss - start_rss) / start_rss
    result: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d"),
        "seconds": SECONDS,
        "warmup_seconds": warmup,
        "cores": os.cpu_count(),
        "urls": len(set(urls)),
        "requests": raw["requests"],
        "req_per_s": round(raw["requests"] / raw["seconds"], 1),
        "p50_ms": round(raw["p50_ms"]),
        "p99_ms": round(raw["p99_ms"]),
        "max_ms": round(raw["max_ms"]),
        "errors": socket_errors + raw["status_errors"],
        "socket_errors": socket_errors,
        "status_errors": raw["status_errors"],
        "rss_start_mb": round(start_rss / 1024, 1),
        "rss_end_mb": round(end_rss / 1024, 1),
        "rss_peak_mb": round(peak / 1024, 1),
        "rss_growth_pct": round(growth * 100, 1),
        "worker_restarts": len(set(before) ^ set(after)) // 2,
    }
    result["passed"] = result["errors"] == 0 and growth < MAX_GROWTH and raw["requests"] > 0
    log(json.dumps(result))
    write_doc(result)
    log(f"{'pass' if result['passed'] else 'FAIL'}; figures in {DOC.relative_to(ROOT)}")
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
