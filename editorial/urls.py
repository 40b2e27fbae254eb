"""/manage/: the editorial area (included from config.urls)."""

from django.urls import path

from editorial import views

app_name = "editorial"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("2fa/", views.two_factor, name="two-factor"),
    path("2fa/verify/", views.two_factor_verify, name="two-factor-verify"),
    path("2fa/enrol/<str:token>/", views.two_factor_enrol, name="two-factor-enrol"),
    # A caseworker's own list and notes.
    path("list/", views.saved_list, name="list"),
    path("list/add/<str:service_id>/", views.list_add, name="list-add"),
    path("list/remove/<str:service_id>/", views.list_remove, name="list-remove"),
    path("notes/", views.notes_index, name="notes"),
    path("notes/service/<str:service_id>/", views.service_notes, name="service-notes"),
    path("notes/<str:note_id>/", views.note_detail, name="note"),
    path("notes/<str:note_id>/delete/", views.note_delete, name="note-delete"),
    # Moderation of problem reports.
    path("reports/", views.reports, name="reports"),
    path("reports/<str:report_id>/", views.report_detail, name="report"),
    # Editing services, their versions and their freshness.
    path("services/", views.services_index, name="services"),
    path("services/<str:service_id>/", views.service_overview, name="service"),
    path("services/<str:service_id>/edit/", views.service_edit, name="service-edit"),
    path("services/<str:service_id>/confirm/", views.service_confirm, name="service-confirm"),
    path("services/<str:service_id>/history/", views.service_history, name="service-history"),
    path("services/<str:service_id>/history/compare/", views.service_compare, name="service-compare"),
    path(
        "services/<str:service_id>/history/<str:history_id>/restore/",
        views.service_restore,
        name="service-restore",
    ),
    # Changes waiting for review.
    path("changes/", views.changes, name="changes"),
    path("changes/<str:change_id>/", views.change_detail, name="change"),
    path("changes/<str:change_id>/approve/", views.change_approve, name="change-approve"),
    path("changes/<str:change_id>/reject/", views.change_reject, name="change-reject"),
    path("freshness/", views.freshness, name="freshness"),
    path("unmet/", views.unmet_searches, name="unmet"),
    path("actions/", views.staff_actions, name="actions"),
]
