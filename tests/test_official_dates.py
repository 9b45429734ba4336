"""Dates as officials write them (Decree 30/2020/NĐ-CP, Appendix I): one function, used
everywhere a date is shown."""

from __future__ import annotations

import re
from datetime import date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from calendar_service.vietnamese import (
    long_date,
    official_date,
    official_datetime,
    spreadsheet_date_format,
)
from tests.conftest import ROOT


@pytest.mark.parametrize(("day", "text"), [
    (date(2024, 1, 1), "01/01/2024"),
    (date(2027, 2, 26), "26/02/2027"),
    (date(2024, 5, 7), "07/5/2024"),
    (date(2024, 12, 22), "22/12/2024"),
    (date(1954, 5, 7), "07/5/1954"),
    (date(2024, 3, 9), "09/3/2024"),
    (date(2024, 10, 1), "01/10/2024"),
    (date(2024, 2, 29), "29/02/2024"),
])
def test_the_decree_examples(day, text):
    assert official_date(day) == text


def test_day_and_month_alone_and_with_a_time():
    assert official_date(date(2024, 5, 7), year=False) == "07/5"
    assert official_date(date(2024, 1, 3), year=False) == "03/01"
    assert long_date(date(2024, 5, 7)) == "Thứ Ba, 07/5/2024"
    assert official_datetime(datetime(2024, 12, 22, 8, 5)) == "22/12/2024 08:05"


@given(st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)))
def test_every_day_reads_back_and_pads_by_the_rule(day):
    text = official_date(day)
    d, m, y = text.split("/")
    assert (int(d), int(m), int(y)) == (day.day, day.month, day.year)
    assert len(d) == 2  # every day has two digits
    assert len(m) == (2 if day.month in (1, 2, 10, 11, 12) else 1)
    assert y == str(day.year)


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31)))
def test_the_spreadsheet_format_shows_the_same_text(day):
    # What Excel and LibreOffice show for these codes: dd, a padded day; mm, a padded
    # month; m, the month as it is; yyyy, the year.
    shown = (spreadsheet_date_format(day).replace("yyyy", str(day.year))
             .replace("dd", f"{day.day:02d}").replace("mm", f"{day.month:02d}")
             .replace("m", str(day.month)))
    assert shown == official_date(day)


# Ways of writing a date by hand that the one function replaces. A match outside
# vietnamese.py is a second format, which is how "07/05/2024" and "22/12/2024/2024" came about.
HAND_WRITTEN = [
    re.compile(r"%d/%m"),  # strftime / format strings
    re.compile(r"\.day(:02d)?\}/"),  # f"{d.day:02d}/{d.month}"
    re.compile(r"%02d/%02d"),  # Jinja's format filter
    re.compile(r"padded_date"),
    re.compile(r"\|\s*official_date\s*\}\}/\{\{"),  # a year added after a date
]


def sources():
    for folder, pattern in (("calendar_service", "*.py"), ("templates", "*")):
        for path in sorted((ROOT / folder).rglob(pattern)):
            if path.is_file() and path.name != "vietnamese.py" and path.suffix != ".pyc":
                yield path


def test_no_date_is_formatted_by_hand():
    found = []
    for path in sources():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if any(p.search(line) for p in HAND_WRITTEN):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not found, "format dates with vietnamese.official_date:\n" + "\n".join(found)
