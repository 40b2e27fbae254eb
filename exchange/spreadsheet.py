"""Editors' spreadsheets (CSV or XLSX): one row per service with its place, German column headers.

The columns are :data:`SHEET_COLUMNS` (the template, :func:`template_xlsx`, documents them on its first
sheet). A row is matched to the service it created before by its list (Quelle) and the list's own id
(Quell-ID). Cells follow two rules an editor can rely on:

- an **empty cell leaves** the field as it is (a new service simply lacks it);
- a cell holding only **"-" clears** it.

A list cell (Telefon, Sprachen, Bedarfe, Zuständig für …) replaces the whole list; the address cells
(Standort, Straße, PLZ, Ort, Breitengrad, Längengrad) count together: given any, they describe the
service's place completely. A changed German text drops the translations of the old text, unless the
row gives new ones. Writing follows the rules of exchange/imports.py: all or nothing, history reason
"import: <file name>", every record through the writer of exchange/pipeline.py.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import re
import uuid
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from django.contrib.gis.geos import Point
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import BooleanField, F, OuterRef, Subquery
from django.db.models.expressions import RawSQL
from django.utils import translation
from django.utils.text import slugify
from django.utils.translation import gettext as _

from directory import formulas
from directory import models as m
from directory.filters import yes_no
from directory.hours import ATTENDING_WORDS, WeeklySlot, format_closure, parse_hours
from directory.notation import parse_languages, parse_phones
from directory.places import representative_point
from directory.services import refresh_search_text
from directory.translation import FALLBACK_LANGUAGE, NON_GERMAN_LANGUAGES
from directory.validation import UNSAFE_IN_TEXT, ascii_digits, validate_email, validate_url
from exchange.pipeline import (
    IMPORT_NAMESPACE,
    PROGRESS_EVERY,
    ImportFile,
    ImportReport,
    Outcome,
    Problem,
    Progress,
    Rejected,
    RowResult,
    Validation,
    Where,
    Writer,
    area_names,
    import_id,
)

T = TypeVar("T")
# A sheet is read as a stream, so its size bounds the time an import takes, not its memory: 256 MB of CSV are
# about a million rows of the benchmark's kind, some ten minutes. No cap on the rows. The upload page has a
# lower limit of its own (exchange.admin.MAX_UPLOAD_BYTES); larger files go through manage.py import_catalogue.
MAX_SHEET_BYTES = 256 * 1024 * 1024
BATCH_ROWS = 1000  # rows checked and written together: one query per kind of record and batch
MAX_COLUMNS = 200
# What an XLSX may unpack to (declared in its zip directory, checked before parsing): 100,000 full rows
# take about 120 MB of sheet XML; the shared strings, which openpyxl holds in memory, a third of that.
MAX_UNPACKED_BYTES = 256 * 1024 * 1024
MAX_SHARED_STRINGS_BYTES = 64 * 1024 * 1024
MAX_XLSX_MEMBERS = 1000

# --- Reading cells ---------------------------------------------------------------------------------------------


def check_url(value: str) -> str:
    """An http(s) URL; "www.example.de" gets https:// (editors write it so)."""
    if not re.match(r"^[a-z][a-z0-9+.-]*://", value, re.IGNORECASE):
        value = f"https://{value}"
    try:
        validate_url(value)
    except ValidationError as exc:
        raise ValueError(f"„{value}“ ist keine gültige Internetadresse (http/https)") from exc
    if len(value) > 200:
        raise ValueError("Internetadresse länger als 200 Zeichen")
    return value


def check_email(value: str) -> str:
    try:
        validate_email(value)
    except ValidationError as exc:
        raise ValueError(f"„{value}“ ist keine gültige E-Mail-Adresse") from exc
    if len(value) > 254:
        raise ValueError("E-Mail-Adresse länger als 254 Zeichen")
    return value


def parse_number(value: str) -> float:
    """A decimal number, German (51,45) or English (51.45) notation."""
    text = value.strip().replace(" ", "")
    if re.fullmatch(r"[+-]?\d+,\d+", text):
        text = text.replace(",", ".")
    try:
        number = float(text)
    except ValueError as exc:
        raise ValueError(f"„{value}“ ist keine Zahl") from exc
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError(f"„{value}“ ist keine Zahl")
    return number


def parse_date(value: str) -> dt.date:
    text = value.strip()
    match = re.fullmatch(r"(\d{1,2})\.(\d{1,2})\.(\d{4})", text)
    try:
        if match:
            return dt.date(int(match[3]), int(match[2]), int(match[1]))
        return dt.date.fromisoformat(text[:10] if re.fullmatch(r"\d{4}-\d\d-\d\d[T ]00:00(:00)?", text) else text)
    except ValueError as exc:
        raise ValueError(f"„{value}“ ist kein Datum (TT.MM.JJJJ)") from exc


def split_list(value: str) -> list[str]:
    """Items separated by ';', ',' or line breaks, trimmed, without empty ones and repeats."""
    items = [item.strip() for item in re.split(r"[;,\n]", value)]
    return list(dict.fromkeys(item for item in items if item))


def normal_ags(code: str) -> str:
    """An AGS whose leading 0 a spreadsheet dropped (5154036 → 05154036)."""
    return f"0{code}" if ascii_digits(code) and len(code) in (1, 4, 7) else code


def read_hours(text: str) -> list[WeeklySlot]:
    """The weekly slots of an "Öffnungszeiten" cell (directory.hours' notation); closures stay the admin's."""
    written = parse_hours(text)
    if written.closures:
        message = _("“%(part)s”: closures are kept as they are here; enter them in the admin.")
        raise ValueError(message % {"part": format_closure(written.closures[0])})
    return list(written.slots)


# --- Spreadsheets: the columns ---------------------------------------------------------------------------------

CLEAR = "-"  # a cell holding only this clears the field; an empty cell leaves it as it is
TAXONOMY_COLUMNS = {"need": "Bedarfe", "target-group": "Zielgruppen", "residence-status": "Aufenthaltsstatus"}
TAXONOMY_COLUMNS["german-level"] = "Deutschniveau"
STATUS_WORDS = {
    "aktiv": m.ServiceStatus.ACTIVE,
    "inaktiv": m.ServiceStatus.INACTIVE,
    "eingestellt": m.ServiceStatus.DEFUNCT,
    "vorübergehend geschlossen": m.ServiceStatus.TEMPORARILY_CLOSED,
    **{value: value for value in m.ServiceStatus.values},
}


@dataclass(frozen=True)
class SheetColumn:
    header: str
    key: str
    help: str
    example: str = ""
    required: bool = False
    text_format: bool = False  # the template formats the column as text, so Excel keeps leading zeros
    max_length: int = 300
    aliases: tuple[str, ...] = ()


SHEET_COLUMNS: tuple[SheetColumn, ...] = (
    SheetColumn(
        "Quell-ID",
        "quell_id",
        "Ihre eigene, feste Kennung des Angebots in dieser Liste (z. B. die Nummer aus Ihrer Datenbank). "
        "Ein späterer Import mit derselben Quelle und Quell-ID aktualisiert das Angebot, statt es neu anzulegen. "
        "Jede Quell-ID nur einmal je Datei.",
        "KI-KLE-001",
        required=True,
        text_format=True,
        max_length=100,
        aliases=("Quell ID", "QuellID"),
    ),
    SheetColumn(
        "Quelle",
        "source",
        "Name der Liste oder Stelle, von der die Angaben stammen; Quell-IDs gelten je Quelle.",
        "Angebotsliste KI Kreis Kleve 2025",
        required=True,
    ),
    SheetColumn(
        "Quelle-URL",
        "source_url",
        "Wo die Quelle zu finden ist (nur für eine neue Quelle).",
        "https://www.kreis-kleve.de/",
    ),
    SheetColumn(
        "Träger",
        "organization",
        "Name des Trägers, genau wie im Wegweiser; ein unbekannter Träger wird neu angelegt.",
        "Kreis Kleve",
        required=True,
        max_length=200,
        aliases=("Traeger",),
    ),
    SheetColumn(
        "Angebot", "name", "Name des Angebots (Deutsch).", "Kommunales Integrationszentrum Kreis Kleve", required=True
    ),
    SheetColumn("Beschreibung", "description", "Was das Angebot leistet (Deutsch).", "Beratung zu …", max_length=5000),
    SheetColumn("Angebotsart", "service_type", "Code oder Name einer Angebotsart (Liste unten).", "ki"),
    SheetColumn("Bedarfe", "need", "Codes, durch ; getrennt (Liste unten).", "residence; counselling", max_length=1000),
    SheetColumn("Zielgruppen", "target-group", "Codes, durch ; getrennt (Liste unten).", "newcomers", max_length=1000),
    SheetColumn(
        "Aufenthaltsstatus",
        "residence-status",
        "Nur für Menschen mit diesem Aufenthaltsstatus? Codes (Liste unten); leer: für alle.",
        "",
        max_length=1000,
    ),
    SheetColumn(
        "Deutschniveau", "german-level", "Nötige Deutschkenntnisse, Codes (Liste unten).", "a2", max_length=1000
    ),
    SheetColumn(
        "Sprachen",
        "languages",
        "Sprachen der Beratung als ISO-639-Codes, durch ; getrennt.",
        "de; en; ar",
        max_length=1000,
    ),
    SheetColumn("Mindestalter", "minimum_age", "Alter in Jahren (ganze Zahl).", ""),
    SheetColumn("Höchstalter", "maximum_age", "Alter in Jahren (ganze Zahl).", "", aliases=("Hoechstalter",)),
    SheetColumn("Status", "status", "aktiv (Vorgabe), vorübergehend geschlossen, inaktiv oder eingestellt.", "aktiv"),
    SheetColumn("Standort", "location_name", "Name des Ortes, falls er einen hat.", "Kreishaus Kleve"),
    SheetColumn(
        "Straße", "street", "Straße und Hausnummer.", "Nassauerallee 15-23", aliases=("Strasse",), max_length=200
    ),
    SheetColumn("PLZ", "postcode", "Postleitzahl (NRW).", "47533", text_format=True, aliases=("Postleitzahl",)),
    SheetColumn("Ort", "city", "Ort bzw. Gemeinde.", "Kleve", max_length=100),
    SheetColumn(
        "Breitengrad",
        "latitude",
        "Genaue Lage (WGS 84, z. B. aus einer Karte); ohne Angabe gilt die Mitte der PLZ bzw. des Ortes.",
        "51,7867",
        aliases=("Latitude", "Lat"),
    ),
    SheetColumn(
        "Längengrad", "longitude", "Zum Breitengrad gehörig.", "6,1376", aliases=("Laengengrad", "Longitude", "Lon")
    ),
    SheetColumn("Telefon", "phones", "Eine oder mehrere Nummern, durch ; getrennt.", "02821 85-0", text_format=True),
    SheetColumn(
        "E-Mail", "email", "E-Mail-Adresse des Angebots.", "ki@kreis-kleve.de", aliases=("Email", "E-Mail-Adresse")
    ),
    SheetColumn(
        "Webseite",
        "url",
        "Internetseite des Angebots.",
        "https://www.kreis-kleve.de/",
        aliases=("Website", "Internetseite"),
    ),
    SheetColumn(
        "Öffnungszeiten",
        "hours",
        "Tage und Zeiten, Einträge durch ; getrennt; mehrere Zeiten eines Tages durch Komma; dahinter auf Wunsch, "
        "wie man kommt (z. B. Di 14–17 Uhr nach Vereinbarung).",
        "Mo-Fr 09:00-12:00; Di 14:00-16:00",
        max_length=1000,
        aliases=("Oeffnungszeiten",),
    ),
    SheetColumn(
        "Zugang",
        "attending",
        "Für die Öffnungszeiten dieser Zeile: offene Sprechstunde, nach Termin, telefonisch oder online.",
        "nach Termin",
    ),
    SheetColumn(
        "Zuständig für",
        "areas",
        "AGS der Gebiete, für die das Angebot zuständig ist: Gemeinde (8 Ziffern), Kreis (5), "
        "Regierungsbezirk (3) oder 05 für ganz NRW; durch ; getrennt.",
        "05154",
        text_format=True,
        max_length=2000,
        aliases=("Zustaendig fuer",),
    ),
    SheetColumn(
        "Nicht zuständig für",
        "excluded_areas",
        "AGS von Gebieten innerhalb davon, die ausgenommen sind (z. B. eine Stadt mit eigenem Amt).",
        "05154036",
        text_format=True,
        max_length=2000,
        aliases=("Nicht zustaendig fuer",),
    ),
    SheetColumn("Kostenlos", "free", "ja oder nein.", "ja"),
    SheetColumn("Kosten", "fees", "Kosten in Worten, falls es etwas kostet.", "", max_length=5000),
    SheetColumn(
        "Anmeldung", "application_process", "Wie man das Angebot bekommt.", "Termin per Telefon", max_length=5000
    ),
    SheetColumn("Voraussetzungen", "eligibility_description", "Wer das Angebot nutzen kann.", "", max_length=5000),
    SheetColumn(
        "Geprüft am",
        "verified",
        "Wann die Angaben zuletzt geprüft wurden (TT.MM.JJJJ). "
        "Ohne Datum gilt ein neues Angebot als noch nicht geprüft.",
        "15.01.2025",
        aliases=("Geprueft am",),
    ),
    *(
        SheetColumn(f"{label} ({code})", f"{key}_{code}", f"{label} auf {code} (optional).", "", max_length=limit)
        for code in NON_GERMAN_LANGUAGES
        for label, key, limit in (("Angebot", "name", 300), ("Beschreibung", "description", 5000))
    ),
)
TEXT_FIELDS = {  # spreadsheet key → translated Service field
    "name": "name",
    "description": "description",
    "fees": "fees_description",
    "application_process": "application_process",
    "eligibility_description": "eligibility_description",
}
LOCATION_KEYS = ("location_name", "street", "postcode", "city", "latitude", "longitude")


def fold_header(text: str) -> str:
    return re.sub(r"[\s_]+", " ", text.strip().casefold()).replace("ß", "ss")


HEADERS: dict[str, SheetColumn] = {
    fold_header(name): column for column in SHEET_COLUMNS for name in (column.header, *column.aliases)
}
COLUMN_BY_KEY = {column.key: column for column in SHEET_COLUMNS}


# --- Spreadsheets: reading -------------------------------------------------------------------------------------


class Formula(str):
    """An XLSX cell holding a formula (its text), which the import does not evaluate."""


@dataclass
class Sheet:
    """A sheet as it is read: its header row, then its further rows one at a time, never all in memory."""

    headers: list[str]
    rows: Iterator[tuple[int, list[Any]]]  # (line, cells)
    total: int | None  # how many rows follow the header, where that is known before reading them (progress)


CSV_DELIMITERS = (";", ",", "\t")
NUL_CHUNK = 64 * 1024


def read_csv(upload: ImportFile, report: ImportReport) -> Sheet | None:
    """The CSV file's rows, decoded as they are read (UTF-8, else Windows-1252 as Excel writes "CSV").

    A first pass over the file checks that one encoding reads all of it and counts its rows (the csv module
    does so at some million rows a second); the rows are then read a second time, one by one, for the import.
    """
    with upload.open() as raw:
        while chunk := raw.read(NUL_CHUNK):
            if b"\x00" in chunk:
                report.problem(
                    None, None, "Die Datei enthält Nullbytes: keine CSV-Textdatei (UTF-16? bitte als UTF-8 speichern)."
                )
                return None
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            delimiter, headers, count = _scan_csv(upload, encoding)
        except UnicodeDecodeError:
            continue
        except _BrokenCsv as exc:
            report.problem(exc.line, None, f"Die CSV-Datei ist ab hier nicht lesbar: {exc.__cause__}")
            return None
        break
    else:
        report.problem(None, None, "Zeichenkodierung nicht erkannt: bitte die Datei als „CSV UTF-8“ speichern.")
        return None
    if encoding == "cp1252":
        report.note("Die Datei ist nicht UTF-8-kodiert und wurde als Windows-1252 gelesen (Excel „CSV“).")
    if headers is None:
        report.problem(1, None, "Die Datei ist leer.")
        return None
    return Sheet(headers=headers, rows=_csv_rows(upload, encoding, delimiter), total=count)


class _BrokenCsv(Exception):
    def __init__(self, line: int) -> None:
        self.line = line


def _scan_csv(upload: ImportFile, encoding: str) -> tuple[str, list[str] | None, int]:
    """The delimiter, the header and how many rows follow it, when ``encoding`` reads the whole file (else
    UnicodeDecodeError); _BrokenCsv where the file stops being CSV."""
    with upload.open() as raw:
        text = io.TextIOWrapper(raw, encoding=encoding, newline="")
        first = text.readline()
        delimiter = max(CSV_DELIMITERS, key=first.split("\n", 1)[0].count)
        reader = csv.reader(itertools.chain([first], text), delimiter=delimiter)
        start, count = 1, 0
        try:
            headers = next(reader, None)
            start = reader.line_num + 1
            for _ in reader:
                count += 1
                start = reader.line_num + 1
        except csv.Error as exc:
            raise _BrokenCsv(start) from exc
    return delimiter, None if headers is None else [str(h) for h in headers], count


def _csv_rows(upload: ImportFile, encoding: str, delimiter: str) -> Iterator[tuple[int, list[Any]]]:
    """The rows after the header, each with the line it starts on."""
    with upload.open() as raw:
        reader = csv.reader(io.TextIOWrapper(raw, encoding=encoding, newline=""), delimiter=delimiter)
        next(reader, None)
        start = reader.line_num + 1
        for cells in reader:
            yield start, cells
            start = reader.line_num + 1


def unpacked_size_problem(upload: ImportFile) -> str | None:
    """Why an XLSX is refused before it is parsed, from the sizes its zip directory declares (a zip bomb).

    Python's zipfile never inflates a member past its declared size (a member that lies fails its check),
    so the declared sizes bound what parsing can unpack; openpyxl keeps all shared strings in memory, so
    they have a bound of their own. The sheet itself is read as a stream, whatever its size.
    """
    try:
        with upload.open() as raw, zipfile.ZipFile(raw) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        return None  # not a zip at all: openpyxl says so below
    total = sum(member.file_size for member in members)
    if len(members) > MAX_XLSX_MEMBERS or total > MAX_UNPACKED_BYTES:
        return (
            f"Die XLSX-Datei entpackt sich auf {total // (1024 * 1024)} MB in {len(members)} Teilen "
            f"(höchstens {MAX_UNPACKED_BYTES // (1024 * 1024)} MB): bitte als CSV speichern oder aufteilen."
        )
    shared = sum(member.file_size for member in members if member.filename.lower().endswith("sharedstrings.xml"))
    if shared > MAX_SHARED_STRINGS_BYTES:
        return (
            f"Die Texte der XLSX-Datei sind entpackt {shared // (1024 * 1024)} MB groß "
            f"(höchstens {MAX_SHARED_STRINGS_BYTES // (1024 * 1024)} MB): bitte als CSV speichern oder aufteilen."
        )
    return None


def read_xlsx(upload: ImportFile, report: ImportReport) -> Sheet | None:
    """The sheet "Angebote" (else the first one that is not "Anleitung"), read row by row (openpyxl's read-only
    mode parses the sheet's XML as it goes)."""
    import openpyxl

    _forget_read_rows()

    problem = unpacked_size_problem(upload)
    if problem is not None:
        report.problem(None, None, problem)
        return None
    raw = upload.open()
    try:
        book = openpyxl.load_workbook(raw, read_only=True, data_only=False)
        names = book.sheetnames
        name = "Angebote" if "Angebote" in names else next((n for n in names if n != "Anleitung"), names[0])
        sheet = book[name]
    except Exception as exc:  # openpyxl raises many kinds on damaged files
        raw.close()
        report.problem(None, None, f"Keine lesbare XLSX-Datei ({type(exc).__name__}).")
        return None
    try:  # the size the sheet declares, if it does: only for progress
        total = max(0, int(sheet.max_row) - 1) if sheet.max_row else None
    except Exception:
        total = None

    def close() -> None:
        book.close()
        raw.close()

    rows = _xlsx_rows(sheet, close, report)
    first = next(rows, None)
    if first is None:
        if report.ok:
            report.problem(1, None, f"Das Tabellenblatt „{name}“ ist leer.")
        return None
    return Sheet(headers=["" if value is None else str(value) for value in first[1]], rows=rows, total=total)


_OPENPYXL_ITERPARSE: dict[str, Any] = {}  # openpyxl's own XML reading, which _forgetting_rows wraps


def _forget_read_rows() -> None:
    """Make openpyxl's sheet reader (read-only or not) drop each row once read; once a process."""
    import openpyxl.worksheet._reader as sheet_reader

    # (The name the reader module imported; openpyxl's type stubs do not declare it.)
    if sheet_reader.iterparse is not _forgetting_rows:  # type: ignore[attr-defined]
        _OPENPYXL_ITERPARSE["parse"] = sheet_reader.iterparse  # type: ignore[attr-defined]
        sheet_reader.iterparse = _forgetting_rows  # type: ignore[attr-defined]


def _forgetting_rows(source: Any) -> Iterator[tuple[str, Any]]:
    """openpyxl's XML reading of a sheet, where a row leaves the parsed tree once openpyxl has read it.

    openpyxl only empties each <row> element it has read, and the emptied elements stay in the tree: about 140
    bytes a row (30,000 rows 4.9 MB), so a sheet's memory grew with its length. Yields what iterparse yields to
    openpyxl (end events); a row is removed from its parent when openpyxl asks for the next element.
    """
    parents: list[Any] = []
    for event, element in _OPENPYXL_ITERPARSE["parse"](source, events=("start", "end")):
        if event == "start":
            parents.append(element)
            continue
        parents.pop()
        yield event, element
        if parents and element.tag == _ROW_TAG:
            parents[-1].remove(element)


_ROW_TAG = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}row"


def _xlsx_rows(sheet: Any, close: Callable[[], Any], report: ImportReport) -> Iterator[tuple[int, list[Any]]]:
    """Every row of the sheet, the header first, each with its line; a damaged sheet ends them (and says so)."""
    try:
        for line, cells in enumerate(sheet.iter_rows(max_col=MAX_COLUMNS), start=1):
            values: list[Any] = []
            for item in cells:
                value = item.value
                if item.data_type == "f" and isinstance(value, str):
                    value = Formula(value)
                elif item.data_type == "e":
                    value = Formula(str(value))
                values.append(value)
            yield line, values
    except Exception as exc:  # a damaged sheet inside an intact zip
        report.problem(None, None, f"Das Tabellenblatt ist nicht lesbar ({type(exc).__name__}).")
    finally:
        close()


def cell_text(value: Any) -> str:
    """A cell as text: numbers without a spurious .0, dates as ISO dates."""
    if value is None:
        return ""
    if isinstance(value, Formula):
        raise ValueError(f"enthält eine Formel ({value[:40]}); bitte nur Werte eintragen")
    if isinstance(value, bool):
        return "ja" if value else "nein"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat(" ", "minutes")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.strftime("%H:%M")
    return str(value)


# --- Spreadsheets: checking rows -------------------------------------------------------------------------------


@dataclass
class SheetRow:
    line: int
    values: dict[str, Any]  # column key → checked value; CLEAR clears; a missing key leaves the field alone
    source_key: str = ""
    label: str = ""


class References:
    """The catalogue's reference data a row is checked against, each fetched once."""

    def __init__(self) -> None:
        self.areas = area_names()
        self.terms: dict[tuple[str, str], m.TaxonomyTerm] = {}
        for term in m.TaxonomyTerm.objects.select_related("taxonomy"):
            self.terms[(term.taxonomy.key, term.code.casefold())] = term
            german = (term.name or {}).get(FALLBACK_LANGUAGE)
            if german:
                self.terms.setdefault((term.taxonomy.key, german.casefold()), term)
        self.postcodes: dict[str, Point | None] = dict(m.Postcode.objects.values_list("code", "centroid"))
        self.organizations: dict[str, list[uuid.UUID]] = {}
        self.postcode_gemeinden: dict[str, m.Gemeinde | None] = {}
        self.city_gemeinden: dict[str, list[m.Gemeinde]] = {}

    def gemeinde_of_postcode(self, code: str) -> m.Gemeinde | None:
        """The Gemeinde holding the postcode's middle; all postcodes asked at once, when the first row needs one."""
        if not self.postcode_gemeinden:
            holding = m.Gemeinde.objects.filter(geometry__covers=OuterRef("centroid")).order_by("pk").values("ags")
            pairs = m.Postcode.objects.annotate(ags=Subquery(holding[:1])).values_list("code", "ags")
            gemeinden = {g.ags: g for g in m.Gemeinde.objects.defer("geometry")}
            self.postcode_gemeinden = {code: gemeinden.get(ags) if ags else None for code, ags in pairs}
        return self.postcode_gemeinden.get(code)

    def codes(self, taxonomy: str) -> list[str]:
        return sorted({t.code for (key, _), t in self.terms.items() if key == taxonomy})

    def find_organizations(self, names: Iterable[str]) -> None:
        """Ask once for every organisation named in a batch of rows (rather than once a name)."""
        unseen = {name.strip().casefold(): name.strip() for name in names if name.strip()}
        unseen = {key: name for key, name in unseen.items() if key not in self.organizations}
        if not unseen:
            return
        for key in unseen:
            self.organizations[key] = []
        # The same comparison as name__de__iexact (UPPER on both sides), for the whole list at once.
        matched = RawSQL(
            "UPPER((name ->> 'de')::text) = ANY(SELECT UPPER(x) FROM unnest(%s::text[]) AS x)",
            (list(unseen.values()),),
            output_field=BooleanField(),
        )
        found = m.Organization.objects.annotate(matched=matched).filter(matched=True).values_list("id", "name")
        strays = False
        for pk, name in found:
            key = str((name or {}).get(FALLBACK_LANGUAGE, "")).strip().casefold()
            if key in unseen:
                self.organizations[key].append(pk)
            else:
                strays = True
        if strays:  # a name PostgreSQL and Python fold differently: those still unmatched are asked one by one
            for key in unseen:
                if not self.organizations[key]:
                    del self.organizations[key]

    def gemeinden_named(self, name: str) -> list[m.Gemeinde]:
        """At most two Gemeinden of that name (more than one: ambiguous), asked once a name."""
        if name not in self.city_gemeinden:
            self.city_gemeinden[name] = list(m.Gemeinde.objects.named(name)[:2])
        return self.city_gemeinden[name]

    def organizations_named(self, name: str) -> list[uuid.UUID]:
        """Organisations whose German name is ``name``, ignoring case (a list: a name may be ambiguous)."""
        key = name.strip().casefold()
        if key not in self.organizations:
            found = m.Organization.objects.filter(name__de__iexact=name.strip()).values_list("id", flat=True)
            self.organizations[key] = list(found)
        return self.organizations[key]


def source_key(title: str) -> str:
    key = slugify(title)[:100].strip("-")
    return key or f"import-{uuid.uuid5(IMPORT_NAMESPACE, title).hex[:12]}"


class RowChecker:
    """Turns one spreadsheet row into checked values, collecting every problem it finds."""

    def __init__(self, refs: References, report: ImportReport) -> None:
        self.refs = refs
        self.report = report

    def check(self, line: int, cells: dict[str, Any]) -> SheetRow | None:
        """The row's checked values, or None (its problems reported), worded in German as every problem of a
        sheet is. Switching the language, even asking which one is active, costs more than reading a cell: so a
        row is checked in German as a whole and its cells are read without asking again, and a caller checking
        many rows may switch once for all of them."""
        if translation.get_language() == "de":
            return self.check_row(line, cells)
        with translation.override("de"):
            return self.check_row(line, cells)

    def check_row(self, line: int, cells: dict[str, Any]) -> SheetRow | None:
        """:meth:`check` with German active."""
        self.line = line
        self.ok = True
        self.failed: set[str | None] = set()  # the columns of the row with a problem
        values: dict[str, Any] = {}
        texts: dict[str, str] = {}
        for key, raw in cells.items():
            column = COLUMN_BY_KEY[key]
            try:
                text = cell_text(raw).strip()
            except ValueError as exc:
                self.fail(column, str(exc))
                continue
            try:
                text = formulas.read(text)
            except ValueError as exc:
                self.fail(column, str(exc))
                continue
            if UNSAFE_IN_TEXT.search(text):
                self.fail(column, "enthält Steuerzeichen (kaputte Kodierung oder Binärdaten?)")
            elif len(text) > column.max_length:
                self.fail(column, f"ist {len(text)} Zeichen lang, höchstens {column.max_length} erlaubt")
            elif key == "phones" and isinstance(raw, (int, float)) and not isinstance(raw, bool):
                self.fail(column, "ist als Zahl formatiert (die führende 0 geht verloren); bitte als Text eingeben")
            elif text:
                texts[key] = text
        for column in SHEET_COLUMNS:
            missing = column.required and not texts.get(column.key) and column.key in cells
            if missing and column.header not in self.failed:
                self.fail(column, "fehlt (Pflichtangabe)")
        for key, text in texts.items():
            if text == CLEAR and not COLUMN_BY_KEY[key].required:
                values[key] = CLEAR
                continue
            try:
                values[key] = self.value(key, text)
            except ValueError as exc:
                self.fail(COLUMN_BY_KEY[key], str(exc))
        self.check_together(values)
        organization = values.get("organization")
        if isinstance(organization, str) and len(self.refs.organizations_named(organization)) > 1:
            self.fail(COLUMN_BY_KEY["organization"], f"„{organization}“ ist mehrdeutig: mehrere Träger heißen so")
        if not self.ok:
            return None
        return SheetRow(line, values, source_key(values["source"]), values["name"])

    def fail(self, column: SheetColumn | None, message: str) -> None:
        self.ok = False
        self.failed.add(column.header if column else None)
        self.report.problem(self.line, column.header if column else None, message)

    def value(self, key: str, text: str) -> Any:
        if key in ("quell_id", "source", "organization", "location_name", "street", "city"):
            return " ".join(text.split())
        if key in ("name", *(f"name_{code}" for code in NON_GERMAN_LANGUAGES)):
            return " ".join(text.split())
        if key in TEXT_FIELDS or key.startswith("description_"):
            return text
        if key in ("source_url", "url"):
            return check_url(text)
        if key == "email":
            return check_email(text)
        if key == "service_type":
            return self.terms("service-type", [text])[0]
        if key in TAXONOMY_COLUMNS:
            return self.terms(key, split_list(text))
        if key == "languages":
            return parse_languages(text)
        if key in ("minimum_age", "maximum_age"):
            number = parse_number(text)
            if not number.is_integer() or not 0 <= number <= 120:
                raise ValueError(f"„{text}“ ist kein Alter in Jahren (0–120)")
            return int(number)
        if key == "status":
            status = STATUS_WORDS.get(text.casefold())
            if status is None:
                raise ValueError(
                    f"„{text}“: unbekannter Status (aktiv, vorübergehend geschlossen, inaktiv, eingestellt)"
                )
            return status
        if key == "postcode":
            code = text.replace(" ", "")
            if not re.fullmatch(m.POSTCODE, code):
                raise ValueError(f"„{text}“ ist keine Postleitzahl (5 Ziffern)")
            if code not in self.refs.postcodes:
                raise ValueError(f"{code} ist keine Postleitzahl in NRW")
            return code
        if key in ("latitude", "longitude"):
            return parse_number(text)
        if key == "phones":
            return parse_phones(text)
        if key == "hours":
            return read_hours(text)
        if key == "attending":
            attending = ATTENDING_WORDS.get(text.casefold())
            if attending is None:
                raise ValueError(f"„{text}“: bitte offene Sprechstunde, nach Termin, telefonisch oder online")
            return attending
        if key in ("areas", "excluded_areas"):
            codes = [normal_ags(code.replace(" ", "")) for code in split_list(text)]
            bad = [code for code in codes if code not in self.refs.areas]
            if bad:
                raise ValueError(
                    f"unbekannter AGS {', '.join(bad)} (Gemeinde 8, Kreis 5, Regierungsbezirk 3 Ziffern, NRW 05)"
                )
            return codes
        if key == "free":
            answer = yes_no(text)
            if answer is None:
                raise ValueError(f"„{text}“: bitte ja oder nein")
            return answer
        if key == "verified":
            date = parse_date(text)
            if date > dt.date.today():
                raise ValueError(f"{date:%d.%m.%Y} liegt in der Zukunft")
            return date
        raise ValueError("unbekannte Spalte")  # pragma: no cover - every key is handled above

    def terms(self, taxonomy: str, codes: list[str]) -> list[m.TaxonomyTerm]:
        found = [self.refs.terms.get((taxonomy, code.casefold())) for code in codes]
        unknown = [code for code, term in zip(codes, found, strict=True) if term is None]
        if unknown:
            known = ", ".join(self.refs.codes(taxonomy))
            raise ValueError(f"unbekannter Code {', '.join(unknown)} (bekannt: {known})")
        return list(dict.fromkeys(term for term in found if term is not None))

    def check_together(self, values: dict[str, Any]) -> None:
        """What only a row as a whole can say: an age range, coordinates in pairs and in NRW, areas, hours."""
        low, high = values.get("minimum_age"), values.get("maximum_age")
        if isinstance(low, int) and isinstance(high, int) and low > high:
            self.fail(COLUMN_BY_KEY["maximum_age"], f"{high} liegt unter dem Mindestalter {low}")
        included, excluded = values.get("areas"), values.get("excluded_areas")
        if isinstance(included, list) and isinstance(excluded, list) and set(included) & set(excluded):
            both = ", ".join(sorted(set(included) & set(excluded)))
            self.fail(COLUMN_BY_KEY["excluded_areas"], f"{both} steht auch unter „Zuständig für“")
        if "attending" in values and not isinstance(values.get("hours"), list):
            self.fail(COLUMN_BY_KEY["attending"], "gilt nur zusammen mit Öffnungszeiten in derselben Zeile")
        if any(key in values for key in LOCATION_KEYS):
            self.check_place(values)

    def check_place(self, values: dict[str, Any]) -> None:
        lat, lon = values.get("latitude"), values.get("longitude")
        if (lat is None) != (lon is None) or CLEAR in (lat, lon):
            self.fail(COLUMN_BY_KEY["latitude"], "Breitengrad und Längengrad gehören zusammen")
            return
        if isinstance(lat, float) and isinstance(lon, float):
            if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                self.fail(COLUMN_BY_KEY["latitude"], f"{lat}, {lon} sind keine Koordinaten")
                return
            point = Point(lon, lat, srid=4326)
            gemeinde = m.Gemeinde.objects.containing(point).first()
            if gemeinde is None:
                hint = " (vertauscht?)" if m.Gemeinde.objects.containing(Point(lat, lon, srid=4326)).exists() else ""
                self.fail(COLUMN_BY_KEY["latitude"], f"{lat}, {lon} liegt außerhalb von NRW{hint}")
                return
            values["_place"] = (point, m.PointAccuracy.EXACT, gemeinde)
            return
        postcode, city = values.get("postcode"), values.get("city")
        centroid = self.refs.postcodes.get(postcode) if isinstance(postcode, str) else None
        if centroid is not None:
            gemeinde = self.refs.gemeinde_of_postcode(str(postcode))
            if gemeinde is not None:
                values["_place"] = (centroid, m.PointAccuracy.POSTCODE, gemeinde)
                return
        if isinstance(city, str):
            found = self.refs.gemeinden_named(city)
            if len(found) == 1:
                values["_place"] = (representative_point(found[0]), m.PointAccuracy.MUNICIPALITY, found[0])
                return
        self.fail(
            COLUMN_BY_KEY["postcode"], "Ort nicht gefunden: bitte eine PLZ in NRW, einen Ort in NRW oder Koordinaten"
        )


# --- Spreadsheets: writing -------------------------------------------------------------------------------------

CHANGE_LABELS = {  # Service field → the column an editor knows it by
    "name": "Angebot",
    "description": "Beschreibung",
    "fees_description": "Kosten",
    "application_process": "Anmeldung",
    "eligibility_description": "Voraussetzungen",
    "url": "Webseite",
    "email": "E-Mail",
    "status": "Status",
    "minimum_age": "Mindestalter",
    "maximum_age": "Höchstalter",
    "service_type_id": "Angebotsart",
    "organization_id": "Träger",
    "source_id": "Quelle",
    "verification_state": "Geprüft am",
    "last_verified_at": "Geprüft am",
    "external_source": "Quell-ID",
    "external_id": "Quell-ID",
}
SERVICE_COLUMNS = {field: label for field, label in CHANGE_LABELS.items()}
SERVICE_COLUMNS.update({"service_type": "Angebotsart", "organization": "Träger", "source": "Quelle"})


def merge_text(current: dict[str, str] | None, german: Any, translations: dict[str, Any]) -> dict[str, str]:
    """A translated field after a row: a changed German text drops the old text's translations."""
    result = dict(current or {})
    if german == CLEAR:
        result = {}
    elif isinstance(german, str) and german != result.get(FALLBACK_LANGUAGE):
        result = {FALLBACK_LANGUAGE: german}
    for code, text in translations.items():
        if text == CLEAR:
            result.pop(code, None)
        elif isinstance(text, str):
            result[code] = text
    return {code: text for code, text in result.items() if text}


class Batch:
    """The records a batch of rows writes to its services' lists and places: first what the services hold now
    (one query per kind of record), then each row's wishes prepared against it, then one write per kind."""

    KINDS: tuple[type[Any], ...] = (m.Phone, m.Language, m.Attribute, m.ServiceArea, m.Schedule, m.CostOption)

    def __init__(self, writer: Writer, service_ids: list[uuid.UUID]) -> None:
        self.writer = writer
        # New services hold nothing yet: only those already in the catalogue are asked about.
        self.current: dict[type[Any], dict[uuid.UUID, list[Any]]] = {kind: {} for kind in self.KINDS}
        self.locations: dict[uuid.UUID, m.Location] = {}
        self.addresses: dict[uuid.UUID, m.Address] = {}
        self.links: dict[tuple[uuid.UUID, uuid.UUID], m.ServiceAtLocation] = {}
        if service_ids:
            for kind in self.KINDS:
                found = kind._default_manager.filter(service_id__in=service_ids).order_by("pk")
                if kind is m.Attribute:
                    found = found.annotate(taxonomy_key=F("taxonomy_term__taxonomy__key"))
                for record in found:
                    self.current[kind].setdefault(record.service_id, []).append(record)
            location_ids = [import_id("location", str(pk)) for pk in service_ids]
            self.locations = {r.pk: r for r in m.Location.objects.filter(pk__in=location_ids)}
            address_ids = [import_id("address", str(pk)) for pk in location_ids]
            self.addresses = {r.pk: r for r in m.Address.objects.filter(pk__in=address_ids)}
            links = m.ServiceAtLocation.objects.filter(service_id__in=service_ids, location_id__in=location_ids)
            self.links = {(r.service_id, r.location_id): r for r in links}
        self.prepared: dict[type[Any], list[tuple[Any, Outcome, list[str]]]] = {}
        self.deleted: list[Any] = []

    def held(self, kind: type[Any], service: m.Service) -> list[Any]:
        return self.current[kind].get(service.pk, [])

    def upsert(self, model: type[Any], record: Any, pk: Any, values: dict[str, Any], **checked: Any) -> Any:
        done = self.writer.prepare(model, record, pk, values, **checked)
        if done[1] in (Outcome.CREATED, Outcome.CHANGED):
            self.prepared.setdefault(model, []).append(done)
        return done

    def sync(
        self,
        model: type[Any],
        current: list[Any],
        wanted: dict[Any, dict[str, Any]],
        key_of: Callable[[Any], Any],
        kind: str,
        service: m.Service,
        line: int,
    ) -> bool:
        """Make the records in ``current`` what ``wanted`` says (key → values): update, create, delete."""
        existing: dict[Any, Any] = {}
        surplus = []
        for record in current:
            if key_of(record) in existing:
                surplus.append(record)
            else:
                existing[key_of(record)] = record
        changed = False
        for key, values in wanted.items():
            record = existing.pop(key, None)
            pk = record.pk if record is not None else import_id(kind, f"{service.pk}/{key}")
            # The service was just saved and every term, code and AGS checked: the database checks the rest.
            _, outcome, _ = self.upsert(model, record, pk, values, where=Where(line), validation=Validation.FIELDS)
            changed |= outcome != Outcome.UNCHANGED
        for record in [*existing.values(), *surplus]:
            self.deleted.append(record)
            changed = True
        return changed

    def write_order(self) -> Iterator[tuple[type[Any], list[tuple[Any, Outcome, list[str]]]]]:
        """Deletes first (a new record may take a deleted one's key), then each kind with fresh ids made sure."""
        by_model: dict[type[Any], list[Any]] = {}
        for record in self.deleted:
            by_model.setdefault(type(record), []).append(record)
        for records in by_model.values():
            self.writer.delete_many(records)
        for model, prepared in self.prepared.items():
            fresh = [record.pk for record, outcome, _ in prepared if outcome == Outcome.CREATED]
            taken = set(model._default_manager.filter(pk__in=fresh).values_list("pk", flat=True)) if fresh else set()
            for record, outcome, _changed in prepared:
                if outcome == Outcome.CREATED and record.pk in taken and model not in (m.Location, m.Address):
                    record.pk = uuid.uuid4()  # that id went to a record an editor since moved or removed
            yield model, prepared


class SeenKeys:
    """The list's own ids (Quelle, Quell-ID) of the rows read so far, with their lines: each id once a file.

    They are kept in a temporary table of the import's transaction rather than in memory, so that a file of
    any length is checked against all its earlier rows in one query a batch, in memory that does not grow.
    """

    def __init__(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE TEMPORARY TABLE IF NOT EXISTS import_seen_key (source text, ident text, line integer NOT NULL,"
                " PRIMARY KEY (source, ident)) ON COMMIT DROP"
            )
            cursor.execute("TRUNCATE import_seen_key")  # an earlier import in the same transaction (tests)

    def earlier(self, keys: list[tuple[str, str, int]]) -> dict[int, int]:
        """Note the (source, id, line) of a batch's rows; returns line → the earlier line, for ids seen before."""
        if not keys:
            return {}
        columns = [list(column) for column in zip(*keys, strict=True)]
        given = "unnest(%s::text[], %s::text[], %s::integer[]) AS given(source, ident, line)"
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO import_seen_key SELECT * FROM {given} ON CONFLICT DO NOTHING RETURNING line",  # noqa: S608
                columns,
            )
            added = {line for (line,) in cursor.fetchall()}
            if len(added) == len(keys):
                return {}
            cursor.execute(
                f"SELECT given.line, seen.line FROM {given} JOIN import_seen_key AS seen"  # noqa: S608
                " ON seen.source = given.source AND seen.ident = given.ident WHERE seen.line <> given.line",
                columns,
            )
            return dict(cursor.fetchall())


def _batches(rows: Iterator[T], size: int) -> Iterator[list[T]]:
    while batch := list(itertools.islice(rows, size)):
        yield batch


_WRITTEN = (Outcome.CREATED, Outcome.CHANGED)


class SpreadsheetImport:
    """Reads the sheet a batch of rows at a time: checks each row (collecting all problems), writes those that
    passed. Memory holds one batch, whatever the length of the file."""

    def __init__(self, upload: ImportFile, file_format: str, report: ImportReport, writer: Writer) -> None:
        self.upload = upload
        self.format = file_format
        self.report = report
        self.writer = writer
        self.sources: dict[str, m.Source] = {}

    def run(self) -> Iterator[Progress]:
        sheet = read_csv(self.upload, self.report) if self.format == "csv" else read_xlsx(self.upload, self.report)
        if sheet is None:
            return
        columns = self.columns(sheet.headers)
        if columns is None:
            return
        self.refs = References()
        checker = RowChecker(self.refs, self.report)
        seen = SeenKeys()
        width = len(sheet.headers)
        unnamed = [i for i, header in enumerate(sheet.headers) if not " ".join(str(header).split())]
        total = sheet.total or 0  # 0: not known before reading (the page then shows the rows done only)
        # Rows are checked and written a batch at a time: every lookup and every write of a batch is one query
        # per kind of record. Rows of a file with problems are still written (and rolled back at the end), so
        # the report says what each good row would do. A small file in smaller batches, so that its progress
        # still shows in about ten steps.
        size = min(BATCH_ROWS, max(2 * PROGRESS_EVERY, -(-total // 10))) if total else BATCH_ROWS
        done = 0
        for batch in _batches(sheet.rows, size):
            done += len(batch)
            results: dict[int, RowResult] = {}
            checked: list[SheetRow] = []
            # A row with nothing in the columns read (a note in a # column at most) is no row.
            batch = [
                (line, cells)
                for line, cells in batch
                if any(index < len(cells) and cell_text_or_blank(cells[index]) for index in (*columns, *unnamed))
                or any(cell_text_or_blank(c) for c in cells[width:])
            ]
            self.refs.find_organizations(_cell(cells, columns, "organization") for _, cells in batch)
            with translation.override("de"):  # once for the batch's rows (RowChecker.check)
                for line, cells in batch:
                    stray = [index for index in unnamed if index < len(cells) and cell_text_or_blank(cells[index])]
                    for index in stray:
                        self.report.problem(line, _letter(index), "Wert in einer Spalte ohne Überschrift")
                    extra = [c for c in cells[width:] if cell_text_or_blank(c)]
                    if extra:
                        self.report.problem(line, None, "mehr Zellen als Spaltenüberschriften")
                    row = checker.check(line, {c.key: cells[i] if i < len(cells) else None for i, c in columns.items()})
                    if row is None or extra or stray:
                        ident, label = _cell(cells, columns, "quell_id")[:100], _cell(cells, columns, "name")[:80]
                        results[line] = RowResult(line, ident, label, Outcome.REJECTED)
                    else:
                        checked.append(row)
            earlier = seen.earlier([(row.source_key, str(row.values["quell_id"]), row.line) for row in checked])
            for row in [row for row in checked if row.line in earlier]:
                ident = row.values["quell_id"]
                message = f"„{ident}“ kommt für diese Quelle schon in Zeile {earlier[row.line]} vor"
                self.report.problem(row.line, "Quell-ID", message)
                results[row.line] = RowResult(row.line, ident, row.label, Outcome.REJECTED)
            checked = [row for row in checked if row.line not in earlier]
            yield Progress(done, total, "geprüft")
            if checked:
                results.update(self.write_batch(checked))
            for line in sorted(results):
                self.report.add_row(results[line])
            yield Progress(done, total, "verarbeitet")

    def columns(self, headers: list[str]) -> dict[int, SheetColumn] | None:
        """Column index → column, from the header row; problems for unknown, repeated and missing ones."""
        found: dict[int, SheetColumn] = {}
        ok = True
        for index, header in enumerate(headers):
            name = " ".join(str(header).split())
            if not name or name.startswith("#"):
                continue  # a column without a heading is only wrong where it holds a value (see run)
            column = HEADERS.get(fold_header(name))
            if column is None:
                self.report.problem(
                    1,
                    name[:60],
                    "unbekannte Spalte (Schreibweise prüfen; Spalten, die mit # beginnen, werden übergangen)",
                )
                ok = False
            elif column in found.values():
                self.report.problem(1, name, "Spalte kommt doppelt vor")
                ok = False
            else:
                found[index] = column
        for column in SHEET_COLUMNS:
            if column.required and column not in found.values():
                self.report.problem(1, column.header, "Pflichtspalte fehlt")
                ok = False
        return found if ok else None

    # -- a batch of rows --

    def write_batch(self, rows: list[SheetRow]) -> dict[int, RowResult]:
        """Write checked rows: their services in one go, then each kind of their records in one go."""
        results: dict[int, RowResult] = {}
        ready: list[tuple[SheetRow, m.Source]] = []
        for row in rows:
            try:
                ready.append((row, self.source(row)))
            except Rejected as exc:
                self.reject(row, exc, results)
        organizations = self.organizations(ready, results)
        ready = [(row, source) for row, source in ready if row.line not in results]
        wanted = {(source.key, str(row.values["quell_id"])) for row, source in ready}
        # "external_id <> ''" as the unique index on (external_source, external_id) says, so that it is used.
        found = m.Service.objects.filter(
            external_source__in={key for key, _ in wanted}, external_id__in={ident for _, ident in wanted}
        ).exclude(external_id="")
        services = {(s.external_source, s.external_id): s for s in found}
        fresh = {key: import_id("service", f"{key[0]}/{key[1]}") for key in wanted if key not in services}
        taken = set(m.Service.objects.filter(pk__in=fresh.values()).values_list("pk", flat=True)) if fresh else set()
        prepared: list[tuple[SheetRow, m.Source, tuple[Any, Outcome, list[str]]]] = []
        for row, source in ready:
            key = (source.key, str(row.values["quell_id"]))
            service = services.get(key)
            pk = service.pk if service else fresh[key]
            if service is None and pk in taken:
                pk = uuid.uuid4()  # that id went to a service whose Quell-ID an editor since removed
            values = self.service_values(row, service, source, organizations[row.line])
            try:
                # Every reference and rule a row can break is checked above (ages, the Quell-ID once a file,
                # the organisation, source and terms it names); the database checks the constraints on save.
                done = self.writer.prepare(
                    m.Service,
                    service,
                    pk,
                    values,
                    where=Where(row.line, columns=SERVICE_COLUMNS),
                    validation=Validation.FIELDS,
                )
            except Rejected as exc:
                self.reject(row, exc, results)
                continue
            prepared.append((row, source, done))
        if not self.save(m.Service, [done for _, _, done in prepared], rows, results):
            return results
        batch = Batch(
            self.writer, [service.pk for _, _, (service, outcome, _) in prepared if outcome != Outcome.CREATED]
        )
        for row, source, (service, outcome, changed) in prepared:
            changes = list(dict.fromkeys(CHANGE_LABELS.get(name, name) for name in changed))
            provenance = {
                "source_id": source.pk,
                "verification_state": service.verification_state,
                "last_verified_at": service.last_verified_at,
            }
            try:
                for label, did_change in self.children(row, service, provenance, batch):
                    if did_change and label not in changes:
                        changes.append(label)
            except Rejected as exc:
                self.reject(row, exc, results)
                continue
            if outcome == Outcome.CREATED:
                results[row.line] = RowResult(row.line, row.values["quell_id"], row.label, Outcome.CREATED)
            else:
                changed_outcome = Outcome.CHANGED if changes else Outcome.UNCHANGED
                results[row.line] = RowResult(row.line, row.values["quell_id"], row.label, changed_outcome, changes)
        for model, done_list in batch.write_order():
            if not self.save(model, done_list, rows, results):
                return results
        if not self.report.problems:  # (with problems nothing is kept: no need)
            # A row that changed nothing changed no service's search text either.
            written = [service.pk for row, _, (service, _, _) in prepared if results[row.line].outcome in _WRITTEN]
            if written:
                refresh_search_text(written)
        return results

    def reject(self, row: SheetRow, exc: Rejected, results: dict[int, RowResult]) -> None:
        self.report.add_problems(exc.problems)
        results[row.line] = RowResult(row.line, row.values["quell_id"], row.label, Outcome.REJECTED)

    def save(
        self,
        model: type[Any],
        prepared: list[tuple[Any, Outcome, list[str]]],
        rows: list[SheetRow],
        results: dict[int, RowResult],
    ) -> bool:
        """Write one kind of record of a batch; when the database refuses them, the batch's rows are rejected."""
        lines = f"Zeilen {rows[0].line}–{rows[-1].line}" if len(rows) > 1 else f"Zeile {rows[0].line}"
        try:
            self.writer.save_many(model, prepared, where=Where(rows[0].line))
        except Rejected as exc:
            # One statement writes the batch, so the database cannot say which row broke its rule.
            self.report.add_problems([Problem(p.line, p.column, f"{lines}: {p.message}", p.file) for p in exc.problems])
            for row in rows:
                results[row.line] = RowResult(row.line, row.values["quell_id"], row.label, Outcome.REJECTED)
            return False
        return True

    def source(self, row: SheetRow) -> m.Source:
        key = row.source_key
        if key not in self.sources:
            title = row.values["source"]
            source = m.Source.objects.filter(key=key).first() or m.Source.objects.filter(title=title).first()
            if source is None:
                url = row.values.get("source_url")
                source = m.Source(
                    key=key,
                    title=title,
                    url=url if isinstance(url, str) and url != CLEAR else "",
                    document="" if isinstance(url, str) and url != CLEAR else f"Import: {self.upload.name}"[:300],
                )
                try:
                    source.full_clean()
                except ValidationError as exc:
                    raise Rejected([Problem(row.line, "Quelle", " ".join(exc.messages))]) from exc
                with transaction.atomic():
                    source.save()
                self.report.count(m.Source, Outcome.CREATED)
            self.sources[key] = source
        return self.sources[key]

    def organizations(
        self, ready: list[tuple[SheetRow, m.Source]], results: dict[int, RowResult]
    ) -> dict[int, uuid.UUID]:
        """Line → the organisation each row names; organisations not yet in the catalogue are created at once."""
        chosen: dict[int, uuid.UUID] = {}
        missing: dict[uuid.UUID, tuple[SheetRow, dict[str, Any]]] = {}
        for row, source in ready:
            name = row.values["organization"]
            found = self.refs.organizations_named(name)
            pk = found[0] if found else import_id("organization", m.fold_name(name))
            if not found:
                missing.setdefault(pk, (row, {"name": {FALLBACK_LANGUAGE: name}, "source_id": source.pk}))
            chosen[row.line] = pk
        existing = set(m.Organization.objects.filter(pk__in=missing).values_list("pk", flat=True)) if missing else set()
        prepared = []
        for pk, (row, values) in missing.items():
            self.refs.organizations_named(row.values["organization"]).append(pk)
            if pk in existing:
                continue
            try:
                where = Where(row.line, columns={"name": "Träger"})
                prepared.append(
                    self.writer.prepare(m.Organization, None, pk, values, where=where, validation=Validation.FIELDS)
                )
            except Rejected as exc:
                self.reject(row, exc, results)
        if prepared:
            self.save(m.Organization, prepared, [row for row, _ in ready], results)
        return chosen

    def service_values(
        self, row: SheetRow, service: m.Service | None, source: m.Source, organization_id: uuid.UUID
    ) -> dict[str, Any]:
        given = row.values
        values: dict[str, Any] = {
            "organization_id": organization_id,
            "source_id": source.pk,
            "external_source": source.key,
            "external_id": given["quell_id"],
        }
        for key, name in TEXT_FIELDS.items():
            translations = {code: given.get(f"{key}_{code}") for code in NON_GERMAN_LANGUAGES}
            if key in given or any(text is not None for text in translations.values()):
                current = getattr(service, name) if service is not None else {}
                values[name] = merge_text(current, given.get(key), translations)
        for key in ("url", "email"):
            if key in given:
                values[key] = "" if given[key] == CLEAR else given[key]
        if "status" in given:
            values["status"] = m.ServiceStatus.ACTIVE if given["status"] == CLEAR else given["status"]
        for key in ("minimum_age", "maximum_age"):
            if key in given:
                values[key] = None if given[key] == CLEAR else given[key]
        if "service_type" in given:
            values["service_type_id"] = None if given["service_type"] == CLEAR else given["service_type"].pk
        if "verified" in given:
            if given["verified"] == CLEAR:
                values.update(verification_state=m.VerificationState.UNVERIFIED, last_verified_at=None)
            else:
                when = dt.datetime.combine(given["verified"], dt.time(12), tzinfo=dt.UTC)
                values.update(verification_state=m.VerificationState.VERIFIED, last_verified_at=when)
        return values

    def children(
        self, row: SheetRow, service: m.Service, provenance: dict[str, Any], batch: Batch
    ) -> Iterator[tuple[str, bool]]:
        """Bring the service's lists up to the row; yields (column, whether anything changed)."""
        given, line = row.values, row.line
        base = {"service_id": service.pk, **provenance}
        # What a row writes carries the service's provenance (as data/ loads do).
        if "phones" in given:
            phones = [] if given["phones"] == CLEAR else given["phones"]
            # A type or extension the cell does not give stays as it is.
            wanted = {
                p.number: {
                    **base,
                    "number": p.number,
                    **({"type": p.type, "extension": p.extension} if p.type else {}),
                }
                for p in phones
            }
            yield (
                "Telefon",
                batch.sync(m.Phone, batch.held(m.Phone, service), wanted, lambda r: r.number, "phone", service, line),
            )
        if "languages" in given:
            codes = [] if given["languages"] == CLEAR else given["languages"]
            wanted = {code: {**base, "code": code} for code in codes}
            yield (
                "Sprachen",
                batch.sync(
                    m.Language, batch.held(m.Language, service), wanted, lambda r: r.code, "language", service, line
                ),
            )
        for taxonomy, label in TAXONOMY_COLUMNS.items():
            if taxonomy in given:
                terms = [] if given[taxonomy] == CLEAR else given[taxonomy]
                wanted = {term.pk: {**base, "taxonomy_term_id": term.pk} for term in terms}
                current = [a for a in batch.held(m.Attribute, service) if a.taxonomy_key == taxonomy]
                yield (
                    label,
                    batch.sync(m.Attribute, current, wanted, lambda r: r.taxonomy_term_id, "attribute", service, line),
                )
        if "areas" in given or "excluded_areas" in given:
            yield "Zuständig für", self.areas(given, service, base, line, batch)
        if "hours" in given:
            slots = [] if given["hours"] == CLEAR else given["hours"]
            # How to come: what the cell says after the times, else the "Zugang" column, else as it is.
            column = given["attending"] if given.get("attending") not in (None, CLEAR) else ""
            wanted = {
                (s.byday, s.opens, s.closes): {
                    **base,
                    "byday": s.byday,
                    "opens_at": s.opens,
                    "closes_at": s.closes,
                    **({"attending_type": s.attending_type or column} if s.attending_type or column else {}),
                }
                for s in slots
            }
            slots_now = [s for s in batch.held(m.Schedule, service) if not s.is_closed]
            yield (
                "Öffnungszeiten",
                batch.sync(
                    m.Schedule,
                    slots_now,
                    wanted,
                    lambda r: (r.byday, r.opens_at, r.closes_at),
                    "schedule",
                    service,
                    line,
                ),
            )
        if "free" in given:
            free = given["free"] is True
            wanted = {Decimal(0): {**base, "amount": Decimal(0)}} if free else {}
            free_now = [c for c in batch.held(m.CostOption, service) if c.amount == 0]
            yield "Kostenlos", batch.sync(m.CostOption, free_now, wanted, lambda r: r.amount, "cost", service, line)
        if "_place" in given:
            yield "Standort", self.place(given, service, provenance, line, batch)

    def areas(self, given: dict[str, Any], service: m.Service, base: dict[str, Any], line: int, batch: Batch) -> bool:
        """The service's areas: a given column replaces its kind (including or excluding), the other stays."""
        current = batch.held(m.ServiceArea, service)
        kinds = ((False, "areas"), (True, "excluded_areas"))
        wanted: dict[str, dict[str, Any]] = {}
        for excludes, key in kinds:  # what the row leaves alone first …
            if key not in given:
                for area in current:
                    if area.excludes == excludes:
                        wanted[area.ags] = {**base, "ags": area.ags, "excludes": excludes, "name": area.name}
        for excludes, key in kinds:  # … then what it says, which wins
            for ags in [] if key not in given or given[key] == CLEAR else given[key]:
                wanted[ags] = {**base, "ags": ags, "excludes": excludes, "name": self.refs.areas.get(ags, "")[:200]}
        return batch.sync(m.ServiceArea, current, wanted, lambda r: r.ags, "service-area", service, line)

    def place(
        self, given: dict[str, Any], service: m.Service, provenance: dict[str, Any], line: int, batch: Batch
    ) -> bool:
        """The row's place: a location (with its address) of the service, created once and then kept up to date."""
        point, accuracy, gemeinde = given["_place"]
        pk = import_id("location", str(service.pk))
        location = batch.locations.get(pk)
        name = given.get("location_name", CLEAR)
        values = {
            "organization_id": service.organization_id,
            "location_type": m.LocationType.PHYSICAL,
            "name": merge_text(location.name if location else {}, name, {}),
            "point": point,
            "point_accuracy": accuracy,
            "gemeinde_id": gemeinde.ags,
            **provenance,
        }
        # What the row's place refers to (service, Gemeinde, location) exists: the database checks the rest.
        checked: dict[str, Any] = {"where": Where(line, columns=_PLACE_COLUMNS), "validation": Validation.FIELDS}
        location, outcome, _ = batch.upsert(m.Location, location, pk, values, **checked)
        changed = outcome != Outcome.UNCHANGED
        address_pk = import_id("address", str(pk))
        address_values = {
            "location_id": pk,
            "address_1": given.get("street") if given.get("street") not in (None, CLEAR) else "",
            "postal_code": given.get("postcode") if given.get("postcode") not in (None, CLEAR) else "",
            "city": given.get("city") if given.get("city") not in (None, CLEAR) else gemeinde.name,
            **provenance,
        }
        address = batch.addresses.get(address_pk)
        _, outcome, _ = batch.upsert(m.Address, address, address_pk, address_values, **checked)
        changed |= outcome != Outcome.UNCHANGED
        link = batch.links.get((service.pk, pk))
        link_pk = link.pk if link else import_id("service-at-location", f"{service.pk}/{pk}")
        link_values = {"service_id": service.pk, "location_id": pk, **provenance}
        _, outcome, _ = batch.upsert(m.ServiceAtLocation, link, link_pk, link_values, **checked)
        return changed or outcome != Outcome.UNCHANGED


_PLACE_COLUMNS = {
    "point": "Breitengrad",
    "gemeinde": "Ort",
    "name": "Standort",
    "address_1": "Straße",
    "postal_code": "PLZ",
    "city": "Ort",
}


def _cell(cells: list[Any], columns: dict[int, SheetColumn], key: str) -> str:
    """The text of the row's cell in the column ``key`` ("" if the sheet has no such column)."""
    index = next((i for i, column in columns.items() if column.key == key), None)
    return cell_text_or_blank(cells[index]) if index is not None and index < len(cells) else ""


def _letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return f"Spalte {letters}"


def cell_text_or_blank(value: Any) -> str:
    try:
        return cell_text(value).strip()
    except ValueError:
        return "(Formel)"


# --- The template editors download -----------------------------------------------------------------------------

TEMPLATE_RULES = (
    "Eine Zeile je Angebot mit seinem Ort. Ein Angebot an mehreren Orten: je Ort eine Zeile mit eigener Quell-ID.",
    "Pflichtspalten: Quell-ID, Quelle, Träger, Angebot. Die Reihenfolge der Spalten ist beliebig, nicht benötigte "
    "Spalten dürfen fehlen. Spalten, deren Überschrift mit # beginnt, werden übergangen (z. B. #Notizen).",
    "Leere Zelle: der Wert bleibt, wie er ist. Ein einzelnes „-“ löscht ihn.",
    "Listen (Telefon, Sprachen, Bedarfe, Zuständig für …) durch ; trennen. Eine Liste ersetzt die bisherige ganz.",
    "Die Adressspalten (Standort, Straße, PLZ, Ort, Breitengrad, Längengrad) gelten zusammen: ist eine ausgefüllt, "
    "beschreiben sie den Ort vollständig. Ohne Koordinaten liegt der Ort in der Mitte der PLZ (sonst des Ortes) "
    "und wird als ungefähr gekennzeichnet.",
    "Öffnungszeiten: Tage (Mo Di Mi Do Fr Sa So oder Mon Tue …, Bereiche mit - oder bis), dann Zeiten, auf Wunsch "
    "dahinter „nach Vereinbarung“ oder „offene Sprechstunde“; Einträge durch ; trennen, mehrere Zeiten eines Tages "
    "durch Komma oder „und“: „Mo–Do 8:30–12:00 und 13:00–15:30; Fr 8:30–12:00 nach Vereinbarung“. "
    "Schließtage bleiben dem Admin überlassen.",
    "Ändert sich ein deutscher Text, entfallen die Übersetzungen des alten Textes, außer die Zeile bringt neue mit "
    "(Spalten „Angebot (en)“, „Beschreibung (ar)“ …).",
    "Die Datei wird ganz eingelesen oder gar nicht: jede fehlerhafte Zeile wird mit Zeile, Spalte und Grund "
    "gemeldet. Ein Probelauf zeigt vorher, was neu angelegt, geändert oder unverändert bliebe.",
    "CSV: als „CSV UTF-8“ speichern, Trennzeichen ; oder , – Excel-Tabellen (XLSX): Blatt „Angebote“. Keine Formeln.",
)


def taxonomy_codes() -> list[tuple[str, list[tuple[str, str]]]]:
    """(column, [(code, German name)]) for every column that takes taxonomy codes."""
    columns = {"service-type": "Angebotsart", **TAXONOMY_COLUMNS}
    terms: dict[str, list[tuple[str, str]]] = {key: [] for key in columns}
    for term in m.TaxonomyTerm.objects.filter(taxonomy__key__in=columns).select_related("taxonomy"):
        terms[term.taxonomy.key].append((term.code, (term.name or {}).get(FALLBACK_LANGUAGE, "")))
    return [(label, terms[key]) for key, label in columns.items()]


def _literal(value: str) -> str:
    """Text that a spreadsheet must not take for a formula (directory.formulas)."""
    return formulas.escape(value)


def _as_text(sheet: Any) -> None:
    """Every text cell of ``sheet`` a string cell: openpyxl makes a text beginning with "=" a formula."""
    for row in sheet.iter_rows():
        for cell in row:
            if isinstance(cell.value, str):
                cell.data_type = "s"


def template_xlsx() -> bytes:
    """The spreadsheet template: sheet "Anleitung" explains every column and code, sheet "Angebote" is filled in."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    book = Workbook()
    guide = book.active
    assert guide is not None
    guide.title = "Anleitung"
    bold = Font(bold=True)
    guide.append(["Wegweiser NRW – Vorlage für den Import von Angeboten"])
    guide["A1"].font = Font(bold=True, size=14)
    guide.append(["Bitte das Blatt „Angebote“ ausfüllen. So werden die Spalten gelesen:"])
    for rule in TEMPLATE_RULES:
        guide.append([f"• {rule}"])
    guide.append([])
    guide.append(["Spalte", "Pflicht", "Inhalt", "Beispiel"])
    for cell in guide[guide.max_row]:
        cell.font = bold
    for column in SHEET_COLUMNS:
        guide.append([column.header, "ja" if column.required else "", column.help, _literal(column.example)])
    for label, codes in taxonomy_codes():
        guide.append([])
        guide.append([f"Codes für „{label}“", "", "Bedeutung"])
        guide[f"A{guide.max_row}"].font = bold
        for code, name in codes:
            guide.append([code, "", _literal(name)])
    guide.column_dimensions["A"].width = 28
    guide.column_dimensions["B"].width = 8
    guide.column_dimensions["C"].width = 90
    guide.column_dimensions["D"].width = 36
    for row in guide.iter_rows(min_row=5, min_col=3, max_col=3):
        row[0].alignment = Alignment(wrap_text=True, vertical="top")
    sheet = book.create_sheet("Angebote")
    sheet.append([column.header for column in SHEET_COLUMNS])
    for index, column in enumerate(SHEET_COLUMNS, start=1):
        sheet.cell(1, index).font = bold
        letter = sheet.cell(1, index).column_letter
        sheet.column_dimensions[letter].width = max(14, len(column.header) + 4)
        if column.text_format:  # so Excel keeps leading zeros of AGS, phone numbers and ids
            for row_number in range(2, 502):
                sheet.cell(row_number, index).number_format = "@"
    sheet.freeze_panes = "A2"
    _as_text(guide)
    _as_text(sheet)
    book.active = sheet
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def template_csv() -> bytes:
    """The header line, UTF-8 with byte order mark and ';' so Excel opens it with umlauts intact."""
    return ("\ufeff" + ";".join(column.header for column in SHEET_COLUMNS) + "\r\n").encode()
