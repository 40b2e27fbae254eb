"""Editorial writes: plain functions, atomic, keyword-only; each one leaves a StaffAction.

Callers (the views) look records up through editorial.permissions first; the functions that act on
someone else's records check again, so a forgotten check in a view cannot publish anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from typing import TYPE_CHECKING, Any, NamedTuple

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.utils import timezone

from directory.models import (
    Language,
    Phone,
    ProblemReport,
    ProblemReportStatus,
    Record,
    Schedule,
    Service,
    VerificationState,
)
from directory.services import refresh_search_text, restore_version
from editorial.models import (
    NOTE_MAX_LENGTH,
    REASON_MAX_LENGTH,
    ChangeRequest,
    ChangeRequestStatus,
    FieldGroup,
    FieldGroupVerification,
    PrivateNote,
    SavedService,
    StaffAction,
    StaffActionKind,
)
from editorial.permissions import (
    can_apply_directly,
    change_requests_reviewable_by,
    notes_of,
    problem_reports_moderated_by,
    services_editable_by,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from editorial.permissions import AnyUser


# --- Staff log ------------------------------------------------------------------------------------------


def log_action(
    *, user: AnyUser | None, action: StaffActionKind, target: models.Model | None = None, detail: str = ""
) -> StaffAction:
    """Write one line of the staff log (who, what, which record, when)."""
    authenticated = user is not None and user.is_authenticated
    return StaffAction.objects.create(
        user_id=user.pk if authenticated and user is not None else None,
        username=user.get_username() if authenticated and user is not None else "",
        action=action,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_repr=str(target)[:200] if target is not None else "",
        detail=detail[:2000],
    )


def who(user: AnyUser | None) -> str:
    return user.get_username() if user is not None and user.is_authenticated else "someone"


# --- A caseworker's own list and notes ------------------------------------------------------------------


@transaction.atomic
def save_service(*, user: User, service: Service) -> SavedService:
    """Put a service on the user's list (adding it twice keeps one entry)."""
    saved, created = SavedService.objects.get_or_create(user_id=user.pk, service=service)
    if created:
        log_action(user=user, action=StaffActionKind.LIST_ADDED, target=service)
    return saved


@transaction.atomic
def unsave_service(*, user: User, service: Service) -> bool:
    deleted, _ = SavedService.objects.filter(user_id=user.pk, service=service).delete()
    if deleted:
        log_action(user=user, action=StaffActionKind.LIST_REMOVED, target=service)
    return bool(deleted)


def storable_text(text: str) -> str:
    """Text as typed, line breaks kept, trimmed; PostgreSQL cannot store NUL characters. Templates escape it."""
    return text.replace("\x00", "").strip()


@transaction.atomic
def add_note(*, author: User, service: Service, text: str) -> PrivateNote:
    """A private note; raises ValidationError when empty or over NOTE_MAX_LENGTH characters."""
    note = PrivateNote(author_id=author.pk, service=service, text=storable_text(text))
    if not note.text:
        raise ValidationError({"text": "A note needs some text."})
    if len(note.text) > NOTE_MAX_LENGTH:
        raise ValidationError({"text": f"A note may have at most {NOTE_MAX_LENGTH} characters."})
    note.full_clean()
    note.save()
    # Only that a note was written, never what it says.
    log_action(user=author, action=StaffActionKind.NOTE_ADDED, target=service)
    return note


@transaction.atomic
def delete_note(*, author: User, note: PrivateNote) -> None:
    if not notes_of(author).filter(pk=note.pk).exists():
        raise PermissionDenied("Only its author may delete a note.")
    service = note.service
    note.delete()
    log_action(user=author, action=StaffActionKind.NOTE_DELETED, target=service)


# --- A service's editable values ------------------------------------------------------------------------

# What the /manage/ edit form changes; everything else stays with the Django admin and the importers.
EDITABLE_FIELDS = ("name", "description", "url", "email", "phones", "hours", "languages")
OWN_FIELDS = ("name", "description", "url", "email")


def _hhmm(value: time | None) -> str:
    return value.strftime("%H:%M") if value is not None else ""


def phone_value(phone: Phone) -> dict[str, str]:
    return {"number": phone.number, "extension": phone.extension, "type": phone.type}


def slot_value(slot: Schedule) -> dict[str, str]:
    return {
        "byday": slot.byday,
        "opens_at": _hhmm(slot.opens_at),
        "closes_at": _hhmm(slot.closes_at),
        "attending_type": slot.attending_type,
    }


def sort_phones(phones: list[dict[str, str]]) -> list[dict[str, str]]:
    return sorted(phones, key=lambda p: (p["number"], p["extension"], p["type"]))


def sort_slots(slots: list[dict[str, str]]) -> list[dict[str, str]]:
    return sorted(slots, key=lambda s: (s["byday"], s["opens_at"], s["closes_at"], s["attending_type"]))


def editable_slots(service: Service) -> models.QuerySet[Schedule]:
    """The service's own weekly opening slots; seasonal slots and closures are left to the admin."""
    return Schedule.objects.filter(service=service, is_closed=False, valid_from__isnull=True, valid_to__isnull=True)


def service_values(service: Service) -> dict[str, Any]:
    """The service's editable values as JSON-ready data, in the shapes a ChangeRequest stores.

    {"name": {"de": …}, "description": {…}, "url": "", "email": "",
     "phones": [{"number", "extension", "type"}], "hours": [{"byday", "opens_at", "closes_at", "attending_type"}],
     "languages": ["ar", "de"]}; lists sorted, so equal values compare equal.
    """
    return {
        "name": dict(service.name or {}),
        "description": dict(service.description or {}),
        "url": service.url,
        "email": service.email,
        "phones": sort_phones([phone_value(p) for p in Phone.objects.filter(service=service)]),
        "hours": sort_slots([slot_value(s) for s in editable_slots(service)]),
        "languages": sorted(Language.objects.filter(service=service).values_list("code", flat=True)),
    }


def changed_values(current: dict[str, Any], proposed: dict[str, Any]) -> dict[str, Any]:
    return {
        field: proposed[field] for field in EDITABLE_FIELDS if field in proposed and proposed[field] != current[field]
    }


def _stamp(record: models.Model, *, user: AnyUser | None, reason: str) -> None:
    """What django-simple-history writes into the version this save or delete creates."""
    record._change_reason = reason  # type: ignore[attr-defined]
    record._history_user = user  # type: ignore[attr-defined]


def _apply(service: Service, values: dict[str, Any], *, user: AnyUser | None, reason: str) -> None:
    """Write ``values`` (a subset of service_values' keys) into the service and its rows, one new version each."""
    own = [field for field in OWN_FIELDS if field in values]
    for field in own:
        setattr(service, field, values[field])
    service.clean_fields(exclude=[f.name for f in Service._meta.fields if f.name not in own])
    _stamp(service, user=user, reason=reason)
    # Saved even when only related rows change, so the service's own history names the change.
    service.save()

    if "phones" in values:
        wanted = {(p["number"], p["extension"], p["type"]) for p in values["phones"]}
        for phone in Phone.objects.filter(service=service):
            key = (phone.number, phone.extension, phone.type)
            if key in wanted:
                wanted.discard(key)
            else:
                _stamp(phone, user=user, reason=reason)
                phone.delete()
        for number, extension, kind in sorted(wanted):
            phone = Phone(service=service, number=number, extension=extension, type=kind)
            _stamp(phone, user=user, reason=reason)
            phone.save()

    if "hours" in values:
        wanted_slots = {(s["byday"], s["opens_at"], s["closes_at"], s["attending_type"]) for s in values["hours"]}
        for slot in editable_slots(service):
            slot_key = (slot.byday, _hhmm(slot.opens_at), _hhmm(slot.closes_at), slot.attending_type)
            if slot_key in wanted_slots:
                wanted_slots.discard(slot_key)
            else:
                _stamp(slot, user=user, reason=reason)
                slot.delete()
        for byday, opens_at, closes_at, attending in sorted(wanted_slots):
            slot = Schedule(
                service=service,
                byday=byday,
                opens_at=time.fromisoformat(opens_at),
                closes_at=time.fromisoformat(closes_at),
                attending_type=attending,
            )
            _stamp(slot, user=user, reason=reason)
            slot.save()

    if "languages" in values:
        wanted_codes = set(values["languages"])
        for language in Language.objects.filter(service=service):
            if language.code in wanted_codes:
                wanted_codes.discard(language.code)
            else:
                _stamp(language, user=user, reason=reason)
                language.delete()
        for code in sorted(wanted_codes):
            language = Language(service=service, code=code)
            _stamp(language, user=user, reason=reason)
            language.save()

    if "name" in values or "description" in values:
        refresh_search_text([service.pk])


@dataclass
class EditOutcome:
    changed: list[str]
    applied: bool
    change_request: ChangeRequest | None = None


@transaction.atomic
def submit_service_edit(*, service: Service, user: User, values: dict[str, Any]) -> EditOutcome:
    """An edit from the /manage/ form: applied at once when the user may (see can_apply_directly),
    else held as a pending ChangeRequest with only the changed fields."""
    if not services_editable_by(user).filter(pk=service.pk).exists():
        raise PermissionDenied("This service is not one you may edit.")
    service = Service.objects.select_for_update().get(pk=service.pk)
    current = service_values(service)
    changes = changed_values(current, values)
    if not changes:
        return EditOutcome(changed=[], applied=False)
    if can_apply_directly(user, service):
        _apply(service, changes, user=user, reason=f"edited by {who(user)} in /manage/ ({', '.join(changes)})")
        log_action(user=user, action=StaffActionKind.SERVICE_EDITED, target=service, detail=", ".join(changes))
        return EditOutcome(changed=list(changes), applied=True)
    change_request = ChangeRequest.objects.create(
        service=service, proposed=changes, base={field: current[field] for field in changes}, author_id=user.pk
    )
    log_action(
        user=user,
        action=StaffActionKind.CHANGE_PROPOSED,
        target=change_request,
        detail=f"{service}: {', '.join(changes)}",
    )
    return EditOutcome(changed=list(changes), applied=False, change_request=change_request)


def _pending_for_review(change_request: ChangeRequest, reviewer: User) -> ChangeRequest:
    locked = (
        ChangeRequest.objects.select_for_update(of=("self",))
        .select_related("service", "author")
        .get(pk=change_request.pk)
    )
    if not change_requests_reviewable_by(reviewer).filter(pk=locked.pk).exists():
        raise PermissionDenied("Only a moderator of the service's region may decide on this change.")
    if not locked.is_pending:
        raise ValidationError(f"Change request #{locked.pk} was already {locked.status}.")
    return locked


@transaction.atomic
def approve_change_request(*, change_request: ChangeRequest, reviewer: User) -> ChangeRequest:
    """Apply a pending change to the live record, with its own version in the history, and close it."""
    locked = _pending_for_review(change_request, reviewer)
    service = Service.objects.select_for_update().get(pk=locked.service_id)
    reason = f"approved change request #{locked.pk}, by {who(reviewer)} (proposed by {who(locked.author)})"
    _apply(service, locked.proposed, user=reviewer, reason=reason)
    locked.status = ChangeRequestStatus.APPROVED
    locked.reviewer_id = reviewer.pk
    locked.reviewed_at = timezone.now()
    locked.save(update_fields=["status", "reviewer", "reviewed_at"])
    log_action(user=reviewer, action=StaffActionKind.CHANGE_APPROVED, target=locked, detail=str(service))
    return locked


@transaction.atomic
def reject_change_request(*, change_request: ChangeRequest, reviewer: User, reason: str) -> ChangeRequest:
    """Close a pending change without applying it; the editor is told ``reason`` (required)."""
    reason = storable_text(reason)
    if not reason:
        raise ValidationError({"reason": "Say why the change is rejected: its author reads it."})
    if len(reason) > REASON_MAX_LENGTH:
        raise ValidationError({"reason": f"A reason may have at most {REASON_MAX_LENGTH} characters."})
    locked = _pending_for_review(change_request, reviewer)
    locked.status = ChangeRequestStatus.REJECTED
    locked.reviewer_id = reviewer.pk
    locked.reviewed_at = timezone.now()
    locked.reason = reason
    locked.save(update_fields=["status", "reviewer", "reviewed_at", "reason"])
    log_action(user=reviewer, action=StaffActionKind.CHANGE_REJECTED, target=locked, detail=reason)
    return locked


@transaction.atomic
def restore_service_version(*, service: Service, version: Any, user: User) -> Service:
    """Make an earlier version of a service current again (kept as a new version). Only those whose edits
    apply directly may, since a restore changes the published record."""
    if not services_editable_by(user).filter(pk=service.pk).exists() or not can_apply_directly(user, service):
        raise PermissionDenied("Only those whose edits of this service apply directly may restore a version.")
    if version.id != service.pk:
        raise ValidationError("That version belongs to another record.")
    restored: Service = restore_version(version, user=user)
    refresh_search_text([restored.pk])
    log_action(
        user=user,
        action=StaffActionKind.VERSION_RESTORED,
        target=restored,
        detail=f"version {version.history_id} of {version.history_date:%Y-%m-%d %H:%M}",
    )
    return restored


# --- Freshness ------------------------------------------------------------------------------------------


class GroupVerification(NamedTuple):
    verified_at: datetime
    verified_by: User | None


def field_group_verifications(service: Service) -> dict[str, GroupVerification]:
    """When each field group of the service was last confirmed, and by whom (one query).

    {"contact": (datetime, user), "hours": …, "languages": …}; a group never confirmed is missing.
    """
    return {
        row.group: GroupVerification(row.verified_at, row.verified_by)
        for row in FieldGroupVerification.objects.filter(service=service).select_related("verified_by")
    }


@transaction.atomic
def confirm_still_correct(*, record: Record, user: User, group: str = "") -> datetime:
    """One click: the record (with ``group``: one group of its fields) is still correct as of now.

    Confirming a whole service confirms each of its field groups too. Returns the time recorded.
    """
    now = timezone.now()
    if isinstance(record, Service) and not services_editable_by(user).filter(pk=record.pk).exists():
        raise PermissionDenied("This service is not one you may confirm.")
    if group and group not in FieldGroup.values:
        raise ValidationError({"group": f"Unknown field group {group!r}."})
    if group and not isinstance(record, Service):
        raise ValidationError({"group": "Field groups are confirmed on services."})
    if not group:
        record.verification_state = VerificationState.VERIFIED
        record.last_verified_at = now
        record.verified_by_id = user.pk
        _stamp(record, user=user, reason="confirmed still correct")
        record.save(update_fields=["verification_state", "last_verified_at", "verified_by", "updated_at"])
    if isinstance(record, Service):
        for each in [group] if group else FieldGroup.values:
            FieldGroupVerification.objects.update_or_create(
                service=record, group=each, defaults={"verified_at": now, "verified_by_id": user.pk}
            )
    log_action(user=user, action=StaffActionKind.CONFIRMED, target=record, detail=group or "whole record")
    return now


# --- Problem reports ------------------------------------------------------------------------------------

DECISIONS = (ProblemReportStatus.ACCEPTED, ProblemReportStatus.REJECTED, ProblemReportStatus.DONE)


@transaction.atomic
def decide_problem_report(*, report: ProblemReport, moderator: User, status: str, note: str = "") -> ProblemReport:
    """Accept, reject or close a problem report with a note (required when rejecting)."""
    locked = problem_reports_moderated_by(moderator).select_for_update().filter(pk=report.pk).first()
    if locked is None:
        raise PermissionDenied("Only a moderator of the service's region may decide on this report.")
    if status not in DECISIONS:
        raise ValidationError({"status": "Choose accepted, rejected or done."})
    note = storable_text(note)
    if len(note) > REASON_MAX_LENGTH:
        raise ValidationError({"note": f"A note may have at most {REASON_MAX_LENGTH} characters."})
    if status == ProblemReportStatus.REJECTED and not note:
        raise ValidationError({"note": "Say why the report is rejected."})
    locked.status = status
    locked.moderator_note = note
    locked.save(update_fields=["status", "moderator_note"])
    log_action(user=moderator, action=StaffActionKind.REPORT_DECIDED, target=locked, detail=f"{status}: {note}")
    return locked
