"""Import a spreadsheet (CSV, XLSX) or an HSDS data package into the catalogue: all rows or none."""

from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from exchange.imports import FORMATS, Importer, ImportFile


class Command(BaseCommand):
    help = (
        "Import FILE: an editors' spreadsheet (.csv, .xlsx) or an HSDS data package (folder, datapackage.json "
        "or .zip, as export_hsds writes it). Every rejected row is reported with line, column and reason; "
        "with any, nothing is written and the command exits with status 1."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--dry-run", action="store_true", help="check and report, write nothing")
        parser.add_argument("--format", choices=FORMATS, help="default: from the file name")
        parser.add_argument("--user", help="username the history records the changes under")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.exists():
            raise CommandError(f"{path} does not exist")
        user = None
        if options["user"]:
            user = get_user_model().objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(f"no user {options['user']!r}")
        importer = Importer(
            ImportFile.from_path(path), dry_run=options["dry_run"], file_format=options["format"], user=user
        )
        shown = 0
        for progress in importer.run():
            if options["verbosity"] >= 2 and progress.done >= shown + 500:
                shown = progress.done
                self.stderr.write(f"{progress.done}/{progress.total} {progress.stage}")
        report = importer.report
        # Every row when nothing is written (dry run, rejected file) or when asked; else the changes only.
        verbose = options["verbosity"] >= 2 or options["dry_run"] or not report.ok
        self.stdout.write(report.text(unchanged=verbose))
        if not report.ok:
            raise CommandError(f"{report.problem_count} problem(s): nothing was imported", returncode=1)
