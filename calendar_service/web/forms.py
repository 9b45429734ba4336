"""What every form shares: each field's length capped before anything else reads it, whole
numbers and days in ASCII digits within a range, and nothing echoed back past the cap.

Every field of every form starts its validators with `capped(N)`: a value longer than N
characters stops that field's validation at once (StopValidation: no other validator, no
inline `validate_<field>`, no database query sees it) with a Vietnamese message, and is cut
to N characters, so the page that shows the error never echoes more than the cap.
`tests/test_hardening.py` checks that every field of every form has one.

The request as a whole is bounded before a form is built: `MAX_CONTENT_LENGTH` (a bigger
body is a 413), `MAX_FORM_MEMORY_SIZE` and `MAX_FORM_PARTS` (see `register`), and a control
character other than a tab or a line break anywhere in a form is a 400 (web/edge.py).
"""

from __future__ import annotations

import re
from datetime import date

from flask import Flask
from flask_wtf import FlaskForm
from wtforms import Field, StringField
from wtforms.validators import StopValidation

# A whole request body. The largest form (a commemoration's edit: a 5,000-character
# description and note, in UTF-8 and percent-encoded) stays well below it.
MAX_CONTENT_LENGTH = 64 * 1024
# What werkzeug may hold of a form's non-file fields, and how many fields it may have.
MAX_FORM_MEMORY_SIZE = 64 * 1024
MAX_FORM_PARTS = 100

ASCII_INTEGER = re.compile(r"-?[0-9]{1,10}")
ASCII_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
INT32_MAX = 2**31 - 1


class Capped:
    """The first validator of every field: at most `limit` characters (each value, for a
    field with several), checked before any other validator runs."""

    field_flags = {}

    def __init__(self, limit: int, message: str | None = None) -> None:
        self.limit = limit
        self.message = message

    def __call__(self, form, field: Field) -> None:
        values = field.raw_data or []
        data = field.data
        too_long = any(isinstance(v, str) and len(v) > self.limit for v in values) or (
            isinstance(data, str) and len(data) > self.limit)
        if not too_long:
            return
        if isinstance(data, str):
            field.data = data[:self.limit]  # the page never echoes more than the cap
        elif isinstance(data, list):
            field.data = [v[:self.limit] if isinstance(v, str) else v for v in data]
        field.raw_data = [v[:self.limit] if isinstance(v, str) else v for v in values]
        field.errors[:] = []
        raise StopValidation(self.message or f"Tối đa {self.limit} ký tự.")


def capped(limit: int, message: str | None = None) -> Capped:
    return Capped(limit, message)


class AsciiIntegerField(StringField):
    """A whole number in ASCII digits (no "٣", "²", "1_000", " 7 "), within [low, high]:
    anything else is a form error, never an overflow in a query."""

    def __init__(self, label=None, validators=None, *, low: int = 0, high: int = INT32_MAX,
                 message: str = "Cần một số nguyên.", **kwargs) -> None:
        super().__init__(label, [capped(11, message), *(validators or [])], **kwargs)
        self.low, self.high, self.message = low, high, message

    def process_formdata(self, valuelist) -> None:
        self.raw_data = valuelist
        if not valuelist:
            return
        raw = valuelist[0]
        self.data = None
        if isinstance(raw, str) and ASCII_INTEGER.fullmatch(raw):
            number = int(raw)
            if self.low <= number <= self.high:
                self.data = number
                return
        raise ValueError(self.message)

    def process_data(self, value) -> None:
        self.data = value

    def _value(self) -> str:
        if self.raw_data:
            return str(self.raw_data[0])[:11]
        return "" if self.data is None else str(self.data)


class AsciiDateField(StringField):
    """A day as YYYY-MM-DD in ASCII digits, between `low` and `high` (strptime would take
    Arabic-Indic or full-width digits)."""

    def __init__(self, label=None, validators=None, *, low: date = date(1900, 1, 1),
                 high: date = date(2200, 12, 31),
                 message: str = "Ngày không hợp lệ (dạng YYYY-MM-DD).", **kwargs) -> None:
        super().__init__(label, [capped(10, message), *(validators or [])], **kwargs)
        self.low, self.high, self.message = low, high, message

    def process_formdata(self, valuelist) -> None:
        self.raw_data = valuelist
        if not valuelist:
            return
        raw = valuelist[0]
        self.data = None
        if not raw:
            return
        if isinstance(raw, str) and ASCII_DAY.fullmatch(raw):
            try:
                day = date.fromisoformat(raw)
            except ValueError:
                day = None
            if day is not None and self.low <= day <= self.high:
                self.data = day
                return
        raise ValueError(self.message)

    def process_data(self, value) -> None:
        self.data = value

    def _value(self) -> str:
        if self.raw_data:
            return str(self.raw_data[0])[:10]
        return self.data.isoformat() if self.data else ""


# WTForms' own messages (its message catalogue, wtforms/locale/wtforms.pot, which has no
# Vietnamese), for the validators and fields that are not given a message of ours: a form
# that shows one says it in Vietnamese, never "Not a valid choice.".
WTFORMS_MESSAGES: dict[str, str] = {
    "Invalid field name '%s'.": "Tên trường không hợp lệ '%s'.",
    "Field must be equal to %(other_name)s.": "Phải trùng với %(other_name)s.",
    "Field must be at least %(min)d character long.": "Cần ít nhất %(min)d ký tự.",
    "Field must be at least %(min)d characters long.": "Cần ít nhất %(min)d ký tự.",
    "Field cannot be longer than %(max)d character.": "Tối đa %(max)d ký tự.",
    "Field cannot be longer than %(max)d characters.": "Tối đa %(max)d ký tự.",
    "Field must be exactly %(max)d character long.": "Cần đúng %(max)d ký tự.",
    "Field must be exactly %(max)d characters long.": "Cần đúng %(max)d ký tự.",
    "Field must be between %(min)d and %(max)d characters long.":
        "Cần từ %(min)d đến %(max)d ký tự.",
    "Number must be at least %(min)s.": "Số phải từ %(min)s trở lên.",
    "Number must be at most %(max)s.": "Số phải không quá %(max)s.",
    "Number must be between %(min)s and %(max)s.": "Số phải từ %(min)s đến %(max)s.",
    "Date must be at least %(min)s.": "Ngày phải từ %(min)s trở đi.",
    "Date must be at most %(max)s.": "Ngày phải không sau %(max)s.",
    "Date must be between %(min)s and %(max)s.": "Ngày phải từ %(min)s đến %(max)s.",
    "This field is required.": "Vui lòng điền mục này.",
    "Invalid input.": "Giá trị không hợp lệ.",
    "Invalid email address.": "Địa chỉ e-mail không hợp lệ.",
    "Invalid IP address.": "Địa chỉ IP không hợp lệ.",
    "Invalid Mac address.": "Địa chỉ MAC không hợp lệ.",
    "Invalid URL.": "Địa chỉ URL không hợp lệ.",
    "Invalid UUID.": "Mã UUID không hợp lệ.",
    "Invalid value, must be one of: %(values)s.":
        "Giá trị không hợp lệ, phải là một trong: %(values)s.",
    "Invalid value, can't be any of: %(values)s.":
        "Giá trị không hợp lệ, không được là: %(values)s.",
    "This field cannot be edited.": "Mục này không sửa được.",
    "This field is disabled and cannot have a value.": "Mục này bị khóa, không nhận giá trị.",
    "Invalid CSRF Token.": "Phiên làm việc không hợp lệ. Vui lòng tải lại trang.",
    "CSRF token missing.": "Phiên làm việc không hợp lệ. Vui lòng tải lại trang.",
    "CSRF failed.": "Phiên làm việc không hợp lệ. Vui lòng tải lại trang.",
    "CSRF token expired.": "Phiên làm việc đã hết hạn. Vui lòng tải lại trang.",
    "Invalid Choice: could not coerce.": "Lựa chọn không hợp lệ.",
    "Choices cannot be None.": "Chưa có lựa chọn nào.",
    "Not a valid choice.": "Lựa chọn không hợp lệ.",
    "Invalid choice(s): one or more data inputs could not be coerced.":
        "Có lựa chọn không hợp lệ.",
    "'%(value)s' is not a valid choice for this field.":
        "'%(value)s' không phải là lựa chọn hợp lệ.",
    "'%(value)s' are not valid choices for this field.":
        "'%(value)s' không phải là lựa chọn hợp lệ.",
    "Not a valid datetime value.": "Thời điểm không hợp lệ.",
    "Not a valid date value.": "Ngày không hợp lệ.",
    "Not a valid time value.": "Giờ không hợp lệ.",
    "Not a valid week value.": "Tuần không hợp lệ.",
    "Not a valid integer value.": "Cần một số nguyên.",
    "Not a valid decimal value.": "Cần một số.",
    "Not a valid float value.": "Cần một số.",
}


class VietnameseTranslations:
    """The gettext interface WTForms asks for its messages (Meta.get_translations)."""

    def gettext(self, string: str) -> str:
        return WTFORMS_MESSAGES.get(string, string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.gettext(singular if n == 1 else plural)


VIETNAMESE = VietnameseTranslations()


class Form(FlaskForm):
    """The base of every form of the service: Flask-WTF (CSRF), WTForms' messages in
    Vietnamese."""

    class Meta:
        def get_translations(self, form) -> VietnameseTranslations:
            return VIETNAMESE


def register(app: Flask) -> None:
    app.config.update(MAX_CONTENT_LENGTH=MAX_CONTENT_LENGTH,
                      MAX_FORM_MEMORY_SIZE=MAX_FORM_MEMORY_SIZE, MAX_FORM_PARTS=MAX_FORM_PARTS)
