"""Vietnamese text helpers: dates as Vietnamese readers write them, weekdays, accent folding.

Pure functions, shared by the command line, the feeds, the e-mails and the pages.
"""

from __future__ import annotations

import re
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


# --- Library messages a reader sees, said in Vietnamese -------------------------------------

# email-validator explains a refused address in English ("An email address must have an
# @-sign."). Its messages, matched from the most specific; the characters it lists after a
# colon are kept. Anything it may say that is not here reads as the general sentence.
_EMAIL_MESSAGES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), text) for pattern, text in (
        (r"full-width|small commercial at",
         "Địa chỉ dùng ký tự @ đặc biệt; hãy gõ lại ký tự @ thông thường."),
        (r"must have an @-sign", "Địa chỉ e-mail phải có ký tự @."),
        (r"something before the @-sign", "Phải có tên hộp thư trước ký tự @."),
        (r"something after the @-sign", "Phải có tên miền sau ký tự @."),
        (r"Internationalized characters before the @-sign",
         "Phần trước ký tự @ chỉ được dùng chữ không dấu, chữ số và . _ - +{chars}."),
        (r"Quoting the part before the @-sign",
         "Phần trước ký tự @ không được đặt trong dấu ngoặc kép."),
        (r"display name and angle brackets|angle bracket",
         "Chỉ nhập địa chỉ e-mail, không kèm tên hay dấu < >."),
        (r"bracketed IP address|address literal|in brackets",
         "Sau ký tự @ phải là tên miền, không phải địa chỉ IP."),
        (r"two periods in a row", "Địa chỉ e-mail không được có hai dấu chấm liền nhau."),
        (r"period and a hyphen", "Dấu chấm và dấu gạch ngang không được đứng liền nhau."),
        (r"cannot (start|end) with a period|period immediately (after|before)",
         "Dấu chấm không được đứng ở đầu, ở cuối hay sát ký tự @."),
        (r"hyphen", "Tên miền không được bắt đầu hay kết thúc bằng dấu gạch ngang."),
        (r"two letters followed by two dashes",
         "Tên miền không được có hai dấu gạch ngang liền nhau ở vị trí thứ ba, thứ tư."),
        (r"too long before the @-sign", "Phần trước ký tự @ quá dài (tối đa 64 ký tự)."),
        (r"too long after the @-sign|periods cannot be separated by so many",
         "Tên miền sau ký tự @ quá dài."),
        (r"too long", "Địa chỉ e-mail quá dài."),
        (r"special-use or reserved name",
         "Tên miền sau ký tự @ là tên dành riêng, không nhận thư được."),
        (r"should have a period|not within a valid top-level domain|after the @-sign is not "
         r"valid|after the @-sign is invalid|after the @-sign became invalid",
         "Tên miền sau ký tự @ không hợp lệ (ví dụ đúng: ten@coquan.gov.vn)."),
        (r"invalid characters before the @-sign|invalid characters in quotes",
         "Phần trước ký tự @ có ký tự không được dùng{chars}."),
        (r"after the @-sign contains invalid characters|after the @-sign.*invalid characters",
         "Tên miền sau ký tự @ có ký tự không được dùng{chars}."),
        (r"unsafe characters|invalid character|not valid ASCII",
         "Địa chỉ e-mail có ký tự không được dùng{chars}."),
        (r"There can't be anything after|after close quote",
         "Không được có gì sau địa chỉ e-mail."),
    ))
_LISTED = re.compile(r":\s*(.+?)\.?$")


def email_problem(message: str) -> str:
    """Why email-validator refused an address, in Vietnamese (the sign-up form, the admin's
    subscriber form and `subscribers add` show it)."""
    for pattern, text in _EMAIL_MESSAGES:
        if pattern.search(message):
            listed = _LISTED.search(message) if "{chars}" in text else None
            chars = f": {listed.group(1)}" if listed and len(listed.group(1)) <= 60 else ""
            chars = chars.replace("SPACE", "dấu cách")
            return text.format(chars=chars)
    return "Địa chỉ e-mail không hợp lệ."
