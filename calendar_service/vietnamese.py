"""Vietnamese text helpers: dates as Vietnamese readers write them, weekdays, accent folding.

Pure functions, shared by the command line, the feeds, the e-mails and the pages.
"""

from __future__ import annotations

import unicodedata
from datetime import date

# date.weekday(): Monday is 0. Vietnamese counts Monday as "Thứ Hai" (the second day).
WEEKDAYS = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật")


def nfc(text: str) -> str:
    """Vietnamese can be typed precomposed or decomposed; store and compare one form."""
    return unicodedata.normalize("NFC", text)


def weekday(d: date) -> str:
    return WEEKDAYS[d.weekday()]


def short_date(d: date) -> str:
    """07/5/2024 — the form the directive and the press use (day padded, month not)."""
    return f"{d.day:02d}/{d.month}/{d.year}"


def padded_date(d: date) -> str:
    """07/05/2024 — fixed width, for tables that line up."""
    return f"{d.day:02d}/{d.month:02d}/{d.year}"


def long_date(d: date) -> str:
    """Thứ Ba, 07/5/2024."""
    return f"{weekday(d)}, {short_date(d)}"


def lunar_label(day: int, month: int, leap: bool = False) -> str:
    """10/3 âm lịch; in a leap month 10/3 nhuận âm lịch — the lunar date shown beside the
    solar one, as calendars and the press print it."""
    return f"{day}/{month}{' nhuận' if leap else ''} âm lịch"


def fold(text: str) -> str:
    """Lower-case and strip diacritics so "dien bien phu" finds "Điện Biên Phủ".

    "đ" is a letter of its own, not "d" plus a mark, so NFD leaves it alone: map it by hand.
    """
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.casefold().split())
