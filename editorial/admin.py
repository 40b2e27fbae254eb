"""Administrators give roles here (memberships, regions, the caseworker group on the user) and read the logs.

Private notes and saved lists are not registered: they are their author's alone.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from directory.admin import ReadOnlyAdminMixin, RecordAdmin
from editorial.auth import issue_enrolment_link
from editorial.models import (
    ChangeRequest,
    EditorMembership,
    FieldGroupVerification,
    ModeratorRegion,
    StaffAction,
    TwoFactorEnrolment,
)
from editorial.services import confirm_still_correct as confirm


@admin.action(description="Confirm: still correct (sets verified today)")
def confirm_still_correct(modeladmin: admin.ModelAdmin[Any], request: HttpRequest, queryset: QuerySet[Any]) -> None:
    """The same one-click confirmation as in /manage/: checked per record, logged as a staff action."""
    confirmed = proposed = refused = 0
    for record in queryset:
        try:
            outcome = confirm(record=record, user=request.user)  # type: ignore[arg-type]
        except (PermissionDenied, ValidationError):
            refused += 1
            continue
        if outcome.change_request is not None:
            proposed += 1
        else:
            confirmed += 1
    messages.success(request, f"{confirmed} record(s) confirmed as still correct.")
    if proposed:
        messages.info(request, f"{proposed} confirmation(s) wait for a moderator's review.")
    if refused:
        messages.warning(
            request,
            f"{refused} record(s) are not yours to confirm, or wait for someone else's change; left as they were.",
        )


# Every catalogue record's admin page offers it (the core's admin knows nothing of editorial rules).
RecordAdmin.actions = [*RecordAdmin.actions, confirm_still_correct]


@admin.register(EditorMembership)
class EditorMembershipAdmin(admin.ModelAdmin[EditorMembership]):
    list_display = ("user", "organization", "trusted", "created_at")
    list_filter = ("trusted",)
    search_fields = ("user__username", "organization__name__de")
    autocomplete_fields = ("user", "organization")


@admin.register(ModeratorRegion)
class ModeratorRegionAdmin(admin.ModelAdmin[ModeratorRegion]):
    list_display = ("user", "kreis")
    search_fields = ("user__username", "kreis__name", "kreis__ags")
    autocomplete_fields = ("user", "kreis")


class ReadOnlyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin[Any]):
    """Written only by editorial.services, so that every entry is what really happened."""


@admin.register(StaffAction)
class StaffActionAdmin(ReadOnlyAdmin):
    list_display = ("at", "username", "action", "target_repr", "detail")
    list_filter = ("action",)
    search_fields = ("username", "target_repr", "target_id")
    date_hierarchy = "at"


@admin.register(ChangeRequest)
class ChangeRequestAdmin(ReadOnlyAdmin):
    list_display = ("id", "service", "author", "status", "created_at", "reviewer", "reviewed_at")
    list_filter = ("status",)
    search_fields = ("service__name__de", "author__username")


@admin.register(FieldGroupVerification)
class FieldGroupVerificationAdmin(ReadOnlyAdmin):
    list_display = ("service", "group", "verified_at", "verified_by")
    list_filter = ("group",)


@admin.register(TwoFactorEnrolment)
class TwoFactorEnrolmentAdmin(admin.ModelAdmin[TwoFactorEnrolment]):
    """Issuing a one-time link for a staff account to set up its second factor: choose the account, save, and
    pass on the link shown (it is shown once; only its hash is kept)."""

    list_display = ("user", "issued_by", "created_at", "expires_at", "used_at")
    fields = ("user",)
    readonly_fields = ()

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: TwoFactorEnrolment, form: Any, change: bool) -> None:
        path = issue_enrolment_link(obj.user, issued_by=request.user)  # type: ignore[arg-type]
        saved = TwoFactorEnrolment.objects.filter(user=obj.user, used_at__isnull=True).get()
        obj.pk, obj.token_hash, obj.expires_at = saved.pk, saved.token_hash, saved.expires_at
        messages.warning(request, f"One-time link for {obj.user} (shown only now): {request.build_absolute_uri(path)}")
