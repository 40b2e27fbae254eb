"""The editors' import and export page in the admin: upload, dry run, confirm, progress, report.

Importing is no model, so the page joins the default admin site directly: its URLs go before the site's
own, and the directory app lists it among its models. Editors are staff who may change services.

An upload is always checked first (a dry run); the file waits in the session for the editor to confirm, and
is imported again, for real, in one transaction. Both runs are jobs of the import queue (exchange/jobs.py),
run by a worker process: the page of a job shows its progress, reloading itself, and then its report.
Keeping it in the session (the database) rather than on one server's disk lets the confirming request
reach any app server.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import tempfile
from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import URLPattern, URLResolver, path, re_path, reverse
from django.views.decorators.http import require_POST

from exchange import jobs
from exchange.exports import export_zip
from exchange.imports import FORMATS, MAX_LISTED_ROWS, ImportFile, Outcome, detect_format
from exchange.spreadsheet import SHEET_COLUMNS, TEMPLATE_RULES, taxonomy_codes, template_csv, template_xlsx

SESSION_KEY = "directory_import_upload"
MAX_UPLOAD_BYTES = 10 * 1024 * 1024  # kept in the session until confirmed; larger files: manage.py import_catalogue
TEMPLATE = "admin/exchange/import/"
REFRESH_SECONDS = 2  # how often a running import's page reloads itself (no JavaScript needed)
FORMAT_CHOICES = [
    ("", "automatisch (nach Dateiendung)"),
    ("csv", "Tabelle als CSV"),
    ("xlsx", "Excel-Tabelle (XLSX)"),
    ("hsds", "HSDS-Datenpaket (ZIP, wie der Export)"),
]


def can_import(user: Any) -> bool:
    """Editors: active staff who may change services."""
    return bool(user.is_active and user.is_staff and user.has_perm("directory.change_service"))


def _editors_only(request: HttpRequest) -> None:
    if not can_import(request.user):
        raise PermissionDenied


class UploadForm(forms.Form):
    file = forms.FileField(label="Datei")
    format = forms.ChoiceField(label="Format", choices=FORMAT_CHOICES, required=False)

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(
                f"Die Datei ist größer als {MAX_UPLOAD_BYTES // (1024 * 1024)} MB; "
                "größere bitte mit manage.py import_catalogue einlesen."
            )
        return upload

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        upload = data.get("file")
        if upload is not None and not data.get("format") and detect_format(ImportFile(upload.name)) is None:
            self.add_error("format", "Das Format ist am Dateinamen nicht zu erkennen: bitte wählen.")
        return data


def upload_view(request: HttpRequest) -> HttpResponseBase:
    _editors_only(request)
    if request.method == "POST":
        form = UploadForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            data = upload.read()
            file_format = form.cleaned_data["format"] or detect_format(ImportFile(upload.name)) or ""
            token = secrets.token_urlsafe(16)
            request.session[SESSION_KEY] = {
                "token": token,
                "name": upload.name,
                "format": file_format,
                "data": base64.b64encode(data).decode(),
                "sha256": hashlib.sha256(data).hexdigest(),
            }
            job_id = jobs.enqueue_import(upload.name, data, file_format, dry_run=True, user_id=request.user.pk)
            return redirect("admin:directory_import_job", job_id=job_id)
    else:
        form = UploadForm()
    context = {
        **admin.site.each_context(request),
        "title": "Angebote importieren",
        "form": form,
        "columns": SHEET_COLUMNS,
        "rules": TEMPLATE_RULES,
        "codes": taxonomy_codes(),
        "max_mb": MAX_UPLOAD_BYTES // (1024 * 1024),
    }
    return render(request, TEMPLATE + "upload.html", context)


@require_POST
def confirm_view(request: HttpRequest) -> HttpResponseBase:
    _editors_only(request)
    stored = request.session.get(SESSION_KEY)
    if not stored or not secrets.compare_digest(str(stored.get("token")), request.POST.get("token", "")):
        return redirect("admin:directory_import")
    data = base64.b64decode(stored["data"])
    if hashlib.sha256(data).hexdigest() != stored["sha256"] or stored["format"] not in FORMATS:
        return redirect("admin:directory_import")
    del request.session[SESSION_KEY]
    job_id = jobs.enqueue_import(stored["name"], data, stored["format"], dry_run=False, user_id=request.user.pk)
    return redirect("admin:directory_import_job", job_id=job_id)


def job_view(request: HttpRequest, job_id: str) -> HttpResponse:
    """An import's page: its progress while the worker runs it (the page reloads itself), then its report."""
    _editors_only(request)
    state = jobs.job_state(job_id, request.user.pk)
    if state is None:
        raise Http404("Kein solcher Import (oder er ist älter als einen Tag).")
    report = state.report
    context: dict[str, Any] = {
        **admin.site.each_context(request),
        "title": f"{'Probelauf' if state.dry_run else 'Import'}: {state.name}",
        "state": state,
        "refresh_seconds": REFRESH_SECONDS,
    }
    if report is not None:
        stored = request.session.get(SESSION_KEY) or {}
        changes = bool(report.row_counts[Outcome.CREATED] or report.row_counts[Outcome.CHANGED])
        context.update(
            report=report,
            token=stored.get("token", "") if state.dry_run else "",
            can_confirm=state.dry_run and report.ok and changes and bool(stored),
            nothing_to_do=report.ok and not changes,
            counts=", ".join(f"{n} {outcome}" for outcome, n in report.outcomes().items() if n) or "keine",
            records=sorted(report.records.items()),
            unlisted_rows=report.row_count - len(report.rows),
            max_listed_rows=MAX_LISTED_ROWS,
        )
    response = render(request, TEMPLATE + "run.html", context)
    response["Cache-Control"] = "no-store"
    return response


def template_view(request: HttpRequest, file_format: str) -> HttpResponse:
    _editors_only(request)
    if file_format == "xlsx":
        content = template_xlsx()
        content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        content, content_type = template_csv(), "text/csv; charset=utf-8"
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="wegweiser-vorlage.{file_format}"'
    return response


def export_view(request: HttpRequest) -> FileResponse:
    """The whole catalogue as the HSDS data package (zip), as ``manage.py export_hsds --format zip`` writes it."""
    _editors_only(request)
    spool = tempfile.SpooledTemporaryFile(max_size=32 * 1024 * 1024)  # noqa: SIM115 - FileResponse closes it
    export_zip(spool)
    spool.seek(0)
    return FileResponse(spool, as_attachment=True, filename="wegweiser-nrw-hsds.zip", content_type="application/zip")


def import_urls() -> list[URLPattern | URLResolver]:
    site = admin.site
    return [
        path("directory/import/", site.admin_view(upload_view), name="directory_import"),
        path("directory/import/confirm/", site.admin_view(confirm_view), name="directory_import_confirm"),
        path("directory/import/job/<str:job_id>/", site.admin_view(job_view), name="directory_import_job"),
        re_path(
            r"^directory/import/vorlage\.(?P<file_format>xlsx|csv)$",
            site.admin_view(template_view),
            name="directory_import_template",
        ),
        path("directory/export/hsds.zip", site.admin_view(export_view), name="directory_export"),
    ]


_site_urls = admin.site.get_urls
_site_app_list = admin.site.get_app_list


def get_urls() -> list[URLPattern | URLResolver]:
    return [*import_urls(), *_site_urls()]


def get_app_list(request: HttpRequest, app_label: str | None = None) -> list[Any]:
    """The site's apps; for editors, the directory app also lists the import page."""
    apps = _site_app_list(request, app_label)
    if can_import(request.user):
        for app in apps:
            if app["app_label"] == "directory":
                app["models"].append(
                    {
                        "name": "Import / Export",
                        "object_name": "CatalogueImport",
                        "perms": {"add": False, "change": False, "delete": False, "view": True},
                        "admin_url": reverse("admin:directory_import", current_app=admin.site.name),
                        "add_url": None,
                        "view_only": True,
                    }
                )
                app["models"].sort(key=lambda model: model["name"])
    return apps


admin.site.get_urls = get_urls  # type: ignore[method-assign]
admin.site.get_app_list = get_app_list  # type: ignore[method-assign]
