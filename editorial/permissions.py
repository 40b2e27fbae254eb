"""Who may see and touch what: one access function per sensitive model, used by every view.

Roles come from data, not flags: a caseworker is in the "caseworker" group, an editor has
EditorMembership rows, a moderator has ModeratorRegion rows, an administrator is a superuser.
A user may hold several roles.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db.models import Exists, OuterRef, Q, QuerySet

from directory.models import (
    Location,
    ProblemReport,
    Service,
    ServiceArea,
    ServiceAtLocation,
    ServiceQuerySet,
    UnmetSearch,
)
from editorial.models import (
    CASEWORKER_GROUP,
    ChangeRequest,
    EditorMembership,
    ModeratorRegion,
    PrivateNote,
    SavedService,
    StaffAction,
)

if TYPE_CHECKING:
    from collections.abc import Iterable

    from django.contrib.auth.models import AnonymousUser, User

    AnyUser = User | AnonymousUser


class Role:
    CASEWORKER = "caseworker"
    EDITOR = "editor"
    MODERATOR = "moderator"
    ADMIN = "admin"


@dataclass(frozen=True)
class Roles:
    is_admin: bool = False
    is_caseworker: bool = False
    organization_ids: frozenset[Any] = frozenset()
    trusted_organization_ids: frozenset[Any] = frozenset()
    kreis_codes: frozenset[str] = frozenset()

    @property
    def is_editor(self) -> bool:
        return bool(self.organization_ids)

    @property
    def is_moderator(self) -> bool:
        return bool(self.kreis_codes)

    @property
    def any(self) -> bool:
        return self.is_admin or self.is_caseworker or self.is_editor or self.is_moderator

    def has(self, *roles: str) -> bool:
        """Whether the user holds one of ``roles``; an administrator holds them all."""
        held = {
            Role.ADMIN: self.is_admin,
            Role.CASEWORKER: self.is_caseworker,
            Role.EDITOR: self.is_editor,
            Role.MODERATOR: self.is_moderator,
        }
        return self.is_admin or any(held[role] for role in roles)


NO_ROLES = Roles()


def roles_of(user: AnyUser) -> Roles:
    """The user's roles, read once per user object (three small queries) and kept on it."""
    if not user.is_authenticated or not user.is_active:
        return NO_ROLES
    cached: Roles | None = getattr(user, "_editorial_roles", None)
    if cached is not None:
        return cached
    memberships = list(EditorMembership.objects.filter(user_id=user.pk).values_list("organization_id", "trusted"))
    roles = Roles(
        is_admin=bool(getattr(user, "is_superuser", False)),
        is_caseworker=user.groups.filter(name=CASEWORKER_GROUP).exists(),
        organization_ids=frozenset(org for org, _ in memberships),
        trusted_organization_ids=frozenset(org for org, trusted in memberships if trusted),
        kreis_codes=frozenset(ModeratorRegion.objects.filter(user_id=user.pk).values_list("kreis_id", flat=True)),
    )
    user._editorial_roles = roles  # type: ignore[attr-defined]
    return roles


def forget_roles(user: AnyUser) -> None:
    """Drop the roles kept on a user object (after its memberships changed)."""
    if hasattr(user, "_editorial_roles"):
        del user._editorial_roles


def needs_two_factor(user: AnyUser) -> bool:
    """Moderators and administrators (and anyone who may open the Django admin) must use a second factor."""
    if not user.is_authenticated:
        return False
    if getattr(user, "is_superuser", False) or getattr(user, "is_staff", False):
        return True
    return roles_of(user).is_moderator


# --- Services -------------------------------------------------------------------------------------------


def in_kreise(kreis_codes: Iterable[str]) -> Q:
    """Services in these Kreise: one of their (including) service areas' AGS starts with one of the codes,
    or one of their locations lies in one of them."""
    codes = sorted(kreis_codes)
    if not codes:
        return Q(pk__in=[])
    starts = Q()
    for code in codes:
        starts |= Q(ags__startswith=code)
    areas = ServiceArea.objects.filter(starts, service=OuterRef("pk"), excludes=False)
    places = ServiceAtLocation.objects.filter(
        service=OuterRef("pk"), location__in=Location.objects.filter(gemeinde__kreis_id__in=codes)
    )
    return Q(Exists(areas)) | Q(Exists(places))


def services_moderated_by(user: AnyUser) -> ServiceQuerySet:
    """Services whose changes and problem reports this user reviews: their region's, or all for an admin."""
    roles = roles_of(user)
    if roles.is_admin:
        return Service.objects.all()
    if not roles.is_moderator:
        return Service.objects.none()
    return Service.objects.filter(in_kreise(roles.kreis_codes))


def services_editable_by(user: AnyUser) -> ServiceQuerySet:
    """Services this user may edit (directly or by proposing a change): their organisations' and their region's."""
    roles = roles_of(user)
    if roles.is_admin:
        return Service.objects.all()
    if not roles.is_editor and not roles.is_moderator:
        return Service.objects.none()
    condition = Q(organization_id__in=roles.organization_ids) if roles.is_editor else Q(pk__in=[])
    if roles.is_moderator:
        condition |= in_kreise(roles.kreis_codes)
    return Service.objects.filter(condition)


def can_apply_directly(user: AnyUser, service: Service) -> bool:
    """Whether the user's edits of ``service`` apply at once instead of waiting for review.

    Administrators, moderators of the service's region and trusted editors of its organisation do;
    any editor of its organisation does for a record that is not published.
    """
    roles = roles_of(user)
    if roles.is_admin:
        return True
    if service.organization_id in roles.trusted_organization_ids:
        return True
    if service.organization_id in roles.organization_ids and service.status != "active":
        return True
    return roles.is_moderator and services_moderated_by(user).filter(pk=service.pk).exists()


# --- Change requests and problem reports ----------------------------------------------------------------


def change_requests_visible_to(user: AnyUser) -> QuerySet[ChangeRequest]:
    """Change requests on the services the user may edit (an editor never sees another organisation's)."""
    roles = roles_of(user)
    if roles.is_admin:
        return ChangeRequest.objects.all()
    if not roles.is_editor and not roles.is_moderator:
        return ChangeRequest.objects.none()
    return ChangeRequest.objects.filter(service__in=services_editable_by(user).values("pk"))


def change_requests_reviewable_by(user: AnyUser) -> QuerySet[ChangeRequest]:
    roles = roles_of(user)
    if roles.is_admin:
        return ChangeRequest.objects.all()
    if not roles.is_moderator:
        return ChangeRequest.objects.none()
    return ChangeRequest.objects.filter(service__in=services_moderated_by(user).values("pk"))


def problem_reports_moderated_by(user: AnyUser) -> QuerySet[ProblemReport]:
    """Problem reports this user sees and decides: those on services in their region."""
    roles = roles_of(user)
    if roles.is_admin:
        return ProblemReport.objects.all()
    if not roles.is_moderator:
        return ProblemReport.objects.none()
    return ProblemReport.objects.filter(service__in=services_moderated_by(user).values("pk"))


# --- What is a user's own -------------------------------------------------------------------------------


def notes_of(user: AnyUser) -> QuerySet[PrivateNote]:
    """Private notes are their author's alone: no role, not even an administrator, reads another's."""
    if not user.is_authenticated:
        return PrivateNote.objects.none()
    return PrivateNote.objects.filter(author_id=user.pk)


def saved_services_of(user: AnyUser) -> QuerySet[SavedService]:
    if not user.is_authenticated:
        return SavedService.objects.none()
    return SavedService.objects.filter(user_id=user.pk)


def staff_actions_visible_to(user: AnyUser) -> QuerySet[StaffAction]:
    return StaffAction.objects.all() if roles_of(user).is_admin else StaffAction.objects.none()


# --- Unmet searches -------------------------------------------------------------------------------------


def kreise_of_organizations(organization_ids: Iterable[Any]) -> frozenset[str]:
    """The Kreise the organisations' services serve or sit in (their areas' and places' Kreise)."""
    services = Service.objects.filter(organization_id__in=list(organization_ids))
    areas = ServiceArea.objects.filter(service__in=services, excludes=False).values_list("ags", flat=True)
    places = Location.objects.filter(service_at_locations__service__in=services).values_list(
        "gemeinde__kreis_id", flat=True
    )
    return frozenset(code[:5] for code in [*areas, *places] if code and len(code) >= 5)


def unmet_searches_visible_to(user: AnyUser) -> QuerySet[UnmetSearch]:
    """Counts of searches that found nothing: a moderator's of their Kreise, an editor's of the Kreise their
    organisations' services serve; searches without a place (no Kreis) only for administrators."""
    roles = roles_of(user)
    if roles.is_admin:
        return UnmetSearch.objects.all()
    codes = set(roles.kreis_codes)
    if roles.is_editor:
        codes |= kreise_of_organizations(roles.organization_ids)
    if not codes:
        return UnmetSearch.objects.none()
    return UnmetSearch.objects.filter(kreis_id__in=sorted(codes))
