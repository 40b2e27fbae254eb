"""The editorial area /manage/ and staff sign-in: function views, each behind ``manage_page``.

Records are always looked up through editorial.permissions: what a user may not see answers 404,
a page their role may not use answers 403, anonymous visitors are sent to sign in.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.models import User
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from directory import throttle
from directory.models import PointAccuracy, ProblemReportStatus, Service, record_by_id
from directory.provenance import recorded_groups
from directory.services import client_address
from directory.translation import LANGUAGE_CODES
from directory.validation import whole_number
from editorial import auth
from editorial.forms import (
    NoteForm,
    RejectForm,
    ReportDecisionForm,
    ServiceEditForm,
    TokenForm,
    format_hours,
    format_languages,
    format_phones,
)
from editorial.freshness import NO_KREIS, freshness_dashboard
from editorial.models import ChangeRequestKind, ChangeRequestStatus, FieldGroup
from editorial.permissions import (
    Role,
    can_apply_directly,
    change_requests_reviewable_by,
    change_requests_visible_to,
    needs_two_factor,
    notes_of,
    problem_reports_moderated_by,
    roles_of,
    saved_services_of,
    services_editable_by,
    staff_actions_visible_to,
    unmet_searches_visible_to,
)
from editorial.services import (
    add_note,
    approve_change_request,
    confirm_still_correct,
    decide_problem_report,
    delete_note,
    field_group_verifications,
    own_pending_request,
    pending_requests,
    reject_change_request,
    restore_service_version,
    save_service,
    service_values,
    submit_service_edit,
    unsave_service,
)

# Rows a list page shows at once; the freshness list says when there are more.
PAGE_SIZE = 50
MAX_ROW_ID = 2**63 - 1  # a bigint primary key; a larger number in a URL is no row, not an overflow
FRESHNESS_ROWS = 300
# Fields a version comparison leaves out: bookkeeping, not content.
NOT_COMPARED = ["updated_at", "search_text"]


# --- Helpers --------------------------------------------------------------------------------------------


def safe_next(request: HttpRequest, default: str) -> str:
    """The ``next`` address from the form or query, if it points back into this site."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return default


def with_next(url_name: str, next_url: str) -> HttpResponseRedirect:
    return HttpResponseRedirect(f"{reverse(url_name)}?{urlencode({'next': next_url})}")


def page(request: HttpRequest, template: str, context: dict[str, Any] | None = None, status: int = 200) -> HttpResponse:
    """Render an editorial page with what the navigation needs."""
    return render(
        request,
        f"editorial/{template}",
        {"roles": roles_of(request.user), "verified": auth.is_verified(request), **(context or {})},
        status=status,
    )


def forbidden(request: HttpRequest, message: str = "", status: int = 403) -> HttpResponse:
    return page(request, "forbidden.html", {"message": message}, status=status)


def manage_page(*roles: str) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """The guard of every /manage/ page: signed in; moderators and administrators with a verified second
    factor; holding one of ``roles`` (any role when none is named); never cached."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if needs_two_factor(user) and not auth.is_verified(request):
                return with_next("editorial:two-factor", request.get_full_path())
            held = roles_of(user)
            if not held.any or (roles and not held.has(*roles)):
                return forbidden(request, _("Your account has no role for this page."))
            try:
                return view(request, *args, **kwargs)
            except PermissionDenied as exc:
                return forbidden(request, str(exc))

        return never_cache(wrapper)

    return decorator


def signed_in_user(request: HttpRequest) -> User:
    """The signed-in account (the guards let no one else through)."""
    if not isinstance(request.user, User):
        raise PermissionDenied
    return request.user


def get_or_404(queryset: QuerySet[Any], pk: str | uuid.UUID | int) -> Any:
    """The row with this id among ``queryset`` (what the user may see), else 404 — malformed ids too."""
    found = record_by_id(queryset, pk)
    if found is None:
        raise Http404
    return found


def paginate(request: HttpRequest, queryset: QuerySet[Any], size: int = PAGE_SIZE) -> Any:
    return Paginator(queryset, size).get_page(request.GET.get("page"))


def field_label(field: str) -> str:
    if field == "place":
        return _("Place")
    form_field = ServiceEditForm.base_fields.get(field)
    return str(form_field.label) if form_field is not None and form_field.label else field


def display_value(field: str, value: Any) -> str:
    """A proposed or current value as an editor would type it into the form."""
    if field in ("name", "description"):
        return "\n".join(f"{code}: {value[code]}" for code in LANGUAGE_CODES if value.get(code))
    if field == "phones":
        return format_phones(value)
    if field == "hours":
        return format_hours(value)
    if field == "languages":
        return format_languages(value)
    if field == "place":
        return format_place(value)
    return str(value)


def format_place(place: dict[str, Any] | None) -> str:
    """ "Musterstraße 1, 45127 Essen" and where the map puts it: exact, or the middle of the postcode or town."""
    if not place:
        return ""
    address = ", ".join(
        part for part in (place["address_1"], f"{place['postal_code']} {place['city']}".strip()) if part
    )
    where = {
        PointAccuracy.EXACT: _("exact point"),
        PointAccuracy.POSTCODE: _("middle of the postcode area"),
        PointAccuracy.MUNICIPALITY: _("middle of the town"),
    }.get(place["accuracy"], "")
    return f"{address}\n{place['lat']}, {place['lon']} ({where})"


# --- Sign-in --------------------------------------------------------------------------------------------


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    next_url = safe_next(request, reverse("editorial:dashboard"))
    form = AuthenticationForm(request)
    if request.method == "POST":
        username = request.POST.get("username", "")[:150]
        client_ip = client_address(request)
        if wait := auth.login_wait(username=username, client_ip=client_ip):
            context = {"form": form, "next": next_url, "locked": True, "try_again": throttle.try_again_in(wait)}
            response = page(request, "login.html", context, status=429)
            response["Retry-After"] = str(wait)
            return response
        form = AuthenticationForm(request, data=request.POST)
        if form.is_valid():
            user = form.get_user()
            auth.sign_in(request, user)
            if needs_two_factor(user):
                return with_next("editorial:two-factor", next_url)
            return HttpResponseRedirect(next_url)
        auth.record_login_failure(username=username, client_ip=client_ip)
    return page(request, "login.html", {"form": form, "next": next_url})


@require_POST
@csrf_protect
def logout_view(request: HttpRequest) -> HttpResponse:
    auth.sign_out(request)
    return redirect("login")


@require_safe
def admin_login(request: HttpRequest) -> HttpResponse:
    """The Django admin signs in through the same throttled, two-factor sign-in as /manage/."""
    return with_next("login", safe_next(request, reverse("admin:index")))


def _signed_in_or_login(request: HttpRequest) -> HttpResponse | None:
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    return None


@sensitive_post_parameters("token")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def two_factor(request: HttpRequest) -> HttpResponse:
    """Set up an authenticator app (QR code + first code); with one set up already, ask for a code."""
    if (response := _signed_in_or_login(request)) is not None:
        return response
    next_url = safe_next(request, reverse("editorial:dashboard"))
    if auth.is_verified(request):
        return HttpResponseRedirect(next_url)
    if auth.confirmed_device(signed_in_user(request)) is not None:
        return with_next("editorial:two-factor-verify", next_url)
    if not auth.may_set_up_device(request):
        # The password alone does not tie an account to an authenticator app (editorial.TwoFactorEnrolment).
        return page(request, "two_factor_setup.html", {"needs_link": True}, status=403)
    device = auth.device_to_set_up(signed_in_user(request))
    form = TokenForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid() and auth.confirm_device(request=request, device=device, token=form.cleaned_data["token"]):
            messages.success(request, _("Two-factor authentication is set up."))
            return HttpResponseRedirect(next_url)
        form.add_error("token", _("That code is not right (or came too late). Try the next one."))
        status = 400
    context = {
        "form": form,
        "next": next_url,
        "qr_svg": auth.qr_code_svg(device, title=_("QR code to scan with your authenticator app")),
        "secret": auth.manual_secret(device),
        "required": needs_two_factor(request.user),
    }
    return page(request, "two_factor_setup.html", context, status=status)


@never_cache
@require_safe
def two_factor_enrol(request: HttpRequest, token: str) -> HttpResponse:
    """An administrator's one-time link: after signing in with the password, set up the second factor."""
    if (response := _signed_in_or_login(request)) is not None:
        response["Referrer-Policy"] = "no-referrer"
        return response
    if auth.confirmed_device(signed_in_user(request)) is None and auth.open_enrolment_link(request, token):
        response = HttpResponseRedirect(reverse("editorial:two-factor"))
    else:
        response = page(request, "two_factor_setup.html", {"needs_link": True, "bad_link": True}, status=404)
    response["Referrer-Policy"] = "no-referrer"  # the link is in the URL: send it nowhere
    return response


@sensitive_post_parameters("token")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def two_factor_verify(request: HttpRequest) -> HttpResponse:
    if (response := _signed_in_or_login(request)) is not None:
        return response
    next_url = safe_next(request, reverse("editorial:dashboard"))
    if auth.confirmed_device(signed_in_user(request)) is None:
        return with_next("editorial:two-factor", next_url)
    form = TokenForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid() and auth.verify_second_factor(request=request, token=form.cleaned_data["token"]):
            return HttpResponseRedirect(next_url)
        form.add_error("token", _("That code is not right. Wait for the next one and try again."))
        status = 400
    return page(request, "two_factor_verify.html", {"form": form, "next": next_url}, status=status)


# --- Dashboard ------------------------------------------------------------------------------------------


@require_safe
@manage_page()
def dashboard(request: HttpRequest) -> HttpResponse:
    user = request.user
    roles = roles_of(user)
    context: dict[str, Any] = {}
    if roles.is_caseworker:
        context["saved_count"] = saved_services_of(user).count()
        context["note_count"] = notes_of(user).count()
    if roles.is_editor:
        context["own_services"] = list(
            Service.objects.filter(organization_id__in=roles.organization_ids).select_related("organization")[:200]
        )
    if roles.is_editor or roles.is_moderator or roles.is_admin:
        visible = change_requests_visible_to(user)
        context["my_changes"] = list(visible.filter(author_id=user.pk).select_related("service")[:10])
    if roles.is_moderator or roles.is_admin:
        context["to_review"] = change_requests_reviewable_by(user).filter(status=ChangeRequestStatus.PENDING).count()
        context["open_reports"] = problem_reports_moderated_by(user).filter(status=ProblemReportStatus.OPEN).count()
    return page(request, "dashboard.html", context)


# --- A caseworker's list and notes ----------------------------------------------------------------------


@require_safe
@manage_page(Role.CASEWORKER)
def saved_list(request: HttpRequest) -> HttpResponse:
    saved = list(saved_services_of(request.user).select_related("service__organization"))
    referral_ids = ",".join(str(s.service_id) for s in saved[:20])
    return page(request, "list.html", {"saved": saved, "referral_ids": referral_ids})


@require_http_methods(["GET", "POST"])
@manage_page(Role.CASEWORKER)
def list_add(request: HttpRequest, service_id: str) -> HttpResponse:
    """POST adds the service to the list; GET asks first (where a link, or signing in, leads)."""
    service = get_or_404(Service.objects.select_related("organization"), service_id)
    if request.method == "GET":
        return page(request, "list_add.html", {"service": service, "next": safe_next(request, "")})
    save_service(user=signed_in_user(request), service=service)
    messages.success(request, _("Added to your list."))
    return HttpResponseRedirect(safe_next(request, reverse("editorial:list")))


@require_POST
@manage_page(Role.CASEWORKER)
def list_remove(request: HttpRequest, service_id: str) -> HttpResponse:
    service = get_or_404(Service.objects.all(), service_id)
    unsave_service(user=signed_in_user(request), service=service)
    messages.success(request, _("Removed from your list."))
    return HttpResponseRedirect(safe_next(request, reverse("editorial:list")))


@require_safe
@manage_page(Role.CASEWORKER)
def notes_index(request: HttpRequest) -> HttpResponse:
    notes = paginate(request, notes_of(request.user).select_related("service"))
    return page(request, "notes.html", {"notes": notes})


@require_http_methods(["GET", "POST"])
@manage_page(Role.CASEWORKER)
def service_notes(request: HttpRequest, service_id: str) -> HttpResponse:
    service = get_or_404(Service.objects.select_related("organization"), service_id)
    form = NoteForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                add_note(author=signed_in_user(request), service=service, text=form.cleaned_data["text"])
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, _("Note saved. Only you can see it."))
                return redirect("editorial:service-notes", service_id=service.pk)
        status = 400
    notes = list(notes_of(request.user).filter(service=service))
    return page(request, "service_notes.html", {"service": service, "notes": notes, "form": form}, status=status)


@require_safe
@manage_page(Role.CASEWORKER)
def note_detail(request: HttpRequest, note_id: str) -> HttpResponse:
    note = get_or_404(notes_of(request.user).select_related("service"), note_id)
    return page(request, "note.html", {"note": note})


@require_POST
@manage_page(Role.CASEWORKER)
def note_delete(request: HttpRequest, note_id: str) -> HttpResponse:
    note = get_or_404(notes_of(request.user), note_id)
    service_id = note.service_id
    delete_note(author=signed_in_user(request), note=note)
    messages.success(request, _("Note deleted."))
    return redirect("editorial:service-notes", service_id=service_id)


# --- Problem reports ------------------------------------------------------------------------------------


@require_safe
@manage_page(Role.MODERATOR)
def reports(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", ProblemReportStatus.OPEN)
    queryset = problem_reports_moderated_by(request.user).select_related("service", "reporter")
    if status in ProblemReportStatus.values:
        queryset = queryset.filter(status=status)
    else:
        status = "all"
    statuses = [("all", _("all")), *((s.value, s.label) for s in ProblemReportStatus)]
    context = {
        "reports": paginate(request, queryset),
        "status": status,
        "statuses": statuses,
        "query": urlencode({"status": status}) + "&",
    }
    return page(request, "reports.html", context)


@require_http_methods(["GET", "POST"])
@manage_page(Role.MODERATOR)
def report_detail(request: HttpRequest, report_id: str) -> HttpResponse:
    report = get_or_404(problem_reports_moderated_by(request.user).select_related("service", "reporter"), report_id)
    form = ReportDecisionForm(request.POST or None, initial={"note": report.moderator_note})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                decide_problem_report(
                    report=report,
                    moderator=signed_in_user(request),
                    status=form.cleaned_data["status"],
                    note=form.cleaned_data["note"],
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, _("Decision saved."))
                return redirect("editorial:reports")
        status = 400
    return page(request, "report.html", {"report": report, "form": form}, status=status)


# --- Services -------------------------------------------------------------------------------------------


@require_safe
@manage_page(Role.EDITOR, Role.MODERATOR)
def services_index(request: HttpRequest) -> HttpResponse:
    queryset = services_editable_by(request.user).select_related("organization")
    query = request.GET.get("q", "").strip()[:100]
    if query:
        queryset = queryset.filter(Q(name__de__icontains=query) | Q(organization__name__de__icontains=query))
    context = {"services": paginate(request, queryset), "q": query, "query": urlencode({"q": query}) + "&"}
    return page(request, "services.html", context)


def _editable_service(request: HttpRequest, service_id: str) -> Service:
    service: Service = get_or_404(services_editable_by(request.user).select_related("organization"), service_id)
    return service


@require_safe
@manage_page(Role.EDITOR, Role.MODERATOR)
def service_overview(request: HttpRequest, service_id: str) -> HttpResponse:
    service = _editable_service(request, service_id)
    values = service_values(service)
    recorded = recorded_groups(service)
    confirmed = field_group_verifications(service)
    context = {
        "service": service,
        "values": [(field_label(field), display_value(field, value)) for field, value in values.items()],
        "groups": [(group, confirmed.get(group.value), group.value in recorded) for group in FieldGroup],
        "pending": list(
            change_requests_visible_to(request.user)
            .filter(service=service, status=ChangeRequestStatus.PENDING)
            .select_related("author")
        ),
        "applies_directly": can_apply_directly(request.user, service),
    }
    return page(request, "service.html", context)


@require_http_methods(["GET", "POST"])
@manage_page(Role.EDITOR, Role.MODERATOR)
def service_edit(request: HttpRequest, service_id: str) -> HttpResponse:
    """The staff form; someone whose earlier proposal waits sees it in the form, and saving replaces it."""
    service = _editable_service(request, service_id)
    user = signed_in_user(request)
    current = service_values(service)
    applies_directly = can_apply_directly(user, service)
    own = None if applies_directly else own_pending_request(service, user)
    start = {**current, **own.proposed} if own is not None else current
    form = ServiceEditForm(
        request.POST or None, initial=ServiceEditForm.initial_from(start), current_place=current["place"]
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                outcome = submit_service_edit(service=service, user=user, values=form.values())
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                if outcome.change_request is not None and outcome.merged:
                    messages.success(
                        request,
                        _("Your waiting change #%(id)s now holds what you saved; it still waits for review.")
                        % {"id": outcome.change_request.pk},
                    )
                elif outcome.change_request is not None:
                    messages.success(
                        request,
                        _("Your change (#%(id)s) waits for a moderator's review.") % {"id": outcome.change_request.pk},
                    )
                elif outcome.applied:
                    messages.success(request, _("Saved and published."))
                else:
                    messages.info(request, _("Nothing was changed."))
                return redirect("editorial:service", service_id=service.pk)
        status = 400
    others = [c for c in pending_requests(service) if c.author_id != user.pk]
    context = {
        "service": service,
        "form": form,
        "applies_directly": applies_directly,
        "own_pending": own,
        "others_pending": others,
    }
    return page(request, "service_edit.html", context, status=status)


def group_labels(groups: list[str]) -> str:
    return ", ".join(str(FieldGroup(group).label) for group in groups)


@require_POST
@manage_page(Role.EDITOR, Role.MODERATOR)
def service_confirm(request: HttpRequest, service_id: str) -> HttpResponse:
    """One click: the whole entry (or one field group: ``group``) is still correct — or, for an editor whose
    changes are reviewed, a confirmation proposed for review. Groups with nothing recorded are named, not confirmed."""
    service = _editable_service(request, service_id)
    group = request.POST.get("group", "")
    if group and group not in FieldGroup.values:
        return forbidden(request, _("Unknown field group."), status=400)
    try:
        outcome = confirm_still_correct(record=service, user=signed_in_user(request), group=group)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return HttpResponseRedirect(safe_next(request, reverse("editorial:service", args=[service.pk])))
    if outcome.change_request is not None:
        messages.success(
            request,
            _("Your confirmation (#%(id)s) waits for a moderator's review; until then nothing is marked as checked.")
            % {"id": outcome.change_request.pk},
        )
    elif group and outcome.groups:
        messages.success(request, _("Confirmed: %(group)s still correct.") % {"group": FieldGroup(group).label})
    elif not group:
        messages.success(request, _("Confirmed: the entry is still correct."))
    if outcome.skipped:
        messages.warning(
            request,
            _("Not marked as checked, because nothing is recorded for them yet: %(groups)s.")
            % {"groups": group_labels(outcome.skipped)},
        )
    return HttpResponseRedirect(safe_next(request, reverse("editorial:service", args=[service.pk])))


@require_safe
@manage_page(Role.EDITOR, Role.MODERATOR)
def service_history(request: HttpRequest, service_id: str) -> HttpResponse:
    service = _editable_service(request, service_id)
    versions = paginate(
        request, service.history.select_related("history_user").order_by("-history_date", "-history_id")
    )
    rows = list(versions)
    pairs = [(version, rows[i + 1] if i + 1 < len(rows) else None) for i, version in enumerate(rows)]
    context = {
        "service": service,
        "versions": versions,
        "pairs": pairs,
        "can_restore": can_apply_directly(request.user, service),
    }
    return page(request, "history.html", context)


def _version(service: Service, history_id: str | None) -> Any:
    number = whole_number(history_id or "", 1, MAX_ROW_ID)
    if number is None:
        raise Http404
    return get_or_404(service.history.select_related("history_user"), number)


@require_safe
@manage_page(Role.EDITOR, Role.MODERATOR)
def service_compare(request: HttpRequest, service_id: str) -> HttpResponse:
    """What changed between two versions (?old=&new=, history ids), field by field."""
    service = _editable_service(request, service_id)
    old, new = _version(service, request.GET.get("old")), _version(service, request.GET.get("new"))
    delta = new.diff_against(old, excluded_fields=NOT_COMPARED)
    changes = [(change.field, change.old, change.new) for change in delta.changes]
    return page(request, "compare.html", {"service": service, "old": old, "new": new, "changes": changes})


@require_POST
@manage_page(Role.EDITOR, Role.MODERATOR)
def service_restore(request: HttpRequest, service_id: str, history_id: str) -> HttpResponse:
    service = _editable_service(request, service_id)
    version = _version(service, history_id)
    restore_service_version(service=service, version=version, user=signed_in_user(request))
    messages.success(request, _("The version of %(date)s is current again.") % {"date": version.history_date})
    return redirect("editorial:service-history", service_id=service.pk)


# --- Change requests ------------------------------------------------------------------------------------


@require_safe
@manage_page(Role.EDITOR, Role.MODERATOR)
def changes(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", ChangeRequestStatus.PENDING)
    queryset = change_requests_visible_to(request.user).select_related("service", "author", "reviewer")
    if status in ChangeRequestStatus.values:
        queryset = queryset.filter(status=status)
    else:
        status = "all"
    statuses = [("all", _("all")), *((s.value, s.label) for s in ChangeRequestStatus)]
    listed = paginate(request, queryset)
    for change in listed:
        change.summary = change_summary(change)
    context = {
        "changes": listed,
        "status": status,
        "statuses": statuses,
        "query": urlencode({"status": status}) + "&",
    }
    return page(request, "changes.html", context)


def change_summary(change: Any) -> str:
    """What a request is about, in the staff's words: the fields it changes, or the groups it confirms."""
    if change.kind == ChangeRequestKind.CONFIRM:
        return f"{change.get_kind_display()}: {group_labels(change.proposed.get('groups', []))}".rstrip(": ")
    return ", ".join(field_label(field) for field in change.proposed)


def _visible_change(request: HttpRequest, change_id: str) -> Any:
    number = whole_number(change_id, 1, MAX_ROW_ID)
    if number is None:
        raise Http404
    return get_or_404(change_requests_visible_to(request.user).select_related("service", "author", "reviewer"), number)


def _change_page(request: HttpRequest, change: Any, reject_form: RejectForm, status: int = 200) -> HttpResponse:
    """A change request beside the values it started from and the values now, with the decision forms."""
    current = service_values(change.service)
    # A confirmation vouches for the values its author saw: shown as "before" and "proposed" alike.
    proposed = change.base if change.kind == ChangeRequestKind.CONFIRM else change.proposed
    fields = [
        {
            "field": field_label(field),
            "base": display_value(field, change.base.get(field, current[field])),
            "proposed": display_value(field, value),
            "current": display_value(field, current[field]),
            "changed_since": change.is_pending and field in change.base and change.base[field] != current[field],
        }
        for field, value in proposed.items()
    ]
    can_review = change.is_pending and change_requests_reviewable_by(request.user).filter(pk=change.pk).exists()
    context = {"change": change, "fields": fields, "can_review": can_review, "reject_form": reject_form}
    if change.kind == ChangeRequestKind.CONFIRM:
        context["confirmed_groups"] = group_labels(change.proposed.get("groups", []))
    return page(request, "change.html", context, status=status)


@require_safe
@manage_page(Role.EDITOR, Role.MODERATOR)
def change_detail(request: HttpRequest, change_id: str) -> HttpResponse:
    return _change_page(request, _visible_change(request, change_id), RejectForm())


@require_POST
@manage_page(Role.MODERATOR)
def change_approve(request: HttpRequest, change_id: str) -> HttpResponse:
    change = _visible_change(request, change_id)
    try:
        approve_change_request(change_request=change, reviewer=signed_in_user(request))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Change #%(id)s approved and published.") % {"id": change.pk})
    return redirect("editorial:change", change_id=change.pk)


@require_POST
@manage_page(Role.MODERATOR)
def change_reject(request: HttpRequest, change_id: str) -> HttpResponse:
    change = _visible_change(request, change_id)
    if not change_requests_reviewable_by(request.user).filter(pk=change.pk).exists():
        return forbidden(request, _("Only a moderator of the service's region may decide on this change."))
    form = RejectForm(request.POST)
    if form.is_valid():
        try:
            reject_change_request(
                change_request=change, reviewer=signed_in_user(request), reason=form.cleaned_data["reason"]
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Change #%(id)s rejected.") % {"id": change.pk})
            return redirect("editorial:change", change_id=change.pk)
    return _change_page(request, change, form, status=400)


# --- Freshness and the staff log ------------------------------------------------------------------------


@require_safe
@manage_page(Role.EDITOR, Role.MODERATOR)
def freshness(request: HttpRequest) -> HttpResponse:
    """Per Kreis and organisation: what is stale, incomplete or reported, each row linking to the fix."""
    board = freshness_dashboard(services_editable_by(request.user))
    kreis = request.GET.get("kreis", "")
    organization = request.GET.get("organization", "")
    problem = request.GET.get("problem", "")
    rows = [row for row in board.rows if row.has_problem]
    if kreis:
        rows = [row for row in rows if (kreis in row.kreise) or (kreis == "none" and not row.kreise)]
    if organization:
        rows = [row for row in rows if str(row.organization_id) == organization]
    if problem == "stale":
        rows = [row for row in rows if row.stale]
    elif problem == "incomplete":
        rows = [row for row in rows if row.incomplete]
    elif problem == "reports":
        rows = [row for row in rows if row.open_reports]
    roles = roles_of(request.user)
    context = {
        "board": board,
        "rows": rows[:FRESHNESS_ROWS],
        "more": max(0, len(rows) - FRESHNESS_ROWS),
        "kreis": kreis,
        "organization": organization,
        "problem": problem,
        "no_kreis": NO_KREIS,
        "sees_reports": roles.is_moderator or roles.is_admin,
    }
    return page(request, "freshness.html", context)


@require_safe
@manage_page(Role.ADMIN)
def staff_actions(request: HttpRequest) -> HttpResponse:
    queryset = staff_actions_visible_to(request.user)
    username = request.GET.get("user", "").strip()[:150]
    if username:
        queryset = queryset.filter(username=username)
    context = {
        "actions": paginate(request, queryset, 100),
        "user_filter": username,
        "query": urlencode({"user": username}) + "&",
    }
    return page(request, "actions.html", context)


# --- What people looked for and did not find ------------------------------------------------------------

UNMET_ROWS = 200


@require_safe
@manage_page(Role.EDITOR, Role.MODERATOR)
def unmet_searches(request: HttpRequest) -> HttpResponse:
    """Searches that found nothing in the user's Kreise, most frequent first: needs the directory does not meet."""
    today = timezone.localdate()
    recent, year = today - timedelta(days=30), today - timedelta(days=365)
    rows = (
        unmet_searches_visible_to(request.user)
        .filter(day__gt=year)
        .values("query", "language", "kreis__name")
        .annotate(
            last_30=Coalesce(Sum("count", filter=Q(day__gt=recent)), 0),
            last_365=Sum("count"),
        )
        .order_by("-last_30", "-last_365", "query")
    )
    shown = list(rows[: UNMET_ROWS + 1])
    context = {"rows": shown[:UNMET_ROWS], "more": len(shown) > UNMET_ROWS, "languages": dict(settings.LANGUAGES)}
    return page(request, "unmet.html", context)
