"""Opening hours over unsaved Schedule instances: no database needed."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from directory.hours import (
    BERLIN,
    ClosedReason,
    Slot,
    days,
    format_slot,
    group_days,
    holiday_name,
    opening_state,
    public_holidays,
    week,
    weekly_table,
)
from directory.models import Schedule

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
