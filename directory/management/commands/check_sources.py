"""Request every source page; record status and content hash; open a moderation task when one is gone or changed."""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from directory.models import Source
from directory.source_checks import check_sources


class Command(BaseCommand):
    help = "Check every source URL (bounded concurrency and time, robots.txt respected); never edits a record."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--workers", type=int, default=4, help="requests at once (default 4)")
        parser.add_argument("--timeout", type=float, default=10.0, help="seconds per request (default 10)")
        parser.add_argument("--source", action="append", default=[], help="only this source key (repeatable)")

    def handle(self, *args: Any, **options: Any) -> None:
        sources = Source.objects.exclude(url="").order_by("key")
        if options["source"]:
            sources = sources.filter(key__in=options["source"])
        results, tasks = check_sources(sources, workers=options["workers"], timeout=options["timeout"])
        counts = Counter(r.outcome for r in results)
        summary = ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items())) or "no sources"
        self.stdout.write(f"checked {len(results)} sources: {summary}; {tasks} moderation task(s) opened")
