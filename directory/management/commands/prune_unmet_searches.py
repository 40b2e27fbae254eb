"""Delete the counts of unmet searches older than 13 months (run daily; ``make run`` runs it on each load)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from directory.services import prune_unmet_searches


class Command(BaseCommand):
    help = "Delete the counts of searches that found nothing that are older than 13 months."

    def handle(self, *args: Any, **options: Any) -> None:
        deleted = prune_unmet_searches()
        if options["verbosity"] > 0:
            self.stdout.write(f"unmet searches: {deleted} old counts deleted")
