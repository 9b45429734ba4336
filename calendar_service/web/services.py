"""Access to the app's services from inside a request."""

from __future__ import annotations

from flask import current_app

from ..app_context import Services


def services() -> Services:
    return current_app.extensions["calendar"]
