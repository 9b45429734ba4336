"""A WSGI fast path for the hottest request: the whole feed, `GET /calendar.ics`.

Hundreds of calendar clients poll the same URL, most of them answered 304. Through Flask a
304 costs ~155 µs (request context, session, routing, response object, header hooks) — more
than gunicorn itself — and capped the 304 rate below the 5,000/s target. This middleware
answers the plain cases straight from the feed cache with headers prepared once per rendered
feed, and hands everything else (a query string, If-Modified-Since, a q-valued
Accept-Encoding, several ETags) to Flask unchanged. A test checks that both paths give the
same status, headers and body for every case the fast path takes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from werkzeug.http import http_date

from ..web.security import CSP
from .http import CACHE_CONTROL, CONTENT_TYPE
from .query import FeedQuery
from .service import FeedCache, RenderedFeed

PATH = "/calendar.ics"
SECURITY = [("Content-Security-Policy", CSP), ("X-Content-Type-Options", "nosniff"),
            ("Referrer-Policy", "strict-origin-when-cross-origin"), ("X-Frame-Options", "DENY")]


class _Prepared:
    """Status lines, headers and bodies of one rendered feed, plain and gzip."""

    def __init__(self, feed: RenderedFeed) -> None:
        self.feed = feed
        self.tags: dict[str, bool] = {}  # accepted If-None-Match value -> gzip variant?
        self.responses = {}
        for gzipped in (False, True):
            etag = f'"{feed.etag}-gzip"' if gzipped else f'"{feed.etag}"'
            for form in (etag, f"W/{etag}"):
                self.tags[form] = gzipped
            # A 304 carries the validators and caching headers, not Last-Modified (as
            # werkzeug answers; RFC 9110 §15.4.5 needs only ETag, Cache-Control and Vary).
            common = [("ETag", etag), ("Cache-Control", CACHE_CONTROL),
                      ("Vary", "Accept-Encoding")]
            body = feed.gzipped if gzipped else feed.body
            ok = [("Content-Type", CONTENT_TYPE), ("Content-Length", str(len(body))),
                  *common, ("Last-Modified", http_date(feed.last_modified)),
                  ("Content-Disposition", f'inline; filename="{feed.filename}"'),
                  *([("Content-Encoding", "gzip")] if gzipped else []), *SECURITY]
            self.responses[gzipped] = (("200 OK", ok, body),
                                       ("304 NOT MODIFIED", [*common, *SECURITY], b""))


def _wants_gzip(header: str | None) -> bool | None:
    """True/False for plain lists of codings; None (ask Flask) when q-values are involved."""
    if not header:
        return False
    codings = [c.strip().lower() for c in header.split(",")]
    if any(";" in c for c in codings):
        return None
    return "gzip" in codings or "*" in codings


class FeedFastPath:
    def __init__(self, app: Callable, cache: FeedCache) -> None:
        self.app = app
        self.cache = cache
        self._prepared: _Prepared | None = None
        self._query = FeedQuery()

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD")
        if (environ.get("PATH_INFO") != PATH or environ.get("QUERY_STRING")
                or method not in ("GET", "HEAD") or "HTTP_IF_MODIFIED_SINCE" in environ):
            return self.app(environ, start_response)
        gzipped = _wants_gzip(environ.get("HTTP_ACCEPT_ENCODING"))
        if gzipped is None:
            return self.app(environ, start_response)
        feed = self.cache.get(self._query)
        prepared = self._prepared
        if prepared is None or prepared.feed is not feed:
            prepared = self._prepared = _Prepared(feed)
        ok, not_modified = prepared.responses[gzipped]
        tag = environ.get("HTTP_IF_NONE_MATCH")
        if tag is not None:
            tag = tag.strip()
            if tag not in prepared.tags:
                if "," in tag or tag == "*":
                    return self.app(environ, start_response)  # lists and * : Flask decides
            else:
                status, headers, _ = not_modified
                start_response(status, headers)
                return [b""]
        status, headers, body = ok
        start_response(status, headers)
        return [b"" if method == "HEAD" else body]
