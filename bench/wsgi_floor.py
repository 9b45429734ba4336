"""The server's own ceiling, for bench/feed.py: a WSGI app that does no work at all and
answers every request with a 304 carrying the same headers as the feed's 304.

    gunicorn --pythonpath bench --workers 2 wsgi_floor:app

No Flask, no store: whatever rate gunicorn reaches with this app is the most the feed's
304 path could reach under the same server, worker class and load generator.
"""

from __future__ import annotations

HEADERS = [
    ("ETag", '"0123456789abcdef0123456789abcdef"'),
    ("Last-Modified", "Sat, 01 Jun 2024 03:00:00 GMT"),
    ("Cache-Control", "public, max-age=900"),
    ("Vary", "Accept-Encoding"),
]


def app(environ, start_response):
    start_response("304 NOT MODIFIED", HEADERS)
    return [b""]
