"""The vCard of a service: every way to reach it that is known, for a phone's address book.

The service page offers the vCard only when it holds a way to reach the office (:func:`contact_paths`
is the one rule for both), so that nobody saves a contact that holds a name and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from directory import hours
from directory.models import Address, Phone, Service, related
from directory.translation import translate
from public.display import service_schedules

# vCard 3.0 TEL types for the HSDS phone types (RFC 2426 § 3.3.1).
TEL_TYPES = {
    "voice": "WORK,VOICE",
    "cell": "WORK,CELL",
    "text": "WORK,MSG",
    "fax": "WORK,FAX",
    "video": "WORK,VIDEO",
    "pager": "WORK,PAGER",
    "textphone": "WORK,TEXTPHONE",
}


@dataclass
class ContactPaths:
    phones: list[Phone] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    websites: list[str] = field(default_factory=list)
    addresses: list[Address] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.phones or self.emails or self.websites or self.addresses)


def contact_paths(service: Service) -> ContactPaths:
    """The office's own ways to reach it (from the prefetched records of ``services_for_display``): its phones
    and those at its places, its e-mail and website, and the street addresses of its places. The contacts of
    the Kreis or city that runs it are not the office's and stay out."""
    at_places = related(service, "service_at_locations")
    at_place_phones = (p for sal in at_places for p in related(sal, "phones"))
    phones = {p.international: p for p in [*related(service, "phones"), *at_place_phones]}
    addresses = {(a.address_1, a.postal_code, a.city): a for sal in at_places for a in sal.location.street_addresses}
    return ContactPaths(
        phones=list(phones.values()),
        emails=[service.email] if service.email else [],
        websites=[service.url] if service.url else [],
        addresses=list(addresses.values()),
    )


def escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def simple_hours(service: Service) -> str:
    """The weekly hours in one short German text ("Mo–Fr 9:00–12:00"), or "" when they are not simple:
    hours that hold only for some dates, closures or several places with their own hours do not fit a note."""
    own = related(service, "schedules")
    places = {tuple(s.pk for s in related(sal, "schedules")) for sal in related(service, "service_at_locations")}
    schedules = own or service_schedules(service)
    if not schedules or (not own and len(places) > 1):
        return ""
    slots = []
    for s in schedules:
        if s.is_closed or s.valid_from or s.valid_to or s.opens_at is None or s.closes_at is None:
            return ""
        try:
            slots.append(hours.weekly_slot(s.byday, s.opens_at, s.closes_at, s.attending_type))
        except hours.HoursError:
            return ""
    return hours.format_hours(slots)


def vcard(service: Service, page_url: str) -> str:
    paths = contact_paths(service)
    organization = translate(service.organization.name, "de").text
    lines = [
        "BEGIN:VCARD",
        "VERSION:3.0",
        f"FN:{escape(translate(service.name).text)}",
        f"ORG:{escape(organization)}",
    ]
    lines += [f"TEL;TYPE={TEL_TYPES.get(p.type, 'WORK')}:{p.international}" for p in paths.phones]
    lines += [f"EMAIL;TYPE=INTERNET,WORK:{email}" for email in paths.emails]
    lines += [f"URL:{url}" for url in paths.websites]
    lines += [
        f"ADR;TYPE=WORK:;;{escape(a.address_1)};{escape(a.city)};;{escape(a.postal_code)};{escape(a.country or 'DE')}"
        for a in paths.addresses
    ]
    note = [text for text in (simple_hours(service), f"Wegweiser NRW: {page_url}") if text]
    lines.append(f"NOTE:{escape(chr(10).join(note))}")
    lines.append("END:VCARD")
    return "".join(fold(line) for line in lines)


def fold(line: str) -> str:
    """One content line, folded at 75 octets as RFC 2426 asks (a continuation starts with a space)."""
    pieces: list[str] = []
    current = ""
    for char in line:
        if len((current + char).encode()) > (75 if not pieces else 74):
            pieces.append(current)
            current = ""
        current += char
    pieces.append(current)
    return "\r\n ".join(pieces) + "\r\n"
