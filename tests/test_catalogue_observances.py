"""The optional `observances` list: days chosen for years other than the designated one."""

from __future__ import annotations

from datetime import date

import pytest

from calendar_service.catalogue import load_catalogue, load_text
from tests.test_catalogue_errors import HEADER, line_of, problems, write

YEAR_ONLY = """
[[commemoration]]
id = "me-thu"
title = "Ngày sinh Bà mẹ Việt Nam Anh hùng Nguyễn Thị Thứ"
origin = 1904
category = "birth-anniversary"
description = "Mô tả."
"""


def test_observances_map_to_their_years_beside_observed_on(tmp_path):
    path = write(tmp_path, YEAR_ONLY + "observed_on = 2024-07-27\n"
                                       "observances = [2026-07-27, 2025-07-26]\n")
    (c,) = load_catalogue([path]).commemorations
    assert c.observances == ((2024, date(2024, 7, 27)), (2025, date(2025, 7, 26)),
                             (2026, date(2026, 7, 27)))
    assert c.observed_on(2025) == date(2025, 7, 26)
    assert c.observed_on(2027) is None


def test_observances_alone_are_enough(tmp_path):
    (c,) = load_text(HEADER + YEAR_ONLY + "observances = [2025-07-26]\n").commemorations
    assert c.observances == ((2025, date(2025, 7, 26)),)


ARRAY = "expected a non-empty array of dates such as [2025-07-27, 2026-07-28]"
DATES = "expected dates such as 2025-07-27 (no quotes, no time)"


@pytest.mark.parametrize("value, message", [
    ("2025-07-26", f"{ARRAY}, got a date"),
    ("[]", f"{ARRAY}, got an array"),
    ('["2025-07-26"]', f"{DATES}; got '2025-07-26'"),
    ("[2025-07-26T08:00:00]", f"{DATES}; got a date-time"),
    ("[2024-07-27]", "2024-07-27 is in the designated year 2024: write that day as observed_on"),
    ("[2025-07-26, 2025-07-27]",
     "2 dates in 2025 (2025-07-26, 2025-07-27): at most one day per year"),
])
def test_bad_observances_name_file_line_and_key(tmp_path, value, message):
    path = write(tmp_path, YEAR_ONLY + f"observances = {value}\n")
    assert problems(path) == [f"{path}:{line_of(path, 'observances')}: observances: {message}"]


def test_an_observance_not_after_the_origin_year(tmp_path):
    header = HEADER.replace("designates = 2024", "designates = 1910")
    path = write(tmp_path, YEAR_ONLY + "observances = [1904-05-01, 1903-01-01, 1905-01-01]\n",
                 header=header)
    where = f"{path}:{line_of(path, 'observances')}: observances"
    assert problems(path) == [f"{where}: 1904-05-01, 1903-01-01 is not after the origin year 1904"]


def test_every_problem_of_the_list_is_reported_at_once(tmp_path):
    path = write(tmp_path, YEAR_ONLY + "observances = [2024-01-01, 2030-01-01, 2030-02-02]\n")
    where = f"{path}:{line_of(path, 'observances')}: observances"
    assert problems(path) == [
        f"{where}: 2024-01-01 is in the designated year 2024: write that day as observed_on",
        f"{where}: 2 dates in 2030 (2030-01-01, 2030-02-02): at most one day per year",
    ]


def test_a_typo_of_the_key_is_suggested(tmp_path):
    path = write(tmp_path, YEAR_ONLY + "observance = [2025-07-26]\n")
    where = f"{path}:{line_of(path, 'observance =')}: observance"
    assert problems(path) == [f"{where}: unknown key (did you mean 'observances'?)"]
