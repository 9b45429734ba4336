"""The app's services from inside a request, and the lookups every page shares."""

from __future__ import annotations

from flask import Flask, abort, current_app, request

from ..app_context import Services
from ..params import ParamError, Params, Values
from ..store import get_commemoration
from ..store.queries import StoredCommemoration

_KEY = "calendar_service"


def attach(app: Flask, services: Services) -> None:
    app.extensions[_KEY] = services


def services() -> Services:
    return current_app.extensions[_KEY]


def query_args(spec: Params) -> Values:
    """The request's query string read by `spec`; a bad parameter is a 400 naming it."""
    try:
        return spec.parse(request.args)
    except ParamError as exc:
        abort(400, description=str(exc))


def no_commemoration(ident: str) -> str:
    """The 404 message of every page that names a commemoration that is not there."""
    return f"Không có ngày kỷ niệm “{ident}”."


def commemoration_or_404(ident: str) -> StoredCommemoration:
    """The stored commemoration, or the Vietnamese 404 page."""
    with services().database.session() as session:
        stored = get_commemoration(session, ident)
    if stored is None:
        abort(404, description=no_commemoration(ident))
    return stored
