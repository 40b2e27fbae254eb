"""How many offices show which contact paths: the coverage report (``manage.py coverage_report``)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet

from directory.models import Address, Phone, Schedule, Service, ServiceArea, VerificationState
from directory.translation import translate

COLUMNS = ("offices", "street", "street_only", "phone", "email", "website", "hours", "verified")


@dataclass
class Row:
    kind: str
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COLUMNS, 0))


@dataclass
class Coverage:
    rows: list[Row]
    responsible: int
    reachable: int
    with_street: int
    with_any_street: int
    empty: list[str]

    @property
    def reachable_share(self) -> float:
        return self.reachable / self.responsible if self.responsible else 0.0

    @property
    def street_share(self) -> float:
        return self.with_street / self.responsible if self.responsible else 0.0

    def markdown(self) -> str:
        lines = [
            "| kind of office | offices | street + postcode | street, no postcode | phone | e-mail | website | hours "
            "| verified |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for row in self.rows:
            lines.append(f"| {row.kind} | " + " | ".join(str(row.counts[c]) for c in COLUMNS) + " |")
        lines += [
            "",
            f"Services responsible for an NRW place: {self.responsible}. With a way to reach someone (own phone, "
            f"e-mail or website, or the contacts of the Kreis or city that runs it): {self.reachable} "
            f"({self.reachable_share:.0%}). With a street address and postcode: {self.with_street} "
            f"({self.street_share:.0%}); with a street at all (some pages give no postcode): {self.with_any_street} "
            f"({self.with_any_street / self.responsible if self.responsible else 0:.0%}).",
        ]
        return "\n".join(lines)


def annotated(services: QuerySet[Service]) -> QuerySet[Service]:
    at_service = OuterRef("pk")
    return services.annotate(
        has_street=Exists(
            Address.objects.filter(location__service_at_locations__service=at_service)
            .exclude(address_1="")
            .exclude(postal_code="")
        ),
        has_any_street=Exists(
            Address.objects.filter(location__service_at_locations__service=at_service).exclude(address_1="")
        ),
        has_phone=Exists(Phone.objects.filter(service=at_service)),
        has_hours=Exists(Schedule.objects.filter(service=at_service, is_closed=False)),
        has_org_contact=Exists(
            Phone.objects.filter(organization=OuterRef("organization"))
            | Phone.objects.filter(organization=OuterRef("organization__parent_organization"))
        )
        | ~Q(organization__email="")
        | ~Q(organization__website="")
        | Q(organization__parent_organization__email__gt="")
        | Q(organization__parent_organization__website__gt=""),
        is_responsible=Exists(ServiceArea.objects.filter(service=at_service, excludes=False)),
    ).select_related("service_type")


def coverage() -> Coverage:
    rows: dict[str, Row] = defaultdict(lambda: Row(""))
    responsible = reachable = with_street = with_any_street = 0
    empty: list[str] = []
    service: Any  # annotated with has_street, has_phone, has_hours, has_org_contact, is_responsible
    for service in annotated(Service.objects.published()).order_by("id"):
        kind = str(translate(service.service_type.name, "de")) if service.service_type else "(ohne Art)"
        row = rows[kind]
        row.kind = kind
        own = service.has_phone or bool(service.email) or bool(service.url)
        for column, present in (
            ("offices", True),
            ("street", service.has_street),
            ("street_only", service.has_any_street and not service.has_street),
            ("phone", service.has_phone),
            ("email", bool(service.email)),
            ("website", bool(service.url)),
            ("hours", service.has_hours),
            ("verified", service.verification_state == VerificationState.VERIFIED),
        ):
            row.counts[column] += int(bool(present))
        if service.is_responsible:
            responsible += 1
            reachable += int(bool(own or service.has_org_contact))
            with_street += int(service.has_street)
            with_any_street += int(service.has_any_street)
            if not own and not service.has_street:
                empty.append(str(translate(service.name, "de")))
    ordered = sorted(rows.values(), key=lambda r: (-r.counts["offices"], r.kind))
    return Coverage(ordered, responsible, reachable, with_street, with_any_street, sorted(empty))
