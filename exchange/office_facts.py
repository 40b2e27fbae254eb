"""Facts about real offices read off public pages (``data/catalogue/contacts/*.yaml``), checked and merged.

Each entry of a contacts file gives what one public page says about one office: its street, phones,
e-mail, website, hours, booking link and languages. Several pages may speak of one office; per group of
facts the newest page wins (its stated date, else the day it was read), so every fact shown carries exactly
one page and that page's date. Nothing here writes to the database: :mod:`exchange.loaders` does, after
every entry of every file has passed these checks.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.encoding import iri_to_uri

from directory import models as m
from directory.hours import WeeklySlot
from directory.validation import validate_email, validate_url

CONTACT_FIELDS = {
    "office",
    "source",
    "name",
    "address",
    "phones",
    "email",
    "website",
    "booking_url",
    "hours",
    "languages",
}
ADDRESS_FIELDS = {"street", "postal_code", "city"}
HOURS_FIELDS = {"days", "opens", "closes", "kind"}
# The groups of facts a page can give; each is taken whole from one page.
GROUPS = ("address", "phones", "web", "hours", "languages")
TIME = re.compile(r"([01]?[0-9]|2[0-3]):([0-5][0-9])")
# Leading digits of the postcode regions that reach into NRW (Deutsche Post Leitregionen).
NRW_POSTCODE_REGIONS = frozenset(
    {
        "32",
        "33",
        "34",
        "37",
        "40",
        "41",
        "42",
        "44",
        "45",
        "46",
        "47",
        "48",
        "49",
        "50",
        "51",
        "52",
        "53",
        "57",
        "58",
        "59",
    }
)


class FactError(ValueError):
    """A fact that cannot be right; ``field`` names where it is."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass
class PageFacts:
    """What one page says about one office."""

    office: str
    source: m.Source
    name: str = ""
    street: str = ""
    postal_code: str = ""
    city: str = ""
    phones: list[str] = field(default_factory=list)
    email: str = ""
    website: str = ""
    booking_url: str = ""
    hours: list[WeeklySlot] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)

    @property
    def address_key(self) -> str:
        """One key for one door, however a page spells it: "Markt 2" / "Markt  2", "…straße" / "…str."."""
        street = m.fold_name(self.street)
        street = re.sub(r"stra?(ss|ß)e\b|str\.", "str", street)
        street = re.sub(r"[^0-9a-z]", "", street)
        return f"{self.postal_code}/{m.fold_name(self.city)}/{street}"

    def has(self, group: str) -> bool:
        return bool(
            {
                "address": self.postal_code or self.street,
                "phones": self.phones,
                "web": self.email or self.website or self.name or self.booking_url,
                "hours": self.hours,
                "languages": self.languages,
            }[group]
        )


@dataclass
class OfficeFacts:
    """The facts shown for one office: per group, the newest page that gives it."""

    office: str
    chosen: dict[str, PageFacts]

    def group(self, name: str) -> PageFacts | None:
        return self.chosen.get(name)


def merge(pages: Iterable[PageFacts]) -> OfficeFacts | None:
    pages = sorted(pages, key=lambda p: (p.source.as_of or dt.date.min, p.source.key), reverse=True)
    if not pages:
        return None
    chosen = {group: next(p for p in pages if p.has(group)) for group in GROUPS if any(p.has(group) for p in pages)}
    if "web" in chosen:
        # Name, e-mail, website and booking link are single facts: each from the newest page that gives it, so
        # a newer page naming only the office does not hide the website an older one gave. They are shown
        # under the page of the e-mail address (else of the website).
        def newest(name: str) -> PageFacts | None:
            return next((p for p in pages if getattr(p, name)), None)

        email, website, name, booking = newest("email"), newest("website"), newest("name"), newest("booking_url")
        anchor = email or website or name or booking
        assert anchor is not None
        chosen["web"] = PageFacts(
            office=anchor.office,
            source=anchor.source,
            name=name.name if name else "",
            email=email.email if email else "",
            website=website.website if website else "",
            booking_url=booking.booking_url if booking else "",
        )
    return OfficeFacts(pages[0].office, chosen)


def _text(entry: dict[str, Any], name: str, max_length: int = 200) -> str:
    value = entry.get(name)
    if value is None:
        return ""
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise FactError(name, "expected plain text")
    text = " ".join(str(value).split())
    if len(text) > max_length:
        raise FactError(name, f"longer than {max_length} characters")
    return text


def check_url(name: str, value: str) -> str:
    """A web address, with non-ASCII letters in its path percent-encoded (an IRI made a URI, as HSDS wants)."""
    uri = iri_to_uri(value)
    try:
        validate_url(uri)
    except ValidationError as exc:
        raise FactError(name, f"{value!r} is not a web address (http:// or https://)") from exc
    return uri


def check_date(name: str, value: Any, *, today: dt.date) -> dt.date | None:
    """A date a source states or was read on: a real date, and not in the future."""
    if value is None:
        return None
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise FactError(name, f"{value!r} is not a date (YYYY-MM-DD)")
    if value > today:
        raise FactError(name, f"{value.isoformat()} lies in the future")
    return value


def _time(name: str, value: Any) -> dt.time:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 24 * 60:
        return dt.time(value // 60, value % 60)  # YAML 1.1 reads an unquoted 09:00 as 540
    match = TIME.fullmatch(str(value))
    if not match:
        raise FactError(name, f"{value!r} is not a time (HH:MM)")
    return dt.time(int(match[1]), int(match[2]))


def read_page_facts(
    entry: dict[str, Any],
    *,
    source_of: Callable[[str], m.Source | None],
    postcode_exists: Callable[[str], bool],
    gemeinde_of: Callable[[str], str | None],
) -> PageFacts:
    """Check one entry of a contacts file; raise :class:`FactError` naming the first wrong field."""
    unknown = sorted(set(entry) - CONTACT_FIELDS)
    if unknown:
        raise FactError(unknown[0], f"unknown field (allowed: {', '.join(sorted(CONTACT_FIELDS))})")
    office = _text(entry, "office", 100)
    if not office:
        raise FactError("office", "missing")
    source = source_of(_text(entry, "source", 100))
    if source is None:
        raise FactError("source", f"unknown source {entry.get('source')!r}")
    if not source.is_public_page:
        raise FactError("source", f"{source.key!r} is not a public page (a contact source needs url and read)")
    facts = PageFacts(office=office, source=source, name=_text(entry, "name"))

    address = entry.get("address")
    if address is not None:
        if not isinstance(address, dict):
            raise FactError("address", "expected a mapping with street, postal_code, city")
        extra = sorted(set(address) - ADDRESS_FIELDS)
        if extra:
            raise FactError(f"address.{extra[0]}", "unknown address field (use street, postal_code, city)")
        facts.street = _text(address, "street")
        facts.postal_code = _text(address, "postal_code", 5)
        facts.city = _text(address, "city", 100)
        if facts.postal_code and not re.fullmatch(m.POSTCODE, facts.postal_code):
            raise FactError("address.postal_code", f"{address.get('postal_code')!r} is not a postcode (5 digits)")
        if (
            facts.postal_code
            and not (
                postcode_exists(facts.postal_code)
                # The postcode list (OpenStreetMap) misses a few real ones: a code of an NRW postcode region
                # with an NRW town is taken as given.
                or (facts.postal_code[:2] in NRW_POSTCODE_REGIONS and gemeinde_of(facts.city))
            )
        ):
            raise FactError("address.postal_code", f"{facts.postal_code} is not a postcode in NRW")
        if not facts.city:
            raise FactError("address.city", "missing")
        if not facts.postal_code and not gemeinde_of(facts.city):
            raise FactError("address.city", f"{facts.city!r} is no NRW Gemeinde; give the postal_code")

    phones = entry.get("phones") or []
    if not isinstance(phones, list):
        raise FactError("phones", "expected a list of phone numbers")
    for number in phones:
        text = " ".join(str(number).split()) if isinstance(number, (str, int)) else ""
        if not re.fullmatch(m.PHONE_NUMBER, text) or not text.isascii():
            raise FactError("phones", f"{number!r} is not a phone number (digits, spaces, / - ( ) . and a leading +)")
        facts.phones.append(text)

    facts.email = _text(entry, "email")
    if facts.email:
        try:
            validate_email(facts.email)
        except ValidationError as exc:
            raise FactError("email", f"{facts.email!r} is not an e-mail address") from exc
    for name in ("website", "booking_url"):
        value = _text(entry, name, 500)
        if value:
            setattr(facts, name, check_url(name, value))

    hours = entry.get("hours") or []
    if not isinstance(hours, list):
        raise FactError("hours", "expected a list of {days, opens, closes}")
    for slot in hours:
        if not isinstance(slot, dict) or set(slot) - HOURS_FIELDS:
            raise FactError("hours", f"{slot!r}: expected days, opens, closes and optionally kind")
        byday = str(slot.get("days", "")).replace(" ", "").upper()
        if not re.fullmatch(m.BYDAY, byday):
            raise FactError("hours.days", f"{slot.get('days')!r}: use MO TU WE TH FR SA SU, comma-separated")
        opens, closes = _time("hours.opens", slot.get("opens")), _time("hours.closes", slot.get("closes"))
        if closes <= opens:
            raise FactError("hours.closes", f"{closes:%H:%M} is not after {opens:%H:%M}")
        kind = str(slot.get("kind") or "")
        if kind and kind not in m.AttendingType.values:
            raise FactError("hours.kind", f"unknown kind {kind!r} (use {', '.join(m.AttendingType.values)})")
        facts.hours.append(WeeklySlot(byday, opens, closes, kind))

    languages = entry.get("languages") or []
    if not isinstance(languages, list):
        raise FactError("languages", "expected a list of ISO 639 codes")
    for code in languages:
        if not isinstance(code, str) or not re.fullmatch(m.ISO_639, code):
            raise FactError("languages", f"{code!r} is not an ISO 639 language code")
        if code not in facts.languages:
            facts.languages.append(code)
    return facts
