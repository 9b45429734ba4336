"""The anniversary engine: the directive's ordinals, any year, and the date math's edges."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calendar_service.anniversaries import (
    anniversary_date,
    is_round,
    lead_days,
    next_occurrence,
    occurrence_in,
    occurrences,
    origin_days_between,
    round_rank,
)
from calendar_service.catalogue import Commemoration, load_catalogue
from calendar_service.catalogue.model import designations_of
from tests.conftest import EVENTS_2024


@pytest.fixture(scope="module")
def commemorations():
    return load_catalogue([EVENTS_2024]).commemorations


def make(ident="x", origin=date(1954, 5, 7), year_only=None, observances=(), designated=()):
    return Commemoration(
        id=ident, title="Sự kiện", category="victory",
        origin_year=year_only or origin.year,
        origin_month=None if year_only else origin.month,
        origin_day=None if year_only else origin.day,
        description="Mô tả.", source="Nguồn",
        observances=tuple(observances), designations=designations_of(designated, year_only or origin.year))


def test_2024_gives_the_directives_ordinals(commemorations):
    found = occurrences(commemorations, date(2024, 1, 1), date(2024, 12, 31))
    assert len(found) == 12
    by_id = {o.id: o for o in found}
    assert sorted(o.ordinal for o in found) == sorted(
        [110, 120, 120, 120, 70, 120, 70, 50, 120, 80, 35, 110])
    assert all(o.designated for o in found)
    dbp = by_id["dien-bien-phu"]
    assert (dbp.date, dbp.ordinal, dbp.title) == (
        date(2024, 5, 7), 70, "Kỷ niệm 70 năm Chiến thắng Điện Biên Phủ")
    thu = by_id["me-nguyen-thi-thu"]
    assert (thu.date, thu.observed, thu.ordinal) == (date(2024, 7, 27), True, 120)
    hue = by_id["huynh-ngoc-hue"]
    assert (hue.date, hue.to_be_decided, hue.ordinal) == (None, True, 110)
    # Dated ones in date order, the undecided one last.
    assert found[-1].id == "huynh-ngoc-hue"
    dated = [o.date for o in found if o.date]
    assert dated == sorted(dated)


def test_the_service_is_useful_after_2024(commemorations):
    found = occurrences(commemorations, date(2026, 11, 27), date(2026, 12, 31),
                        include_undated=False)
    assert [(o.id, o.date, o.ordinal, o.designated) for o in found] == [
        ("quan-doi-nhan-dan-viet-nam", date(2026, 12, 22), 82, False),
        ("quoc-phong-toan-dan", date(2026, 12, 22), 37, False),
    ]


def test_2029_dien_bien_phu_is_a_round_75th(commemorations):
    found = {o.id: o for o in occurrences(commemorations, date(2029, 1, 1), date(2029, 12, 31))}
    dbp = found["dien-bien-phu"]
    assert (dbp.ordinal, dbp.is_round, dbp.round_rank, dbp.designated) == (75, True, 1, False)
    army = found["quan-doi-nhan-dan-viet-nam"]
    assert (army.ordinal, army.round_rank) == (85, 1)
    assert (found["quoc-phong-toan-dan"].ordinal, found["quoc-phong-toan-dan"].round_rank) == (40, 2)
    assert (found["nguyen-chi-thanh"].ordinal, found["nguyen-chi-thanh"].is_round) == (115, True)


def test_round_ranks():
    assert [round_rank(n) for n in (1, 5, 10, 35, 70, 71, 75, 100)] == [0, 1, 2, 1, 2, 0, 1, 2]


def test_leap_day_origin_is_observed_on_28_february_in_common_years():
    c = make(origin=date(1960, 2, 29))
    common = occurrence_in(c, 2023)
    leap = occurrence_in(c, 2024)
    assert (common.date, common.shifted) == (date(2023, 2, 28), True)
    assert (leap.date, leap.shifted) == (date(2024, 2, 29), False)
    assert [o.year for o in occurrences([c], date(2023, 2, 28), date(2023, 2, 28))] == [2023]


def test_ordinal_zero_and_earlier_years_are_not_anniversaries():
    c = make(origin=date(1954, 5, 7))
    assert occurrence_in(c, 1954) is None
    assert occurrence_in(c, 1900) is None
    assert occurrences([c], date(1954, 1, 1), date(1955, 12, 31))[0].ordinal == 1


def test_year_only_never_invents_a_day():
    c = make(year_only=1914, observances=[(2024, date(2024, 8, 9))])
    assert occurrence_in(c, 2024).date == date(2024, 8, 9)
    assert occurrence_in(c, 2025).date is None
    # An undated occurrence is listed for each year the range touches, unless asked not to.
    assert [o.year for o in occurrences([c], date(2025, 12, 1), date(2026, 1, 31))] == [2025, 2026]
    assert occurrences([c], date(2025, 12, 1), date(2026, 1, 31), include_undated=False) == []
    # With an observance outside the range, the year is not "undecided": it is elsewhere.
    assert occurrences([c], date(2024, 1, 1), date(2024, 6, 30)) == []


def test_next_occurrence(commemorations):
    by_id = {c.id: c for c in commemorations}
    assert next_occurrence(by_id["dien-bien-phu"], date(2026, 11, 27)).date == date(2027, 5, 7)
    assert next_occurrence(by_id["dien-bien-phu"], date(2027, 5, 7)).date == date(2027, 5, 7)
    assert next_occurrence(by_id["quan-doi-nhan-dan-viet-nam"],
                           date(2026, 11, 27)).ordinal == 82


# --- Properties of the date math -------------------------------------------------------

origins = st.dates(min_value=date(1800, 1, 1), max_value=date(2100, 12, 31))
years = st.integers(min_value=1801, max_value=2200)


@given(origin=origins, year=years)
def test_anniversary_keeps_month_and_day_except_29_february(origin, year):
    d = anniversary_date(origin.month, origin.day, year)
    assert d.year == year and d.month == origin.month
    if (origin.month, origin.day) == (2, 29) and not calendar.isleap(year):
        assert d.day == 28
    else:
        assert d.day == origin.day


@given(origin=origins, start=st.dates(min_value=date(1800, 1, 1), max_value=date(2200, 1, 1)),
       length=st.integers(min_value=0, max_value=3 * 366))
@settings(max_examples=300)
def test_occurrences_lie_in_range_once_per_year_with_the_right_ordinal(origin, start, length):
    end = start + timedelta(days=length)
    found = occurrences([make(origin=origin)], start, end)
    assert all(start <= o.date <= end for o in found)
    assert len({o.year for o in found}) == len(found)
    assert all(o.ordinal == o.year - origin.year >= 1 for o in found)
    # Nothing is missed: every year in range after the origin year contributes if its day is in.
    expected = [y for y in range(start.year, end.year + 1) if y > origin.year
                and start <= anniversary_date(origin.month, origin.day, y) <= end]
    assert [o.year for o in found] == expected


@given(origin=origins, start=st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 1, 1)),
       first=st.integers(min_value=0, max_value=400), second=st.integers(min_value=1, max_value=400))
def test_splitting_a_range_splits_its_occurrences(origin, start, first, second):
    c = [make(origin=origin)]
    middle = start + timedelta(days=first)
    end = middle + timedelta(days=second)
    whole = occurrences(c, start, end)
    parts = occurrences(c, start, middle) + occurrences(c, middle + timedelta(days=1), end)
    assert whole == parts


ORIGIN_DAYS = [(d.month, d.day) for d in (date(2000, 1, 1) + timedelta(days=i) for i in range(366))]


@given(st.dates(min_value=date(1901, 1, 1), max_value=date(2199, 1, 1)),
       st.integers(min_value=0, max_value=800))
def test_origin_days_between_are_exactly_the_origins_that_fall_in_the_range(start, length):
    end = start + timedelta(days=length)
    intervals = origin_days_between(start, end)
    for month, day in ORIGIN_DAYS:
        inside = any(first <= (month, day) <= last for first, last in intervals)
        falls = any(start <= anniversary_date(month, day, year) <= end
                    for year in range(start.year, end.year + 1))
        assert inside == falls, (month, day, start, end)


def test_29_february_falls_on_28_february_of_a_common_year():
    assert origin_days_between(date(2023, 2, 28), date(2023, 2, 28)) == [((2, 28), (2, 29))]
    assert origin_days_between(date(2024, 2, 28), date(2024, 2, 28)) == [((2, 28), (2, 28))]
    assert origin_days_between(date(2023, 3, 1), date(2023, 3, 1)) == [((3, 1), (3, 1))]


def test_round_years_get_the_longer_lead_times():
    c = make()
    assert [is_round(n) for n in (5, 10, 15, 70, 71, 74)] == [True] * 4 + [False] * 2
    assert lead_days(c, 70) == c.category_info.lead_days_round
    assert lead_days(c, 71) == c.category_info.lead_days
    own = Commemoration(**{**{f: getattr(c, f) for f in c.__dataclass_fields__},
                           "lead_days": (3,)})
    assert lead_days(own, 70) == lead_days(own, 71) == (3,)
