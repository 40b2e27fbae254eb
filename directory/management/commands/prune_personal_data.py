"""Keep personal data no longer than the privacy page says: run daily (README, "Keeping data"); ``make run`` runs
it once at start."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from directory.services import prune_personal_data


class Command(BaseCommand):
    help = (
        "Blank problem reports' contact and client hash after WEGWEISER_REPORT_CONTACT_DAYS, delete expired "
        "sessions and unmet-search counts older than 13 months."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        pruned = prune_personal_data()
        if options["verbosity"] > 0:
            self.stdout.write(
                f"problem reports older than {settings.REPORT_CONTACT_DAYS} days: contact blanked in "
                f"{pruned.report_contacts}; unmet searches: {pruned.unmet_searches} old counts deleted; "
                "expired sessions cleared"
            )
