"""WSGI entry point for bench/feed.py: the ordinary app, configured from the environment.

    gunicorn --pythonpath bench --workers 2 wsgi_app:app

`app = create_app()` reads CALENDAR_* as the service always does. Two variables are the
benchmark's own, and change nothing in the app:

- BENCH_FEED_WARM=1: each worker, once its app is created, GETs /calendar.ics through the app
  itself (Flask's test client), so its feed cache is warm before the first real request;
- BENCH_FEED_READY_DIR=DIR: then each worker touches DIR/<pid>, so the benchmark knows when
  every worker is warm (a cold 10,000-commemoration build takes seconds).
"""

from __future__ import annotations

import os
from pathlib import Path

from calendar_service.app import create_app

app = create_app()

if os.environ.get("BENCH_FEED_WARM") == "1":
    _response = app.test_client().get("/calendar.ics")
    if _response.status_code != 200:  # pragma: no cover - the benchmark reports the log
        raise SystemExit(f"warm-up GET /calendar.ics answered {_response.status_code}")
    del _response
    _ready = os.environ.get("BENCH_FEED_READY_DIR")
    if _ready:
        Path(_ready, str(os.getpid())).touch()
