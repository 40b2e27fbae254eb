"""Administrators give roles here (memberships, regions, the caseworker group on the user) and read the logs.

Private notes and saved lists are not registered: they are their author's alone.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin

from directory.admin import ReadOnlyAdminMixin
from editorial.models import ChangeRequest, EditorMembership, FieldGroupVerification, ModeratorRegion, StaffAction


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
