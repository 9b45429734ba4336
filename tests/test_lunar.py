"""Lunar dates (issue 12, section 2): the Vietnamese lunar calendar at UTC+7, lunar origins in
the catalogue, the engine's rule for a missing lunar day, and every output that shows them."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calendar_service import lunar
from calendar_service.anniversaries import (
    iter_occurrences,
    lunar_anniversary,
    next_occurrence,
    occurrence_in,
    occurrences,
)
from calendar_service.catalogue import CatalogueError, LunarDay, load_catalogue, load_text
from calendar_service.vietnamese import long_date, lunar_label, official_date
from tests.conftest import ROOT

FIXTURE = ROOT / "tests" / "fixtures" / "lunar.toml"


# --- The calendar ---------------------------------------------------------------------------

def test_vietnam_and_china_differ_in_1985_and_2007():
    # The Chinese calendar (UTC+8) has 20/02/1985 and 18/02/2007.
    assert lunar.tet(1985) == date(1985, 1, 21)
    assert lunar.tet(2007) == date(2007, 2, 17)
    assert lunar.tet(2030) == date(2030, 2, 2)  # China: 03/02/2030
    china = lunar.from_solar(date(1985, 2, 20))  # China's Tết is a month later here
    assert (china.year, china.month, china.day) == (1985, 1, 31) or china.month == 2


@pytest.mark.parametrize("year, tet, gio_to", [  # observances.md, section 2
    (2024, date(2024, 2, 10), date(2024, 4, 18)),
    (2025, date(2025, 1, 29), date(2025, 4, 7)),
    (2026, date(2026, 2, 17), date(2026, 4, 26)),
    (2027, date(2027, 2, 6), date(2027, 4, 16)),
    (2028, date(2028, 1, 26), date(2028, 4, 4)),
    (2029, date(2029, 2, 13), date(2029, 4, 23)),
    (2030, date(2030, 2, 2), date(2030, 4, 12)),
    (2031, date(2031, 1, 23), date(2031, 4, 1)),
    (2032, date(2032, 2, 11), date(2032, 4, 19)),
])
def test_tet_and_gio_to_as_the_reference_gives_them(year, tet, gio_to):
    assert lunar.to_solar(year, 1, 1) == tet
    assert lunar.to_solar(year, 3, 10) == gio_to


def test_gio_to_2026_is_a_sunday_as_the_press_says():
    # kenh14: "rơi vào Chủ nhật ngày 26/4/2026" (observances.md); the pages say the same.
    assert long_date(lunar.to_solar(2026, 3, 10)).startswith("Chủ Nhật, 26/")


def test_the_cited_leap_months_and_15_7():
    # observances.md, "Hard cases", with its sources (thoidai, ihoctot, thanhnien).
    assert {y: lunar.leap_month(y) for y in (2020, 2023, 2025, 2028, 2031, 2033)} == {
        2020: 4, 2023: 2, 2025: 6, 2028: 5, 2031: 3, 2033: 11}
    leap6 = lunar.find_month(2025, 6, leap=True)
    assert (leap6.start, leap6.end, leap6.length) == (date(2025, 7, 25), date(2025, 8, 22), 29)
    assert lunar.to_solar(2025, 7, 1) == date(2025, 8, 23)
    assert lunar.to_solar(2020, 7, 15) == date(2020, 9, 2)
    assert lunar.to_solar(2023, 7, 15) == date(2023, 8, 30)
    assert lunar.to_solar(2025, 7, 15) == date(2025, 9, 6)
    assert lunar.from_solar(date(2025, 9, 2)) == lunar.LunarDate(2025, 7, 11, False)
    # The year Ất Tỵ has 384 days, from 29/1/2025 to 16/2/2026.
    assert (lunar.tet(2026) - lunar.tet(2025)).days == 384


def test_a_lunar_date_that_does_not_exist_is_an_error():
    with pytest.raises(ValueError, match="29 days, not 30"):
        lunar.to_solar(2025, 6, 30, leap=True)  # lunar-vn silently returns 2025-08-23
    with pytest.raises(ValueError, match="no leap month 7"):
        lunar.to_solar(2025, 7, 15, leap=True)
    with pytest.raises(ValueError, match="outside"):
        lunar.lunar_year(1700)


SOLAR_DAYS = st.dates(min_value=date(1900, 3, 1), max_value=date(2199, 12, 31))
YEARS = st.integers(min_value=1900, max_value=2199)


@settings(max_examples=400, deadline=None)
@given(SOLAR_DAYS)
def test_solar_to_lunar_to_solar_round_trip(day):
    found = lunar.from_solar(day)
    assert 1 <= found.day <= 30 and 1 <= found.month <= 12
    assert lunar.to_solar(found.year, found.month, found.day, found.leap) == day
    assert found.year in (day.year, day.year - 1)


@settings(max_examples=300, deadline=None)
@given(YEARS)
def test_a_lunar_year_has_12_or_13_months_of_29_or_30_days_end_to_end(year):
    months = lunar.lunar_year(year)
    assert len(months) in (12, 13)
    assert {m.length for m in months} <= {29, 30}
    assert (len(months) == 13) == (lunar.leap_month(year) is not None)
    assert [m.month for m in months if not m.leap] == list(range(1, 13))
    for before, after in zip(months, months[1:]):
        assert before.end + timedelta(days=1) == after.start
    assert months[-1].end + timedelta(days=1) == lunar.tet(year + 1)
    assert 353 <= sum(m.length for m in months) <= 385
    for leap in (m for m in months if m.leap):  # a leap month repeats the one before it
        assert months[months.index(leap) - 1].month == leap.month
    # Tết falls between 21 January and 20 February.
    assert date(year, 1, 21) <= months[0].start <= date(year, 2, 20)


def test_against_python_holidays_tet_and_gio_to_1968_to_2099():
    holidays = pytest.importorskip("holidays", reason="the test extra installs holidays")
    table = holidays.country_holidays("VN", years=range(1968, 2100), language="vi")
    tet: dict[int, date] = {}
    gio_to: dict[int, date] = {}
    for day, name in table.items():
        if name == "Tết Nguyên Đán":
            tet[day.year] = day
        elif name == "Ngày Giỗ Tổ Hùng Vương":
            gio_to[day.year] = day
    assert sorted(tet) == list(range(1968, 2100))
    assert len(gio_to) >= 90  # the holiday exists since 2007: every year it has one is checked
    assert {y: lunar.tet(y) for y in tet} == tet
    assert {y: lunar.to_solar(y, 3, 10) for y in gio_to} == gio_to


def test_against_lunar_vn_every_day_1900_to_2100():
    """lunar-vn implements the same algorithm, written by someone else: every day agrees."""
    lunar_vn = pytest.importorskip("lunar_vn", reason="the test extra installs lunar-vn")
    day, end = date(1900, 2, 1), date(2100, 12, 1)
    differ = []
    while day < end:
        ours, theirs = lunar.from_solar(day), lunar_vn.solar_to_lunar(day)
        if (ours.year, ours.month, ours.day, ours.leap) != (
                theirs.year, theirs.month, theirs.day, theirs.leap):
            differ.append(day)
        day += timedelta(days=1)
    assert differ == []


def test_lunar_label():
    assert lunar_label(10, 3) == "10/3 âm lịch"
    assert lunar_label(10, 3, True) == "10/3 nhuận âm lịch"


# --- The engine -----------------------------------------------------------------------------

def test_a_missing_day_30_is_the_months_last_day():
    # Lunar month 12 of 2024 (Giáp Thìn) has 29 days: 30/12 is observed on 29/12, the eve
    # of Tết 2025.
    assert lunar.find_month(2024, 12).length == 29
    day, actual = lunar_anniversary(LunarDay(12, 30), 2024)
    assert day == date(2025, 1, 28) == lunar.tet(2025) - timedelta(days=1)
    assert actual == lunar.LunarDate(2024, 12, 29, False)


def test_a_missing_leap_month_is_the_regular_month():
    # Leap month 6 exists in 2025, not in 2026: there the regular month 6.
    assert lunar_anniversary(LunarDay(6, 15, True), 2025) == (
        date(2025, 8, 8), lunar.LunarDate(2025, 6, 15, True))
    assert lunar_anniversary(LunarDay(6, 15, True), 2026) == (
        lunar.to_solar(2026, 6, 15), lunar.LunarDate(2026, 6, 15, False))
    assert lunar_anniversary(LunarDay(6, 15), 2025)[0] == date(2025, 7, 9)


def catalogue():
    return load_catalogue([FIXTURE])


def entry(ident: str):
    return next(c for c in catalogue().commemorations if c.id == ident)


def test_a_yearless_observance_recurs_without_ordinal_and_never_round():
    tet = entry("tet-nguyen-dan")
    assert tet.yearless and tet.origin is None
    found = [occurrence_in(tet, y) for y in range(1900, 2201)]
    assert all(o is not None and o.ordinal is None for o in found)
    assert not any(o.is_round or o.round_rank for o in found)
    assert found[126].title == "Tết Nguyên đán" and found[126].date == date(2026, 2, 17)
    assert found[126].lunar_label == "1/1 âm lịch" and not found[126].shifted
    assert tet.lead_days is None and found[126].lead_days == tet.category_info.lead_days


def test_a_lunar_origin_with_a_year_counts_its_ordinal():
    dong_da = entry("chien-thang-ngoc-hoi-dong-da")
    assert occurrence_in(dong_da, 1789) is None
    occ = occurrence_in(dong_da, 2029)
    assert occ.ordinal == 240 and occ.is_round and occ.round_rank == 2
    assert occ.date == lunar.to_solar(2029, 1, 5)
    assert occ.title == "Kỷ niệm 240 năm Chiến thắng Ngọc Hồi – Đống Đa"


def late_month_entry():
    return load_text('''
[catalogue]
designates = 2026
directive = "d"
theme = "t"
source = "s"

[[commemoration]]
id = "ong-tao"
title = "Ông Công, Ông Táo"
lunar = { month = 12, day = 23 }
category = "national-day"
description = "Tiễn ông Táo về trời."
''').commemorations[0]


def test_a_late_lunar_day_falls_in_the_next_solar_year_and_is_listed_there():
    """23/12 of lunar year 2025 falls on 10/02/2026: a listing of 2026 finds it, once."""
    tao = late_month_entry()
    occ = occurrence_in(tao, 2025)
    assert occ.year == 2025 and occ.date == date(2026, 2, 10)
    in_2026 = occurrences([tao], date(2026, 1, 1), date(2026, 12, 31))
    assert [(o.year, o.date) for o in in_2026] == [(2025, date(2026, 2, 10))]
    # 1/12 falls twice in 2024 (11/01 and 31/12) and not at all in 2025: the listing says so.
    first = load_text(re_day(late_month_source(), 1)).commemorations[0]
    dates = [o.date for o in iter_occurrences([first], date(2024, 1, 1), date(2025, 12, 31))]
    assert sorted(dates) == [date(2024, 1, 11), date(2024, 12, 31)]
    assert next_occurrence(first, date(2025, 1, 5)).date == date(2026, 1, 19)


def late_month_source() -> str:
    return '''
[catalogue]
designates = 2026
directive = "d"
theme = "t"
source = "s"

[[commemoration]]
id = "mung-mot-thang-chap"
title = "Mùng một tháng Chạp"
lunar = { month = 12, day = 23 }
category = "national-day"
description = "d"
'''


def re_day(text: str, day: int) -> str:
    return re.sub(r"day = \d+", f"day = {day}", text)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 12), st.integers(1, 30), st.booleans(), st.integers(1901, 2199))
def test_every_lunar_origin_has_exactly_one_day_a_year_on_its_lunar_day_or_the_nearest(
        month, day, leap, year):
    solar, actual = lunar_anniversary(LunarDay(month, day, leap), year)
    assert lunar.from_solar(solar) == actual
    assert actual.year == year and actual.month == month
    assert actual.day == min(day, lunar.find_month(year, month, actual.leap).length)
    assert actual.leap == (leap and lunar.leap_month(year) == month)


# --- The catalogue --------------------------------------------------------------------------

HEADER = '''[catalogue]
designates = 2026
directive = "d"
theme = "t"
source = "s"

'''


def problems(entry_text: str) -> list[str]:
    with pytest.raises(CatalogueError) as caught:
        load_text(HEADER + entry_text, "x.toml")
    return [str(p) for p in caught.value.problems]


BASE = '''[[commemoration]]
id = "e"
title = "E"
category = "national-day"
description = "d"
'''


def test_the_fixture_checks():
    found = {c.id: c for c in catalogue().commemorations}
    assert found["gio-to-hung-vuong"].lunar == LunarDay(3, 10, False)
    assert found["gio-to-hung-vuong"].origin_year is None
    assert found["chien-thang-ngoc-hoi-dong-da"].origin_year == 1789


@pytest.mark.parametrize("lines, expected", [
    ('lunar = { month = 13, day = 10 }', "x.toml:12: lunar.month: expected a whole number "
                                          "from 1 to 12, got 13"),
    ('lunar = { month = 3, day = 31 }', "x.toml:12: lunar.day: expected a whole number from 1 "
                                         "to 30, got 31"),
    ('lunar = { month = 3, day = 0 }', "x.toml:12: lunar.day: expected a whole number from 1 "
                                        "to 30, got 0"),
    ('lunar = { month = 3 }', "x.toml:12: lunar.day: required"),
    ('lunar = { month = 3, day = 10, leap = 1 }', "x.toml:12: lunar.leap: expected true or "
                                                   "false, got an integer"),
    ('lunar = { month = 3, day = 10, nhuan = true }', "x.toml:12: lunar.nhuan: unknown key"),
    ('lunar = "10/3"', "x.toml:12: lunar: expected a table such as { month = 3, day = 10 }"),
    ('lunar = { month = 3, day = 10 }\norigin = 1930-02-03', "x.toml:12: lunar: give either "
                                                              "origin"),
    ('lunar = { month = 3, day = 10 }\nordinal = 5', "x.toml:13: ordinal: an observance "
                                                      "without origin_year has no ordinal"),
    ('origin = 1930-02-03\norigin_year = 1930', "x.toml:13: origin_year: only a lunar origin "
                                                 "takes origin_year"),
    ('lunar = { month = 3, day = 10 }\norigin_year = "1930"', "x.toml:13: origin_year: "
                                                               "expected a year"),
    ('lunar = { month = 3, day = 10 }\norigin_year = 2026', "x.toml:13: origin_year: year "
                                                             "2026 is not before"),
    ('lunar = { month = 3, day = 10, leap = true }\norigin_year = 1930',
     "x.toml:12: lunar.leap: lunar year 1930 has no leap month 3 (its leap month is 6)"),
    ('lunar = { month = 6, day = 30, leap = true }\norigin_year = 2025',
     "x.toml:12: lunar.day: leap month 6 of lunar year 2025 has 29 days, not 30"),
    ('', "x.toml:7: origin: required (or lunar = { month = 3, day = 10 } for a lunar date)"),
])
def test_check_names_file_line_and_key(lines, expected):
    found = problems(BASE + lines + "\n")
    assert any(p.startswith(expected) for p in found), found


def test_an_ordinal_agrees_with_origin_year():
    text = BASE + 'lunar = { month = 1, day = 5 }\norigin_year = 1789\nordinal = 237\n'
    assert load_text(HEADER + text).commemorations[0].origin_year == 1789
    assert any("disagrees" in p for p in problems(text.replace("237", "236")))


def test_the_export_writes_lunar_entries_back_as_check_reads_them():
    from calendar_service.admin.export import entry as export_entry

    for c in catalogue().commemorations:
        table = export_entry(c, 2026, "x")
        assert "origin" not in table and table["lunar"] == {"month": c.lunar.month,
                                                           "day": c.lunar.day}
        assert ("ordinal" in table) == (c.origin_year is not None)
    import tomli_w

    entries = [export_entry(c, 2026, None) for c in catalogue().commemorations]
    document = {"catalogue": {"designates": 2026, "directive": "d", "theme": "t"},
                "commemoration": entries}
    again = load_text(tomli_w.dumps(document)).commemorations
    assert [(c.id, c.lunar, c.origin_year) for c in again] == [
        (c.id, c.lunar, c.origin_year) for c in catalogue().commemorations]


# --- The store and every output -------------------------------------------------------------

@pytest.fixture
def lunar_loaded(loaded):
    from calendar_service.store import sync_catalogue

    with loaded.database.session() as session:
        sync_catalogue(session, load_catalogue([ROOT / "events" / "2024.toml", FIXTURE]),
                       loaded.clock.now())
    return loaded


def test_load_is_idempotent_and_the_range_query_agrees_with_the_engine(lunar_loaded):
    from calendar_service.store import sync_catalogue
    from calendar_service.store.queries import occurrences_between

    again = load_catalogue([ROOT / "events" / "2024.toml", FIXTURE])
    with lunar_loaded.database.session() as session:
        result = sync_catalogue(session, again, lunar_loaded.clock.now())
    assert not result.added and not result.updated and result.unchanged == 15
    for start, end in [(date(2026, 1, 1), date(2026, 12, 31)),
                       (date(2026, 4, 20), date(2026, 4, 30)),
                       (date(2026, 2, 1), date(2027, 2, 28))]:
        with lunar_loaded.database.session() as session:
            stored = occurrences_between(session, start, end)
        expected = occurrences(again.commemorations, start, end)
        assert [(o.id, o.year, o.date, o.lunar) for o in stored] == [
            (o.id, o.year, o.date, o.lunar) for o in expected]
    with lunar_loaded.database.session() as session:
        stored = occurrences_between(session, date(2026, 4, 20), date(2026, 4, 30),
                                     include_undated=False)
    assert [o.id for o in stored] == ["gio-to-hung-vuong"]


def test_a_changed_lunar_day_is_a_new_revision(lunar_loaded, tmp_path):
    from calendar_service.store import sync_catalogue
    from calendar_service.store.queries import get_commemoration

    changed = tmp_path / "lunar.toml"
    changed.write_text(FIXTURE.read_text(encoding="utf-8").replace(
        "month = 3, day = 10", "month = 3, day = 11"), encoding="utf-8")
    with lunar_loaded.database.session() as session:
        result = sync_catalogue(session, load_catalogue([ROOT / "events" / "2024.toml",
                                                         changed]), lunar_loaded.clock.now())
        assert result.updated == ["gio-to-hung-vuong"]
        stored = get_commemoration(session, "gio-to-hung-vuong")
    assert stored.revision == 2 and stored.commemoration.lunar == LunarDay(3, 11)


@pytest.fixture
def lunar_client(lunar_loaded):
    from calendar_service.app import create_app

    lunar_loaded.clock.at = datetime(2026, 4, 1, 9, tzinfo=lunar_loaded.clock.tz)
    app = create_app(lunar_loaded)
    app.testing = True
    return app.test_client()


def text_of(response) -> str:
    assert response.status_code == 200, response.status_code
    html = response.get_data(as_text=True)
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_pages_show_both_dates(lunar_client):
    home = text_of(lunar_client.get("/"))
    assert f"{long_date(date(2026, 4, 26))} (10/3 âm lịch)" in home
    year = text_of(lunar_client.get("/year/2026"))
    assert f"{official_date(date(2026, 2, 17))} (1/1 âm lịch)" in year
    assert f"{official_date(date(2026, 4, 26))} (10/3 âm lịch)" in year
    event = text_of(lunar_client.get("/events/gio-to-hung-vuong"))
    assert "10/3 âm lịch hằng năm" in event
    assert f"{long_date(date(2026, 4, 26))} (10/3 âm lịch)" in event
    assert f"{long_date(date(2027, 4, 16))} (10/3 âm lịch)" in event
    dong_da = text_of(lunar_client.get("/events/chien-thang-ngoc-hoi-dong-da"))
    assert "5/1 âm lịch năm 1789" in dong_da and "240 năm" in dong_da


def test_the_feed_names_the_lunar_day(lunar_client):
    from icalendar import Calendar

    body = lunar_client.get("/calendar.ics?year=2026").data
    events = {str(e["uid"]): e for e in Calendar.from_ical(body).walk("VEVENT")}
    gio_to = events["gio-to-hung-vuong-L03-10.2026@127.0.0.1"]
    assert str(gio_to["summary"]) == "Giỗ Tổ Hùng Vương (10/3 âm lịch)"
    assert gio_to.decoded("dtstart") == date(2026, 4, 26)
    assert f"Ngày {long_date(date(2026, 4, 26))} (10/3 âm lịch)" in str(gio_to["description"])
    dong_da = events["chien-thang-ngoc-hoi-dong-da-1789-L01-05.2026@127.0.0.1"]
    assert str(dong_da["summary"]) == ("Kỷ niệm 237 năm Chiến thắng Ngọc Hồi – Đống Đa "
                                       "(1789 – 2026, 5/1 âm lịch)")


def test_the_api_gives_the_lunar_fields(lunar_client):
    items = lunar_client.get("/api/events?from=2026-04-20&to=2026-04-30").get_json()["items"]
    gio_to = next(i for i in items if i["id"] == "gio-to-hung-vuong")
    assert gio_to["lunar"] == {"year": 2026, "month": 3, "day": 10, "leap": False,
                               "label": "10/3 âm lịch"}
    assert gio_to["ordinal"] is None and gio_to["origin"] == "L03-10"
    assert gio_to["lunar_shifted"] is False and gio_to["round"] is False
    one = lunar_client.get("/api/events/chien-thang-ngoc-hoi-dong-da").get_json()
    assert one["origin_year"] == 1789 and one["origin"] == "1789-L01-05"
    assert one["lunar"] == {"month": 1, "day": 5, "leap": False, "label": "5/1 âm lịch"}


def test_the_api_answers_match_the_openapi_document(lunar_client):
    import jsonschema_rs  # schemathesis's validator
    doc = lunar_client.get("/api/openapi.json").get_json()
    schemas = doc["components"]["schemas"]
    items = lunar_client.get("/api/events?from=2026-01-01&to=2026-12-31").get_json()["items"]
    for item in items:
        jsonschema_rs.validate({**schemas["Occurrence"], "components": doc["components"]}, item)
    one = lunar_client.get("/api/events/tet-nguyen-dan").get_json()
    jsonschema_rs.validate({**schemas["Commemoration"], "components": doc["components"]}, one)


def test_the_command_line_shows_the_lunar_day(lunar_loaded):
    from tests.conftest import Cli

    result = Cli(lunar_loaded)("occurrences", "--from", "2026-04-20", "--to", "2026-04-30")
    assert re.search(official_date(date(2026, 4, 26)) + r"\s+Chủ Nhật\s+Giỗ Tổ Hùng Vương\s+"
                     r"10/3 âm lịch", result.output)


def test_the_reminder_mail_shows_both_dates(lunar_loaded, tmp_path):
    from email import message_from_bytes, policy

    from tests.conftest import Cli

    cli = Cli(lunar_loaded)
    assert cli("subscribers", "add", "editor@example.org", "--scope", "all",
               "--categories", "national-day", "--lead-days", "7").exit_code == 0
    result = cli("remind", "--as-of", "2026-04-19T08:00:00+07:00")
    assert result.exit_code == 0, result.output
    outbox = Path(lunar_loaded.settings.mail_url.removeprefix("file://"))
    messages = [message_from_bytes(p.read_bytes(), policy=policy.default)
                for p in sorted(outbox.glob("*.eml"))]
    gio_to = [m for m in messages if "Giỗ Tổ" in m["subject"]]
    assert len(gio_to) == 1
    assert gio_to[0]["subject"].endswith(
        f"Giỗ Tổ Hùng Vương ({official_date(date(2026, 4, 26))}, 10/3 âm lịch)")
    plain = gio_to[0].get_body(("plain",)).get_content()
    html = gio_to[0].get_body(("html",)).get_content()
    assert f"{long_date(date(2026, 4, 26))} (10/3 âm lịch)" in plain
    assert f"{long_date(date(2026, 4, 26))} (10/3 âm lịch)" in html
    assert "Mốc lịch sử: 10/3 âm lịch hằng năm" in plain


def test_the_admin_shows_and_edits_a_lunar_entry(lunar_loaded):
    from calendar_service.admin import accounts
    from tests.test_admin import PASSWORD, Browser, edit_form, make_app, stored

    with lunar_loaded.database.session() as session:
        accounts.create_user(session, "admin", PASSWORD, lunar_loaded.clock.now())
    admin = Browser(make_app(lunar_loaded))
    admin.login()
    listing = " ".join(re.sub(r"<[^>]+>", " ", admin.text("/admin/")).split())
    assert "10/3 âm lịch hằng năm" in listing and "5/1 âm lịch năm 1789" in listing
    page = " ".join(re.sub(r"<[^>]+>", " ", admin.text("/admin/events/gio-to-hung-vuong"))
                    .split())
    assert "Mốc lịch sử 10/3 âm lịch hằng năm" in page
    assert "Đặt ngày tổ chức" not in page  # a lunar origin has its day: nothing to choose
    response = admin.post("/admin/events/gio-to-hung-vuong",
                          edit_form(lunar_loaded, "gio-to-hung-vuong",
                                    title="Giỗ Tổ Hùng Vương – Lễ hội Đền Hùng",
                                    lead_days="30, 7"),
                          page="/admin/events/gio-to-hung-vuong")
    assert response.status_code == 302
    after = stored(lunar_loaded, "gio-to-hung-vuong")
    assert after.revision == 2 and after.commemoration.lunar == LunarDay(3, 10)
    assert after.commemoration.title == "Giỗ Tổ Hùng Vương – Lễ hội Đền Hùng"
    assert after.commemoration.origin_year is None
    occ = next_occurrence(after.commemoration, date(2026, 4, 1))
    assert occ.date == date(2026, 4, 26) and occ.lead_days == (30, 7)
    assert admin.get("/admin/export").status_code == 200


@settings(max_examples=60, deadline=None)
@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2199, 1, 1)),
       st.integers(min_value=0, max_value=1200))
def test_the_fast_ordering_is_the_sort_key_order(start, days):
    """`occurrences` orders faster than sorting by `Occurrence.sort_key`, with the same
    result: dated by (date, id), each year's undated ones after that year's dated ones."""
    from calendar_service.anniversaries import Occurrence

    values = load_catalogue([ROOT / "events" / "2024.toml", FIXTURE]).commemorations \
        + (late_month_entry(),)
    end = start + timedelta(days=days)
    expected = sorted(iter_occurrences(values, start, end), key=Occurrence.sort_key)
    assert occurrences(values, start, end) == expected


def test_the_engines_fast_constructor_makes_the_same_frozen_occurrence():
    from dataclasses import FrozenInstanceError

    from calendar_service.anniversaries import Occurrence

    tet = entry("tet-nguyen-dan")
    fast = occurrence_in(tet, 2026)
    plain = Occurrence(commemoration=tet, year=2026, date=date(2026, 2, 17), ordinal=None,
                       designated=True, observed=False, shifted=False,
                       lunar=lunar.LunarDate(2026, 1, 1, False))
    assert fast == plain and hash(fast) == hash(plain) and repr(fast) == repr(plain)
    with pytest.raises(FrozenInstanceError):
        fast.date = date(2026, 2, 18)


def test_the_lunar_migration_downgrades_without_losing_an_observance(lunar_loaded):
    """0009 down refuses while a yearly observance exists (the old schema needs a year);
    without one it goes down, and up again."""
    from alembic import command
    from sqlalchemy import text

    from calendar_service.store.migrate import alembic_config

    engine = lunar_loaded.database.engine
    with pytest.raises(RuntimeError, match="gio-to-hung-vuong, tet-nguyen-dan"):
        command.downgrade(alembic_config(engine), "0008")
    with engine.begin() as conn:
        assert conn.execute(text("SELECT count(*) FROM commemorations")).scalar() == 15
        conn.execute(text("DELETE FROM commemorations WHERE origin_year IS NULL"))
    command.downgrade(alembic_config(engine), "0008")
    command.upgrade(alembic_config(engine), "head")
    with engine.begin() as conn:
        assert conn.execute(text("SELECT count(*) FROM commemorations")).scalar() == 13


def test_a_late_lunar_day_is_planned_once_in_its_lunar_year(cli, tmp_path):
    """23/12 of lunar year 2025 falls on 10/02/2026: `plans generate --year 2025` plans it
    (due days in 2026), `--year 2026` does not plan it again, and a rerun adds nothing."""
    import json

    late = tmp_path / "late.toml"
    late.write_text(late_month_source().replace("id = \"mung-mot-thang-chap\"",
                                                "id = \"ong-cong-ong-tao\""), encoding="utf-8")
    events = ROOT / "events"
    assert cli("load", str(events / "2024.toml"), str(events / "agencies.toml"),
               str(events / "plans.toml"), str(late)).exit_code == 0

    def tasks(year: int) -> list[dict]:
        result = cli("tasks", "--year", str(year), "--json")
        assert result.exit_code == 0, result.output
        return [t for t in json.loads(result.stdout) if t["commemoration"] == "ong-cong-ong-tao"]

    for year in (2025, 2026, 2025, 2026):
        result = cli("plans", "generate", "--year", str(year))
        assert result.exit_code == 0, result.output
    planned_2025, planned_2026 = tasks(2025), tasks(2026)
    assert planned_2025 and all(t["due"] is None or t["due"] <= "2026-02-10"
                                for t in planned_2025)
    assert len({(t["kind"], t["agency"]) for t in planned_2025}) == len(planned_2025)
    # The 2026 tasks are lunar year 2026's, on 23/12 of 2026 (early 2027), not a duplicate.
    assert all(t["due"] is None or t["due"] > "2026-02-10" for t in planned_2026)
    assert str(lunar.to_solar(2026, 12, 23)) >= max(t["due"] or "" for t in planned_2026)


def test_a_task_notice_shows_both_dates(cli):
    """An agency's task notice names the occurrence's day with its lunar date."""
    from datetime import datetime as dt

    from calendar_service.delivery.channels import Letter
    from calendar_service.plans.models import TaskRow
    from calendar_service.plans.notices import _task_view

    events = ROOT / "events"
    assert cli("load", str(events / "2024.toml"), str(events / "agencies.toml"),
               str(events / "plans.toml"), str(FIXTURE)).exit_code == 0
    assert cli("plans", "generate", "--year", "2026").exit_code == 0
    with cli.services.database.session() as session:
        task = session.query(TaskRow).filter_by(commemoration_id="gio-to-hung-vuong",
                                                year=2026).first()
        view = _task_view(session, task, "http://host")
    assert view.occurrence_lunar == "10/3 âm lịch"
    letter = Letter(template="email/task_notice", subject="s", address="a@example.org",
                    recipient_name="Sở", message_id="<m@host>", sent_at=dt(2026, 4, 1),
                    context={"task": view, "agency": "Sở", "heading": "h", "overdue": False})
    expected = f"Ngày kỷ niệm: Giỗ Tổ Hùng Vương, {long_date(date(2026, 4, 26))} (10/3 âm lịch)"
    assert expected in letter.render(".txt")
    assert expected in " ".join(re.sub(r"<[^>]+>", " ", letter.render(".html")).split())
