"""HSDS data packages (as :mod:`exchange.exports` writes them): read table by table and upserted by their ids.

A package is a folder, a ``datapackage.json`` in one, or a zip file; its tables are read in reference
order, so what a row points to is imported before it. A reference may name a row of the package or a
record of the catalogue. Every row is written through :class:`exchange.pipeline.Writer`; the rules an
import keeps (every problem reported, all or nothing) are :mod:`exchange.imports`'.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path, PurePosixPath
from typing import Any

from django.contrib.gis.geos import GEOSException, GEOSGeometry, MultiPolygon, Point, Polygon
from django.utils import translation

from directory import formulas, hsds
from directory import models as m
from directory.hours import BERLIN
from directory.services import refresh_search_text
from exchange import exports
from exchange.exports import Column, Kind, Table
from exchange.pipeline import (
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
)

MAX_PACKAGE_BYTES = 200 * 1024 * 1024  # a zipped package, and the CSV files unpacked from it

IMPORT_ORDER = (
    "source",
    "taxonomy",
    "taxonomy_term",
    "organization",
    "program",
    "service",
    "location",
    "address",
    "service_at_location",
    "contact",
    "phone",
    "language",
    "schedule",
    "service_area",
    "accessibility",
    "cost_option",
    "required_document",
    "funding",
    "attribute",
)
SELF_PARENT = {"organization": "parent_organization_id", "taxonomy_term": "parent_id"}
LINK_ENTITIES = {"service": "service", "organization": "organization", "location": "location"}
# Model fields whose column has another name (for naming the column of a validation error).
FIELD_COLUMNS = {
    "point": "latitude",
    "gemeinde": "ags",
    "source": "source_key",
    "contact_source": "contact_source_key",
    "timezone": "tzid",
    "is_closed": "closed",
}


@dataclass
class TableData:
    table: Table
    path: str
    header: list[str]
    rows: list[tuple[int, dict[str, str]]]


def _safe_member(path: str) -> bool:
    parts = PurePosixPath(path).parts
    return bool(parts) and not path.startswith("/") and ".." not in parts and path.endswith(".csv")


class PackageFiles:
    """The CSV files of a data package: from a folder, a datapackage.json in one, or a zip file."""

    def __init__(self, upload: ImportFile, report: ImportReport) -> None:
        self.upload = upload
        self.report = report
        self.folder: Path | None = None
        self.archive: zipfile.ZipFile | None = None
        self.prefix = ""

    def open(self) -> bool:
        path = self.upload.path
        if path is not None and (path.is_dir() or path.name == exports.DATAPACKAGE):
            self.folder = path if path.is_dir() else path.parent
            return True
        try:
            self.archive = zipfile.ZipFile(io.BytesIO(self.upload.read()))
            names = self.archive.namelist()
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            self.report.problem(None, None, f"Kein HSDS-Datenpaket: keine lesbare ZIP-Datei ({exc}).")
            return False
        if (
            sum(info.file_size for info in self.archive.infolist() if info.filename.endswith(".csv"))
            > MAX_PACKAGE_BYTES
        ):
            self.report.problem(None, None, "Die Tabellen im ZIP sind entpackt zu groß.")
            return False
        package = sorted((n for n in names if n.rsplit("/", 1)[-1] == exports.DATAPACKAGE), key=len)
        self.prefix = package[0][: -len(exports.DATAPACKAGE)] if package else ""
        return True

    def read(self, name: str) -> bytes | None:
        try:
            if self.folder is not None:
                target = self.folder / name
                return target.read_bytes() if target.is_file() else None
            assert self.archive is not None
            return self.archive.read(self.prefix + name)
        except (KeyError, OSError, zipfile.BadZipFile, ValueError):
            return None

    def paths(self) -> dict[str, str]:
        """Table name → file, as datapackage.json names them (else the HSDS file names)."""
        paths = {table.name: table.path for table in exports.TABLES}
        raw = self.read(exports.DATAPACKAGE)
        if raw is None:
            return paths
        try:
            package = json.loads(raw.decode("utf-8-sig"))
            resources = package.get("resources", []) if isinstance(package, dict) else []
        except (ValueError, UnicodeDecodeError) as exc:
            self.report.problem(None, None, f"{exports.DATAPACKAGE} ist kein gültiges JSON: {exc}", exports.DATAPACKAGE)
            return paths
        for resource in resources if isinstance(resources, list) else []:
            if not isinstance(resource, dict):
                continue
            name, path = resource.get("name"), resource.get("path")
            if name in paths and isinstance(path, str) and _safe_member(path):
                paths[name] = path
        return paths

    def tables(self) -> list[TableData]:
        found = []
        for name, path in self.paths().items():
            raw = self.read(path)
            if raw is not None:
                data = self.parse(exports.TABLES_BY_NAME[name], path, raw)
                if data is not None:
                    found.append(data)
        if not found and not self.report.problems:
            self.report.problem(None, None, "Kein HSDS-Datenpaket: keine der Tabellen (services.csv …) gefunden.")
        return found

    def parse(self, table: Table, path: str, raw: bytes) -> TableData | None:
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            self.report.problem(None, None, f"nicht UTF-8-kodiert ({exc.reason} bei Byte {exc.start})", path)
            return None
        reader = csv.reader(io.StringIO(text, newline=""))
        try:
            header = next(reader, None)
            if not header:
                self.report.problem(1, None, "Die Tabelle hat keine Kopfzeile.", path)
                return None
            known = set(table.header)
            duplicates = sorted({name for name in header if header.count(name) > 1})
            if duplicates:
                self.report.problem(1, ", ".join(duplicates), "Spalte mehrfach vorhanden", path)
                return None
            key = "key" if table.model is m.Source else "id"
            if key not in header:
                self.report.problem(1, key, "Spalte fehlt (Pflicht)", path)
                return None
            unknown = [name for name in header if name not in known]
            if unknown:
                self.report.note(f"{path}: Spalte(n) {', '.join(unknown)} nicht im Profil, ignoriert.")
            rows = []
            start = 2
            for cells in reader:
                if cells and len(cells) != len(header):
                    self.report.problem(start, None, f"{len(cells)} Zellen statt {len(header)}", path)
                elif cells:
                    rows.append((start, dict(zip(header, cells, strict=True))))
                start = reader.line_num + 1
        except csv.Error as exc:
            self.report.problem(start if "start" in locals() else 1, None, f"CSV nicht lesbar: {exc}", path)
            return None
        return TableData(table, path, [name for name in header if name in known], rows)


def _uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value.strip())
    except ValueError as exc:
        raise ValueError(f"„{value[:60]}“ ist keine UUID") from exc


def _datetime(value: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"„{value[:60]}“ ist kein Zeitpunkt (ISO 8601)") from exc
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=BERLIN)


def _scalar(kind: Kind, raw: str) -> Any:
    """A cell of a plain column as the value the model stores (strict: the export's own notation)."""
    if kind == Kind.INT:
        if raw == "":
            return None
        try:
            number = float(raw)
        except ValueError as exc:
            raise ValueError(f"„{raw[:60]}“ ist keine ganze Zahl") from exc
        if not number.is_integer():
            raise ValueError(f"„{raw[:60]}“ ist keine ganze Zahl")
        return int(number)
    if kind == Kind.DECIMAL:
        try:
            return Decimal(raw) if raw else None
        except InvalidOperation as exc:
            raise ValueError(f"„{raw[:60]}“ ist keine Zahl") from exc
    if kind == Kind.BOOL:
        if raw.lower() not in ("", "true", "false", "1", "0"):
            raise ValueError(f"„{raw[:60]}“: erwartet true oder false")
        return raw.lower() in ("true", "1")
    try:
        if kind == Kind.DATE:
            return dt.date.fromisoformat(raw) if raw else None
        if kind == Kind.TIME:
            return dt.time.fromisoformat(raw) if raw else None
    except ValueError as exc:
        raise ValueError(f"„{raw[:60]}“ ist kein {'Datum' if kind == Kind.DATE else 'Uhrzeit'} (ISO 8601)") from exc
    if kind == Kind.DATETIME:
        return _datetime(raw) if raw else None
    if kind == Kind.JSON:
        try:
            return json.loads(raw) if raw else {}
        except ValueError as exc:
            raise ValueError(f"„{raw[:60]}“ ist kein JSON") from exc
    return raw


class PackageImport:
    """Upserts the rows of an HSDS data package by their ids, table by table in reference order."""

    def __init__(self, upload: ImportFile, report: ImportReport, writer: Writer) -> None:
        self.upload = upload
        self.report = report
        self.writer = writer
        self.accepted: dict[str, set[Any]] = {name: set() for name in IMPORT_ORDER}
        self.rejected: dict[str, set[Any]] = {name: set() for name in IMPORT_ORDER}
        self.in_database: dict[str, set[Any]] = {}
        self.source_ids: dict[str, int] = {}
        self.gemeinden: set[str] = set()
        self.areas: set[str] = set()
        self.service_types: dict[uuid.UUID, tuple[uuid.UUID, int]] = {}
        self.type_rows: set[int] = set()  # lines of attributes.csv that are a service's type
        self.has_attributes = False
        self.last_modified: dict[uuid.UUID, dt.datetime] = {}
        self.services: set[uuid.UUID] = set()
        self.changed_tables: set[str] = set()
        self.existing: dict[Any, Any] = {}

    def run(self) -> Iterator[Progress]:
        files = PackageFiles(self.upload, self.report)
        if not files.open():
            return
        tables = {data.table.name: data for data in files.tables()}
        if not tables:
            return
        self.gemeinden = set(m.Gemeinde.objects.values_list("ags", flat=True))
        self.areas = set(area_names())
        if "attribute" in tables:
            self.has_attributes = True
            self._service_types(tables["attribute"])
        total = sum(len(data.rows) for data in tables.values())
        done = 0
        for name in IMPORT_ORDER:
            data = tables.get(name)
            if data is None:
                continue
            rows = self._parent_first(data, SELF_PARENT[name]) if name in SELF_PARENT else data.rows
            self.existing = self._existing(data)
            for line, cells in rows:
                if not (name == "attribute" and line in self.type_rows):
                    self._row(data, line, cells)
                done += 1
                if done % PROGRESS_EVERY == 0:
                    yield Progress(done, total, "verarbeitet")
            if name == "source":
                self.source_ids = dict(m.Source.objects.values_list("key", "id"))
        yield Progress(total, total, "verarbeitet")
        if self.type_rows:
            self.report.note(f"{len(self.type_rows)} Attribute mit link_type service_type als Angebotsart übernommen.")
        if not self.report.problems:
            if self.changed_tables & {"organization", "taxonomy", "taxonomy_term", "attribute"}:
                refresh_search_text()
            elif self.services:
                refresh_search_text(self.services)

    @staticmethod
    def _existing(data: TableData) -> dict[Any, Any]:
        """The table's records the package names, fetched in a few queries rather than one per row."""
        if data.table.model is m.Source:
            return {}
        ids = []
        for _, cells in data.rows:
            try:
                ids.append(uuid.UUID(cells.get("id", "").strip()))
            except ValueError:
                continue
        manager: Any = data.table.model._default_manager
        found: dict[Any, Any] = {}
        for start in range(0, len(ids), 2000):
            found.update(manager.in_bulk(ids[start : start + 2000]))
        return found

    # -- references --

    def known(self, table: str, pk: Any) -> str | None:
        """None when ``pk`` names a record of ``table`` (in the package or the catalogue), else why not."""
        if pk in self.accepted[table]:
            return None
        if pk in self.rejected[table]:
            return f"verweist auf {pk}, eine abgelehnte Zeile"
        if table not in self.in_database:
            model: Any = exports.TABLES_BY_NAME[table].model
            self.in_database[table] = set(model.objects.values_list("pk", flat=True))
        return None if pk in self.in_database[table] else f"{pk} gibt es weder im Paket noch im Katalog"

    def _service_types(self, data: TableData) -> None:
        """Attribute rows that are a service's type (hsds.service_type_attribute): id derived from the service."""
        for line, cells in data.rows:
            if cells.get("link_entity") != "service":
                continue
            try:
                service_id, pk = _uuid(cells.get("link_id", "")), _uuid(cells["id"])
            except ValueError:
                continue  # reported when the row is read as an attribute
            if pk != uuid.uuid5(hsds.SERVICE_TYPE_ATTRIBUTE_NAMESPACE, str(service_id)):
                continue
            self.type_rows.add(line)
            try:
                self.service_types[service_id] = (_uuid(cells.get("taxonomy_term_id", "")), line)
            except ValueError as exc:
                self.report.problem(line, "taxonomy_term_id", str(exc), data.path)

    @staticmethod
    def _parent_first(data: TableData, column: str) -> list[tuple[int, dict[str, str]]]:
        by_id = {cells.get("id", "").strip(): (line, cells) for line, cells in data.rows}
        ordered: list[tuple[int, dict[str, str]]] = []
        placed: set[int] = set()
        for line, cells in data.rows:
            chain: list[tuple[int, dict[str, str]]] = []
            current: tuple[int, dict[str, str]] | None = (line, cells)
            while current is not None and current[0] not in placed and current not in chain:
                chain.append(current)
                current = by_id.get(current[1].get(column, "").strip())
            for item in reversed(chain):
                ordered.append(item)
                placed.add(item[0])
        return ordered

    # -- rows --

    def _row(self, data: TableData, line: int, cells: dict[str, str]) -> None:
        table, model = data.table, data.table.model
        problems: list[Problem] = []
        pk: Any = None
        record: Any = None
        key = "key" if model is m.Source else "id"
        try:
            pk = cells[key] if model is m.Source else _uuid(cells[key])
        except ValueError as exc:
            problems.append(Problem(line, key, str(exc), data.path))
        else:
            if pk in self.accepted[table.name] or pk in self.rejected[table.name]:
                problems.append(Problem(line, key, f"{pk} kommt in {data.path} mehrfach vor", data.path))
            elif model is m.Source:
                record = m.Source.objects.filter(key=pk).first()
            else:
                record = self.existing.pop(pk, None)
        values: dict[str, Any] = {}
        if not problems:
            values = self._values(data, line, cells, record, problems)
        outcome = Outcome.REJECTED
        changed: list[str] = []
        if not problems:
            columns = {**FIELD_COLUMNS}
            for column in table.columns:
                columns[column.attr] = columns[f"{column.attr}_id"] = column.name
            try:
                new_pk = None if model is m.Source else pk  # a source's id is the database's; its key is in values
                where = Where(line, data.path, columns)
                record, outcome, changed = self.writer.upsert(
                    model, record, new_pk, values, where=where, validation=Validation.FIELDS
                )
            except Rejected as exc:
                problems += exc.problems
        if problems:
            self.report.add_problems(problems)
            self.rejected[table.name].add(pk)
        else:
            self.accepted[table.name].add(pk)
            if outcome != Outcome.UNCHANGED:
                self.changed_tables.add(table.name)
            if table.name == "service":
                self.services.add(pk)
                moment = self.last_modified.get(pk)
                if moment is not None and outcome != Outcome.UNCHANGED:
                    m.Service.objects.filter(pk=pk).update(updated_at=moment)
        label = cells.get("name") or cells.get("title") or cells.get("number") or cells.get("code") or ""
        names: dict[str, str] = {}
        for column in table.columns:
            names.setdefault(column.attr, column.name)
        self.report.add_row(
            RowResult(
                line,
                str(pk or cells.get("id", "")),
                label[:80],
                outcome,
                [names.get(name.removesuffix("_id"), name) for name in changed if outcome == Outcome.CHANGED],
                data.path,
            )
        )

    def _values(
        self, data: TableData, line: int, cells: dict[str, str], record: Any, problems: list[Problem]
    ) -> dict[str, Any]:
        """The row's cells as model values; a column the file lacks leaves its field as it is."""
        table = data.table
        values: dict[str, Any] = {}
        texts: dict[str, dict[str, str]] = {}
        for column in table.columns:
            if column.name not in cells:
                continue
            raw = cells[column.name]
            try:
                self._cell(table, column, raw, values, texts, record)
            except ValueError as exc:
                problems.append(Problem(line, column.name, str(exc), data.path))
        values.update({name: {k: v for k, v in text.items() if v} for name, text in texts.items()})
        try:
            self._table_rules(table, cells, values, record)
        except ValueError as exc:
            column_name, _, message = str(exc).partition("|")
            problems.append(Problem(line, column_name or None, message, data.path))
        return values

    def _cell(
        self,
        table: Table,
        column: Column,
        raw: str,
        values: dict[str, Any],
        texts: dict[str, dict[str, str]],
        record: Any,
    ) -> None:
        kind = column.kind
        if kind in (Kind.ID, Kind.SPECIAL):
            return  # read by _row and _table_rules
        if kind == Kind.EMPTY:
            if raw:
                self.report.note(f"{table.path}: Spalte {column.name} wird nicht gespeichert (Werte ignoriert).")
            return
        with translation.override("de"):  # the export's escaping undone; a formula refused (directory.formulas)
            raw = formulas.read(raw)
        if kind in (Kind.TEXT, Kind.TRANSLATION):
            if column.attr not in texts:
                texts[column.attr] = dict(getattr(record, column.attr) or {}) if record is not None else {}
            texts[column.attr][column.language or "de"] = raw
            return
        if kind == Kind.REF:
            if not raw:
                values[f"{column.attr}_id"] = None
                return
            pk = _uuid(raw)
            why = self.known(column.ref, pk)
            if why:
                raise ValueError(why)
            values[f"{column.attr}_id"] = pk
            return
        if kind == Kind.PLAIN and raw == "":
            model_field: Any = table.model._meta.get_field(column.attr)
            values[column.attr] = model_field.get_default() if not model_field.blank else ""
            return
        values[column.attr] = _scalar(kind, raw)

    def _table_rules(self, table: Table, cells: dict[str, str], values: dict[str, Any], record: Any) -> None:
        """Columns that are no one model field: provenance, coordinates, links, the service's type …

        Raises ValueError("column|message").
        """
        if "source_key" in cells:
            key = cells["source_key"]
            if key and key not in self.source_ids:
                self.source_ids = dict(m.Source.objects.values_list("key", "id"))
            if key and key not in self.source_ids:
                raise ValueError(f"source_key|Quelle „{key[:60]}“ fehlt in sources.csv und im Katalog")
            values["source_id"] = self.source_ids.get(key) if key else None
        if "contact_source_key" in cells:
            key = cells["contact_source_key"]
            if key and key not in self.source_ids:
                raise ValueError(f"contact_source_key|Quelle „{key[:60]}“ fehlt in sources.csv und im Katalog")
            values["contact_source_id"] = self.source_ids.get(key) if key else None
        name = table.name
        if name == "location":
            self._location(cells, values)
        elif name == "service":
            self._service(cells, values)
        elif name == "attribute":
            self._attribute(cells, values)
        elif name == "service_area":
            self._service_area(cells, values)

    def _location(self, cells: dict[str, str], values: dict[str, Any]) -> None:
        lat, lon = cells.get("latitude", ""), cells.get("longitude", "")
        point = None
        if lat or lon:
            try:
                latitude, longitude = float(lat), float(lon)
            except ValueError as exc:
                raise ValueError(f"latitude|{lat[:30]!r}, {lon[:30]!r} sind keine Koordinaten") from exc
            if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
                raise ValueError(f"latitude|{lat}, {lon} sind keine Koordinaten")
            point = Point(longitude, latitude, srid=4326)
            gemeinde = m.Gemeinde.objects.containing(point).values_list("ags", flat=True).first()
            if gemeinde is None:
                raise ValueError(f"latitude|{lat}, {lon} liegt außerhalb von NRW")
            if "ags" not in cells:
                values["gemeinde_id"] = gemeinde
            if "point_accuracy" not in cells:
                values["point_accuracy"] = m.PointAccuracy.EXACT
        if "latitude" in cells or "longitude" in cells:
            values["point"] = point
        if "ags" in cells:
            ags = cells["ags"]
            if ags and ags not in self.gemeinden:
                raise ValueError(f"ags|{ags[:20]} ist keine Gemeinde in NRW (AGS, 8 Ziffern)")
            values["gemeinde_id"] = ags or None

    def _service(self, cells: dict[str, str], values: dict[str, Any]) -> None:
        pk = _uuid(cells["id"])
        if cells.get("last_modified"):
            try:
                self.last_modified[pk] = _datetime(cells["last_modified"])
            except ValueError as exc:
                raise ValueError(f"last_modified|{exc}") from exc
        assured = cells.get("assured_date", "")
        if assured and "verification_state" not in cells:  # a plain HSDS package: assured means verified
            try:
                day = dt.date.fromisoformat(assured[:10])
            except ValueError as exc:
                raise ValueError(f"assured_date|„{assured[:30]}“ ist kein Datum") from exc
            when = dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC)
            values.update(verification_state=m.VerificationState.VERIFIED, last_verified_at=when)
        if self.has_attributes:  # the package says what the service types are (none: no type)
            term, line = self.service_types.get(pk, (None, 0))
            why = self.known("taxonomy_term", term) if term is not None else None
            if why:
                raise ValueError(f"taxonomy_term_id|Angebotsart (attributes.csv Zeile {line}) {why}")
            values["service_type_id"] = term

    def _attribute(self, cells: dict[str, str], values: dict[str, Any]) -> None:
        entity = cells.get("link_entity", "")
        if entity not in LINK_ENTITIES:
            raise ValueError(f"link_entity|„{entity[:30]}“: erwartet service, organization oder location")
        try:
            link = _uuid(cells.get("link_id", ""))
        except ValueError as exc:
            raise ValueError(f"link_id|{exc}") from exc
        why = self.known(entity, link)
        if why:
            raise ValueError(f"link_id|{why}")
        for other in LINK_ENTITIES.values():
            values[f"{other}_id"] = link if other == entity else None

    def _service_area(self, cells: dict[str, str], values: dict[str, Any]) -> None:
        if cells.get("ags") and cells["ags"] not in self.areas:
            raise ValueError(f"ags|{cells['ags'][:20]} ist kein Gebiet in NRW (AGS mit 2, 3, 5 oder 8 Ziffern)")
        if "extent" not in cells:
            return
        extent = cells["extent"]
        if not extent:
            values["extent"] = None
            return
        try:
            shape = GEOSGeometry(extent, srid=4326)
        except (GEOSException, ValueError, TypeError) as exc:
            raise ValueError("extent|keine gültige GeoJSON-Geometrie") from exc
        if isinstance(shape, Polygon):
            shape = MultiPolygon(shape, srid=4326)
        if not isinstance(shape, MultiPolygon) or not shape.valid:
            raise ValueError("extent|erwartet ein gültiges Polygon oder MultiPolygon")
        values["extent"] = shape
