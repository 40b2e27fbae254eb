"""Print a one-time link with which a staff account sets up its second factor (editorial.TwoFactorEnrolment).

For the first administrator, made with `createsuperuser`, who has no administrator to ask; later links come
from /admin/ ("Two-factor enrolment links") as well.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from editorial.auth import issue_enrolment_link


class Command(BaseCommand):
    help = "Print a one-time link for a staff account to set up its authenticator app."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument(
            "--base-url",
            default="http://127.0.0.1:8000",
            help="the site's address the link starts with (default: %(default)s)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        user = get_user_model().objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"No account named {options['username']!r}.")
        path = issue_enrolment_link(user)
        hours = settings.WEGWEISER_ENROLMENT_LINK_HOURS
        self.stdout.write(f"{options['base_url'].rstrip('/')}{path}")
        self.stderr.write(f"Good once, for {hours} hours; any earlier unused link of {user} no longer works.")
