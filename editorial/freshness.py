"""What is stale or incomplete: the freshness dashboard's reads, in a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, Left
from django.utils import timezone

from directory.models import (
    Kreis,
    Language,
    Phone,
    ProblemReport,
    ProblemReportStatus,
    Schedule,
    Service,
    ServiceArea,
    ServiceAtLocation,
    ServiceStatus,
    Source,
)
from directory.translation import translate

# An entry not confirmed for this long is stale.
STALE_AFTER = timedelta(days=365)
# Kreis key for services that are not tied to one Kreis (responsible for the whole Land or a Regierungsbezirk).
NO_KREIS = ""


@dataclass
class FreshnessRow:
    service_id: Any
    name: str
    organization_id: Any
    organization: str
    status: str
    last_verified_at: datetime | None
    stale: bool
    no_contact: bool
    no_hours: bool
    no_language: bool
    # A fact read off a public page that is more than STALE_AFTER old (the page's date, else the day it was read).
    old_source: bool
    open_reports: int
    first_open_report: Any
    kreise: list[str] = field(default_factory=list)

    @property
    def incomplete(self) -> bool:
        return self.no_contact or self.no_hours or self.no_language

    @property
    def has_problem(self) -> bool:
        return self.stale or self.incomplete or self.old_source or self.open_reports > 0


@dataclass
class Tally:
    key: str
    label: str
    services: int = 0
    stale: int = 0
    incomplete: int = 0
    open_reports: int = 0

    def add(self, row: FreshnessRow) -> None:
        self.services += 1
        self.stale += row.stale
        self.incomplete += row.incomplete
        self.open_reports += row.open_reports > 0


def _exists_for_service(queryset: QuerySet[Any], *paths: str) -> Q:
    """Whether a row of ``queryset`` hangs off the service by any of the given paths (one EXISTS each)."""
    condition = Q()
    for path in paths:
        condition |= Q(Exists(queryset.filter(**{path: OuterRef("pk")})))
    return condition


def freshness_rows(services: QuerySet[Service], *, now: datetime | None = None) -> list[FreshnessRow]:
    """Every given service (defunct ones left out) with what is missing or stale: two queries in all.

    Contact path: a phone (of the service, its places or the service at a place), its e-mail or website,
    or a place's website. Hours: an opening slot at any of those levels. Language: of the service or a place.
    """
    now = now or timezone.now()
    old_pages = (
        Source.objects.filter(read_on__isnull=False)
        .annotate(stated_or_read=Coalesce("date", "read_on"))
        .filter(stated_or_read__lt=(now - STALE_AFTER).date())
    )
    open_reports = ProblemReport.objects.filter(service=OuterRef("pk"), status=ProblemReportStatus.OPEN)
    places = "location__service_at_locations__service"
    annotated = (
        services.exclude(status=ServiceStatus.DEFUNCT)
        .annotate(
            has_contact=_exists_for_service(Phone.objects.all(), "service", "service_at_location__service", places)
            | ~Q(email="")
            | ~Q(url="")
            | _exists_for_service(ServiceAtLocation.objects.exclude(location__url=""), "service"),
            has_hours=_exists_for_service(
                Schedule.objects.filter(is_closed=False), "service", "service_at_location__service", places
            ),
            has_language=_exists_for_service(Language.objects.all(), "service", places),
            has_old_source=Q(contact_source__in=old_pages)
            | _exists_for_service(Phone.objects.filter(source__in=old_pages), "service")
            | _exists_for_service(Schedule.objects.filter(source__in=old_pages), "service")
            | _exists_for_service(Language.objects.filter(source__in=old_pages), "service")
            | _exists_for_service(
                ServiceAtLocation.objects.filter(location__addresses__source__in=old_pages), "service"
            ),
            open_report_count=Coalesce(
                Subquery(open_reports.order_by().values("service").annotate(n=Count("pk")).values("n")[:1]), Value(0)
            ),
            first_open_report=Subquery(open_reports.order_by("created_at").values("pk")[:1]),
        )
        .values(
            "pk",
            "name",
            "organization_id",
            "organization__name",
            "status",
            "last_verified_at",
            "has_contact",
            "has_hours",
            "has_language",
            "has_old_source",
            "open_report_count",
            "first_open_report",
        )
        .order_by("organization__name__de", "name__de")
    )
    rows = {
        row["pk"]: FreshnessRow(
            service_id=row["pk"],
            name=str(translate(row["name"], "de")),
            organization_id=row["organization_id"],
            organization=str(translate(row["organization__name"], "de")),
            status=row["status"],
            last_verified_at=row["last_verified_at"],
            stale=row["last_verified_at"] is None or row["last_verified_at"] < now - STALE_AFTER,
            no_contact=not row["has_contact"],
            no_hours=not row["has_hours"],
            no_language=not row["has_language"],
            old_source=bool(row["has_old_source"]),
            open_reports=row["open_report_count"],
            first_open_report=row["first_open_report"],
        )
        for row in annotated
    }
    # Which Kreise each service is in: by its (including) service areas of Kreis level or below, and its places.
    ids = services.values("pk")
    in_kreis = (
        ServiceArea.objects.filter(service__in=ids, excludes=False, ags__regex=r"^[0-9]{5}")
        .annotate(kreis=Left("ags", 5))
        .values_list("service_id", "kreis")
        .union(
            ServiceAtLocation.objects.filter(service__in=ids, location__gemeinde__isnull=False).values_list(
                "service_id", "location__gemeinde__kreis_id"
            )
        )
    )
    for service_id, kreis in in_kreis:
        if service_id in rows:
            rows[service_id].kreise.append(kreis)
    for row in rows.values():
        row.kreise.sort()
    return list(rows.values())


@dataclass
class Dashboard:
    rows: list[FreshnessRow]
    by_kreis: list[Tally]
    by_organization: list[Tally]


def freshness_dashboard(services: QuerySet[Service], *, now: datetime | None = None) -> Dashboard:
    """Rows plus their tallies per Kreis and per organisation (three queries whatever the number of services)."""
    rows = freshness_rows(services, now=now)
    names = {kreis.ags: kreis.display_name for kreis in Kreis.objects.only("ags", "name", "bez")}
    by_kreis: dict[str, Tally] = {}
    by_organization: dict[str, Tally] = {}
    for row in rows:
        for kreis in row.kreise or [NO_KREIS]:
            label = names.get(kreis, kreis) if kreis else "NRW-wide or Regierungsbezirk"
            by_kreis.setdefault(kreis, Tally(kreis, label)).add(row)
        key = str(row.organization_id)
        by_organization.setdefault(key, Tally(key, row.organization)).add(row)
    return Dashboard(
        rows=rows,
        by_kreis=sorted(by_kreis.values(), key=lambda t: (t.key == NO_KREIS, t.label)),
        by_organization=sorted(by_organization.values(), key=lambda t: t.label.casefold()),
    )
