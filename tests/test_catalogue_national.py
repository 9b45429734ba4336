"""events/national.toml and events/quang-nam.toml against the reference
(../shared/reference/observances.md): every entry's date, category and scope, from a table
written by hand from the reference (the row numbers are its own), and a source for each."""

from __future__ import annotations

from datetime import date

import pytest

from calendar_service.anniversaries import occurrence_in
from calendar_service.catalogue import load_catalogue
from calendar_service.catalogue.model import LunarDay
from tests.conftest import ROOT

EVENTS = ROOT / "events"

# id: (origin — a date, or a year when the reference gives no single day; category; row)
NATIONAL = {
    "thanh-lap-dang": (date(1930, 2, 3), "founding", 2),
    "thay-thuoc-viet-nam": (date(1955, 2, 27), "national-day", 3),
    "bo-doi-bien-phong": (date(1959, 3, 3), "founding", 4),
    "bien-phong-toan-dan": (date(1989, 3, 3), "national-day", 4),
    "doan-thanh-nien": (date(1931, 3, 26), "founding", 5),
    "giai-phong-mien-nam": (date(1975, 4, 30), "victory", 8),
    "quoc-te-lao-dong": (date(1886, 5, 1), "historic-event", 9),
    "ngay-sinh-ho-chi-minh": (date(1890, 5, 19), "birth-anniversary", 11),
    "bac-ho-ra-di-tim-duong-cuu-nuoc": (date(1911, 6, 5), "historic-event", 12),
    "bao-chi-cach-mang": (date(1925, 6, 21), "founding", 13),
    "thuong-binh-liet-si": (date(1947, 7, 27), "national-day", 15),
    "cong-doan-viet-nam": (date(1929, 7, 28), "founding", 16),
    "nganh-tuyen-giao": (date(1930, 8, 1), "founding", 17),
    "cach-mang-thang-tam": (date(1945, 8, 19), "historic-event", 18),
    "cong-an-nhan-dan": (date(1945, 8, 19), "founding", 19),
    "an-ninh-to-quoc": (date(2005, 8, 19), "national-day", 19),
    "quoc-khanh": (date(1945, 9, 2), "national-day", 20),
    "nam-bo-khang-chien": (date(1945, 9, 23), "historic-event", 21),
    "giai-phong-thu-do": (date(1954, 10, 10), "victory", 22),
    "hoi-lien-hiep-phu-nu": (date(1930, 10, 20), "founding", 23),
    "mat-tran-to-quoc": (date(1930, 11, 18), "founding", 24),
    "nha-giao-viet-nam": (date(1982, 11, 20), "national-day", 25),
    "nam-ky-khoi-nghia": (date(1940, 11, 23), "historic-event", 26),
    "toan-quoc-khang-chien": (date(1946, 12, 19), "historic-event", 28),
    # A 12-day campaign (18–29/12/1972) with no single day: year precision, no invented day.
    "ha-noi-dien-bien-phu-tren-khong": (1972, "victory", 30),
    "tong-tuyen-cu-dau-tien": (date(1946, 1, 6), "historic-event", 31),
    "hiep-dinh-paris": (date(1973, 1, 27), "historic-event", 32),
    # Lunar observances with no historical year (rows 1 and 6): a lunar day, no origin.
    "tet-nguyen-dan": (LunarDay(1, 1), "national-day", 1),
    "gio-to-hung-vuong": (LunarDay(3, 10), "national-day", 6),
}
# Section 2 of the reference: Tết and Giỗ Tổ, 2024–2032 (python-holidays and lunar-vn agree).
LUNAR_DATES = {
    2024: (date(2024, 2, 10), date(2024, 4, 18)),
    2025: (date(2025, 1, 29), date(2025, 4, 7)),
    2026: (date(2026, 2, 17), date(2026, 4, 26)),
    2027: (date(2027, 2, 6), date(2027, 4, 16)),
    2028: (date(2028, 1, 26), date(2028, 4, 4)),
    2029: (date(2029, 2, 13), date(2029, 4, 23)),
    2030: (date(2030, 2, 2), date(2030, 4, 12)),  # Vietnam's Tết, not China's 3/2
    2031: (date(2031, 1, 23), date(2031, 4, 1)),
    2032: (date(2032, 2, 11), date(2032, 4, 19)),
}
LOCAL = {
    "giai-phong-quang-nam": (date(1975, 3, 24), "victory", 33),
    "dang-bo-quang-nam": (date(1930, 3, 28), "founding", 34),
    "dang-bo-da-nang": (date(1930, 3, 28), "founding", 34),
    "giai-phong-da-nang": (date(1975, 3, 29), "victory", 35),
    "giai-phong-hoi-an": (date(1975, 3, 28), "victory", 36),
    "tai-lap-tinh-quang-nam": (date(1997, 1, 1), "founding", 37),
    "da-nang-truc-thuoc-trung-uong": (date(1997, 1, 1), "founding", 37),
    "nui-thanh": (date(1965, 5, 26), "victory", 38),
}
# Rows the 2024 directive's file defines already (not defined twice), with their dates.
IN_2024 = {
    "tran-phu": date(1904, 5, 1),  # row 7
    "dien-bien-phu": date(1954, 5, 7),  # row 10
    "hiep-dinh-geneve": date(1954, 7, 21),  # row 14 (21/7, not the minority 20/7)
    "quan-doi-nhan-dan-viet-nam": date(1944, 12, 22),  # row 29
    "quoc-phong-toan-dan": date(1989, 12, 22),  # row 29
    "thuong-duc": date(1974, 8, 7),  # row 39
}
LOCAL_IN_2024 = {"thuong-duc", "nguyen-trac", "me-nguyen-thi-thu", "huynh-ngoc-hue"}


@pytest.fixture(scope="module")
def catalogue():
    return load_catalogue(sorted(EVENTS.glob("*.toml")))


def _origin(c):
    if c.lunar is not None:
        assert c.origin_year is None  # a yearly observance: no historical year, no ordinal
        return c.lunar
    return c.origin if c.origin is not None else c.origin_year


@pytest.mark.parametrize("name, expected, scope", [
    ("national.toml", NATIONAL, "national"), ("quang-nam.toml", LOCAL, "local")])
def test_every_entry_has_the_references_date_category_and_scope(catalogue, name, expected,
                                                                scope):
    entries = {c.id: c for c in catalogue.commemorations if c.source_file == str(EVENTS / name)}
    assert sorted(entries) == sorted(expected)
    for ident, (origin, category, row) in expected.items():
        c = entries[ident]
        assert (_origin(c), c.category, c.scope) == (origin, category, scope), (ident, row)
        assert "https://" in c.source or "http://" in c.source, ident
        assert not c.designations, ident  # a standing list designates nothing


def test_what_2024_defines_is_not_defined_twice_and_keeps_its_date(catalogue):
    by_id = {c.id: c for c in catalogue.commemorations}
    for ident, origin in IN_2024.items():
        assert by_id[ident].origin == origin
        assert by_id[ident].source_file.endswith("2024.toml")
    assert not (set(NATIONAL) | set(LOCAL)) & {c.id for c in catalogue.commemorations
                                               if c.source_file.endswith("2024.toml")}
    assert {c.id for c in catalogue.commemorations if c.scope == "local"} == \
        set(LOCAL) | LOCAL_IN_2024


@pytest.mark.parametrize("ident, year, day, ordinal", [
    ("giai-phong-mien-nam", 2025, date(2025, 4, 30), 50),
    ("quoc-khanh", 2025, date(2025, 9, 2), 80),
    ("cach-mang-thang-tam", 2025, date(2025, 8, 19), 80),
    ("ngay-sinh-ho-chi-minh", 2025, date(2025, 5, 19), 135),
    ("quoc-te-lao-dong", 2026, date(2026, 5, 1), 140),
    ("tong-tuyen-cu-dau-tien", 2026, date(2026, 1, 6), 80),
    ("giai-phong-quang-nam", 2025, date(2025, 3, 24), 50),
    ("dang-bo-quang-nam", 2025, date(2025, 3, 28), 95),
    ("giai-phong-da-nang", 2025, date(2025, 3, 29), 50),
    ("nui-thanh", 2025, date(2025, 5, 26), 60),
    ("cong-an-nhan-dan", 2025, date(2025, 8, 19), 80),
    ("an-ninh-to-quoc", 2025, date(2025, 8, 19), 20),
    ("ha-noi-dien-bien-phu-tren-khong", 2022, None, 50),
])
def test_the_references_quoted_anniversaries(catalogue, ident, year, day, ordinal):
    """The "(d/m/y – d/m/y)" pairs the reference quotes from its sources."""
    occ = occurrence_in({c.id: c for c in catalogue.commemorations}[ident], year)
    assert (occ.date, occ.ordinal) == (day, ordinal)


@pytest.mark.parametrize("year", sorted(LUNAR_DATES))
def test_the_lunar_observances_fall_on_the_references_days(catalogue, year):
    entries = {c.id: c for c in catalogue.commemorations}
    tet, gio_to = (occurrence_in(entries[i], year) for i in ("tet-nguyen-dan",
                                                              "gio-to-hung-vuong"))
    assert (tet.date, gio_to.date) == LUNAR_DATES[year]
    assert tet.ordinal is None and gio_to.ordinal is None


def test_renames_are_data_with_a_source(catalogue):
    renames = {r.old: r for r in catalogue.renames}
    merger = renames["tỉnh Quảng Nam"]
    assert (merger.new, merger.since, merger.kind) == ("thành phố Đà Nẵng", date(2025, 7, 1),
                                                       "merged")
    assert all("https://" in r.source for r in catalogue.renames)
