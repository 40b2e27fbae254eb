"""Load the NRW geography and the catalogue from data/ (idempotent; one transaction each)."""

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from directory.cache import catalogue_changed
from exchange.loaders import LoadError, load_catalogue, load_geography


class Command(BaseCommand):
    help = "Load data/geography and data/catalogue. Loading twice changes nothing."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--data-dir", type=Path, default=settings.DATA_DIR, help="folder holding geography/ and catalogue/"
        )
        parser.add_argument("--force-geography", action="store_true", help="reload the geography even if unchanged")
        parser.add_argument("--skip-geography", action="store_true")
        parser.add_argument("--skip-catalogue", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        data_dir: Path = options["data_dir"]
        try:
            if not options["skip_geography"]:
                report = load_geography(data_dir / "geography", force=options["force_geography"])
                self.stdout.write(f"geography: {report.summary()}")
            if not options["skip_catalogue"]:
                report = load_catalogue(data_dir / "catalogue")
                self.stdout.write(f"catalogue: {report.summary()}")
        except LoadError as exc:
            raise CommandError(f"Nothing was loaded from that set: {exc}") from exc
        finally:
            # The geography loads in bulk, past the signals that make cached pages stale: make them stale here.
            catalogue_changed()
