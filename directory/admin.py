"""Editors' admin for the catalogue; the geography is read-only reference data."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.gis.admin import GISModelAdmin
from django.http import HttpRequest
from simple_history.admin import SimpleHistoryAdmin

from directory import models as m
from directory.services import refresh_search_text, refresh_term_search_text
from directory.translation import translate
from directory.widgets import LocalOSMWidget

PROVENANCE_FIELDS = ("source", "verification_state", "last_verified_at", "verified_by")


class RecordAdmin(SimpleHistoryAdmin, GISModelAdmin):
    """History (compare and revert) for every catalogue record; editorial/ adds the confirmation action."""

    actions: list[Any] = []
    gis_widget = LocalOSMWidget  # type: ignore[assignment]  # the stubs want an instance; Django takes the class
    readonly_fields = ("created_at", "updated_at")

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # Content first; where it came from and who checked it last, below it.
        fields = list(super().get_fields(request, obj))
        return [f for f in fields if f not in PROVENANCE_FIELDS] + [f for f in fields if f in PROVENANCE_FIELDS]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        obj._change_reason = "edited in the admin"
        super().save_model(request, obj, form, change)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        # Names and descriptions feed the search text of the services concerned, a term's words its own; a place's or a
        # service-at-location's schedules, languages and accessibility feed their stored facts (ServiceFacts).
        obj = form.instance
        if isinstance(obj, m.Service):
            refresh_search_text([obj.pk])
        elif isinstance(obj, m.Organization):
            refresh_search_text(obj.services.values_list("pk", flat=True))
        elif isinstance(obj, (m.Location, m.ServiceAtLocation)):
            # A service-at-location given to another service takes its hours, languages and accessibility from
            # the one it belonged to (the form's initial value) as well as adding them to the new one.
            moved_from = form.initial.get("service") if "service" in form.changed_data else None
            refresh_search_text([*services_offered_at(obj), *([moved_from] if moved_from else [])])
        elif isinstance(obj, m.TaxonomyTerm):
            refresh_term_search_text()  # its services are found by its id: none of them is rewritten
        elif isinstance(obj, m.Taxonomy):
            refresh_search_text()  # its key decides a fact (eligibility) of the services of its terms

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        # A place or a service-at-location gone takes its hours, languages and accessibility from the services'
        # stored facts; which services those were can only be asked before the delete.
        offered = services_offered_at(obj)
        super().delete_model(request, obj)
        if offered:
            refresh_search_text(offered)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        offered = [pk for obj in queryset for pk in services_offered_at(obj)]
        super().delete_queryset(request, queryset)
        if offered:
            refresh_search_text(offered)


def services_offered_at(obj: Any) -> list[Any]:
    """The ids of the services a place or a service-at-location belongs to (none for other records)."""
    if isinstance(obj, m.Location):
        return list(obj.service_at_locations.values_list("service_id", flat=True))
    if isinstance(obj, m.ServiceAtLocation):
        return [obj.service_id]
    return []


def german_name(obj: Any) -> str:
    return str(translate(obj.name, "de"))


german_name.short_description = "Name"  # type: ignore[attr-defined]


class RecordInline(admin.StackedInline[Any, Any]):
    extra = 0
    exclude = ("verified_by",)
    show_change_link = True


class TabularRecordInline(admin.TabularInline[Any, Any]):
    extra = 0
    exclude = ("verified_by", "last_verified_at", "verification_state")


class PhoneInline(TabularRecordInline):
    model = m.Phone
    fields = ("number", "extension", "type", "source")


class ScheduleInline(TabularRecordInline):
    model = m.Schedule
    fields = ("byday", "opens_at", "closes_at", "attending_type", "valid_from", "valid_to", "is_closed", "notes")


class LanguageInline(TabularRecordInline):
    model = m.Language
    fields = ("code", "name", "note")


class AddressInline(TabularRecordInline):
    model = m.Address
    fields = ("address_1", "address_2", "postal_code", "city", "address_type", "source")


class AccessibilityInline(TabularRecordInline):
    model = m.Accessibility
    fields = ("details", "url")


class ContactInline(TabularRecordInline):
    model = m.Contact
    fields = ("name", "title", "department", "email")


class ServiceAreaInline(TabularRecordInline):
    model = m.ServiceArea
    fields = ("ags", "name", "excludes")


class ServiceAtLocationInline(TabularRecordInline):
    model = m.ServiceAtLocation
    fields = ("location",)
    autocomplete_fields = ("location",)


class AttributeInline(TabularRecordInline):
    model = m.Attribute
    fields = ("taxonomy_term", "value")
    autocomplete_fields = ("taxonomy_term",)


class CostOptionInline(TabularRecordInline):
    model = m.CostOption
    fields = ("option", "amount", "currency")


class RequiredDocumentInline(RecordInline):
    model = m.RequiredDocument
    fields = ("document", "uri")


@admin.register(m.Organization)
class OrganizationAdmin(RecordAdmin):
    list_display = (german_name, "kind", "verification_state", "last_verified_at")
    list_filter = ("kind", "verification_state")
    search_fields = ("name__de", "alternate_name")
    inlines = [PhoneInline, ContactInline]


@admin.register(m.Program)
class ProgramAdmin(RecordAdmin):
    list_display = (german_name, "organization", "verification_state")
    search_fields = ("name__de",)


@admin.register(m.Service)
class ServiceAdmin(RecordAdmin):
    list_display = (german_name, "organization", "service_type", "status", "verification_state", "last_verified_at")
    list_filter = ("status", "verification_state", "service_type")
    search_fields = ("name__de", "alternate_name", "service_areas__name")
    autocomplete_fields = ("organization", "program")
    inlines = [
        ServiceAreaInline,
        ServiceAtLocationInline,
        PhoneInline,
        ScheduleInline,
        LanguageInline,
        AttributeInline,
        CostOptionInline,
        RequiredDocumentInline,
        ContactInline,
    ]


@admin.register(m.Location)
class LocationAdmin(RecordAdmin):
    list_display = ("__str__", "location_type", "gemeinde", "point_accuracy", "verification_state")
    list_filter = ("location_type", "point_accuracy", "verification_state")
    search_fields = ("name__de", "gemeinde__name", "addresses__address_1")
    autocomplete_fields = ("organization",)
    raw_id_fields = ("gemeinde",)
    inlines = [AddressInline, PhoneInline, ScheduleInline, LanguageInline, AccessibilityInline, ContactInline]


@admin.register(m.ServiceAtLocation)
class ServiceAtLocationAdmin(RecordAdmin):
    list_display = ("service", "location")
    autocomplete_fields = ("service", "location")
    inlines = [PhoneInline, ScheduleInline, ContactInline]


class TaxonomyTermInline(TabularRecordInline):
    model = m.TaxonomyTerm
    fields = ("code", "name", "sort")


@admin.register(m.Taxonomy)
class TaxonomyAdmin(RecordAdmin):
    list_display = ("key", german_name)
    inlines = [TaxonomyTermInline]


@admin.register(m.TaxonomyTerm)
class TaxonomyTermAdmin(RecordAdmin):
    list_display = ("code", german_name, "taxonomy")
    list_filter = ("taxonomy",)
    search_fields = ("code", "name__de")


@admin.register(m.Source)
class SourceAdmin(admin.ModelAdmin[m.Source]):
    list_display = ("key", "title", "publisher", "date", "url")
    search_fields = ("key", "title")


class ReadOnlyAdminMixin:
    """Shown in the admin, never written there."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyGeographyAdmin(ReadOnlyAdminMixin, GISModelAdmin):
    """The geography is rebuilt from the BKG data by a script, never edited by hand."""

    gis_widget = LocalOSMWidget  # type: ignore[assignment]  # the stubs want an instance; Django takes the class


@admin.register(m.Kreis)
class KreisAdmin(ReadOnlyGeographyAdmin):
    list_display = ("ags", "name", "bez", "regierungsbezirk", "seat", "population")
    search_fields = ("name", "ags")


@admin.register(m.Gemeinde)
class GemeindeAdmin(ReadOnlyGeographyAdmin):
    list_display = ("ags", "name", "bez", "kreis")
    list_filter = ("kreis__regierungsbezirk",)
    search_fields = ("name", "ags")


@admin.register(m.Postcode)
class PostcodeAdmin(ReadOnlyGeographyAdmin):
    list_display = ("code", "places")
    search_fields = ("code", "places")


@admin.register(m.ProblemReport)
class ProblemReportAdmin(admin.ModelAdmin[m.ProblemReport]):
    """The moderation queue of problem reports from the public."""

    list_display = ("created_at", "service", "status", "short_text")
    list_filter = ("status",)
    search_fields = ("text",)
    readonly_fields = ("service", "text", "contact", "reporter", "created_at", "client_hash")
    fields = ("service", "text", "contact", "reporter", "created_at", "status", "moderator_note")

    @admin.display(description="Report")
    def short_text(self, obj: m.ProblemReport) -> str:
        return obj.text[:80]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
