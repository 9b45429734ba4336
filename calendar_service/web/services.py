"""Access to the app's services from inside a request."""

from __future__ import annotations

from flask import abort, current_app

from ..app_context import Services
from ..store import get_commemoration
from ..store.queries import StoredCommemoration


def services() -> Services:
    return current_app.extensions["calendar"]


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
