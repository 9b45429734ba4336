"""Renamed places and agencies: the historical wording stays, today's name shows beside it,
from data, as of a date."""

from __future__ import annotations

from datetime import date

from calendar_service.catalogue.model import Rename
from calendar_service.catalogue.renames import today_name, with_today_name

MERGER = Rename(old="tỉnh Quảng Nam", new="thành phố Đà Nẵng", since=date(2025, 7, 1),
                source="NQ 202/2025/QH15", kind="merged")
RENAMED = Rename(old="Sở Thông tin và Truyền thông", new="Sở Khoa học và Công nghệ",
                 since=date(2025, 3, 1), source="-", kind="renamed")
PLACE = "Thượng Đức, huyện Đại Lộc, tỉnh Quảng Nam"


def test_before_the_rename_the_text_is_as_written():
    assert today_name(PLACE, [MERGER], date(2025, 6, 30)) is None
    assert with_today_name(PLACE, [MERGER], date(2024, 8, 7)) == PLACE


def test_from_its_day_a_merged_place_shows_what_it_belongs_to():
    assert with_today_name(PLACE, [MERGER], date(2025, 7, 1)) == \
        f"{PLACE} (nay thuộc thành phố Đà Nẵng)"


def test_a_renamed_agency_shows_its_new_name():
    assert with_today_name("Sở Thông tin và Truyền thông", [RENAMED, MERGER],
                           date(2026, 1, 1)) == \
        "Sở Thông tin và Truyền thông (nay là Sở Khoa học và Công nghệ)"


def test_several_renames_combine_and_unrelated_text_is_untouched():
    both = "Sở Thông tin và Truyền thông tỉnh Quảng Nam"
    assert today_name(both, [MERGER, RENAMED], date(2026, 1, 1)) == \
        "nay là Sở Khoa học và Công nghệ tỉnh Quảng Nam; nay thuộc thành phố Đà Nẵng"
    assert today_name("Điện Biên Phủ, tỉnh Điện Biên", [MERGER, RENAMED], date(2026, 1, 1)) \
        is None
    assert today_name(None, [MERGER], date(2026, 1, 1)) is None
