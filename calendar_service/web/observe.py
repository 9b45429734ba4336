"""What every request leaves behind for the operator: a request id, its figures in the
metrics (by route — the url rule, never the raw path — and status, with its duration) and
one log line (method, route, redacted path, status, duration, request id).

Secrets travel in some paths — the unsubscribe and confirmation links, an agency's private
task feed — and so may be in any mistyped path: a logged path has every url-rule argument
named in SECRET_ARGUMENTS, and any long token-like segment, replaced by "…", and the query
string is never logged at all.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from flask import Flask, Response, g, request

from ..metrics import HTTP_DURATION, HTTP_REQUESTS, UNMATCHED, method_label

log = logging.getLogger("calendar_service.http")

REQUEST_ID_HEADER = "X-Request-ID"
# A request id from the proxy (nginx's $request_id) is kept when it looks like one.
REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")
SECRET_ARGUMENTS = frozenset({"token"})
# A segment that could be a token: long, and only the characters tokens are made of.
TOKEN_LIKE = re.compile(r"[A-Za-z0-9_=.~-]{20,}")
PATH_MAX = 200  # characters of a path in a log line
REDACTED = "…"


def request_id() -> str:
    """This request's id (set by the hook below; one is made for code outside a hook)."""
    if "request_id" not in g:
        given = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = given if REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
    return g.request_id


def route() -> str:
    rule = request.url_rule
    return rule.rule if rule is not None else UNMATCHED


def redacted_path() -> str:
    """The request's path fit for a log: secrets replaced, bounded, printable."""
    path = request.path
    for name, value in (request.view_args or {}).items():
        if name in SECRET_ARGUMENTS and isinstance(value, str) and value:
            path = path.replace(value, REDACTED)
    path = "/".join(TOKEN_LIKE.sub(REDACTED, part) if TOKEN_LIKE.fullmatch(part) else part
                    for part in path.split("/"))
    if len(path) > PATH_MAX:
        path = path[:PATH_MAX] + REDACTED
    # Control characters (refused with a 400, but logged) must not forge a second line.
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in path)


def register(app: Flask) -> None:
    @app.before_request
    def _start() -> None:
        g.observe_start = time.perf_counter()
        request_id()

    @app.after_request
    def _finish(response: Response) -> Response:
        started = g.get("observe_start")
        seconds = time.perf_counter() - started if started is not None else 0.0
        ident = request_id()
        response.headers[REQUEST_ID_HEADER] = ident
        method, rule, status = method_label(request.method), route(), response.status_code
        HTTP_REQUESTS.labels(method, rule, str(status)).inc()
        HTTP_DURATION.labels(method, rule).observe(seconds)
        duration_ms = round(seconds * 1000, 1)
        path = redacted_path()
        log.info("%s %s %d %.1f ms [%s] id=%s", method, path, status, duration_ms, rule,
                 ident, extra={"event": "request", "method": method, "route": rule,
                               "path": path, "status": status, "duration_ms": duration_ms,
                               "request_id": ident})
        return response
