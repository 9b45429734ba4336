"""HTTP semantics of a feed response: validators, conditional requests, compression."""

from __future__ import annotations

from flask import Request, Response
from werkzeug.http import http_date, parse_date, parse_etags

from .service import RenderedFeed

CACHE_CONTROL = "public, max-age=900"
CONTENT_TYPE = "text/calendar; charset=utf-8"


def _accepts_gzip(request: Request) -> bool:
    return request.accept_encodings["gzip"] > 0 or request.accept_encodings["*"] > 0


def not_modified(request: Request, feed: RenderedFeed) -> bool:
    """RFC 9110 §13.2.2: If-None-Match, when present, decides alone; else If-Modified-Since."""
    if "If-None-Match" in request.headers:
        tags = parse_etags(request.headers["If-None-Match"])
        # Weak comparison, as the RFC asks for If-None-Match; either encoding's tag matches.
        return tags.star_tag or tags.contains_weak(feed.etag) \
            or tags.contains_weak(f"{feed.etag}-gzip")
    since = parse_date(request.headers.get("If-Modified-Since"))
    if since is None:
        return False
    return feed.last_modified.replace(microsecond=0) <= since


def feed_response(request: Request, feed: RenderedFeed) -> Response:
    gzipped = _accepts_gzip(request)
    etag = f"{feed.etag}-gzip" if gzipped else feed.etag
    headers = {
        "ETag": f'"{etag}"',
        "Last-Modified": http_date(feed.last_modified),
        "Cache-Control": CACHE_CONTROL,
        "Vary": "Accept-Encoding",
    }
    if not_modified(request, feed):
        return Response(status=304, headers=headers)
    headers["Content-Disposition"] = f'inline; filename="{feed.filename}"'
    if gzipped:
        headers["Content-Encoding"] = "gzip"
    body = feed.gzipped if gzipped else feed.body
    response = Response(body, status=200, headers=headers, content_type=CONTENT_TYPE)
    return response
