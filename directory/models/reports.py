"""What visitors tell us: problem reports on a service, kept for moderation; and what they looked for in vain."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.gis.db import models
from django.core.validators import MaxLengthValidator, MinLengthValidator
from django.db.models import Q
from django.db.models.functions import Length
from django.db.models.lookups import LessThanOrEqual

from directory.models.catalogue import Service
from directory.models.geography import Kreis

if TYPE_CHECKING:
    pass

# --- What visitors tell us ------------------------------------------------------------------------------

PROBLEM_REPORT_MIN_LENGTH = 5
PROBLEM_REPORT_MAX_LENGTH = 2000


class ProblemReportStatus(models.TextChoices):
    OPEN = "open", "open"
    ACCEPTED = "accepted", "accepted"
    REJECTED = "rejected", "rejected"
    DONE = "done", "done"


class ProblemReport(models.Model):
    """Someone says a service's entry is wrong; a moderator decides.

    The reporter's IP address is not stored: ``client_hash`` is a salted hash of it, enough to
    limit how often one client may report (see services.report_problem). The contact and the hash are
    blanked ``settings.REPORT_CONTACT_DAYS`` after the report (services.prune_personal_data).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="problem_reports")
    text = models.TextField(
        max_length=PROBLEM_REPORT_MAX_LENGTH,
        validators=[MinLengthValidator(PROBLEM_REPORT_MIN_LENGTH), MaxLengthValidator(PROBLEM_REPORT_MAX_LENGTH)],
        help_text="What is wrong, in the reporter's words (stored as typed; escaped when shown).",
    )
    contact = models.CharField(max_length=200, blank=True, help_text="How to reach the reporter, if they want to be")
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=10, choices=ProblemReportStatus.choices, default=ProblemReportStatus.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    client_hash = models.CharField(max_length=64, editable=False)
    moderator_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["client_hash", "created_at"], name="problem_report_client_recent")]
        constraints = [
            # The form says 2,000 characters; a script posting past the form must not store more.
            models.CheckConstraint(
                condition=LessThanOrEqual(Length("text"), PROBLEM_REPORT_MAX_LENGTH), name="problem_report_text_length"
            ),
            models.CheckConstraint(
                condition=Q(status__in=ProblemReportStatus.values), name="problem_report_status_valid"
            ),
            # A hex SHA-256, never an address; blank once the retention period has passed (prune_personal_data).
            models.CheckConstraint(
                condition=Q(client_hash__regex=r"^[0-9a-f]{64}$") | Q(client_hash=""),
                name="problem_report_client_hash",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service}: {self.text[:60]}"


# --- What visitors looked for and did not find ------------------------------------------------------------

UNMET_QUERY_MAX_LENGTH = 100


class UnmetSearch(models.Model):
    """How many searches for these words found nothing, per UI language, Kreis and day: a list of unmet needs.

    Only the normalised words are kept (see services.count_unmet_search) — no address, cookie, account or time
    of day, so a row cannot be tied to a visitor. Rows older than 13 months are deleted (prune_unmet_searches).
    """

    query = models.CharField(max_length=UNMET_QUERY_MAX_LENGTH)
    language = models.CharField(max_length=7, help_text="The page language the search was made in")
    kreis = models.ForeignKey(
        Kreis, on_delete=models.CASCADE, null=True, blank=True, related_name="+", help_text="Of the place given, if any"
    )
    day = models.DateField()
    count = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-day", "query"]
        indexes = [models.Index(fields=["kreis", "day"], name="unmet_search_kreis_day")]
        constraints = [
            # One counter per query, language, Kreis (none counts as one value) and day: the upsert adds to it.
            models.UniqueConstraint(
                fields=["query", "language", "kreis", "day"], name="unmet_search_once", nulls_distinct=False
            ),
            # Normalised words only: never empty, never longer than the cut.
            models.CheckConstraint(
                condition=LessThanOrEqual(Length("query"), UNMET_QUERY_MAX_LENGTH) & ~Q(query=""),
                name="unmet_search_query_normalised",
            ),
            models.CheckConstraint(condition=Q(count__gte=1), name="unmet_search_counts_something"),
        ]

    def __str__(self) -> str:
        return f"{self.day}: {self.query!r} ({self.language}, {self.kreis_id or '-'}) × {self.count}"
