"""Spreadsheets of any length: read as a stream, checked and written a batch at a time, all or nothing, with a
report that stays small (issues 11 and 12)."""

from __future__ import annotations

import csv
import io
import itertools
import pickle
import tracemalloc
from pathlib import Path

import openpyxl
import pytest
from django.utils.text import slugify

from directory import models as m
from exchange import pipeline, spreadsheet
from exchange.imports import Importer, ImportFile, Outcome, run_import
from exchange.pipeline import ImportReport, RowResult
from exchange.spreadsheet import read_csv, read_xlsx
from tests.test_exchange import catalogue_state

HEADER = ["Quell-ID", "Quelle", "Träger", "Angebot", "PLZ"]
SOURCE = "Testliste Strom"


def rows(count: int, **changed: dict[str, str]) -> list[list[str]]:
    """``count`` valid rows of services without a place; ``changed`` maps a Quell-ID to cells it has instead."""
    made = []
    for number in range(1, count + 1):
        cells = {"Quell-ID": f"S-{number}", "Quelle": SOURCE, "Träger": "Träger der Stromliste", "Angebot": "Beratung"}
        cells.update(changed.get(f"S-{number}", {}))
        made.append([cells.get(header, "") for header in HEADER])
    return made


def csv_bytes(body: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows(body)
    return buffer.getvalue().encode()


@pytest.fixture
def small_batches(monkeypatch):
    """Batches of 5 rows, so that a file of a few dozen rows spans several."""
    monkeypatch.setattr(spreadsheet, "BATCH_ROWS", 5)


def imported() -> int:
    return m.Service.objects.filter(external_source=slugify(SOURCE)).count()


# --- Reading ---------------------------------------------------------------------------------------------------


def test_it_reads_a_csv_longer_than_the_old_row_cap_to_the_end(tmp_path):
    """The cap was 20,000 rows (the sheet was read whole); a stream has none."""
    path = tmp_path / "lang.csv"
    path.write_bytes(csv_bytes(rows(25_000)))
    report = ImportReport("lang.csv")
    sheet = read_csv(ImportFile.from_path(path), report)
    assert sheet is not None and report.ok
    assert sheet.headers == HEADER and sheet.total == 25_000
    read = list(itertools.islice(sheet.rows, 24_999))
    assert read[0] == (2, ["S-1", SOURCE, "Träger der Stromliste", "Beratung", ""])
    assert next(sheet.rows) == (25_001, ["S-25000", SOURCE, "Träger der Stromliste", "Beratung", ""])
    assert next(sheet.rows, None) is None


def peak_while_reading(read, path: Path) -> int:
    tracemalloc.start()
    try:
        sheet = read(ImportFile.from_path(path), ImportReport(path.name))
        assert sheet is not None
        for _ in sheet.rows:
            pass
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_reading_a_csv_takes_the_same_memory_for_ten_times_the_rows(tmp_path):
    small, large = tmp_path / "klein.csv", tmp_path / "gross.csv"
    small.write_bytes(csv_bytes(rows(2_000)))
    large.write_bytes(csv_bytes(rows(20_000)))
    peaks = peak_while_reading(read_csv, small), peak_while_reading(read_csv, large)
    assert peaks[1] < 1.5 * peaks[0] + 64 * 1024, peaks  # read whole, 20,000 rows took about 10 × as much


def xlsx_file(path: Path, count: int) -> None:
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("Angebote")
    sheet.append(HEADER)
    for number in range(count):  # numbers as ids: the shared strings (held in memory) stay the same few
        sheet.append([number, SOURCE, "Träger der Stromliste", "Beratung", ""])
    book.save(path)


def test_reading_an_xlsx_takes_the_same_memory_for_ten_times_the_rows(tmp_path):
    """openpyxl alone kept an emptied XML element for each row it read (about 140 bytes a row)."""
    small, large = tmp_path / "klein.xlsx", tmp_path / "gross.xlsx"
    xlsx_file(small, 300)
    xlsx_file(large, 3_000)
    peaks = peak_while_reading(read_xlsx, small), peak_while_reading(read_xlsx, large)
    assert peaks[1] < 1.5 * peaks[0] + 64 * 1024, peaks


# --- Importing batch by batch -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_file_of_many_batches_imports_every_row_and_counts_its_progress(small_batches):
    upload = ImportFile("strom.csv", csv_bytes(rows(23)))
    importer = Importer(upload)
    events = list(importer.run())
    assert importer.report.ok and importer.report.applied, importer.report.text()
    assert importer.report.outcomes()[Outcome.CREATED] == 23 and imported() == 23
    written = [(event.done, event.total) for event in events if event.stage == "verarbeitet"]
    assert written == [(5, 23), (10, 23), (15, 23), (20, 23), (23, 23)], "the total is known before the rows"
    assert m.Service.history.filter(external_source=slugify(SOURCE), history_type="+").count() == 23


@pytest.mark.django_db
def test_every_batchs_search_text_and_facts_are_refreshed_the_last_ones_too(small_batches):
    """A batch's search texts and facts are refreshed after it is written, the last batch's too."""
    named = {f"S-{number}": {"Angebot": f"Sprechstunde Nummer{number}"} for number in range(1, 13)}
    report = run_import(ImportFile("strom.csv", csv_bytes(rows(12, **named))))
    assert report.applied, report.text()
    services = m.Service.objects.filter(external_source=slugify(SOURCE))
    texts = dict(services.values_list("external_id", "search_text"))
    assert len(texts) == 12 and all(f"Nummer{ident[2:]}" in text for ident, text in texts.items()), texts
    assert m.ServiceFacts.objects.filter(service__in=services).count() == 12


@pytest.mark.django_db
def test_a_problem_in_a_later_batch_leaves_the_database_unchanged(small_batches):
    before = catalogue_state()
    report = run_import(ImportFile("strom.csv", csv_bytes(rows(23, **{"S-22": {"PLZ": "99999"}}))))
    assert not report.applied and [(p.line, p.column) for p in report.problems] == [(23, "PLZ")]
    assert report.outcomes()[Outcome.CREATED] == 22, "the report says what every good row would have done"
    assert catalogue_state() == before and imported() == 0


@pytest.mark.django_db
def test_a_quell_id_repeated_in_a_later_batch_is_found(small_batches):
    report = run_import(ImportFile("strom.csv", csv_bytes(rows(14, **{"S-13": {"Quell-ID": "S-2"}}))))
    assert [(p.line, p.column) for p in report.problems] == [(14, "Quell-ID")]
    assert "schon in Zeile 3" in report.problems[0].message
    assert not report.applied and imported() == 0


@pytest.mark.django_db
def test_problems_and_rows_beyond_what_a_report_lists_are_counted(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(pipeline, "MAX_LISTED_PROBLEMS", 4)
    monkeypatch.setattr(pipeline, "MAX_LISTED_ROWS", 3)
    bad = {f"S-{number}": {"PLZ": "99999"} for number in range(1, 11)}
    report = run_import(ImportFile("strom.csv", csv_bytes(rows(16, **bad))))
    assert len(report.problems) == 4 and report.problem_count == 10 and not report.ok
    assert [p.line for p in report.problems] == [2, 3, 4, 5], "the first ones"
    assert report.row_count == 16 and report.outcomes() == {
        Outcome.CREATED: 6,
        Outcome.CHANGED: 0,
        Outcome.UNCHANGED: 0,
        Outcome.REJECTED: 10,
    }
    assert [(r.line, r.outcome) for r in report.rows] == [
        (2, Outcome.REJECTED),
        (3, Outcome.REJECTED),
        (4, Outcome.REJECTED),
        (12, Outcome.CREATED),
        (13, Outcome.CREATED),
        (14, Outcome.CREATED),
    ], "the first rows of each outcome"
    text = report.text()
    assert "10 Problem(e)" in text and "… und 6 weitere (aufgeführt sind die ersten 4)" in text
    assert "… und 10 weitere (je Ergebnis höchstens 3 aufgeführt)" in text


@pytest.mark.django_db
def test_a_replaced_list_deletes_its_old_records_each_with_a_history_row():
    with_needs = [[*cells, "work; language"] for cells in rows(3)]
    header = [*HEADER, "Bedarfe"]

    def upload(body: list[list[str]]) -> ImportFile:
        buffer = io.StringIO()
        csv.writer(buffer, delimiter=";", lineterminator="\n").writerows([header, *body])
        return ImportFile("bedarfe.csv", buffer.getvalue().encode())

    assert run_import(upload(with_needs)).applied
    services = m.Service.objects.filter(external_source=slugify(SOURCE))
    old = set(m.Attribute.objects.filter(service__in=services, taxonomy_term__code="work").values_list("pk", flat=True))
    assert len(old) == 3
    report = run_import(upload([[*cells, "language"] for cells in rows(3)]))
    assert report.applied and report.outcomes()[Outcome.CHANGED] == 3 and report.records["Attribute gelöscht"] == 3
    assert not m.Attribute.objects.filter(pk__in=old).exists()
    gone = m.Attribute.history.filter(id__in=old, history_type="-")
    assert gone.count() == 3 and set(gone.values_list("history_change_reason", flat=True)) == {"import: bedarfe.csv"}
    assert m.Attribute.objects.filter(service__in=services, taxonomy_term__code="language").count() == 3


def test_a_report_pickled_before_the_counts_existed_still_reads():
    """A job's report stays in Redis for a day, across a deployment of this change."""
    report = ImportReport("alt.csv", rows=[RowResult(2, "A-1", "Beratung", Outcome.CREATED)])
    del report.row_counts, report.unlisted_problems
    old = pickle.loads(pickle.dumps(report))  # noqa: S301 - our own object
    assert old.outcomes()[Outcome.CREATED] == 1 and old.problem_count == 0 and old.row_count == 1
