"""The 2024 catalogue encodes the directive's section I.7 faithfully."""

from datetime import date

import pytest

from calendar_service.catalogue import Precision, load_catalogue

# The directive's list, in its own order: id, origin (a date, or a year when only the year is
# known) and the ordinal it names for 2024.
DIRECTIVE = [
    ("dien-bien-phu", date(1954, 5, 7), 70),
    ("hiep-dinh-geneve", date(1954, 7, 21), 70),
    ("quan-doi-nhan-dan-viet-nam", date(1944, 12, 22), 80),
    ("quoc-phong-toan-dan", date(1989, 12, 22), 35),
    ("tran-phu", date(1904, 5, 1), 120),
    ("nguyen-chi-thanh", date(1914, 1, 1), 110),
    ("nguyen-luong-bang", date(1904, 4, 2), 120),
    ("hoang-dinh-giong", date(1904, 6, 1), 120),
    ("thuong-duc", date(1974, 8, 7), 50),
    ("nguyen-trac", date(1904, 11, 4), 120),
    ("me-nguyen-thi-thu", 1904, 120),
    ("huynh-ngoc-hue", 1914, 110),
]


def entries(catalogue):
    return {c.id: c for c in catalogue.commemorations}


@pytest.fixture(scope="module")
def catalogue():
    from tests.conftest import EVENTS_2024

    return load_catalogue([EVENTS_2024])


def test_the_file_names_the_year_and_theme(catalogue):
    (header,) = catalogue.files
    assert header.designates == 2024
    assert "thi đua yêu nước năm 2024" in header.directive
    assert "ngày sinh của các đồng chí lãnh đạo" in header.theme


def test_all_twelve_commemorations_with_their_origins(catalogue):
    by_id = entries(catalogue)
    assert sorted(by_id) == sorted(i for i, _, _ in DIRECTIVE)
    for ident, origin, ordinal in DIRECTIVE:
        c = by_id[ident]
        if isinstance(origin, date):
            assert c.origin == origin and c.precision is Precision.DAY
        else:
            assert (c.origin_year, c.origin, c.precision) == (origin, None, Precision.YEAR)
        assert 2024 - c.origin_year == ordinal
        assert c.designated_years == {2024}
        assert "mục I.7" in c.source
        assert c.description and c.title


def test_titles_read_after_ky_niem_n_nam(catalogue):
    by_id = entries(catalogue)
    assert by_id["dien-bien-phu"].title == "Chiến thắng Điện Biên Phủ"
    assert by_id["quan-doi-nhan-dan-viet-nam"].title == "Ngày thành lập Quân đội nhân dân Việt Nam"
    assert by_id["tran-phu"].title == "Ngày sinh đồng chí Trần Phú"


def test_mother_nguyen_thi_thu_has_a_chosen_day_but_no_birth_day(catalogue):
    c = entries(catalogue)["me-nguyen-thi-thu"]
    assert c.precision is Precision.YEAR
    assert c.observed_on(2024) == date(2024, 7, 27)
    assert c.observed_on(2025) is None
    assert "27/7/2024" in c.note and "1902" in c.note


def test_huynh_ngoc_hue_stays_undecided_and_names_both_candidates(catalogue):
    c = entries(catalogue)["huynh-ngoc-hue"]
    assert c.precision is Precision.YEAR
    assert c.observances == ()
    assert "09/8/1914" in c.note and "10/8/1914" in c.note
    assert "Đại Lộc" in (c.location or "")


def test_hoang_dinh_giong_is_found_by_either_spelling(catalogue):
    c = entries(catalogue)["hoang-dinh-giong"]
    assert "Hoàng Đình Giong" in c.title
    assert c.matches("Hoàng Đình Giông")
    assert c.matches("hoang dinh giong")
    assert not entries(catalogue)["tran-phu"].matches("Giông")


def test_thuong_duc_is_located_in_dai_loc(catalogue):
    assert "Đại Lộc" in entries(catalogue)["thuong-duc"].location
    assert "Quảng Nam" in entries(catalogue)["thuong-duc"].location


def test_text_is_nfc(catalogue):
    import unicodedata

    for c in catalogue.commemorations:
        for text in (c.title, c.description, c.note or "", *c.aliases):
            assert unicodedata.is_normalized("NFC", text)
