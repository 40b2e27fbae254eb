"""Where records come from and how true they are: sources, verification, loaded datasets, source checks.

Every catalogue record (:class:`Record`) keeps its source, its verification state and a restorable history.
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections.abc import Collection
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.gis.db import models
from django.core.exceptions import ValidationError
from django.db.models import Q
from simple_history.models import HistoricalRecords

from directory.validation import TEXT_MAX_LENGTH, check_text

if TYPE_CHECKING:
    pass


_M = TypeVar("_M", bound=models.Model)


def record_by_id(queryset: models.QuerySet[_M], record_id: object) -> _M | None:
    """The row of ``queryset`` with this primary key, else None — also for a malformed id (a visitor's typo, a
    hostile URL), so that every app answers both with its own "not found" and never a 500."""
    try:
        return queryset.filter(pk=record_id).first()
    except (ValueError, TypeError, ValidationError):
        return None


class LoadedDataset(models.Model):
    """Which version of a data file set was loaded last, so an unchanged set is not loaded again."""

    name = models.CharField(primary_key=True, max_length=50)
    sha256 = models.CharField(max_length=64)
    loaded_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.sha256[:12]})"


# --- Provenance -----------------------------------------------------------------------------------------


class Source(models.Model):
    """A document or dataset a record's facts come from."""

    key = models.SlugField(max_length=100, unique=True)
    title = models.CharField(max_length=300)
    publisher = models.CharField(max_length=200, blank=True)
    url = models.URLField(max_length=500, blank=True)
    document = models.CharField(max_length=300, blank=True, help_text="Path or citation of the document")
    date = models.DateField(null=True, blank=True, help_text="The date the document or page states")
    year = models.PositiveSmallIntegerField(null=True, blank=True)
    read_on = models.DateField(
        null=True,
        blank=True,
        help_text="For a public web page: the day its facts were read (its date if it states none)",
    )

    class Meta:
        ordering = ["key"]
        constraints = [
            # A source must be findable again: by URL or by document.
            models.CheckConstraint(condition=~Q(url="") | ~Q(document=""), name="source_url_or_document"),
            # A page we read facts from has a web address to read it again.
            models.CheckConstraint(condition=Q(read_on__isnull=True) | ~Q(url=""), name="source_read_page_has_url"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_public_page(self) -> bool:
        """Facts read off a public web page (not confirmed by the office, not a law or press release)."""
        return self.read_on is not None

    @property
    def as_of(self) -> dt.date | None:
        """How old the facts are: the date the source states, else the day the page was read."""
        return self.date or self.read_on or (dt.date(self.year, 1, 1) if self.year else None)

    @property
    def site(self) -> str:
        """The web site a source lives on, as a reader recognises it: "stadt-muenster.de"."""
        host = urlsplit(self.url).hostname or ""
        return host.removeprefix("www.")


class VerificationState(models.TextChoices):
    UNVERIFIED = "unverified", "not yet verified"
    VERIFIED = "verified", "verified"


class Record(models.Model):
    """What every catalogue record has: a UUID, its source, its verification and its history."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    source = models.ForeignKey(Source, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    verification_state = models.CharField(
        max_length=20, choices=VerificationState.choices, default=VerificationState.UNVERIFIED
    )
    last_verified_at = models.DateTimeField(null=True, blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(inherit=True)

    class Meta:
        abstract = True
        constraints = [
            # "Verified" without a date would be a claim no one could check.
            models.CheckConstraint(
                condition=~Q(verification_state="verified") | Q(last_verified_at__isnull=False),
                name="%(class)s_verified_has_date",
            ),
        ]

    @property
    def is_verified(self) -> bool:
        return self.verification_state == VerificationState.VERIFIED

    def clean_fields(self, exclude: Collection[str] | None = None) -> None:
        """Django's checks, and the free-text rule (directory.validation.check_text) on every text column:
        the one place where the admin, the staff forms and all three importers meet it."""
        errors: dict[str, list[ValidationError]] = {}
        try:
            super().clean_fields(exclude=exclude)
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        skipped = {*(exclude or ()), *errors}
        for field, single_line in _free_text_fields(type(self)):
            if field.name in skipped or field.attname in skipped or field.attname not in self.__dict__:  # deferred
                continue
            value = self.__dict__[field.attname]
            if not isinstance(value, str):
                continue
            try:
                check_text(value, single_line=single_line, max_length=field.max_length or TEXT_MAX_LENGTH)
            except ValidationError as exc:
                errors.setdefault(field.name, []).append(exc)
        if errors:
            raise ValidationError(errors)


@functools.cache
def _free_text_fields(model: type[models.Model]) -> list[tuple[models.Field[Any, Any], bool]]:
    """The model's columns of free text (no choices), each with whether it is one line: what check_text checks.
    Worked out once a model, as an import checks thousands of records."""
    return [
        (field, not isinstance(field, models.TextField))
        for field in model._meta.concrete_fields
        if isinstance(field, (models.CharField, models.TextField)) and not field.choices
    ]


def record_constraints(*extra: models.BaseConstraint) -> list[models.BaseConstraint]:
    return [*Record.Meta.constraints, *extra]


# --- Taxonomies -----------------------------------------------------------------------------------------


# --- Keeping sources true -------------------------------------------------------------------------------


class SourceCheckOutcome(models.TextChoices):
    UNCHANGED = "unchanged", "unchanged"
    FIRST = "first", "first check"
    CHANGED = "changed", "changed"
    GONE = "gone", "gone (4xx)"
    FAILED = "failed", "failed (server error, time-out, network)"
    DISALLOWED = "disallowed", "not checked: robots.txt disallows it"


class SourceCheck(models.Model):
    """One request of a source's page by ``manage.py check_sources``: what came back and what it means."""

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="checks")
    checked_at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    content_sha256 = models.CharField(max_length=64, blank=True)
    outcome = models.CharField(max_length=12, choices=SourceCheckOutcome.choices)
    detail = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-checked_at"]
        indexes = [models.Index(fields=["source", "-checked_at"], name="source_check_latest")]
        constraints = [
            models.CheckConstraint(condition=Q(outcome__in=SourceCheckOutcome.values), name="source_check_outcome"),
            # A hash is of a page that came back, hex SHA-256.
            models.CheckConstraint(
                condition=Q(content_sha256="") | Q(content_sha256__regex=r"^[0-9a-f]{64}$"),
                name="source_check_hash_format",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source.key}: {self.outcome} {self.checked_at:%Y-%m-%d}"
