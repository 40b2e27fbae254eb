"""Opening hours: is a service open now, when does it open next, what does its week look like.

Pure Python over Schedule instances that are already loaded (prefetch ``schedules`` in the view); nothing here
queries the database. A Schedule is either a weekly slot (``byday`` + ``opens_at``/``closes_at``, optionally
bounded by ``valid_from``/``valid_to``) or, with ``is_closed``, a closure of whole days from ``valid_from`` to
``valid_to`` (inclusive; one day when ``valid_to`` is empty; only the listed weekdays when ``byday`` is set).
NRW public holidays close every slot.

Times are local to Europe/Berlin. Functions taking a moment want an aware datetime (any time zone) and answer
in Europe/Berlin; naive datetimes are rejected, since guessing their zone would silently shift the hours.
Results are codes and data (weekday codes, attending types, :class:`ClosedReason`); the views word them.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import TYPE_CHECKING, NamedTuple
from zoneinfo import ZoneInfo

from holidays.countries.germany import Germany

from directory.translation import translate

if TYPE_CHECKING:
    from directory.models import Schedule

BERLIN = ZoneInfo("Europe/Berlin")
# iCalendar BYDAY codes (directory.models.Weekday), indexed by date.weekday(): Monday first.
WEEKDAY_CODES: tuple[str, ...] = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
# How far opening_state looks for the next opening, in days after today.
SEARCH_DAYS = 14

# UI language → a language the holidays package names German holidays in; others fall back to German.
_HOLIDAY_LANGUAGES = {"de": "de", "en": "en_US", "uk": "uk"}


class ClosedReason(StrEnum):
    HOLIDAY = "holiday"
    CLOSURE = "closure"


class Slot(NamedTuple):
    """One opening on one day, in local time. ``attending_type`` is an AttendingType value or "" (not given)."""

    opens: time
    closes: time
    attending_type: str


@dataclass(frozen=True)
class DayHours:
    """One calendar day: the slots that apply, and why there are none when a holiday or closure empties them."""

    date: date
    weekday: str  # "MO" … "SU"
    slots: list[Slot]  # sorted; empty on holidays and closures
    regular_slots: list[Slot] = field(default_factory=list)  # what the week would give without holiday/closure
    holiday: str | None = None  # the public holiday's name (German), if the day is one
    closure: Schedule | None = None  # the closure that covers the day, if any

    @property
    def reason_closed(self) -> ClosedReason | None:
        """Why the day has no hours although it might have.

        A closure is more specific than a holiday, unless it says nothing about itself on a holiday
        (a Christmas closure without a note still reads best as "Erster Weihnachtstag").
        """
        if self.closure is not None and (self.holiday is None or closure_note(self.closure)):
            return ClosedReason.CLOSURE
        if self.holiday is not None:
            return ClosedReason.HOLIDAY
        return None

    @property
    def reason_detail(self) -> str | None:
        """The holiday's name or the closure's note, for :attr:`reason_closed`."""
        reason = self.reason_closed
        if reason == ClosedReason.CLOSURE and self.closure is not None:
            return closure_note(self.closure)
        return self.holiday if reason == ClosedReason.HOLIDAY else None

    @property
    def is_open(self) -> bool:
        """Whether the service opens at all on this day."""
        return bool(self.slots)


@dataclass(frozen=True)
class OpeningState:
    """Open or closed at one moment.

    ``known`` is False when there are no (still valid) weekly slots at all: the page should say "hours not yet
    verified", not "closed". ``attending_type`` is that of the current slot when open, of the next one when
    closed (None when not given); ``attending_types`` lists all of them where slots overlap.
    """

    is_open: bool
    known: bool
    closes_at: datetime | None = None  # when open: the end of the current (merged) opening, Europe/Berlin
    next_opening: datetime | None = None  # when closed: the next opening within SEARCH_DAYS, Europe/Berlin
    attending_type: str | None = None
    attending_types: tuple[str, ...] = ()
    reason_closed: ClosedReason | None = None  # only when closed because today is a holiday or closure day
    reason_detail: str | None = None  # the holiday's name or the closure's note/description
    closure: Schedule | None = None  # the closure record, so a view can translate its description


# --- Public holidays ------------------------------------------------------------------------------------


@functools.cache
def public_holidays(year: int, language: str = "de") -> Mapping[date, str]:
    """NRW's public holidays in ``year`` → their names (``language`` as the holidays package spells it)."""
    return MappingProxyType(dict(Germany(subdiv="NW", years=year, language=language).items()))


def holiday_name(day: date, language: str | None = None) -> str | None:
    """The name of the NRW public holiday on ``day`` (None if it is none), in a UI language where available."""
    code = _HOLIDAY_LANGUAGES.get((language or "de").split("-")[0].lower(), "de")
    return public_holidays(day.year, code).get(day)


def closure_note(closure: Schedule) -> str | None:
    """What a closure says about itself: its note, else its description (active language, German fallback)."""
    if closure.notes:
        return closure.notes
    return translate(closure.description).text or None


# --- Reading schedules ----------------------------------------------------------------------------------


def _codes(byday: str) -> frozenset[str]:
    return frozenset(code for code in (part.strip().upper() for part in (byday or "").split(",")) if code)


def _is_slot(schedule: Schedule) -> bool:
    """A usable weekly slot: not a closure, with days and a time range that closes after it opens."""
    return (
        not schedule.is_closed
        and schedule.opens_at is not None
        and schedule.closes_at is not None
        and schedule.closes_at > schedule.opens_at
        and bool(_codes(schedule.byday) & set(WEEKDAY_CODES))
    )


def _as_slot(schedule: Schedule) -> Slot:
    assert schedule.opens_at is not None and schedule.closes_at is not None
    return Slot(_naive(schedule.opens_at), _naive(schedule.closes_at), schedule.attending_type or "")


def _naive(t: time) -> time:
    return t.replace(tzinfo=None)


def _valid_on(schedule: Schedule, day: date) -> bool:
    return (schedule.valid_from is None or schedule.valid_from <= day) and (
        schedule.valid_to is None or day <= schedule.valid_to
    )


def _closes_day(closure: Schedule, day: date) -> bool:
    if closure.valid_from is None:  # incomplete: a closure needs the day it starts
        return False
    end = closure.valid_to or closure.valid_from
    if not closure.valid_from <= day <= end:
        return False
    codes = _codes(closure.byday)
    return not codes or WEEKDAY_CODES[day.weekday()] in codes


class _Schedules:
    """Schedules split once into usable slots and closures."""

    def __init__(self, schedules: Iterable[Schedule]) -> None:
        loaded = list(schedules)
        self.slots = [s for s in loaded if _is_slot(s)]
        self.closures = sorted(
            (s for s in loaded if s.is_closed and s.valid_from is not None),
            key=lambda s: (s.valid_from, s.valid_to or s.valid_from),
        )

    def regular(self, weekday: str, day: date | None = None) -> list[Slot]:
        """The slots on ``weekday``, sorted and without duplicates; only those valid on ``day`` if given."""
        return sorted(
            {_as_slot(s) for s in self.slots if weekday in _codes(s.byday) and (day is None or _valid_on(s, day))}
        )

    def day(self, day: date) -> DayHours:
        weekday = WEEKDAY_CODES[day.weekday()]
        regular = self.regular(weekday, day)
        holiday = public_holidays(day.year).get(day)
        closure = next((c for c in self.closures if _closes_day(c, day)), None)
        slots = [] if holiday is not None or closure is not None else regular
        return DayHours(day, weekday, slots, regular, holiday, closure)


# --- Days and weeks -------------------------------------------------------------------------------------


def days(schedules: Iterable[Schedule], start: date, count: int) -> list[DayHours]:
    """``count`` consecutive days from ``start`` (a local date; an aware datetime is taken as its local day)."""
    if count < 0:
        raise ValueError("count must not be negative")
    if isinstance(start, datetime):
        start = to_local(start).date()
    loaded = _Schedules(schedules)
    return [loaded.day(start + timedelta(days=n)) for n in range(count)]


def week(schedules: Iterable[Schedule], start: date) -> list[DayHours]:
    """The seven days from ``start``."""
    return days(schedules, start, 7)


def weekly_table(schedules: Iterable[Schedule], on: date | None = None) -> list[tuple[str, list[Slot]]]:
    """The usual week, Monday first, every weekday listed (empty when closed).

    Dated validity is ignored, unless ``on`` is given: then only slots valid on that date count (the week
    "as it is now" when summer and winter hours are both recorded). Holidays and closures are not applied.
    """
    loaded = _Schedules(schedules)
    return [(code, loaded.regular(code, on)) for code in WEEKDAY_CODES]


def group_days(table: Sequence[tuple[str, list[Slot]]]) -> list[tuple[list[str], list[Slot]]]:
    """Runs of consecutive days with the same slots: MO…FR 9–12 becomes one row ``(["MO", …, "FR"], slots)``.

    Days without slots form runs too; a view that lists only opening days skips rows whose slots are empty.
    """
    groups: list[tuple[list[str], list[Slot]]] = []
    for code, slots in table:
        if groups and groups[-1][1] == slots:
            groups[-1][0].append(code)
        else:
            groups.append(([code], list(slots)))
    return groups


# --- Open now? ------------------------------------------------------------------------------------------


def to_local(at: datetime) -> datetime:
    """``at`` in Europe/Berlin; a naive datetime is an error."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"an aware datetime is needed, got naive {at.isoformat()}")
    return at.astimezone(BERLIN)


class _Interval(NamedTuple):
    start: datetime  # UTC, so comparisons are exact across DST changes
    end: datetime
    attending_type: str


def _instant(day: date, t: time) -> datetime:
    return datetime.combine(day, t, tzinfo=BERLIN).astimezone(UTC)


def _merged(intervals: list[_Interval]) -> list[list[_Interval]]:
    """Overlapping or touching intervals grouped into blocks, in time order."""
    blocks: list[list[_Interval]] = []
    end: datetime | None = None
    for interval in sorted(intervals):
        if blocks and end is not None and interval.start <= end:
            blocks[-1].append(interval)
            end = max(end, interval.end)
        else:
            blocks.append([interval])
            end = interval.end
    return blocks


def _types(intervals: Iterable[_Interval]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(i.attending_type for i in intervals if i.attending_type))


def opening_state(schedules: Iterable[Schedule], at: datetime) -> OpeningState:
    """Whether the service is open at ``at``, until when, or when it opens next (up to SEARCH_DAYS ahead)."""
    local = to_local(at)
    now = local.astimezone(UTC)
    today = local.date()
    loaded = _Schedules(schedules)
    known = any(s.valid_to is None or s.valid_to >= today for s in loaded.slots)

    calendar = [loaded.day(today + timedelta(days=n)) for n in range(-1, SEARCH_DAYS + 1)]
    intervals = [
        _Interval(_instant(d.date, slot.opens), _instant(d.date, slot.closes), slot.attending_type)
        for d in calendar
        for slot in d.slots
    ]
    next_opening: _Interval | None = None
    for block in _merged(intervals):
        block_end = max(i.end for i in block)
        if block[0].start <= now < block_end:
            types = _types(i for i in block if i.start <= now < i.end)
            return OpeningState(
                is_open=True,
                known=known,
                closes_at=block_end.astimezone(BERLIN),
                attending_type=types[0] if types else None,
                attending_types=types,
            )
        if block[0].start > now:
            next_opening = block[0]
            break

    current = calendar[1]
    types = _types(i for i in intervals if next_opening and i.start == next_opening.start)
    return OpeningState(
        is_open=False,
        known=known,
        next_opening=next_opening.start.astimezone(BERLIN) if next_opening else None,
        attending_type=types[0] if types else None,
        attending_types=types,
        reason_closed=current.reason_closed,
        reason_detail=current.reason_detail,
        closure=current.closure,
    )


# --- Display helpers (data, not words) ------------------------------------------------------------------


def format_time(t: time) -> str:
    """9:00, 14:30 (German style: no leading zero on the hour)."""
    return f"{t.hour}:{t.minute:02d}"


def format_slot(opens: time, closes: time) -> str:
    """9:00–12:00 (en dash)."""
    return f"{format_time(opens)}–{format_time(closes)}"
