"""Generate a Germany-scale synthetic catalogue for benchmarks (never part of ``make run``)."""

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from exchange.synthetic import generate, load_germany


class Command(BaseCommand):
    help = (
        "Load every German Kreis and Gemeinde, then add N obviously synthetic services ('[Synthetisch] …') "
        "spread by population. For benchmark databases only."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--services", type=int, default=1000)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--skip-geography", action="store_true", help="Germany's areas are already loaded")

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        if not options["skip_geography"]:
            geo = load_germany()
            self.stdout.write(
                f"geography: {geo.regierungsbezirke} Regierungsbezirke, {geo.kreise} Kreise, "
                f"{geo.gemeinden} Gemeinden added ({time.monotonic() - started:.0f} s)"
            )
        report = generate(options["services"], options["seed"], log=self.stdout.write)
        self.stdout.write(f"synthetic: {report.summary()} in {time.monotonic() - started:.0f} s")
