"""GET /calendar.ics (the subscription feed) and GET /events/<id>.ics (one download)."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, request

from ..anniversaries import occurrence_in
from ..clock import today
from ..store import get_commemoration
from ..web.services import services
from .http import feed_response
from .query import FeedQuery, FeedQueryError
from .service import FeedCache, RenderedFeed

bp = Blueprint("feeds", __name__)


def feed_cache() -> FeedCache:
    return current_app.extensions["feed_cache"]


@bp.get("/calendar.ics")
def calendar():
    try:
        query = FeedQuery.from_args(request.args)
    except FeedQueryError as exc:
        abort(400, description=str(exc))
    return feed_response(request, feed_cache().get(query))


@bp.get("/events/<ident>.ics")
def event_download(ident: str):
    """The commemoration's next dated occurrence, for "add to my calendar"."""
    import gzip
    import hashlib

    from .ical import FeedSite, build_calendar

    svc = services()
    with svc.database.session() as session:
        stored = get_commemoration(session, ident)
    if stored is None:
        abort(404, description=f"Không có ngày kỷ niệm '{ident}'.")
    if stored.cancelled:
        abort(410, description=f"Ngày kỷ niệm '{ident}' đã bị hủy khỏi danh mục.")
    start = today(svc.clock)
    occ = None
    for year in range(start.year, start.year + 6):
        candidate = occurrence_in(stored.commemoration, year)
        if candidate is not None and candidate.date is not None and candidate.date >= start:
            occ = candidate
            break
    if occ is None:
        abort(404, description="Chưa xác định ngày cho lần kỷ niệm tới.")
    s = svc.settings
    site = FeedSite(s.base_url, s.timezone, s.feed_refresh)
    query = FeedQuery(year=occ.year)
    body = build_calendar([(occ, stored)], query, site, (occ.date, occ.date))
    feed = RenderedFeed(body, gzip.compress(body, mtime=0), hashlib.sha256(body).hexdigest()[:32],
                        stored.updated_at, f"{ident}-{occ.year}.ics")
    response = feed_response(request, feed)
    response.headers["Content-Disposition"] = response.headers.get(
        "Content-Disposition", "").replace("inline", "attachment")
    return response
