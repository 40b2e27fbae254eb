"""Opening hours: is a service open now, when does it open next, what does its week look like.

Pure Python over Schedule instances that are already loaded (prefetch ``schedules`` in the view); nothing here
queries the database. A Schedule is either a weekly slot (``byday`` + ``opens_at``/``closes_at``, optionally
bounded by ``valid_from``/``valid_to``) or, with ``is_closed``, a closure of whole days from ``valid_from`` to
``valid_to`` (inclusive; one day when ``valid_to`` is empty; only the listed weekdays when ``byday`` is set).
NRW public holidays close every slot.

Times are local to Europe/Berlin. Functions taking a moment want an aware datetime (any time zone) and answer
in Europe/Berlin; naive datetimes are rejected, since guessing their zone would silently shift the hours.
Results are codes and data (weekday codes, attending types, :class:`ClosedReason`); the views word them.

The vocabulary of hours (weekday codes, attending types) is defined here and nowhere else; the Schedule model
uses it. So is the one text notation of hours the staff form, the spreadsheet import and the loader read
(:func:`parse_hours`, :func:`format_hours`): "Mo–Fr 9–12 Uhr, Di 14–17 Uhr nach Vereinbarung".
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import TYPE_CHECKING, NamedTuple
from zoneinfo import ZoneInfo

from django.db.models import TextChoices
from django.utils.translation import gettext as _
from holidays.countries.germany import Germany

from directory.translation import translate

if TYPE_CHECKING:
    from directory.models import Schedule

BERLIN = ZoneInfo("Europe/Berlin")


class Weekday(TextChoices):
    """iCalendar BYDAY codes, as HSDS schedule.byday uses them; Monday first, as date.weekday() counts."""

    MO = "MO", "Monday"
    TU = "TU", "Tuesday"
    WE = "WE", "Wednesday"
    TH = "TH", "Thursday"
    FR = "FR", "Friday"
    SA = "SA", "Saturday"
    SU = "SU", "Sunday"


class AttendingType(TextChoices):
    """How one comes to an opening (Schedule.attending_type)."""

    WALK_IN = "walk-in", "walk-in (no appointment needed)"
    APPOINTMENT = "appointment", "by appointment only"
    PHONE = "phone", "by phone"
    ONLINE = "online", "online"


# The weekday codes, indexed by date.weekday().
WEEKDAY_CODES: tuple[str, ...] = tuple(Weekday.values)
# Schedule.byday: weekday codes, comma-separated (the model's check constraint; the string its migration holds).
BYDAY = r"^({0})(,({0}))*$".format("|".join(WEEKDAY_CODES))
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
        # Each slot's days and times read once, not once per day asked about (a list asks 16 days of each card).
        self._read = [(s, _codes(s.byday), _as_slot(s)) for s in self.slots]
        self.closures = sorted(
            (s for s in loaded if s.is_closed and s.valid_from is not None),
            key=lambda s: (s.valid_from, s.valid_to or s.valid_from),
        )

    def regular(self, weekday: str, day: date | None = None) -> list[Slot]:
        """The slots on ``weekday``, sorted and without duplicates; only those valid on ``day`` if given."""
        return sorted(
            {slot for s, codes, slot in self._read if weekday in codes and (day is None or _valid_on(s, day))}
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

    # Day by day, and only until the answer: a slot opens and closes on one day, so no opening runs into the
    # next day and a day's blocks are final once read (a list of cards would otherwise read 16 days of each).
    current = loaded.day(today)
    next_opening: _Interval | None = None
    intervals: list[_Interval] = []
    for offset in range(-1, SEARCH_DAYS + 1):
        day = current if offset == 0 else loaded.day(today + timedelta(days=offset))
        intervals = [
            _Interval(_instant(day.date, slot.opens), _instant(day.date, slot.closes), slot.attending_type)
            for slot in day.slots
        ]
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
        if next_opening is not None:
            break

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


# --- Hours as editors write them ------------------------------------------------------------------------
# One notation for the staff form, the spreadsheet import and the loader: German or English day names,
# "Mo–Fr 9–12 Uhr, Di 14–17 Uhr nach Vereinbarung; geschlossen am 24.12.2026". Errors are worded in the
# active language (gettext), so each caller chooses the language its readers see.

# Lower-case day names and abbreviations (a trailing "." is dropped first) → weekday code.
DAY_NAMES: Mapping[str, str] = MappingProxyType(
    {
        **dict.fromkeys(("mo", "mon", "montag", "monday"), "MO"),
        **dict.fromkeys(("di", "die", "dienstag", "tu", "tue", "tues", "tuesday"), "TU"),
        **dict.fromkeys(("mi", "mittwoch", "we", "wed", "wednesday"), "WE"),
        **dict.fromkeys(("do", "don", "donnerstag", "th", "thu", "thur", "thurs", "thursday"), "TH"),
        **dict.fromkeys(("fr", "fri", "freitag", "friday"), "FR"),
        **dict.fromkeys(("sa", "sat", "samstag", "sonnabend", "saturday"), "SA"),
        **dict.fromkeys(("so", "sonntag", "su", "sun", "sunday"), "SU"),
    }
)
# How format_hours writes the days (German, as the offices in NRW write them).
DAY_ABBREVIATIONS: Mapping[str, str] = MappingProxyType(
    dict(zip(WEEKDAY_CODES, ("Mo", "Di", "Mi", "Do", "Fr", "Sa", "So"), strict=True))
)
# Lower-case words for how one comes → AttendingType value; also the spreadsheet's "Zugang" column.
ATTENDING_WORDS: Mapping[str, str] = MappingProxyType(
    {
        **{value: value for value in AttendingType.values},
        **dict.fromkeys(
            ("offene sprechstunde", "ohne termin", "ohne anmeldung", "walk in"), AttendingType.WALK_IN.value
        ),
        **dict.fromkeys(
            (
                "nach vereinbarung",
                "nach terminvereinbarung",
                "terminvereinbarung",
                "nach termin",
                "mit termin",
                "termin",
                "by appointment",
            ),
            AttendingType.APPOINTMENT.value,
        ),
        **dict.fromkeys(("telefonisch", "by phone"), AttendingType.PHONE.value),
    }
)
# How format_hours writes each attending type; every one of them is in ATTENDING_WORDS.
ATTENDING_TEXT: Mapping[str, str] = MappingProxyType(
    {
        AttendingType.WALK_IN.value: "offene Sprechstunde",
        AttendingType.APPOINTMENT.value: "nach Vereinbarung",
        AttendingType.PHONE.value: "telefonisch",
        AttendingType.ONLINE.value: "online",
    }
)
# Words that say nothing the notation needs ("Mo–Fr von 9 bis 12 Uhr").
_FILLER = frozenset(("von", "from", "uhr", "jeweils"))

_RANGE = re.compile(r"-|–|—|bis\b|to\b", re.IGNORECASE)
_LIST = re.compile(r",|/|&|\+|und\b|and\b", re.IGNORECASE)
_CLOCK = r"(\d{1,2})(?:[:.](\d{2}))?(?:\s*(?:uhr|h)\b)?"
_TIME_SPAN = re.compile(rf"{_CLOCK}\s*(?:{_RANGE.pattern})\s*{_CLOCK}", re.IGNORECASE)
_WORD = re.compile(r"[^\W\d_]+\.?")
_ATTENDING = re.compile(
    "|".join(re.escape(word) for word in sorted(ATTENDING_WORDS, key=len, reverse=True)) + r"(?!\w)", re.IGNORECASE
)
_CLOSED = re.compile(r"(?:geschlossen|closed)(?:\s+(?:am|vom|von|on|from)\b)?", re.IGNORECASE)
_DATE = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4}|\d{2}(?!\d))?|(\d{4})-(\d{2})-(\d{2})")
_TOKEN = re.compile(r"[^\s,;]+")


class HoursError(ValueError):
    """Hours that cannot be read; the message names the part (``part``) that could not be."""

    def __init__(self, message: str, part: str) -> None:
        super().__init__(message)
        self.part = part


@dataclass(frozen=True, order=True)
class WeeklySlot:
    """One weekly opening as a Schedule stores it: the days (``byday``, "MO,WE" in week order), times, and
    how one comes (an AttendingType value, or "" when not said)."""

    byday: str
    opens: time
    closes: time
    attending_type: str = ""

    @property
    def weekdays(self) -> list[str]:
        return self.byday.split(",")


@dataclass(frozen=True, order=True)
class Closure:
    """Whole days closed, from ``valid_from`` to ``valid_to`` (inclusive; one day when empty), as a Schedule
    with ``is_closed`` stores them."""

    valid_from: date
    valid_to: date | None = None


@dataclass(frozen=True)
class OpeningHours:
    """What a text of hours says: weekly slots and closures, each once, in the order written."""

    slots: tuple[WeeklySlot, ...] = ()
    closures: tuple[Closure, ...] = ()


def weekly_slot(byday: str, opens: time, closes: time, attending_type: str = "") -> WeeklySlot:
    """A slot from structured data (codes "MO,TU", times, attending type), checked like a parsed one."""
    codes = [code.strip().upper() for code in byday.split(",") if code.strip()]
    unknown = next((code for code in codes if code not in WEEKDAY_CODES), None)
    if unknown is not None or not codes:
        raise HoursError(
            _("“%(entry)s”: unknown day “%(part)s” (Mo, Di, Mi … or Mon, Tue, Wed …).")
            % {"entry": byday, "part": unknown or byday},
            byday,
        )
    if closes <= opens:
        span = format_slot(opens, closes)
        raise HoursError(_("“%(line)s”: the slot must close after it opens.") % {"line": span}, span)
    if attending_type and attending_type not in AttendingType.values:
        raise HoursError(
            _("“%(entry)s”: cannot read “%(part)s”.") % {"entry": attending_type, "part": attending_type},
            attending_type,
        )
    return WeeklySlot(_byday(codes), _naive(opens), _naive(closes), attending_type)


def _byday(codes: Iterable[str]) -> str:
    return ",".join(code for code in WEEKDAY_CODES if code in set(codes))


def parse_hours(text: str) -> OpeningHours:
    """The slots and closures in ``text``; entries are separated by ";", "," or new lines.

    Reads "Mo–Fr 9–12 Uhr", "Mon-Fri 09:00-12:00", "Montag bis Donnerstag: 08:30 – 12:00", "Mo, Mi 8–12 und 13–15",
    "Di 14:00–17:00 nach Vereinbarung" / "by appointment" / "offene Sprechstunde" / "walk-in" (the attending type of
    the slots it follows), "geschlossen am 24.12.2026" / "closed on 24.12.2026–31.12.2026". Raises
    :class:`HoursError` naming the part it cannot read. A closure needs its year: a Schedule closes given dates,
    it does not repeat every year.
    """
    slots: list[WeeklySlot] = []
    closures: list[Closure] = []
    for raw in re.split(r"[;\n\r]", text):
        entry = " ".join(raw.split())
        if entry:
            reader = _EntryReader(entry)
            reader.read()
            slots += reader.slots
            closures += reader.closures
    return OpeningHours(tuple(dict.fromkeys(slots)), tuple(dict.fromkeys(closures)))


class _EntryReader:
    """Reads one entry (text between ";" or new lines) left to right: days, then times, then how to come."""

    def __init__(self, entry: str) -> None:
        self.entry = entry
        self.pos = 0
        self.days: list[str] = []  # the days of the group being read
        self.spans: list[tuple[time, time]] = []
        self.attending = ""
        self.slots: list[WeeklySlot] = []
        self.closures: list[Closure] = []

    def error(self, message: str, part: str) -> HoursError:
        return HoursError(message % {"entry": self.entry, "part": part}, part)

    def match(self, pattern: re.Pattern[str]) -> re.Match[str] | None:
        found = pattern.match(self.entry, self.pos)
        if found:
            self.pos = found.end()
        return found

    def skip_space(self) -> None:
        while self.pos < len(self.entry) and self.entry[self.pos] in " :":  # the entry's spaces are single ones
            self.pos += 1

    def next_token(self) -> str:
        found = _TOKEN.match(self.entry, self.pos)
        return found[0] if found else self.entry[self.pos : self.pos + 1]

    def read(self) -> None:
        after_list = False  # whether "," "und" … came last: after times, a new group's days may follow
        while True:
            self.skip_space()
            if self.pos >= len(self.entry):
                break
            if self.match(_LIST):
                after_list = True
                continue
            if self.match(_CLOSED):
                self.skip_space()
                if self.days and not self.spans and not _DATE.match(self.entry, self.pos):
                    self.days, self.attending = [], ""  # "Sa, So geschlossen": no slots on those days
                    continue
                self.finish_group()
                self.read_closures()
            elif found := self.match(_ATTENDING):
                self.attending = ATTENDING_WORDS[" ".join(found[0].lower().split())]
            elif found := self.match(_TIME_SPAN):
                if not self.days:
                    raise self.error(_("“%(entry)s”: which days? Write e.g. “Mo–Fr 9–12 Uhr”."), found[0])
                self.spans.append(self.span(found))
            elif found := _WORD.match(self.entry, self.pos):
                word = found[0].rstrip(".").lower()
                if word in DAY_NAMES:
                    if self.spans:
                        self.finish_group()
                    self.read_days()
                elif word in _FILLER:
                    self.pos = found.end()
                elif not self.days or (self.spans and after_list):  # where days belong
                    raise self.error(
                        _("“%(entry)s”: unknown day “%(part)s” (Mo, Di, Mi … or Mon, Tue, Wed …)."), found[0]
                    )
                else:
                    raise self.error(_("“%(entry)s”: cannot read “%(part)s”."), found[0])
            elif self.entry[self.pos].isdigit():
                raise self.error(
                    _("“%(entry)s”: “%(part)s” is not a time span such as 9–12 or 14:00–17:30."), self.next_token()
                )
            else:
                raise self.error(_("“%(entry)s”: cannot read “%(part)s”."), self.next_token())
            after_list = False
        self.finish_group()

    def finish_group(self) -> None:
        if self.days and not self.spans:
            raise self.error(_("“%(entry)s”: which times? Write e.g. “Mo–Fr 9–12 Uhr”."), "")
        if self.attending and not self.days:
            raise self.error(_("“%(entry)s”: which days? Write e.g. “Mo–Fr 9–12 Uhr”."), "")
        byday = _byday(self.days)
        self.slots += [WeeklySlot(byday, opens, closes, self.attending) for opens, closes in self.spans]
        self.days, self.spans, self.attending = [], [], ""

    def read_days(self) -> None:
        """Days, ranges and lists of them: "Mo", "Mo–Fr", "Montag bis Donnerstag", "Mo, Mi und Fr"."""
        while True:
            start = self.pos
            first = self.day()
            codes = [first]
            after = self.pos
            self.skip_space()
            if self.match(_RANGE):
                self.skip_space()
                last = self.day()
                if WEEKDAY_CODES.index(last) < WEEKDAY_CODES.index(first):
                    part = self.entry[start : self.pos]
                    raise self.error(_("“%(entry)s”: “%(part)s” runs backwards."), part)
                codes = list(WEEKDAY_CODES[WEEKDAY_CODES.index(first) : WEEKDAY_CODES.index(last) + 1])
            else:
                self.pos = after
            self.days += [code for code in codes if code not in self.days]
            after = self.pos
            self.skip_space()
            if self.match(_LIST):
                self.skip_space()
                found = _WORD.match(self.entry, self.pos)
                if found and found[0].rstrip(".").lower() in DAY_NAMES:
                    continue
            self.pos = after
            return

    def day(self) -> str:
        found = _WORD.match(self.entry, self.pos)
        code = DAY_NAMES.get(found[0].rstrip(".").lower()) if found else None
        if found is None or code is None:
            raise self.error(
                _("“%(entry)s”: unknown day “%(part)s” (Mo, Di, Mi … or Mon, Tue, Wed …)."),
                found[0] if found else self.next_token(),
            )
        self.pos = found.end()
        return code

    def span(self, found: re.Match[str]) -> tuple[time, time]:
        opens = self.clock(found, 1)
        closes = self.clock(found, 3)
        if closes <= opens:
            message = _("“%(line)s”: the slot must close after it opens.") % {"line": found[0]}
            raise HoursError(message, found[0])
        return opens, closes

    def clock(self, found: re.Match[str], group: int) -> time:
        hour, minute = int(found[group]), int(found[group + 1] or 0)
        if not (0 <= hour <= 23 and 0 <= minute <= 59):
            text = found.string[found.start(group) : found.end(group + 1) if found[group + 1] else found.end(group)]
            raise HoursError(_("“%(time)s” is not a time of day.") % {"time": text}, text)
        return time(hour, minute)

    def read_closures(self) -> None:
        """Dates, ranges and lists of them after "geschlossen am" / "closed on"."""
        while True:
            self.skip_space()
            start = self.pos
            first = self.date()
            last: date | None = None
            after = self.pos
            self.skip_space()
            if self.match(_RANGE):
                self.skip_space()
                last = self.date()
                if last < first:
                    raise self.error(_("“%(entry)s”: “%(part)s” runs backwards."), self.entry[start : self.pos])
            else:
                self.pos = after
            self.closures.append(Closure(first, last if last != first else None))
            after = self.pos
            self.skip_space()
            if self.match(_LIST):
                self.skip_space()
                if _DATE.match(self.entry, self.pos):
                    continue
            self.pos = after
            return

    def date(self) -> date:
        found = self.match(_DATE)
        if found is None:
            raise self.error(_("“%(entry)s”: “%(part)s” is not a date."), self.next_token())
        if found[4]:
            year, month, day = int(found[4]), int(found[5]), int(found[6])
        elif found[3] is None:
            raise self.error(
                _("“%(entry)s”: the closure on %(part)s needs its year, e.g. 24.12.2026 (closures do not repeat)."),
                found[0],
            )
        else:
            year, month, day = int(found[3]) + (2000 if len(found[3]) == 2 else 0), int(found[2]), int(found[1])
        try:
            return date(year, month, day)
        except ValueError:
            raise self.error(_("“%(entry)s”: “%(part)s” is not a date."), found[0]) from None


def format_days(byday: str) -> str:
    """ "Mo–Fr", "Mo, Mi", "Mo–Mi, Fr": runs of three days or more as ranges, German abbreviations."""
    indexes = sorted(WEEKDAY_CODES.index(code) for code in byday.split(",") if code in WEEKDAY_CODES)
    runs: list[list[int]] = []
    for index in indexes:
        if runs and runs[-1][-1] == index - 1:
            runs[-1].append(index)
        else:
            runs.append([index])
    names = [DAY_ABBREVIATIONS[code] for code in WEEKDAY_CODES]
    parts: list[str] = []
    for run in runs:
        if len(run) >= 3:
            parts.append(f"{names[run[0]]}–{names[run[-1]]}")
        else:
            parts += [names[index] for index in run]
    return ", ".join(parts)


def format_closure(closure: Closure) -> str:
    """ "geschlossen am 24.12.2026", "geschlossen vom 24.12.2026 bis 31.12.2026"."""
    if closure.valid_to is None or closure.valid_to == closure.valid_from:
        return f"geschlossen am {closure.valid_from:%d.%m.%Y}"
    return f"geschlossen vom {closure.valid_from:%d.%m.%Y} bis {closure.valid_to:%d.%m.%Y}"


def format_hours(slots: Iterable[WeeklySlot], closures: Iterable[Closure] = ()) -> str:
    """One line per slot, then per closure, in the notation :func:`parse_hours` reads back to the same values:
    "Mo–Fr 9:00–12:00 offene Sprechstunde"."""

    def week_order(slot: WeeklySlot) -> tuple[list[int], time, time, str]:
        return [WEEKDAY_CODES.index(code) for code in slot.weekdays], slot.opens, slot.closes, slot.attending_type

    lines: list[tuple[str, list[str], str]] = []  # days, times, how to come: slots of one group share a line
    for slot in sorted(dict.fromkeys(slots), key=week_order):
        if lines and lines[-1][0] == slot.byday and lines[-1][2] == slot.attending_type:
            lines[-1][1].append(format_slot(slot.opens, slot.closes))
        else:
            lines.append((slot.byday, [format_slot(slot.opens, slot.closes)], slot.attending_type))
    written = [
        " ".join(part for part in (format_days(byday), ", ".join(times), ATTENDING_TEXT.get(kind, "")) if part)
        for byday, times, kind in lines
    ]
    return "\n".join([*written, *(format_closure(closure) for closure in sorted(dict.fromkeys(closures)))])
