"""Imports as queue jobs run by a worker process, spreadsheets guarded against zip bombs, formulas neutralised
(directory/formulas.py) on every way in and out."""

from __future__ import annotations

import csv
import io
import os
import signal
import subprocess
import sys
import time
import tracemalloc
import uuid
import zipfile
from pathlib import Path

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from django.utils.text import slugify
from rq.job import Job

from directory import formulas
from directory import models as m
from exchange import exports, jobs
from exchange.imports import ImportFile, Outcome, run_import
from exchange.spreadsheet import MAX_SHARED_STRINGS_BYTES, template_xlsx

ROOT = Path(__file__).resolve().parent.parent
HEADER = ["Quell-ID", "Quelle", "Träger", "Angebot", "PLZ", "Telefon"]


def csv_file(rows: list[list[str]], name: str = "liste.csv") -> ImportFile:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows(rows)
    return ImportFile(name, buffer.getvalue().encode())


def service_row(number: int, **cells: str) -> list[str]:
    values = {
        "Quell-ID": f"J-{number}",
        "Quelle": "Testliste Jobs",
        "Träger": "Träger der Testliste",
        "Angebot": f"Beratung {number}",
        "PLZ": "45127",
        "Telefon": "+49 201 88-0",
        **cells,
    }
    return [values[h] for h in HEADER]


# --- The rule ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["=1+1", "+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0", "@SUM(A1:A2)", "\tx", "\r=1", "- Punkt"]
)
def test_a_formula_is_escaped_out_and_refused_in(text):
    assert formulas.is_formula(text)
    assert formulas.escape(text) == "'" + text
    with translation.override("en"), pytest.raises(ValueError, match="formula"):
        formulas.read(text)
    with pytest.raises(ValueError):
        formulas.read(formulas.escape(text)), "escaping a formula does not smuggle it in"


@pytest.mark.parametrize("text", ["+49 201 88-0", "-", "-7,5", "+49 (0)201 / 88-0; +49 201 1", "Beratung", ""])
def test_numbers_and_plain_text_are_no_formulas(text):
    assert not formulas.is_formula(text)
    assert formulas.read(formulas.escape(text)) == text, "an export imports back unchanged"


def test_every_import_refuses_formulas_and_keeps_phones_with_a_plus(db):
    rows = [
        service_row(1, Angebot="+cmd|' /C calc'!A0"),
        service_row(2, Angebot="@SUM(A1:A2)"),
        service_row(3, Angebot="-2+3+cmd|' /C calc'!A0"),
    ]
    report = run_import(csv_file(rows))
    assert [(p.line, p.column) for p in report.problems] == [(2, "Angebot"), (3, "Angebot"), (4, "Angebot")]
    assert "Tabellenformel" in report.problems[0].message
    report = run_import(csv_file([service_row(1), service_row(2, Telefon="'+49 201 99")]))
    assert report.ok and report.applied, report.text()
    phones = set(m.Phone.objects.filter(service__external_id__in=["J-1", "J-2"]).values_list("number", flat=True))
    assert phones == {"+49 201 88-0", "+49 201 99"}


def test_the_template_writes_text_cells_never_formulas(db):
    book = openpyxl.load_workbook(io.BytesIO(template_xlsx()))
    cells = [cell for sheet in book for row in sheet.iter_rows() for cell in row if cell.value is not None]
    assert cells and all(cell.data_type != "f" for cell in cells)


def test_the_csv_export_escapes_a_stored_formula(db, tmp_path):
    report = run_import(csv_file([service_row(1)]))
    assert report.applied
    # A value stored before the rule (or by the admin) still leaves as text.
    m.Service.objects.filter(external_id="J-1").update(name={"de": '=HYPERLINK("https://evil.example")'})
    out = "".join(
        chunk.decode() for chunk in exports.csv_chunks(exports.TABLES_BY_NAME["service"], exports.Lookups.load())
    )
    assert "'=HYPERLINK" in out and ",=HYPERLINK" not in out


# --- Zip bombs --------------------------------------------------------------------------------------------------


def test_an_xlsx_that_unpacks_to_too_much_is_refused_quickly_in_little_memory(db):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("xl/sharedStrings.xml", "w", force_zip64=True) as member:
            chunk = b"<si><t>" + b"A" * (1024 * 1024) + b"</t></si>"
            for _ in range(MAX_SHARED_STRINGS_BYTES // len(chunk) + 2):
                member.write(chunk)
    bomb = buffer.getvalue()
    assert len(bomb) < 1024 * 1024, "small on disk"
    tracemalloc.start()
    started = time.monotonic()
    report = run_import(ImportFile("bombe.xlsx", bomb))
    seconds = time.monotonic() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert not report.ok and "entpackt" in report.problems[0].message
    assert seconds < 1 and peak < 10 * 1024 * 1024, (seconds, peak)


# --- The queue --------------------------------------------------------------------------------------------------


def test_a_worker_killed_half_way_leaves_the_database_unchanged(db):
    """A real worker process (manage.py import_worker, RQ's forking worker) on the test database, SIGKILLed
    while it writes: its transaction dies with it."""
    queue_name = f"test-imports-{uuid.uuid4().hex}"
    source = f"Testliste Abbruch {uuid.uuid4().hex[:8]}"
    rows = [service_row(number, Quelle=source) for number in range(1, 121)]
    upload = csv_file(rows, "abbruch.csv")
    job_id = jobs.enqueue_import(upload.name, upload.read(), "csv", dry_run=False, user_id=None, queue_name=queue_name)
    env = {
        **os.environ,
        "DATABASE_URL": f"postgis://postgres@127.0.0.1:5432/{connection.settings_dict['NAME']}",
    }
    worker = subprocess.Popen(  # noqa: S603 - our own manage.py
        [sys.executable, "manage.py", "import_worker", "--burst", "--queue", queue_name],
        cwd=ROOT,
        env=env,
        start_new_session=True,  # its own process group: the worker and the work horse it forks die together
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    job = Job.fetch(job_id, connection=jobs.connection())
    written = 0
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and worker.poll() is None:
            written = job.get_meta(refresh=True).get("stages", {}).get("verarbeitet", [0])[0]
            if written >= 25:
                break
            time.sleep(0.05)
    finally:
        # The worker and the work horse it forked for the job (RQ gives the horse a session of its own).
        horse = job.get_meta(refresh=True).get("pid")
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
        if horse:
            os.kill(horse, signal.SIGKILL)
            for _ in range(200):  # until it is gone (and PostgreSQL has its connection back)
                try:
                    os.kill(horse, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.02)
    assert 25 <= written < len(rows), "killed half-way through writing"
    assert horse and horse != worker.pid
    assert not m.Service.objects.filter(external_source=slugify(source)).exists()
    assert not m.Source.objects.filter(title=source).exists()


# --- Set-based: a batch at a time --------------------------------------------------------------------------------


def test_an_import_asks_the_database_a_batch_at_a_time_not_a_row_at_a_time(db):
    """100 rows (two batches) in a fixed number of queries a batch, with every record's history row; the
    row-by-row import took about 40 queries a row."""
    source = "Testliste Stapel"
    rows = [service_row(number, Quelle=source) for number in range(1, 101)]
    with CaptureQueriesContext(connection) as queries:
        report = run_import(csv_file(rows, "stapel.csv"))
    assert report.ok and report.outcomes()[Outcome.CREATED] == 100
    assert len(queries) < 100, "under one query a row"
    services = m.Service.objects.filter(external_source=slugify(source))
    assert services.count() == 100 and m.Phone.objects.filter(service__in=services).count() == 100
    history = m.Service.history.filter(external_source=slugify(source))
    assert history.count() == 100 and set(history.values_list("history_change_reason", flat=True)) == {
        "import: stapel.csv"
    }
    assert m.Service.objects.filter(pk__in=services, search_text__contains="Beratung 42").count() == 1

    renamed = [service_row(number, Quelle=source, Angebot=f"Sprechstunde {number}") for number in range(1, 101)]
    with CaptureQueriesContext(connection) as queries:
        report = run_import(csv_file(renamed, "stapel.csv"))
    assert report.ok and report.outcomes()[Outcome.CHANGED] == 100 and len(queries) < 100
    assert history.count() == 200, "one history row a changed service, written in bulk"
    assert services.filter(name__de="Sprechstunde 7", search_text__contains="Sprechstunde 7").count() == 1
    assert run_import(csv_file(renamed, "stapel.csv")).outcomes()[Outcome.UNCHANGED] == 100
    assert history.count() == 200, "an unchanged row writes no history"
