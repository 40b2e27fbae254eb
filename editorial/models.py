"""The editorial workflow's own records: who may edit or moderate what, what caseworkers keep for
themselves, proposed changes waiting for review, per-field-group verification and the staff log.

The catalogue itself (directory.models) is only read and written through editorial.permissions and
editorial.services.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import MaxLengthValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Length
from django.db.models.lookups import GreaterThan, LessThanOrEqual
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from directory.models import Kreis, Organization, Service

# The Django auth group whose members are caseworkers (created by migration 0002).
CASEWORKER_GROUP = "caseworker"

NOTE_MAX_LENGTH = 5000
REASON_MAX_LENGTH = 2000


# --- Roles ----------------------------------------------------------------------------------------------


class EditorMembership(models.Model):
    """An organisation editor may edit the records of this organisation."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="editor_memberships")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    trusted = models.BooleanField(
        default=False, help_text="A trusted editor's changes to published records apply at once, without review."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["user", "organization"]
        constraints = [
            # One membership per editor and organisation, so "trusted" has one answer.
            models.UniqueConstraint(fields=["user", "organization"], name="editor_membership_once"),
        ]

    def __str__(self) -> str:
        return f"{self.user} → {self.organization}{' (trusted)' if self.trusted else ''}"


class ModeratorRegion(models.Model):
    """A regional moderator reviews the services in each of their Kreise."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="moderator_regions")
    kreis = models.ForeignKey(Kreis, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["user", "kreis"]
        constraints = [models.UniqueConstraint(fields=["user", "kreis"], name="moderator_region_once")]

    def __str__(self) -> str:
        return f"{self.user} moderates {self.kreis}"


# --- What caseworkers keep for themselves ---------------------------------------------------------------


class SavedService(models.Model):
    """A service on a caseworker's personal list."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="+")
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-added_at"]
        constraints = [models.UniqueConstraint(fields=["user", "service"], name="saved_service_once")]

    def __str__(self) -> str:
        return f"{self.user}: {self.service}"


class PrivateNote(models.Model):
    """A note on a service that only its author ever sees (not even in the Django admin)."""

    # A UUID, so note addresses cannot be counted through.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="+")
    text = models.TextField(max_length=NOTE_MAX_LENGTH, validators=[MaxLengthValidator(NOTE_MAX_LENGTH)])
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["author", "service"], name="private_note_author_service")]
        constraints = [
            # The form says 5,000 characters; a script posting past it must not store more, nor an empty note.
            models.CheckConstraint(
                condition=LessThanOrEqual(Length("text"), NOTE_MAX_LENGTH) & GreaterThan(Length("text"), 0),
                name="private_note_text_length",
            ),
        ]

    def __str__(self) -> str:
        return f"note on {self.service}"


# --- Changes waiting for review -------------------------------------------------------------------------


class ChangeRequestStatus(models.TextChoices):
    PENDING = "pending", _("pending")
    APPROVED = "approved", _("approved")
    REJECTED = "rejected", _("rejected")


class ChangeRequestKind(models.TextChoices):
    EDIT = "edit", _("change")
    CONFIRM = "confirm", _("confirmation: still correct")


class ChangeRequest(models.Model):
    """An editor's change to a published service, or their "still correct", held until a moderator of its
    region decides.

    An edit: ``proposed`` holds only the fields the editor changed, ``base`` what those fields were when they
    proposed it (so a reviewer sees if someone else changed them since). Shapes: see
    editorial.services.service_values. A confirmation: ``proposed`` is {"whole": bool, "groups": [field
    groups]}, ``base`` the values of those groups' fields as the editor saw them.
    """

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10, choices=ChangeRequestKind.choices, default=ChangeRequestKind.EDIT)
    proposed = models.JSONField()
    base = models.JSONField(default=dict)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=10, choices=ChangeRequestStatus.choices, default=ChangeRequestStatus.PENDING)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reason = models.TextField(blank=True, max_length=REASON_MAX_LENGTH)
    reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "created_at"], name="change_request_status_created")]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=ChangeRequestStatus.values), name="change_request_status_valid"
            ),
            # A decision has a date; a pending request has none.
            models.CheckConstraint(
                condition=Q(status=ChangeRequestStatus.PENDING, reviewed_at__isnull=True)
                | (~Q(status=ChangeRequestStatus.PENDING) & Q(reviewed_at__isnull=False)),
                name="change_request_decided_has_date",
            ),
            # Overlapping proposals are merged (same author) or refused (another's): one pending per kind.
            models.UniqueConstraint(
                fields=["service", "kind"],
                condition=Q(status=ChangeRequestStatus.PENDING),
                name="change_request_one_pending_per_kind",
            ),
            models.CheckConstraint(condition=Q(kind__in=ChangeRequestKind.values), name="change_request_kind_valid"),
            # An editor must learn why their change was refused.
            models.CheckConstraint(
                condition=~Q(status=ChangeRequestStatus.REJECTED) | ~Q(reason=""),
                name="change_request_rejection_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"change request #{self.pk}"

    @property
    def is_pending(self) -> bool:
        return self.status == ChangeRequestStatus.PENDING

    @property
    def is_confirmation(self) -> bool:
        return self.kind == ChangeRequestKind.CONFIRM


# --- Freshness ------------------------------------------------------------------------------------------


class FieldGroup(models.TextChoices):
    CONTACT = "contact", _("contact paths (phone, e-mail, website)")
    HOURS = "hours", _("opening hours")
    LANGUAGES = "languages", _("languages spoken")


class FieldGroupVerification(models.Model):
    """When a group of a service's fields was last confirmed as still correct, and by whom."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="+")
    group = models.CharField(max_length=20, choices=FieldGroup.choices)
    verified_at = models.DateTimeField()
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["service", "group"]
        constraints = [
            # The latest confirmation per group is what a page shows; the staff log keeps the earlier ones.
            models.UniqueConstraint(fields=["service", "group"], name="field_group_verification_once"),
            models.CheckConstraint(condition=Q(group__in=FieldGroup.values), name="field_group_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.service}: {self.group} confirmed {self.verified_at:%Y-%m-%d}"


# --- Staff log and login throttling ---------------------------------------------------------------------


class StaffActionKind(models.TextChoices):
    SIGNED_IN = "signed-in", _("signed in")
    SIGNED_OUT = "signed-out", _("signed out")
    TWO_FACTOR_SET_UP = "2fa-set-up", _("set up two-factor authentication")
    TWO_FACTOR_VERIFIED = "2fa-verified", _("verified a two-factor code")
    SERVICE_EDITED = "service-edited", _("edited a service")
    CHANGE_PROPOSED = "change-proposed", _("proposed a change")
    CHANGE_APPROVED = "change-approved", _("approved a change")
    CHANGE_REJECTED = "change-rejected", _("rejected a change")
    VERSION_RESTORED = "version-restored", _("restored a version")
    CONFIRMED = "confirmed", _("confirmed still correct")
    REPORT_DECIDED = "report-decided", _("decided on a problem report")
    LIST_ADDED = "list-added", _("added a service to their list")
    LIST_REMOVED = "list-removed", _("removed a service from their list")
    NOTE_ADDED = "note-added", _("added a private note")
    NOTE_DELETED = "note-deleted", _("deleted a private note")


class StaffAction(models.Model):
    """One write by a signed-in user in the editorial area: who, what, on which record, when.

    Never the content of a private note or a client's data: only that something was done.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    # Kept when the account is deleted later.
    username = models.CharField(max_length=150)
    action = models.CharField(max_length=30, choices=StaffActionKind.choices)
    target_type = models.CharField(max_length=100, blank=True, help_text="app_label.model of the record")
    target_id = models.CharField(max_length=64, blank=True)
    target_repr = models.CharField(max_length=200, blank=True)
    detail = models.TextField(blank=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["target_type", "target_id"], name="staff_action_target")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.username} {self.get_action_display()} {self.target_repr}"


class LoginFailure(models.Model):
    """A failed sign-in, counted per username and client to throttle password guessing.

    The client address is kept only as a salted hash (see editorial.services.login_client_hash).
    """

    username = models.CharField(max_length=150)
    client_hash = models.CharField(max_length=64)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["username", "client_hash", "at"], name="login_failure_recent"),
            models.Index(fields=["client_hash", "at"], name="login_failure_client_recent"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(client_hash__regex=r"^[0-9a-f]{64}$"), name="login_failure_client_hash")
        ]

    def __str__(self) -> str:
        return f"{self.username} at {self.at:%Y-%m-%d %H:%M}"


class TwoFactorEnrolment(models.Model):
    """An administrator's one-time link with which a staff account sets up its second factor.

    Without a device, a moderator's or administrator's password alone does not let them set one up: whoever
    guessed or stole the password could otherwise tie the account to their own authenticator app. The link is
    given to the person by another way (in person, by phone); only its SHA-256 is kept, so the table does not
    hold working links. Good once, until ``expires_at``; a new link for the account replaces an unused one.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField(editable=False)
    used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "two-factor enrolment link"
        constraints = [
            models.CheckConstraint(
                condition=Q(token_hash__regex=r"^[0-9a-f]{64}$"),  # noqa: S106 (a pattern, not a password)
                name="enrolment_token_hash",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} until {self.expires_at:%Y-%m-%d %H:%M}"
