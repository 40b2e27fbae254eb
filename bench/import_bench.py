#!/usr/bin/env python3
"""A spreadsheet import of synthetic rows (the project's own import_catalogue) next to COPY of the same rows.

The spreadsheet import takes at most 20,000 rows a file (exchange.spreadsheet.MAX_ROWS), so it is measured on
BENCH_IMPORT_ROWS (default 20,000, the most one file may hold) rows of NRW services from the synthetic data, rewritten as a new list.
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
# Batched (issue 11), the import runs at about 100 rows/s on this 2-core machine (it ran at 9 before): 20,000 rows,
# the most a file may hold (exchange.spreadsheet.MAX_ROWS), take a few minutes.
ROWS = int(os.environ.get("BENCH_IMPORT_ROWS", "20000"))
DB = os.environ.get("BENCH_DB", "wegweiser_bench")
PSQL = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", DB, "-v", "ON_ERROR_STOP=1", "-Atq", "-F", "\t"]
HEADER = ["Quell-ID", "Quelle", "Quelle-URL", "Träger", "Angebot", "Beschreibung", "Bedarfe", "PLZ", "Ort", "Kostenlos"]


def main() -> None:
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
    rows = [line.split("\t") for line in out.splitlines()]
    path = ROOT / "bench" / "out" / "import.csv"
    path.parent.mkdir(exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        for i, (name, org, plz, city, needs) in enumerate(rows):
            writer.writerow(
                [
                    f"B-{i:06d}",
                    "[Synthetisch] Importliste",
                    "https://liste.example.org/",
                    org,
                    f"{name} (Import)",
                    "[Synthetisch] Importiertes Angebot.",
                    needs or "",
                    plz,
                    city,
                    "ja",
                ]
            )
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
    result = {
        "spreadsheet": {
            "rows": len(rows),
            "seconds": round(seconds, 1),
            "rows_per_s": round(len(rows) / seconds, 1),
            "peak_rss_mb": round(peak_mb, 1),
            "ok": done.returncode == 0,
            "tail": done.stdout[-300:] + done.stderr[-300:],
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
    result["copy"] = {"rows": len(rows), "seconds": round(seconds, 3), "rows_per_s": round(len(rows) / seconds, 1)}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
