#!/usr/bin/env python3
"""``make bench``: the site at Germany scale, measured on this machine, in one command.

Creates its own database (``wegweiser_bench``), migrates, loads data/ (NRW geography, taxonomies, the real
catalogue), generates ``BENCH_SERVICES`` synthetic services over all of Germany, starts gunicorn as ``make run``
does (3 workers, 127.0.0.1, port ``BENCH_PORT``), drives every scenario with wrk (32 connections, a random URL of
the scenario per request) and writes ``bench/results.json`` and the generated table of ``docs/performance.md``.
Then the median EXPLAIN ANALYZE time of each scenario's SQL (``bench/explain.py``) and an import next to COPY
(``bench/import_bench.py``).

Standard library only; runs the project's own .venv for Django.
"""

from __future__ import annotations

import json
import os
import platform
import random
import re
import shutil
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# Run as a file (`make bench`): the repository's root on the path, for the serving module the soak and the
# fault drill share (gunicorn as `make run` starts it, wrk).
sys.path.insert(0, str(ROOT))
from ops import serving  # noqa: E402

PY = str(ROOT / ".venv" / "bin" / "python")
DB = os.environ.get("BENCH_DB", "wegweiser_bench")
SERVICES = int(os.environ.get("BENCH_SERVICES", "100000"))
SEED = int(os.environ.get("BENCH_SEED", "1"))
PORT = int(os.environ.get("BENCH_PORT", "8765"))
DURATION = int(os.environ.get("BENCH_SECONDS", "15"))
# Each scenario first runs this long unmeasured: workers started, connections open, plans and pages cached.
WARMUP = int(os.environ.get("BENCH_WARMUP_SECONDS", "3"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "32"))
URLS_PER_SCENARIO = 400
PG = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-Atq"]
OUT = ROOT / "bench" / "out"
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"

ENV = {
    **os.environ,
    "DATABASE_URL": f"postgis://postgres@127.0.0.1:5432/{DB}",
    "DJANGO_DEBUG": "0",
    # The per-client limits would answer most of one client's benchmark requests with 429.
    "WEGWEISER_HSDS_RATE_LIMIT_PER_MINUTE": "0",
    "WEGWEISER_SEARCH_RATE_LIMIT_PER_MINUTE": "0",
    "WEGWEISER_SLIP_PDF_RATE_LIMIT_PER_MINUTE": "0",
}


def log(message: str) -> None:
    print(f"bench: {message}", flush=True)


def run(*cmd: str, **kwargs: Any) -> str:
    return subprocess.run(cmd, cwd=ROOT, env=ENV, check=True, text=True, capture_output=True, **kwargs).stdout


def sql(query: str, db: str = DB) -> list[list[str]]:
    out = run(*PG, "-d", db, "-F", "\t", "-c", query)
    return [line.split("\t") for line in out.splitlines() if line]


def synthetic_count() -> int | None:
    """How many synthetic services the bench database holds (None: there is no such database yet)."""
    if not sql(f"SELECT 1 FROM pg_database WHERE datname = '{DB}'", "postgres"):
        return None
    try:
        rows = sql("SELECT count(*) FROM directory_service WHERE name->>'de' LIKE '[Synthetisch]%'")
    except subprocess.CalledProcessError:  # not migrated yet
        return None
    return int(rows[0][0])


def build_database(*, reuse: bool) -> dict[str, float]:
    """The bench database with SERVICES synthetic services; with ``reuse``, an existing one of that size is
    kept (only migrated, so that it has this checkout's schema): generation takes minutes at 100,000."""
    timings: dict[str, float] = {}
    started = time.monotonic()
    if reuse and synthetic_count() == SERVICES:
        log(f"reusing {DB} with {SERVICES:,} synthetic services (BENCH_REUSE_DB=1)")
        run(PY, "manage.py", "migrate", "--noinput", "-v0")
        sql("VACUUM ANALYZE")  # a migration may have added an index or column: fresh statistics for the planner
        timings["migrate_s"] = round(time.monotonic() - started, 1)
        return timings
    sql(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)", "postgres")
    sql(f"CREATE DATABASE {DB}", "postgres")
    sql("CREATE EXTENSION IF NOT EXISTS postgis; CREATE EXTENSION IF NOT EXISTS pg_trgm")
    run(PY, "manage.py", "migrate", "--noinput", "-v0")
    run(PY, "manage.py", "load_data")
    timings["migrate_and_load_s"] = round(time.monotonic() - started, 1)
    started = time.monotonic()
    log(f"generating {SERVICES:,} services (seed {SEED}) ...")
    out = run(PY, "manage.py", "generate_synthetic", "--services", str(SERVICES), "--seed", str(SEED))
    log(out.strip().splitlines()[-1])
    timings["generate_s"] = round(time.monotonic() - started, 1)
    sql("VACUUM ANALYZE")
    return timings


def scenario_urls() -> dict[str, list[str]]:
    """Random inputs per scenario, drawn from the benchmark database (seeded)."""
    rng = random.Random(SEED)
    n = URLS_PER_SCENARIO
    postcodes = [r[0] for r in sql("SELECT code FROM directory_postcode WHERE centroid IS NOT NULL ORDER BY code")]
    towns = [r[0] for r in sql("SELECT name FROM directory_gemeinde WHERE ags LIKE '05%' ORDER BY ags")]
    needs = [
        r[0]
        for r in sql(
            "SELECT t.code FROM directory_taxonomyterm t JOIN directory_taxonomy x ON x.id = t.taxonomy_id "
            "WHERE x.key = 'need' ORDER BY t.code"
        )
    ]
    need_words = [
        r[0]
        for r in sql(
            "SELECT t.name->>'de' FROM directory_taxonomyterm t JOIN directory_taxonomy x ON x.id = t.taxonomy_id "
            "WHERE x.key = 'need' ORDER BY t.code"
        )
    ]
    services = [r[0] for r in sql(f"SELECT id FROM directory_service ORDER BY md5(id::text || '{SEED}') LIMIT {n * 3}")]
    cities = sql(
        "SELECT ST_XMin(g.geometry), ST_YMin(g.geometry), ST_XMax(g.geometry), ST_YMax(g.geometry) "
        "FROM directory_gemeinde g JOIN directory_kreis k ON k.ags = g.kreis_id "
        "WHERE k.bez = 'Kreisfreie Stadt' ORDER BY g.ags"
    )
    pages = max(1, SERVICES // 50)
    typos = ["Integrazion", "Sprachkurz", "Beratunk", "Jobcentr", "Auslenderbehörde", "Einbürgerunk", "Anerkenung"]
    languages = ["ar", "fa", "uk", "ru", "tr", "en"]
    q = urllib.parse.quote

    def word(text: str) -> str:
        return q(text.split()[0].strip("(),"))

    return {
        "healthz": ["/healthz"],
        "start": [f"/{lang}/" for lang in ("de", "en", "ar", "fa", "uk", "ru", "tr")],
        "responsible": [f"/de/responsible/?plz={rng.choice(postcodes)}" for _ in range(n)],
        "search_text_place": [
            f"/de/search/?q={word(rng.choice(need_words))}&plz={rng.choice(postcodes)}" for _ in range(n)
        ],
        "search_filters": [
            f"/de/search/?need={rng.choice(needs)}&language={rng.choice(languages)}&q={q(rng.choice(towns))}"
            for _ in range(n)
        ],
        "search_typo": [f"/de/search/?q={q(rng.choice(typos))}" for _ in range(n)],
        "service": [f"/de/services/{s}/" for s in services[:n]],
        "referral_html": [f"/de/referral/?s={','.join(rng.sample(services, 3))}" for _ in range(n)],
        "referral_pdf": [f"/ar/referral/?s={','.join(rng.sample(services, 3))}&format=pdf" for _ in range(n)],
        "hsds_services": [f"/api/hsds/services?per_page=50&page={rng.randint(1, pages)}" for _ in range(n)],
        "geojson_city": [f"/api/geo/services.geojson?bbox={','.join(rng.choice(cities))}" for _ in range(n)],
    }


def drive(name: str, urls: list[str]) -> dict[str, Any]:
    url_file = OUT / f"{name}.urls"
    url_file.write_text("\n".join(urls) + "\n", encoding="utf-8")

    def wrk(seconds: int) -> dict[str, Any]:
        return serving.run_wrk(PORT, url_file, seconds=seconds, connections=CONNECTIONS, timeout=10, env=ENV)

    if WARMUP:
        wrk(WARMUP)  # not measured: the first requests of fresh workers pay for imports and caches
    raw = wrk(DURATION)
    done = raw["requests"] > 0
    return {
        "req_per_s": round(raw["requests"] / raw["seconds"], 1),
        # No request answered within the run: no latency to give (each took longer than the run).
        "p50_ms": round(raw["p50_ms"], 1) if done else None,
        "p95_ms": round(raw["p95_ms"], 1) if done else None,
        "p99_ms": round(raw["p99_ms"], 1) if done else None,
        "requests": raw["requests"],
        "errors": raw["socket_errors"] + raw["status_errors"],
        "socket_errors_incl_timeouts": raw["socket_errors"],
        "status_errors": raw["status_errors"],
    }


def machine() -> dict[str, Any]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem_kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))  # type: ignore[union-attr]
    versions = run(PY, "-c", "import django, sys; print(django.get_version(), sys.version.split()[0])").split()
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gb": round(mem_kb / 1024 / 1024, 1),
        "os": platform.platform(),
        "python": versions[1],
        "django": versions[0],
        "postgresql": sql("SHOW server_version")[0][0],
        "postgis": sql("SELECT postgis_lib_version()")[0][0],
        "load_average_before_driving": list(os.getloadavg()),
        "wrk": subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split("\n")[0].strip(),
    }


def write_docs(results: dict[str, Any]) -> None:
    seconds = results.get("seconds_per_scenario", DURATION)
    connections = results.get("connections", CONNECTIONS)
    load = ", ".join(f"{x:.1f}" for x in results["machine"].get("load_average_at_start", [])) or "not recorded"
    lines = [
        f"Measured {results['measured_at']} by `make bench` with {results['services']:,} services "
        f"({results.get('synthetic_services', 'most')} synthetic, the rest data/'s catalogue), "
        f"{results['locations']:,} places; gunicorn 3 workers; wrk {connections} connections, {seconds} s each "
        f"after {results.get('warmup_seconds_per_scenario', 0)} s of unmeasured warm-up. Cache-warm: each "
        "scenario draws from 400 URLs, so after the warm-up PostgreSQL's buffers, the OS page cache and the "
        "shared page cache (Redis) hold most of what it asks; a cold first request is slower. The SQL and "
        '"one request alone" columns are measured afterwards by `bench/explain.py` with every request a '
        "page-cache miss. "
        f"Machine: {results['machine']['cpu']}, {results['machine']['cores']} cores, "
        f"{results['machine']['ram_gb']} GB; PostgreSQL {results['machine']['postgresql']}; "
        f"load average when it began {load} (the machine is shared: other work skews the figures).",
        "",
        "| scenario | req/s | share of `/healthz` | p50 ms | p95 ms | p99 ms | errors | SQL median ms | "
        "one request alone, median ms | gzip KB median / max |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, row in results["scenarios"].items():
        sql_row = results.get("sql", {}).get(name, {})
        sql_ms = f"{sql_row['median_ms']} ({sql_row['inputs']} inputs)" if sql_row else ""
        single = sql_row.get("request_median_ms", "") if sql_row else ""
        weight = f"{sql_row['gzip_kb_median']} / {sql_row['gzip_kb_max']}" if "gzip_kb_max" in sql_row else ""

        def ms(value: float | None) -> str:
            return f"> {seconds * 1000} (none answered)" if value is None else str(value)

        lines.append(
            f"| {name} | {row['req_per_s']} | {row['share_of_floor']:.2f} | {ms(row['p50_ms'])} | "
            f"{ms(row['p95_ms'])} | {ms(row['p99_ms'])} | {row['errors']} | {sql_ms} | {single} | {weight} |"
        )
    if results.get("import"):
        imp = results["import"]
        lines += ["", "| import | rows | seconds | rows/s | peak RSS MB |", "|---|---|---|---|---|"]
        for key in ("spreadsheet", "copy"):
            if key in imp:
                r = imp[key]
                lines.append(
                    f"| {key} | {r['rows']:,} | {r['seconds']} | {r['rows_per_s']} | {r.get('peak_rss_mb', '')} |"
                )
    block = "\n".join([BEGIN, *lines, END])
    doc = ROOT / "docs" / "performance.md"
    text = doc.read_text(encoding="utf-8") if doc.exists() else "# Performance\n\n" + BEGIN + "\n" + END + "\n"
    text = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: block, text, flags=re.S)
    doc.write_text(text, encoding="utf-8")


def main() -> int:
    if not shutil.which("wrk"):
        raise SystemExit("wrk is missing (make bench installs it)")
    OUT.mkdir(exist_ok=True)
    if os.environ.get("BENCH_DOCS_ONLY") == "1":  # rewrite docs/performance.md from bench/results.json
        write_docs(json.loads((ROOT / "bench" / "results.json").read_text(encoding="utf-8")))
        return 0
    # Other work on the machine skews every figure: the load average before the run began says how much.
    load_at_start = list(os.getloadavg())
    results: dict[str, Any] = {
        "measured_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "seed": SEED,
        "seconds_per_scenario": DURATION,
        "connections": CONNECTIONS,
        "warmup_seconds_per_scenario": WARMUP,
    }
    results["setup"] = build_database(reuse=os.environ.get("BENCH_REUSE_DB") == "1")
    results["services"] = int(sql("SELECT count(*) FROM directory_service")[0][0])
    results["synthetic_services"] = int(
        sql("SELECT count(*) FROM directory_service WHERE name->>'de' LIKE '[Synthetisch]%'")[0][0]
    )
    results["locations"] = int(sql("SELECT count(*) FROM directory_location")[0][0])
    results["machine"] = {**machine(), "load_average_at_start": load_at_start}
    run(PY, "manage.py", "collectstatic", "--noinput", "-v0")
    scenarios = scenario_urls()
    (OUT / "scenarios.json").write_text(json.dumps(scenarios), encoding="utf-8")
    measured: dict[str, Any] = {}
    for name, urls in scenarios.items():
        # Fresh workers per scenario: requests a slow scenario left queued must not be billed to the next one.
        server = serving.start_gunicorn(PORT, ENV)
        try:
            log(f"driving {name} ...")
            measured[name] = drive(name, urls)
            log(f"  {measured[name]}")
        finally:
            serving.stop(server, grace=5)
    floor = measured["healthz"]
    for row in measured.values():
        row["share_of_floor"] = round(row["req_per_s"] / floor["req_per_s"], 3) if floor["req_per_s"] else 0.0
        row["p95_ratio_to_floor"] = (
            round(row["p95_ms"] / floor["p95_ms"], 2) if row["p95_ms"] is not None and floor["p95_ms"] else None
        )
    results["scenarios"] = measured
    if os.environ.get("BENCH_SKIP_SQL") != "1":
        log("EXPLAIN ANALYZE of each scenario's SQL ...")
        out = run(PY, "bench/explain.py", str(OUT / "scenarios.json"))
        results["sql"] = json.loads(out.strip().splitlines()[-1])
    if os.environ.get("BENCH_SKIP_IMPORT") != "1" and (ROOT / "bench" / "import_bench.py").exists():
        log("import next to COPY ...")
        out = run(PY, "bench/import_bench.py")
        results["import"] = json.loads(out.strip().splitlines()[-1])
    (ROOT / "bench" / "results.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    write_docs(results)
    log("wrote bench/results.json and docs/performance.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
