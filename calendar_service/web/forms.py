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


def register(app: Flask) -> None:
    app.config.update(MAX_CONTENT_LENGTH=MAX_CONTENT_LENGTH,
                      MAX_FORM_MEMORY_SIZE=MAX_FORM_MEMORY_SIZE, MAX_FORM_PARTS=MAX_FORM_PARTS)
