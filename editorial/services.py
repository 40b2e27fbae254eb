"""Editorial writes: plain functions, atomic, keyword-only; each one leaves a StaffAction.

Callers (the views) look records up through editorial.permissions first; the functions that act on
someone else's records check again, so a forgotten check in a view cannot publish anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from typing import TYPE_CHECKING, Any, NamedTuple

from django.contrib.gis.geos import Point
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from directory.models import (
    Address,
    Language,
    Location,
    LocationType,
    Phone,
    ProblemReport,
    ProblemReportStatus,
    Record,
    Schedule,
    Service,
    ServiceAtLocation,
    VerificationState,
)
from directory.provenance import recorded_groups
from directory.services import refresh_search_text, restore_version
from editorial.models import (
    NOTE_MAX_LENGTH,
    REASON_MAX_LENGTH,
    ChangeRequest,
    ChangeRequestKind,
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
EDITABLE_FIELDS = ("name", "description", "url", "email", "phones", "hours", "languages", "place")
OWN_FIELDS = ("name", "description", "url", "email")
# The editable fields each field group covers (what a confirmation of the group vouches for).
GROUP_FIELDS = {"contact": ("phones", "url", "email"), "hours": ("hours",), "languages": ("languages",)}


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


def primary_place(service: Service) -> ServiceAtLocation | None:
    """The physical place the staff form edits: the service's first (most services have one)."""
    return (
        ServiceAtLocation.objects.filter(service=service, location__location_type=LocationType.PHYSICAL)
        .select_related("location")
        .order_by("created_at", "id")
        .first()
    )


def _street_address(location: Location) -> Address | None:
    return Address.objects.filter(location=location).order_by("-address_1", "created_at", "id").first()


def place_value(service: Service) -> dict[str, Any] | None:
    """The primary place as {"address_1", "postal_code", "city", "ags", "lat", "lon", "accuracy"}, or None."""
    sal = primary_place(service)
    if sal is None:
        return None
    location = sal.location
    address = _street_address(location)
    point = location.point
    return {
        "address_1": address.address_1 if address else "",
        "postal_code": address.postal_code if address else "",
        "city": address.city if address else "",
        "ags": location.gemeinde_id or "",
        "lat": round(point.y, 6) if point is not None else None,
        "lon": round(point.x, 6) if point is not None else None,
        "accuracy": location.point_accuracy,
    }


def service_values(service: Service) -> dict[str, Any]:
    """The service's editable values as JSON-ready data, in the shapes a ChangeRequest stores.

    {"name": {"de": …}, "description": {…}, "url": "", "email": "",
     "phones": [{"number", "extension", "type"}], "hours": [{"byday", "opens_at", "closes_at", "attending_type"}],
     "languages": ["ar", "de"], "place": see place_value}; lists sorted, so equal values compare equal.
    """
    return {
        "name": dict(service.name or {}),
        "description": dict(service.description or {}),
        "url": service.url,
        "email": service.email,
        "phones": sort_phones([phone_value(p) for p in Phone.objects.filter(service=service)]),
        "hours": sort_slots([slot_value(s) for s in editable_slots(service)]),
        "languages": sorted(Language.objects.filter(service=service).values_list("code", flat=True)),
        "place": place_value(service),
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

    if values.get("place") is not None:
        _apply_place(service, values["place"], user=user, reason=reason)

    # The names and descriptions feed the search text, the languages and the place the stored facts the
    # filter counts read: one service, a few milliseconds, so always.
    refresh_search_text([service.pk])


def _apply_place(service: Service, value: dict[str, Any], *, user: AnyUser | None, reason: str) -> None:
    """Move the primary place (or give the service one): its point, Gemeinde and street address.

    The street address typed by staff replaces one read off a public page, so its source is cleared.
    """
    sal = primary_place(service)
    if sal is None:
        location = Location(
            organization=service.organization, name=dict(service.name or {}), location_type=LocationType.PHYSICAL
        )
    else:
        location = sal.location
    location.point = Point(value["lon"], value["lat"], srid=4326)
    location.point_accuracy = value["accuracy"]
    location.gemeinde_id = value["ags"]
    _stamp(location, user=user, reason=reason)
    location.save()
    if sal is None:
        sal = ServiceAtLocation(service=service, location=location)
        _stamp(sal, user=user, reason=reason)
        sal.save()
    address = _street_address(location) or Address(location=location)
    address.address_1 = value["address_1"]
    address.postal_code = value["postal_code"]
    address.city = value["city"]
    address.source = None
    address.full_clean(exclude=["location", "source"])
    _stamp(address, user=user, reason=reason)
    address.save()


@dataclass
class EditOutcome:
    changed: list[str]
    applied: bool
    change_request: ChangeRequest | None = None
    merged: bool = False


def pending_requests(service: Service) -> models.QuerySet[ChangeRequest]:
    return ChangeRequest.objects.filter(service=service, status=ChangeRequestStatus.PENDING).select_related("author")


def own_pending_request(service: Service, user: AnyUser, kind: str = ChangeRequestKind.EDIT) -> ChangeRequest | None:
    """The user's own request of ``kind`` on the service still waiting for review (a new one is merged into it)."""
    if not user.is_authenticated:
        return None
    return pending_requests(service).filter(author_id=user.pk, kind=kind).first()


def _own_pending_or_refuse(service: Service, user: User, kind: str) -> ChangeRequest | None:
    """Overlapping requests: the user's own pending one of ``kind`` (to merge into), or None; another
    person's pending request on the same entry refuses the new one, so no review decides on stale values."""
    pending = list(pending_requests(service).select_for_update(of=("self",)))
    other = next((change for change in pending if change.author_id != user.pk), None)
    if other is not None:
        raise ValidationError(
            _(
                "Change #%(id)s by %(author)s on this entry is waiting for a moderator's review. "
                "Propose yours once it is decided, or ask a moderator of its region."
            )
            % {"id": other.pk, "author": who(other.author)}
        )
    return next((change for change in pending if change.kind == kind), None)


@transaction.atomic
def submit_service_edit(*, service: Service, user: User, values: dict[str, Any]) -> EditOutcome:
    """An edit from the /manage/ form: applied at once when the user may (see can_apply_directly),
    else held as a pending ChangeRequest with only the changed fields.

    The form of someone with a pending proposal starts from it, so a second submission replaces the
    proposal (kept under the same number); while someone else's proposal waits, a new one is refused.
    """
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
    own = _own_pending_or_refuse(service, user, ChangeRequestKind.EDIT)
    if own is not None:
        own.base = {field: own.base.get(field, current[field]) for field in changes}
        own.proposed = changes
        own.save(update_fields=["base", "proposed"])
        change_request = own
    else:
        change_request = ChangeRequest.objects.create(
            service=service, proposed=changes, base={field: current[field] for field in changes}, author_id=user.pk
        )
    log_action(
        user=user,
        action=StaffActionKind.CHANGE_PROPOSED,
        target=change_request,
        detail=f"{service}: {', '.join(changes)}{' (merged into the pending proposal)' if own else ''}",
    )
    return EditOutcome(changed=list(changes), applied=False, change_request=change_request, merged=own is not None)


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
    if locked.is_confirmation:
        _confirm_service(
            service,
            groups=[g for g in locked.proposed.get("groups", []) if g in recorded_groups(service)],
            whole=bool(locked.proposed.get("whole")),
            by=locked.author,
            at=locked.created_at,
            reason=f"confirmed still correct by {who(locked.author)}, approved by {who(reviewer)} (#{locked.pk})",
        )
    else:
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


@dataclass
class ConfirmOutcome:
    """What one "still correct" did: the groups confirmed (or proposed), those skipped as holding nothing."""

    at: datetime
    groups: list[str]
    skipped: list[str]
    change_request: ChangeRequest | None = None
    merged: bool = False


def _confirm_service(
    service: Service, *, groups: list[str], whole: bool, by: AnyUser | None, at: datetime, reason: str
) -> None:
    if whole:
        service.verification_state = VerificationState.VERIFIED
        service.last_verified_at = at
        service.verified_by_id = by.pk if by is not None else None
        _stamp(service, user=by, reason=reason)
        service.save(update_fields=["verification_state", "last_verified_at", "verified_by", "updated_at"])
    for group in groups:
        FieldGroupVerification.objects.update_or_create(
            service=service, group=group, defaults={"verified_at": at, "verified_by_id": by.pk if by else None}
        )


@transaction.atomic
def confirm_still_correct(*, record: Record, user: User, group: str = "") -> ConfirmOutcome:
    """One click: the record (with ``group``: one group of its fields) is still correct as of now.

    Confirming a whole service confirms each of its field groups too — those that hold a fact: a group with
    nothing recorded is skipped (directory.provenance.recorded_groups), as "checked" would be untrue of it.
    An editor whose edits wait for review (see can_apply_directly) proposes the confirmation instead: it is
    held as a ChangeRequest and has no effect until a moderator approves it.
    """
    now = timezone.now()
    if isinstance(record, Service) and not services_editable_by(user).filter(pk=record.pk).exists():
        raise PermissionDenied("This service is not one you may confirm.")
    if group and group not in FieldGroup.values:
        raise ValidationError({"group": f"Unknown field group {group!r}."})
    if group and not isinstance(record, Service):
        raise ValidationError({"group": "Field groups are confirmed on services."})
    if not isinstance(record, Service):
        record.verification_state = VerificationState.VERIFIED
        record.last_verified_at = now
        record.verified_by_id = user.pk
        _stamp(record, user=user, reason="confirmed still correct")
        record.save(update_fields=["verification_state", "last_verified_at", "verified_by", "updated_at"])
        log_action(user=user, action=StaffActionKind.CONFIRMED, target=record, detail="whole record")
        return ConfirmOutcome(at=now, groups=[], skipped=[])
    service = Service.objects.select_for_update().get(pk=record.pk)
    wanted = [group] if group else list(FieldGroup.values)
    recorded = recorded_groups(service)
    groups = [each for each in wanted if each in recorded]
    skipped = [each for each in wanted if each not in recorded]
    whole = not group
    if not groups and not whole:
        return ConfirmOutcome(at=now, groups=[], skipped=skipped)
    if not can_apply_directly(user, service):
        return _propose_confirmation(service, user=user, groups=groups, whole=whole, skipped=skipped, at=now)
    _confirm_service(service, groups=groups, whole=whole, by=user, at=now, reason="confirmed still correct")
    record.refresh_from_db()
    detail = ", ".join(groups) if not whole else f"whole record ({', '.join(groups) or 'no field group'})"
    log_action(user=user, action=StaffActionKind.CONFIRMED, target=service, detail=detail)
    return ConfirmOutcome(at=now, groups=groups, skipped=skipped)


def _propose_confirmation(
    service: Service, *, user: User, groups: list[str], whole: bool, skipped: list[str], at: datetime
) -> ConfirmOutcome:
    """Hold an untrusted editor's "still correct" for review, with the values it vouches for."""
    current = service_values(service)
    own = _own_pending_or_refuse(service, user, ChangeRequestKind.CONFIRM)
    if own is not None:
        groups = sorted(set(groups) | set(own.proposed.get("groups", [])), key=list(FieldGroup.values).index)
        whole = whole or bool(own.proposed.get("whole"))
    base = {field: current[field] for group in groups for field in GROUP_FIELDS[group]}
    if own is not None:
        own.proposed = {"whole": whole, "groups": groups}
        own.base = base
        own.save(update_fields=["proposed", "base"])
        change_request = own
    else:
        change_request = ChangeRequest.objects.create(
            service=service,
            kind=ChangeRequestKind.CONFIRM,
            proposed={"whole": whole, "groups": groups},
            base=base,
            author_id=user.pk,
        )
    log_action(
        user=user,
        action=StaffActionKind.CHANGE_PROPOSED,
        target=change_request,
        detail=f"{service}: still correct ({'whole record, ' if whole else ''}{', '.join(groups) or 'no field group'})",
    )
    return ConfirmOutcome(at=at, groups=groups, skipped=skipped, change_request=change_request, merged=own is not None)


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
