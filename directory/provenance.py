"""Where a service's facts come from, as a person reads it: "laut stadt-muenster.de, Stand 03/2025".

Facts read off a public page carry that page (``Source.read_on`` set); facts an office confirmed carry
a verification date. Both are shown per group of facts (address, phones, e-mail and website, hours,
languages), because one office's facts often come from several pages of different age.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar

from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from directory.models import Organization, Service, Source, related

_Confirmation = TypeVar("_Confirmation")

GROUP_LABELS = {
    "address": gettext_lazy("Address"),
    "phones": gettext_lazy("Phone"),
    "web": gettext_lazy("E-mail and website"),
    "hours": gettext_lazy("Opening hours"),
    "languages": gettext_lazy("Languages spoken"),
}


@dataclass(frozen=True)
class Provenance:
    group: str
    source: Source

    @property
    def label(self) -> str:
        return str(GROUP_LABELS[self.group])

    @property
    def text(self) -> str:
        return source_text(self.source)


def source_text(source: Source) -> str:
    """ "according to stadt-muenster.de, as of 03/2025" — or the title of a document without a web page."""
    when = formats.date_format(source.as_of, "m/Y") if source.as_of else ""
    where = source.site or source.title
    if not when:
        return _("according to %(site)s") % {"site": where}
    if source.date is None and source.read_on is not None:
        return _("according to %(site)s, read %(date)s") % {"site": where, "date": when}
    return _("according to %(site)s, as of %(date)s") % {"site": where, "date": when}


def fact_provenance(service: Service) -> list[Provenance]:
    """One entry per group of the service's contact facts whose source is a public page."""
    found: dict[str, Source] = {}
    places = [sal.location for sal in related(service, "service_at_locations")]
    for group, records in (
        ("address", [a for place in places for a in place.street_addresses]),
        ("phones", related(service, "phones")),
        ("hours", related(service, "schedules")),
        ("languages", related(service, "languages")),
    ):
        source = next((r.source for r in records if r.source is not None and r.source.is_public_page), None)
        if source is not None:
            found[group] = source
    if service.contact_source is not None and (service.email or service.url):
        found["web"] = service.contact_source
    return [Provenance(group, found[group]) for group in GROUP_LABELS if group in found]


def has_own_contact(service: Service) -> bool:
    return bool(service.email or service.url or related(service, "phones"))


def fallback_organization(service: Service) -> Organization | None:
    """Who to reach when the office's own contacts are unknown: the body that runs it (a Jobcenter's Kreis)."""
    if has_own_contact(service):
        return None
    organization = service.organization
    for candidate in (organization, organization.parent_organization):
        if candidate is not None and (candidate.email or candidate.website or related(candidate, "phones")):
            return candidate
    return None


# --- Which facts may be called checked ------------------------------------------------------------------

# The groups of a service's facts that staff confirm one by one (editorial.models.FieldGroup uses these keys).
CONFIRMABLE_GROUPS = ("contact", "hours", "languages")


def recorded_groups(service: Service) -> frozenset[str]:
    """The confirmable groups for which the service records at least one fact, as its public page shows them:
    contact — a phone (its own or at one of its places), an e-mail address or a website; hours — its own,
    at its places or its places' hours; languages — a language spoken.

    The one rule behind "checked on …": a group with nothing recorded is "not yet verified" and can be
    neither confirmed nor shown as checked. Reads prefetched relations where the caller prefetched them.
    """
    places = related(service, "service_at_locations")
    groups = set()
    if service.email or service.url or related(service, "phones") or any(related(sal, "phones") for sal in places):
        groups.add("contact")
    if (
        related(service, "schedules")
        or any(related(sal, "schedules") for sal in places)
        or any(related(sal.location, "schedules") for sal in places)
    ):
        groups.add("hours")
    if related(service, "languages"):
        groups.add("languages")
    return frozenset(groups)


def checked_groups(service: Service, confirmations: Mapping[str, _Confirmation]) -> dict[str, _Confirmation]:
    """Of the recorded confirmations per group, those a page may show as "checked on …": the groups that hold
    facts (a confirmation of a group emptied since says nothing about what is there now)."""
    recorded = recorded_groups(service)
    return {group: confirmation for group, confirmation in confirmations.items() if group in recorded}
