"""Vietnamese text helpers: dates as Vietnamese readers write them, weekdays, accent folding.

Pure functions, shared by the command line, the feeds, the e-mails and the pages.
"""

from __future__ import annotations

import unicodedata
from datetime import date, datetime

# date.weekday(): Monday is 0. Vietnamese counts Monday as "Thứ Hai" (the second day).
WEEKDAYS = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật")


def nfc(text: str) -> str:
    """Vietnamese can be typed precomposed or decomposed; store and compare one form."""
    return unicodedata.normalize("NFC", text)


def weekday(d: date) -> str:
    return WEEKDAYS[d.weekday()]


def official_date(d: date, *, year: bool = True) -> str:
    """07/5/2024, 01/01/2024, 26/02/2027, 22/12/2024 — the one way this service writes a date.

    Decree 30/2020/NĐ-CP (on administrative documents), Appendix I: "đối với những số chỉ ngày
    nhỏ hơn 10 và tháng 1, 2 thì phải ghi thêm số 0 ở trước" — a day below 10 and the months 1
    and 2 take a leading zero, other months do not. Pages, mail, feeds, exports and command
    output all call this; `year=False` gives the day and month alone ("07/5"), for a grid
    whose year is already shown.
    """
    month = f"{d.month:02d}" if d.month < 3 else str(d.month)
    text = f"{d.day:02d}/{month}"
    return f"{text}/{d.year}" if year else text


# The name templates and older modules use for the same function (not a second format).
short_date = official_date


def spreadsheet_date_format(d: date) -> str:
    """The number format that shows the date cell `d` as `official_date` writes it: a
    spreadsheet cell stays a real date (it sorts and filters) and reads as officials write."""
    return "dd/mm/yyyy" if d.month < 3 else "dd/m/yyyy"


def official_datetime(moment: datetime) -> str:
    """22/12/2024 08:00 — a moment, already in the zone the reader lives in."""
    return f"{official_date(moment.date())} {moment:%H:%M}"


def long_date(d: date) -> str:
    """Thứ Ba, 07/5/2024."""
    return f"{weekday(d)}, {official_date(d)}"


def fold(text: str) -> str:
    """Lower-case and strip diacritics so "dien bien phu" finds "Điện Biên Phủ".

    "đ" is a letter of its own, not "d" plus a mark, so NFD leaves it alone: map it by hand.
    """
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.casefold().split())
