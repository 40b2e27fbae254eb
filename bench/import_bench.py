#!/usr/bin/env python3
"""A spreadsheet import of synthetic rows (the project's own import_catalogue) next to COPY of the same rows.

BENCH_IMPORT_ROWS (default 100,000) rows of services from the synthetic data, rewritten as a new list (a CSV with
the columns an editor's list typically has: ids, source, organisation, name, description, needs, postcode, town,
free of charge), are imported for real: every row creates a service with its place, address, needs and cost
option, each record with its history row, all in one transaction. The spreadsheet is read as a stream, so the
import's peak memory should not depend on the number of rows (compare BENCH_IMPORT_ROWS=10000).

What the import created is removed again before and after (every record of the list's source, and their
history rows), so the bench database stays as generated and every run measures the same work.
COPY loads the same CSV into an unlogged table of text columns: the floor of what writing those rows can cost.
Prints one JSON line.
"""

from __future__ import annotations

import csv
import json
import os
import resource
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROWS = int(os.environ.get("BENCH_IMPORT_ROWS", "100000"))
DB = os.environ.get("BENCH_DB", "wegweiser_bench")
PSQL = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", DB, "-v", "ON_ERROR_STOP=1", "-Atq", "-F", "\t"]
HEADER = ["Quell-ID", "Quelle", "Quelle-URL", "Träger", "Angebot", "Beschreibung", "Bedarfe", "PLZ", "Ort", "Kostenlos"]
LIST = "[Synthetisch] Importliste"
LIST_KEY = "synthetisch-importliste"  # exchange.spreadsheet.source_key(LIST)
# The tables an import of the list writes to, children before what they refer to.
WRITTEN = (
    *("attribute", "costoption", "phone", "language", "schedule", "servicearea", "serviceatlocation"),
    *("address", "location", "service", "organization"),
)


def write_csv(path: Path) -> int:
    out = subprocess.run(
        [
            *PSQL,
            "-c",
            f"""
        SELECT s.name->>'de', o.name->>'de', a.postal_code, a.city,
               (SELECT string_agg(t.code, ';') FROM directory_attribute at JOIN directory_taxonomyterm t
                  ON t.id = at.taxonomy_term_id JOIN directory_taxonomy x ON x.id = t.taxonomy_id
                 WHERE at.service_id = s.id AND x.key = 'need')
          FROM directory_service s JOIN directory_organization o ON o.id = s.organization_id
          JOIN directory_serviceatlocation sal ON sal.service_id = s.id
          JOIN directory_address a ON a.location_id = sal.location_id
         WHERE s.name->>'de' LIKE '[Synthetisch]%' AND a.postal_code <> ''
         ORDER BY s.id LIMIT {ROWS}""",
        ],
        check=True,
        text=True,
        capture_output=True,
    ).stdout
    # About 32,000 synthetic places have a postcode (those in NRW, the only ones an import takes): a larger
    # list takes them again, as further services of the same organisations at the same places.
    lines = out.splitlines()
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        for i in range(ROWS):
            name, org, plz, city, needs = lines[i % len(lines)].split("\t")
            round_ = f" {i // len(lines) + 1}" if i >= len(lines) else ""
            writer.writerow(
                [
                    f"B-{i:06d}",
                    LIST,
                    "https://liste.example.org/",
                    org,
                    f"{name} (Import{round_})",
                    "[Synthetisch] Importiertes Angebot.",
                    needs or "",
                    plz,
                    city,
                    "ja",
                ]
            )
    return ROWS


def remove_import() -> None:
    """Delete what an earlier import of the list wrote: every record with its source, and their history rows."""
    source = f"(SELECT id FROM directory_source WHERE key = '{LIST_KEY}')"
    # The services' stored facts (directory.ServiceFacts) refer to them; Django cascades, plain SQL must not forget.
    statements = [
        "DELETE FROM directory_servicefacts WHERE service_id IN "
        f"(SELECT id FROM directory_service WHERE source_id = {source});"
    ]
    statements += [
        f"DELETE FROM directory_{table} WHERE source_id = (SELECT id FROM directory_source WHERE key = '{LIST_KEY}');"
        f"DELETE FROM directory_historical{table} WHERE source_id = "
        f"(SELECT id FROM directory_source WHERE key = '{LIST_KEY}');"
        for table in WRITTEN
    ]
    statements.append(f"DELETE FROM directory_source WHERE key = '{LIST_KEY}';")
    subprocess.run([*PSQL, "-c", "BEGIN;" + "".join(statements) + "COMMIT;"], check=True)


def main() -> None:
    path = ROOT / "bench" / "out" / "import.csv"
    path.parent.mkdir(exist_ok=True)
    rows = write_csv(path)
    remove_import()
    env = {**os.environ, "DATABASE_URL": f"postgis://postgres@127.0.0.1:5432/{DB}"}
    started = time.monotonic()
    done = subprocess.run(
        [str(ROOT / ".venv/bin/python"), "manage.py", "import_catalogue", str(path)],
        cwd=ROOT,
        env=env,
        text=True,
        capture_output=True,
    )
    seconds = time.monotonic() - started
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    remove_import()
    result = {
        "spreadsheet": {
            "rows": rows,
            "seconds": round(seconds, 1),
            "rows_per_s": round(rows / seconds, 1),
            "peak_rss_mb": round(peak_mb, 1),
            "ok": done.returncode == 0,
            "tail": done.stdout[:300] + done.stderr[-300:],
        }
    }
    columns = ", ".join(f"c{i} text" for i in range(len(HEADER)))
    started = time.monotonic()
    subprocess.run(
        [
            *PSQL,
            "-c",
            f"DROP TABLE IF EXISTS bench_copy; CREATE UNLOGGED TABLE bench_copy ({columns})",
            "-c",
            f"\\copy bench_copy FROM '{path}' WITH (FORMAT csv, HEADER true)",
        ],
        check=True,
    )
    seconds = time.monotonic() - started
    subprocess.run([*PSQL, "-c", "DROP TABLE bench_copy"], check=True)
    result["copy"] = {"rows": rows, "seconds": round(seconds, 3), "rows_per_s": round(rows / seconds, 1)}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
