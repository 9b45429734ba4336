"""Admin routes (placeholder blueprint; the admin feature fills it in)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")
