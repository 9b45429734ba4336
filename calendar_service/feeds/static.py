"""Where each published feed lives under the publish directory, so that a web server maps
the public URLs the service gives out to files without asking the app:

    /calendar.ics                       -> calendar.ics
    /calendar.ics?notable=1             -> calendar/notable=1.ics
    /calendar.ics?designated=1          -> calendar/designated=1.ics
    /calendar.ics?category=victory      -> calendar/category=victory.ics
    /calendar.ics?year=2024             -> calendar/year=2024.ics
    /events/dien-bien-phu.ics           -> events/dien-bien-phu.ics

A selection's file is named after its canonical query string (`FeedQuery.canonical_args`),
which is exactly what the service's links carry; nginx maps `$args` made of [a-z0-9=&-] only
to `calendar/$args.ics` (deploy/nginx/), and anything else — or a file not published — goes
to the app. Each file has a gzip twin (`.ics.gz`) for nginx's gzip_static.
"""

from __future__ import annotations

from .query import FeedQuery

ROOT = "calendar.ics"
VARIANTS = "calendar"
EVENTS = "events"


def feed_file(query: FeedQuery) -> str:
    args = query.canonical_args()
    return ROOT if not args else f"{VARIANTS}/{args}.ics"


def event_file(ident: str) -> str:
    return f"{EVENTS}/{ident}.ics"
