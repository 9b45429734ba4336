"""HTTP semantics of a feed response: werkzeug's validators and conditional responses
(If-None-Match, weakly compared and deciding alone when present, else If-Modified-Since;
HEAD), and gzip when accepted."""

from __future__ import annotations

from flask import Request, Response, send_file

from .service import PublishedFeed, RenderedFeed

MAX_AGE = 900
CONTENT_TYPE = "text/calendar; charset=utf-8"
RETRY_AFTER = 5  # seconds: a first build under way (service.FeedNotReady)


def _accepts_gzip(request: Request) -> bool:
    return request.accept_encodings["gzip"] > 0 or request.accept_encodings["*"] > 0


def feed_response(request: Request, feed: RenderedFeed, *, attachment: bool = False
                  ) -> Response:
    gzipped = _accepts_gzip(request)
    response = Response(feed.gzipped if gzipped else feed.body, content_type=CONTENT_TYPE)
    # The gzip variant is other bytes, so another strong tag.
    response.set_etag(f"{feed.etag}-gzip" if gzipped else feed.etag)
    response.last_modified = feed.last_modified
    response.cache_control.public = True
    response.cache_control.max_age = MAX_AGE
    response.vary.add("Accept-Encoding")
    if gzipped:
        response.content_encoding = "gzip"
    disposition = "attachment" if attachment else "inline"
    response.headers["Content-Disposition"] = f'{disposition}; filename="{feed.filename}"'
    return response.make_conditional(request)


def published_response(request: Request, feed: PublishedFeed) -> Response:
    """A published file, sent as it is (the gzip twin when accepted): werkzeug's file
    validators (mtime, size) and conditional answers, like nginx's."""
    twin = feed.twin
    gzipped = _accepts_gzip(request) and twin.is_file()
    # werkzeug adds "; charset=utf-8" to a text/* type itself.
    response = send_file(twin if gzipped else feed.path, mimetype="text/calendar",
                         conditional=True, etag=True, max_age=MAX_AGE, last_modified=None)
    response.cache_control.public = True
    response.vary.add("Accept-Encoding")
    if gzipped:
        response.content_encoding = "gzip"
    response.headers["Content-Disposition"] = f'inline; filename="{feed.filename}"'
    return response


def not_ready_response() -> Response:
    response = Response("Lịch đang được tạo, xin thử lại sau ít giây.\n", status=503,
                        content_type="text/plain; charset=utf-8")
    response.retry_after = RETRY_AFTER
    response.cache_control.no_store = True
    return response
