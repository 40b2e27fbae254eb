"""Broken spreadsheets and packages, generated with hypothesis: the import reports, never crashes, and a
rejected file changes nothing.

Every example runs in a transaction that is rolled back, so examples cannot see each other's rows; each
checks the rules every import keeps (see :func:`attempt`).
"""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exchange import exports
from exchange.imports import ImportFile, ImportReport, Outcome, run_import
from exchange.spreadsheet import SHEET_COLUMNS
from tests.test_exchange import catalogue_state, row

pytestmark = pytest.mark.django_db

# How many examples each property draws comes from the profile (tests/conftest.py): a few in `make test`,
# many in `make test-deep`.
FUZZ = settings(
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Values each of which makes a row wrong, and the column the report must name.
BAD: dict[str, list[str]] = {
    "Quell-ID": [""],
    "Angebot": [""],
    "Träger": [""],
    "PLZ": ["4753", "99999", "abcde", "10115"],
    "Zuständig für": ["05999", "x", "0515"],
    "Nicht zuständig für": ["05999999", "05154"],
    "Telefon": ["call me", "12", "0201 / ", "++49 201"],
    "E-Mail": ["a@", "@b", "a b@c.de"],
    "Webseite": ["http://", "ftp://x.y", "exa mple"],
    "Öffnungszeiten": ["Montag", "Mo 9", "Mo 12-9", "Fr-Mo 9-12", "Mo 25-26"],
    "Bedarfe": ["fliegen", "work; fliegen"],
    "Zielgruppen": ["aliens"],
    "Angebotsart": ["raumschiff"],
    "Sprachen": ["deutsch!", "d"],
    "Mindestalter": ["-1", "200", "zwölf", "1,5"],
    "Status": ["offen"],
    "Kostenlos": ["vielleicht"],
    "Geprüft am": ["32.01.2020", "2999-01-01", "gestern"],
    "Breitengrad": ["91"],
    "Zugang": ["immer"],
}
HEADERS = [column.header for column in SHEET_COLUMNS]
TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)
GARBAGE = st.one_of(
    TEXT,
    st.sampled_from([value for values in BAD.values() for value in values]),
    st.integers().map(str),
    st.floats(allow_nan=True).map(str),
    st.binary(max_size=30).map(lambda b: b.decode("latin-1")),
    st.just("=1+1"),
    st.just("-"),
)


def attempt(upload: ImportFile, file_format: str | None = None) -> ImportReport:
    """Import, check what every import must keep, roll back."""
    with transaction.atomic():
        before = catalogue_state()
        report = run_import(upload, file_format=file_format)
        assert not [p for p in report.problems if "Interner Fehler" in p.message], report.text()
        if not report.ok:
            assert not report.applied
            assert catalogue_state() == before, "a rejected file changes nothing"
        rejected = {r.line for r in report.rows if r.outcome == Outcome.REJECTED}
        assert rejected <= {p.line for p in report.problems}, "every rejected row is reported with its line"
        transaction.set_rollback(True)
    return report


def as_csv(rows: list[list[Any]], delimiter: str = ";") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\n").writerows(rows)
    return buffer.getvalue().encode()


def as_xlsx(rows: list[list[Any]], formulas: dict[tuple[int, int], str] | None = None) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for values in rows:
        # openpyxl refuses control characters; a spreadsheet could not hold them either.
        sheet.append([openpyxl.cell.cell.ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in values])
    for (line, column), formula in (formulas or {}).items():
        sheet.cell(line, column + 1).value = formula
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def light(**cells: str) -> dict[str, str]:
    """A valid row with the required cells only: quick to write, for tests about something else."""
    return {"Quell-ID": "L-1", "Quelle": "Testliste Fuzz", "Träger": "Kreis Kleve", "Angebot": "Beratung"} | cells


def table(rows: list[dict[str, str]]) -> list[list[str]]:
    return [HEADERS, *[[r.get(h, "") for h in HEADERS] for r in rows]]


# --- Rows with one known fault each -----------------------------------------------------------------------------

FAULT = st.one_of(st.none(), st.just("duplicate"), st.sampled_from(sorted(BAD)))


@FUZZ
@given(faults=st.lists(st.tuples(FAULT, st.integers(0, 10)), min_size=1, max_size=8), xlsx=st.booleans())
def test_every_bad_row_is_reported_with_its_line_and_column(faults, xlsx):
    rows = []
    expected = {}  # line → the column its fault is in
    first_good = None
    for number, (fault, choice) in enumerate(faults):
        line = number + 2
        cells = row(Quell_ID=f"ok-{number}")
        if fault == "duplicate" and first_good is not None:
            cells["Quell-ID"] = first_good
            expected[line] = "Quell-ID"
        elif fault in BAD:
            cells[fault] = BAD[fault][choice % len(BAD[fault])]
            expected[line] = fault
        elif first_good is None:
            first_good = cells["Quell-ID"]
        rows.append(cells)
    data = as_xlsx(table(rows)) if xlsx else as_csv(table(rows))
    report = attempt(ImportFile("f.xlsx" if xlsx else "f.csv", data))
    found = {}
    for problem in report.problems:
        found.setdefault(problem.line, set()).add(problem.column)
    assert set(found) == set(expected), report.text()
    for line, column in expected.items():
        assert column in found[line], (line, column, report.text())
    assert report.ok == (not expected)
    for result in report.rows:
        assert result.outcome == (Outcome.REJECTED if result.line in expected else Outcome.CREATED)


# --- Random damage -------------------------------------------------------------------------------------------------


@FUZZ
@given(
    count=st.integers(1, 5),
    damage=st.lists(st.tuples(st.integers(0, 4), st.sampled_from(HEADERS), GARBAGE), max_size=8),
    xlsx=st.booleans(),
)
def test_random_cells_never_crash_the_import(count, damage, xlsx):
    rows = [row(Quell_ID=f"r-{i}") for i in range(count)]
    for index, column, value in damage:
        rows[index % count][column] = value
    data = as_xlsx(table(rows)) if xlsx else as_csv(table(rows))
    report = attempt(ImportFile("f.xlsx" if xlsx else "f.csv", data))
    if report.ok:
        assert [r.outcome for r in report.rows] == [Outcome.CREATED] * count


@FUZZ
@given(data=st.binary(max_size=3000), file_format=st.sampled_from(["csv", "xlsx", "hsds"]))
def test_garbage_bytes_are_reported_not_imported(data, file_format):
    report = attempt(ImportFile(f"garbage.{file_format}", data), file_format)
    assert not report.ok


@FUZZ
@given(
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "latin-1", "utf-16", "utf-32", "mac_roman", "cp850"]),
    delimiter=st.sampled_from([";", ",", "\t"]),
)
def test_other_encodings_and_delimiters_are_read_or_reported(encoding, delimiter):
    rows = [light(Angebot="Beratung für Mütter und Väter", Ort="Düsseldorf")]
    text = as_csv(table(rows), delimiter).decode()
    report = attempt(ImportFile("enc.csv", text.encode(encoding)))
    if encoding in ("utf-16", "utf-32"):
        assert not report.ok and report.problems[0].line is None
    if encoding in ("utf-8", "utf-8-sig", "cp1252", "latin-1"):
        assert report.ok, report.text()


@FUZZ
@given(missing=st.sets(st.sampled_from(["Quell-ID", "Quelle", "Träger", "Angebot"]), min_size=1))
def test_missing_required_columns_are_named(missing):
    headers = [h for h in HEADERS if h not in missing]
    rows = [[light().get(h, "") for h in headers]]
    report = attempt(ImportFile("h.csv", as_csv([headers, *rows])))
    assert {(1, column) for column in missing} <= {(p.line, p.column) for p in report.problems}
    assert not report.rows, "no row is read under a broken header"


@FUZZ
@given(size=st.integers(6000, 200_000), column=st.sampled_from(HEADERS), xlsx=st.booleans())
def test_huge_cells_are_reported_with_their_line(size, column, xlsx):
    rows = [light(**{"Quell-ID": "a"}), light(**{"Quell-ID": "b"})]
    rows[1][column] = "x" * size
    if xlsx and size > 32_767:
        size = 32_767  # the most an Excel cell holds
        rows[1][column] = "x" * size
    data = as_xlsx(table(rows)) if xlsx else as_csv(table(rows))
    report = attempt(ImportFile("big.xlsx" if xlsx else "big.csv", data))
    assert not report.ok
    assert {p.line for p in report.problems} == {3}, report.text()


@FUZZ
@given(
    line=st.integers(2, 4),
    column=st.integers(0, len(HEADERS) - 1),
    formula=st.sampled_from(["=1+1", "=A1", '=HYPERLINK("http://x")', "=SUMME(A1:A2)"]),
)
def test_formulas_in_xlsx_cells_are_refused(line, column, formula):
    rows = [light(**{"Quell-ID": f"f-{i}"}) for i in range(3)]
    report = attempt(ImportFile("f.xlsx", as_xlsx(table(rows), {(line, column): formula})))
    assert (line, HEADERS[column]) in {(p.line, p.column) for p in report.problems}, report.text()
    assert all(p.line == line for p in report.problems)


@FUZZ
@given(ids=st.lists(st.sampled_from(["a", "b", "c", "A", " a"]), min_size=2, max_size=6))
def test_duplicate_quell_ids_are_reported_after_the_first(ids):
    rows = [light(**{"Quell-ID": value}) for value in ids]
    report = attempt(ImportFile("d.csv", as_csv(table(rows))))
    seen = set()
    duplicates = set()
    for number, value in enumerate(ids):
        key = value.strip()
        if key in seen:
            duplicates.add(number + 2)
        seen.add(key)
    assert {p.line for p in report.problems if p.column == "Quell-ID"} == duplicates


# --- Broken data packages ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_package(django_db_setup, django_db_blocker, tmp_path_factory) -> dict[str, bytes]:
    """The first rows of every table of the exported catalogue (what they refer to is in the catalogue)."""
    folder = tmp_path_factory.mktemp("package")
    with django_db_blocker.unblock():
        exports.export_package(folder, jsonl=False)
    files = {}
    for path in sorted(Path(folder).iterdir()):
        content = path.read_bytes()
        if path.suffix == ".csv":
            content = b"".join(content.splitlines(keepends=True)[:6])
        files[path.name] = content
    # A package that holds attributes.csv says what its services' types are: keep theirs.
    services = {r["id"] for r in csv.DictReader(io.StringIO(files["services.csv"].decode()))}
    lines = (folder / "attributes.csv").read_bytes().splitlines(keepends=True)
    typed = [
        line for line in lines[1:] if b",service_type,service," in line and line.split(b",")[1].decode() in services
    ]
    files["attributes.csv"] += b"".join(typed)
    return files


def zipped(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def test_the_small_package_imports_unchanged(small_package):
    report = attempt(ImportFile("p.zip", zipped(small_package)))
    assert report.ok and {r.outcome for r in report.rows} == {Outcome.UNCHANGED}


@FUZZ
@given(
    name=st.sampled_from([t.path for t in exports.TABLES]),
    line=st.integers(1, 5),
    column=st.integers(0, 80),
    value=GARBAGE,
    mode=st.sampled_from(["cell", "truncate", "drop column", "duplicate row", "bytes"]),
)
def test_broken_packages_are_reported_not_imported(small_package, name, line, column, value, mode):
    files = dict(small_package)
    rows = list(csv.reader(io.StringIO(files[name].decode(), newline="")))
    if mode == "bytes":
        files[name] = files[name][: column * 7] + value.encode("utf-8", "replace") + b"\xff\xfe\x00"
    elif mode == "truncate":
        files[name] = files[name][: len(files[name]) * column // 81]
    else:
        if mode == "cell" and line < len(rows):
            rows[line][column % len(rows[line])] = value
        elif mode == "drop column":
            rows = [r[: column % len(rows[0])] + r[column % len(rows[0]) + 1 :] for r in rows]
        elif mode == "duplicate row" and len(rows) > 1:
            rows.append(rows[min(line, len(rows) - 1)])
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows(rows)
        files[name] = buffer.getvalue().encode()
    attempt(ImportFile("p.zip", zipped(files)))
