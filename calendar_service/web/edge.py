"""What every request goes through at the edge, before any feature reads it.

* A control character (C0 or DEL: NUL, newline, escape…) in the path or in a query
  parameter is a 400: no feature has a use for one, and a NUL reaching PostgreSQL is an
  error (on SQLite, a LIKE pattern that matches everything).
* `<int32:name>` in a route: an integer path segment in ASCII digits that fits a database
  integer; anything else matches no route (404) instead of overflowing in the query.
"""

from __future__ import annotations

from flask import Flask, abort, request
from werkzeug.routing import IntegerConverter

from ..params import CONTROL

INT32_MAX = 2**31 - 1


class Int32Converter(IntegerConverter):
    """Like `int`, in ASCII digits only, at most 2**31 - 1 (PostgreSQL's `integer`)."""

    regex = r"[0-9]{1,10}"

    def __init__(self, map, min: int | None = None, max: int = INT32_MAX) -> None:
        super().__init__(map, min=min, max=max)


def _control_character_problem() -> str | None:
    """Why this request is refused (Vietnamese), or None: a control character in the path,
    or in a query parameter's name or value."""
    if CONTROL.search(request.path):
        return "Địa chỉ chứa ký tự điều khiển (như NUL); không có trang nào như vậy."
    for name, values in request.args.lists():
        if CONTROL.search(name) or any(CONTROL.search(v) for v in values):
            shown = repr(name) if CONTROL.search(name) else name
            return f"Tham số {shown}: không được chứa ký tự điều khiển (như NUL)."
    return None


def register(app: Flask) -> None:
    app.url_map.converters["int32"] = Int32Converter

    @app.before_request
    def _refuse_control_characters():
        problem = _control_character_problem()
        if problem is not None:
            abort(400, description=problem)
