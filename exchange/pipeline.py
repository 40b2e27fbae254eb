"""The one write pipeline every way into the catalogue goes through: problems, reports, stable ids, the writer.

Three readers turn their input into model values and hand them to :class:`Writer`: the ``data/``
directory (:mod:`exchange.loaders`), editors' spreadsheets (:mod:`exchange.spreadsheet`) and HSDS data
packages (:mod:`exchange.package`). The readers import this module and never each other;
:mod:`exchange.imports` is the entry point that picks the reader for an uploaded file.

What the readers share, and so is written once here:

- **when a record has changed** (:func:`same_value`): a write that changes nothing is no write, so
  loading or importing the same input twice writes no history and reports no change;
- **how a record is written** (:meth:`Writer.upsert`): validated, saved with the run's history reason,
  counted; a record that breaks a rule raises :class:`Rejected` naming where;
- **stable ids** (:func:`stable_id`, :func:`import_id`): the same input gives the same ids on every install;
- **the areas a service may name** (:func:`area_names`).

What differs stays with the reader: the loader stops at the first problem (:class:`LoadError`, English,
for the developer running ``load_data``) and never overwrites an editor's change; an import reports every
problem of every row (German, editors read it) and writes all rows or none.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import uuid
from collections import Counter
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from pathlib import Path
from typing import Any, BinaryIO

from django.contrib.gis.db.models import GeometryField
from django.contrib.gis.geos import GEOSGeometry
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import DatabaseError, connection, models, transaction
from django.db.models import DEFERRED
from django.utils import timezone
from psycopg import sql

from directory import models as m
from directory.translation import TranslatedField

# --- Stable ids ------------------------------------------------------------------------------------------------

# Two namespaces because the ids already in every catalogue were made with them: a record written from
# data/ and one an import created are told apart, and changing either would duplicate every record.
LOAD_NAMESPACE = uuid.UUID("6f1c2a3e-5b0d-4c8e-9a51-0e57a1e9f0b5")
IMPORT_NAMESPACE = uuid.UUID("0d7f3c1e-9b2a-4e57-8c64-3f1a2b9e7d10")
LOAD_REASON = "data load"
IMPORT_REASON = "import"


def stable_id(kind: str, key: str) -> uuid.UUID:
    """The id of a record written from ``data/``: every install gives the same record the same UUID."""
    return uuid.uuid5(LOAD_NAMESPACE, f"{kind}:{key}")


def import_id(kind: str, key: str) -> uuid.UUID:
    """The id of a record an import creates: the same file gives the same ids on every install."""
    return uuid.uuid5(IMPORT_NAMESPACE, f"{kind}:{key}")


# --- Problems ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """Why a row (or the file) was rejected: where and what."""

    line: int | None
    column: str | None
    message: str
    file: str = ""

    def __str__(self) -> str:
        where = [self.file] if self.file else []
        if self.line is not None:
            where.append(f"Zeile {self.line}")
        if self.column:
            where.append(f"Spalte „{self.column}“")
        return f"{', '.join(where)}: {self.message}" if where else self.message


class Rejected(Exception):
    """A row cannot be written; the problems say why (the cause, if any, is the error behind them)."""

    def __init__(self, problems: list[Problem], text: str | None = None) -> None:
        super().__init__(text if text is not None else "; ".join(str(p) for p in problems))
        self.problems = problems


class LoadError(Rejected):
    """A file of ``data/`` is wrong: the one problem that stops a load, worded for the developer running it."""

    def __init__(self, file: str | Path, row: int | None, field: str | None, message: str) -> None:
        where = str(file)
        if row is not None:
            where += f", row {row}"
        if field:
            where += f", field '{field}'"
        super().__init__([Problem(row, field, message, str(file))], f"{where}: {message}")

    @property
    def file(self) -> str:
        return self.problems[0].file

    @property
    def row(self) -> int | None:
        return self.problems[0].line

    @property
    def field(self) -> str | None:
        return self.problems[0].column

    @property
    def message(self) -> str:
        return self.problems[0].message


def validation_problems(
    exc: ValidationError, columns: dict[str, str], line: int | None, file: str = ""
) -> list[Problem]:
    """One problem per field a validation names, under the column the reader knows that field by."""
    if not hasattr(exc, "error_dict"):
        return [Problem(line, None, " ".join(exc.messages), file)]
    return [
        Problem(line, None if name == NON_FIELD_ERRORS else columns.get(name, name), " ".join(errors), file)
        for name, errors in exc.message_dict.items()
    ]


# --- Reports ----------------------------------------------------------------------------------------------------


class Outcome(StrEnum):
    """What became of an import row, and of each record a write touched (worded for editors)."""

    CREATED = "neu"
    CHANGED = "geändert"
    UNCHANGED = "unverändert"
    REJECTED = "abgelehnt"
    KEPT = "behalten"  # a load leaves a record an editor has changed since
    DELETED = "gelöscht"


ROW_OUTCOMES = (Outcome.CREATED, Outcome.CHANGED, Outcome.UNCHANGED, Outcome.REJECTED)


@dataclass
class RowResult:
    line: int
    key: str  # Quell-ID, or the record's id
    label: str  # a name to recognise the row by
    outcome: Outcome
    changes: list[str] = field(default_factory=list)
    file: str = ""


@dataclass
class Progress:
    done: int
    total: int
    stage: str


# A report lists at most this many problems, and this many rows of each outcome; the rest are counted. So a
# report stays small (on the page, in the job's result in Redis) however many rows a file has.
MAX_LISTED_PROBLEMS = 1000
MAX_LISTED_ROWS = 1000


@dataclass
class ImportReport:
    filename: str
    format: str = ""
    dry_run: bool = False
    rows: list[RowResult] = field(default_factory=list)  # listed: the first MAX_LISTED_ROWS of each outcome
    problems: list[Problem] = field(default_factory=list)  # listed: the first MAX_LISTED_PROBLEMS
    notes: list[str] = field(default_factory=list)
    records: Counter[str] = field(default_factory=Counter)  # "Service neu" → n
    applied: bool = False
    seconds: float = 0.0
    row_counts: Counter[Outcome] = field(default_factory=Counter)  # every row, listed or not
    unlisted_problems: int = 0

    def __setstate__(self, state: dict[str, Any]) -> None:
        """A report pickled before the counts existed (a job's result stays in Redis for a day) reads as one."""
        self.__dict__.update(state)
        if "row_counts" not in state:
            self.row_counts = Counter(row.outcome for row in self.rows)
        self.__dict__.setdefault("unlisted_problems", 0)

    @property
    def ok(self) -> bool:
        return not self.problems  # the first problems are always listed

    @property
    def problem_count(self) -> int:
        return len(self.problems) + self.unlisted_problems

    @property
    def row_count(self) -> int:
        return sum(self.row_counts.values())

    def count(self, model: type[models.Model], outcome: Outcome) -> None:
        self.records[f"{model.__name__} {outcome}"] += 1

    def outcomes(self) -> dict[Outcome, int]:
        return {outcome: self.row_counts[outcome] for outcome in ROW_OUTCOMES}

    def add_row(self, row: RowResult) -> None:
        self.row_counts[row.outcome] += 1
        if self.row_counts[row.outcome] <= MAX_LISTED_ROWS:
            self.rows.append(row)

    def add_problems(self, problems: list[Problem]) -> None:
        room = max(0, MAX_LISTED_PROBLEMS - len(self.problems))
        self.problems += problems[:room]
        self.unlisted_problems += len(problems[room:])

    def problem(self, line: int | None, column: str | None, message: str, file: str = "") -> None:
        self.add_problems([Problem(line, column, message, file)])

    def note(self, message: str) -> None:
        if message not in self.notes:
            self.notes.append(message)

    def summary(self) -> str:
        counts = ", ".join(f"{n} {outcome}" for outcome, n in self.outcomes().items() if n)
        if not self.ok:
            verdict = f"{self.problem_count} Problem(e) – nichts wurde importiert"
        elif self.dry_run:
            verdict = "Probelauf – nichts wurde geschrieben"
        else:
            verdict = "importiert"
        return f"{self.filename}: {self.row_count} Zeilen ({counts or 'keine'}); {verdict}"

    def text(self, *, rows: bool = True, unchanged: bool = True) -> str:
        """The report as plain text (management command, logs); ``unchanged``: list unchanged rows too."""
        lines = [self.summary()]
        if self.records and self.ok:
            lines.append("Datensätze: " + ", ".join(f"{n} {key}" for key, n in sorted(self.records.items())))
        lines += [f"Hinweis: {note}" for note in self.notes]
        if self.problems:
            lines.append("Abgelehnt:")
            lines += [f"  {problem}" for problem in self.problems]
            if self.unlisted_problems:
                lines.append(
                    f"  … und {self.unlisted_problems} weitere (aufgeführt sind die ersten {len(self.problems)})"
                )
        shown = [row for row in self.rows if unchanged or row.outcome != Outcome.UNCHANGED]
        if rows and shown:
            lines.append("Zeilen:")
            for row in shown:
                where = f"{row.file} " if row.file else ""
                detail = f" ({', '.join(row.changes)})" if row.changes else ""
                lines.append(f"  {where}Zeile {row.line}: {row.key} {row.label} – {row.outcome}{detail}")
            outcomes = [o for o in ROW_OUTCOMES if unchanged or o != Outcome.UNCHANGED]
            unlisted = sum(self.row_counts[o] for o in outcomes) - len(shown)
            if unlisted:
                lines.append(f"  … und {unlisted} weitere (je Ergebnis höchstens {MAX_LISTED_ROWS} aufgeführt)")
        return "\n".join(lines)


# The load report speaks English, as load_data does.
LOAD_WORDS = {
    Outcome.CREATED: "created",
    Outcome.CHANGED: "updated",
    Outcome.UNCHANGED: "unchanged",
    Outcome.KEPT: "kept (edited since the last load)",
    Outcome.DELETED: "removed",
}


@dataclass
class LoadReport:
    """What a load of ``data/`` did: records per model and outcome (it stops at its first problem)."""

    counts: Counter[str] = field(default_factory=Counter)

    def count(self, model: type[models.Model], outcome: Outcome) -> None:
        self.counts[f"{model.__name__} {LOAD_WORDS[outcome]}"] += 1

    def changed(self) -> int:
        return sum(n for key, n in self.counts.items() if key.endswith((" created", " updated")))

    def summary(self) -> str:
        return ", ".join(f"{n} {key}" for key, n in sorted(self.counts.items())) or "nothing to do"


# --- Writing records --------------------------------------------------------------------------------------------


def same_value(model_field: Any, current: Any, new: Any) -> bool:
    """Whether a field holding ``current`` already holds ``new``.

    Geometries are the same when equal to a nanodegree (a round trip through GeoJSON or WKT moves the last
    digits). In translated text an empty version is no version: the editors' form drops it, the site falls
    back to German for it either way, so ``{"de": "x", "en": ""}`` and ``{"de": "x"}`` are one text, and
    writing one over the other would only add a version to the history and a change to the report.
    """
    if isinstance(current, GEOSGeometry) or isinstance(new, GEOSGeometry):
        return current is not None and new is not None and bool(current.equals_exact(new, 1e-9))
    if isinstance(model_field, TranslatedField) and isinstance(current, dict) and isinstance(new, dict):
        return {k: v for k, v in current.items() if v} == {k: v for k, v in new.items() if v}
    return bool(current == new)


def changed_fields(record: models.Model, values: dict[str, Any]) -> list[str]:
    """The names in ``values`` whose value the record does not hold yet.

    A foreign key may be given as a record (``organization``), compared by its id without fetching the
    current one, or as an id (``organization_id``).
    """
    changed = []
    for name, value in values.items():
        model_field = record._meta.get_field(name)
        if isinstance(model_field, models.ForeignKey) and name == model_field.name:
            same = getattr(record, model_field.attname) == (value.pk if value is not None else None)
        else:
            same = same_value(model_field, getattr(record, name), value)
        if not same:
            changed.append(name)
    return changed


class Validation(Enum):
    """How much :meth:`Writer.upsert` checks before saving; the database checks the rest on save."""

    # Every rule, uniqueness and constraints included: a row from outside learns which column breaks one.
    EVERYTHING = "everything"
    # Fields, references and the model's own rules; constraints are left to the database on save, since
    # one query per constraint per record would triple the time of a load.
    NOT_CONSTRAINTS = "not constraints"
    # Only the fields: the caller made sure every foreign key exists, and the database names the
    # constraint a row breaks; three times fewer queries for a large package.
    FIELDS = "fields"


@dataclass(frozen=True)
class Where:
    """Where the values of a write come from, so a rejection can name it."""

    line: int | None = None
    file: str = ""
    columns: dict[str, str] = field(default_factory=dict)  # model field → the column it is read from


class Writer:
    """Creates, updates and deletes records under one history reason, and counts what it did.

    With ``keep_edited`` a record whose newest history version is not this writer's (an editor changed it
    since) is left as it is: a reload of ``data/`` never overwrites the editors' work. An import is an
    editor's own act and writes over it.
    """

    def __init__(
        self, reason: str, report: ImportReport | LoadReport, *, user: Any = None, keep_edited: bool = False
    ) -> None:
        self.reason = reason
        self.report = report
        self.user = user
        self.keep_edited = keep_edited
        self.savepoint_each = True

    def upsert(
        self,
        model: type[Any],
        record: Any,
        pk: Any,
        values: dict[str, Any],
        *,
        where: Where,
        validation: Validation = Validation.EVERYTHING,
    ) -> tuple[Any, Outcome, list[str]]:
        """Create ``model(pk, **values)`` or bring ``record`` up to ``values``; returns what changed.

        Raises :class:`Rejected` (caused by the ValidationError or DatabaseError) when the record breaks a rule.
        """
        record, outcome, changed = self.prepare(model, record, pk, values, where=where, validation=validation)
        if outcome in (Outcome.CREATED, Outcome.CHANGED):
            self.save(record, where=where)
            self.report.count(model, outcome)
        return record, outcome, changed

    def prepare(
        self,
        model: type[Any],
        record: Any,
        pk: Any,
        values: dict[str, Any],
        *,
        where: Where,
        validation: Validation = Validation.EVERYTHING,
    ) -> tuple[Any, Outcome, list[str]]:
        """What :meth:`upsert` does before saving: the record with ``values`` set and checked, not yet written.

        A CREATED or CHANGED record is then written by :meth:`save` or, many at a time, :meth:`save_many`.
        """
        if record is None:
            record = new_record(model, pk, values)
            outcome, changed = Outcome.CREATED, list(values)
        else:
            changed = changed_fields(record, values)
            if not changed:
                self.report.count(model, Outcome.UNCHANGED)
                return record, Outcome.UNCHANGED, []
            if self.keep_edited and not self.wrote_last(record):
                self.report.count(model, Outcome.KEPT)
                return record, Outcome.KEPT, []
            for name in changed:
                setattr(record, name, values[name])
            outcome = Outcome.CHANGED
        try:
            if validation is Validation.FIELDS:
                record.clean_fields(exclude=_relations(model))
            elif validation is Validation.NOT_CONSTRAINTS:
                record.full_clean(validate_unique=False, validate_constraints=False)
            else:
                record.full_clean()
        except ValidationError as exc:
            raise Rejected(validation_problems(exc, where.columns, where.line, where.file)) from exc
        return record, outcome, changed

    def save_many(self, model: type[Any], prepared: list[tuple[Any, Outcome, list[str]]], *, where: Where) -> None:
        """Write many prepared records of one model, each with its history row, as :meth:`save` would.

        New records and their history rows go in with COPY (:class:`CopyTable`), changed ones with one
        UPDATE; the history rows are those django-simple-history writes (same reason, user and type).
        ``where`` names the rows concerned should the database refuse the lot: it cannot say which record
        broke the rule.
        """
        created = [record for record, outcome, _ in prepared if outcome == Outcome.CREATED]
        updated = [record for record, outcome, _ in prepared if outcome == Outcome.CHANGED]
        fields = set(name for _, outcome, changed in prepared if outcome == Outcome.CHANGED for name in changed)
        # Neither COPY nor bulk_update passes by Model.save(), which sets the auto_now(_add) fields: set them here.
        now = timezone.now()
        for model_field in model._meta.concrete_fields:
            if getattr(model_field, "auto_now", False) or getattr(model_field, "auto_now_add", False):
                for record in created:
                    setattr(record, model_field.attname, now)
            if getattr(model_field, "auto_now", False) and updated:
                fields.add(model_field.name)
                for record in updated:
                    setattr(record, model_field.attname, now)
        table = CopyTable.of(model)
        try:
            with transaction.atomic(), connection.wrap_database_errors, connection.cursor() as cursor:
                values = table.write(cursor, created) if created else []
                if updated:
                    model._default_manager.bulk_update(updated, sorted(fields))
                table.write_history(cursor, created, "+", now, self.reason, self.user, values=values)
                table.write_history(cursor, updated, "~", now, self.reason, self.user)
        except DatabaseError as exc:
            problem = Problem(where.line, None, f"von der Datenbank abgelehnt: {exc}".strip(), where.file)
            raise Rejected([problem]) from exc
        for _ in created:
            self.report.count(model, Outcome.CREATED)
        for _ in updated:
            self.report.count(model, Outcome.CHANGED)

    def delete_many(self, records: list[Any]) -> None:
        """Delete records of one model that nothing else refers to, each with its history row, in two statements."""
        if not records:
            return
        model = type(records[0])
        table = CopyTable.of(model)
        if table.referenced:  # Django's collector must see to what refers to them
            for record in records:
                self.delete(record)
            return
        now = timezone.now()
        with connection.wrap_database_errors, connection.cursor() as cursor:
            table.write_history(cursor, records, "-", now, self.reason, self.user)
            cursor.execute(table.delete_statement, [[record.pk for record in records]])
        for _ in records:
            self.report.count(model, Outcome.DELETED)

    def save(self, record: Any, *, where: Where) -> None:
        self._sign(record)
        try:
            # A savepoint per record lets a caller go on after a rejected one; a caller that holds one per
            # row of its own (the spreadsheet import) turns it off: two queries less for every record.
            with transaction.atomic() if self.savepoint_each else contextlib.nullcontext():
                record.save()
        except DatabaseError as exc:
            problem = Problem(where.line, None, f"von der Datenbank abgelehnt: {exc}".strip(), where.file)
            raise Rejected([problem]) from exc

    def delete(self, record: Any) -> None:
        self._sign(record)
        record.delete()
        self.report.count(type(record), Outcome.DELETED)

    def wrote_last(self, record: Any) -> bool:
        """Whether the newest version of ``record`` is one this pipeline's reason wrote (no editor since)."""
        latest = record.history.order_by("-history_date").first()
        return latest is None or (latest.history_change_reason or "").startswith(self.reason)

    def _sign(self, record: Any) -> None:
        record._change_reason = self.reason
        if self.user is not None:
            record._history_user = self.user


def new_record(model: type[Any], pk: Any, values: dict[str, Any]) -> Any:
    """``model(pk=pk, **values)``, made as Django makes a record it reads (its values in field order): a third
    of the time, which counts when an import makes seven records a row. Values are given by attname
    (``service_id``); a reference given as a record (``service=``) takes Django's usual way."""
    layout = _layout(model)
    if not values.keys() <= layout.keys():
        return model(pk=pk, **values)
    args = []
    for name, (default, factory) in layout.items():
        if name in values:
            args.append(values[name])
        elif factory is _PK:
            args.append(pk)
        else:
            args.append(factory() if factory is not None else default)
    return model(*args)


_PK = object()


_LAYOUTS: dict[type[Any], dict[str, tuple[Any, Any]]] = {}
_RELATIONS: dict[type[Any], frozenset[str]] = {}


def _layout(model: type[Any]) -> dict[str, tuple[Any, Any]]:
    """attname → (constant default, or a factory to call for each record) of every concrete field, in order."""
    if model in _LAYOUTS:
        return _LAYOUTS[model]
    layout: dict[str, tuple[Any, Any]] = {}
    for model_field in model._meta.concrete_fields:
        if model_field.primary_key:
            layout[model_field.attname] = (None, _PK)
        elif model_field.generated:
            layout[model_field.attname] = (DEFERRED, None)
        elif model_field.has_default() and callable(model_field.default):
            layout[model_field.attname] = (None, model_field.get_default)
        else:
            layout[model_field.attname] = (model_field.get_default(), None)  # None, "", or a constant
    _LAYOUTS[model] = layout
    return layout


def _relations(model: type[Any]) -> frozenset[str]:
    """The model's references: Validation.FIELDS leaves them to the database."""
    if model not in _RELATIONS:
        _RELATIONS[model] = frozenset(f.name for f in model._meta.concrete_fields if f.is_relation)
    return _RELATIONS[model]


class CopyTable:
    """A model's table and its history table as COPY writes them from records (see :meth:`Writer.save_many`).

    COPY instead of a many-row INSERT: Django's INSERT of a thousand records binds every value into one
    statement that PostgreSQL then parses, which took most of an import's time (issue 11). Values go as
    they are, except JSON and geometry, which take the database form Django gives them.
    """

    _made: dict[type[Any], CopyTable] = {}

    def __init__(self, model: type[Any]) -> None:
        fields = copied_fields(model)
        self.attnames = [f.attname for f in fields]
        self.dumps = [_dumper(f) for f in fields]
        self.statement = copy_statement(model._meta.db_table, [f.column for f in fields])
        history = model.history.model
        tracked = [history._meta.get_field(f.name) for f in history.tracked_fields]
        tracked = [f for f in tracked if not f.generated]
        self.history_attnames = [f.attname for f in tracked]
        self.history_dumps = [_dumper(f) for f in tracked]
        history_columns = [f.column for f in tracked]
        history_columns += ["history_date", "history_change_reason", "history_type", "history_user_id"]
        # Where each history column's value is among the record's (a history row repeats them, in database form).
        position = {name: index for index, name in enumerate(self.attnames)}
        repeated = all(name in position for name in self.history_attnames)
        self.history_positions = [position[name] for name in self.history_attnames] if repeated else None
        self.history_statement = copy_statement(history._meta.db_table, history_columns)
        self.delete_statement = sql.SQL("DELETE FROM {} WHERE {} = ANY(%s)").format(
            sql.Identifier(model._meta.db_table), sql.Identifier(model._meta.pk.column)
        )
        # Whether another table refers to this one (then deleting must go through Django's collector).
        # (Hidden ones included; the history tables' references do nothing on delete.)
        self.referenced = any(
            f.auto_created and not f.concrete and not f.many_to_many and f.on_delete is not models.DO_NOTHING
            for f in model._meta.get_fields(include_hidden=True)
        )

    @classmethod
    def of(cls, model: type[Any]) -> CopyTable:
        if model not in cls._made:
            cls._made[model] = cls(model)
        return cls._made[model]

    def write(self, cursor: Any, records: list[Any]) -> list[list[Any]]:
        """Write the records; returns their values as written, which their history rows repeat."""
        rows = [_database_values(record, self.attnames, self.dumps) for record in records]
        with cursor.copy(self.statement) as copy:
            for row in rows:
                copy.write_row(row)
        return rows

    def write_history(
        self,
        cursor: Any,
        records: list[Any],
        kind: str,
        when: dt.datetime,
        reason: str,
        user: Any,
        *,
        values: list[list[Any]] | None = None,
    ) -> None:
        """One history row a record, of ``kind`` (+ created, ~ changed, - deleted), as simple-history writes it.

        ``values``: the records' values as :meth:`write` just wrote them (else worked out again).
        """
        if not records:
            return
        user_id = user.pk if user is not None else None
        positions = self.history_positions if values else None
        with cursor.copy(self.history_statement) as copy:
            for index, record in enumerate(records):
                if positions is not None and values:
                    row = [values[index][position] for position in positions]
                else:
                    row = _database_values(record, self.history_attnames, self.history_dumps)
                row += [when, getattr(record, "_change_reason", None) or reason, kind, user_id]
                copy.write_row(row)


def _database_values(record: Any, attnames: list[str], dumps: list[Any]) -> list[Any]:
    values = [getattr(record, name) for name in attnames]
    return [value if dump is None or value is None else dump(value) for value, dump in zip(values, dumps, strict=True)]


def copied_fields(model: type[Any]) -> list[Any]:
    """The fields COPY writes of a model: its columns, except generated ones (PostgreSQL computes those)."""
    return [f for f in model._meta.concrete_fields if not f.generated]


def copy_statement(table: str, columns: list[str]) -> sql.Composed:
    return sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(sql.Identifier(column) for column in columns)
    )


def _dumper(model_field: Any) -> Any:
    """How COPY takes a field's value: None where as it is (text, numbers, ids, times), JSON as its text, else
    Django's adapter."""
    if isinstance(model_field, models.JSONField) and model_field.encoder is None:
        return _json_text
    if isinstance(model_field, (models.JSONField, GeometryField)):
        return lambda value: model_field.get_db_prep_save(value, connection)
    return None


def _json_text(value: Any) -> str:
    return "{}" if value == {} else json.dumps(value, ensure_ascii=False)  # most translated fields are empty


# --- Input files and reference data -----------------------------------------------------------------------------


@dataclass
class ImportFile:
    """What to import: a file's name and bytes, or a path (a file, a package folder, a datapackage.json)."""

    name: str
    data: bytes | None = None
    path: Path | None = None

    @classmethod
    def from_path(cls, path: Path) -> ImportFile:
        return cls(name=path.name, path=path)

    def read(self) -> bytes:
        if self.data is not None:
            return self.data
        assert self.path is not None
        return self.path.read_bytes()

    def open(self) -> BinaryIO:
        """The file to read as a stream (a file on disk is never read whole)."""
        if self.data is not None:
            return io.BytesIO(self.data)
        assert self.path is not None
        return self.path.open("rb")

    def size(self) -> int:
        if self.data is not None:
            return len(self.data)
        assert self.path is not None
        return self.path.stat().st_size if self.path.is_file() else 0


PROGRESS_EVERY = 25  # rows between two progress events of an import
NRW_AGS = "05"


def area_names() -> dict[str, str]:
    """Every AGS a service area may name (Land, Regierungsbezirke, Kreise, Gemeinden) → its name."""
    names = {NRW_AGS: "Nordrhein-Westfalen"}
    bezirke = m.Regierungsbezirk.objects.values_list("ags", "name")
    names.update({ags: f"Regierungsbezirk {name}" for ags, name in bezirke})
    names.update({kreis.ags: kreis.display_name for kreis in m.Kreis.objects.only("ags", "name", "bez")})
    names.update(dict(m.Gemeinde.objects.values_list("ags", "name")))
    return names
