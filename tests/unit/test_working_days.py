"""Working days under a holiday calendar and the 20-working-day publication deadline (Art. 14)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from dualdraw.domain.working_days import (
    CalendarEnds,
    CalendarError,
    HolidayCalendar,
    load_calendar,
    parse_calendar,
    publication_deadline,
)

D = dt.date
CALENDARS = Path(__file__).resolve().parents[2] / "calendars"

# National Day 2026 as a calendar file would state it: Oct 1-7 off, Sat Oct 10 worked instead.
GOLDEN_WEEK = """
holidays: [2026-10-01, 2026-10-02, 2026-10-05, 2026-10-06, 2026-10-07]
working_weekends: [2026-10-10]
"""


def test_weekends_only_by_default() -> None:
    plain = HolidayCalendar()
    assert plain.add_working_days(D(2026, 11, 27), 1) == D(2026, 11, 30)  # Friday -> Monday
    assert publication_deadline(plain, D(2026, 11, 2)) == D(2026, 11, 30)  # four full weeks


def test_holidays_push_the_deadline_and_a_working_weekend_pulls_it_back() -> None:
    calendar = parse_calendar(GOLDEN_WEEK)
    assert not calendar.is_working_day(D(2026, 10, 1))
    assert calendar.is_working_day(D(2026, 10, 10))  # a Saturday, worked
    ended = D(2026, 9, 30)
    # 5 weekday holidays off, 1 Saturday on: 4 working days later than the plain count
    assert publication_deadline(HolidayCalendar(), ended) == D(2026, 10, 28)
    assert publication_deadline(calendar, ended) == D(2026, 11, 3)
    assert calendar.working_days_between(D(2026, 11, 3), D(2026, 11, 5)) == 2
    assert calendar.working_days_between(D(2026, 11, 5), D(2026, 11, 3)) == 0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("holidays: [2026-13-01]", "not a date"),
        ("working_weekends: [2026-10-09]", "not a Saturday or Sunday"),
        ("holidays: 2026-10-01", "expected a list"),
        ("holiday: []", "unknown keys"),
        ("[1, 2]", "expected a mapping"),
        ("holidays: [2026-10-10]\nworking_weekends: [2026-10-10]", "both"),
    ],
)
def test_bad_calendar_files_are_refused(text: str, message: str) -> None:
    with pytest.raises(CalendarError, match=message):
        parse_calendar(text)


def test_the_shipped_calendar_loads_and_is_json_or_yaml(tmp_path: Path) -> None:
    shipped = load_calendar(CALENDARS / "cn-holidays.yaml")
    assert D(2026, 10, 1) in shipped.holidays
    json_file = tmp_path / "cal.json"
    json_file.write_text('{"holidays": ["2026-10-01"], "working_weekends": []}', encoding="utf-8")
    assert load_calendar(json_file).holidays == frozenset({D(2026, 10, 1)})
    assert load_calendar(None) == HolidayCalendar()


def test_a_calendar_file_refuses_to_count_past_its_last_year() -> None:
    calendar = parse_calendar(GOLDEN_WEEK)
    assert calendar.last_year == 2026
    assert calendar.add_working_days(D(2026, 12, 1), 20) == D(2026, 12, 29)
    with pytest.raises(CalendarEnds) as caught:
        calendar.add_working_days(D(2026, 12, 15), 20)  # runs into 2027, whose holidays are not in the file
    assert caught.value.reason == "CALENDAR_ENDS"
    assert caught.value.metadata == {"last_year": "2026", "day": "2027-01-01"}
    with pytest.raises(CalendarEnds):
        calendar.working_days_between(D(2026, 12, 30), D(2027, 1, 4))
    assert HolidayCalendar().add_working_days(D(2030, 12, 15), 20) == D(2031, 1, 10)  # no file: weekends only


def test_the_shipped_calendar_agrees_with_chinesecalendar_for_every_year_both_cover() -> None:
    import chinese_calendar  # dev dependency (pyproject.toml): the calendar maintained from the notices

    shipped = load_calendar(CALENDARS / "cn-holidays.yaml")
    theirs = {d.year for d in chinese_calendar.constants.holidays} | {
        d.year for d in chinese_calendar.constants.workdays
    }
    ours = {d.year for d in shipped.holidays | shipped.working_weekends}
    both = sorted(ours & theirs)
    assert both, (
        f"no year in common: the file covers {sorted(ours)}, chinesecalendar {min(theirs)}..{max(theirs)}"
    )
    differences = []
    for year in both:
        day = D(year, 1, 1)
        while day.year == year:
            if shipped.is_working_day(day) != chinese_calendar.is_workday(day):
                ours_says = "working day" if shipped.is_working_day(day) else "day off"
                differences.append(f"{day}: the file says {ours_says}, chinesecalendar the opposite")
            day += dt.timedelta(days=1)
    assert not differences, differences
