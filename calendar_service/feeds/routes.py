"""GET /calendar.ics (the subscription feed) and GET /events/<id>.ics (one download)."""

from __future__ import annotations

from flask import Blueprint, abort, request

from ..anniversaries import next_dated_occurrence
from ..clock import today
from ..web.context import commemoration_or_404, services
from .http import feed_response, not_ready_response, published_response
from .ical import FeedSite, occurrence_calendar
from .query import FeedQuery, FeedQueryError
from .service import FeedCache, FeedNotReady, PublishedFeed, rendered

bp = Blueprint("feeds", __name__)


def feed_cache() -> FeedCache:
    return services().shared(FeedCache)


@bp.get("/calendar.ics")
def calendar():
    try:
        query = FeedQuery.from_args(request.args)
    except FeedQueryError as exc:
        abort(400, description=str(exc))
    try:
        feed = feed_cache().get(query)
    except FeedNotReady:
        return not_ready_response()
    if isinstance(feed, PublishedFeed):
        return published_response(request, feed)
    return feed_response(request, feed)


@bp.get("/events/<ident>.ics")
def event_download(ident: str):
    """The commemoration's next dated occurrence, for "add to my calendar"."""
    svc = services()
    stored = commemoration_or_404(ident)
    if stored.cancelled:
        abort(410, description=f"Ngày kỷ niệm '{ident}' đã bị hủy khỏi danh mục.")
    occ = next_dated_occurrence(stored.commemoration, today(svc.clock))
    if occ is None:
        abort(404, description="Chưa xác định ngày cho lần kỷ niệm tới.")
    body = occurrence_calendar(occ, stored, FeedSite.of(svc))
    return feed_response(request, rendered(body, stored.updated_at, f"{ident}-{occ.year}.ics"),
                         attachment=True)
