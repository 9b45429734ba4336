"""The app's services from inside a request, and the lookups every page shares."""

from __future__ import annotations

from flask import Flask, abort, current_app

from ..app_context import Services
from ..store import get_commemoration
from ..store.queries import StoredCommemoration

_KEY = "calendar_service"


def attach(app: Flask, services: Services) -> None:
    app.extensions[_KEY] = services


def services() -> Services:
    return current_app.extensions[_KEY]


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
