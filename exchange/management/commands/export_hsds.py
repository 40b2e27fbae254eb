"""Export the whole catalogue as an HSDS 3.0 tabular data package (or as HSDS JSON lines)."""

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from exchange.exports import export_jsonl, export_package, export_zip


class Command(BaseCommand):
    help = (
        "Write the catalogue as an HSDS 3.0 data package: one CSV per HSDS table, services.jsonl and "
        "datapackage.json into OUTPUT (a folder), or as one zip file, or only the JSON lines."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("output", help="folder (package), file (zip, jsonl) or - for standard output (jsonl)")
        parser.add_argument(
            "--format",
            choices=("package", "zip", "jsonl"),
            default="package",
            help="package: a folder of files (default); zip: the same in one zip file; jsonl: one service per line",
        )
        parser.add_argument("--no-jsonl", action="store_true", help="leave services.jsonl out of the package")

    def handle(self, *args: Any, **options: Any) -> None:
        output, file_format = options["output"], options["format"]
        if file_format == "jsonl":
            if output == "-":
                count = export_jsonl(sys.stdout.buffer)
            else:
                with Path(output).open("wb") as handle:
                    count = export_jsonl(handle)
            self.stderr.write(f"{count} services written as JSON lines")
            return
        if output == "-":
            raise CommandError("a package needs a folder or file name, not -")
        path = Path(output)
        if file_format == "zip":
            with path.open("wb") as handle:
                result = export_zip(handle, jsonl=not options["no_jsonl"])
        else:
            if path.exists() and not path.is_dir():
                raise CommandError(f"{path} exists and is no folder")
            result = export_package(path, jsonl=not options["no_jsonl"])
        self.stdout.write(result.summary())
