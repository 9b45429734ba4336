"""What every request goes through at the edge, before any feature reads it.

* A control character (C0 or DEL: NUL, newline, escape…) in the path or in a query
  parameter is a 400: no feature has a use for one, and a NUL reaching PostgreSQL is an
  error (on SQLite, a LIKE pattern that matches everything). In a form field (name or
  value), the same, but for the tab and the line breaks a text area sends.
* `<int32:name>` in a route: an integer path segment in ASCII digits that fits a database
  integer; anything else matches no route (404) instead of overflowing in the query.
"""

from __future__ import annotations

import re

from flask import Flask, abort, request
from werkzeug.routing import IntegerConverter

from ..params import CONTROL, shown

INT32_MAX = 2**31 - 1
# In a form: every C0 control and DEL but the tab and the line breaks (CR LF) of a text area.
CONTROL_IN_FORM = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class Int32Converter(IntegerConverter):
    """Like `int`, in ASCII digits only, at most 2**31 - 1 (PostgreSQL's `integer`)."""

    regex = r"[0-9]{1,10}"

    def __init__(self, map, min: int | None = None, max: int = INT32_MAX) -> None:
        super().__init__(map, min=min, max=max)


def _control_character_problem() -> str | None:
    """Why this request is refused (Vietnamese), or None: a control character in the path,
    in a query parameter's name or value, or (but a tab or a line break) in a form's."""
    if CONTROL.search(request.path):
        return "Địa chỉ chứa ký tự điều khiển (như NUL); không có trang nào như vậy."
    for name, values in request.args.lists():
        if CONTROL.search(name) or any(CONTROL.search(v) for v in values):
            named = shown(name) if CONTROL.search(name) else name[:100]
            return f"Tham số {named}: không được chứa ký tự điều khiển (như NUL)."
    if request.method == "POST" and request.mimetype in (
            "application/x-www-form-urlencoded", "multipart/form-data"):
        for name, values in request.form.lists():
            if CONTROL_IN_FORM.search(name) or any(CONTROL_IN_FORM.search(v) for v in values):
                return ("Dữ liệu gửi lên chứa ký tự điều khiển (như NUL) trong ô "
                        f"{shown(name, 40)}; vui lòng nhập lại.")
    return None


def register(app: Flask) -> None:
    app.url_map.converters["int32"] = Int32Converter

    @app.before_request
    def _refuse_control_characters():
        problem = _control_character_problem()
        if problem is not None:
            abort(400, description=problem)
