"""Opening hours over unsaved Schedule instances, and the notation editors write them in: no database needed."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation

from directory.hours import (
    ATTENDING_TEXT,
    ATTENDING_WORDS,
    BERLIN,
    BYDAY,
    WEEKDAY_CODES,
    AttendingType,
    ClosedReason,
    Closure,
    HoursError,
    Slot,
    Weekday,
    WeeklySlot,
    days,
    format_hours,
    format_slot,
    group_days,
    holiday_name,
    opening_state,
    parse_hours,
    public_holidays,
    week,
    weekly_slot,
    weekly_table,
)
from directory.models import Schedule
from directory.notation import PhoneEntry, format_phones, parse_languages, parse_phones

WEEKDAYS = "MO,TU,WE,TH,FR"


def slot(byday: str, opens: str, closes: str, attending_type: str = "walk-in", **extra) -> Schedule:
    return Schedule(
        byday=byday,
        opens_at=time.fromisoformat(opens),
        closes_at=time.fromisoformat(closes),
        attending_type=attending_type,
        **extra,
    )


def closure(start: str, end: str | None = None, **extra) -> Schedule:
    return Schedule(
        is_closed=True,
        valid_from=date.fromisoformat(start),
        valid_to=date.fromisoformat(end) if end else None,
        **extra,
    )


def berlin(moment: str) -> datetime:
    return datetime.fromisoformat(moment).replace(tzinfo=BERLIN)


@pytest.fixture
def office() -> list[Schedule]:
    """Walk-in mornings, afternoons by appointment, on working days."""
    return [slot(WEEKDAYS, "09:00", "12:00"), slot(WEEKDAYS, "14:00", "16:00", "appointment")]


# --- Open now / next opening ----------------------------------------------------------------------------


def test_it_is_open_in_the_middle_of_a_slot(office):
    state = opening_state(office, berlin("2026-06-10T10:30"))  # a Wednesday

    assert state.is_open and state.known
    assert state.closes_at == berlin("2026-06-10T12:00")
    assert state.closes_at.tzinfo == BERLIN
    assert state.attending_type == "walk-in"
    assert state.next_opening is None and state.reason_closed is None


def test_it_is_open_at_the_opening_minute_and_closed_at_the_closing_minute(office):
    assert opening_state(office, berlin("2026-06-10T09:00")).is_open
    assert not opening_state(office, berlin("2026-06-10T12:00")).is_open


def test_it_is_closed_between_slots_and_opens_again_the_same_day(office):
    state = opening_state(office, berlin("2026-06-10T12:30"))

    assert not state.is_open and state.known
    assert state.next_opening == berlin("2026-06-10T14:00")
    assert state.attending_type == "appointment"
    assert state.closes_at is None and state.reason_closed is None


def test_it_opens_on_monday_after_a_friday_evening(office):
    state = opening_state(office, berlin("2026-06-12T18:00"))  # Friday

    assert not state.is_open
    assert state.next_opening == berlin("2026-06-15T09:00")
    assert state.attending_type == "walk-in"


def test_it_is_closed_on_a_sunday_without_slots(office):
    state = opening_state(office, berlin("2026-06-14T10:00"))

    assert not state.is_open and state.known
    assert state.reason_closed is None
    assert state.next_opening == berlin("2026-06-15T09:00")


def test_it_takes_aware_datetimes_in_any_time_zone(office):
    in_new_york = datetime(2026, 6, 10, 4, 30, tzinfo=ZoneInfo("America/New_York"))  # 10:30 in Berlin
    in_utc = datetime(2026, 6, 10, 8, 30, tzinfo=UTC)

    for moment in (in_new_york, in_utc):
        state = opening_state(office, moment)
        assert state.is_open
        assert state.closes_at == berlin("2026-06-10T12:00")


def test_it_rejects_a_naive_datetime(office):
    with pytest.raises(ValueError, match="aware"):
        opening_state(office, datetime(2026, 6, 10, 10, 30))
    with pytest.raises(ValueError, match="aware"):
        days(office, datetime(2026, 6, 10, 10, 30), 7)


# --- Holidays and closures ------------------------------------------------------------------------------


def test_it_knows_the_nrw_public_holidays():
    names = public_holidays(2026)

    assert names[date(2026, 6, 4)] == "Fronleichnam"
    assert names[date(2026, 11, 1)] == "Allerheiligen"
    assert date(2026, 12, 24) not in names
    assert holiday_name(date(2026, 6, 4), "en") == "Corpus Christi"
    assert holiday_name(date(2026, 6, 4), "ar") == "Fronleichnam"  # no Arabic names: German
    assert holiday_name(date(2026, 6, 5)) is None


def test_it_is_closed_on_christmas_day_and_opens_the_next_working_day(office):
    state = opening_state(office, berlin("2026-12-25T10:00"))  # Friday; Saturday is a holiday too

    assert not state.is_open and state.known
    assert state.reason_closed == ClosedReason.HOLIDAY == "holiday"
    assert state.reason_detail == "Erster Weihnachtstag"
    assert state.next_opening == berlin("2026-12-28T09:00")


def test_it_is_closed_on_easter_monday(office):
    state = opening_state(office, berlin("2026-04-06T10:00"))

    assert not state.is_open
    assert state.reason_closed == "holiday"
    assert state.reason_detail == "Ostermontag"
    assert state.next_opening == berlin("2026-04-07T09:00")


def test_it_skips_good_friday_the_weekend_and_easter_monday(office):
    state = opening_state(office, berlin("2026-04-02T17:00"))  # Maundy Thursday after hours

    assert state.reason_closed is None  # an ordinary evening
    assert state.next_opening == berlin("2026-04-07T09:00")


def test_it_is_closed_on_corpus_christi_which_nrw_keeps(office):
    state = opening_state(office, berlin("2026-06-04T10:00"))  # Thursday

    assert not state.is_open
    assert state.reason_detail == "Fronleichnam"
    assert state.next_opening == berlin("2026-06-05T09:00")


def test_it_is_closed_for_a_closure_spanning_days(office):
    move = closure("2026-07-20", "2026-07-31", notes="Umzug in die Hauptstraße 5")
    state = opening_state([*office, move], berlin("2026-07-22T10:00"))

    assert not state.is_open and state.known
    assert state.reason_closed == ClosedReason.CLOSURE
    assert state.reason_detail == "Umzug in die Hauptstraße 5"
    assert state.closure is move
    assert state.next_opening == berlin("2026-08-03T09:00")


def test_it_includes_both_ends_of_a_closure(office):
    move = closure("2026-07-20", "2026-07-31")

    assert opening_state([*office, move], berlin("2026-07-20T10:00")).reason_closed == "closure"
    assert opening_state([*office, move], berlin("2026-07-31T10:00")).reason_closed == "closure"
    assert opening_state([*office, move], berlin("2026-07-17T10:00")).is_open
    assert opening_state([*office, move], berlin("2026-08-03T10:00")).is_open


def test_it_closes_a_single_day_and_describes_it_from_the_description(office):
    outing = closure("2026-06-10", description={"de": "Betriebsausflug"})
    state = opening_state([*office, outing], berlin("2026-06-10T10:00"))

    assert not state.is_open
    assert state.reason_detail == "Betriebsausflug"
    assert state.next_opening == berlin("2026-06-11T09:00")


def test_it_names_the_holiday_or_the_closure_when_both_apply(office):
    silent = closure("2026-12-24", "2026-12-31")
    noted = closure("2026-12-24", "2026-12-31", notes="Betriebsferien")
    christmas = berlin("2026-12-25T10:00")

    state = opening_state([*office, silent], christmas)
    assert (state.reason_closed, state.reason_detail, state.closure) == ("holiday", "Erster Weihnachtstag", silent)
    state = opening_state([*office, noted], christmas)
    assert (state.reason_closed, state.reason_detail, state.closure) == ("closure", "Betriebsferien", noted)
    assert opening_state([*office, silent], berlin("2026-12-28T10:00")).reason_closed == "closure"
    # Reopens after the closure, New Year's Day (a Friday) and the weekend.
    assert opening_state([*office, noted], christmas).next_opening == berlin("2027-01-04T09:00")


def test_it_gives_no_next_opening_beyond_two_weeks(office):
    long_closure = closure("2026-07-01", "2026-08-31")
    state = opening_state([*office, long_closure], berlin("2026-07-06T10:00"))

    assert not state.is_open and state.known
    assert state.next_opening is None and state.attending_type is None
    assert state.reason_closed == "closure"


def test_it_finds_an_opening_fourteen_days_ahead():
    monthly = [slot("MO", "09:00", "12:00", valid_from=date(2026, 6, 22))]

    assert opening_state(monthly, berlin("2026-06-08T10:00")).next_opening == berlin("2026-06-22T09:00")
    assert opening_state(monthly, berlin("2026-06-07T10:00")).next_opening is None


# --- Validity, overlaps, missing data -------------------------------------------------------------------


def test_it_applies_seasonal_slots_only_inside_their_dates():
    winter = slot("MO", "09:00", "12:00", valid_to=date(2026, 3, 31))
    summer = slot("MO", "08:00", "11:00", valid_from=date(2026, 4, 1))
    schedules = [winter, summer]

    before = opening_state(schedules, berlin("2026-03-30T08:30"))
    assert not before.is_open
    assert before.next_opening == berlin("2026-03-30T09:00")

    after = opening_state(schedules, berlin("2026-04-13T08:30"))
    assert after.is_open
    assert after.closes_at == berlin("2026-04-13T11:00")

    # The season changes in between; Easter Monday (6 April) is skipped.
    assert opening_state(schedules, berlin("2026-03-31T18:00")).next_opening == berlin("2026-04-13T08:00")


def test_it_merges_overlapping_slots_while_open():
    schedules = [slot("WE", "09:00", "12:00"), slot("WE", "11:00", "14:00", "appointment")]

    state = opening_state(schedules, berlin("2026-06-10T10:00"))
    assert state.closes_at == berlin("2026-06-10T14:00")
    assert state.attending_types == ("walk-in",)

    both = opening_state(schedules, berlin("2026-06-10T11:30"))
    assert both.attending_type == "walk-in"
    assert both.attending_types == ("walk-in", "appointment")


def test_it_merges_slots_that_touch():
    schedules = [slot("WE", "09:00", "12:00"), slot("WE", "12:00", "13:00", "phone")]

    state = opening_state(schedules, berlin("2026-06-10T10:00"))
    assert state.closes_at == berlin("2026-06-10T13:00")
    assert opening_state(schedules, berlin("2026-06-10T12:30")).attending_type == "phone"


def test_it_does_not_know_the_hours_without_slots():
    for schedules in ([], [closure("2026-07-20")], [slot("MO", "09:00", "12:00", valid_to=date(2026, 1, 31))]):
        state = opening_state(schedules, berlin("2026-06-10T10:00"))
        assert not state.known
        assert not state.is_open
        assert state.next_opening is None and state.closes_at is None


def test_it_ignores_incomplete_slots():
    broken = [
        slot("MO", "12:00", "09:00"),
        slot("", "09:00", "12:00"),
        Schedule(byday="MO", opens_at=time(9)),
        Schedule(is_closed=True),  # a closure without dates
    ]
    assert not opening_state(broken, berlin("2026-06-08T10:00")).known
    assert weekly_table(broken) == [(code, []) for code in ("MO", "TU", "WE", "TH", "FR", "SA", "SU")]


def test_it_reads_a_slot_without_attending_type():
    state = opening_state([slot("WE", "09:00", "12:00", "")], berlin("2026-06-10T10:00"))

    assert state.is_open
    assert state.attending_type is None and state.attending_types == ()


def test_it_closes_only_the_listed_weekdays_of_a_closure_with_byday(office):
    mondays_in_july = closure("2026-07-01", "2026-07-31", byday="MO")

    assert opening_state([*office, mondays_in_july], berlin("2026-07-13T10:00")).reason_closed == "closure"
    assert opening_state([*office, mondays_in_july], berlin("2026-07-14T10:00")).is_open


# --- Daylight saving time -------------------------------------------------------------------------------


def test_it_keeps_local_hours_on_the_day_summer_time_starts():
    sunday = [slot("SU", "09:00", "12:00")]  # 29 March 2026: clocks go from 2:00 to 3:00

    state = opening_state(sunday, datetime(2026, 3, 29, 8, 30, tzinfo=UTC))  # 10:30 CEST
    assert state.is_open
    assert state.closes_at == datetime(2026, 3, 29, 10, 0, tzinfo=UTC)
    assert (state.closes_at.hour, state.closes_at.utcoffset()) == (12, timedelta(hours=2))

    early = opening_state(sunday, datetime(2026, 3, 29, 6, 30, tzinfo=UTC))  # 8:30 CEST
    assert not early.is_open
    assert early.next_opening == datetime(2026, 3, 29, 7, 0, tzinfo=UTC)

    saturday_noon = berlin("2026-03-28T12:00")  # CET: 20 real hours until Sunday 9:00 CEST
    next_opening = opening_state(sunday, saturday_noon).next_opening
    assert next_opening is not None
    assert next_opening.astimezone(UTC) - saturday_noon.astimezone(UTC) == timedelta(hours=20)


def test_it_keeps_local_hours_on_the_day_summer_time_ends():
    sunday = [slot("SU", "09:00", "12:00")]  # 25 October 2026: clocks go from 3:00 back to 2:00

    state = opening_state(sunday, datetime(2026, 10, 25, 9, 30, tzinfo=UTC))  # 10:30 CET
    assert state.is_open
    assert state.closes_at == datetime(2026, 10, 25, 11, 0, tzinfo=UTC)
    assert not opening_state(sunday, datetime(2026, 10, 25, 7, 30, tzinfo=UTC)).is_open  # 8:30 CET


# --- Weeks ----------------------------------------------------------------------------------------------


def test_it_shows_a_week_across_christmas(office):
    days_ = week(office, date(2026, 12, 21))

    assert [d.date for d in days_] == [date(2026, 12, 21) + timedelta(days=n) for n in range(7)]
    assert [d.weekday for d in days_] == ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
    morning, afternoon = Slot(time(9), time(12), "walk-in"), Slot(time(14), time(16), "appointment")
    assert days_[3].slots == [morning, afternoon]  # 24 December is a working day in NRW
    assert days_[3].reason_closed is None and days_[3].is_open

    christmas = days_[4]
    assert christmas.slots == [] and not christmas.is_open
    assert christmas.regular_slots == [morning, afternoon]
    assert christmas.holiday == "Erster Weihnachtstag"
    assert christmas.reason_closed == "holiday" and christmas.reason_detail == "Erster Weihnachtstag"
    assert days_[5].holiday == "Zweiter Weihnachtstag"
    assert days_[6].slots == [] and days_[6].reason_closed is None


def test_it_shows_closures_and_seasons_in_the_days():
    schedules = [
        slot("MO,TU", "09:00", "12:00", valid_to=date(2026, 6, 30)),
        slot("MO,TU", "10:00", "12:00", valid_from=date(2026, 7, 1)),
        closure("2026-07-07", notes="Fortbildung"),
    ]
    two_weeks = days(schedules, date(2026, 6, 29), 14)

    assert len(two_weeks) == 14
    assert two_weeks[0].slots == [Slot(time(9), time(12), "walk-in")]  # Monday 29 June
    assert two_weeks[7].slots == [Slot(time(10), time(12), "walk-in")]  # Monday 6 July
    assert two_weeks[8].slots == [] and two_weeks[8].reason_detail == "Fortbildung"
    assert two_weeks[8].closure is schedules[2]
    assert days(schedules, date(2026, 6, 29), 0) == []


def test_it_sorts_and_deduplicates_slots():
    schedules = [slot("WE", "14:00", "16:00"), slot("MO,WE", "09:00", "12:00"), slot("WE", "09:00", "12:00")]

    assert week(schedules, date(2026, 6, 8))[2].slots == [
        Slot(time(9), time(12), "walk-in"),
        Slot(time(14), time(16), "walk-in"),
    ]


def test_it_gives_the_usual_week_monday_first():
    schedules = [
        slot("SA", "10:00", "12:00"),
        slot(WEEKDAYS, "09:00", "12:00"),
        slot("MO", "08:00", "09:00", valid_to=date(2026, 1, 31)),
    ]
    table = weekly_table(schedules)

    assert [code for code, _ in table] == ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
    assert table[0][1] == [Slot(time(8), time(9), "walk-in"), Slot(time(9), time(12), "walk-in")]
    assert table[5][1] == [Slot(time(10), time(12), "walk-in")]
    assert table[6][1] == []
    assert weekly_table(schedules, on=date(2026, 6, 1))[0][1] == [Slot(time(9), time(12), "walk-in")]

    groups = group_days(weekly_table(schedules, on=date(2026, 6, 1)))
    assert [(codes, len(slots)) for codes, slots in groups] == [
        (["MO", "TU", "WE", "TH", "FR"], 1),
        (["SA"], 1),
        (["SU"], 0),
    ]


def test_it_formats_a_slot():
    assert format_slot(time(9), time(12)) == "9:00–12:00"
    assert format_slot(time(14, 30), time(16, 5)) == "14:30–16:05"


# --- The notation editors write (staff form, spreadsheet, loader) --------------------------------------------


def read(text: str) -> list[tuple[str, str, str, str]]:
    return [(s.byday, f"{s.opens:%H:%M}", f"{s.closes:%H:%M}", s.attending_type) for s in parse_hours(text).slots]


WORKDAYS = "MO,TU,WE,TH,FR"


@pytest.mark.parametrize(
    ("text", "slots"),
    [
        ("Mo–Fr 9–12 Uhr", [(WORKDAYS, "09:00", "12:00", "")]),
        ("Mo-Fr 09:00-12:00; Di 14-16 Uhr", [(WORKDAYS, "09:00", "12:00", ""), ("TU", "14:00", "16:00", "")]),
        ("Di 14:00–17:00", [("TU", "14:00", "17:00", "")]),
        ("Mo, Mi 8–12 und 13–15", [("MO,WE", "08:00", "12:00", ""), ("MO,WE", "13:00", "15:00", "")]),
        ("Mo, Mi 9-12 Uhr, 13.30-15 Uhr", [("MO,WE", "09:00", "12:00", ""), ("MO,WE", "13:30", "15:00", "")]),
        ("Montag bis Donnerstag: 08:30 – 12:00", [("MO,TU,WE,TH", "08:30", "12:00", "")]),
        ("Sa 10:00-13:00\nSo 11-12", [("SA", "10:00", "13:00", ""), ("SU", "11:00", "12:00", "")]),
        ("Di 09.30–12 Uhr", [("TU", "09:30", "12:00", "")]),
        ("Mo/Mi/Fr 9-12", [("MO,WE,FR", "09:00", "12:00", "")]),
        ("Mo und Do von 9 bis 12 Uhr", [("MO,TH", "09:00", "12:00", "")]),
        ("Dienstag, Mittwoch 9:30-12", [("TU,WE", "09:30", "12:00", "")]),
        ("Mon–Fri 9:00–12:00", [(WORKDAYS, "09:00", "12:00", "")]),
        ("Monday, Wednesday and Friday 9 to 12", [("MO,WE,FR", "09:00", "12:00", "")]),
        ("Tue 14-17, Thu 14-17", [("TU", "14:00", "17:00", ""), ("TH", "14:00", "17:00", "")]),
        ("MO-TH 08:30-12:00 walk-in\nTH 14:00-17:30 appointment", [
            ("MO,TU,WE,TH", "08:30", "12:00", "walk-in"), ("TH", "14:00", "17:30", "appointment")
        ]),
        ("Mo–Fr 9–12 Uhr, Di 14–17 Uhr nach Vereinbarung", [
            (WORKDAYS, "09:00", "12:00", ""), ("TU", "14:00", "17:00", "appointment")
        ]),
        ("Do 14-18 nach Terminvereinbarung", [("TH", "14:00", "18:00", "appointment")]),
        ("Thu 14-18 by appointment", [("TH", "14:00", "18:00", "appointment")]),
        ("Mo 9-12 offene Sprechstunde", [("MO", "09:00", "12:00", "walk-in")]),
        ("Mo 9-12 ohne Termin, 14-16 Uhr", [("MO", "09:00", "12:00", "walk-in"), ("MO", "14:00", "16:00", "walk-in")]),
        ("Mon 9-12 walk-in", [("MO", "09:00", "12:00", "walk-in")]),
        ("Mo 9-12, Sa, So geschlossen", [("MO", "09:00", "12:00", "")]),
        ("Mo-Fr 9-12; Mo-Fr 9-12", [(WORKDAYS, "09:00", "12:00", "")]),
    ],
)  # fmt: skip
def test_it_reads_hours_as_editors_write_them(text, slots):
    assert read(text) == slots


def test_it_reads_closures_with_their_dates():
    hours = parse_hours("Mo-Fr 9-12; geschlossen am 24.12.2026 und 31.12.2026\nclosed on 27.07.2026–07.08.2026")
    assert read("Mo-Fr 9-12") == [(s.byday, f"{s.opens:%H:%M}", f"{s.closes:%H:%M}", "") for s in hours.slots]
    assert hours.closures == (
        Closure(date(2026, 12, 24)),
        Closure(date(2026, 12, 31)),
        Closure(date(2026, 7, 27), date(2026, 8, 7)),
    )


@pytest.mark.parametrize(
    ("text", "part", "message"),
    [
        ("Mox 9-12", "Mox", "„Mox 9-12“: unbekannter Tag „Mox“"),
        ("Montags 9 bis 12", "Montags", "„Montags 9 bis 12“: unbekannter Tag „Montags“"),
        ("Mo–Fr 9–12 Uhr, Dx 14–17", "Dx", "„Mo–Fr 9–12 Uhr, Dx 14–17“: unbekannter Tag „Dx“"),
        ("Mo 9-12 walkin", "walkin", "„Mo 9-12 walkin“: „walkin“ kann nicht gelesen werden."),
        ("Montag früh", "früh", "„Montag früh“: „früh“ kann nicht gelesen werden."),
        ("Mo 9", "9", "„Mo 9“: „9“ ist keine Zeitspanne"),
        ("Mo", "", "„Mo“: Zu welchen Uhrzeiten?"),
        ("09:00-12:00", "09:00-12:00", "„09:00-12:00“: An welchen Tagen?"),
        ("nach Vereinbarung", "", "„nach Vereinbarung“: An welchen Tagen?"),
        ("Fr-Mo 9-12", "Fr-Mo", "„Fr-Mo 9-12“: „Fr-Mo“ läuft rückwärts."),
        ("Mo 25:00-26:00", "25:00", "„25:00“ ist keine Uhrzeit."),
        ("Mo 12-9", "12-9", "„12-9“: Das Ende muss nach dem Beginn liegen."),
        ("Mo 9-9", "9-9", "„9-9“: Das Ende muss nach dem Beginn liegen."),
        ("geschlossen am 24.12.", "24.12.", "„geschlossen am 24.12.“: Der Schließtag 24.12. braucht die Jahreszahl"),
        ("geschlossen am 30.02.2026", "30.02.2026", "„geschlossen am 30.02.2026“: „30.02.2026“ ist kein Datum."),
        ("closed on 31.12.2026-24.12.2026", "31.12.2026-24.12.2026", "„closed on 31.12.2026-24.12.2026“: „31.12"),
    ],
)
def test_it_names_the_part_it_cannot_read(text, part, message):
    with translation.override("de"), pytest.raises(HoursError) as raised:
        parse_hours(text)
    assert raised.value.part == part
    assert str(raised.value).startswith(message)


def test_it_words_its_errors_in_the_active_language():
    with translation.override("en"), pytest.raises(HoursError, match="“Mox 9-12”: unknown day “Mox”"):
        parse_hours("Mox 9-12")


@pytest.mark.parametrize(
    "text",
    [
        "Mo–Fr 9–12 Uhr, Di 14–17 Uhr nach Vereinbarung",
        "Mo, Mi 8–12 und 13–15 offene Sprechstunde; Sa 10-12 telefonisch; So 18-19 online",
        "Mo, Di, Do 7:45-8:15; Fr–So 9-12 by appointment; geschlossen am 24.12.2026; closed 27.07.2026-07.08.2026",
    ],
)
def test_formatted_hours_read_back_to_the_same_slots(text):
    hours = parse_hours(text)
    written = format_hours(hours.slots, hours.closures)
    again = parse_hours(written)
    assert set(again.slots) == set(hours.slots) and set(again.closures) == set(hours.closures)
    assert format_hours(again.slots, again.closures) == written


def test_it_formats_hours_in_the_notation_editors_write():
    hours = parse_hours(
        "MO,TU,WE,TH,FR 09:00-12:00 walk-in\nMO,WE 13:00-15:00; MO,WE 15:30-16:00; TU 14-17 appointment"
    )
    assert format_hours(hours.slots) == (
        "Mo–Fr 9:00–12:00 offene Sprechstunde\nMo, Mi 13:00–15:00, 15:30–16:00\nDi 14:00–17:00 nach Vereinbarung"
    )


def test_structured_slots_use_the_same_codes_and_checks():
    assert weekly_slot("fr, mo", time(9), time(12), "walk-in") == WeeklySlot("MO,FR", time(9), time(12), "walk-in")
    for byday, opens, closes in [("MX", time(9), time(12)), ("", time(9), time(12)), ("MO", time(12), time(9))]:
        with pytest.raises(HoursError):
            weekly_slot(byday, opens, closes)


def test_the_weekday_codes_are_the_models():
    assert WEEKDAY_CODES == ("MO", "TU", "WE", "TH", "FR", "SA", "SU") == tuple(Weekday.values)
    assert BYDAY == r"^(MO|TU|WE|TH|FR|SA|SU)(,(MO|TU|WE|TH|FR|SA|SU))*$", "the string migration 0001 holds"
    assert set(ATTENDING_TEXT) == set(AttendingType.values)
    assert all(ATTENDING_WORDS[text.lower()] == kind for kind, text in ATTENDING_TEXT.items())


# --- Phone and language lists (directory.notation) ------------------------------------------------------------


def test_it_reads_phone_lists_in_both_notations():
    assert parse_phones("0201 88-0;  0201  88-1\n0201 88-2; fax; 12\n0201 88-0") == [
        PhoneEntry("0201 88-0"),
        PhoneEntry("0201 88-1"),
        PhoneEntry("0201 88-2", "fax", "12"),
    ]
    phones = [PhoneEntry("0201 88-0", "voice"), PhoneEntry("0201 88-2", "fax", "12")]
    assert parse_phones(format_phones(phones)) == phones


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ruf mich an", "„ruf mich an“ ist keine Telefonnummer."),
        ("0201 1; 0201 2; Faxx", "Unbekannter Telefontyp „Faxx“"),
        ("0201 1; fax; 12345678901", "Eine Durchwahl besteht aus 1 bis 10 Ziffern (0–9)."),
        ("0201 1; fax; 1; 2", "„0201 1; fax; 1; 2“: Schreiben Sie „Nummer; Typ; Durchwahl“."),
        ("0" + "1" * 40, "ist keine Telefonnummer."),
        ("\n".join(f"0201 {n:04}" for n in range(21)), "Höchstens 20 Telefonnummern."),
    ],
)
def test_it_refuses_phone_lists_it_cannot_read(text, message):
    with translation.override("de"), pytest.raises(ValueError) as raised:
        parse_phones(text)
    assert message in str(raised.value)


def test_it_reads_language_lists():
    assert parse_languages("DE, ar; tr\nuk / fa de") == ["de", "ar", "tr", "uk", "fa"]
    for text in ("deutsch", "de, d", " ".join(f"a{chr(97 + n // 26)}{chr(97 + n % 26)}" for n in range(31))):
        with pytest.raises(ValueError):
            parse_languages(text)
