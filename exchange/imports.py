"""Import into the catalogue: an editor's spreadsheet (CSV or XLSX) or an HSDS data package (exports.py).

Rules both formats keep:

- **Every problem is reported**, each with its line, column and reason; reading goes on after a bad row. A
  report lists the first 1,000 problems and 1,000 rows of each outcome and counts the rest (pipeline.ImportReport).
- **All or nothing**: the file is written in one transaction; with any problem, nothing is written.
- **Upsert**: a spreadsheet row is matched by the list's own id (columns Quelle + Quell-ID, stored as
  ``Service.external_source``/``external_id``), a package row by its HSDS id. A record is only written
  where a value differs, so importing the same file twice changes nothing (and writes no history).
- **Dry run**: everything is done and then rolled back, so the report says exactly what a real run would
  create and change.
- Every write carries the history reason ``import: <file name>``; the search text of the services
  concerned is refreshed.

:class:`Importer` runs an import as a generator of :class:`Progress` events (the admin streams them);
:func:`run_import` runs it to the end. Problems are worded in German: editors read them.

This module is the entry point: it picks the reader for the file (:mod:`exchange.spreadsheet`,
:mod:`exchange.package`), and holds the transaction. The readers write through the one pipeline of
:mod:`exchange.pipeline` and know nothing of each other or of this module.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import Any

from django.db import transaction

from exchange.package import MAX_PACKAGE_BYTES, PackageImport
from exchange.pipeline import IMPORT_REASON, MAX_LISTED_ROWS, ImportFile, ImportReport, Outcome, Progress, Writer
from exchange.spreadsheet import MAX_SHEET_BYTES, SpreadsheetImport

# What callers of an import need, from where it is defined.
__all__ = [
    "FORMATS",
    "MAX_LISTED_ROWS",
    "ImportFile",
    "ImportReport",
    "Importer",
    "Outcome",
    "Progress",
    "detect_format",
    "run_import",
]

log = logging.getLogger(__name__)


class _Rollback(Exception):
    """Leaves the import's transaction without writing (dry run, or problems)."""


FORMATS = ("csv", "xlsx", "hsds")


def detect_format(upload: ImportFile) -> str | None:
    if upload.path is not None and upload.path.is_dir():
        return "hsds"
    suffix = PurePosixPath(upload.name.lower()).suffix
    if suffix in (".csv", ".txt", ".tsv"):
        return "csv"
    if suffix in (".xlsx", ".xlsm"):
        return "xlsx"
    if suffix in (".zip", ".json"):
        return "hsds"
    return None


def run_import(
    upload: ImportFile, *, dry_run: bool = False, file_format: str | None = None, user: Any = None
) -> ImportReport:
    importer = Importer(upload, dry_run=dry_run, file_format=file_format, user=user)
    for _ in importer.run():
        pass
    return importer.report


class Importer:
    """One import of one file. ``run()`` yields progress and fills ``report``."""

    def __init__(
        self, upload: ImportFile, *, dry_run: bool = False, file_format: str | None = None, user: Any = None
    ) -> None:
        self.upload = upload
        self.dry_run = dry_run
        self.format = file_format or detect_format(upload) or ""
        self.user = user if user is not None and getattr(user, "is_authenticated", False) else None
        self.report = ImportReport(filename=upload.name, format=self.format, dry_run=dry_run)

    def run(self) -> Iterator[Progress]:
        started = time.monotonic()
        try:
            yield from self._run()
        finally:
            self.report.seconds = time.monotonic() - started

    def _run(self) -> Iterator[Progress]:
        report = self.report
        if self.format not in FORMATS:
            report.problem(None, None, "Unbekanntes Dateiformat: bitte CSV, XLSX oder ein HSDS-Datenpaket (ZIP).")
            return
        if self.format != "hsds" and self.upload.path is not None and not self.upload.path.is_file():
            report.problem(
                None, None, f"{self.upload.name} ist keine Datei (ein Ordner kann nur ein HSDS-Datenpaket sein)."
            )
            return
        limit = MAX_PACKAGE_BYTES if self.format == "hsds" else MAX_SHEET_BYTES
        if self.upload.size() > limit:
            report.problem(None, None, f"Die Datei ist größer als {limit // (1024 * 1024)} MB.")
            return
        job: SpreadsheetImport | PackageImport
        writer = Writer(f"{IMPORT_REASON}: {self.upload.name}", report, user=self.user)
        if self.format == "hsds":
            job = PackageImport(self.upload, report, writer)
        else:
            job = SpreadsheetImport(self.upload, self.format, report, writer)
        try:
            with transaction.atomic():
                yield from job.run()
                if report.problems or self.dry_run:
                    raise _Rollback
                report.applied = True
        except _Rollback:
            report.applied = False
        except Exception as exc:  # a bug must not lose the report: say so, write nothing
            log.exception("import of %s failed", self.upload.name)
            report.applied = False
            report.problem(
                None, None, f"Interner Fehler beim Import ({type(exc).__name__}: {exc}); nichts wurde geschrieben."
            )
