"""GET /: the upcoming commemorations (a first version; the web feature builds the full page)."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, abort, render_template, request

from ..clock import today
from ..feeds.links import feed_url, google_subscribe_url, webcal_url
from ..output import flags
from ..store import occurrences_between
from .services import services

bp = Blueprint("home", __name__)

WINDOW_DAYS = 90


@bp.get("/")
def upcoming():
    svc = services()
    raw = request.args.get("from")
    if raw is None:
        start = today(svc.clock)
    else:
        try:
            start = date.fromisoformat(raw)
        except ValueError:
            abort(400, description=f"Tham số from={raw!r} không phải ngày dạng YYYY-MM-DD.")
    end = start + timedelta(days=WINDOW_DAYS)
    with svc.database.session() as session:
        found = occurrences_between(session, start, end)
    base = svc.settings.base_url
    links = {"webcal": webcal_url(base), "https": feed_url(base),
             "google": google_subscribe_url(base)}
    return render_template("home.html", occurrences=found, start=start, end=end,
                           today=today(svc.clock), flags=flags, links=links)
